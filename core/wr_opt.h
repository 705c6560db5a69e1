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

/* The value of -c FILE, --config FILE or --config=FILE in argv, or NULL. */
const char *wr_opt_config(int argc, char **argv);

#endif
