/*
 * warren: command-line entry point.
 *
 *   warren version            print the version
 *   warren -t -c FILE         check a configuration file and exit 0/1
 *   warren server|client ...  the tunnel ends (not in this build yet)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_cfg.h"
#include "wr_conf.h"
#include "wr_log.h"
#include "wr_version.h"

static void wr_main_usage(FILE *f)
{
    fprintf(f, "usage: warren version\n"
               "       warren -t -c FILE     check a configuration file and exit\n"
               "       warren --help\n"
               "\n"
               "The tunnel server and client ('warren server', 'warren client') are not part\n"
               "of this build yet; the multiplexer they run on can be exercised with the\n"
               "t/tools/muxpeer program (see docs/protocol.md).\n");
}

/* Load FILE and apply the runtime schema; print the first error. */
static int wr_main_check(const char *path)
{
    wr_conf_err_t err;
    wr_conf_t *conf;
    wr_cfg_t cfg;
    int rc;

    memset(&err, 0, sizeof(err));
    conf = wr_conf_load(path, &err);
    if (conf == NULL) {
        fprintf(stderr, "warren: %s\n", err.msg);
        return 1;
    }
    wr_cfg_default(&cfg);
    rc = wr_cfg_apply(wr_conf_root(conf), &cfg, &err);
    if (rc != 0)
        fprintf(stderr, "warren: %s\n", err.msg);
    else
        printf("warren: %s: configuration ok\n", path);
    wr_conf_free(conf);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int test = 0;

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
    if (strcmp(argv[1], "server") == 0 || strcmp(argv[1], "client") == 0) {
        fprintf(stderr, "warren: '%s' is not part of this build yet\n", argv[1]);
        return 2;
    }
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
