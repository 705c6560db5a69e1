/* Unit tests for core/wr_frame.c: header codec, validation, preface. */
#include <string.h>

#include "wr_frame.h"
#include "wr_test.h"

static int check(uint8_t ver, uint8_t cmd, uint16_t len, uint32_t sid, int version, int ext,
                 char *why)
{
    wr_frame_hdr_t h = {ver, cmd, len, sid};
    return wr_frame_check(&h, version, ext, 65535, why, 128);
}

START_TEST(test_frame__roundtrip_little_endian)
{
    uint8_t b[8];
    wr_frame_hdr_t h;

    wr_frame_hdr_encode(b, 2, WR_CMD_PSH, 0x1234, 0xA1B2C3D4);
    ck_assert_int_eq(b[0], 2);
    ck_assert_int_eq(b[1], 2);
    ck_assert_int_eq(b[2], 0x34); /* length, little-endian, at offset 2 */
    ck_assert_int_eq(b[3], 0x12);
    ck_assert_int_eq(b[4], 0xD4); /* stream id, little-endian, at offset 4 */
    ck_assert_int_eq(b[7], 0xA1);
    wr_frame_hdr_decode(b, &h);
    ck_assert_int_eq(h.version, 2);
    ck_assert_int_eq(h.cmd, WR_CMD_PSH);
    ck_assert_int_eq(h.length, 0x1234);
    ck_assert_uint_eq(h.sid, 0xA1B2C3D4u);
}
END_TEST

START_TEST(test_frame__valid_frames)
{
    char why[128];

    ck_assert_int_eq(check(1, WR_CMD_SYN, 0, 3, 1, 0, why), 0);
    ck_assert_int_eq(check(1, WR_CMD_PSH, 65535, 3, 1, 0, why), 0);
    ck_assert_int_eq(check(1, WR_CMD_NOP, 0, 0, 1, 0, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_UPD, 8, 3, 2, 0, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_SYN, 8, 3, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_SYN, 0, 3, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_RST, 4, 3, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_GOAWAY, 8, 0, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_PING, 8, 0, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_PONG, 8, 0, 2, 1, why), 0);
    ck_assert_int_eq(check(2, WR_CMD_UPD, 8, 0, 2, 1, why), 0); /* session window */
    ck_assert_int_eq(check(2, WR_CMD_UPD, 8, 0, 2, 0, why), -1);
    ck_assert_str_eq(why, "UPD on stream 0");
}
END_TEST

START_TEST(test_frame__bad_version)
{
    char why[128];

    ck_assert_int_eq(check(7, WR_CMD_PSH, 1, 3, 2, 0, why), -1);
    ck_assert_str_eq(why, "bad version 7 (expected 2)");
    ck_assert_int_eq(check(2, WR_CMD_PSH, 1, 3, 1, 0, why), -1);
    ck_assert_str_eq(why, "bad version 2 (expected 1)");
}
END_TEST

START_TEST(test_frame__unknown_command)
{
    char why[128];

    ck_assert_int_eq(check(2, 9, 0, 3, 2, 1, why), -1);
    ck_assert_str_eq(why, "unknown command 9");
    /* extensions are unknown commands to a plain smux session */
    ck_assert_int_eq(check(2, WR_CMD_RST, 4, 3, 2, 0, why), -1);
    ck_assert_str_eq(why, "unknown command 5");
    /* UPD does not exist in version 1 */
    ck_assert_int_eq(check(1, WR_CMD_UPD, 8, 3, 1, 0, why), -1);
    ck_assert_str_eq(why, "unknown command 4");
}
END_TEST

