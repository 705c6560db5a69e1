/*
 * access_log: one line per HTTP request or TCP stream, in the "combined"
 * format of Apache and nginx or as one JSON object, to a file or stderr.
 *
 *   path: /var/log/warren/access.log   # or "-" / "stderr"; default "-"
 *   format: combined                   # combined | json
 *   buffer: 64k                        # per-worker buffer (4k..16m)
 *   flush: 1s                          # flush interval (10ms..60s)
 *
 * The log hook never writes to the file itself: each worker appends the
 * line to its own buffer, and writes the buffer with one write(2) once it
 * passes 3/4 of `buffer`, or when the worker's flush timer fires. Lines are
 * never split across two write(2) calls, and the file is opened with
 * O_APPEND, so workers' batches interleave only at line boundaries.
 *
 * The descriptor is shared by the workers. When the operator asks for log
 * files to be reopened (WR_KEY_REOPEN_COUNT moves), the next flush opens the
 * path again and swaps the descriptors; write(2) runs under a read lock and
 * the swap under the write lock, so no write ever uses a closed (or reused)
 * descriptor.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <warren/plugin.h>

enum { WR_AL_COMBINED = 0, WR_AL_JSON = 1 };

#define WR_AL_BUFFER_MIN     (4u * 1024)
#define WR_AL_BUFFER_MAX     (16u * 1024 * 1024)
#define WR_AL_BUFFER_DEFAULT (64u * 1024)
#define WR_AL_FLUSH_MIN      10u
#define WR_AL_FLUSH_MAX      60000u
#define WR_AL_FLUSH_DEFAULT  1000u

typedef struct {
    char *path; /* NULL: stderr */
    int format; /* WR_AL_COMBINED or WR_AL_JSON */
    size_t buffer;
    uint64_t flush_ms;

    /* The rest is the instance's running state, shared by every worker: the
     * config is the only per-instance object warren hands to all of them. */
    pthread_rwlock_t fd_lock;    /* read: write(2) on fd; write: swapping fd */
    pthread_mutex_t reopen_lock; /* one reopen at a time; guards reopen_seen */
    int locks;                   /* 1 once both locks are initialised */
    int fd;                      /* -1 outside init..fini */
    int own_fd;                  /* fd is ours to close (not stderr) */
    int64_t reopen_seen;         /* WR_KEY_REOPEN_COUNT the open fd answers */
    atomic_int write_failed;     /* the last write failed (and was logged) */
} wr_al_conf_t;

typedef struct {
    wr_al_conf_t *conf;
    char *buf;
    size_t len, cap; /* cap grows past conf->buffer only for a line that long */
    int oom;         /* an append failed: the line being built is dropped */
    wr_timer_t *timer;
    int64_t reopen_want; /* the highest WR_KEY_REOPEN_COUNT this worker saw */
    int64_t reopen_done; /* the count this worker last made sure was handled */
} wr_al_worker_t;

static const char *const wr_al_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* strerror_r comes in two flavours; only glibc with _GNU_SOURCE has the
 * one returning char *. strerror itself is not thread-safe. */
static const char *wr_al_strerror(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(err, buf, len);
#else
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
#endif
}

static const char *wr_al_target(const wr_al_conf_t *conf)
{
    return conf->path != NULL ? conf->path : "stderr";
}

/* ---- config ------------------------------------------------------------ */

static void wr_al_destroy_conf(void *data)
{
    wr_al_conf_t *conf = data;

    if (conf == NULL)
        return;
    /* fini normally closed it; this covers a start that failed after init */
    if (conf->own_fd && conf->fd >= 0)
        close(conf->fd);
    if (conf->locks) {
        pthread_rwlock_destroy(&conf->fd_lock);
        pthread_mutex_destroy(&conf->reopen_lock);
    }
    free(conf->path);
    free(conf);
}

