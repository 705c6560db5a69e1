/* Unit tests for plugins/circuit_breaker: config, the state machine, what
 * counts as a failure, probes and their release, and the table's bound,
 * through the fake API. */
#include <stdio.h>
#include <string.h>

#include "../../../plugins/circuit_breaker/wr_circuit_breaker.c"

#include "fake_api.h"
#include "wr_test.h"

#define SEC 1000000u

static void setup(void)
{
    wr_plugin.bind(&fake_api);
}

static void teardown(void)
{
    fake_reset();
}

static wr_cb_conf_t *conf_of(const char *yaml)
{
    const wr_config_t *cfg = fake_config(yaml);

    ck_assert_ptr_nonnull(cfg);
    return wr_plugin.create_conf(fake_ctx(WR_PHASE_CONFIG, NULL), cfg);
}

/* An HTTP request to host, in request_headers. */
static wr_ctx_t *req(wr_cb_conf_t *conf, const char *host)
{
    wr_ctx_t *c = fake_ctx(WR_PHASE_REQUEST_HEADERS, conf);

    fake_set_str(c, WR_KEY_TUNNEL, 0, "web");
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    fake_set_str(c, WR_KEY_HOSTNAME, 0, host);
    fake_set_str(c, WR_KEY_METHOD, 0, "GET");
    return c;
}

/* A TCP stream to tunnel db on port 20001, in stream_open. */
static wr_ctx_t *tcp(wr_cb_conf_t *conf)
{
    wr_ctx_t *c = fake_ctx(WR_PHASE_STREAM_OPEN, conf);

    fake_set_str(c, WR_KEY_TUNNEL, 0, "db");
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "tcp");
    fake_set_num(c, WR_KEY_PORT, 0, 20001);
    return c;
}

/* The request or stream is over: log, then its stream scope ends. */
static void finish(wr_ctx_t *c, int64_t status, const char *error)
{
    fake_ctx_phase(c, WR_PHASE_LOG);
    fake_set_num(c, WR_KEY_STATUS, 0, status);
    fake_set_str(c, WR_KEY_ERROR, 0, error);
    wr_plugin.log(c);
    fake_end_stream(c);
}

/* A request that passes and then fails (or succeeds) with status/error. */
static void request(wr_cb_conf_t *conf, const char *host, int64_t status, const char *error)
{
    wr_ctx_t *c = req(conf, host);

    ck_assert_int_eq(wr_plugin.request_headers(c), WR_OK);
    finish(c, status, error);
}

static void at(uint64_t t)
{
    fake_set_now_us(t);
}

/* A request refused while open: 503, and Retry-After (seconds, as text). */
static void refused(wr_cb_conf_t *conf, const char *host, const char *retry_after)
{
    wr_ctx_t *c = req(conf, host);

    ck_assert_int_eq(wr_plugin.request_headers(c), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(c), 503);
    ck_assert_str_eq(fake_reject_reason(c), "circuit open");
    ck_assert_str_eq(wr_header_get(c, WR_RESPONSE, "Retry-After"), retry_after);
    finish(c, 503, NULL);
}

static int state_of(wr_cb_conf_t *conf, const char *key)
{
    wr_cb_entry_t *e = wr_cb_find(conf, key, wr_cb_hash(conf, key));

    return e != NULL ? e->state : -1;
}

/* ---- config ------------------------------------------------------------ */

START_TEST(test_circuit_breaker__config)
{
    wr_cb_conf_t *conf = conf_of("{}");

    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(conf->failures, 5);
    ck_assert_uint_eq(conf->window_ms, 10000);
    ck_assert_uint_eq(conf->cooldown_ms, 30000);
    ck_assert_uint_eq(conf->probes, 1);
    ck_assert_uint_eq(conf->count, WR_CB_5XX | WR_CB_CONNECT | WR_CB_TIMEOUT);
    ck_assert_uint_eq(conf->tick_us, 156250);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("failures: 100000\nwindow: 1m\ncooldown: 500ms\nprobes: 3\ncount: [timeout]\n");
    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(conf->failures, 100000);
    ck_assert_uint_eq(conf->window_ms, 60000);
    ck_assert_uint_eq(conf->cooldown_ms, 500);
    ck_assert_uint_eq(conf->probes, 3);
    ck_assert_uint_eq(conf->count, WR_CB_TIMEOUT);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("count:\n  - connect\n  - 5xx\n");
    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(conf->count, WR_CB_CONNECT | WR_CB_5XX);
    wr_plugin.destroy_conf(conf);

    conf = wr_plugin.create_conf(fake_ctx(WR_PHASE_CONFIG, NULL), NULL);
    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(conf->failures, 5);
    wr_plugin.destroy_conf(conf);
}
END_TEST

