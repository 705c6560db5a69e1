/*
 * Unit tests for core/wr_trace.c: which traceparent values are valid, and
 * the ones warren makes.
 */
#include "wr_test.h"
#include "wr_trace.h"

#include <string.h>

static int wr_t_valid(const char *s)
{
    return wr_trace_valid(s, strlen(s));
}

START_TEST(test_trace__valid)
{
    ck_assert(wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    ck_assert(wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    ck_assert(wr_t_valid("00-00000000000000000000000000000001-0000000000000001-ff"));
    /* the length is exact: nothing before or after */
    ck_assert(!wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "));
    ck_assert(!wr_t_valid(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    ck_assert(!wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    ck_assert(!wr_t_valid(""));
    ck_assert(!wr_trace_valid(NULL, 0));
    /* only version 00 */
    ck_assert(!wr_t_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    ck_assert(!wr_t_valid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    /* all-zero ids */
    ck_assert(!wr_t_valid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    ck_assert(!wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    /* lower-case hex only, dashes in their places */
    ck_assert(!wr_t_valid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    ck_assert(!wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
    ck_assert(!wr_t_valid("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"));
    ck_assert(!wr_t_valid("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}
END_TEST

START_TEST(test_trace__new)
{
    char a[WR_TRACEPARENT_LEN + 1], b[WR_TRACEPARENT_LEN + 1];

    for (int i = 0; i < 1000; i++) {
        wr_trace_new(a);
        wr_trace_new(b);
        ck_assert_uint_eq(strlen(a), WR_TRACEPARENT_LEN);
        ck_assert(wr_t_valid(a));
        ck_assert(strncmp(a, "00-", 3) == 0);
        ck_assert_str_eq(a + 52, "-01"); /* sampled */
        /* both ids are new each time */
        ck_assert(memcmp(a + 3, b + 3, 32) != 0);
        ck_assert(memcmp(a + 36, b + 36, 16) != 0);
    }
}
END_TEST

static Suite *wr_trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_trace__valid);
    tcase_add_test(tc, test_trace__new);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_trace_suite)
