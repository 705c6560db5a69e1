/*
 * circuit_breaker: stop sending traffic to a tunnel whose local service
 * keeps failing, and answer 503 at once instead, until it has had time to
 * recover.
 *
 *   failures: 5                      # failures within window that open it
 *   window: 10s
 *   cooldown: 30s                    # open this long before half-open
 *   probes: 1                        # let through at once while half-open
 *   count: [5xx, connect, timeout]   # what is a failure
 *
 * One circuit per tunnel: the public hostname of an http tunnel, or
 * "name:port" of a tcp tunnel. The table is shared by every worker (one per
 * instance, under a mutex), holds only tunnels that have failed (a closed
 * circuit without failures needs no entry), and at most WR_CB_MAX_KEYS of
 * them: the least recently used goes first.
 *
 *   closed    --`failures` failures within `window`-->  open
 *   open      --`cooldown` elapsed, at the next request-->  half-open
 *   half-open --a probe succeeds-->  closed (entry dropped: counts cleared)
 *   half-open --a probe fails-->  open (a new cooldown)
 *
 * The failures of the last `window` are counted in WR_CB_SLOTS buckets of
 * window/64 each, so memory per tunnel is fixed whatever `failures` is; a
 * failure is forgotten between `window` and `window` + window/64 after it
 * happened, never before.
 *
 * Outcomes come from the log hook. A probe carries a stream slot: its log
 * settles the circuit (a failure reopens it, an answer from the service
 * closes it), or only gives its place back when the probe never reached the
 * service (refused by a later plugin); the slot's cleanup gives the place
 * back when no log ran at all. Either way a half-open circuit cannot be
 * wedged by probes that went missing.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <warren/plugin.h>

#include "../lib/wr_ptable.h"

enum { WR_CB_CLOSED = 0, WR_CB_OPEN = 1, WR_CB_HALF_OPEN = 2 };

/* what counts as a failure (`count:`) */
enum { WR_CB_5XX = 1, WR_CB_CONNECT = 2, WR_CB_TIMEOUT = 4 };

/* state changes, logged once the lock is released */
enum { WR_CB_EV_NONE = 0, WR_CB_EV_OPEN, WR_CB_EV_REOPEN, WR_CB_EV_HALF_OPEN, WR_CB_EV_CLOSED };

#define WR_CB_TICKS    64                /* buckets per window */
#define WR_CB_SLOTS    (WR_CB_TICKS + 1) /* the window, plus the tick under way */
#define WR_CB_MAX_KEYS 10000
#define WR_CB_KEY_MAX  512                 /* a hostname is at most 253 bytes */
#define WR_CB_DUR_MAX  (24u * 3600 * 1000) /* window and cooldown: at most a day */

typedef struct wr_cb_entry wr_cb_entry_t;

struct wr_cb_entry {
    wr_pt_node_t node; /* first: the table's links */
    uint64_t id;       /* unique per entry: probes find their own */
    int state;
    uint64_t opened_us; /* now_us when it (re)opened */
    uint64_t epoch;     /* half-open episodes: a probe counts only in its own */
    uint32_t inflight;  /* probes under way (half-open) */
    uint64_t tick;      /* the tick counts[tick % WR_CB_SLOTS] is for */
    uint32_t total;     /* sum of counts */
    uint32_t counts[WR_CB_SLOTS];
    char key[];
};

typedef struct {
    uint32_t failures;
    uint64_t window_ms, cooldown_ms;
    uint32_t probes;
    unsigned count; /* WR_CB_5XX | WR_CB_CONNECT | WR_CB_TIMEOUT */
    uint64_t tick_us;

    /* The table. It lives in the config because that is the one object
     * warren shares between an instance's workers. */
    pthread_mutex_t lock;
    int lock_ready;
    wr_ptable_t table; /* set up on the first failure (slots NULL until then) */
    uint64_t seed[2];  /* of its hash */
    uint64_t next_id;
    /* Entries not closed. Read without the lock, so that while every
     * circuit is closed a request costs no lock at all. */
    atomic_uint nopen;
} wr_cb_conf_t;

/* The stream slot of a request or stream let through as a probe. */
typedef struct {
    wr_cb_conf_t *conf;
    uint64_t id, epoch;
    int active; /* still holds its place in the entry's inflight */
    int http;   /* a request (else a TCP stream) */
    char key[];
} wr_cb_probe_t;

