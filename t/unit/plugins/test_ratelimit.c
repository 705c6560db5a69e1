/* Unit tests for plugins/ratelimit/wr_ratelimit.c, compiled in and run against the fake API. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../../plugins/ratelimit/wr_ratelimit.c"
#include "fake_api.h"
#include "wr_test.h"

static void *t_conf;

static void setup(void)
{
    wr_plugin.bind(&fake_api);
}

static void teardown(void)
{
    fake_reset();
    t_conf = NULL;
}

static wr_rl_conf_t *load(const char *yaml)
{
    t_conf = fake_load(&wr_plugin, yaml);
    ck_assert_msg(t_conf != NULL, "create_conf failed: %s", fake_last_error());
    return t_conf;
}

static void load_fails(const char *yaml, const char *prefix, const char *key)
{
    FAKE_LOAD_FAILS(&wr_plugin, yaml, prefix, key);
}

/* A request from ip; stays usable for more calls (the last verdict wins). */
static wr_ctx_t *request(const char *ip)
{
    wr_ctx_t *ctx = fake_ctx(WR_PHASE_REQUEST_HEADERS, t_conf);

    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, ip);
    fake_set_str(ctx, WR_KEY_TUNNEL, 0, "web");
    return ctx;
}

/* One request from ip: its verdict. */
static int hit(const char *ip)
{
    return wr_plugin.request_headers(request(ip));
}

/* One request from ip, refused with Retry-After: retry. */
static void refused(const char *ip, const char *retry)
{
    wr_ctx_t *ctx = request(ip);

    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), 429);
    ck_assert_str_eq(fake_reject_reason(ctx), "rate limit exceeded");
    ck_assert_str_eq(wr_header_get(ctx, WR_RESPONSE, "Retry-After"), retry);
}

static void advance_us(uint64_t us)
{
    fake_set_now_us(fake_now_us() + us);
}

/* The table holds together: the list in order of use and the hash chains
 * hold the same count buckets, at most max_keys. */
static void check_table(const wr_rl_conf_t *c)
{
    const wr_ptable_t *t = &c->table;
    size_t in_list = 0, in_chains = 0;
    const wr_pt_node_t *prev = NULL;

    for (const wr_pt_node_t *n = t->head; n != NULL; prev = n, n = n->next) {
        ck_assert_ptr_eq(n->prev, prev);
        in_list++;
    }
    ck_assert_ptr_eq(t->tail, prev);
    for (size_t i = 0; i <= t->mask; i++)
        for (const wr_pt_node_t *n = t->slots[i]; n != NULL; n = n->hnext) {
            ck_assert_uint_eq(n->hash & t->mask, i);
            in_chains++;
        }
    ck_assert_uint_eq(in_list, t->count);
    ck_assert_uint_eq(in_chains, t->count);
    ck_assert_uint_le(t->count, c->max_keys);
}

