/*
 * wr_frame: the mux wire format (docs/protocol.md is the normative text).
 *
 * Every frame starts with the 8-byte smux header, little-endian:
 *
 *   0        1        2                 4                                 8
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *   |version |  cmd   |   length (u16)  |          stream id (u32)          |
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *
 * followed by `length` payload bytes. SYN, FIN, PSH, NOP and UPD are smux's;
 * RST, GOAWAY, PING and PONG are warren extensions, valid only on a session
 * whose two ends exchanged the warren preface (WR_PREFACE_LEN bytes, first
 * byte 'W', which no smux version uses).
 *
 * This unit only encodes, decodes and validates; it owns no memory and may be
 * used from any thread.
 */
#ifndef WR_FRAME_H
#define WR_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WR_FRAME_HDR_LEN 8
#define WR_FRAME_MAX_LEN 65535

enum {
    WR_CMD_SYN = 0,
    WR_CMD_FIN = 1,
    WR_CMD_PSH = 2,
    WR_CMD_NOP = 3,
    WR_CMD_UPD = 4, /* smux v2 */
    WR_CMD_RST = 5, /* warren extensions from here on */
    WR_CMD_GOAWAY = 6,
    WR_CMD_PING = 7,
    WR_CMD_PONG = 8,
};

/* Payload sizes of the fixed-size commands. */
#define WR_UPD_LEN     8 /* consumed u32 | window u32 */
#define WR_SYN_EXT_LEN 8 /* warren SYN: window u32 | priority u8 | 3 zero bytes */
#define WR_RST_LEN     4 /* reason u32 */
#define WR_GOAWAY_LEN  8 /* code u32 | drain_ms u32 */
#define WR_PING_LEN    8 /* opaque id, echoed in PONG */

/* Stream reset reasons carried by RST. */
enum {
    WR_RST_CANCEL = 0,       /* the application reset the stream */
    WR_RST_REFUSED = 1,      /* not accepted: backlog full, too many streams, going away */
    WR_RST_FLOW_CONTROL = 2, /* the sender overran the stream window */
    WR_RST_BUDGET = 3,       /* the receiver's session buffer budget is exhausted */
    WR_RST_INTERNAL = 4,     /* out of memory or similar */
    WR_RST_CONNECT = 5,      /* the far end could not be reached */
    WR_RST_TIMEOUT = 6,      /* the far end did not answer in time */
};

/* GOAWAY codes. */
enum {
    WR_GOAWAY_NORMAL = 0,   /* shutting down; drain, then reconnect elsewhere or later */
    WR_GOAWAY_PROTOCOL = 1, /* the peer broke the protocol */
    WR_GOAWAY_INTERNAL = 2, /* local failure */
};

typedef struct {
    uint8_t version;
    uint8_t cmd;
    uint16_t length;
    uint32_t sid;
} wr_frame_hdr_t;

/* Warren preface: "WRNX" | proto u8 | flags u8 | max_frame u16 | window u32 |
 * session_window u32. Sent first by each end of a warren session. */
#define WR_PREFACE_LEN     16
#define WR_PREFACE_MAGIC   "WRNX"
#define WR_PREFACE_VERSION 1

typedef struct {
    uint8_t version;         /* WR_PREFACE_VERSION */
    uint8_t flags;           /* none defined; receivers ignore unknown bits */
    uint16_t max_frame;      /* largest payload this end accepts */
    uint32_t window;         /* this end's initial receive window per stream */
    uint32_t session_window; /* this end's receive window for the whole session
                                (UPD on stream 0 moves it), >= window */
} wr_preface_t;

static inline void wr_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wr_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t wr_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t wr_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void wr_frame_hdr_encode(uint8_t out[WR_FRAME_HDR_LEN], uint8_t version, uint8_t cmd,
                                       uint16_t length, uint32_t sid)
{
    out[0] = version;
    out[1] = cmd;
    wr_put_u16(out + 2, length);
    wr_put_u32(out + 4, sid);
}

static inline void wr_frame_hdr_decode(const uint8_t in[WR_FRAME_HDR_LEN], wr_frame_hdr_t *h)
{
    h->version = in[0];
    h->cmd = in[1];
    h->length = wr_get_u16(in + 2);
    h->sid = wr_get_u32(in + 4);
}

/*
 * Validate a decoded header for a session speaking smux `version` (1 or 2),
 * with warren extensions if `extensions`, that accepts payloads of at most
 * `max_frame` bytes. Returns 0 when the frame is well formed, -1 otherwise
 * with a one-line reason in why (e.g. "bad length 4 for NOP (expected 0)").
 * Stream-level rules (unknown stream, window) are the session's business.
 */
int wr_frame_check(const wr_frame_hdr_t *h, int version, int extensions, uint32_t max_frame,
                   char *why, size_t whylen);

/* Name of a command for logs: "SYN", ..., or "cmd<N>". Static storage. */
const char *wr_frame_cmd_name(uint8_t cmd);

/* Name of a RST reason / GOAWAY code for logs. Static storage. */
const char *wr_rst_reason_name(uint32_t reason);
const char *wr_goaway_code_name(uint32_t code);

void wr_preface_encode(uint8_t out[WR_PREFACE_LEN], const wr_preface_t *p);

/* Decode and validate a preface. 0, or -1 with a reason in why. */
int wr_preface_decode(const uint8_t in[WR_PREFACE_LEN], wr_preface_t *p, char *why, size_t whylen);

#endif
