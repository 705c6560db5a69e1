/*
 * wr_mux: the stream multiplexer. One wr_mux_t is one session over one
 * bufferevent (plain TCP or TLS); it carries many wr_mux_stream_t.
 * docs/protocol.md is the normative description of the wire behaviour.
 *
 * Speaks plain smux v1 and v2 (interoperable with xtaci/smux) and, between
 * two warren ends that exchanged the preface, smux v2 framing plus the
 * extensions RST, GOAWAY and PING/PONG, with the initial window and priority
 * carried in SYN.
 *
 * Threading: a session and its streams belong to the worker whose
 * event_base they were created on; every function here is called on that
 * worker's thread only.
 *
 * Memory: a stream costs its struct plus two evbuffers created on first use;
 * data chains are moved, not copied, between sockets and streams. The sum of
 * all streams' unread input is bounded by the session budget.
 *
 * Callbacks: read/write callbacks may be called from inside the session's
 * socket callbacks; event callbacks (reset, session death) and accept are
 * called from a deferred event. Inside any callback the application may call
 * any function of this API, including wr_mux_stream_close() and
 * wr_mux_free().
 */
#ifndef WR_MUX_H
#define WR_MUX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "wr_sched.h"

typedef struct wr_mux wr_mux_t;
typedef struct wr_mux_stream wr_mux_stream_t;

typedef enum {
    WR_MUX_SMUX1 = 1,  /* plain smux version 1: no per-stream flow control */
    WR_MUX_SMUX2 = 2,  /* plain smux version 2: UPD windows */
    WR_MUX_WARREN = 3, /* warren preface + extensions; a server in this mode
                          also accepts plain smux v1/v2 peers (detected) */
} wr_mux_proto_t;

typedef struct {
    wr_mux_proto_t proto;
    int is_server;                 /* the accepting end (even stream ids) */
    uint32_t max_frame;            /* largest PSH payload sent and accepted (1024..65535) */
    uint32_t stream_window;        /* per-stream receive window (v2/warren) */
    uint64_t session_budget;       /* cap on all streams' unread input, bytes */
    uint32_t max_streams;          /* open streams per session */
    uint32_t accept_backlog;       /* peer-opened streams waiting for accept */
    uint32_t send_buffer;          /* per-stream queued bytes before writers should pause */
    uint32_t ping_interval_ms;     /* PING (warren) or NOP (smux) period; 0 = off */
    uint32_t keepalive_timeout_ms; /* plain smux: silence that kills the session */
    uint32_t output_high;          /* session output bytes above which data waits */
} wr_mux_config_t;

/* Defaults: proto WARREN, client, max_frame 65535, window 256 KiB, budget
 * 16 MiB, 4096 streams, backlog 1024, send buffer 256 KiB, ping 10 s,
 * keepalive timeout 30 s, output high 128 KiB. */
void wr_mux_config_default(wr_mux_config_t *c);

/* Check a config; 0, or -1 with a reason in why. */
int wr_mux_config_check(const wr_mux_config_t *c, char *why, size_t whylen);

typedef struct {
    /* A stream opened by the peer. Return 0 to keep it (set its callbacks
     * with wr_mux_stream_setcb), -1 to refuse it (it is reset). While accept
     * is paused, new streams wait in the backlog. */
    int (*accept)(wr_mux_t *m, wr_mux_stream_t *s, void *arg);
    /* The session has ended (peer closed, protocol error, dead peer...).
     * Every held stream has had its event callback first. Called once; the
     * application then calls wr_mux_free(). */
    void (*closed)(wr_mux_t *m, const char *reason, void *arg);
    /* Optional: the peer sent GOAWAY (warren peers only). */
    void (*goaway)(wr_mux_t *m, uint32_t code, uint32_t drain_ms, void *arg);
} wr_mux_callbacks_t;

/* Stream events for the event callback. */
enum {
    WR_STREAM_RESET = 1, /* reset by the peer or locally by the mux, or the
                            session died: the stream is dead, close it */
};

typedef void (*wr_stream_data_cb)(wr_mux_stream_t *s, void *arg);
typedef void (*wr_stream_event_cb)(wr_mux_stream_t *s, int event, void *arg);

/*
 * Create a session over bev, which it takes ownership of (freed by
 * wr_mux_free, even on failure here). bev must be connected and on base;
 * for a client in WARREN mode the preface is sent at once. Returns NULL on
 * bad config or out of memory.
 */
wr_mux_t *wr_mux_new(struct event_base *base, struct bufferevent *bev, const wr_mux_config_t *cfg,
                     const wr_mux_callbacks_t *cbs, void *arg);

/* End the session at once: held streams get WR_STREAM_RESET (from inside
 * this call), the socket is closed, memory freed. The closed callback is not
 * called. Safe inside any callback. */
void wr_mux_free(wr_mux_t *m);

