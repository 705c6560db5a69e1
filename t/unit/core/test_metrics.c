/*
 * Unit tests for core/wr_metrics.c: families, labels, dictionaries, shards
 * under threads, and the exact text of the exposition format.
 */
#include "wr_metrics.h"
#include "wr_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const wr_t_codes[] = {"2xx", "5xx", NULL};
static const char *const wr_t_res[] = {"_other", "_none", NULL};

/* The whole rendering as a string (caller frees). */
static char *wr_t_render(const wr_metrics_t *reg)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    ck_assert_ptr_nonnull(b);
    wr_metrics_render(reg, b);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

static wr_metric_t *wr_t_family(wr_metrics_t *reg, const char *name, wr_metric_type_t type,
                                const char *label, const char *const *values,
                                wr_metric_dict_t *dict)
{
    wr_metric_def_t d;

    memset(&d, 0, sizeof(d));
    d.name = name;
    d.help = "help text";
    d.type = type;
    d.labels[0].name = label;
    d.labels[0].values = values;
    d.labels[0].dict = dict;
    return wr_metrics_family(reg, &d);
}

START_TEST(test_metrics__counter_text)
{
    wr_metrics_t *reg = wr_metrics_new(4);
    wr_metric_t *m =
        wr_t_family(reg, "t_requests_total", WR_METRIC_COUNTER, "code", wr_t_codes, NULL);
    char *s;

    ck_assert_ptr_nonnull(m);
    wr_metric_add(m, 0, 0, 3);
    wr_metric_add(m, 1, 0, 1);
    wr_metric_add(m, 0, 0, 2);
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_requests_total help text\n"
                        "# TYPE t_requests_total counter\n"
                        "t_requests_total{code=\"2xx\"} 5\n"
                        "t_requests_total{code=\"5xx\"} 1\n");
    ck_assert_int_eq(wr_metric_value(m, 0, 0), 5);
    ck_assert_int_eq(wr_metric_value(m, 1, 0), 1);
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__no_labels_and_gauges)
{
    wr_metrics_t *reg = wr_metrics_new(2);
    wr_metric_t *c = wr_t_family(reg, "t_up_total", WR_METRIC_COUNTER, NULL, NULL, NULL);
    wr_metric_t *g = wr_t_family(reg, "t_level", WR_METRIC_GAUGE, NULL, NULL, NULL);
    char *s;

    wr_metric_add(c, 0, 0, 7);
    wr_metric_add(c, 0, 0, -5); /* a counter never goes down */
    wr_metric_add(g, 0, 0, 2);
    wr_metric_add(g, 0, 0, -5);
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_up_total help text\n# TYPE t_up_total counter\nt_up_total 7\n"
                        "# HELP t_level help text\n# TYPE t_level gauge\nt_level -3\n");
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__histogram_text)
{
    static const uint64_t bounds[] = {5000, 10000, 1000000};
    wr_metrics_t *reg = wr_metrics_new(3);
    wr_metric_def_t d;
    wr_metric_t *h;
    char *s;

    memset(&d, 0, sizeof(d));
    d.name = "t_duration_seconds";
    d.help = "How long.";
    d.type = WR_METRIC_HISTOGRAM;
    d.labels[0].name = "code";
    d.labels[0].values = wr_t_codes;
    d.bounds = bounds;
    d.nbounds = 3;
    d.divisor = 1000000;
    h = wr_metrics_family(reg, &d);
    ck_assert_ptr_nonnull(h);
    wr_metric_observe(h, 0, 0, 1000);
    wr_metric_observe(h, 0, 0, 5000); /* le: on the bound counts in it */
    wr_metric_observe(h, 0, 0, 7000);
    wr_metric_observe(h, 0, 0, 2000000);
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_duration_seconds How long.\n"
                        "# TYPE t_duration_seconds histogram\n"
                        "t_duration_seconds_bucket{code=\"2xx\",le=\"0.005\"} 2\n"
                        "t_duration_seconds_bucket{code=\"2xx\",le=\"0.01\"} 3\n"
                        "t_duration_seconds_bucket{code=\"2xx\",le=\"1\"} 3\n"
                        "t_duration_seconds_bucket{code=\"2xx\",le=\"+Inf\"} 4\n"
                        "t_duration_seconds_sum{code=\"2xx\"} 2.013\n"
                        "t_duration_seconds_count{code=\"2xx\"} 4\n"
                        "t_duration_seconds_bucket{code=\"5xx\",le=\"0.005\"} 0\n"
                        "t_duration_seconds_bucket{code=\"5xx\",le=\"0.01\"} 0\n"
                        "t_duration_seconds_bucket{code=\"5xx\",le=\"1\"} 0\n"
                        "t_duration_seconds_bucket{code=\"5xx\",le=\"+Inf\"} 0\n"
                        "t_duration_seconds_sum{code=\"5xx\"} 0\n"
                        "t_duration_seconds_count{code=\"5xx\"} 0\n");
    ck_assert_int_eq(wr_metric_value(h, 0, 0), 4);
    ck_assert_uint_eq(wr_metric_sum(h, 0, 0), 2013000);
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__histogram_no_labels)
{
    static const uint64_t bounds[] = {1, 10};
    wr_metrics_t *reg = wr_metrics_new(2);
    wr_metric_def_t d;
    wr_metric_t *h;
    char *s;

    memset(&d, 0, sizeof(d));
    d.name = "t_size_bytes";
    d.help = "Sizes.";
    d.type = WR_METRIC_HISTOGRAM;
    d.bounds = bounds;
    d.nbounds = 2;
    h = wr_metrics_family(reg, &d);
    ck_assert_ptr_nonnull(h);
    wr_metric_observe(h, 0, 0, 10);
    wr_metric_observe(h, 0, 0, 11);
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_size_bytes Sizes.\n# TYPE t_size_bytes histogram\n"
                        "t_size_bytes_bucket{le=\"1\"} 0\n"
                        "t_size_bytes_bucket{le=\"10\"} 1\n"
                        "t_size_bytes_bucket{le=\"+Inf\"} 2\n"
                        "t_size_bytes_sum 21\nt_size_bytes_count 2\n");
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__dictionary_bounded)
{
    wr_metrics_t *reg = wr_metrics_new(2);
    wr_metric_dict_t *d = wr_metrics_dict(reg, 3, wr_t_res);
    wr_metric_t *m;
    char *s;

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(wr_metric_dict_index(d, "a"), 0);
    ck_assert_uint_eq(wr_metric_dict_index(d, "b"), 1);
    ck_assert_uint_eq(wr_metric_dict_index(d, "a"), 0);
    m = wr_t_family(reg, "t_streams_total", WR_METRIC_COUNTER, "tunnel", NULL, d);
    ck_assert_ptr_nonnull(m);
    /* Not interned yet: not rendered. */
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_streams_total help text\n# TYPE t_streams_total counter\n"
                        "t_streams_total{tunnel=\"a\"} 0\nt_streams_total{tunnel=\"b\"} 0\n");
    free(s);
    ck_assert_uint_eq(wr_metric_dict_index(d, "c"), 2);
    /* Full: everything else is the first reserved value. */
    ck_assert_uint_eq(wr_metric_dict_index(d, "d"), 3);
    ck_assert_uint_eq(wr_metric_dict_index(d, "e"), 3);
    ck_assert_uint_eq(wr_metric_dict_count(d), 3);
    ck_assert_uint_eq(wr_metric_dict_reserved(d, 1), 4);
    wr_metric_add(m, 0, 0, 2);
    wr_metric_add(m, wr_metric_dict_index(d, "zzz"), 0, 5);
    wr_metric_add(m, 5, 0, 1); /* out of range: ignored */
    s = wr_t_render(reg);
    /* A reserved value appears where it is not zero. */
    ck_assert_str_eq(s, "# HELP t_streams_total help text\n# TYPE t_streams_total counter\n"
                        "t_streams_total{tunnel=\"a\"} 2\nt_streams_total{tunnel=\"b\"} 0\n"
                        "t_streams_total{tunnel=\"c\"} 0\nt_streams_total{tunnel=\"_other\"} 5\n");
    free(s);
    wr_metric_add(m, wr_metric_dict_reserved(d, 1), 0, 1);
    s = wr_t_render(reg);
    ck_assert_ptr_nonnull(strstr(s, "t_streams_total{tunnel=\"_none\"} 1\n"));
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__two_labels)
{
    wr_metrics_t *reg = wr_metrics_new(2);
    wr_metric_dict_t *d = wr_metrics_dict(reg, 8, wr_t_res);
    wr_metric_def_t def;
    wr_metric_t *m;
    char *s;

    memset(&def, 0, sizeof(def));
    def.name = "t_http_requests_total";
    def.help = "Requests.";
    def.type = WR_METRIC_COUNTER;
    def.labels[0].name = "tunnel";
    def.labels[0].dict = d;
    def.labels[1].name = "code";
    def.labels[1].values = wr_t_codes;
    m = wr_metrics_family(reg, &def);
    ck_assert_ptr_nonnull(m);
    wr_metric_add(m, wr_metric_dict_index(d, "web"), 1, 4);
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_http_requests_total Requests.\n"
                        "# TYPE t_http_requests_total counter\n"
                        "t_http_requests_total{tunnel=\"web\",code=\"2xx\"} 0\n"
                        "t_http_requests_total{tunnel=\"web\",code=\"5xx\"} 4\n");
    free(s);
    wr_metrics_free(reg);
}
END_TEST