START_TEST(test_ratelimit__parse_rate)
{
    uint64_t r = 0;

    ck_assert_int_eq(wr_rl_parse_rate("10", &r), 0);
    ck_assert_uint_eq(r, 10000000);
    ck_assert_int_eq(wr_rl_parse_rate("0.5", &r), 0);
    ck_assert_uint_eq(r, 500000);
    ck_assert_int_eq(wr_rl_parse_rate("2.25", &r), 0);
    ck_assert_uint_eq(r, 2250000);
    ck_assert_int_eq(wr_rl_parse_rate("0.000001", &r), 0);
    ck_assert_uint_eq(r, 1);
    ck_assert_int_eq(wr_rl_parse_rate("1000000", &r), 0);
    ck_assert_uint_eq(r, 1000000000000ull);
    ck_assert_int_eq(wr_rl_parse_rate("0", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("0.0", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("0.0000001", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("1000000.5", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("99999999999999999999", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("-1", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("1e3", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("1.", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate(".5", &r), -1);
    ck_assert_int_eq(wr_rl_parse_rate("", &r), -1);
    ck_assert_uint_eq(r, 1000000000000ull); /* untouched by failures */
}
END_TEST

START_TEST(test_ratelimit__config_errors)
{
    load_fails("rate: 0\n", "<test>:1:7: ", "'rate'");
    load_fails("rate: 1000001\n", "<test>:1:7: ", "'rate'");
    load_fails("rate: fast\n", "<test>:1:7: ", "'rate'");
    load_fails("burst: 5\n", "<test>:1:1: ", "'rate' is required");
    load_fails("rate: 10\n"
               "burst: 0\n",
               "<test>:2:8: ", "'burst'");
    load_fails("rate: 10\n"
               "key: cookie\n",
               "<test>:2:6: ", "'key'");
    load_fails("rate: 10\n"
               "max_keys: 0\n",
               "<test>:2:11: ", "'max_keys'");
    load_fails("rate: 10\n"
               "requests: maybe\n",
               "<test>:2:11: ", "'requests'");
    load_fails("rate: 10\n"
               "per: second\n",
               "<test>:2:1: ", "'per'");
}
END_TEST

START_TEST(test_ratelimit__config_defaults)
{
    wr_rl_conf_t *c = load("rate: 10\n");

    ck_assert_uint_eq(c->rate, 10000000);
    ck_assert_uint_eq(c->cap, 10 * WR_RL_UNIT); /* burst = rate */
    ck_assert_int_eq(c->key, WR_RL_KEY_IP);
    ck_assert_uint_eq(c->max_keys, 10000);
    ck_assert_uint_eq(c->table.mask, 16383);
    ck_assert_int_eq(c->requests, 1);
    ck_assert_int_eq(c->streams, 1);
    c = load("rate: 2.5\n");
    ck_assert_uint_eq(c->cap, 3 * WR_RL_UNIT); /* rounded up */
    c = load("rate: 0.1\n");
    ck_assert_uint_eq(c->cap, 1 * WR_RL_UNIT); /* at least one */
    c = load("rate: 1\nburst: 7\nkey: token\nmax_keys: 3\nrequests: false\nstreams: no\n");
    ck_assert_uint_eq(c->cap, 7 * WR_RL_UNIT);
    ck_assert_int_eq(c->key, WR_RL_KEY_TOKEN);
    ck_assert_uint_eq(c->max_keys, 3);
    ck_assert_uint_eq(c->table.mask, 3);
    ck_assert_int_eq(c->requests, 0);
    ck_assert_int_eq(c->streams, 0);
}
END_TEST

/* The burst passes at once, then 429 with Retry-After; time refills. */
START_TEST(test_ratelimit__burst_then_429)
{
    load("rate: 10\nburst: 20\n");
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "1");
    refused("192.0.2.1", "1");
    /* 100 ms earn one token at 10/s: one passes, not two */
    advance_us(99999);
    refused("192.0.2.1", "1");
    advance_us(1);
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "1");
    /* a long wait fills the bucket to its burst, no more */
    advance_us(3600ull * 1000000);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "1");
}
END_TEST

START_TEST(test_ratelimit__retry_after)
{
    load("rate: 0.5\n"); /* one token every 2 s, burst 1 */
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "2");
    advance_us(1500000);
    refused("192.0.2.1", "1"); /* 0.5 s to go: rounded up */
    advance_us(499999);
    refused("192.0.2.1", "1");
    advance_us(1);
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);

    load("rate: 0.1\n"); /* a token every 10 s */
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "10");
    advance_us(2500000);
    refused("192.0.2.1", "8"); /* 7.5 s */
    advance_us(7000000);
    refused("192.0.2.1", "1"); /* 0.5 s */
}
END_TEST

/* Looking often at a slow bucket loses nothing to rounding. */
START_TEST(test_ratelimit__no_rounding_loss)
{
    wr_ctx_t *ctx;
    uint64_t start;
    int verdict;

    load("rate: 3\nburst: 1\n"); /* a token every 333333.33 us */
    ctx = request("192.0.2.1");
    start = fake_now_us();
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    do {
        advance_us(2);
        verdict = wr_plugin.request_headers(ctx);
    } while (verdict == WR_REJECT);
    ck_assert_int_eq(verdict, WR_OK);
    ck_assert_uint_eq(fake_now_us() - start, 333334);
    /* the 0.67 us beyond the token were kept for the next one */
    do {
        advance_us(2);
        verdict = wr_plugin.request_headers(ctx);
    } while (verdict == WR_REJECT);
    ck_assert_uint_eq(fake_now_us() - start, 666668);
}
END_TEST

START_TEST(test_ratelimit__keys_independent)
{
    wr_ctx_t *ctx;

    load("rate: 1\nburst: 2\n");
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    refused("192.0.2.1", "1");
    ck_assert_int_eq(hit("192.0.2.2"), WR_OK);
    ck_assert_int_eq(hit("2001:db8::1"), WR_OK);
    ck_assert_int_eq(hit("192.0.2.2"), WR_OK);
    refused("192.0.2.2", "1");
    ck_assert_int_eq(hit("2001:db8::1"), WR_OK);
    refused("2001:db8::1", "1");
    /* no address: one shared "" bucket */
    ck_assert_int_eq(hit(NULL), WR_OK);
    ck_assert_int_eq(hit(NULL), WR_OK);
    ck_assert_int_eq(wr_plugin.request_headers(request(NULL)), WR_REJECT);
    ck_assert_uint_eq(((wr_rl_conf_t *)t_conf)->table.count, 4);

    /* key: tunnel, then token (the session's token id) */
    load("rate: 1\nburst: 1\nkey: tunnel\n");
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    ck_assert_int_eq(hit("192.0.2.2"), WR_REJECT); /* the same tunnel "web" */
    ctx = request("192.0.2.1");
    fake_set_str(ctx, WR_KEY_TUNNEL, 0, "api");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);

    load("rate: 1\nburst: 1\nkey: token\n");
    ctx = request("192.0.2.1");
    fake_set_str(ctx, WR_KEY_TOKEN_ID, 0, "alice");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_REJECT);
    ctx = request("192.0.2.1");
    fake_set_str(ctx, WR_KEY_TOKEN_ID, 0, "bob");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK); /* no token id: "" */
    ck_assert_int_eq(hit("192.0.2.9"), WR_REJECT);
}
END_TEST

