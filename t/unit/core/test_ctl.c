/* Unit tests for core/wr_ctl.c: control message codec. */
#include <string.h>

#include "wr_ctl.h"
#include "wr_frame.h"
#include "wr_test.h"

static int roundtrip(const wr_ctl_msg_t *in, wr_ctl_msg_t *out)
{
    struct evbuffer *b = evbuffer_new();
    char why[128] = "";
    int rc;

    ck_assert_int_eq(wr_ctl_encode(b, in), 0);
    rc = wr_ctl_decode(b, out, why, sizeof(why));
    ck_assert_msg(rc == 0, "decode: %s", why);
    ck_assert_uint_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
    return rc;
}

static int decode_raw(const uint8_t *p, size_t n, char *why)
{
    wr_ctl_msg_t m;
    size_t used;
    return wr_ctl_decode_mem(p, n, &m, &used, why, 128);
}

START_TEST(test_ctl__hello_roundtrip)
{
    wr_ctl_msg_t in, out;

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_HELLO;
    in.version_min = 1;
    in.version_max = 3;
    in.capabilities = 0x5;
    memcpy(in.token, "s3cret", 6);
    in.token_len = 6;
    memset(in.instance, 0xab, 16);
    strcpy(in.client_name, "laptop 1");
    in.ntunnels = 2;
    strcpy(in.tunnels[0].name, "db");
    in.tunnels[0].type = WR_TUNNEL_TCP;
    in.tunnels[0].port = 20001;
    in.tunnels[0].priority = 1;
    strcpy(in.tunnels[1].name, "web-2.x_y");
    in.tunnels[1].type = WR_TUNNEL_HTTP;
    strcpy(in.tunnels[1].hostname, "App.Example.COM");
    roundtrip(&in, &out);
    ck_assert_int_eq(out.type, WR_CTL_HELLO);
    ck_assert_int_eq(out.version_min, 1);
    ck_assert_int_eq(out.version_max, 3);
    ck_assert_uint_eq(out.capabilities, 5);
    ck_assert_uint_eq(out.token_len, 6);
    ck_assert_int_eq(memcmp(out.token, "s3cret", 6), 0);
    ck_assert_int_eq(memcmp(out.instance, in.instance, 16), 0);
    ck_assert_str_eq(out.client_name, "laptop 1");
    ck_assert_uint_eq(out.ntunnels, 2);
    ck_assert_str_eq(out.tunnels[0].name, "db");
    ck_assert_int_eq(out.tunnels[0].port, 20001);
    ck_assert_int_eq(out.tunnels[0].priority, 1);
    ck_assert_str_eq(out.tunnels[1].name, "web-2.x_y");
    ck_assert_int_eq(out.tunnels[1].type, WR_TUNNEL_HTTP);
    /* hostnames arrive lower-cased, for routing */
    ck_assert_str_eq(out.tunnels[1].hostname, "app.example.com");
    ck_assert_str_eq(out.tunnels[1].subdomain, "");
    in.ntunnels = 1;
    strcpy(in.tunnels[0].subdomain, "my-app");
    roundtrip(&in, &out);
    ck_assert_str_eq(out.tunnels[0].subdomain, "my-app");
}
END_TEST

/* HELLO with one tunnel whose only fields are a name and field tag=val. */
static int decode_tunnel_field(uint8_t tag, const char *val, char *why)
{
    uint8_t m[512];
    size_t n = 4, vl = strlen(val);

    m[0] = WR_CTL_HELLO;
    m[1] = 1;
    memcpy(m + n, (uint8_t[]){1, 4, 0, 1, 0, 1, 0}, 7);
    n += 7;
    m[n++] = 6;
    wr_put_u16(m + n, (uint16_t)(4 + 3 + vl));
    n += 2;
    memcpy(m + n, (uint8_t[]){1, 1, 0, 'w'}, 4);
    n += 4;
    m[n++] = tag;
    wr_put_u16(m + n, (uint16_t)vl);
    n += 2;
    memcpy(m + n, val, vl);
    n += vl;
    wr_put_u16(m + 2, (uint16_t)(n - 4));
    return decode_raw(m, n, why);
}

START_TEST(test_ctl__hostnames)
{
    char why[128], label[70];

    ck_assert_int_eq(decode_tunnel_field(7, "a.b-c.example", why), 0);
    ck_assert_int_eq(decode_tunnel_field(7, "", why), -1);
    ck_assert_str_eq(why, "hostname of 0 bytes (1..253)");
    ck_assert_int_eq(decode_tunnel_field(7, "a..b", why), -1);
    ck_assert_str_eq(why, "hostname has an empty label");
    ck_assert_int_eq(decode_tunnel_field(7, "a.b.", why), -1);
    ck_assert_str_eq(why, "hostname has an empty label");
    ck_assert_int_eq(decode_tunnel_field(6, "a_b", why), -1);
    ck_assert_str_eq(why, "subdomain has a forbidden byte 0x5f");
    ck_assert_int_eq(decode_tunnel_field(7, "a:80", why), -1);
    ck_assert_str_eq(why, "hostname has a forbidden byte 0x3a");
    memset(label, 'x', 64);
    label[64] = '\0';
    ck_assert_int_eq(decode_tunnel_field(7, label, why), -1);
    ck_assert_str_eq(why, "hostname has a label over 63 bytes");
}
END_TEST

