/*
 * wr_log: leveled logging for the whole process, one line per event.
 *
 * Lines go to stderr or to a file opened with O_APPEND; each line is built in
 * a stack buffer and written with one write(2), so lines from different
 * worker threads never interleave. Control characters in the message are
 * escaped so that a peer-supplied string cannot forge a second line.
 *
 * Line format:
 *   2026-11-22T04:30:00.123Z warren[1234] info [w1] message
 * where "[w1]" names the worker thread (absent on the main thread).
 *
 * Never pass a secret (token, key, password) to these functions: the log has
 * no redaction, by design, so that the rule stays simple to audit.
 *
 * Thread safety: wr_log() may be called from any thread at any time after
 * wr_log_open() (or without it: it then writes to stderr at level info).
 * wr_log_open(), wr_log_reopen() and wr_log_close() are called from the main
 * thread only.
 */
#ifndef WR_LOG_H
#define WR_LOG_H

#include <stdarg.h>

typedef enum {
    WR_LOG_ERROR = 0,
    WR_LOG_WARN = 1,
    WR_LOG_INFO = 2,
    WR_LOG_DEBUG = 3,
} wr_log_level_t;

/* Open the log: path NULL or "-" or "stderr" means stderr. Returns 0, or -1
 * with errno set when the file cannot be opened (the previous target stays). */
int wr_log_open(const char *path, wr_log_level_t level);

/* Reopen the same file (after rotation; SIGHUP/SIGUSR1). 0 or -1. */
int wr_log_reopen(void);

/* Close the file; later lines go to stderr. */
void wr_log_close(void);

void wr_log_set_level(wr_log_level_t level);
wr_log_level_t wr_log_get_level(void);

/* "error", "warn", "info", "debug" -> level. 0, or -1 for anything else. */
int wr_log_level_parse(const char *name, wr_log_level_t *out);
const char *wr_log_level_name(wr_log_level_t level);

/* Name the calling thread in its log lines (e.g. "w1"); NULL clears. The
 * string is copied (at most 15 bytes kept). */
void wr_log_set_thread_name(const char *name);

void wr_log(wr_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wr_logv(wr_log_level_t level, const char *fmt, va_list ap);

#define wr_log_enabled(lvl) ((lvl) <= wr_log_get_level())
#define wr_log_error(...)   wr_log(WR_LOG_ERROR, __VA_ARGS__)
#define wr_log_warn(...)    wr_log(WR_LOG_WARN, __VA_ARGS__)
#define wr_log_info(...)    wr_log(WR_LOG_INFO, __VA_ARGS__)
#define wr_log_debug(...)                                                                          \
    do {                                                                                           \
        if (wr_log_enabled(WR_LOG_DEBUG))                                                          \
            wr_log(WR_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