static void bad_config(const char *yaml, const char *error)
{
    ck_assert_ptr_null(conf_of(yaml));
    ck_assert_str_eq(fake_last_error(), error);
}

START_TEST(test_circuit_breaker__config_errors)
{
    bad_config("failures: 5\nwindw: 10s\n", "<test>:2:1: unknown key 'windw'");
    bad_config("failures: 0\n",
               "<test>:1:11: 'failures' expects an integer from 1 to 100000, got \"0\"");
    bad_config("failures: 100001\n",
               "<test>:1:11: 'failures' expects an integer from 1 to 100000, got \"100001\"");
    bad_config("window: 10\n", "<test>:1:9: 'window' expects a duration with a unit (us, ms, s, "
                               "m or h, e.g. 30s), got \"10\": a unit is required");
    bad_config("cooldown: 2d\n",
               "<test>:1:11: 'cooldown' expects a duration (a number with a unit us, ms, s, m or "
               "h, e.g. 30s), got \"2d\"");
    bad_config("probes: 0\n", "<test>:1:9: 'probes' expects an integer from 1 to 10000, got \"0\"");
    bad_config("count: [5xx, dns]\n",
               "<test>:1:14: 'count' expects one of: 5xx, connect, timeout, got \"dns\"");
    bad_config("window: 1s\ncount: 5xx\n",
               "<test>:2:8: 'count' expects a list of: 5xx, connect, timeout");
    bad_config("count: []\n", "<test>:1:8: 'count' expects at least one of: 5xx, connect, timeout");
    bad_config("count: [[5xx]]\n", "<test>:1:9: 'count[0]' expects a string, got a sequence");
}
END_TEST

/* ---- the state machine --------------------------------------------------- */

START_TEST(test_circuit_breaker__opens)
{
    wr_cb_conf_t *conf = conf_of("failures: 3\n");
    uint64_t t0 = fake_now_us();

    request(conf, "app.example.com", 500, NULL);
    at(t0 + 1 * SEC);
    request(conf, "app.example.com", 502, "connect: connection refused");
    /* another tunnel is another circuit */
    request(conf, "other.example.com", 500, NULL);
    request(conf, "other.example.com", 500, NULL);
    ck_assert_int_eq(fake_log_count(), 0);
    at(t0 + 2 * SEC);
    request(conf, "app.example.com", 504, "response timeout");
    ck_assert_int_eq(fake_log_count(), 1);
    ck_assert_str_eq(fake_log_line(0), "info circuit app.example.com open after 3 failures in 10s");
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);

    /* refused at once, told when to come back: the cooldown left, rounded up */
    refused(conf, "app.example.com", "30");
    at(t0 + 2 * SEC + 500000);
    refused(conf, "app.example.com", "30");
    at(t0 + 31 * SEC + 1);
    refused(conf, "app.example.com", "1");
    at(t0 + 32 * SEC - 1);
    refused(conf, "app.example.com", "1");
    /* refusals are not failures, and other tunnels are unaffected */
    request(conf, "other.example.com", 200, NULL);
    ck_assert_int_eq(state_of(conf, "other.example.com"), WR_CB_CLOSED);
    ck_assert_int_eq(fake_log_count(), 1);
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* Failures spread wider than the window never add up; a success does not
 * reset the count either. */
