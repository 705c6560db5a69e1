/*
 * Unit tests for wr_conf: loading, limits, typed accessors, pure parsers and
 * the schema. Error messages are compared whole, position included, because
 * they are the user interface of this unit.
 */
#include "wr_conf.h"
#include "wr_test.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static wr_conf_t *wr_t_load(const char *text, wr_conf_err_t *err)
{
    memset(err, 0, sizeof(*err));
    return wr_conf_load_string("t.yaml", text, strlen(text), err);
}

/* Load text, which must fail, and return the message. */
static const char *wr_t_load_fail(const char *text, wr_conf_err_t *err)
{
    wr_conf_t *conf = wr_t_load(text, err);
    ck_assert_ptr_null(conf);
    return err->msg;
}

/* The value under key at the root of conf. */
static const wr_conf_node_t *wr_t_get(const wr_conf_t *conf, const char *key)
{
    const wr_conf_node_t *node = wr_conf_map_get(wr_conf_root(conf), key);
    ck_assert_ptr_nonnull(node);
    return node;
}

/* ---- tree ---- */

START_TEST(test_conf__tree_positions)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("name: hello\n"
                                "mux:\n"
                                "  workers: 4\n"
                                "  list: [a, \"b\"]\n",
                                &err);
    ck_assert_ptr_nonnull(conf);
    const wr_conf_node_t *root = wr_conf_root(conf);
    ck_assert_int_eq(wr_conf_node_kind(root), WR_CONF_NODE_MAP);
    ck_assert_uint_eq(wr_conf_map_len(root), 2);
    ck_assert_str_eq(wr_conf_node_scalar(wr_conf_map_key_at(root, 0)), "name");
    ck_assert_str_eq(wr_conf_node_scalar(wr_conf_map_value_at(root, 0)), "hello");
    ck_assert_str_eq(wr_conf_node_scalar(wr_conf_map_key_at(root, 1)), "mux");
    ck_assert_ptr_null(wr_conf_map_key_at(root, 2));
    ck_assert_ptr_null(wr_conf_map_get(root, "nope"));

    const wr_conf_node_t *name = wr_t_get(conf, "name");
    ck_assert_uint_eq(wr_conf_node_line(name), 1);
    ck_assert_uint_eq(wr_conf_node_col(name), 7);
    ck_assert_str_eq(wr_conf_node_file(name), "t.yaml");

    const wr_conf_node_t *mux = wr_t_get(conf, "mux");
    ck_assert_int_eq(wr_conf_node_kind(mux), WR_CONF_NODE_MAP);
    ck_assert_uint_eq(wr_conf_node_line(mux), 3);
    ck_assert_uint_eq(wr_conf_node_col(mux), 3);
    ck_assert_ptr_null(wr_conf_node_scalar(mux));
    ck_assert_uint_eq(wr_conf_seq_len(mux), 0);

    const wr_conf_node_t *list = wr_conf_map_get(mux, "list");
    ck_assert_int_eq(wr_conf_node_kind(list), WR_CONF_NODE_SEQ);
    ck_assert_uint_eq(wr_conf_seq_len(list), 2);
    ck_assert_uint_eq(wr_conf_map_len(list), 0);
    ck_assert_ptr_null(wr_conf_seq_at(list, 2));
    const wr_conf_node_t *b = wr_conf_seq_at(list, 1);
    ck_assert_str_eq(wr_conf_node_scalar(b), "b");
    ck_assert_uint_eq(wr_conf_node_line(b), 4);
    ck_assert_uint_eq(wr_conf_node_col(b), 13);

    char path[64];
    ck_assert_str_eq(wr_conf_node_path(b, path, sizeof(path)), "mux.list[1]");
    ck_assert_str_eq(wr_conf_node_path(root, path, sizeof(path)), "");
    ck_assert_str_eq(wr_conf_node_path(wr_conf_map_key_at(mux, 0), path, sizeof(path)), "mux");
    ck_assert_str_eq(wr_conf_node_path(b, path, 6), "mux.l");
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__nulls)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("a:\nb: ~\nc: null\nd: NULL\ne: \"\"\nf: 'null'\ng: x\n", &err);
    ck_assert_ptr_nonnull(conf);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "a")), 1);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "b")), 1);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "c")), 1);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "d")), 1);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "e")), 0);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "f")), 0);
    ck_assert_int_eq(wr_conf_node_is_null(wr_t_get(conf, "g")), 0);
    ck_assert_int_eq(wr_conf_node_is_null(wr_conf_root(conf)), 0);
    ck_assert_str_eq(wr_conf_node_scalar(wr_t_get(conf, "a")), "");
    wr_conf_free(conf);
}
END_TEST

/* ---- typed accessors ---- */

