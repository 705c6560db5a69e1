/*
 * wr_opt: WARREN_* environment variables as command-line options (see
 * wr_opt.h).
 */
#include "wr_opt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wr_log.h"

/* "tls-server-name" -> "WARREN_TLS_SERVER_NAME" */
static void wr_opt_env_name(const char *opt, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "WARREN_");

    for (; *opt && n + 1 < len; opt++)
        buf[n++] = *opt == '-' ? '_' : (char)toupper((unsigned char)*opt);
    buf[n] = '\0';
}

static int wr_opt_bool(const char *v)
{
    static const char *on[] = {"1", "true", "yes", "on"}, *off[] = {"", "0", "false", "no", "off"};

    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if (strcasecmp(v, on[i]) == 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        if (strcasecmp(v, off[i]) == 0)
            return 0;
    }
    return -1;
}

/* Whether the command line gives --name itself (then the variable is not
 * even looked at: a bad value in it must not stop an explicit flag). */
static int wr_opt_given(const char *name, int argc, char **argv)
{
    size_t len = strlen(name);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, name, len) == 0 &&
            (a[2 + len] == '\0' || a[2 + len] == '='))
            return 1;
        if (strcmp(name, "config") == 0 && strncmp(a, "-c", 2) == 0)
            return 1;
    }
    return 0;
}

int wr_opt_env(const struct option *opts, int argc, char **argv, wr_argv_t *out)
{
    size_t nopts = 0;

    memset(out, 0, sizeof(*out));
    while (opts[nopts].name != NULL)
        nopts++;
    out->argv = calloc((size_t)argc + nopts + 1, sizeof(char *));
    out->owned = calloc(nopts + 1, sizeof(char *));
    if (out->argv == NULL || out->owned == NULL)
        goto nomem;
    out->argv[out->argc++] = argc > 0 ? argv[0] : "warren";
    for (size_t i = 0; i < nopts; i++) {
        char name[64], *arg;
        const char *v;
        size_t len;

        if (strcmp(opts[i].name, "help") == 0 || wr_opt_given(opts[i].name, argc, argv))
            continue;
        wr_opt_env_name(opts[i].name, name, sizeof(name));
        if ((v = getenv(name)) == NULL)
            continue;
        if (opts[i].has_arg == no_argument) {
            int b = wr_opt_bool(v);
            if (b < 0) {
                fprintf(stderr, "warren: %s expects true or false, got '%s'\n", name, v);
                wr_opt_free(out);
                return -1;
            }
            if (b == 0)
                continue;
            v = NULL;
        }
        len = strlen(opts[i].name) + (v ? strlen(v) : 0) + 4;
        if ((arg = malloc(len)) == NULL)
            goto nomem;
        snprintf(arg, len, "--%s%s%s", opts[i].name, v ? "=" : "", v ? v : "");
        out->owned[out->nowned++] = arg;
        out->argv[out->argc++] = arg;
    }
    for (int i = 1; i < argc; i++)
        out->argv[out->argc++] = argv[i];
    return 0;

nomem:
    fprintf(stderr, "warren: out of memory\n");
    wr_opt_free(out);
    return -1;
}

void wr_opt_free(wr_argv_t *a)
{
    for (int i = 0; i < a->nowned; i++) {
        /* A token may be among them. */
        memset(a->owned[i], 0, strlen(a->owned[i]));
        free(a->owned[i]);
    }
    free(a->owned);
    free(a->argv);
    memset(a, 0, sizeof(*a));
}

const char *wr_opt_config(int argc, char **argv)
{
    const char *file = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0')
            file = argv[i] + 2;
    }
    return file;
}

int wr_opt_begin(const struct option *opts, int argc, char **argv, wr_argv_t *out,
                 wr_opt_apply_fn apply, void *conf, wr_conf_t **loaded)
{
    const char *file;
    wr_conf_err_t err;

    *loaded = NULL;
    if (wr_opt_env(opts, argc, argv, out) != 0)
        return -1;
    file = wr_opt_config(out->argc, out->argv);
    if (file == NULL)
        return 0;
    memset(&err, 0, sizeof(err));
    *loaded = wr_conf_load(file, &err);
    if (*loaded == NULL || apply(wr_conf_root(*loaded), conf, &err) != 0) {
        fprintf(stderr, "warren: %s\n", err.msg);
        wr_conf_free(*loaded);
        *loaded = NULL;
        return -1;
    }
    return 0;
}

int wr_opt_log_level(const char *arg, int *level)
{
    wr_log_level_t l;

    if (wr_log_level_parse(arg, &l) != 0) {
        fprintf(stderr, "warren: --log-level expects error, warn, info or debug\n");
        return -1;
    }
    *level = (int)l;
    return 0;
}