START_TEST(test_ctl__other_roundtrips)
{
    wr_ctl_msg_t in, out;

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_WELCOME;
    in.version = 1;
    in.heartbeat_ms = 5000;
    in.ntunnels = 1;
    strcpy(in.tunnels[0].name, "db");
    in.tunnels[0].port = 20001;
    strcpy(in.tunnels[0].address, "0.0.0.0:20001");
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.heartbeat_ms, 5000);
    ck_assert_str_eq(out.tunnels[0].address, "0.0.0.0:20001");

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_REFUSE;
    in.code = WR_REFUSE_PORT_DENIED;
    in.retry_after_ms = 0;
    strcpy(in.text, "port 80 is outside 20000-20100");
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.code, WR_REFUSE_PORT_DENIED);
    ck_assert_str_eq(out.text, "port 80 is outside 20000-20100");

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_HEARTBEAT_ACK;
    in.seq = 0x1122334455667788ULL;
    roundtrip(&in, &out);
    ck_assert(out.seq == 0x1122334455667788ULL);

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_OPEN;
    strcpy(in.tunnel, "db");
    strcpy(in.peer, "[::1]:5555");
    roundtrip(&in, &out);
    ck_assert_str_eq(out.tunnel, "db");
    ck_assert_str_eq(out.peer, "[::1]:5555");
}
END_TEST

/* wr_ctl_encode_open writes what wr_ctl_encode writes for OPEN; a decode
 * clears what the previous message left, bar tunnel entries past ntunnels. */
START_TEST(test_ctl__open_without_msg)
{
    static wr_ctl_msg_t in, out;
    uint8_t buf[WR_CTL_OPEN_MAX];
    struct evbuffer *b = evbuffer_new();
    char why[128] = "";
    int n;

    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_OPEN;
    memset(in.tunnel, 't', WR_CTL_NAME_MAX - 1);
    memset(in.peer, 'p', WR_CTL_TEXT_MAX - 1);
    ck_assert_int_eq(wr_ctl_encode(b, &in), 0);
    n = wr_ctl_encode_open(buf, sizeof(buf), in.tunnel, in.peer);
    ck_assert_int_eq(n, (int)evbuffer_get_length(b));
    ck_assert_mem_eq(buf, evbuffer_pullup(b, -1), (size_t)n);
    ck_assert_int_eq(wr_ctl_encode_open(buf, (size_t)n - 1, in.tunnel, in.peer), -1);
    ck_assert_int_eq(wr_ctl_encode_open(buf, 3, "", ""), -1);

    memset(&out, 0, sizeof(out));
    out.type = WR_CTL_WELCOME;
    out.heartbeat_ms = 5000;
    out.ntunnels = 1;
    strcpy(out.tunnels[0].name, "db");
    ck_assert_int_eq(wr_ctl_decode(b, &out, why, sizeof(why)), 0);
    ck_assert_uint_eq(out.type, WR_CTL_OPEN);
    ck_assert_uint_eq(out.heartbeat_ms, 0);
    ck_assert_uint_eq(out.ntunnels, 0);
    ck_assert_str_eq(out.tunnel, in.tunnel);
    ck_assert_str_eq(out.peer, in.peer);
    evbuffer_free(b);
}
END_TEST

START_TEST(test_ctl__partial_and_unknown_fields)
{
    /* OPEN with an unknown field 99 before the known one: skipped. */
    uint8_t m[] = {WR_CTL_OPEN, 1, 11, 0, 99, 3, 0, 'x', 'y', 'z', 13, 2, 0, 'd', 'b'};
    wr_ctl_msg_t out;
    size_t used = 0;
    char why[128];

    for (size_t n = 0; n < sizeof(m); n++)
        ck_assert_int_eq(wr_ctl_decode_mem(m, n, &out, &used, why, sizeof(why)), 1);
    ck_assert_int_eq(wr_ctl_decode_mem(m, sizeof(m), &out, &used, why, sizeof(why)), 0);
    ck_assert_uint_eq(used, sizeof(m));
    ck_assert_str_eq(out.tunnel, "db");
}
END_TEST