START_TEST(test_metrics__escaping)
{
    wr_metrics_t *reg = wr_metrics_new(2);
    wr_metric_dict_t *d = wr_metrics_dict(reg, 4, wr_t_res);
    wr_metric_def_t def;
    char *s;

    memset(&def, 0, sizeof(def));
    def.name = "t_x_total";
    def.help = "a \\ b\nc \"d\"";
    def.type = WR_METRIC_COUNTER;
    def.labels[0].name = "plugin";
    def.labels[0].dict = d;
    ck_assert_ptr_nonnull(wr_metrics_family(reg, &def));
    wr_metric_dict_index(d, "a\"b\\c\nd");
    s = wr_t_render(reg);
    ck_assert_str_eq(s, "# HELP t_x_total a \\\\ b\\nc \"d\"\n# TYPE t_x_total counter\n"
                        "t_x_total{plugin=\"a\\\"b\\\\c\\nd\"} 0\n");
    free(s);
    wr_metrics_free(reg);
}
END_TEST

/* Definitions that break a rule make no family. */
START_TEST(test_metrics__bad_definitions)
{
    static const uint64_t down[] = {10, 5};
    wr_metrics_t *reg = wr_metrics_new(2), *other = wr_metrics_new(2);
    wr_metric_dict_t *od = wr_metrics_dict(other, 2, wr_t_res);
    wr_metric_def_t d;

    ck_assert_ptr_null(wr_t_family(reg, "9lives_total", WR_METRIC_COUNTER, NULL, NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "a-b_total", WR_METRIC_COUNTER, NULL, NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_requests", WR_METRIC_COUNTER, NULL, NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_level_total", WR_METRIC_GAUGE, NULL, NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, "__x", wr_t_codes, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, "x-y", wr_t_codes, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, "x", NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, "x", NULL, od));
    ck_assert_ptr_nonnull(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, NULL, NULL, NULL));
    ck_assert_ptr_null(wr_t_family(reg, "t_a_total", WR_METRIC_COUNTER, NULL, NULL, NULL));
    memset(&d, 0, sizeof(d));
    d.name = "t_h_seconds";
    d.help = "h";
    d.type = WR_METRIC_HISTOGRAM;
    ck_assert_ptr_null(wr_metrics_family(reg, &d)); /* no bounds */
    d.bounds = down;
    d.nbounds = 2;
    ck_assert_ptr_null(wr_metrics_family(reg, &d)); /* not ascending */
    d.nbounds = 1;
    d.divisor = 3;
    ck_assert_ptr_null(wr_metrics_family(reg, &d)); /* not a power of 10 */
    d.divisor = 1000;
    d.labels[0].name = "le";
    d.labels[0].values = wr_t_codes;
    ck_assert_ptr_null(wr_metrics_family(reg, &d));
    d.labels[0].name = NULL;
    d.labels[0].values = NULL;
    d.labels[1].name = "code";
    d.labels[1].values = wr_t_codes;
    ck_assert_ptr_null(wr_metrics_family(reg, &d)); /* a gap before a label */
    d.labels[1].name = NULL;
    d.labels[1].values = NULL;
    d.name = "t_h_count";
    ck_assert_ptr_null(wr_metrics_family(reg, &d));
    d.name = "t_h_seconds";
    ck_assert_ptr_nonnull(wr_metrics_family(reg, &d));
    ck_assert_ptr_null(wr_metrics_dict(reg, 0, wr_t_res));
    ck_assert_ptr_null(wr_metrics_dict(reg, 4, NULL));
    /* Updates of nothing, or of the wrong kind, do nothing. */
    wr_metric_add(NULL, 0, 0, 1);
    wr_metric_observe(NULL, 0, 0, 1);
    ck_assert_int_eq(wr_metric_value(NULL, 0, 0), 0);
    wr_metrics_free(reg);
    wr_metrics_free(other);
    wr_metrics_free(NULL);
}
END_TEST

