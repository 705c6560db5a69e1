/*
 * wr_frame: encode, decode and validate mux frames (see wr_frame.h).
 */
#include "wr_frame.h"

#include <stdio.h>
#include <string.h>

const char *wr_frame_cmd_name(uint8_t cmd)
{
    static const char *const names[] = {"SYN", "FIN",    "PSH",  "NOP", "UPD",
                                        "RST", "GOAWAY", "PING", "PONG"};
    static const char *const unknown[] = {"cmd9",  "cmd10", "cmd11", "cmd12",
                                          "cmd13", "cmd14", "cmd15"};

    if (cmd < sizeof(names) / sizeof(names[0]))
        return names[cmd];
    if (cmd < 16)
        return unknown[cmd - 9];
    return "cmd>15";
}

const char *wr_rst_reason_name(uint32_t reason)
{
    switch (reason) {
    case WR_RST_CANCEL:
        return "cancelled";
    case WR_RST_REFUSED:
        return "refused";
    case WR_RST_FLOW_CONTROL:
        return "flow control violated";
    case WR_RST_BUDGET:
        return "receive budget exhausted";
    case WR_RST_INTERNAL:
        return "internal error";
    case WR_RST_CONNECT:
        return "connect failed";
    case WR_RST_TIMEOUT:
        return "timed out";
    }
    return "unknown reason";
}

const char *wr_goaway_code_name(uint32_t code)
{
    switch (code) {
    case WR_GOAWAY_NORMAL:
        return "normal";
    case WR_GOAWAY_PROTOCOL:
        return "protocol error";
    case WR_GOAWAY_INTERNAL:
        return "internal error";
    }
    return "unknown code";
}

/* The exact payload length a command must carry, or -1 when it varies. */
static int wr_frame_fixed_len(uint8_t cmd, int extensions)
{
    switch (cmd) {
    case WR_CMD_SYN:
        return extensions ? -1 : 0;
    case WR_CMD_FIN:
    case WR_CMD_NOP:
        return 0;
    case WR_CMD_UPD:
        return WR_UPD_LEN;
    case WR_CMD_RST:
        return WR_RST_LEN;
    case WR_CMD_GOAWAY:
        return WR_GOAWAY_LEN;
    case WR_CMD_PING:
    case WR_CMD_PONG:
        return WR_PING_LEN;
    }
    return -1;
}

int wr_frame_check(const wr_frame_hdr_t *h, int version, int extensions, uint32_t max_frame,
                   char *why, size_t whylen)
{
    int want;

    if (h->version != version) {
        snprintf(why, whylen, "bad version %u (expected %d)", h->version, version);
        return -1;
    }
    if (h->cmd > WR_CMD_PONG || (h->cmd > WR_CMD_UPD && !extensions) ||
        (h->cmd == WR_CMD_UPD && version < 2)) {
        snprintf(why, whylen, "unknown command %u", h->cmd);
        return -1;
    }
    want = wr_frame_fixed_len(h->cmd, extensions);
    if (want >= 0 && h->length != want) {
        snprintf(why, whylen, "bad length %u for %s (expected %d)", h->length,
                 wr_frame_cmd_name(h->cmd), want);
        return -1;
    }
    if (h->cmd == WR_CMD_SYN && extensions && h->length != 0 && h->length != WR_SYN_EXT_LEN) {
        snprintf(why, whylen, "bad length %u for SYN (expected 0 or %d)", h->length,
                 WR_SYN_EXT_LEN);
        return -1;
    }
    if (h->cmd == WR_CMD_PSH && h->length > max_frame) {
        snprintf(why, whylen, "oversize frame: length %u > max frame %u", h->length, max_frame);
        return -1;
    }
    if (h->cmd == WR_CMD_UPD && h->sid == 0 && extensions)
        return 0; /* warren: the session window */
    switch (h->cmd) {
    case WR_CMD_NOP:
    case WR_CMD_GOAWAY:
    case WR_CMD_PING:
    case WR_CMD_PONG:
        break; /* session-level; smux peers put any id on NOP, so do not insist */
    default:
        if (h->sid == 0) {
            snprintf(why, whylen, "%s on stream 0", wr_frame_cmd_name(h->cmd));
            return -1;
        }
    }
    return 0;
}

void wr_preface_encode(uint8_t out[WR_PREFACE_LEN], const wr_preface_t *p)
{
    memcpy(out, WR_PREFACE_MAGIC, 4);
    out[4] = p->version;
    out[5] = p->flags;
    wr_put_u16(out + 6, p->max_frame);
    wr_put_u32(out + 8, p->window);
    wr_put_u32(out + 12, p->session_window);
}

int wr_preface_decode(const uint8_t in[WR_PREFACE_LEN], wr_preface_t *p, char *why, size_t whylen)
{
    if (memcmp(in, WR_PREFACE_MAGIC, 4) != 0) {
        snprintf(why, whylen, "bad preface magic %02x%02x%02x%02x", in[0], in[1], in[2], in[3]);
        return -1;
    }
    p->version = in[4];
    p->flags = in[5];
    p->max_frame = wr_get_u16(in + 6);
    p->window = wr_get_u32(in + 8);
    p->session_window = wr_get_u32(in + 12);
    if (p->version != WR_PREFACE_VERSION) {
        snprintf(why, whylen, "unsupported warren mux version %u (this end speaks %d)", p->version,
                 WR_PREFACE_VERSION);
        return -1;
    }
    if (p->max_frame < 1024) {
        snprintf(why, whylen, "preface max frame %u below the minimum 1024", p->max_frame);
        return -1;
    }
    if (p->window < 1024 || p->window > 0x7fffffffu) {
        snprintf(why, whylen, "preface window %u outside 1024..2^31-1", p->window);
        return -1;
    }
    if (p->session_window < p->window || p->session_window > 0x7fffffffu) {
        snprintf(why, whylen, "preface session window %u outside %u..2^31-1", p->session_window,
                 p->window);
        return -1;
    }
    return 0;
}