static void *wr_al_create_conf(wr_ctx_t *ctx, const wr_config_t *config)
{
    static const char *const known[] = {"path", "format", "buffer", "flush", NULL};
    const wr_config_t *node;
    wr_al_conf_t *conf;
    const char *s;
    uint64_t u;

    conf = calloc(1, sizeof(*conf));
    if (conf == NULL) {
        wr_log(ctx, WR_LEVEL_ERROR, "out of memory");
        return NULL;
    }
    conf->fd = -1;
    conf->format = WR_AL_COMBINED;
    conf->buffer = WR_AL_BUFFER_DEFAULT;
    conf->flush_ms = WR_AL_FLUSH_DEFAULT;
    atomic_init(&conf->write_failed, 0);
    if (pthread_rwlock_init(&conf->fd_lock, NULL) != 0)
        goto no_lock;
    if (pthread_mutex_init(&conf->reopen_lock, NULL) != 0) {
        pthread_rwlock_destroy(&conf->fd_lock);
        goto no_lock;
    }
    conf->locks = 1;
    if (config == NULL)
        return conf;
    if (wr_config_keys(config, known) != WR_OK)
        goto failed;

    node = wr_config_get(config, "path");
    if (node != NULL) {
        if (wr_config_str(node, &s) != WR_OK)
            goto failed;
        if (*s == '\0') {
            wr_config_error(node, "'path' expects a file name, \"-\" or \"stderr\", got \"\"");
            goto failed;
        }
        if (strcmp(s, "-") != 0 && strcmp(s, "stderr") != 0) {
            conf->path = strdup(s);
            if (conf->path == NULL) {
                wr_config_error(node, "'path': out of memory");
                goto failed;
            }
        }
    }

    node = wr_config_get(config, "format");
    if (node != NULL) {
        if (wr_config_str(node, &s) != WR_OK)
            goto failed;
        if (strcmp(s, "combined") == 0) {
            conf->format = WR_AL_COMBINED;
        } else if (strcmp(s, "json") == 0) {
            conf->format = WR_AL_JSON;
        } else {
            wr_config_error(node, "'format' expects one of: combined, json, got \"%.64s\"", s);
            goto failed;
        }
    }

    node = wr_config_get(config, "buffer");
    if (node != NULL) {
        if (wr_config_size(node, WR_AL_BUFFER_MIN, WR_AL_BUFFER_MAX, &u) != WR_OK)
            goto failed;
        conf->buffer = (size_t)u;
    }

    node = wr_config_get(config, "flush");
    if (node != NULL) {
        if (wr_config_duration_ms(node, WR_AL_FLUSH_MIN, WR_AL_FLUSH_MAX, &u) != WR_OK)
            goto failed;
        conf->flush_ms = u;
    }
    return conf;

no_lock:
    wr_log(ctx, WR_LEVEL_ERROR, "cannot create a lock");
failed:
    wr_al_destroy_conf(conf);
    return NULL;
}

/* ---- the file ----------------------------------------------------------- */