START_TEST(test_circuit_breaker__sliding_window)
{
    wr_cb_conf_t *conf = conf_of("failures: 3\nwindow: 10s\n");
    uint64_t t0 = fake_now_us();

    request(conf, "app.example.com", 500, NULL);
    at(t0 + 6 * SEC);
    request(conf, "app.example.com", 500, NULL);
    at(t0 + 12 * SEC);
    request(conf, "app.example.com", 500, NULL);
    at(t0 + 18 * SEC);
    request(conf, "app.example.com", 500, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_CLOSED);
    ck_assert_int_eq(fake_log_count(), 0);
    /* 12s, 18s, 20s: three within 10s */
    at(t0 + 20 * SEC);
    request(conf, "app.example.com", 200, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_CLOSED);
    request(conf, "app.example.com", 503, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);
    ck_assert_int_eq(fake_log_count(), 1);
    ck_assert_str_eq(fake_log_line(0), "info circuit app.example.com open after 3 failures in 10s");
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* After the cooldown, exactly `probes` requests go through at once; the
 * others are refused. */
START_TEST(test_circuit_breaker__half_open_probes)
{
    wr_cb_conf_t *conf = conf_of("failures: 1\ncooldown: 5s\nprobes: 2\n");
    uint64_t t0 = fake_now_us();
    wr_ctx_t *p1, *p2;

    request(conf, "app.example.com", 500, NULL);
    refused(conf, "app.example.com", "5");
    at(t0 + 5 * SEC);
    p1 = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p1), WR_OK);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_HALF_OPEN);
    p2 = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p2), WR_OK);
    refused(conf, "app.example.com", "1");
    refused(conf, "app.example.com", "1");
    ck_assert_int_eq(fake_log_count(), 2);
    ck_assert_str_eq(fake_log_line(0), "info circuit app.example.com open after 1 failure in 10s");
    ck_assert_str_eq(fake_log_line(1), "info circuit app.example.com half-open");

    /* the first probe succeeds: closed, counts cleared */
    finish(p1, 200, NULL);
    ck_assert_int_eq(fake_log_count(), 3);
    ck_assert_str_eq(fake_log_line(2), "info circuit app.example.com closed");
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    request(conf, "app.example.com", 200, NULL);
    request(conf, "app.example.com", 200, NULL);
    request(conf, "app.example.com", 200, NULL);
    /* the second probe, of an episode that is over, changes nothing */
    finish(p2, 500, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    ck_assert_int_eq(fake_log_count(), 3);
    wr_plugin.destroy_conf(conf);
}
END_TEST

START_TEST(test_circuit_breaker__probe_fails)
{
    wr_cb_conf_t *conf = conf_of("failures: 2\ncooldown: 30s\n");
    uint64_t t0 = fake_now_us();
    wr_ctx_t *p;

    request(conf, "app.example.com", 500, NULL);
    request(conf, "app.example.com", 500, NULL);
    at(t0 + 30 * SEC);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    at(t0 + 31 * SEC);
    finish(p, 502, "connect: connection refused");
    ck_assert_int_eq(fake_log_count(), 3);
    ck_assert_str_eq(fake_log_line(2), "info circuit app.example.com open after a failed probe");
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);
    /* a new cooldown, from the failed probe */
    at(t0 + 40 * SEC);
    refused(conf, "app.example.com", "21");
    at(t0 + 61 * SEC);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    ck_assert_str_eq(fake_log_line(3), "info circuit app.example.com half-open");
    finish(p, 404, NULL); /* the service answered: that is a success */
    ck_assert_str_eq(fake_log_line(4), "info circuit app.example.com closed");
    ck_assert_int_eq(fake_log_count(), 5);
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* A probe that never logs (the stream just ended) gives its place back
 * through its slot's cleanup. */
