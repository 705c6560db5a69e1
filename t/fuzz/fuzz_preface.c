/*
 * fuzz_preface: wr_preface_decode() on the first 16 bytes of the input and
 * wr_frame_check() on its first 8, decoded as a frame header, for every
 * (smux version, warren extensions) pair and a few max_frame values (one of
 * them taken from the input). Inputs shorter than that are zero-padded.
 *
 * Oracles besides the sanitizers:
 *   - a preface that decodes re-encodes to the same 16 bytes and satisfies
 *     the documented bounds;
 *   - the header round-trips through encode/decode;
 *   - a refusal always comes with a NUL-terminated, non-empty reason, even
 *     in a tiny buffer;
 *   - an accepted frame obeys the rules of wr_frame.h (its version, known
 *     command, fixed payload sizes, PSH within max_frame, stream 0 only for
 *     session-level frames);
 *   - the name functions always return a string.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_fail(const char *what, const uint8_t *bytes, size_t n)
{
    fprintf(stderr, "fuzz_preface: %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", bytes[i]);
    fprintf(stderr, "\n");
    abort();
}

static void fz_check_why(const char *why, size_t whylen, const uint8_t *bytes, size_t n)
{
    if (whylen == 0)
        return;
    if (memchr(why, '\0', whylen) == NULL)
        fz_fail("reason not NUL-terminated", bytes, n);
    if (whylen > 1 && why[0] == '\0')
        fz_fail("empty reason", bytes, n);
}

static void fz_preface(const uint8_t in[WR_PREFACE_LEN])
{
    static const size_t lens[] = {128, 16, 1};
    wr_preface_t p;
    uint8_t out[WR_PREFACE_LEN];
    char why[128];
    int rc = -2;

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        int r;
        memset(why, 'x', sizeof(why));
        memset(&p, 0, sizeof(p));
        r = wr_preface_decode(in, &p, why, lens[i]);
        if (rc != -2 && r != rc)
            fz_fail("preface decode depends on the reason buffer size", in, WR_PREFACE_LEN);
        rc = r;
        if (r != 0)
            fz_check_why(why, lens[i], in, WR_PREFACE_LEN);
    }
    if (rc != 0)
        return;
    if (memcmp(in, WR_PREFACE_MAGIC, 4) != 0 || p.version != WR_PREFACE_VERSION ||
        p.max_frame < 1024 || p.window < 1024 || p.window > 0x7fffffffu ||
        p.session_window < p.window || p.session_window > 0x7fffffffu)
        fz_fail("preface accepted outside its bounds", in, WR_PREFACE_LEN);
    wr_preface_encode(out, &p);
    if (memcmp(out, in, WR_PREFACE_LEN) != 0)
        fz_fail("preface does not round-trip", in, WR_PREFACE_LEN);
}

static int fz_session_level(uint8_t cmd)
{
    return cmd == WR_CMD_NOP || cmd == WR_CMD_GOAWAY || cmd == WR_CMD_PING || cmd == WR_CMD_PONG;
}

static void fz_frame(const uint8_t raw[WR_FRAME_HDR_LEN], uint32_t input_max)
{
    const uint32_t maxes[] = {1024, 65535, input_max};
    wr_frame_hdr_t h;
    uint8_t back[WR_FRAME_HDR_LEN];
    char why[128], tiny[2];

    wr_frame_hdr_decode(raw, &h);
    wr_frame_hdr_encode(back, h.version, h.cmd, h.length, h.sid);
    if (memcmp(back, raw, WR_FRAME_HDR_LEN) != 0)
        fz_fail("frame header does not round-trip", raw, WR_FRAME_HDR_LEN);
    if (wr_frame_cmd_name(h.cmd) == NULL)
        fz_fail("no command name", raw, WR_FRAME_HDR_LEN);

    for (int version = 1; version <= 2; version++) {
        for (int ext = 0; ext <= 1; ext++) {
            for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
                uint32_t max = maxes[i];
                int rc, rc_tiny;

                memset(why, 'x', sizeof(why));
                rc = wr_frame_check(&h, version, ext, max, why, sizeof(why));
                rc_tiny = wr_frame_check(&h, version, ext, max, tiny, sizeof(tiny));
                if (rc != rc_tiny)
                    fz_fail("frame check depends on the reason buffer size", raw, WR_FRAME_HDR_LEN);
                if (rc != 0) {
                    fz_check_why(why, sizeof(why), raw, WR_FRAME_HDR_LEN);
                    fz_check_why(tiny, sizeof(tiny), raw, WR_FRAME_HDR_LEN);
                    continue;
                }
                if (h.version != version)
                    fz_fail("frame of another version accepted", raw, WR_FRAME_HDR_LEN);
                if (h.cmd > (ext ? WR_CMD_PONG : WR_CMD_UPD) ||
                    (h.cmd == WR_CMD_UPD && version < 2))
                    fz_fail("unknown command accepted", raw, WR_FRAME_HDR_LEN);
                switch (h.cmd) {
                case WR_CMD_SYN:
                    if (h.length != 0 && !(ext && h.length == WR_SYN_EXT_LEN))
                        fz_fail("SYN with a bad length accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_FIN:
                case WR_CMD_NOP:
                    if (h.length != 0)
                        fz_fail("FIN/NOP with a payload accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_PSH:
                    if (h.length > max)
                        fz_fail("oversize PSH accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_UPD:
                    if (h.length != WR_UPD_LEN)
                        fz_fail("UPD with a bad length accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_RST:
                    if (h.length != WR_RST_LEN)
                        fz_fail("RST with a bad length accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_GOAWAY:
                    if (h.length != WR_GOAWAY_LEN)
                        fz_fail("GOAWAY with a bad length accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                case WR_CMD_PING:
                case WR_CMD_PONG:
                    if (h.length != WR_PING_LEN)
                        fz_fail("PING/PONG with a bad length accepted", raw, WR_FRAME_HDR_LEN);
                    break;
                }
                if (h.sid == 0 && !fz_session_level(h.cmd) && !(h.cmd == WR_CMD_UPD && ext))
                    fz_fail("stream frame on stream 0 accepted", raw, WR_FRAME_HDR_LEN);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[WR_PREFACE_LEN] = {0};
    uint32_t input_max;

    memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
    fz_preface(buf);
    /* max_frame for the third round: bytes 8..11 (the preface window). */
    input_max = wr_get_u32(buf + 8);
    fz_frame(buf, input_max);
    if (wr_rst_reason_name(wr_get_u32(buf + 4)) == NULL ||
        wr_goaway_code_name(wr_get_u32(buf + 12)) == NULL)
        fz_fail("no reason/code name", buf, sizeof(buf));
    return 0;
}