static int wr_al_open(const wr_al_conf_t *conf)
{
    return open(conf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static int wr_al_init(wr_ctx_t *ctx)
{
    wr_al_conf_t *conf = wr_conf(ctx);
    int64_t n = wr_num(ctx, WR_KEY_REOPEN_COUNT, 0);
    char eb[128];

    conf->reopen_seen = n > 0 ? n : 0;
    if (conf->path == NULL) {
        conf->fd = STDERR_FILENO;
        conf->own_fd = 0;
        return WR_OK;
    }
    conf->fd = wr_al_open(conf);
    if (conf->fd < 0) {
        wr_log(ctx, WR_LEVEL_ERROR, "cannot open %s: %s", conf->path,
               wr_al_strerror(errno, eb, sizeof(eb)));
        return WR_ERROR;
    }
    conf->own_fd = 1;
    return WR_OK;
}

static void wr_al_fini(wr_ctx_t *ctx)
{
    wr_al_conf_t *conf = wr_conf(ctx);

    if (conf->own_fd && conf->fd >= 0)
        close(conf->fd);
    conf->fd = -1;
    conf->own_fd = 0;
}

/* Open the path again if the operator asked for it since it was last
 * opened (count: what this worker saw). Any worker may get here first; the
 * others then find reopen_seen up to date. The new file is opened before
 * the old one is closed, so lines always have somewhere to go. */
static void wr_al_reopen(wr_ctx_t *ctx, wr_al_conf_t *conf, int64_t count)
{
    char eb[128];
    int fd, old;

    pthread_mutex_lock(&conf->reopen_lock);
    if (count <= conf->reopen_seen)
        goto done;
    /* A failed open is not retried at every flush: the next signal will. */
    conf->reopen_seen = count;
    if (conf->path == NULL)
        goto done;
    fd = wr_al_open(conf);
    if (fd < 0) {
        wr_log(ctx, WR_LEVEL_ERROR, "cannot reopen %s: %s; still writing to the old file",
               conf->path, wr_al_strerror(errno, eb, sizeof(eb)));
        goto done;
    }
    pthread_rwlock_wrlock(&conf->fd_lock);
    old = conf->fd;
    conf->fd = fd;
    conf->own_fd = 1;
    pthread_rwlock_unlock(&conf->fd_lock);
    if (old >= 0)
        close(old);
    wr_log(ctx, WR_LEVEL_INFO, "reopened %s", conf->path);
done:
    pthread_mutex_unlock(&conf->reopen_lock);
}

/* One write(2) of whole lines. A short write (a full disk, a signal) goes
 * on with the rest; an error drops the batch and is logged once, until a
 * write works again. */
static void wr_al_write(wr_ctx_t *ctx, wr_al_conf_t *conf, const char *p, size_t n)
{
    char eb[128];
    ssize_t r;
    int err = 0;

    pthread_rwlock_rdlock(&conf->fd_lock);
    while (n > 0) {
        r = write(conf->fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = r < 0 ? errno : EIO;
            break;
        }
        p += r;
        n -= (size_t)r;
    }
    pthread_rwlock_unlock(&conf->fd_lock);

    if (err != 0) {
        if (atomic_exchange(&conf->write_failed, 1) == 0)
            wr_log(ctx, WR_LEVEL_ERROR, "cannot write to %s: %s; dropping lines until it works",
                   wr_al_target(conf), wr_al_strerror(err, eb, sizeof(eb)));
    } else if (atomic_load(&conf->write_failed) && atomic_exchange(&conf->write_failed, 0)) {
        wr_log(ctx, WR_LEVEL_INFO, "writing to %s again", wr_al_target(conf));
    }
}

static void wr_al_note_reopen(wr_ctx_t *ctx, wr_al_worker_t *w)
{
    int64_t n = wr_num(ctx, WR_KEY_REOPEN_COUNT, 0);

    if (n > w->reopen_want)
        w->reopen_want = n;
}

/* Write what the worker holds. split > 0: the last line starts there and
 * did not fit behind the others, so it goes in a write(2) of its own. */
static void wr_al_flush(wr_ctx_t *ctx, wr_al_worker_t *w, size_t split)
{
    wr_al_conf_t *conf = w->conf;
    char *p;

    wr_al_note_reopen(ctx, w);
    if (w->reopen_want > w->reopen_done) {
        wr_al_reopen(ctx, conf, w->reopen_want);
        w->reopen_done = w->reopen_want;
    }
    if (w->len == 0)
        return;
    if (split > 0 && split < w->len) {
        wr_al_write(ctx, conf, w->buf, split);
        wr_al_write(ctx, conf, w->buf + split, w->len - split);
    } else {
        wr_al_write(ctx, conf, w->buf, w->len);
    }
    w->len = 0;
    /* a very long line grew the buffer: give the memory back */
    if (w->cap > conf->buffer) {
        p = realloc(w->buf, conf->buffer);
        if (p != NULL) {
            w->buf = p;
            w->cap = conf->buffer;
        }
    }
}

/* ---- building a line ---------------------------------------------------- */

static int wr_al_reserve(wr_al_worker_t *w, size_t n)
{
    size_t cap = w->cap;
    char *p;

    if (w->oom)
        return -1;
    if (cap - w->len >= n)
        return 0;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2)
            goto failed;
        cap *= 2;
    }
    p = realloc(w->buf, cap);
    if (p == NULL)
        goto failed;
    w->buf = p;
    w->cap = cap;
    return 0;

failed:
    w->oom = 1;
    return -1;
}