START_TEST(test_circuit_breaker__probe_released)
{
    wr_cb_conf_t *conf = conf_of("failures: 1\ncooldown: 1s\n");
    wr_ctx_t *p;

    request(conf, "app.example.com", 500, NULL);
    at(fake_now_us() + SEC);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    refused(conf, "app.example.com", "1");
    fake_end_stream(p);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_HALF_OPEN);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    refused(conf, "app.example.com", "1");

    /* refused by a later plugin: its log proves nothing either way */
    fake_ctx_phase(p, WR_PHASE_LOG);
    fake_set_num(p, WR_KEY_STATUS, 0, 403);
    fake_set_str(p, WR_KEY_ERROR, 0, "forbidden");
    wr_plugin.log(p);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_HALF_OPEN);
    /* its place is free at once, and the slot's cleanup does not free it twice */
    fake_end_stream(p);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    refused(conf, "app.example.com", "1");
    ck_assert_uint_eq(
        wr_cb_find(conf, "app.example.com", wr_cb_hash(conf, "app.example.com"))->inflight, 1);
    finish(p, 200, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    ck_assert_int_eq(fake_log_count(), 3);
    ck_assert_str_eq(fake_log_line(2), "info circuit app.example.com closed");
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* A request this instance refused logs a 503 of its own making: never a
 * failure, even when the log comes after the circuit closed again. */
START_TEST(test_circuit_breaker__own_refusal_not_counted)
{
    wr_cb_conf_t *conf = conf_of("failures: 1\ncooldown: 1s\n");
    wr_ctx_t *r, *p;

    request(conf, "app.example.com", 500, NULL);
    r = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(r), WR_REJECT);
    at(fake_now_us() + SEC);
    p = req(conf, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(p), WR_OK);
    finish(p, 200, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    finish(r, 503, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    ck_assert_int_eq(fake_log_count(), 3);
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* ---- what counts ----------------------------------------------------------- */

START_TEST(test_circuit_breaker__count)
{
    wr_cb_conf_t *conf = conf_of("failures: 2\ncount: [5xx]\n");

    /* warren's own errors are not the service's 5xx */
    request(conf, "app.example.com", 502, "connect: connection refused");
    request(conf, "app.example.com", 502, "connect: connection refused");
    request(conf, "app.example.com", 504, "response timeout");
    request(conf, "app.example.com", 500, "plugin error");
    request(conf, "app.example.com", 404, NULL);
    request(conf, "app.example.com", 499, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    request(conf, "app.example.com", 599, NULL);
    request(conf, "app.example.com", 502, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("failures: 2\ncount: [connect]\n");
    request(conf, "app.example.com", 500, NULL);
    request(conf, "app.example.com", 504, "response timeout");
    request(conf, "app.example.com", 500, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    request(conf, "app.example.com", 502, "connect: connection refused");
    request(conf, "app.example.com", 502, "connect: connection refused");
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("failures: 1\ncount: [timeout]\n");
    request(conf, "app.example.com", 502, "connect: connection refused");
    request(conf, "app.example.com", 503, NULL);
    ck_assert_int_eq(state_of(conf, "app.example.com"), -1);
    request(conf, "app.example.com", 504, "response timeout");
    ck_assert_int_eq(state_of(conf, "app.example.com"), WR_CB_OPEN);
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* TCP streams: keyed "tunnel:port", status 0 is a success, 502/504 with an
 * error a failure; refused in stream_open, without headers. */
START_TEST(test_circuit_breaker__tcp)
{
    wr_cb_conf_t *conf = conf_of("failures: 2\ncooldown: 10s\n");
    uint64_t t0 = fake_now_us();
    wr_ctx_t *c;

    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_OK);
    finish(c, 0, NULL);
    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_OK);
    finish(c, 502, "connect: connection refused");
    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_OK);
    finish(c, 504, "connect: timed out");
    ck_assert_int_eq(fake_log_count(), 1);
    ck_assert_str_eq(fake_log_line(0), "info circuit db:20001 open after 2 failures in 10s");

    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(c), 503);
    ck_assert_str_eq(fake_reject_reason(c), "circuit open");
    ck_assert_ptr_null(wr_header_get(c, WR_RESPONSE, "Retry-After"));
    finish(c, 503, "circuit open");

    /* a probe refused by a later plugin (its status, its reason) proves
     * nothing; one that ran (status 0) closes */
    at(t0 + 10 * SEC);
    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_OK);
    finish(c, 403, "not from this network");
    ck_assert_int_eq(state_of(conf, "db:20001"), WR_CB_HALF_OPEN);
    c = tcp(conf);
    ck_assert_int_eq(wr_plugin.stream_open(c), WR_OK);
    finish(c, 0, "reset by the public client");
    ck_assert_int_eq(state_of(conf, "db:20001"), -1);
    ck_assert_int_eq(fake_log_count(), 3);
    ck_assert_str_eq(fake_log_line(1), "info circuit db:20001 half-open");
    ck_assert_str_eq(fake_log_line(2), "info circuit db:20001 closed");
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* ---- the table ------------------------------------------------------------ */

START_TEST(test_circuit_breaker__bounded)
{
    wr_cb_conf_t *conf = conf_of("failures: 2\n");
    wr_ctx_t *c = req(conf, "");
    char host[64];
    int i;

    /* one ctx for them all: the fake keeps every ctx until fake_reset */
    for (i = 0; i < WR_CB_MAX_KEYS; i++) {
        snprintf(host, sizeof(host), "h%d.example.com", i);
        fake_set_str(c, WR_KEY_HOSTNAME, 0, host);
        fake_ctx_phase(c, WR_PHASE_REQUEST_HEADERS);
        ck_assert_int_eq(wr_plugin.request_headers(c), WR_OK);
        finish(c, 500, NULL);
    }
    ck_assert_uint_eq(conf->table.count, WR_CB_MAX_KEYS);
    /* h0 is used again: h1 is now the least recently used */
    request(conf, "h0.example.com", 500, NULL);
    ck_assert_int_eq(state_of(conf, "h0.example.com"), WR_CB_OPEN);
    ck_assert_uint_eq(atomic_load(&conf->nopen), 1);
    request(conf, "new.example.com", 500, NULL);
    ck_assert_uint_eq(conf->table.count, WR_CB_MAX_KEYS);
    ck_assert_int_eq(state_of(conf, "h1.example.com"), -1);
    ck_assert_int_eq(state_of(conf, "h2.example.com"), WR_CB_CLOSED);
    ck_assert_int_eq(state_of(conf, "new.example.com"), WR_CB_CLOSED);
    ck_assert_int_eq(state_of(conf, "h0.example.com"), WR_CB_OPEN);
    /* h1 starts from scratch: one failure does not open it */
    request(conf, "h1.example.com", 500, NULL);
    ck_assert_int_eq(state_of(conf, "h1.example.com"), WR_CB_CLOSED);
    ck_assert_int_eq(state_of(conf, "h2.example.com"), -1);
    wr_plugin.destroy_conf(conf);
}
END_TEST

/* No key (no hostname, no tunnel): nothing to do. */
START_TEST(test_circuit_breaker__no_key)
{
    wr_cb_conf_t *conf = conf_of("failures: 1\n");
    wr_ctx_t *c;

    request(conf, "app.example.com", 500, NULL);
    c = fake_ctx(WR_PHASE_REQUEST_HEADERS, conf);
    ck_assert_int_eq(wr_plugin.request_headers(c), WR_OK);
    finish(c, 500, NULL);
    ck_assert_uint_eq(conf->table.count, 1);
    wr_plugin.destroy_conf(conf);
}
END_TEST

static Suite *circuit_breaker_suite(void)
{
    Suite *s = suite_create("circuit_breaker");
    TCase *tc = tcase_create("plugins");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_circuit_breaker__config);
    tcase_add_test(tc, test_circuit_breaker__config_errors);
    tcase_add_test(tc, test_circuit_breaker__opens);
    tcase_add_test(tc, test_circuit_breaker__sliding_window);
    tcase_add_test(tc, test_circuit_breaker__half_open_probes);
    tcase_add_test(tc, test_circuit_breaker__probe_fails);
    tcase_add_test(tc, test_circuit_breaker__probe_released);
    tcase_add_test(tc, test_circuit_breaker__own_refusal_not_counted);
    tcase_add_test(tc, test_circuit_breaker__count);
    tcase_add_test(tc, test_circuit_breaker__tcp);
    tcase_add_test(tc, test_circuit_breaker__bounded);
    tcase_add_test(tc, test_circuit_breaker__no_key);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(circuit_breaker_suite)
