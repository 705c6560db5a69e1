/*
 * wr_ctl: the tunnel control protocol's messages (docs/protocol.md, part
 * two). They travel on mux streams: the control stream the client opens
 * first (HELLO, WELCOME/REFUSE, HEARTBEAT, NOTICE) and, as the first bytes of
 * every stream the server opens for a public connection, OPEN.
 *
 * A message is a 4-byte header, type u8 | version u8 | length u16 (LE), and
 * `length` bytes of fields; a field is tag u8 | length u16 (LE) | value.
 * Unknown tags are skipped, so either end can add fields; a field that is
 * known but malformed, a string that is not printable, or a count past the
 * limits ends the decoding with a reason.
 *
 * This unit only encodes and decodes, owns no memory and is thread-safe.
 */
#ifndef WR_CTL_H
#define WR_CTL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define WR_CTL_VERSION     1
#define WR_CTL_HDR_LEN     4
#define WR_CTL_MAX_BODY    65535
#define WR_CTL_MAX_TUNNELS 64
#define WR_CTL_NAME_MAX    64  /* tunnel and client names, NUL included */
#define WR_CTL_TEXT_MAX    256 /* reasons, addresses, NUL included */
#define WR_CTL_TOKEN_MAX   256

typedef enum {
    WR_CTL_HELLO = 1,     /* client -> server, first on the control stream */
    WR_CTL_WELCOME = 2,   /* server -> client: the tunnels accepted */
    WR_CTL_REFUSE = 3,    /* server -> client: why not; then the session ends */
    WR_CTL_HEARTBEAT = 4, /* either way; answered with HEARTBEAT_ACK */
    WR_CTL_HEARTBEAT_ACK = 5,
    WR_CTL_NOTICE = 6, /* server -> client: drain, retry later */
    WR_CTL_OPEN = 7,   /* first bytes of a stream for a public connection */
} wr_ctl_type_t;

typedef enum {
    WR_TUNNEL_TCP = 1,
    WR_TUNNEL_HTTP = 2,
} wr_tunnel_type_t;

/* REFUSE codes: what the client prints, and whether retrying can help. */
typedef enum {
    WR_REFUSE_VERSION = 1,     /* no common protocol version: do not retry */
    WR_REFUSE_AUTH = 2,        /* bad or missing token: do not retry */
    WR_REFUSE_PORT_DENIED = 3, /* a port outside the allowed range: do not retry */
    WR_REFUSE_PORT_TAKEN = 4,  /* a port another client holds: retry later */
    WR_REFUSE_BAD_REQUEST = 5, /* malformed or absurd HELLO: do not retry */
    WR_REFUSE_UNAVAILABLE = 6, /* draining or overloaded: retry after retry_after_ms */
} wr_refuse_code_t;

typedef enum {
    WR_NOTICE_DRAIN = 1, /* the server is shutting down: reconnect after retry_after_ms */
} wr_notice_code_t;

typedef struct {
    char name[WR_CTL_NAME_MAX];
    uint8_t type;                  /* wr_tunnel_type_t */
    uint8_t priority;              /* wr_prio_t */
    uint16_t port;                 /* HELLO: requested remote port; WELCOME: the public port */
    char address[WR_CTL_TEXT_MAX]; /* WELCOME: public address, e.g. "0.0.0.0:20001" */
    /* http tunnels: one of the two ("" when unused) */
    char subdomain[WR_CTL_NAME_MAX]; /* "app" -> app.<the server's domain> */
    char hostname[WR_CTL_TEXT_MAX];  /* an exact hostname, "app.example.com" */
} wr_ctl_tunnel_t;

typedef struct {
    uint8_t type; /* wr_ctl_type_t */
    /* HELLO */
    uint16_t version_min, version_max;
    uint32_t capabilities;
    uint8_t token[WR_CTL_TOKEN_MAX];
    size_t token_len;
    uint8_t instance[16]; /* random per client process: reconnects reclaim */
    char client_name[WR_CTL_NAME_MAX];
    /* HELLO (requested) and WELCOME (accepted) */
    wr_ctl_tunnel_t tunnels[WR_CTL_MAX_TUNNELS];
    size_t ntunnels;
    /* WELCOME */
    uint16_t version;
    uint32_t heartbeat_ms;
    /* REFUSE and NOTICE */
    uint32_t code;
    uint32_t retry_after_ms;
    char text[WR_CTL_TEXT_MAX];
    /* HEARTBEAT, HEARTBEAT_ACK */
    uint64_t seq;
    /* OPEN */
    char tunnel[WR_CTL_NAME_MAX];
    char peer[WR_CTL_TEXT_MAX]; /* public client's address, "1.2.3.4:5678" */
} wr_ctl_msg_t;

/* Append msg, encoded, to out. 0, or -1 if it does not fit in one message
 * (too many or too long fields) or out of memory. */
int wr_ctl_encode(struct evbuffer *out, const wr_ctl_msg_t *msg);

/* An OPEN message for tunnel and peer, encoded into buf (cap bytes;
 * WR_CTL_OPEN_MAX always suffice): its length, or -1 when it does not fit.
 * The same bytes as wr_ctl_encode, without a wr_ctl_msg_t, whose tunnel
 * list makes it about 40 KiB to clear: the server sends one per tunneled
 * connection and HTTP request. */
int wr_ctl_encode_open(uint8_t *buf, size_t cap, const char *tunnel, const char *peer);
#define WR_CTL_OPEN_MAX (WR_CTL_HDR_LEN + 6 + 2 * WR_CTL_TEXT_MAX)

/* Decode one message from the front of in. Returns 1 when more bytes are
 * needed (nothing consumed), 0 when *msg holds a message (its bytes are
 * drained from in), -1 on malformed input with a reason in why (nothing is
 * consumed; the caller ends the stream or session). Entries of
 * msg->tunnels past msg->ntunnels are left as they were, not cleared. */
int wr_ctl_decode(struct evbuffer *in, wr_ctl_msg_t *msg, char *why, size_t whylen);

/* Decode from a flat buffer: same results; *used is the message's size. */
int wr_ctl_decode_mem(const uint8_t *buf, size_t len, wr_ctl_msg_t *msg, size_t *used, char *why,
                      size_t whylen);

const char *wr_ctl_type_name(uint8_t type);
const char *wr_refuse_name(uint32_t code);

/* 1 when a client should try again after this refusal. */
int wr_refuse_retryable(uint32_t code);

#endif