/* max_keys 2: a third key makes the least recently used one forgotten. */
START_TEST(test_ratelimit__lru_bound)
{
    wr_rl_conf_t *c = load("rate: 0.001\nburst: 1\nmax_keys: 2\n");

    ck_assert_int_eq(hit("10.0.0.1"), WR_OK);
    ck_assert_int_eq(hit("10.0.0.2"), WR_OK);
    ck_assert_int_eq(hit("10.0.0.3"), WR_OK); /* 10.0.0.1 forgotten */
    ck_assert_uint_eq(c->table.count, 2);
    check_table(c);
    ck_assert_int_eq(hit("10.0.0.1"), WR_OK);     /* a full bucket again; 10.0.0.2 goes */
    ck_assert_int_eq(hit("10.0.0.3"), WR_REJECT); /* still remembered, empty */
    ck_assert_int_eq(hit("10.0.0.2"), WR_OK);     /* forgotten: full */
    ck_assert_uint_eq(c->table.count, 2);
    check_table(c);

    /* recency, not age: a refused request counts as a use */
    c = load("rate: 0.001\nburst: 1\nmax_keys: 2\n");
    ck_assert_int_eq(hit("10.0.0.1"), WR_OK);
    ck_assert_int_eq(hit("10.0.0.2"), WR_OK);
    ck_assert_int_eq(hit("10.0.0.1"), WR_REJECT);
    ck_assert_int_eq(hit("10.0.0.3"), WR_OK);     /* 10.0.0.2 was the least recent */
    ck_assert_int_eq(hit("10.0.0.1"), WR_REJECT); /* kept */
    ck_assert_int_eq(hit("10.0.0.2"), WR_OK);
    ck_assert_str_eq(c->table.head->key, "10.0.0.2");
    ck_assert_str_eq(c->table.tail->key, "10.0.0.1");
    check_table(c);
}
END_TEST