START_TEST(test_frame__wrong_lengths)
{
    char why[128];

    ck_assert_int_eq(check(1, WR_CMD_NOP, 4, 0, 1, 0, why), -1);
    ck_assert_str_eq(why, "bad length 4 for NOP (expected 0)");
    ck_assert_int_eq(check(1, WR_CMD_SYN, 1, 3, 1, 0, why), -1);
    ck_assert_str_eq(why, "bad length 1 for SYN (expected 0)");
    ck_assert_int_eq(check(1, WR_CMD_FIN, 2, 3, 1, 0, why), -1);
    ck_assert_str_eq(why, "bad length 2 for FIN (expected 0)");
    ck_assert_int_eq(check(2, WR_CMD_UPD, 3, 3, 2, 0, why), -1);
    ck_assert_str_eq(why, "bad length 3 for UPD (expected 8)");
    ck_assert_int_eq(check(2, WR_CMD_SYN, 5, 3, 2, 1, why), -1);
    ck_assert_str_eq(why, "bad length 5 for SYN (expected 0 or 8)");
    ck_assert_int_eq(check(2, WR_CMD_RST, 0, 3, 2, 1, why), -1);
    ck_assert_str_eq(why, "bad length 0 for RST (expected 4)");
    ck_assert_int_eq(check(2, WR_CMD_PING, 4, 0, 2, 1, why), -1);
    ck_assert_str_eq(why, "bad length 4 for PING (expected 8)");
}
END_TEST

START_TEST(test_frame__oversize_and_stream_zero)
{
    wr_frame_hdr_t h = {2, WR_CMD_PSH, 20000, 3};
    char why[128];

    ck_assert_int_eq(wr_frame_check(&h, 2, 0, 16384, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "oversize frame: length 20000 > max frame 16384");
    ck_assert_int_eq(check(2, WR_CMD_PSH, 1, 0, 2, 0, why), -1);
    ck_assert_str_eq(why, "PSH on stream 0");
    ck_assert_int_eq(check(2, WR_CMD_SYN, 0, 0, 2, 0, why), -1);
    ck_assert_str_eq(why, "SYN on stream 0");
}
END_TEST

START_TEST(test_frame__preface)
{
    uint8_t b[WR_PREFACE_LEN];
    wr_preface_t in = {WR_PREFACE_VERSION, 0, 32768, 262144, 1 << 24}, out;
    char why[128];

    wr_preface_encode(b, &in);
    ck_assert_int_eq(b[0], 'W'); /* never a smux version byte */
    ck_assert_int_eq(wr_preface_decode(b, &out, why, sizeof(why)), 0);
    ck_assert_int_eq(out.max_frame, 32768);
    ck_assert_uint_eq(out.window, 262144);
    ck_assert_uint_eq(out.session_window, 1 << 24);

    b[4] = 9;
    ck_assert_int_eq(wr_preface_decode(b, &out, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "unsupported warren mux version 9 (this end speaks 1)");
    wr_preface_encode(b, &in);
    b[1] = 'X';
    ck_assert_int_eq(wr_preface_decode(b, &out, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "bad preface magic 57584e58");
    in.window = 10;
    wr_preface_encode(b, &in);
    ck_assert_int_eq(wr_preface_decode(b, &out, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "preface window 10 outside 1024..2^31-1");
    in.window = 65536;
    in.session_window = 4096;
    wr_preface_encode(b, &in);
    ck_assert_int_eq(wr_preface_decode(b, &out, why, sizeof(why)), -1);
    ck_assert_str_eq(why, "preface session window 4096 outside 65536..2^31-1");
}
END_TEST

START_TEST(test_frame__names)
{
    ck_assert_str_eq(wr_frame_cmd_name(WR_CMD_UPD), "UPD");
    ck_assert_str_eq(wr_frame_cmd_name(12), "cmd12");
    ck_assert_str_eq(wr_frame_cmd_name(200), "cmd>15");
    ck_assert_str_eq(wr_rst_reason_name(WR_RST_FLOW_CONTROL), "flow control violated");
    ck_assert_str_eq(wr_goaway_code_name(WR_GOAWAY_PROTOCOL), "protocol error");
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_frame__roundtrip_little_endian);
    tcase_add_test(tc, test_frame__valid_frames);
    tcase_add_test(tc, test_frame__bad_version);
    tcase_add_test(tc, test_frame__unknown_command);
    tcase_add_test(tc, test_frame__wrong_lengths);
    tcase_add_test(tc, test_frame__oversize_and_stream_zero);
    tcase_add_test(tc, test_frame__preface);
    tcase_add_test(tc, test_frame__names);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(frame_suite)