/* The stream slot of a request or stream this instance rejected: its log
 * (a 503) is not the local service's doing. */
static char wr_cb_rejected;

/* ---- config ------------------------------------------------------------ */

static void wr_cb_entry_free(wr_pt_node_t *n)
{
    free(n); /* the node is the entry's first member */
}

static void wr_cb_destroy_conf(void *data)
{
    wr_cb_conf_t *conf = data;

    if (conf == NULL)
        return;
    if (conf->table.slots != NULL)
        wr_pt_destroy(&conf->table, wr_cb_entry_free);
    if (conf->lock_ready)
        pthread_mutex_destroy(&conf->lock);
    free(conf);
}

static int wr_cb_parse_count(const wr_config_t *node, unsigned *out)
{
    const wr_config_t *item;
    const char *s;
    size_t i, n;

    if (wr_config_kind(node) != WR_CONFIG_SEQ)
        return wr_config_error(node, "'count' expects a list of: 5xx, connect, timeout");
    n = wr_config_len(node);
    if (n == 0)
        return wr_config_error(node, "'count' expects at least one of: 5xx, connect, timeout");
    *out = 0;
    for (i = 0; i < n; i++) {
        item = wr_config_at(node, i);
        if (wr_config_str(item, &s) != WR_OK)
            return WR_ERROR;
        if (strcmp(s, "5xx") == 0)
            *out |= WR_CB_5XX;
        else if (strcmp(s, "connect") == 0)
            *out |= WR_CB_CONNECT;
        else if (strcmp(s, "timeout") == 0)
            *out |= WR_CB_TIMEOUT;
        else
            return wr_config_error(
                item, "'count' expects one of: 5xx, connect, timeout, got \"%.64s\"", s);
    }
    return WR_OK;
}

static void wr_cb_seed(uint64_t seed[2], const void *salt)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    seed[0] = seed[1] = 0;
    if (fd >= 0) {
        if (read(fd, seed, 2 * sizeof(*seed)) != (ssize_t)(2 * sizeof(*seed)))
            seed[0] = seed[1] = 0;
        close(fd);
    }
    /* without /dev/urandom, still not a constant */
    seed[0] ^= wr_time_us();
    seed[1] ^= (uint64_t)(uintptr_t)salt;
}

static void *wr_cb_create_conf(wr_ctx_t *ctx, const wr_config_t *config)
{
    static const char *const known[] = {"failures", "window", "cooldown", "probes", "count", NULL};
    const wr_config_t *node;
    wr_cb_conf_t *conf;
    int64_t i;

    conf = calloc(1, sizeof(*conf));
    if (conf == NULL) {
        wr_log(ctx, WR_LEVEL_ERROR, "out of memory");
        return NULL;
    }
    conf->failures = 5;
    conf->window_ms = 10000;
    conf->cooldown_ms = 30000;
    conf->probes = 1;
    conf->count = WR_CB_5XX | WR_CB_CONNECT | WR_CB_TIMEOUT;
    conf->next_id = 1;
    wr_cb_seed(conf->seed, conf);
    atomic_init(&conf->nopen, 0);
    if (pthread_mutex_init(&conf->lock, NULL) != 0) {
        wr_log(ctx, WR_LEVEL_ERROR, "cannot create a lock");
        goto failed;
    }
    conf->lock_ready = 1;

    if (config != NULL) {
        if (wr_config_keys(config, known) != WR_OK)
            goto failed;
        node = wr_config_get(config, "failures");
        if (node != NULL) {
            if (wr_config_int(node, 1, 100000, &i) != WR_OK)
                goto failed;
            conf->failures = (uint32_t)i;
        }
        node = wr_config_get(config, "window");
        if (node != NULL &&
            wr_config_duration_ms(node, 1, WR_CB_DUR_MAX, &conf->window_ms) != WR_OK)
            goto failed;
        node = wr_config_get(config, "cooldown");
        if (node != NULL &&
            wr_config_duration_ms(node, 1, WR_CB_DUR_MAX, &conf->cooldown_ms) != WR_OK)
            goto failed;
        node = wr_config_get(config, "probes");
        if (node != NULL) {
            if (wr_config_int(node, 1, 10000, &i) != WR_OK)
                goto failed;
            conf->probes = (uint32_t)i;
        }
        node = wr_config_get(config, "count");
        if (node != NULL && wr_cb_parse_count(node, &conf->count) != WR_OK)
            goto failed;
    }
    /* rounded up, so that the WR_CB_TICKS buckets cover the whole window */
    conf->tick_us = (conf->window_ms * 1000 + WR_CB_TICKS - 1) / WR_CB_TICKS;
    return conf;

failed:
    wr_cb_destroy_conf(conf);
    return NULL;
}

