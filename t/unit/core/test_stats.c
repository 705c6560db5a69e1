/*
 * Unit tests for core/wr_stats.c: warren's families on each side, the
 * bound on tunnel names, HTTP status classes, and the process_* series.
 */
#include "wr_stats.h"
#include "wr_test.h"

#include <stdio.h>
#include <string.h>

#include <warren/plugin.h>

#include "wr_version.h"

static char *wr_t_render(void)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    wr_stats_render(b);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

/* Before init (warren -t, unit tests of other units): updates do nothing,
 * and the rendering still has the process and build series. */
START_TEST(test_stats__uninitialised)
{
    char *s;

    wr_metric_add(wr_stats.sessions_total, 0, 0, 1);
    wr_stats_http(wr_stats_tunnel("web"), 200, 1000);
    ck_assert_uint_eq(wr_stats_tunnel("web"), 0);
    s = wr_t_render();
    ck_assert_ptr_null(strstr(s, "warren_sessions_total"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_build_info{version=\"" WR_VERSION "\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nprocess_start_time_seconds "));
    free(s);
}
END_TEST

START_TEST(test_stats__server)
{
    char *s, line[128];
    unsigned web, api;

    ck_assert_int_eq(wr_stats_init(WR_STATS_SERVER, 4), 0);
    web = wr_stats_tunnel("web");
    api = wr_stats_tunnel("api");
    ck_assert_uint_ne(web, api);
    ck_assert_uint_eq(wr_stats_tunnel("web"), web);
    wr_stats_http(web, 200, 1500);
    wr_stats_http(web, 204, 1500);
    wr_stats_http(web, 503, 2000000);
    wr_stats_http(web, 0, 10); /* nothing was sent: not counted */
    wr_stats_http(web, 700, 10);
    wr_stats_http(wr_stats_no_tunnel(), 404, 10);
    ck_assert_int_eq(wr_metric_value(wr_stats.http_requests, web, 1), 2);
    ck_assert_int_eq(wr_metric_value(wr_stats.http_requests, web, 4), 1);
    ck_assert_int_eq(wr_metric_value(wr_stats.http_duration, web, 0), 3);
    wr_metric_add(wr_stats.plugin_verdicts, wr_stats_plugin("rl"), wr_stats_verdict(WR_REJECT), 1);
    s = wr_t_render();
    ck_assert_ptr_nonnull(
        strstr(s, "\nwarren_http_requests_total{tunnel=\"web\",code=\"2xx\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "\nwarren_http_requests_total{tunnel=\"api\",code=\"5xx\"} 0\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "\nwarren_http_requests_total{tunnel=\"_none\",code=\"4xx\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        s, "\nwarren_http_request_duration_seconds_bucket{tunnel=\"web\",le=\"0.005\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "\nwarren_http_request_duration_seconds_sum{tunnel=\"web\"} 2.003\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "\nwarren_plugin_verdicts_total{plugin=\"rl\",verdict=\"reject\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_handshake_failures_total{reason=\"auth\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_mux_frames_sent_total{type=\"psh\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(s, "\n# TYPE process_resident_memory_bytes gauge\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nprocess_open_fds "));
    /* client-only families are not there */
    ck_assert_ptr_null(strstr(s, "warren_client_"));
    free(s);
    /* A bounded label: past WR_STATS_TUNNELS names, "_other". */
    for (int i = 0; i < WR_STATS_TUNNELS + 10; i++) {
        snprintf(line, sizeof(line), "t%d", i);
        wr_stats_tunnel(line);
    }
    ck_assert_uint_eq(wr_stats_tunnel("one-too-many"), WR_STATS_TUNNELS);
    wr_metric_add(wr_stats.streams_opened, wr_stats_tunnel("another"), 0, 3);
    s = wr_t_render();
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_streams_opened_total{tunnel=\"_other\"} 3\n"));
    ck_assert_ptr_null(strstr(s, "tunnel=\"another\""));
    free(s);
    wr_stats_free();
    ck_assert_ptr_null(wr_stats.http_requests);
}
END_TEST

START_TEST(test_stats__client)
{
    char *s;

    ck_assert_int_eq(wr_stats_init(WR_STATS_CLIENT, 1), 0);
    wr_metric_add(wr_stats.client_state, WR_CSTATE_ACTIVE, 0, 1);
    wr_metric_add(wr_stats.client_reconnects, 0, 0, 2);
    wr_metric_add(wr_stats.pool_reused, wr_stats_tunnel("web"), 0, 5);
    s = wr_t_render();
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_client_session_state{state=\"active\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_client_session_state{state=\"waiting\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_client_reconnects_total 2\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_client_pool_reused_total{tunnel=\"web\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nwarren_sessions_active 0\n"));
    free(s);
    wr_stats_free();
}
END_TEST

static Suite *wr_stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_stats__uninitialised);
    tcase_add_test(tc, test_stats__server);
    tcase_add_test(tc, test_stats__client);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_stats_suite)