START_TEST(test_ctl__malformed)
{
    char why[128];
    uint8_t unknown[] = {42, 1, 0, 0};
    uint8_t version[] = {WR_CTL_OPEN, 9, 0, 0};
    uint8_t past[] = {WR_CTL_OPEN, 1, 4, 0, 13, 200, 0, 'a'};
    uint8_t trunc[] = {WR_CTL_OPEN, 1, 2, 0, 13, 0};
    uint8_t badname[] = {WR_CTL_OPEN, 1, 6, 0, 13, 3, 0, 'a', '/', 'b'};
    uint8_t ctrl[] = {WR_CTL_REFUSE, 1, 5, 0, 11, 2, 0, 'a', '\n'};
    uint8_t noname[] = {WR_CTL_OPEN, 1, 0, 0};
    uint8_t nover[] = {WR_CTL_HELLO, 1, 0, 0};
    uint8_t badlen[] = {WR_CTL_HELLO, 1, 5, 0, 1, 2, 0, 1, 0};
    uint8_t range[] = {WR_CTL_HELLO, 1, 7, 0, 1, 4, 0, 5, 0, 2, 0};
    uint8_t ttype[] = {WR_CTL_WELCOME, 1, 16, 0, 7, 2, 0, 1, 0, 6, 8, 0, 1, 1, 0, 'a', 2, 1, 0, 9};

    ck_assert_int_eq(decode_raw(unknown, sizeof(unknown), why), -1);
    ck_assert_str_eq(why, "unknown control message type 42");
    ck_assert_int_eq(decode_raw(version, sizeof(version), why), -1);
    ck_assert_str_eq(why, "control message version 9 (expected 1)");
    ck_assert_int_eq(decode_raw(past, sizeof(past), why), -1);
    ck_assert_str_eq(why, "field in OPEN runs past the message (200 bytes)");
    ck_assert_int_eq(decode_raw(trunc, sizeof(trunc), why), -1);
    ck_assert_str_eq(why, "truncated field in OPEN (2 bytes left)");
    ck_assert_int_eq(decode_raw(badname, sizeof(badname), why), -1);
    ck_assert_str_eq(why, "tunnel name has a forbidden byte 0x2f");
    ck_assert_int_eq(decode_raw(ctrl, sizeof(ctrl), why), -1);
    ck_assert_str_eq(why, "text has a forbidden byte 0x0a");
    ck_assert_int_eq(decode_raw(noname, sizeof(noname), why), -1);
    ck_assert_str_eq(why, "OPEN without a tunnel name");
    ck_assert_int_eq(decode_raw(nover, sizeof(nover), why), -1);
    ck_assert_str_eq(why, "HELLO without versions");
    ck_assert_int_eq(decode_raw(badlen, sizeof(badlen), why), -1);
    ck_assert_str_eq(why, "versions field of 2 bytes (expected 4)");
    ck_assert_int_eq(decode_raw(range, sizeof(range), why), -1);
    ck_assert_str_eq(why, "empty version range 5..2");
    ck_assert_int_eq(decode_raw(ttype, sizeof(ttype), why), -1);
    ck_assert_str_eq(why, "unknown tunnel type 9");
}
END_TEST

START_TEST(test_ctl__limits)
{
    wr_ctl_msg_t in, out;
    struct evbuffer *b = evbuffer_new();
    uint8_t many[4 + 7 + 65 * 7];
    size_t n = 4;
    char why[128];

    /* a name that fills its buffer does not fit */
    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_OPEN;
    memset(in.tunnel, 'a', sizeof(in.tunnel) - 1);
    ck_assert_int_eq(wr_ctl_encode(b, &in), 0);
    ck_assert_int_eq(wr_ctl_decode(b, &out, why, sizeof(why)), 0);
    /* too many tunnels */
    many[0] = WR_CTL_HELLO;
    many[1] = 1;
    many[n++] = 1; /* versions */
    many[n++] = 4;
    many[n++] = 0;
    many[n++] = 1;
    many[n++] = 0;
    many[n++] = 1;
    many[n++] = 0;
    while (n + 7 <= sizeof(many)) {
        many[n++] = 6;
        many[n++] = 4;
        many[n++] = 0;
        many[n++] = 1;
        many[n++] = 1;
        many[n++] = 0;
        many[n++] = 'x';
    }
    wr_put_u16(many + 2, (uint16_t)(n - 4));
    ck_assert_int_eq(decode_raw(many, n, why), -1);
    ck_assert_str_eq(why, "more than 64 tunnels");
    /* an encoder never produces more than 64 */
    memset(&in, 0, sizeof(in));
    in.type = WR_CTL_HELLO;
    in.ntunnels = WR_CTL_MAX_TUNNELS + 1;
    ck_assert_int_eq(wr_ctl_encode(b, &in), -1);
    evbuffer_free(b);
}
END_TEST

static Suite *ctl_suite(void)
{
    Suite *s = suite_create("ctl");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_ctl__hello_roundtrip);
    tcase_add_test(tc, test_ctl__other_roundtrips);
    tcase_add_test(tc, test_ctl__open_without_msg);
    tcase_add_test(tc, test_ctl__partial_and_unknown_fields);
    tcase_add_test(tc, test_ctl__malformed);
    tcase_add_test(tc, test_ctl__limits);
    tcase_add_test(tc, test_ctl__hostnames);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(ctl_suite)