/* ---- the table (conf->lock held) ---------------------------------------- */

static uint64_t wr_cb_hash(const wr_cb_conf_t *conf, const char *key)
{
    return wr_pt_hash(conf->seed, key, strlen(key));
}

static wr_cb_entry_t *wr_cb_find(wr_cb_conf_t *conf, const char *key, uint64_t hash)
{
    if (conf->table.slots == NULL)
        return NULL;
    return (wr_cb_entry_t *)wr_pt_find(&conf->table, key, hash);
}

static void wr_cb_remove(wr_cb_conf_t *conf, wr_cb_entry_t *e)
{
    wr_pt_remove(&conf->table, &e->node);
    if (e->state != WR_CB_CLOSED)
        atomic_fetch_sub(&conf->nopen, 1);
    free(e);
}

/* A closed entry with no failures yet; the least recently used one makes
 * room when the table is full. NULL when out of memory. */
static wr_cb_entry_t *wr_cb_insert(wr_cb_conf_t *conf, const char *key, uint64_t hash, uint64_t now)
{
    size_t len = strlen(key);
    wr_cb_entry_t *e;

    if (conf->table.slots == NULL && wr_pt_init(&conf->table, WR_CB_MAX_KEYS, conf->seed) != 0)
        return NULL;
    if (conf->table.count >= conf->table.max)
        wr_cb_remove(conf, (wr_cb_entry_t *)conf->table.tail);
    e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, len + 1);
    e->id = conf->next_id++;
    e->state = WR_CB_CLOSED;
    e->tick = now / conf->tick_us;
    wr_pt_add(&conf->table, &e->node, e->key, hash);
    return e;
}

/* Forget the buckets that fell out of the window since the last call. */
static void wr_cb_advance(const wr_cb_conf_t *conf, wr_cb_entry_t *e, uint64_t now)
{
    uint64_t t = now / conf->tick_us, i;

    if (t <= e->tick)
        return;
    if (t - e->tick >= WR_CB_SLOTS) {
        memset(e->counts, 0, sizeof(e->counts));
        e->total = 0;
    } else {
        for (i = e->tick + 1; i <= t; i++) {
            e->total -= e->counts[i % WR_CB_SLOTS];
            e->counts[i % WR_CB_SLOTS] = 0;
        }
    }
    e->tick = t;
}

/* ---- hooks -------------------------------------------------------------- */

