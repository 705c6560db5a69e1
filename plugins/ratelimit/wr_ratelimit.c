/*
 * ratelimit: a token bucket per client IP, tunnel or session token, for HTTP
 * requests (request_headers) and TCP connections (stream_open). See
 * docs/plugins/ratelimit.md.
 *
 * One table of buckets per instance, shared by all workers under a mutex
 * (plugins/lib/wr_ptable.h: keyed SipHash, so that clients cannot choose
 * colliding keys, and a list in order of use), so that finding, refilling
 * and evicting the least recently used bucket are all O(1).
 *
 * Tokens are counted in millionths of millionths (1e-12) of a token, so a
 * rate of r tokens per second adds exactly r * 1e6 units per microsecond:
 * no rounding, however often the bucket is looked at.
 *
 * Built only against <warren/plugin.h>; link with -pthread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getrandom under -std=c11 */
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <warren/plugin.h>

#include "../lib/wr_ptable.h"

#define WR_RL_UNIT      1000000000000ull /* one token, in bucket units */
#define WR_RL_RATE_MAX  1000000ull       /* tokens per second */
#define WR_RL_BURST_MAX 1000000
#define WR_RL_KEYS_MAX  10000000
#define WR_RL_KEYS_DEF  10000
#define WR_RL_NO_MEMORY "out of memory"
#define WR_RL_REASON    "rate limit exceeded"

enum { WR_RL_KEY_IP = 0, WR_RL_KEY_TUNNEL, WR_RL_KEY_TOKEN };

typedef struct {
    wr_pt_node_t node; /* first: the table's links */
    uint64_t tokens;   /* in 1e-12 tokens */
    uint64_t last_us;  /* when tokens was last brought up to date */
    char key[];
} wr_rl_bucket_t;

typedef struct {
    /* settings, read-only after create_conf */
    uint64_t rate; /* 1e-12 tokens per microsecond (= tokens per second * 1e6) */
    uint64_t cap;  /* burst, in 1e-12 tokens */
    int key;
    int requests, streams;
    size_t max_keys;

    /* the buckets, shared by the workers */
    pthread_mutex_t lock;
    wr_ptable_t table;
} wr_rl_conf_t;

/* ---- the table (called with the lock held) ------------------------------ */

/* The bucket of key, made (full) when there is none; NULL when out of
 * memory. It becomes the most recently used. */
static wr_rl_bucket_t *wr_rl_get(wr_rl_conf_t *c, const char *key, uint64_t now)
{
    size_t klen = strlen(key);
    uint64_t hash = wr_pt_hash(c->table.seed, key, klen);
    wr_pt_node_t *n = wr_pt_find(&c->table, key, hash);
    wr_rl_bucket_t *b;

    if (n != NULL) {
        wr_pt_touch(&c->table, n);
        return (wr_rl_bucket_t *)n;
    }
    while (c->table.count >= c->table.max) {
        n = c->table.tail; /* the least recently used is forgotten */
        wr_pt_remove(&c->table, n);
        free(n);
    }
    b = malloc(sizeof(*b) + klen + 1);
    if (b == NULL)
        return NULL;
    b->tokens = c->cap;
    b->last_us = now;
    memcpy(b->key, key, klen + 1);
    wr_pt_add(&c->table, &b->node, b->key, hash);
    return b;
}

/* Add what the time since the bucket was last seen earned, up to the cap. */
static void wr_rl_refill(const wr_rl_conf_t *c, wr_rl_bucket_t *b, uint64_t now)
{
    uint64_t elapsed, room;

    if (now <= b->last_us) /* a clock that went back earns nothing */
        return;
    elapsed = now - b->last_us;
    b->last_us = now;
    room = c->cap - b->tokens;
    /* elapsed * rate could overflow; past the time to fill up, it is full */
    if (elapsed >= (room + c->rate - 1) / c->rate)
        b->tokens = c->cap;
    else
        b->tokens += elapsed * c->rate;
}

/*
 * Take one token for key: 1 when there was one, 0 when not (*retry_s: whole
 * seconds until there is, at least 1), -1 when out of memory.
 */