/* Close gracefully: after all queued output is written. The closed callback
 * follows with reason "closed locally". */
void wr_mux_close(wr_mux_t *m, const char *reason);

/* Tell the peer we are going away (GOAWAY for warren peers; nothing on the
 * wire for smux ones) and stop opening or accepting streams. */
int wr_mux_goaway(wr_mux_t *m, uint32_t code, uint32_t drain_ms);

/* Pause (1) or resume (0) accepting: while paused, peer-opened streams wait
 * in the backlog; when it is full they are reset. */
void wr_mux_accept_pause(wr_mux_t *m, int paused);

/* Open a stream with a send priority. NULL if the session is closing, at its
 * stream limit, or out of stream ids (the session then goes away). */
wr_mux_stream_t *wr_mux_stream_open(wr_mux_t *m, wr_prio_t prio);

/* Which protocol the session speaks: WR_MUX_SMUX1, _SMUX2 or _WARREN; 0
 * while a server still waits for the peer's first bytes. */
int wr_mux_proto(const wr_mux_t *m);
const char *wr_mux_proto_name(int proto);
uint32_t wr_mux_id(const wr_mux_t *m); /* process-unique, for logs */
uint32_t wr_mux_stream_count(const wr_mux_t *m);
int64_t wr_mux_rtt_us(const wr_mux_t *m);    /* last PING round trip; -1 if none */
uint64_t wr_mux_buffered(const wr_mux_t *m); /* unread input of all streams */
struct bufferevent *wr_mux_bufferevent(wr_mux_t *m);
/* PSH payload bytes received and sent on the session so far. */
void wr_mux_payload(const wr_mux_t *m, uint64_t *rx, uint64_t *tx);

/* --- streams ----------------------------------------------------------- */

/* Set the callbacks: read (data or EOF to read), write (the send queue went
 * below half of send_buffer after being full), event (WR_STREAM_RESET). */
void wr_mux_stream_setcb(wr_mux_stream_t *s, wr_stream_data_cb read, wr_stream_data_cb write,
                         wr_stream_event_cb event, void *arg);

uint32_t wr_mux_stream_id(const wr_mux_stream_t *s);
wr_mux_t *wr_mux_stream_session(const wr_mux_stream_t *s); /* NULL once detached */
wr_prio_t wr_mux_stream_prio(const wr_mux_stream_t *s);
/* The stream carries a public connection or request of tunnel `tunnel`, a
 * wr_stats tunnel label: it counts in warren_streams_*{tunnel} while it
 * lives, and its payload in warren_tunnel_*_bytes_total{tunnel}. Once per
 * stream (later calls are ignored); streams without one (the control
 * stream) are not counted by tunnel. */
void wr_mux_stream_set_tunnel(wr_mux_stream_t *s, unsigned tunnel);
void wr_mux_stream_set_prio(wr_mux_stream_t *s, wr_prio_t prio);

/* Bytes received and not yet read. */
size_t wr_mux_stream_readable(const wr_mux_stream_t *s);

/* Move up to max bytes (SIZE_MAX: all) of received data into dst, by chain
 * moves where whole chains fit. Credits the window (UPD when due). Returns
 * the number of bytes moved. */
size_t wr_mux_stream_read(wr_mux_stream_t *s, struct evbuffer *dst, size_t max);

/* 1 when the peer sent FIN and every byte before it has been read. */
int wr_mux_stream_eof(const wr_mux_stream_t *s);

/* 1 once the stream is dead (reset or session gone). */
int wr_mux_stream_dead(const wr_mux_stream_t *s);

/* Once dead: the WR_RST_* reason, the peer's when it reset the stream
 * (WR_RST_CANCEL from a plain smux peer, which has no reasons). */
uint32_t wr_mux_stream_reset_reason(const wr_mux_stream_t *s);

/* Queue all of src (moved, src is left empty) / a copy of data. Sent as
 * window and priority allow. -1 if the stream is dead or shut down for
 * writing. Writers should pause while wr_mux_stream_write_full() is true. */
int wr_mux_stream_write_buffer(wr_mux_stream_t *s, struct evbuffer *src);
int wr_mux_stream_write(wr_mux_stream_t *s, const void *data, size_t len);
size_t wr_mux_stream_queued(const wr_mux_stream_t *s);
int wr_mux_stream_write_full(const wr_mux_stream_t *s);

/* Half-close: FIN after everything queued. */
int wr_mux_stream_shutdown(wr_mux_stream_t *s);

/* Abort: RST(reason) to a warren peer, FIN to a smux one; queued data is
 * dropped. The handle stays valid (dead) until closed. */
void wr_mux_stream_reset(wr_mux_stream_t *s, uint32_t reason);

/* Give the handle back. Queued data is still sent, then FIN; input not read
 * is dropped. The handle must not be used afterwards. */
void wr_mux_stream_close(wr_mux_stream_t *s);

#endif