START_TEST(test_ratelimit__many_keys)
{
    wr_rl_conf_t *c = load("rate: 1\nburst: 1\nmax_keys: 100\n");
    char ip[32];

    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
            /* every key was forgotten since its last use: always full */
            ck_assert_int_eq(hit(ip), WR_OK);
        }
    ck_assert_uint_eq(c->table.count, 100);
    check_table(c);
    /* the last 100 are remembered (and empty) */
    ck_assert_int_eq(hit("10.0.3.231"), WR_REJECT);
    ck_assert_int_eq(hit("10.0.3.132"), WR_REJECT);
    check_table(c);
}
END_TEST

START_TEST(test_ratelimit__stream_open)
{
    wr_ctx_t *ctx;

    load("rate: 1\nburst: 1\n");
    ctx = fake_ctx(WR_PHASE_STREAM_OPEN, t_conf);
    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, "198.51.100.7");
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_OK);
    ck_assert_int_eq(fake_reject_status(ctx), 0);
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), 429);
    ck_assert_str_eq(fake_reject_reason(ctx), "rate limit exceeded");
    ck_assert_ptr_null(wr_header_get(ctx, WR_RESPONSE, "Retry-After"));
    /* requests and streams share the key's bucket */
    refused("198.51.100.7", "1");
    advance_us(1000000);
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_OK);
}
END_TEST

START_TEST(test_ratelimit__phases_off)
{
    wr_ctx_t *ctx;

    load("rate: 1\nburst: 1\nrequests: false\n");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hit("192.0.2.1"), WR_DECLINED);
    ctx = fake_ctx(WR_PHASE_STREAM_OPEN, t_conf);
    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, "192.0.2.1");
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_OK);
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_REJECT);

    load("rate: 1\nburst: 1\nstreams: false\n");
    ctx = fake_ctx(WR_PHASE_STREAM_OPEN, t_conf);
    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, "192.0.2.1");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_DECLINED);
    ck_assert_int_eq(hit("192.0.2.1"), WR_OK);
    ck_assert_int_eq(hit("192.0.2.1"), WR_REJECT);
}
END_TEST

/* Workers share the table: hammer it from several threads. */
#define T_THREADS 4
#define T_TAKES   20000

static void *hammer(void *arg)
{
    wr_rl_conf_t *c = t_conf;
    unsigned seed = (unsigned)(uintptr_t)arg;
    uint64_t retry, *taken = calloc(1, sizeof(*taken));
    char key[16];

    /* no ck_assert here: Check reports failures from the main thread only */
    if (taken == NULL)
        return NULL;
    for (int i = 0; i < T_TAKES; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(key, sizeof(key), "k%u", (seed >> 16) % 64);
        *taken += wr_rl_take(c, key, &retry) == 1;
    }
    return taken;
}

START_TEST(test_ratelimit__threads)
{
    wr_rl_conf_t *c = load("rate: 1\nburst: 1000000\nmax_keys: 16\n");
    pthread_t th[T_THREADS];
    uint64_t total = 0;
    void *r;

    for (uintptr_t i = 0; i < T_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, (void *)(i + 1)), 0);
    for (int i = 0; i < T_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], &r), 0);
        ck_assert_ptr_nonnull(r);
        total += *(uint64_t *)r;
        free(r);
    }
    ck_assert_uint_eq(total, T_THREADS * T_TAKES); /* the clock stood still: all from bursts */
    ck_assert_uint_eq(c->table.count, 16);
    check_table(c);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("plugins");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ratelimit__parse_rate);
    tcase_add_test(tc, test_ratelimit__config_errors);
    tcase_add_test(tc, test_ratelimit__config_defaults);
    tcase_add_test(tc, test_ratelimit__burst_then_429);
    tcase_add_test(tc, test_ratelimit__retry_after);
    tcase_add_test(tc, test_ratelimit__no_rounding_loss);
    tcase_add_test(tc, test_ratelimit__keys_independent);
    tcase_add_test(tc, test_ratelimit__lru_bound);
    tcase_add_test(tc, test_ratelimit__many_keys);
    tcase_add_test(tc, test_ratelimit__stream_open);
    tcase_add_test(tc, test_ratelimit__phases_off);
    tcase_add_test(tc, test_ratelimit__threads);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(ratelimit_suite)