static int wr_rl_take(wr_rl_conf_t *c, const char *key, uint64_t *retry_s)
{
    uint64_t now = wr_now_us(), wait_us;
    wr_rl_bucket_t *b;
    int rc;

    pthread_mutex_lock(&c->lock);
    b = wr_rl_get(c, key, now);
    if (b == NULL) {
        rc = -1;
    } else {
        wr_rl_refill(c, b, now);
        if (b->tokens >= WR_RL_UNIT) {
            b->tokens -= WR_RL_UNIT;
            rc = 1;
        } else {
            wait_us = (WR_RL_UNIT - b->tokens + c->rate - 1) / c->rate;
            *retry_s = (wait_us + 999999) / 1000000;
            if (*retry_s < 1)
                *retry_s = 1;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* ---- hooks -------------------------------------------------------------- */

static const char *wr_rl_key(wr_ctx_t *ctx, const wr_rl_conf_t *c)
{
    static const int keys[] = {WR_KEY_CLIENT_IP, WR_KEY_TUNNEL, WR_KEY_TOKEN_ID};
    const char *key = wr_str(ctx, keys[c->key], 0);

    return key != NULL ? key : "";
}

/* Both hooks: WR_OK, or WR_REJECT (429) with *retry_s set. */
static int wr_rl_check(wr_ctx_t *ctx, wr_rl_conf_t *c, uint64_t *retry_s)
{
    const char *key = wr_rl_key(ctx, c);

    switch (wr_rl_take(c, key, retry_s)) {
    case 1:
        return WR_OK;
    case 0:
        /* not logged: a flood would flood the log too; the log phase (an
         * access log) sees the 429 */
        wr_reject(ctx, 429, WR_RL_REASON);
        return WR_REJECT;
    default:
        wr_log(ctx, WR_LEVEL_ERROR, "out of memory for a rate limit bucket");
        return WR_ERROR;
    }
}

static int wr_rl_request_headers(wr_ctx_t *ctx)
{
    wr_rl_conf_t *c = wr_conf(ctx);
    uint64_t retry_s = 0;
    char value[24];
    int rc;

    if (!c->requests)
        return WR_DECLINED;
    rc = wr_rl_check(ctx, c, &retry_s);
    if (rc == WR_REJECT) {
        snprintf(value, sizeof(value), "%llu", (unsigned long long)retry_s);
        wr_header_set(ctx, WR_RESPONSE, "Retry-After", value);
    }
    return rc;
}

static int wr_rl_stream_open(wr_ctx_t *ctx)
{
    wr_rl_conf_t *c = wr_conf(ctx);
    uint64_t retry_s = 0;

    if (!c->streams)
        return WR_DECLINED;
    return wr_rl_check(ctx, c, &retry_s);
}

/* ---- config ------------------------------------------------------------- */

/* "10", "0.5", "2.25": tokens per second, in millionths (1 to 1e12). 0, or
 * -1 on anything else (signs, exponents, more than 6 decimals, 0, too big). */
static int wr_rl_parse_rate(const char *s, uint64_t *out)
{
    uint64_t whole = 0, frac = 0;
    size_t digits = 0, decimals = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        whole = whole * 10 + (uint64_t)(*s - '0');
        if (whole > WR_RL_RATE_MAX)
            return -1;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, decimals++) {
            if (decimals == 6)
                return -1;
            frac = frac * 10 + (uint64_t)(*s - '0');
        }
        if (decimals == 0)
            return -1;
    }
    if (*s != '\0' || digits == 0)
        return -1;
    while (decimals++ < 6)
        frac *= 10;
    whole = whole * 1000000 + frac;
    if (whole < 1 || whole > WR_RL_RATE_MAX * 1000000)
        return -1;
    *out = whole;
    return 0;
}

static void wr_rl_bucket_free(wr_pt_node_t *n)
{
    free(n); /* the node is the bucket's first member */
}

static void wr_rl_destroy_conf(void *data)
{
    wr_rl_conf_t *c = data;

    if (c == NULL)
        return;
    if (c->table.slots != NULL)
        wr_pt_destroy(&c->table, wr_rl_bucket_free);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* A fresh key for the hash: from the kernel, else from the clocks. */
static void wr_rl_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof(*seed), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(*seed)))
        return;
    seed[0] = wr_time_us() ^ 0x9e3779b97f4a7c15ull;
    seed[1] = wr_now_us() ^ (uint64_t)(uintptr_t)seed;
}

