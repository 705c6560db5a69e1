/* Unit tests for core/wr_json.c: the JSON writer and reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_json.h"
#include "wr_test.h"

/* What the writer produced, NUL-terminated (freed by the caller). */
static char *take(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

START_TEST(test_json__write_strings)
{
    struct evbuffer *b = evbuffer_new();
    char *s;

    wr_json_str(b, "plain", 5);
    s = take(b);
    ck_assert_str_eq(s, "\"plain\"");
    free(s);
    /* quotes, backslash, controls, and the characters of markup */
    wr_json_str(b, "a\"b\\c\n\t\x01<script>&", 17);
    s = take(b);
    ck_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\t\\u0001\\u003cscript\\u003e\\u0026\"");
    free(s);
    /* valid UTF-8 kept; a stray byte read as Latin-1; a NUL escaped */
    wr_json_str(b, "\xc3\xa9\xff\x00z", 5);
    s = take(b);
    ck_assert_str_eq(s, "\"\xc3\xa9\\u00ff\\u0000z\"");
    free(s);
    /* an overlong form and a surrogate are not UTF-8 */
    wr_json_str(b, "\xc0\xaf\xed\xa0\x80", 5);
    s = take(b);
    ck_assert_str_eq(s, "\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\"");
    free(s);
    wr_json_cstr(b, NULL);
    s = take(b);
    ck_assert_str_eq(s, "null");
    free(s);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_json__base64)
{
    static const char *cases[][2] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
                                     {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"foobar", "Zm9vYmFy"}};
    struct evbuffer *b = evbuffer_new();
    unsigned char dec[64], big[10000];
    char *s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char enc[64], want[64];
        long n;
        wr_base64_encode(enc, cases[i][0], strlen(cases[i][0]));
        ck_assert_str_eq(enc, cases[i][1]);
        n = wr_base64_decode(dec, cases[i][1], strlen(cases[i][1]));
        ck_assert_int_eq(n, (long)strlen(cases[i][0]));
        ck_assert_int_eq(memcmp(dec, cases[i][0], (size_t)n), 0);
        wr_json_base64(b, cases[i][0], strlen(cases[i][0]));
        s = take(b);
        snprintf(want, sizeof(want), "\"%s\"", cases[i][1]);
        ck_assert_str_eq(s, want);
        free(s);
    }
    ck_assert_int_eq(wr_base64_decode(dec, "Zm9v!", 5), -1);
    ck_assert_int_eq(wr_base64_decode(dec, "Z", 1), -1);
    ck_assert_int_eq(wr_base64_decode(dec, "Zm9vYg", 6), 4); /* padding optional */
    /* a long input crosses the writer's internal blocks */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 31 + 7);
    wr_json_base64(b, big, sizeof(big));
    s = take(b);
    {
        size_t n = strlen(s);
        unsigned char *back = malloc(n);
        ck_assert_uint_eq(n, 2 + 4 * ((sizeof(big) + 2) / 3));
        ck_assert_int_eq(wr_base64_decode(back, s + 1, n - 2), (long)sizeof(big));
        ck_assert_int_eq(memcmp(back, big, sizeof(big)), 0);
        free(back);
    }
    free(s);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_json__is_text)
{
    ck_assert_int_eq(wr_json_is_text("hello\r\n\tworld", 13, 0), 1);
    ck_assert_int_eq(wr_json_is_text("caf\xc3\xa9", 5, 0), 1);
    ck_assert_int_eq(wr_json_is_text("a\0b", 3, 0), 0);
    ck_assert_int_eq(wr_json_is_text("\x89PNG", 4, 0), 0);
    /* a sequence cut by the end of a truncated body */
    ck_assert_int_eq(wr_json_is_text("caf\xc3", 4, 0), 0);
    ck_assert_int_eq(wr_json_is_text("caf\xc3", 4, 1), 1);
}
END_TEST

