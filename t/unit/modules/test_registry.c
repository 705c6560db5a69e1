/* Unit tests for modules/wr_registry.c: public names and their owners. */
#include <stdio.h>
#include <string.h>

#include "wr_registry.h"
#include "wr_test.h"

static wr_reg_owner_t owner(uint64_t sid, uint8_t inst, int tunnel)
{
    wr_reg_owner_t o;

    memset(&o, 0, sizeof(o));
    o.sid = sid;
    memset(o.instance, inst, sizeof(o.instance));
    o.tunnel = tunnel;
    return o;
}

START_TEST(test_registry__claim_lookup_release)
{
    wr_reg_owner_t a = owner(1, 0xa, 0), b = owner(2, 0xb, 3), got, holder;

    ck_assert_int_eq(wr_reg_lookup("http:app.example.com", &got), -1);
    ck_assert_int_eq(wr_reg_claim("http:app.example.com", &a, &holder), 0);
    ck_assert_int_eq(wr_reg_lookup("http:app.example.com", &got), 0);
    ck_assert_uint_eq(got.sid, 1);
    /* another session is told who holds it */
    ck_assert_int_eq(wr_reg_claim("http:app.example.com", &b, &holder), -1);
    ck_assert_uint_eq(holder.sid, 1);
    ck_assert_int_eq(holder.instance[0], 0xa);
    /* the holder claiming again just updates */
    a.tunnel = 5;
    ck_assert_int_eq(wr_reg_claim("http:app.example.com", &a, &holder), 0);
    ck_assert_int_eq(wr_reg_lookup("http:app.example.com", &got), 0);
    ck_assert_int_eq(got.tunnel, 5);
    /* only the holder releases */
    wr_reg_release("http:app.example.com", 2);
    ck_assert_int_eq(wr_reg_lookup("http:app.example.com", &got), 0);
    wr_reg_release("http:app.example.com", 1);
    ck_assert_int_eq(wr_reg_lookup("http:app.example.com", &got), -1);
    ck_assert_int_eq(wr_reg_claim("http:app.example.com", &b, &holder), 0);
    ck_assert_uint_eq(wr_reg_count(), 1);
    wr_reg_clear();
    ck_assert_uint_eq(wr_reg_count(), 0);
}
END_TEST

/* Many names: the table grows and every name is still found. */
START_TEST(test_registry__many)
{
    char key[64];
    wr_reg_owner_t o, got, holder;

    for (int i = 0; i < 5000; i++) {
        o = owner((uint64_t)i + 1, 1, i % 64);
        snprintf(key, sizeof(key), "tcp:%d", i);
        ck_assert_int_eq(wr_reg_claim(key, &o, &holder), 0);
    }
    ck_assert_uint_eq(wr_reg_count(), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "tcp:%d", i);
        ck_assert_int_eq(wr_reg_lookup(key, &got), 0);
        ck_assert_uint_eq(got.sid, (uint64_t)i + 1);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "tcp:%d", i);
        wr_reg_release(key, (uint64_t)i + 1);
    }
    ck_assert_uint_eq(wr_reg_count(), 2500);
    ck_assert_int_eq(wr_reg_lookup("tcp:2", &got), -1);
    ck_assert_int_eq(wr_reg_lookup("tcp:3", &got), 0);
    wr_reg_clear();
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("modules");

    tcase_add_test(tc, test_registry__claim_lookup_release);
    tcase_add_test(tc, test_registry__many);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(registry_suite)