START_TEST(test_conf__string)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("a: hello\nb: \"yes\"\nc:\nd: {x: 1}\ne: [1]\n"
                                "f: \"q\\\"uo\\nte\"\n",
                                &err);
    ck_assert_ptr_nonnull(conf);
    const char *s = NULL;
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "a"), &s, &err), 0);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "b"), &s, &err), 0);
    ck_assert_str_eq(s, "yes");
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "c"), &s, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:3: 'c' expects a string, got null");
    ck_assert_str_eq(s, "yes");
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "d"), &s, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:4:4: 'd' expects a string, got a map");
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "e"), &s, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:5:4: 'e' expects a string, got a sequence");
    ck_assert_str_eq(err.file, "t.yaml");
    ck_assert_uint_eq(err.line, 5);
    ck_assert_uint_eq(err.col, 4);
    /* User text is escaped in messages. */
    int b;
    ck_assert_int_eq(wr_conf_node_bool(wr_t_get(conf, "f"), &b, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:6:4: 'f' expects a boolean (true/false, yes/no, on/off), "
                              "got \"q\\\"uo\\nte\"");
    /* A NULL err is allowed. */
    ck_assert_int_eq(wr_conf_node_string(wr_t_get(conf, "c"), &s, NULL), -1);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__int)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("a: 4\nb: -5\nc: +7\nworkers: lots\ne: 65\n"
                                "f: 99999999999999999999\ng: 1.5\nh: 0x10\n",
                                &err);
    ck_assert_ptr_nonnull(conf);
    int64_t v = 0;
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "a"), 0, 64, &v, &err), 0);
    ck_assert_int_eq(v, 4);
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "b"), INT64_MIN, INT64_MAX, &v, &err), 0);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "c"), 0, 64, &v, &err), 0);
    ck_assert_int_eq(v, 7);

    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "workers"), 0, 64, &v, &err), -1);
    ck_assert_str_eq(err.msg,
                     "t.yaml:4:10: 'workers' expects an integer from 0 to 64, got \"lots\"");
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "e"), 0, 64, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:5:4: 'e' expects an integer from 0 to 64, got \"65\"");
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "b"), 0, INT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:4: 'b' expects an integer of at least 0, got \"-5\"");
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "e"), INT64_MIN, 10, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:5:4: 'e' expects an integer of at most 10, got \"65\"");
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "f"), INT64_MIN, INT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:6:4: 'f' expects an integer, got \"99999999999999999999\"");
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "g"), 0, 64, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:7:4: 'g' expects an integer from 0 to 64, got \"1.5\"");
    ck_assert_int_eq(wr_conf_node_int(wr_t_get(conf, "h"), 0, 64, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:8:4: 'h' expects an integer from 0 to 64, got \"0x10\"");
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__parse_int64)
{
    int64_t v = 0;
    ck_assert_int_eq(wr_parse_int64("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(wr_parse_int64("9223372036854775807", &v), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(wr_parse_int64("-9223372036854775808", &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(wr_parse_int64("9223372036854775808", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(wr_parse_int64("-9223372036854775809", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(wr_parse_int64("123456789012345678901234", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(wr_parse_int64("", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_int64("-", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_int64(" 1", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_int64("1 ", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_int64("--1", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_int64("99999999999999999999x", &v), WR_PARSE_EINVAL);
}
END_TEST

START_TEST(test_conf__bool)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON", NULL};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off", NULL};
    int v = -1;
    for (int i = 0; yes[i] != NULL; i++) {
        v = -1;
        ck_assert_int_eq(wr_parse_bool(yes[i], &v), 0);
        ck_assert_int_eq(v, 1);
    }
    for (int i = 0; no[i] != NULL; i++) {
        v = -1;
        ck_assert_int_eq(wr_parse_bool(no[i], &v), 0);
        ck_assert_int_eq(v, 0);
    }
    ck_assert_int_eq(wr_parse_bool("1", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_bool("", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_bool("y", &v), WR_PARSE_EINVAL);
    ck_assert_int_eq(wr_parse_bool("truee", &v), WR_PARSE_EINVAL);

    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("a: yes\nb: Off\nc: 1\nd:\n", &err);
    ck_assert_ptr_nonnull(conf);
    ck_assert_int_eq(wr_conf_node_bool(wr_t_get(conf, "a"), &v, &err), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(wr_conf_node_bool(wr_t_get(conf, "b"), &v, &err), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(wr_conf_node_bool(wr_t_get(conf, "c"), &v, &err), -1);
    ck_assert_str_eq(err.msg,
                     "t.yaml:3:4: 'c' expects a boolean (true/false, yes/no, on/off), got \"1\"");
    ck_assert_int_eq(wr_conf_node_bool(wr_t_get(conf, "d"), &v, &err), -1);
    ck_assert_str_eq(err.msg,
                     "t.yaml:4:3: 'd' expects a boolean (true/false, yes/no, on/off), got null");
    ck_assert_int_eq(v, 0);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__parse_size)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"65536", 65536},
        {"64k", 65536},
        {"64K", 65536},
        {"64kb", 65536},
        {"64KB", 65536},
        {"64kB", 65536},
        {"4m", 4194304},
        {"4M", 4194304},
        {"1g", 1073741824},
        {"1G", 1073741824},
        {"1gb", 1073741824},
        {"512b", 512},
        {"512B", 512},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183g", UINT64_MAX - 1073741823},
    };
    static const char *const bad[] = {"",   "k",  "b",    "64kk", "64 k", " 64",  "64k ", "-1",
                                      "+1", "1t", "1.5k", "0x10", "64bb", "64bk", NULL};
    static const char *const big[] = {"18446744073709551616",  "17179869184g",    "16777216t0",
                                      "99999999999999999999k", "17592186044416m", NULL};
    uint64_t v;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = 1234;
        ck_assert_msg(wr_parse_size(ok[i].s, &v) == 0, "%s", ok[i].s);
        ck_assert_msg(v == ok[i].v, "%s -> %llu", ok[i].s, (unsigned long long)v);
    }
    for (size_t i = 0; bad[i] != NULL; i++) {
        v = 1234;
        ck_assert_msg(wr_parse_size(bad[i], &v) == WR_PARSE_EINVAL, "'%s'", bad[i]);
        ck_assert_uint_eq(v, 1234);
    }
    /* "16777216t0" is malformed before it is large. */
    ck_assert_int_eq(wr_parse_size(big[2], &v), WR_PARSE_EINVAL);
    for (size_t i = 0; big[i] != NULL; i++) {
        if (i == 2)
            continue;
        ck_assert_msg(wr_parse_size(big[i], &v) == WR_PARSE_ERANGE, "%s", big[i]);
    }
    ck_assert_uint_eq(v, 1234);
}
END_TEST