static void wr_al_put(wr_al_worker_t *w, const char *s, size_t n)
{
    if (wr_al_reserve(w, n) != 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void wr_al_puts(wr_al_worker_t *w, const char *s)
{
    wr_al_put(w, s, strlen(s));
}

static WR_PRINTF(2, 3) void wr_al_printf(wr_al_worker_t *w, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    /* only numbers and times go through here: they fit */
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        wr_al_put(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* combined: '"', '\' and control bytes as \xNN (as nginx does), so that a
 * field can neither end its quotes nor start a new line; "-" for none. */
static void wr_al_put_clf(wr_al_worker_t *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p, *run;
    char x[4] = {'\\', 'x', 0, 0};

    if (s == NULL || *s == '\0') {
        wr_al_put(w, "-", 1);
        return;
    }
    for (p = run = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f)
            continue;
        wr_al_put(w, (const char *)run, (size_t)(p - run));
        run = p + 1;
        x[2] = hex[*p >> 4];
        x[3] = hex[*p & 0xf];
        wr_al_put(w, x, sizeof(x));
    }
    wr_al_put(w, (const char *)run, (size_t)(p - run));
}

/* A JSON string, or null. Bytes >= 0x80 pass as they are (UTF-8 stays
 * readable); DEL is escaped with the control bytes. */
static void wr_al_put_json(wr_al_worker_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p, *run;

    if (s == NULL) {
        wr_al_put(w, "null", 4);
        return;
    }
    wr_al_put(w, "\"", 1);
    for (p = run = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f)
            continue;
        wr_al_put(w, (const char *)run, (size_t)(p - run));
        run = p + 1;
        switch (*p) {
        case '"':
            wr_al_put(w, "\\\"", 2);
            break;
        case '\\':
            wr_al_put(w, "\\\\", 2);
            break;
        case '\n':
            wr_al_put(w, "\\n", 2);
            break;
        case '\r':
            wr_al_put(w, "\\r", 2);
            break;
        case '\t':
            wr_al_put(w, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf]};
            wr_al_put(w, u, sizeof(u));
        }
        }
    }
    wr_al_put(w, (const char *)run, (size_t)(p - run));
    wr_al_put(w, "\"", 1);
}

/* A number, or the fallback when warren has none (-1). */
static void wr_al_put_num(wr_al_worker_t *w, int64_t v, const char *none)
{
    if (v < 0)
        wr_al_puts(w, none);
    else
        wr_al_printf(w, "%" PRId64, v);
}

/* When the request or stream began, in us since the epoch. */
static int64_t wr_al_start_us(wr_ctx_t *ctx, struct tm *tm)
{
    int64_t us = wr_num(ctx, WR_KEY_START_TIME_US, 0);
    time_t sec;

    if (us <= 0)
        us = (int64_t)wr_time_us();
    sec = (time_t)(us / 1000000);
    if (gmtime_r(&sec, tm) == NULL)
        memset(tm, 0, sizeof(*tm));
    return us;
}

static int wr_al_is_tcp(wr_ctx_t *ctx)
{
    const char *type = wr_str(ctx, WR_KEY_TUNNEL_TYPE, 0);

    if (type != NULL)
        return strcmp(type, "tcp") == 0;
    return wr_str(ctx, WR_KEY_METHOD, 0) == NULL;
}

/* client - token_id [30/Nov/2026:20:16:05 +0000] "GET /path HTTP/1.1" 200 512 "referer" "ua" "tp"
 * client - token_id [30/Nov/2026:20:16:05 +0000] "TCP db:20001" 0 4096 "-" "-" "-"
 * The traceparent comes last, so that readers of the classic combined
 * format, which stop after the user agent, read these lines as theirs. */