static const char *const wr_rl_keys[] = {"rate",     "burst",   "key", "max_keys",
                                         "requests", "streams", NULL};
static const char *const wr_rl_key_names[] = {"ip", "tunnel", "token", NULL};

static void *wr_rl_create_conf(wr_ctx_t *ctx, const wr_config_t *config)
{
    wr_rl_conf_t *c = calloc(1, sizeof(*c));
    const wr_config_t *v;
    const char *s;
    int64_t n;
    uint64_t seed[2];

    if (c == NULL) {
        if (config != NULL)
            wr_config_error(config, WR_RL_NO_MEMORY);
        return NULL;
    }
    c->requests = c->streams = 1;
    c->max_keys = WR_RL_KEYS_DEF;
    if (config == NULL) { /* rate is required, and there is no node to point at */
        wr_log(ctx, WR_LEVEL_ERROR, "ratelimit needs a config with at least 'rate'");
        goto failed;
    }
    if (wr_config_keys(config, wr_rl_keys) != WR_OK)
        goto failed;

    v = wr_config_get(config, "rate");
    if (v == NULL) {
        wr_config_error(config, "'rate' is required (tokens added per second)");
        goto failed;
    }
    if (wr_config_str(v, &s) != WR_OK)
        goto failed;
    if (wr_rl_parse_rate(s, &c->rate) != 0) {
        wr_config_error(v,
                        "'rate' expects a number of tokens per second from 0.000001 to 1000000 "
                        "(at most 6 decimals), got \"%s\"",
                        s);
        goto failed;
    }
    /* by default the bucket holds a second's worth, and at least one token */
    n = (int64_t)((c->rate + 999999) / 1000000);
    if ((v = wr_config_get(config, "burst")) != NULL &&
        wr_config_int(v, 1, WR_RL_BURST_MAX, &n) != WR_OK)
        goto failed;
    c->cap = (uint64_t)n * WR_RL_UNIT;

    if ((v = wr_config_get(config, "key")) != NULL) {
        if (wr_config_str(v, &s) != WR_OK)
            goto failed;
        for (c->key = 0; wr_rl_key_names[c->key] != NULL; c->key++)
            if (strcmp(wr_rl_key_names[c->key], s) == 0)
                break;
        if (wr_rl_key_names[c->key] == NULL) {
            wr_config_error(v, "'key' expects one of: ip, tunnel, token, got \"%s\"", s);
            goto failed;
        }
    }
    if ((v = wr_config_get(config, "max_keys")) != NULL) {
        if (wr_config_int(v, 1, WR_RL_KEYS_MAX, &n) != WR_OK)
            goto failed;
        c->max_keys = (size_t)n;
    }
    if ((v = wr_config_get(config, "requests")) != NULL && wr_config_bool(v, &c->requests) != WR_OK)
        goto failed;
    if ((v = wr_config_get(config, "streams")) != NULL && wr_config_bool(v, &c->streams) != WR_OK)
        goto failed;

    wr_rl_seed(seed);
    if (wr_pt_init(&c->table, c->max_keys, seed) != 0) {
        wr_config_error(config, WR_RL_NO_MEMORY);
        goto failed;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        wr_config_error(config, "cannot create a mutex");
        goto failed;
    }
    return c;

failed:
    free(c->table.slots);
    free(c);
    return NULL;
}

WR_PLUGIN_DEFINE(ratelimit, "1.0.0", .create_conf = wr_rl_create_conf,
                 .destroy_conf = wr_rl_destroy_conf, .stream_open = wr_rl_stream_open,
                 .request_headers = wr_rl_request_headers);