START_TEST(test_json__parse)
{
    static const char doc[] =
        " {\"method\": \"PUT\", \"n\": -12, \"f\": 1.5e2, \"ok\": true, \"no\": false,"
        " \"nil\": null, \"headers\": [[\"X-A\", \"1\"], [\"X-B\", \"\\u00e9\\ud83d\\ude00\"]],"
        " \"s\": \"a\\u0000b\\n\\\"\", \"method\": \"POST\"} ";
    char why[128];
    wr_json_t *j = wr_json_parse(doc, sizeof(doc) - 1, 8, why, sizeof(why));
    const wr_json_t *h;
    const char *s;
    size_t len;
    int64_t n;

    ck_assert_msg(j != NULL, "parse: %s", why);
    ck_assert_int_eq(wr_json_kind(j), WR_JSON_OBJECT);
    ck_assert_str_eq(wr_json_string(wr_json_get(j, "method"), NULL), "POST"); /* the last one */
    ck_assert_int_eq(wr_json_int(wr_json_get(j, "n"), -100, 100, &n), 0);
    ck_assert_int_eq(n, -12);
    ck_assert_int_eq(wr_json_int(wr_json_get(j, "n"), 0, 100, &n), -1);
    ck_assert_int_eq(wr_json_int(wr_json_get(j, "f"), 0, 1000, &n), -1); /* not an integer */
    ck_assert(wr_json_number(wr_json_get(j, "f")) == 150.0);
    ck_assert_int_eq(wr_json_bool(wr_json_get(j, "ok")), 1);
    ck_assert_int_eq(wr_json_bool(wr_json_get(j, "no")), 0);
    ck_assert_int_eq(wr_json_bool(wr_json_get(j, "nil")), -1);
    ck_assert_int_eq(wr_json_kind(wr_json_get(j, "nil")), WR_JSON_NULL);
    ck_assert_ptr_null(wr_json_get(j, "absent"));
    h = wr_json_get(j, "headers");
    ck_assert_uint_eq(wr_json_len(h), 2);
    ck_assert_str_eq(wr_json_string(wr_json_at(wr_json_at(h, 1), 1), NULL),
                     "\xc3\xa9\xf0\x9f\x98\x80");
    s = wr_json_string(wr_json_get(j, "s"), &len);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(s, "a\0b\n\"", 5), 0);
    ck_assert_str_eq(wr_json_key_at(j, 0), "method");
    ck_assert_uint_eq(wr_json_len(j), 9);
    wr_json_free(j);
}
END_TEST

START_TEST(test_json__refused)
{
    static const char *bad[] = {
        "",         "{",         "{\"a\":1,}",  "[1,]",        "01",  "1.",        "-",
        "\"abc",    "\"a\\qb\"", "\"\\ud800\"", "\"\\udc00\"", "tru", "{} x",      "{\"a\" 1}",
        "\"\x01\"", "\"\xff\"",  "[1 2]",       "{1:2}",       "nul", "[[[[1]]]]",
    };
    char why[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_json_t *j = wr_json_parse(bad[i], strlen(bad[i]), 3, why, sizeof(why));
        ck_assert_msg(j == NULL, "'%s' was accepted", bad[i]);
        ck_assert_msg(why[0] != '\0', "'%s': no reason", bad[i]);
        wr_json_free(j);
    }
    ck_assert_ptr_null(wr_json_parse("[[[1]]]", 7, 2, why, sizeof(why)));
    ck_assert_str_eq(why, "nested deeper than 2 at offset 2");
}
END_TEST

/* One value more than the cap is refused, with the reason; the cap itself
 * parses. Each array holds n zeros: 2n bytes, n + 1 values. */
START_TEST(test_json__node_cap)
{
    size_t n = WR_JSON_MAX_NODES, len = 2 * n + 1;
    char *text = malloc(len + 1), why[128];
    wr_json_t *j;

    ck_assert_ptr_nonnull(text);
    text[0] = '[';
    for (size_t i = 0; i < n; i++) {
        text[1 + 2 * i] = '0';
        text[2 + 2 * i] = i + 1 < n ? ',' : ']';
    }
    text[len] = '\0';
    ck_assert_ptr_null(wr_json_parse(text, len, 2, why, sizeof(why)));
    ck_assert_msg(strstr(why, "more than 65536 values") != NULL, "why: %s", why);
    /* n - 1 zeros: n values with the array, accepted */
    text[2 * n - 2] = ']';
    j = wr_json_parse(text, 2 * n - 1, 2, why, sizeof(why));
    ck_assert_msg(j != NULL, "the cap itself refused: %s", why);
    ck_assert_uint_eq(wr_json_len(j), n - 1);
    wr_json_free(j);
    free(text);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_json__write_strings);
    tcase_add_test(tc, test_json__base64);
    tcase_add_test(tc, test_json__is_text);
    tcase_add_test(tc, test_json__parse);
    tcase_add_test(tc, test_json__node_cap);
    tcase_add_test(tc, test_json__refused);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(json_suite)
