/* Unit tests for core/wr_sched.c: strict priority, round-robin in a class. */
#include "wr_sched.h"
#include "wr_test.h"

typedef struct {
    wr_sched_entry_t e;
    int id;
} item_t;

static int next_id(wr_sched_t *s)
{
    item_t *it = (item_t *)wr_sched_peek(s);
    return it ? it->id : -1;
}

START_TEST(test_sched__strict_priority)
{
    wr_sched_t s;
    item_t low = {.id = 1}, normal = {.id = 2}, high = {.id = 3}, crit = {.id = 4};

    wr_sched_init(&s);
    ck_assert_ptr_null(wr_sched_peek(&s));
    wr_sched_push(&s, &low.e, WR_PRIO_LOW);
    wr_sched_push(&s, &normal.e, WR_PRIO_NORMAL);
    ck_assert_int_eq(next_id(&s), 2);
    wr_sched_push(&s, &high.e, WR_PRIO_HIGH);
    ck_assert_int_eq(next_id(&s), 3);
    wr_sched_push(&s, &crit.e, WR_PRIO_CRITICAL);
    ck_assert_int_eq(next_id(&s), 4);
    wr_sched_remove(&s, &crit.e);
    ck_assert_int_eq(next_id(&s), 3);
    wr_sched_remove(&s, &high.e);
    wr_sched_remove(&s, &normal.e);
    ck_assert_int_eq(next_id(&s), 1);
    wr_sched_remove(&s, &low.e);
    ck_assert_ptr_null(wr_sched_peek(&s));
}
END_TEST

START_TEST(test_sched__round_robin_in_class)
{
    wr_sched_t s;
    item_t it[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    int order[9];

    wr_sched_init(&s);
    for (int i = 0; i < 3; i++)
        wr_sched_push(&s, &it[i].e, WR_PRIO_NORMAL);
    for (int i = 0; i < 9; i++) {
        item_t *head = (item_t *)wr_sched_peek(&s);
        order[i] = head->id;
        wr_sched_rotate(&s, &head->e);
    }
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(order[i], i % 3);
    ck_assert_uint_eq(s.count[WR_PRIO_NORMAL], 3);
}
END_TEST

START_TEST(test_sched__push_twice_and_remove_middle)
{
    wr_sched_t s;
    item_t a = {.id = 1}, b = {.id = 2}, c = {.id = 3};

    wr_sched_init(&s);
    wr_sched_push(&s, &a.e, WR_PRIO_HIGH);
    wr_sched_push(&s, &b.e, WR_PRIO_HIGH);
    wr_sched_push(&s, &c.e, WR_PRIO_HIGH);
    wr_sched_push(&s, &a.e, WR_PRIO_LOW); /* already queued: no-op */
    ck_assert_uint_eq(s.count[WR_PRIO_HIGH], 3);
    ck_assert_uint_eq(s.count[WR_PRIO_LOW], 0);
    wr_sched_remove(&s, &b.e);
    wr_sched_remove(&s, &b.e); /* not queued: no-op */
    ck_assert_int_eq(next_id(&s), 1);
    wr_sched_rotate(&s, &a.e);
    ck_assert_int_eq(next_id(&s), 3);
    wr_sched_rotate(&s, &c.e);
    ck_assert_int_eq(next_id(&s), 1);
    ck_assert_uint_eq(s.count[WR_PRIO_HIGH], 2);
}
END_TEST

START_TEST(test_sched__low_waits_while_high_busy)
{
    wr_sched_t s;
    item_t h1 = {.id = 1}, h2 = {.id = 2}, l = {.id = 9};

    wr_sched_init(&s);
    wr_sched_push(&s, &l.e, WR_PRIO_LOW);
    wr_sched_push(&s, &h1.e, WR_PRIO_HIGH);
    wr_sched_push(&s, &h2.e, WR_PRIO_HIGH);
    for (int i = 0; i < 100; i++) {
        item_t *head = (item_t *)wr_sched_peek(&s);
        ck_assert_int_ne(head->id, 9);
        wr_sched_rotate(&s, &head->e);
    }
    wr_sched_remove(&s, &h1.e);
    wr_sched_remove(&s, &h2.e);
    ck_assert_int_eq(next_id(&s), 9);
}
END_TEST

START_TEST(test_sched__prio_names)
{
    wr_prio_t p;

    ck_assert_int_eq(wr_prio_parse("high", &p), 0);
    ck_assert_int_eq(p, WR_PRIO_HIGH);
    ck_assert_int_eq(wr_prio_parse("urgent", &p), -1);
    ck_assert_str_eq(wr_prio_name(WR_PRIO_LOW), "low");
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sched__strict_priority);
    tcase_add_test(tc, test_sched__round_robin_in_class);
    tcase_add_test(tc, test_sched__push_twice_and_remove_middle);
    tcase_add_test(tc, test_sched__low_waits_while_high_busy);
    tcase_add_test(tc, test_sched__prio_names);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(sched_suite)
