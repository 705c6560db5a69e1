/*
 * wr_log: see wr_log.h.
 *
 * Shared state is two atomics (level and fd) plus the path, which only the
 * main thread touches. Swapping files must never make a worker write to a
 * closed fd, or worse to an fd number that open(2) has since reused for a
 * socket:
 *   - open/reopen while a file is already in use put the new file behind the
 *     same fd number with dup3(2), which replaces it atomically; a writer that
 *     already loaded the number writes to the old file or the new one;
 *   - close swaps the fd back to "stderr", then waits for the writers that
 *     may still hold the old number (a counter around each write) before
 *     closing it.
 */
#include "wr_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One line, newline included. Small enough for the stack and, being under
 * PIPE_BUF, written atomically even when stderr is a pipe. */
#define WR_LOG_LINE_MAX 2048
#define WR_LOG_TRUNC    "..."
#define WR_LOG_NAME_MAX 16

static atomic_int wr_log_level_v = WR_LOG_INFO;
/* -1: stderr (not owned); otherwise a file descriptor we opened. */
static atomic_int wr_log_fd_v = -1;
/* Threads between loading wr_log_fd_v and finishing their write(2). */
static atomic_int wr_log_writers;
/* Path of the open file, "" for stderr. Main thread only. */
static char wr_log_path[PATH_MAX];

static _Thread_local char wr_log_thread_name[WR_LOG_NAME_MAX];

static const char *const wr_log_names[] = {
    [WR_LOG_ERROR] = "error",
    [WR_LOG_WARN] = "warn",
    [WR_LOG_INFO] = "info",
    [WR_LOG_DEBUG] = "debug",
};

static int wr_log_is_stderr(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0 || strcmp(path, "stderr") == 0;
}

static int wr_log_open_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

/* Make fd (just opened) the log target. Takes ownership of fd. */
static int wr_log_install(int fd)
{
    int cur = atomic_load(&wr_log_fd_v);
    int err;

    if (cur == -1) {
        atomic_store(&wr_log_fd_v, fd);
        return 0;
    }
    if (dup3(fd, cur, O_CLOEXEC) == -1) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    close(fd);
    return 0;
}

int wr_log_open(const char *path, wr_log_level_t level)
{
    size_t len;
    int fd;

    if (wr_log_is_stderr(path)) {
        wr_log_close();
        wr_log_set_level(level);
        return 0;
    }
    len = strlen(path);
    if (len >= sizeof(wr_log_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = wr_log_open_file(path);
    if (fd == -1)
        return -1;
    if (wr_log_install(fd) == -1)
        return -1;
    memcpy(wr_log_path, path, len + 1);
    wr_log_set_level(level);
    return 0;
}

int wr_log_reopen(void)
{
    int fd;

    if (wr_log_path[0] == '\0')
        return 0;
    fd = wr_log_open_file(wr_log_path);
    if (fd == -1)
        return -1;
    return wr_log_install(fd);
}

void wr_log_close(void)
{
    int fd = atomic_exchange(&wr_log_fd_v, -1);

    wr_log_path[0] = '\0';
    if (fd == -1)
        return;
    /* A writer that loaded fd before the exchange may still be in write(2);
     * closing now could let it write into whatever reuses the number. Lines
     * are short, so this wait is brief. */
    while (atomic_load(&wr_log_writers) != 0)
        sched_yield();
    close(fd);
}

void wr_log_set_level(wr_log_level_t level)
{
    atomic_store_explicit(&wr_log_level_v, (int)level, memory_order_relaxed);
}

wr_log_level_t wr_log_get_level(void)
{
    return (wr_log_level_t)atomic_load_explicit(&wr_log_level_v, memory_order_relaxed);
}

int wr_log_level_parse(const char *name, wr_log_level_t *out)
{
    size_t i;

    if (name == NULL)
        return -1;
    for (i = 0; i < sizeof(wr_log_names) / sizeof(wr_log_names[0]); i++) {
        if (strcmp(name, wr_log_names[i]) == 0) {
            *out = (wr_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

const char *wr_log_level_name(wr_log_level_t level)
{
    if ((int)level < WR_LOG_ERROR || (int)level > WR_LOG_DEBUG)
        return "unknown";
    return wr_log_names[level];
}

void wr_log_set_thread_name(const char *name)
{
    if (name == NULL) {
        wr_log_thread_name[0] = '\0';
        return;
    }
    snprintf(wr_log_thread_name, sizeof(wr_log_thread_name), "%s", name);
}

/* "2026-11-22T04:30:00.123Z" into buf; returns its length. */
static size_t wr_log_timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
        ts.tv_nsec = 0;
    }
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

/* Copy msg[0..len) into dst (room bytes), escaping control characters so
 * that a message can never start a second line. Stops before an escape that
 * would not fit whole. Returns the bytes written; *done tells whether all of
 * msg made it. */
static size_t wr_log_escape(char *dst, size_t room, const char *msg, size_t len, int *done)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];

        if (c < 0x20 || c == 0x7f) {
            if (room - o < 4)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 0xf];
        } else {
            if (room - o < 1)
                break;
            dst[o++] = (char)c;
        }
    }
    *done = i == len;
    return o;
}

void wr_logv(wr_log_level_t level, const char *fmt, va_list ap)
{
    char line[WR_LOG_LINE_MAX];
    /* The formatted message before escaping; anything beyond a line could
     * not be shown anyway. */
    char msg[WR_LOG_LINE_MAX];
    size_t len, room, mlen;
    int saved_errno = errno;
    int n, done, fd;
    ssize_t w;

    if (!wr_log_enabled(level))
        return;

    len = wr_log_timestamp(line, sizeof(line));
    n = snprintf(line + len, sizeof(line) - len, " warren[%ld] %s ", (long)getpid(),
                 wr_log_level_name(level));
    len += (size_t)n;
    if (wr_log_thread_name[0] != '\0') {
        n = snprintf(line + len, sizeof(line) - len, "[%s] ", wr_log_thread_name);
        len += (size_t)n;
    }

    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0) {
        n = snprintf(msg, sizeof(msg), "(unformattable log message: %s)", fmt);
        if (n < 0)
            n = 0;
    }
    mlen = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;

    /* Keep room for the truncation marker and the newline. */
    room = sizeof(line) - len - (sizeof(WR_LOG_TRUNC) - 1) - 1;
    len += wr_log_escape(line + len, room, msg, mlen, &done);
    if (!done || (size_t)n != mlen) {
        memcpy(line + len, WR_LOG_TRUNC, sizeof(WR_LOG_TRUNC) - 1);
        len += sizeof(WR_LOG_TRUNC) - 1;
    }
    line[len++] = '\n';

    atomic_fetch_add(&wr_log_writers, 1);
    fd = atomic_load(&wr_log_fd_v);
    if (fd == -1)
        fd = STDERR_FILENO;
    /* One write(2) per line; a short write is not retried, since a second
     * write could land between other threads' lines. */
    do {
        w = write(fd, line, len);
    } while (w == -1 && errno == EINTR);
    atomic_fetch_sub(&wr_log_writers, 1);

    errno = saved_errno;
}

void wr_log(wr_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    wr_logv(level, fmt, ap);
    va_end(ap);
}
