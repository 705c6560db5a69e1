/*
 * warren: command-line entry point.
 *
 *   warren version                 print the version
 *   warren -t -c FILE              check a configuration file and exit 0/1
 *   warren server [-c FILE] ...    the public end (modules/wr_server.c)
 *   warren client [-c FILE] ...    the private end (modules/wr_client.c)
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_cfg.h"
#include "wr_conf.h"
#include "wr_log.h"
#include "wr_plugin.h"
#include "wr_client.h"
#include "wr_server.h"
#include "wr_version.h"

static void wr_main_usage(FILE *f)
{
    fprintf(f, "usage: warren server [-c server.yaml] [options]   (warren server --help)\n"
               "       warren client [-c client.yaml] [options]   (warren client --help)\n"
               "       warren -t -c FILE     check a configuration file and exit\n"
               "       warren version\n");
}

/* A client file names a server or tunnels; anything else is a server's. */
static int wr_main_is_client(const wr_conf_node_t *root)
{
    return root != NULL && wr_conf_node_kind(root) == WR_CONF_NODE_MAP &&
           (wr_conf_map_get(root, "tunnels") != NULL || wr_conf_map_get(root, "server") != NULL ||
            wr_conf_map_get(root, "token_file") != NULL);
}

/* Load FILE and apply the server or client schema; print the first error. */
static int wr_main_check(const char *path)
{
    wr_conf_err_t err;
    wr_conf_t *conf;
    int rc, client;

    memset(&err, 0, sizeof(err));
    conf = wr_conf_load(path, &err);
    if (conf == NULL) {
        fprintf(stderr, "warren: %s\n", err.msg);
        return 1;
    }
    client = wr_main_is_client(wr_conf_root(conf));
    rc = -1;
    snprintf(err.msg, sizeof(err.msg), "out of memory");
    if (client) {
        wr_client_conf_t *c = malloc(sizeof(*c));
        if (c != NULL) {
            wr_client_conf_default(c);
            rc = wr_client_conf_apply(wr_conf_root(conf), c, &err);
            if (rc == 0)
                rc = wr_client_conf_check(c, &err);
            if (rc == 0) {
                wr_plugins_t *ps = wr_plugins_load(c->plugins, WR_SIDE_CLIENT, 1, &err);
                rc = ps != NULL ? 0 : -1;
                wr_plugins_free(ps);
            }
        }
        free(c);
    } else {
        wr_server_conf_t *s = malloc(sizeof(*s));
        if (s != NULL) {
            wr_server_conf_default(s);
            rc = wr_server_conf_apply(wr_conf_root(conf), s, &err);
            if (rc == 0) {
                /* Load the plugins too: their files, ABI and config. */
                int n = s->rt.workers > 0 ? (int)s->rt.workers : wr_workers_default_count();
                wr_plugins_t *ps = wr_plugins_load(s->plugins, WR_SIDE_SERVER, n, &err);
                rc = ps != NULL ? 0 : -1;
                wr_plugins_free(ps);
            }
        }
        free(s);
    }
    if (rc != 0)
        fprintf(stderr, "warren: %s\n", err.msg);
    else
        printf("warren: %s: %s configuration ok\n", path, client ? "client" : "server");
    wr_conf_free(conf);
    return rc == 0 ? 0 : 1;
}

static int wr_main_log(const wr_cfg_t *rt)
{
    const char *file = rt->log_file;

    if (file != NULL && strcmp(file, "stderr") == 0)
        file = NULL;
    if (wr_log_open(file, (wr_log_level_t)rt->log_level) != 0) {
        fprintf(stderr, "warren: cannot open log file '%s': %s\n", file, strerror(errno));
        return -1;
    }
    return 0;
}

static int wr_main_server(int argc, char **argv)
{
    wr_server_conf_t *c = malloc(sizeof(*c));
    wr_conf_t *conf = NULL;
    int rc;

    if (c == NULL)
        return 1;
    rc = wr_server_conf_load(argc, argv, c, &conf);
    if (rc == 0)
        rc = wr_main_log(&c->rt) == 0 ? wr_server_run(c) : 1;
    else if (rc == 2)
        rc = 0;
    wr_opt_free(&c->args);
    wr_conf_free(conf);
    free(c);
    wr_log_close();
    return rc;
}

static int wr_main_client(int argc, char **argv)
{
    wr_client_conf_t *c = malloc(sizeof(*c));
    wr_conf_t *conf = NULL;
    int rc;

    if (c == NULL)
        return 1;
    rc = wr_client_conf_load(argc, argv, c, &conf);
    if (rc == 0)
        rc = wr_main_log(&c->rt) == 0 ? wr_client_run(c) : 1;
    else if (rc == 2)
        rc = 0;
    memset(c->token_buf, 0, sizeof(c->token_buf));
    wr_opt_free(&c->args);
    wr_conf_free(conf);
    free(c);
    wr_log_close();
    return rc;
}

/* Buffers of 4 KiB to a few hundred KiB come and go with every burst of
 * data. glibc hands free memory at the top of a heap back to the kernel
 * once it exceeds 128 KiB, so a steady transfer kept shrinking the heap
 * (brk, or madvise in the workers' arenas, each over 200 us here) and
 * faulting the same pages back in. Keep up to 16 MiB of free heap instead,
 * and leave only buffers over 4 MiB to mmap. */
static void wr_main_malloc_tune(void)
{
    (void)mallopt(M_TRIM_THRESHOLD, 16 << 20);
    (void)mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int test = 0;

    wr_main_malloc_tune();

    if (argc < 2) {
        wr_main_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("warren %s (mux protocol: smux v1/v2, warren extensions v1)\n", WR_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        wr_main_usage(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(argv[1], "server") == 0)
        return wr_main_server(argc - 1, argv + 1);
    if (strcmp(argv[1], "client") == 0)
        return wr_main_client(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0) {
            test = 1;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else {
            fprintf(stderr, "warren: unknown argument '%s'\n", argv[i]);
            wr_main_usage(stderr);
            return 2;
        }
    }
    if (!test || file == NULL) {
        wr_main_usage(stderr);
        return 2;
    }
    return wr_main_check(file);
}