START_TEST(test_conf__size)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("a: 64k\nb: lots\nc: 17179869184g\nd: 32m\ne: 1k\nf: 1000\n", &err);
    ck_assert_ptr_nonnull(conf);
    uint64_t v = 0;
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "a"), 0, UINT64_MAX, &v, &err), 0);
    ck_assert_uint_eq(v, 65536);
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "b"), 0, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:4: 'b' expects a size (a number of bytes with an optional "
                              "k, m or g suffix, e.g. 64k), got \"lots\"");
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "c"), 0, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg,
                     "t.yaml:3:4: 'c' expects a size that fits in 64 bits, got \"17179869184g\"");
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "d"), 4096, 16 << 20, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:4:4: 'd' expects a size from 4k to 16m, got \"32m\"");
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "e"), 4096, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:5:4: 'e' expects a size of at least 4k, got \"1k\"");
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "a"), 0, 1000, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:4: 'a' expects a size of at most 1000, got \"64k\"");
    ck_assert_int_eq(wr_conf_node_size(wr_t_get(conf, "f"), 1000, 1000, &v, &err), 0);
    ck_assert_uint_eq(v, 1000);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__parse_duration)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {
        {"250ms", 250},
        {"30s", 30000},
        {"30S", 30000},
        {"5m", 300000},
        {"1h", 3600000},
        {"0s", 0},
        {"0us", 0},
        {"1us", 1},
        {"999us", 1},
        {"1000us", 1},
        {"1500us", 2},
        {"2000us", 2},
        {"18446744073709551615us", 18446744073709552},
        {"18446744073709551615ms", UINT64_MAX},
        {"5124095576030h", UINT64_C(5124095576030) * 3600000},
        {"307445734561825m", UINT64_C(307445734561825) * 60000},
    };
    static const char *const bad[] = {
        "", "s", "ms", "1.5s", "5d", "5 s", "-1s", "1sec", "1mss", "99999999999999999999x", NULL};
    uint64_t v = 77;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(wr_parse_duration_ms(ok[i].s, &v) == 0, "%s", ok[i].s);
        ck_assert_msg(v == ok[i].ms, "%s -> %llu", ok[i].s, (unsigned long long)v);
    }
    v = 77;
    for (size_t i = 0; bad[i] != NULL; i++)
        ck_assert_msg(wr_parse_duration_ms(bad[i], &v) == WR_PARSE_EINVAL, "'%s'", bad[i]);
    ck_assert_int_eq(wr_parse_duration_ms("30", &v), WR_PARSE_ENOUNIT);
    ck_assert_int_eq(wr_parse_duration_ms("0", &v), WR_PARSE_ENOUNIT);
    ck_assert_int_eq(wr_parse_duration_ms("5124095576031h", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(wr_parse_duration_ms("307445734561826m", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(wr_parse_duration_ms("99999999999999999999ms", &v), WR_PARSE_ERANGE);
    ck_assert_int_eq(wr_parse_duration_ms("99999999999999999999us", &v), WR_PARSE_ERANGE);
    ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_conf__duration)
{
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("timeout: 30\nb: soon\nc: 2h\nd: 1500us\n"
                                "e: 99999999999999999999h\nf: 10ms\n",
                                &err);
    ck_assert_ptr_nonnull(conf);
    uint64_t v = 0;
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "d"), 0, UINT64_MAX, &v, &err), 0);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "timeout"), 0, UINT64_MAX, &v, &err),
                     -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:10: 'timeout' expects a duration with a unit (us, ms, s, "
                              "m or h, e.g. 30s), got \"30\": a unit is required");
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "b"), 0, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:4: 'b' expects a duration (a number with a unit us, ms, s, "
                              "m or h, e.g. 30s), got \"soon\"");
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "c"), 1000, 3600000, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:4: 'c' expects a duration from 1s to 1h, got \"2h\"");
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "f"), 250, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:6:4: 'f' expects a duration of at least 250ms, got \"10ms\"");
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "c"), 0, 90000, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:4: 'c' expects a duration of at most 90s, got \"2h\"");
    ck_assert_int_eq(wr_conf_node_duration_ms(wr_t_get(conf, "e"), 0, UINT64_MAX, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:5:4: 'e' expects a duration that fits in 64 bits of "
                              "milliseconds, got \"99999999999999999999h\"");
    ck_assert_uint_eq(v, 2);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__enum_and_kind)
{
    static const char *const modes[] = {"tcp", "udp", "unix", NULL};
    wr_conf_err_t err;
    wr_conf_t *conf = wr_t_load("mode: udp\nbad: TCP\nm: {}\ns: []\n", &err);
    ck_assert_ptr_nonnull(conf);
    int v = -1;
    ck_assert_int_eq(wr_conf_node_enum(wr_t_get(conf, "mode"), modes, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(wr_conf_node_enum(wr_t_get(conf, "bad"), modes, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:6: 'bad' expects one of: tcp, udp, unix, got \"TCP\"");
    ck_assert_int_eq(wr_conf_node_enum(wr_t_get(conf, "m"), modes, &v, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:4: 'm' expects one of: tcp, udp, unix, got a map");
    ck_assert_int_eq(v, 1);

    ck_assert_int_eq(wr_conf_node_expect(wr_t_get(conf, "m"), WR_CONF_NODE_MAP, &err), 0);
    ck_assert_int_eq(wr_conf_node_expect(wr_t_get(conf, "s"), WR_CONF_NODE_MAP, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:4:4: 's' expects a map, got a sequence");
    ck_assert_int_eq(wr_conf_node_expect(wr_t_get(conf, "mode"), WR_CONF_NODE_SEQ, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:7: 'mode' expects a sequence, got \"udp\"");
    ck_assert_int_eq(wr_conf_node_expect(wr_conf_root(conf), WR_CONF_NODE_SCALAR, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:1: the top level expects a scalar, got a map");

    ck_assert_int_eq(wr_conf_node_error(&err, wr_t_get(conf, "s"), "custom %d", 42), -1);
    ck_assert_str_eq(err.msg, "t.yaml:4:4: custom 42");
    wr_conf_free(conf);
}
END_TEST

/* ---- schema ---- */

typedef struct {
    int64_t workers;
    const char *name;
    int debug;
    uint64_t window, timeout;
    int mode;
    const wr_conf_node_t *listen;
    const wr_conf_node_t *extra;
    struct {
        int64_t streams;
        const char *secret;
        uint64_t keepalive;
    } mux;
    int64_t port; /* filled by a custom handler */
} wr_t_cfg_t;

static const char *const wr_t_modes[] = {"server", "client", NULL};

static int wr_t_port(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *field,
                     wr_conf_err_t *err)
{
    const char *s = wr_conf_node_scalar(node);
    if (s == NULL || strncmp(s, "port-", 5) != 0)
        return wr_conf_node_error(err, node, "'%s' expects port-N", field->key);
    return wr_parse_int64(s + 5, (int64_t *)dst) == 0 ? 0 : -1;
}

static const wr_conf_field_t wr_t_mux_fields[] = {
    {.key = "streams",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_t_cfg_t, mux.streams) - offsetof(wr_t_cfg_t, mux),
     .min = 1,
     .max = 1024},
    {.key = "secret",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_t_cfg_t, mux.secret) - offsetof(wr_t_cfg_t, mux),
     .flags = WR_CONF_REQUIRED},
    {.key = "keepalive",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_t_cfg_t, mux.keepalive) - offsetof(wr_t_cfg_t, mux)},
    {.key = NULL},
};

/* "limits" is a map without a struct of its own: its fields go in the same
 * struct (offset 0). */
static const wr_conf_field_t wr_t_limit_fields[] = {
    {.key = "window",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_t_cfg_t, window),
     .min = 4096,
     .max = 16 << 20},
    {.key = "timeout", .kind = WR_CONF_DURATION, .offset = offsetof(wr_t_cfg_t, timeout)},
    {.key = NULL},
};

static const wr_conf_field_t wr_t_fields[] = {
    {.key = "workers",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_t_cfg_t, workers),
     .min = 0,
     .max = 64},
    {.key = "name",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_t_cfg_t, name),
     .flags = WR_CONF_REQUIRED},
    {.key = "debug", .kind = WR_CONF_BOOL, .offset = offsetof(wr_t_cfg_t, debug)},
    {.key = "mode",
     .kind = WR_CONF_ENUM,
     .offset = offsetof(wr_t_cfg_t, mode),
     .enum_names = wr_t_modes},
    {.key = "limits", .kind = WR_CONF_MAP, .offset = 0, .children = wr_t_limit_fields},
    {.key = "mux",
     .kind = WR_CONF_MAP,
     .offset = offsetof(wr_t_cfg_t, mux),
     .children = wr_t_mux_fields},
    {.key = "listen", .kind = WR_CONF_RAW_SEQ, .offset = offsetof(wr_t_cfg_t, listen)},
    {.key = "extra", .kind = WR_CONF_RAW, .offset = offsetof(wr_t_cfg_t, extra)},
    {.key = "port",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_t_cfg_t, port),
     .handler = wr_t_port},
    {.key = NULL},
};

static void wr_t_defaults(wr_t_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->workers = 8;
    cfg->window = 65536;
    cfg->timeout = 30000;
    cfg->mux.streams = 256;
    cfg->mux.keepalive = 10000;
}

/* Apply wr_t_fields to text, which must load; returns wr_conf_apply's result
 * and leaves the tree in *confp for the caller to free. */
static int wr_t_apply(const char *text, wr_t_cfg_t *cfg, wr_conf_t **confp, wr_conf_err_t *err)
{
    *confp = wr_t_load(text, err);
    ck_assert_ptr_nonnull(*confp);
    wr_t_defaults(cfg);
    return wr_conf_apply(wr_conf_root(*confp), wr_t_fields, cfg, err);
}

START_TEST(test_conf__apply)
{
    wr_conf_err_t err;
    wr_conf_t *conf;
    wr_t_cfg_t cfg;
    ck_assert_int_eq(wr_t_apply("name: edge-1\n"
                                "workers: 4\n"
                                "debug: on\n"
                                "mode: client\n"
                                "limits:\n"
                                "  window: 1m\n"
                                "mux:\n"
                                "  secret: s3cr3t\n"
                                "  keepalive: 1500us\n"
                                "listen: [\"0.0.0.0:80\", \"[::]:80\"]\n"
                                "extra: {anything: [goes]}\n"
                                "port: port-8080\n",
                                &cfg, &conf, &err),
                     0);
    ck_assert_int_eq(cfg.workers, 4);
    ck_assert_str_eq(cfg.name, "edge-1");
    ck_assert_int_eq(cfg.debug, 1);
    ck_assert_int_eq(cfg.mode, 1);
    ck_assert_uint_eq(cfg.window, 1 << 20);
    ck_assert_uint_eq(cfg.timeout, 30000); /* absent: default kept */
    ck_assert_str_eq(cfg.mux.secret, "s3cr3t");
    ck_assert_int_eq(cfg.mux.streams, 256);
    ck_assert_uint_eq(cfg.mux.keepalive, 2);
    ck_assert_ptr_nonnull(cfg.listen);
    ck_assert_uint_eq(wr_conf_seq_len(cfg.listen), 2);
    ck_assert_str_eq(wr_conf_node_scalar(wr_conf_seq_at(cfg.listen, 1)), "[::]:80");
    ck_assert_int_eq(wr_conf_node_kind(cfg.extra), WR_CONF_NODE_MAP);
    ck_assert_int_eq(cfg.port, 8080);
    wr_conf_free(conf);

    /* Only the required keys: every default stays. */
    ck_assert_int_eq(wr_t_apply("name: x\nmux: {secret: y}\n", &cfg, &conf, &err), 0);
    ck_assert_int_eq(cfg.workers, 8);
    ck_assert_uint_eq(cfg.window, 65536);
    ck_assert_ptr_null(cfg.listen);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__apply_errors)
{
    wr_conf_err_t err;
    wr_conf_t *conf;
    wr_t_cfg_t cfg;

    ck_assert_int_eq(wr_t_apply("name: x\nwokers: 4\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:1: unknown key 'wokers' at the top level (expected one of: "
                              "workers, name, debug, mode, limits, mux, listen, extra, port)");
    wr_conf_free(conf);

    ck_assert_int_eq(wr_t_apply("name: x\nmux:\n  secret: y\n  stream: 3\n", &cfg, &conf, &err),
                     -1);
    ck_assert_str_eq(err.msg, "t.yaml:4:3: unknown key 'stream' in 'mux' (expected one of: "
                              "streams, secret, keepalive)");
    wr_conf_free(conf);

    /* A missing required key points at the map that lacks it. */
    ck_assert_int_eq(wr_t_apply("workers: 4\nmux: {secret: y}\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:1: missing required key 'name' at the top level");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nmux:\n  streams: 2\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:3: missing required key 'secret' in 'mux'");
    ck_assert_int_eq(cfg.mux.streams, 2);
    wr_conf_free(conf);
    /* "mux:" with nothing under it is an empty map, still missing its key. */
    ck_assert_int_eq(wr_t_apply("name: x\nmux:\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:5: missing required key 'secret' in 'mux'");
    wr_conf_free(conf);

    ck_assert_int_eq(wr_t_apply("name: x\nmux: [a]\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:6: 'mux' expects a map, got a sequence");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nlisten: {a: b}\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:9: 'listen' expects a sequence, got a map");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("- a\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:1: the top level expects a map, got a sequence");
    wr_conf_free(conf);

    ck_assert_int_eq(wr_t_apply("name: x\nlimits:\n  window: 1k\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:3:11: 'limits.window' expects a size from 4k to 16m, "
                              "got \"1k\"");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nworkers: lots\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:10: 'workers' expects an integer from 0 to 64, got "
                              "\"lots\"");
    ck_assert_int_eq(cfg.workers, 8);
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nmode: both\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:7: 'mode' expects one of: server, client, got \"both\"");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nport: 80\n", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:7: 'port' expects port-N");
    wr_conf_free(conf);
    ck_assert_int_eq(wr_t_apply("name: x\nmux: {secret: y, keepalive: 5}\n", &cfg, &conf, &err),
                     -1);
    ck_assert_str_eq(err.msg, "t.yaml:2:29: 'mux.keepalive' expects a duration with a unit (us, "
                              "ms, s, m or h, e.g. 30s), got \"5\": a unit is required");
    wr_conf_free(conf);
}
END_TEST

/* ---- loading ---- */

START_TEST(test_conf__duplicate_key)
{
    wr_conf_err_t err;
    ck_assert_str_eq(wr_t_load_fail("a: 1\nb: 2\na: 3\n", &err),
                     "t.yaml:3:1: duplicate key 'a' at the top level (first at line 1)");
    ck_assert_str_eq(wr_t_load_fail("m:\n  x: 1\n  y: 2\n  x: 3\n", &err),
                     "t.yaml:4:3: duplicate key 'x' in 'm' (first at line 2)");
    ck_assert_uint_eq(err.line, 4);
    ck_assert_uint_eq(err.col, 3);
    ck_assert_str_eq(wr_t_load_fail("a: 1\n\"a\": 2\n", &err),
                     "t.yaml:2:1: duplicate key 'a' at the top level (first at line 1)");

    /* In a big map, the first repeat in the file is the one reported. */
    char text[20000];
    size_t len = 0;
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "k%d: %d\n", 999 - i, i);
    snprintf(text + len, sizeof(text) - len, "k7: x\nk3: y\n");
    ck_assert_str_eq(wr_t_load_fail(text, &err),
                     "t.yaml:1001:1: duplicate key 'k7' at the top level (first at line 993)");
    /* Same key in different maps is fine. */
    wr_conf_t *conf = wr_t_load("a: {x: 1}\nb: {x: 2}\nc: [x, x]\n", &err);
    ck_assert_ptr_nonnull(conf);
    wr_conf_free(conf);
}
END_TEST

START_TEST(test_conf__alias_refused)
{
    wr_conf_err_t err;
    ck_assert_str_eq(wr_t_load_fail("a: &x 1\nb: *x\n", &err),
                     "t.yaml:1:4: YAML anchors and aliases are not supported (found &x)");
    ck_assert_str_eq(wr_t_load_fail("b: *x\n", &err),
                     "t.yaml:1:4: YAML anchors and aliases are not supported (found *x)");
    ck_assert_str_eq(wr_t_load_fail("base: &b {a: 1}\n", &err),
                     "t.yaml:1:7: YAML anchors and aliases are not supported (found &b)");
    ck_assert_str_eq(wr_t_load_fail("l: &l [1]\n", &err),
                     "t.yaml:1:4: YAML anchors and aliases are not supported (found &l)");
}
END_TEST

START_TEST(test_conf__syntax_error)
{
    wr_conf_err_t err;
    ck_assert_str_eq(wr_t_load_fail("key: value\n  bad: indent\n", &err),
                     "t.yaml:2:6: YAML syntax error: mapping values are not allowed in this "
                     "context");
    ck_assert_str_eq(err.file, "t.yaml");
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.col, 6);
    ck_assert_str_eq(wr_t_load_fail("a: [1, 2\n", &err),
                     "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while "
                     "parsing a flow sequence at line 1, column 4)");
    ck_assert_str_eq(wr_t_load_fail("a: 1\n- b\n", &err),
                     "t.yaml:2:1: YAML syntax error: did not find expected key (while parsing a "
                     "block mapping at line 1, column 1)");
    ck_assert_str_eq(wr_t_load_fail("a: \xff\n", &err),
                     "t.yaml: YAML encoding error: invalid leading UTF-8 octet at byte 3");
    ck_assert_uint_eq(err.line, 0);
    ck_assert_str_eq(wr_t_load_fail("? [a]\n: b\n", &err),
                     "t.yaml:1:3: a map key must be a scalar, not a sequence");
    ck_assert_str_eq(wr_t_load_fail("a: \"x\\0y\"\n", &err),
                     "t.yaml:1:4: a value must not contain a NUL byte");
}
END_TEST

START_TEST(test_conf__file_not_found)
{
    wr_conf_err_t err;
    memset(&err, 0, sizeof(err));
    ck_assert_ptr_null(wr_conf_load("/nonexistent/server.yaml", &err));
    ck_assert_str_eq(err.msg, "/nonexistent/server.yaml: cannot open: No such file or directory");
    ck_assert_str_eq(err.file, "/nonexistent/server.yaml");
    ck_assert_uint_eq(err.line, 0);
    ck_assert_uint_eq(err.col, 0);
    ck_assert_ptr_null(wr_conf_load("/nonexistent/server.yaml", NULL));
    ck_assert_ptr_null(wr_conf_load("/", &err));
    ck_assert_str_eq(err.msg, "/: cannot read: Is a directory");
}
END_TEST

START_TEST(test_conf__empty)
{
    static const char *const empties[] = {"",     "# only a comment\n", "---\n", "--- ~\n",
                                          "\n\n", "---\n...\n",         NULL};
    wr_conf_err_t err;
    for (int i = 0; empties[i] != NULL; i++) {
        wr_conf_t *conf = wr_t_load(empties[i], &err);
        ck_assert_msg(conf != NULL, "'%s': %s", empties[i], err.msg);
        const wr_conf_node_t *root = wr_conf_root(conf);
        ck_assert_int_eq(wr_conf_node_kind(root), WR_CONF_NODE_MAP);
        ck_assert_uint_eq(wr_conf_map_len(root), 0);
        ck_assert_uint_ge(wr_conf_node_line(root), 1);
        ck_assert_uint_ge(wr_conf_node_col(root), 1);
        wr_conf_free(conf);
    }
    /* An empty file with a required key: the error points at 1:1. */
    wr_conf_t *conf;
    wr_t_cfg_t cfg;
    ck_assert_int_eq(wr_t_apply("", &cfg, &conf, &err), -1);
    ck_assert_str_eq(err.msg, "t.yaml:1:1: missing required key 'name' at the top level");
    wr_conf_free(conf);
    wr_conf_free(NULL);
}
END_TEST

START_TEST(test_conf__multi_document)
{
    wr_conf_err_t err;
    ck_assert_str_eq(
        wr_t_load_fail("a: 1\n---\nb: 2\n", &err),
        "t.yaml:2:1: only one YAML document per file is supported (found a second one)");
    ck_assert_str_eq(
        wr_t_load_fail("--- 1\n--- 2\n", &err),
        "t.yaml:2:1: only one YAML document per file is supported (found a second one)");
}
END_TEST

START_TEST(test_conf__depth_limit)
{
    char text[512];
    wr_conf_err_t err;

    /* 64 nested sequences: accepted, and a scalar inside them has a path. */
    memset(text, 0, sizeof(text));
    memset(text, '[', WR_CONF_MAX_DEPTH);
    text[WR_CONF_MAX_DEPTH] = 'x';
    memset(text + WR_CONF_MAX_DEPTH + 1, ']', WR_CONF_MAX_DEPTH);
    wr_conf_t *conf = wr_t_load(text, &err);
    ck_assert_msg(conf != NULL, "%s", err.msg);
    const wr_conf_node_t *n = wr_conf_root(conf);
    for (int i = 0; i < WR_CONF_MAX_DEPTH; i++)
        n = wr_conf_seq_at(n, 0);
    ck_assert_str_eq(wr_conf_node_scalar(n), "x");
    char path[512];
    wr_conf_node_path(n, path, sizeof(path));
    ck_assert_uint_eq(strlen(path), 3 * WR_CONF_MAX_DEPTH);
    wr_conf_free(conf);

    /* 65: refused, at the 65th opening bracket. */
    memset(text, 0, sizeof(text));
    memset(text, '[', WR_CONF_MAX_DEPTH + 1);
    memset(text + WR_CONF_MAX_DEPTH + 1, ']', WR_CONF_MAX_DEPTH + 1);
    ck_assert_str_eq(wr_t_load_fail(text, &err),
                     "t.yaml:1:65: nesting too deep (more than 64 levels of maps and sequences)");
    /* A deep, unterminated stream is refused at the limit too. */
    memset(text, 0, sizeof(text));
    memset(text, '[', 400);
    ck_assert_str_eq(wr_t_load_fail(text, &err),
                     "t.yaml:1:65: nesting too deep (more than 64 levels of maps and sequences)");
    /* Block maps count the same way. */
    char block[4096];
    size_t len = 0;
    for (int i = 0; i < WR_CONF_MAX_DEPTH + 1; i++)
        len += (size_t)snprintf(block + len, sizeof(block) - len, "%*sk:\n", i, "");
    ck_assert_uint_lt(len, sizeof(block));
    ck_assert_ptr_null(wr_t_load(block, &err));
    ck_assert_str_eq(err.msg,
                     "t.yaml:65:65: nesting too deep (more than 64 levels of maps and sequences)");
}
END_TEST

/* Write len bytes of text to a fresh temp file; returns its path (static). */
static const char *wr_t_temp_file(const char *text, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/wr_test_conf_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        ck_assert_int_gt(w, 0);
        off += (size_t)w;
    }
    ck_assert_int_eq(close(fd), 0);
    return path;
}

START_TEST(test_conf__temp_file)
{
    const char *text = "# warren\nworkers: 4\nname: \"edge\"\nmux:\n  secret: k\n";
    const char *path = wr_t_temp_file(text, strlen(text));
    wr_conf_err_t err;
    memset(&err, 0, sizeof(err));
    wr_conf_t *conf = wr_conf_load(path, &err);
    ck_assert_msg(conf != NULL, "%s", err.msg);
    ck_assert_int_eq(unlink(path), 0);

    wr_t_cfg_t cfg;
    wr_t_defaults(&cfg);
    ck_assert_int_eq(wr_conf_apply(wr_conf_root(conf), wr_t_fields, &cfg, &err), 0);
    ck_assert_int_eq(cfg.workers, 4);
    ck_assert_str_eq(cfg.name, "edge");
    const wr_conf_node_t *w = wr_t_get(conf, "workers");
    ck_assert_str_eq(wr_conf_node_file(w), path);
    ck_assert_uint_eq(wr_conf_node_line(w), 2);

    int64_t v;
    char want[256];
    ck_assert_int_eq(wr_conf_node_int(w, 5, 10, &v, &err), -1);
    snprintf(want, sizeof(want), "%s:2:10: 'workers' expects an integer from 5 to 10, got \"4\"",
             path);
    ck_assert_str_eq(err.msg, want);
    wr_conf_free(conf);

    /* A syntax error in a file names the file. */
    path = wr_t_temp_file("a: [\n", 5);
    ck_assert_ptr_null(wr_conf_load(path, &err));
    snprintf(want, sizeof(want),
             "%s:2:1: YAML syntax error: did not find expected node content "
             "(while parsing a flow node at line 2, column 1)",
             path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(unlink(path), 0);
}
END_TEST

START_TEST(test_conf__size_limit)
{
    size_t len = WR_CONF_MAX_SIZE + 1;
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    /* Exactly the limit: a long comment, loads. */
    memset(text, 'x', len);
    text[0] = '#';
    text[WR_CONF_MAX_SIZE - 1] = '\n';
    text[len] = '\0';
    wr_conf_err_t err;
    const char *path = wr_t_temp_file(text, WR_CONF_MAX_SIZE);
    wr_conf_t *conf = wr_conf_load(path, &err);
    ck_assert_msg(conf != NULL, "%s", err.msg);
    wr_conf_free(conf);
    ck_assert_int_eq(unlink(path), 0);

    /* One byte more: refused, from a file and from memory. */
    path = wr_t_temp_file(text, len);
    ck_assert_ptr_null(wr_conf_load(path, &err));
    char want[256];
    snprintf(want, sizeof(want), "%s: too large (more than the limit of 1048576 bytes)", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_ptr_null(wr_conf_load_string("big.yaml", text, len, &err));
    ck_assert_str_eq(err.msg, "big.yaml: too large (1048577 bytes; the limit is 1048576 bytes)");
    free(text);
}
END_TEST

START_TEST(test_conf__not_nul_terminated)
{
    /* load_string reads exactly len bytes. */
    const char text[] = "a: 1\nb: 2";
    wr_conf_err_t err;
    wr_conf_t *conf = wr_conf_load_string("t.yaml", text, 4, &err);
    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(wr_conf_map_len(wr_conf_root(conf)), 1);
    ck_assert_str_eq(wr_conf_node_scalar(wr_t_get(conf, "a")), "1");
    wr_conf_free(conf);
}
END_TEST

static Suite *wr_conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, test_conf__tree_positions);
    tcase_add_test(tc, test_conf__nulls);
    tcase_add_test(tc, test_conf__string);
    tcase_add_test(tc, test_conf__int);
    tcase_add_test(tc, test_conf__parse_int64);
    tcase_add_test(tc, test_conf__bool);
    tcase_add_test(tc, test_conf__parse_size);
    tcase_add_test(tc, test_conf__size);
    tcase_add_test(tc, test_conf__parse_duration);
    tcase_add_test(tc, test_conf__duration);
    tcase_add_test(tc, test_conf__enum_and_kind);
    tcase_add_test(tc, test_conf__apply);
    tcase_add_test(tc, test_conf__apply_errors);
    tcase_add_test(tc, test_conf__duplicate_key);
    tcase_add_test(tc, test_conf__alias_refused);
    tcase_add_test(tc, test_conf__syntax_error);
    tcase_add_test(tc, test_conf__file_not_found);
    tcase_add_test(tc, test_conf__empty);
    tcase_add_test(tc, test_conf__multi_document);
    tcase_add_test(tc, test_conf__depth_limit);
    tcase_add_test(tc, test_conf__temp_file);
    tcase_add_test(tc, test_conf__size_limit);
    tcase_add_test(tc, test_conf__not_nul_terminated);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_conf_suite)