/* The circuit's name: the hostname of an http tunnel, else "name:port". */
static int wr_cb_key(wr_ctx_t *ctx, char *buf, size_t size)
{
    const char *type = wr_str(ctx, WR_KEY_TUNNEL_TYPE, 0);
    const char *host = wr_str(ctx, WR_KEY_HOSTNAME, 0);
    const char *tunnel;
    int n;

    if (host != NULL && *host != '\0' && (type == NULL || strcmp(type, "tcp") != 0)) {
        n = snprintf(buf, size, "%s", host);
    } else {
        tunnel = wr_str(ctx, WR_KEY_TUNNEL, 0);
        if (tunnel == NULL)
            return -1;
        n = snprintf(buf, size, "%s:%" PRId64, tunnel, wr_num(ctx, WR_KEY_PORT, 0));
    }
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* "10s", "1m", "250ms": a duration as the config would write it. */
static const char *wr_cb_duration(uint64_t ms, char *buf, size_t size)
{
    if (ms % 3600000 == 0)
        snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(buf, size, "%" PRIu64 "ms", ms);
    return buf;
}

static void wr_cb_log_event(wr_ctx_t *ctx, const wr_cb_conf_t *conf, int event, const char *key,
                            uint32_t n)
{
    char d[32];

    switch (event) {
    case WR_CB_EV_OPEN:
        wr_log(ctx, WR_LEVEL_INFO, "circuit %s open after %" PRIu32 " failure%s in %s", key, n,
               n == 1 ? "" : "s", wr_cb_duration(conf->window_ms, d, sizeof(d)));
        break;
    case WR_CB_EV_REOPEN:
        wr_log(ctx, WR_LEVEL_INFO, "circuit %s open after a failed probe", key);
        break;
    case WR_CB_EV_HALF_OPEN:
        wr_log(ctx, WR_LEVEL_INFO, "circuit %s half-open", key);
        break;
    case WR_CB_EV_CLOSED:
        wr_log(ctx, WR_LEVEL_INFO, "circuit %s closed", key);
        break;
    default:
        break;
    }
}

/* Give back a probe's place, if its half-open episode is still on. */
static void wr_cb_release(wr_cb_conf_t *conf, wr_cb_probe_t *p)
{
    wr_cb_entry_t *e = wr_cb_find(conf, p->key, wr_cb_hash(conf, p->key));

    p->active = 0;
    if (e != NULL && e->id == p->id && e->epoch == p->epoch && e->state == WR_CB_HALF_OPEN &&
        e->inflight > 0)
        e->inflight--;
}

static void wr_cb_probe_end(void *data)
{
    wr_cb_probe_t *p = data;

    if (p->active) {
        pthread_mutex_lock(&p->conf->lock);
        wr_cb_release(p->conf, p);
        pthread_mutex_unlock(&p->conf->lock);
    }
    free(p);
}

static int wr_cb_reject(wr_ctx_t *ctx, int http, uint64_t left_us)
{
    char secs[24];

    wr_data_set(ctx, WR_SCOPE_STREAM, &wr_cb_rejected, NULL);
    if (http) {
        /* seconds left in the cooldown, rounded up; 1 when half-open */
        snprintf(secs, sizeof(secs), "%" PRIu64,
                 left_us == 0 ? (uint64_t)1 : (left_us + 999999) / 1000000);
        wr_header_set(ctx, WR_RESPONSE, "Retry-After", secs);
    }
    wr_reject(ctx, 503, "circuit open");
    return WR_REJECT;
}

/* request_headers and stream_open: closed passes, open is refused with 503,
 * half-open lets `probes` through at once. */
static int wr_cb_admit(wr_ctx_t *ctx, int http)
{
    wr_cb_conf_t *conf = wr_conf(ctx);
    char key[WR_CB_KEY_MAX];
    wr_cb_entry_t *e;
    wr_cb_probe_t *p;
    uint64_t now, left = 0, elapsed, cooldown_us = conf->cooldown_ms * 1000;
    int event = WR_CB_EV_NONE, refuse = 0;
    size_t len;

    if (atomic_load_explicit(&conf->nopen, memory_order_relaxed) == 0)
        return WR_OK;
    if (wr_cb_key(ctx, key, sizeof(key)) != 0)
        return WR_OK;
    len = strlen(key);
    p = NULL;
    now = wr_now_us();

    pthread_mutex_lock(&conf->lock);
    e = wr_cb_find(conf, key, wr_cb_hash(conf, key));
    if (e == NULL || e->state == WR_CB_CLOSED) {
        pthread_mutex_unlock(&conf->lock);
        return WR_OK;
    }
    wr_pt_touch(&conf->table, &e->node);
    if (e->state == WR_CB_OPEN) {
        elapsed = now > e->opened_us ? now - e->opened_us : 0;
        if (elapsed < cooldown_us) {
            left = cooldown_us - elapsed;
            refuse = 1;
        } else {
            e->state = WR_CB_HALF_OPEN;
            e->inflight = 0;
            e->epoch++;
            event = WR_CB_EV_HALF_OPEN;
        }
    }
    if (!refuse && e->inflight >= conf->probes)
        refuse = 1;
    if (!refuse) {
        p = malloc(sizeof(*p) + len + 1);
        if (p == NULL) {
            refuse = 1; /* a probe we could not track would wedge the circuit */
        } else {
            p->conf = conf;
            p->id = e->id;
            p->epoch = e->epoch;
            p->active = 1;
            p->http = http;
            memcpy(p->key, key, len + 1);
            e->inflight++;
        }
    }
    pthread_mutex_unlock(&conf->lock);

    wr_cb_log_event(ctx, conf, event, key, 0);
    if (refuse)
        return wr_cb_reject(ctx, http, left);
    if (wr_data_set(ctx, WR_SCOPE_STREAM, p, wr_cb_probe_end) != WR_OK) {
        /* an untracked probe could never settle the circuit */
        wr_cb_probe_end(p);
        wr_log(ctx, WR_LEVEL_WARN, "circuit %s: cannot track a probe; refused", key);
        return wr_cb_reject(ctx, http, 0);
    }
    return WR_OK;
}

static int wr_cb_request_headers(wr_ctx_t *ctx)
{
    return wr_cb_admit(ctx, 1);
}

static int wr_cb_stream_open(wr_ctx_t *ctx)
{
    return wr_cb_admit(ctx, 0);
}

/* Is this outcome a failure of the local service, as `count` defines it? */
static int wr_cb_failed(const wr_cb_conf_t *conf, int64_t status, const char *error)
{
    if (error == NULL)
        return (conf->count & WR_CB_5XX) && status >= 500 && status <= 599;
    if (status == 502)
        return (conf->count & WR_CB_CONNECT) != 0;
    if (status == 504)
        return (conf->count & WR_CB_TIMEOUT) != 0;
    return 0;
}

/* Did a probe that did not fail reach the local service? A request that a
 * later plugin refused logs that plugin's status with the reason as
 * WR_KEY_ERROR (a TCP stream: any status but 0); it proves nothing either
 * way, so it only gives its place back. */
static int wr_cb_reached(const wr_cb_probe_t *p, int64_t status, const char *error)
{
    if (p->http)
        return error == NULL && status > 0;
    return status == 0;
}

static int wr_cb_log(wr_ctx_t *ctx)
{
    wr_cb_conf_t *conf = wr_conf(ctx);
    void *slot = wr_data_get(ctx, WR_SCOPE_STREAM);
    wr_cb_probe_t *p = slot;
    char key[WR_CB_KEY_MAX];
    const char *error;
    wr_cb_entry_t *e;
    int64_t status;
    uint64_t now;
    uint64_t hash;
    uint32_t n = 0;
    int failed, event = WR_CB_EV_NONE;

    if (slot == &wr_cb_rejected)
        return WR_OK;
    status = wr_num(ctx, WR_KEY_STATUS, 0);
    error = wr_str(ctx, WR_KEY_ERROR, 0);
    failed = wr_cb_failed(conf, status, error);
    if (p == NULL && !failed)
        return WR_OK; /* a success changes nothing outside half-open */
    if (p != NULL)
        snprintf(key, sizeof(key), "%s", p->key);
    else if (wr_cb_key(ctx, key, sizeof(key)) != 0)
        return WR_OK;
    hash = wr_cb_hash(conf, key);
    now = wr_now_us();

    pthread_mutex_lock(&conf->lock);
    e = wr_cb_find(conf, key, hash);
    if (p != NULL) {
        /* a probe: its outcome settles the half-open circuit */
        if (p->active && e != NULL && e->id == p->id && e->epoch == p->epoch &&
            e->state == WR_CB_HALF_OPEN) {
            wr_cb_release(conf, p);
            if (failed) {
                e->state = WR_CB_OPEN;
                e->opened_us = now;
                event = WR_CB_EV_REOPEN;
            } else if (wr_cb_reached(p, status, error)) {
                wr_cb_remove(conf, e);
                event = WR_CB_EV_CLOSED;
            }
        }
        p->active = 0;
    } else if (failed) {
        if (e == NULL)
            e = wr_cb_insert(conf, key, hash, now);
        /* open or half-open: a late failure of a request let through
         * before the circuit opened changes nothing */
        if (e != NULL && e->state == WR_CB_CLOSED) {
            wr_pt_touch(&conf->table, &e->node);
            wr_cb_advance(conf, e, now);
            e->counts[e->tick % WR_CB_SLOTS]++;
            e->total++;
            if (e->total >= conf->failures) {
                e->state = WR_CB_OPEN;
                e->opened_us = now;
                atomic_fetch_add(&conf->nopen, 1);
                n = e->total;
                event = WR_CB_EV_OPEN;
            }
        }
    }
    pthread_mutex_unlock(&conf->lock);

    wr_cb_log_event(ctx, conf, event, key, n);
    return WR_OK;
}

WR_PLUGIN_DEFINE(circuit_breaker, "1.0.0", .create_conf = wr_cb_create_conf,
                 .destroy_conf = wr_cb_destroy_conf, .stream_open = wr_cb_stream_open,
                 .request_headers = wr_cb_request_headers, .log = wr_cb_log);
