/*
 * wr_opt: command lines with environment defaults. Every long option
 * --foo-bar of a subcommand may also come from WARREN_FOO_BAR; the command
 * line wins over the environment, which wins over the YAML file (the
 * caller applies the file first, then parses the merged arguments, where
 * the environment's come first so that later flags override them).
 *
 * An option without an argument (--tls) is on when its variable is 1,
 * true, yes or on, and off when it is 0, false, no, off or empty.
 */
#ifndef WR_OPT_H
#define WR_OPT_H

#include <getopt.h>

#include "wr_conf.h"

typedef struct {
    int argc;
    char **argv; /* argv[0], the environment's options, then the real ones */
    char **owned;
    int nowned;
} wr_argv_t;

/* Build out from argv and the WARREN_* variables that name an option of
 * opts ("help" excepted). 0, or -1 with a message on stderr (a bad boolean,
 * or out of memory). The strings live until wr_opt_free(). */
int wr_opt_env(const struct option *opts, int argc, char **argv, wr_argv_t *out);
void wr_opt_free(wr_argv_t *a);

/* The usual start of a subcommand: out = argv with the WARREN_* options,
 * then the file named by -c (if any) loaded and applied to conf through
 * apply, so that the options parsed from out afterwards override it.
 * 0, or -1 with the error on stderr. *loaded (NULL when no file) and out
 * must live as long as conf, whose strings point into them. */
typedef int (*wr_opt_apply_fn)(const wr_conf_node_t *root, void *conf, wr_conf_err_t *err);
int wr_opt_begin(const struct option *opts, int argc, char **argv, wr_argv_t *out,
                 wr_opt_apply_fn apply, void *conf, wr_conf_t **loaded);

/* --log-level ARG into *level; -1 with the error on stderr. */
int wr_opt_log_level(const char *arg, int *level);

/* The value of -c FILE, --config FILE or --config=FILE in argv, or NULL. */
const char *wr_opt_config(int argc, char **argv);

#endif