static void wr_al_combined(wr_ctx_t *ctx, wr_al_worker_t *w)
{
    struct tm tm;
    int tcp = wr_al_is_tcp(ctx);

    wr_al_start_us(ctx, &tm);
    wr_al_put_clf(w, wr_str(ctx, WR_KEY_CLIENT_IP, 0));
    wr_al_put(w, " - ", 3);
    wr_al_put_clf(w, wr_str(ctx, WR_KEY_TOKEN_ID, 0));
    wr_al_printf(w, " [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
                 wr_al_months[tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (tcp) {
        wr_al_put(w, "TCP ", 4);
        wr_al_put_clf(w, wr_str(ctx, WR_KEY_TUNNEL, 0));
        wr_al_put(w, ":", 1);
        wr_al_put_num(w, wr_num(ctx, WR_KEY_PORT, 0), "-");
    } else {
        wr_al_put_clf(w, wr_str(ctx, WR_KEY_METHOD, 0));
        wr_al_put(w, " ", 1);
        wr_al_put_clf(w, wr_str(ctx, WR_KEY_PATH, 0));
        wr_al_put(w, " HTTP/1.1", 9);
    }
    wr_al_put(w, "\" ", 2);
    wr_al_put_num(w, wr_num(ctx, WR_KEY_STATUS, 0), "-");
    wr_al_put(w, " ", 1);
    wr_al_put_num(w, wr_num(ctx, WR_KEY_BYTES_OUT, 0), "-");
    if (tcp) {
        wr_al_puts(w, " \"-\" \"-\" \"-\"\n");
        return;
    }
    wr_al_put(w, " \"", 2);
    wr_al_put_clf(w, wr_header_get(ctx, WR_REQUEST, "Referer"));
    wr_al_put(w, "\" \"", 3);
    wr_al_put_clf(w, wr_header_get(ctx, WR_REQUEST, "User-Agent"));
    wr_al_put(w, "\" \"", 3);
    wr_al_put_clf(w, wr_header_get(ctx, WR_REQUEST, "traceparent"));
    wr_al_put(w, "\"\n", 2);
}

/* {"time":"2026-11-30T20:16:05.123Z","client":...,"type":"http"} */
static void wr_al_json(wr_ctx_t *ctx, wr_al_worker_t *w)
{
    const char *s;
    struct tm tm;
    int64_t us, v;
    int tcp = wr_al_is_tcp(ctx);

    us = wr_al_start_us(ctx, &tm);
    wr_al_printf(w, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(us / 1000 % 1000));
    wr_al_puts(w, ",\"client\":");
    wr_al_put_json(w, wr_str(ctx, WR_KEY_CLIENT_IP, 0));
    wr_al_puts(w, ",\"host\":");
    wr_al_put_json(w, wr_str(ctx, WR_KEY_HOST, 0));
    wr_al_puts(w, ",\"method\":");
    wr_al_put_json(w, wr_str(ctx, WR_KEY_METHOD, 0));
    wr_al_puts(w, ",\"path\":");
    wr_al_put_json(w, wr_str(ctx, WR_KEY_PATH, 0));
    wr_al_puts(w, ",\"status\":");
    wr_al_put_num(w, wr_num(ctx, WR_KEY_STATUS, 0), "null");
    wr_al_puts(w, ",\"bytes_in\":");
    wr_al_put_num(w, wr_num(ctx, WR_KEY_BYTES_IN, 0), "null");
    wr_al_puts(w, ",\"bytes_out\":");
    wr_al_put_num(w, wr_num(ctx, WR_KEY_BYTES_OUT, 0), "null");
    wr_al_puts(w, ",\"duration_ms\":");
    v = wr_num(ctx, WR_KEY_DURATION_US, 0);
    if (v < 0)
        wr_al_puts(w, "null");
    else
        wr_al_printf(w, "%" PRId64 ".%03d", v / 1000, (int)(v % 1000));
    wr_al_puts(w, ",\"tunnel\":");
    wr_al_put_json(w, wr_str(ctx, WR_KEY_TUNNEL, 0));
    if (tcp) {
        /* a TCP tunnel is known by its port as much as by its name */
        wr_al_puts(w, ",\"port\":");
        wr_al_put_num(w, wr_num(ctx, WR_KEY_PORT, 0), "null");
    }
    wr_al_puts(w, ",\"session\":");
    wr_al_put_num(w, wr_num(ctx, WR_KEY_SESSION_ID, 0), "null");
    wr_al_puts(w, ",\"stream\":");
    wr_al_put_num(w, wr_num(ctx, WR_KEY_STREAM_ID, 0), "null");
    wr_al_puts(w, tcp ? ",\"type\":\"tcp\"" : ",\"type\":\"http\"");
    /* W3C trace context: what the service received (warren's HTTP ingress
     * gives every request routed to a tunnel one; null for the others) */
    wr_al_puts(w, ",\"traceparent\":");
    wr_al_put_json(w, tcp ? NULL : wr_header_get(ctx, WR_REQUEST, "traceparent"));
    s = wr_str(ctx, WR_KEY_ERROR, 0);
    if (s != NULL) {
        wr_al_puts(w, ",\"error\":");
        wr_al_put_json(w, s);
    }
    s = wr_str(ctx, WR_KEY_TOKEN_ID, 0);
    if (s != NULL) {
        wr_al_puts(w, ",\"token_id\":");
        wr_al_put_json(w, s);
    }
    wr_al_put(w, "}\n", 2);
}

/* ---- workers and hooks -------------------------------------------------- */

static void wr_al_tick(wr_ctx_t *ctx, void *arg)
{
    wr_al_worker_t *w = arg;

    w->timer = NULL; /* it fired, and is gone */
    wr_al_flush(ctx, w, 0);
    w->timer = wr_timer_add(ctx, w->conf->flush_ms, wr_al_tick, w);
    if (w->timer == NULL)
        wr_log(ctx, WR_LEVEL_ERROR,
               "cannot re-arm the flush timer: lines now wait for a full "
               "buffer");
}

static void wr_al_worker_free(void *data)
{
    wr_al_worker_t *w = data;

    /* exit_worker normally did this; the slot can also end without it */
    if (w->timer != NULL)
        wr_timer_del(w->timer);
    free(w->buf);
    free(w);
}

static int wr_al_init_worker(wr_ctx_t *ctx)
{
    wr_al_conf_t *conf = wr_conf(ctx);
    wr_al_worker_t *w;

    w = calloc(1, sizeof(*w));
    if (w == NULL)
        goto failed;
    w->conf = conf;
    w->cap = conf->buffer;
    w->buf = malloc(w->cap);
    if (w->buf == NULL)
        goto failed;
    pthread_mutex_lock(&conf->reopen_lock);
    w->reopen_want = w->reopen_done = conf->reopen_seen;
    pthread_mutex_unlock(&conf->reopen_lock);
    w->timer = wr_timer_add(ctx, conf->flush_ms, wr_al_tick, w);
    if (w->timer == NULL)
        goto failed;
    if (wr_data_set(ctx, WR_SCOPE_WORKER, w, wr_al_worker_free) != WR_OK)
        goto failed;
    return WR_OK;

failed:
    wr_log(ctx, WR_LEVEL_ERROR, "cannot set up the worker's log buffer");
    if (w != NULL) {
        if (w->timer != NULL)
            wr_timer_del(w->timer);
        free(w->buf);
        free(w);
    }
    return WR_ERROR;
}

static void wr_al_exit_worker(wr_ctx_t *ctx)
{
    wr_al_worker_t *w = wr_data_get(ctx, WR_SCOPE_WORKER);

    if (w == NULL)
        return;
    wr_al_flush(ctx, w, 0);
    if (w->timer != NULL) {
        wr_timer_del(w->timer);
        w->timer = NULL;
    }
    wr_data_set(ctx, WR_SCOPE_WORKER, NULL, NULL); /* frees w */
}

static int wr_al_log(wr_ctx_t *ctx)
{
    wr_al_worker_t *w = wr_data_get(ctx, WR_SCOPE_WORKER);
    size_t mark;

    if (w == NULL)
        return WR_OK;
    wr_al_note_reopen(ctx, w);
    mark = w->len;
    w->oom = 0;
    if (w->conf->format == WR_AL_JSON)
        wr_al_json(ctx, w);
    else
        wr_al_combined(ctx, w);
    if (w->oom) {
        w->len = mark; /* no half lines */
        return WR_OK;
    }
    if (w->len > w->conf->buffer)
        wr_al_flush(ctx, w, mark);
    else if (w->len > w->conf->buffer / 4 * 3)
        wr_al_flush(ctx, w, 0);
    return WR_OK;
}

WR_PLUGIN_DEFINE(access_log, "1.0.0", .create_conf = wr_al_create_conf,
                 .destroy_conf = wr_al_destroy_conf, .init = wr_al_init, .fini = wr_al_fini,
                 .init_worker = wr_al_init_worker, .exit_worker = wr_al_exit_worker,
                 .log = wr_al_log);