typedef struct {
    wr_metric_t *c, *g, *h;
} wr_t_shared_t;

#define WR_T_THREADS 12
#define WR_T_ADDS    100000

static void *wr_t_worker(void *arg)
{
    wr_t_shared_t *sh = arg;

    for (int i = 0; i < WR_T_ADDS; i++) {
        wr_metric_add(sh->c, (unsigned)(i & 1), 0, 1);
        wr_metric_add(sh->g, 0, 0, (i & 1) ? -1 : 1);
        wr_metric_observe(sh->h, 0, 0, (uint64_t)(i % 3));
    }
    return NULL;
}

/* More threads than shards: some own one, the rest share the last. Every
 * update is counted. */
START_TEST(test_metrics__threads)
{
    static const uint64_t bounds[] = {0, 1};
    wr_metrics_t *reg = wr_metrics_new(4);
    wr_metric_def_t d;
    wr_t_shared_t sh;
    pthread_t t[WR_T_THREADS];

    sh.c = wr_t_family(reg, "t_n_total", WR_METRIC_COUNTER, "code", wr_t_codes, NULL);
    sh.g = wr_t_family(reg, "t_g", WR_METRIC_GAUGE, NULL, NULL, NULL);
    memset(&d, 0, sizeof(d));
    d.name = "t_h";
    d.help = "h";
    d.type = WR_METRIC_HISTOGRAM;
    d.bounds = bounds;
    d.nbounds = 2;
    sh.h = wr_metrics_family(reg, &d);
    ck_assert_ptr_nonnull(sh.h);
    for (int i = 0; i < WR_T_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, wr_t_worker, &sh), 0);
    for (int i = 0; i < WR_T_THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(wr_metric_value(sh.c, 0, 0), WR_T_THREADS * WR_T_ADDS / 2);
    ck_assert_int_eq(wr_metric_value(sh.c, 1, 0), WR_T_THREADS * WR_T_ADDS / 2);
    ck_assert_int_eq(wr_metric_value(sh.g, 0, 0), 0);
    ck_assert_int_eq(wr_metric_value(sh.h, 0, 0), WR_T_THREADS * WR_T_ADDS);
    /* i % 3 over 0..99999: 33333 ones and 33333 twos per thread */
    ck_assert_uint_eq(wr_metric_sum(sh.h, 0, 0), (uint64_t)WR_T_THREADS * 33333 * 3);
    wr_metrics_free(reg);
}
END_TEST

static Suite *wr_metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_metrics__counter_text);
    tcase_add_test(tc, test_metrics__no_labels_and_gauges);
    tcase_add_test(tc, test_metrics__histogram_text);
    tcase_add_test(tc, test_metrics__histogram_no_labels);
    tcase_add_test(tc, test_metrics__dictionary_bounded);
    tcase_add_test(tc, test_metrics__two_labels);
    tcase_add_test(tc, test_metrics__escaping);
    tcase_add_test(tc, test_metrics__bad_definitions);
    tcase_add_test(tc, test_metrics__threads);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_metrics_suite)
