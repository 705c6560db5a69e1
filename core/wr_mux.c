/*
 * wr_mux: smux-compatible stream multiplexer with warren extensions.
 * See wr_mux.h for the API contract and docs/protocol.md for the wire rules.
 *
 * Shape of the code:
 *   - wr_mux_read_cb parses every complete frame in the session input and
 *     never stops reading the socket: a slow stream costs only its own window
 *     (or its reset), never the session.
 *   - wr_mux_pump moves queued stream data into the session output, frame by
 *     frame, in priority order, while the output is below output_high. On
 *     a plain socket, writes and reads only arm flush_ev, which pumps once
 *     per loop turn after that turn's callbacks and sends the frames
 *     straight to the socket (wr_bev_send); the bufferevent's write
 *     callback (a backlog written) and wr_mux_close pump directly. Over
 *     TLS it runs at each write and the bufferevent writes the output.
 *     Control frames (UPD, RST, PING...) are written to the output directly,
 *     ahead of any data still queued in streams.
 *   - Callbacks that could re-enter (accept, stream events, write-ready,
 *     session closed) run from one deferred event, on a clean stack.
 *   - m->busy counts the mux's own frames on the stack; wr_mux_free inside a
 *     callback is completed when the outermost frame returns.
 */
#include "wr_mux.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/util.h>

#include "wr_frame.h"
#include "wr_log.h"
#include "wr_net.h"
#include "wr_stats.h"
#include "wr_tls.h"

/* What a plain smux v2 sender assumes about our window before our first UPD
 * (xtaci/smux initialPeerWindow). */
#define WR_SMUX_INITIAL_WINDOW 262144u

/* A frame may split a buffer chain, copying its head, when that head is
 * this small. */
#define WR_FRAME_CUT_COPY 4096

enum {
    WR_MUX_DETECT = 0,   /* server: waiting for the first byte to pick the protocol */
    WR_MUX_WAIT_PREFACE, /* client: warren preface sent, the peer's not yet received */
    WR_MUX_OPEN,
};

struct wr_mux_stream {
    wr_sched_entry_t sched; /* first member: the scheduler hands this back */
    wr_mux_t *m;            /* NULL once detached from a dead session */
    wr_mux_stream_t *hnext; /* hash chain, then teardown list */
    wr_mux_stream_t *qnext; /* accept backlog or deferred-notify list */
    uint32_t id;
    uint8_t prio;
    uint8_t rst_reason;       /* why it died (WR_RST_*, capped at 255) */
    unsigned held : 1;        /* the application holds the handle */
    unsigned in_backlog : 1;  /* waiting for accept */
    unsigned in_notify : 1;   /* on the deferred-notify list */
    unsigned in_teardown : 1; /* being detached by a dying session */
    unsigned pinned : 1;      /* inside a callback: do not free yet */
    unsigned notify_reset : 1;
    unsigned notify_write : 1;
    unsigned fin_queued : 1; /* FIN to go after queued data */
    unsigned fin_sent : 1;
    unsigned fin_recvd : 1;
    unsigned dead : 1;
    unsigned write_full : 1;
    unsigned got_upd : 1;
    struct evbuffer *in;  /* received, not yet read; created on first data */
    struct evbuffer *out; /* queued for sending; created on first write */
    uint16_t tunnel;      /* its wr_stats tunnel label + 1; 0: none */
    uint32_t consumed;    /* bytes read by the application (mod 2^32) */
    uint32_t upd_at;      /* consumed at the last UPD sent */
    uint32_t peer_window;
    uint32_t peer_consumed;
    uint32_t written; /* bytes sent in PSH frames (mod 2^32) */
    wr_stream_data_cb read_cb;
    wr_stream_data_cb write_cb;
    wr_stream_event_cb event_cb;
    void *cb_arg;
};

struct wr_mux {
    struct event_base *base;
    struct bufferevent *bev;
    wr_mux_config_t cfg;
    wr_mux_callbacks_t cbs;
    void *arg;
    uint32_t id;
    int state;
    int version;          /* smux frame version on the wire: 1 or 2 */
    int ext;              /* warren extensions negotiated */
    uint32_t send_frame;  /* largest PSH we send */
    uint32_t peer_window; /* peer's initial window per stream */
    /* Session-level flow control, warren peers only: we may have at most
     * peer_session_window bytes of PSH payload unread at the peer. */
    uint32_t peer_session_window;
    uint32_t session_sent;          /* PSH payload bytes sent (mod 2^32) */
    uint32_t peer_session_consumed; /* as last reported by UPD on stream 0 */
    uint32_t session_consumed;      /* bytes our application has read */
    uint32_t session_upd_at;        /* session_consumed at our last UPD 0 */
    uint32_t next_id;               /* last id used locally; ids step by 2 */
    wr_mux_stream_t **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t nstreams; /* in the hash */
    wr_sched_t sched;
    wr_mux_stream_t *backlog_head, *backlog_tail;
    uint32_t backlog_len;
    wr_mux_stream_t *notify_head, *notify_tail;
    uint64_t buffered; /* unread input over all streams */
    struct event *defer_ev;
    struct event *timer_ev;
    struct evbuffer *stage; /* frames not yet handed to bev (plain sockets only) */
    struct event *flush_ev; /* hands stage to bev after this turn's callbacks */
    uint64_t rx_frames, rx_frames_at_tick;
    uint32_t silent_ms;
    uint64_t ping_id;
    uint64_t ping_sent_us;
    uint64_t rx_frames_at_ping;
    int ping_outstanding;
    int64_t rtt_us;
    uint64_t payload_rx, payload_tx; /* PSH payload bytes, for the status page */
    int busy;
    unsigned accept_paused : 1;
    unsigned goaway_sent : 1;
    unsigned goaway_recvd : 1;
    unsigned closing : 1; /* wr_mux_close: end once the output is written */
    unsigned dead : 1;
    unsigned closed_notified : 1;
    unsigned freeing : 1;
    unsigned flush_armed : 1; /* flush_ev is active: no need to make it so again */
    unsigned torn_down : 1;
    unsigned session_stalled : 1; /* data waits for the peer's session window */
    char reason[160];
};

static uint32_t wr_mux_next_session_id = 0;

static void wr_mux_pump(wr_mux_t *m);
static void wr_mux_fail(wr_mux_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wr_stream_maybe_free(wr_mux_stream_t *s);
static void wr_mux_teardown(wr_mux_t *m);
static void wr_mux_destroy(wr_mux_t *m);

static uint64_t wr_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void wr_mux_config_default(wr_mux_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->proto = WR_MUX_WARREN;
    c->is_server = 0;
    c->max_frame = 65535;
    c->stream_window = 256 * 1024;
    c->session_budget = 16 * 1024 * 1024;
    c->max_streams = 4096;
    c->accept_backlog = 1024;
    c->send_buffer = 256 * 1024;
    c->ping_interval_ms = 10000;
    c->keepalive_timeout_ms = 30000;
    c->output_high = 128 * 1024;
}

int wr_mux_config_check(const wr_mux_config_t *c, char *why, size_t whylen)
{
    if (c->proto < WR_MUX_SMUX1 || c->proto > WR_MUX_WARREN)
        snprintf(why, whylen, "unknown mux protocol %d", (int)c->proto);
    else if (c->max_frame < 1024 || c->max_frame > WR_FRAME_MAX_LEN)
        snprintf(why, whylen, "max frame %u outside 1024..65535", c->max_frame);
    else if (c->stream_window < 1024 || c->stream_window > 0x7fffffffu)
        snprintf(why, whylen, "stream window %u outside 1 KiB..2 GiB", c->stream_window);
    else if (c->session_budget < c->stream_window)
        snprintf(why, whylen, "session budget %llu below the stream window %u",
                 (unsigned long long)c->session_budget, c->stream_window);
    else if (c->max_streams < 1)
        snprintf(why, whylen, "max streams must be at least 1");
    else if (c->send_buffer < 1024)
        snprintf(why, whylen, "send buffer %u below 1 KiB", c->send_buffer);
    else if (c->output_high < 1024)
        snprintf(why, whylen, "output high-water mark %u below 1 KiB", c->output_high);
    else if (c->ping_interval_ms > 0 && c->keepalive_timeout_ms < c->ping_interval_ms)
        snprintf(why, whylen, "keepalive timeout %u ms below the ping interval %u ms",
                 c->keepalive_timeout_ms, c->ping_interval_ms);
    else
        return 0;
    return -1;
}

/* --- stream table ------------------------------------------------------ */

static wr_mux_stream_t *wr_mux_find(const wr_mux_t *m, uint32_t id)
{
    wr_mux_stream_t *s = m->buckets[id & (m->nbuckets - 1)];

    while (s && s->id != id)
        s = s->hnext;
    return s;
}

static int wr_mux_grow(wr_mux_t *m)
{
    uint32_t n = m->nbuckets * 2;
    wr_mux_stream_t **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return -1;
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        wr_mux_stream_t *s = m->buckets[i], *next;
        for (; s; s = next) {
            next = s->hnext;
            s->hnext = b[s->id & (n - 1)];
            b[s->id & (n - 1)] = s;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

static int wr_mux_insert(wr_mux_t *m, wr_mux_stream_t *s)
{
    /* A failed grow only makes chains longer. */
    if (m->nstreams >= m->nbuckets)
        (void)wr_mux_grow(m);
    s->hnext = m->buckets[s->id & (m->nbuckets - 1)];
    m->buckets[s->id & (m->nbuckets - 1)] = s;
    m->nstreams++;
    return 0;
}

static void wr_mux_unlink(wr_mux_t *m, wr_mux_stream_t *s)
{
    wr_mux_stream_t **pp = &m->buckets[s->id & (m->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == s) {
            *pp = s->hnext;
            s->hnext = NULL;
            m->nstreams--;
            return;
        }
    }
}

/* --- output helpers ---------------------------------------------------- */

/* Where frames go. On a plain socket, a staging buffer that one deferred
 * event per loop turn writes out (wr_mux_flush_cb, made active by
 * wr_mux_staged as frames are added): the frames of every stream written
 * in this turn leave in one writev, and most often straight to the socket
 * without arming a write event. */
static struct evbuffer *wr_mux_output(wr_mux_t *m)
{
    return m->stage != NULL ? m->stage : bufferevent_get_output(m->bev);
}

/* Run wr_mux_flush_cb after this turn's callbacks (plain sockets). */
static void wr_mux_arm_flush(wr_mux_t *m)
{
    if (!m->flush_armed) {
        m->flush_armed = 1;
        event_active(m->flush_ev, EV_TIMEOUT, 0);
    }
}

static void wr_mux_staged(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_added > 0)
        wr_mux_arm_flush(arg);
}

/* Bytes framed and not yet written. */
static size_t wr_mux_out_len(const wr_mux_t *m)
{
    return evbuffer_get_length(bufferevent_get_output(m->bev)) +
           (m->stage ? evbuffer_get_length(m->stage) : 0);
}

static void wr_mux_emit(wr_mux_t *m, uint8_t cmd, uint32_t sid, const void *payload, uint16_t len)
{
    uint8_t frame[WR_FRAME_HDR_LEN + 16];

    wr_frame_hdr_encode(frame, (uint8_t)m->version, cmd, len, sid);
    wr_metric_add(wr_stats.frames_sent, cmd, 0, 1);
    if (len > 0)
        memcpy(frame + WR_FRAME_HDR_LEN, payload, len);
    evbuffer_add(wr_mux_output(m), frame, WR_FRAME_HDR_LEN + len);
}

static void wr_mux_emit_u32x2(wr_mux_t *m, uint8_t cmd, uint32_t sid, uint32_t a, uint32_t b)
{
    uint8_t p[8];

    wr_put_u32(p, a);
    wr_put_u32(p + 4, b);
    wr_mux_emit(m, cmd, sid, p, 8);
}

/* The session window we offer warren peers: the budget, within 2^31-1. */
static uint32_t wr_mux_session_window(const wr_mux_t *m)
{
    return m->cfg.session_budget > 0x7fffffffu ? 0x7fffffffu : (uint32_t)m->cfg.session_budget;
}

/* n bytes of PSH payload left the session's receive side (read by the
 * application, or dropped): give a warren peer its session credit back. */
static void wr_mux_session_consume(wr_mux_t *m, size_t n)
{
    m->session_consumed += (uint32_t)n;
    if (m->ext && !m->dead &&
        m->session_consumed - m->session_upd_at >= wr_mux_session_window(m) / 4) {
        m->session_upd_at = m->session_consumed;
        wr_mux_emit_u32x2(m, WR_CMD_UPD, 0, m->session_consumed, wr_mux_session_window(m));
    }
}

static void wr_mux_defer(wr_mux_t *m)
{
    event_active(m->defer_ev, EV_TIMEOUT, 0);
}

static void wr_stream_notify(wr_mux_stream_t *s)
{
    wr_mux_t *m = s->m;

    if (s->in_notify || m == NULL)
        return;
    s->in_notify = 1;
    s->qnext = NULL;
    if (m->notify_tail)
        m->notify_tail->qnext = s;
    else
        m->notify_head = s;
    m->notify_tail = s;
    wr_mux_defer(m);
}

/* --- stream state ------------------------------------------------------ */

static size_t wr_buf_len(const struct evbuffer *b)
{
    return b ? evbuffer_get_length(b) : 0;
}

/* PSH payload of a tunnel's stream, counted toward the local service
 * (inbound: what a server sends, what a client receives) or back toward
 * public clients (outbound). */
static void wr_stream_count_payload(const wr_mux_t *m, const wr_mux_stream_t *s, int sent, size_t n)
{
    if (s->tunnel != 0)
        wr_metric_add(sent == m->cfg.is_server ? wr_stats.bytes_in : wr_stats.bytes_out,
                      s->tunnel - 1u, 0, (int64_t)n);
}

static uint32_t wr_stream_credit(const wr_mux_stream_t *s)
{
    int32_t inflight;
    int64_t win;

    if (s->m->version == 1)
        return UINT32_MAX;
    inflight = (int32_t)(s->written - s->peer_consumed);
    if (inflight < 0)
        return 0;
    win = (int64_t)s->peer_window - inflight;
    return win > 0 ? (uint32_t)win : 0;
}

/* Throw away unread input, returning its bytes to the session budget. */
static void wr_stream_drop_input(wr_mux_stream_t *s)
{
    size_t n = wr_buf_len(s->in);

    if (n == 0)
        return;
    evbuffer_drain(s->in, n);
    if (s->m) {
        s->m->buffered -= n;
        wr_mux_session_consume(s->m, n);
    }
}

/* An idle stream keeps no buffer: an emptied one goes back to the
 * allocator and is made again by the next byte. */
static void wr_stream_release_empty(struct evbuffer **b)
{
    if (*b != NULL && evbuffer_get_length(*b) == 0) {
        evbuffer_free(*b);
        *b = NULL;
    }
}

static void wr_stream_drop_output(wr_mux_stream_t *s)
{
    if (s->out)
        evbuffer_drain(s->out, evbuffer_get_length(s->out));
}

static wr_mux_stream_t *wr_stream_new(wr_mux_t *m, uint32_t id, int prio)
{
    wr_mux_stream_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->m = m;
    s->id = id;
    s->prio = (uint8_t)prio;
    s->peer_window = m->version == 1 ? 0 : m->peer_window;
    wr_mux_insert(m, s);
    return s;
}

static void wr_stream_destroy(wr_mux_stream_t *s)
{
    if (s->tunnel != 0)
        wr_metric_add(wr_stats.streams_active, s->tunnel - 1u, 0, -1);
    if (s->m) {
        wr_stream_drop_input(s);
        wr_sched_remove(&s->m->sched, &s->sched);
        wr_mux_unlink(s->m, s);
    }
    if (s->in)
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    free(s);
}

/* Free a stream nobody needs any more: not held by the application, on no
 * list, and either detached, dead, or with everything sent (FIN included). */
static void wr_stream_maybe_free(wr_mux_stream_t *s)
{
    if (s->held || s->in_backlog || s->in_notify || s->in_teardown || s->pinned)
        return;
    if (s->m && !s->dead && (wr_buf_len(s->out) > 0 || !s->fin_sent))
        return;
    wr_stream_destroy(s);
}

/* Kill a stream from our side: tell the peer (RST to warren, FIN to smux),
 * drop its buffers and, if the application holds it, report the reset. */
static void wr_stream_kill(wr_mux_stream_t *s, uint32_t reason, int tell_peer)
{
    wr_mux_t *m = s->m;

    if (s->dead || m == NULL)
        return;
    s->dead = 1;
    s->rst_reason = reason > 255 ? 255 : (uint8_t)reason;
    wr_metric_add(wr_stats.stream_resets, reason <= WR_RST_TIMEOUT ? reason : WR_RST_TIMEOUT + 1, 0,
                  1);
    wr_stream_drop_input(s);
    wr_stream_drop_output(s);
    wr_sched_remove(&m->sched, &s->sched);
    if (tell_peer && !m->dead) {
        if (m->ext) {
            uint8_t p[WR_RST_LEN];
            wr_put_u32(p, reason);
            wr_mux_emit(m, WR_CMD_RST, s->id, p, sizeof(p));
        } else if (!s->fin_sent) {
            wr_mux_emit(m, WR_CMD_FIN, s->id, NULL, 0);
        }
    }
    s->fin_sent = 1;
    /* The id stays in the table until the stream is freed, so that a dying
     * session still detaches it; frames for a dead stream are dropped. */
    if (s->held) {
        s->notify_reset = 1;
        wr_stream_notify(s);
    }
}

/* Free a stream that was killed while nobody held it. */
static void wr_stream_kill_unheld(wr_mux_stream_t *s, uint32_t reason)
{
    wr_stream_kill(s, reason, 1);
    wr_stream_maybe_free(s);
}

/* --- deferred work ----------------------------------------------------- */

static void wr_mux_enter(wr_mux_t *m)
{
    m->busy++;
}

/* Returns -1 when the session was freed and must not be touched. */
static int wr_mux_leave(wr_mux_t *m)
{
    if (--m->busy == 0 && m->freeing) {
        wr_mux_destroy(m);
        return -1;
    }
    return 0;
}

static void wr_mux_dispatch_accepts(wr_mux_t *m)
{
    while (m->backlog_head && !m->accept_paused && !m->freeing && !m->dead) {
        wr_mux_stream_t *s = m->backlog_head;
        int rc;

        m->backlog_head = s->qnext;
        if (m->backlog_head == NULL)
            m->backlog_tail = NULL;
        s->qnext = NULL;
        s->in_backlog = 0;
        m->backlog_len--;
        if (s->dead) {
            wr_stream_maybe_free(s);
            continue;
        }
        s->held = 1;
        s->pinned = 1;
        rc = m->cbs.accept ? m->cbs.accept(m, s, m->arg) : -1;
        s->pinned = 0;
        if (m->freeing || !s->held) {
            /* The session went, or the application closed the stream. */
            if (rc != 0)
                s->held = 0;
            wr_stream_maybe_free(s);
            if (m->freeing)
                return;
            continue;
        }
        if (rc != 0) {
            s->held = 0;
            wr_stream_kill_unheld(s, WR_RST_REFUSED);
            continue;
        }
        /* Data or FIN that came before the accept. */
        if (!s->dead && (wr_buf_len(s->in) > 0 || s->fin_recvd) && s->read_cb)
            s->read_cb(s, s->cb_arg);
    }
}

static void wr_mux_dispatch_notify(wr_mux_t *m)
{
    while (m->notify_head && !m->freeing) {
        wr_mux_stream_t *s = m->notify_head;
        int reset = s->notify_reset, write = s->notify_write;

        m->notify_head = s->qnext;
        if (m->notify_head == NULL)
            m->notify_tail = NULL;
        s->qnext = NULL;
        s->in_notify = 0;
        s->notify_reset = s->notify_write = 0;
        if (!s->held) {
            wr_stream_maybe_free(s);
            continue;
        }
        if (reset) {
            if (s->event_cb)
                s->event_cb(s, WR_STREAM_RESET, s->cb_arg);
        } else if (write && !s->dead && s->write_cb) {
            s->write_cb(s, s->cb_arg);
        }
    }
}

static void wr_mux_defer_cb(evutil_socket_t fd, short what, void *arg)
{
    wr_mux_t *m = arg;

    wr_mux_enter(m);
    wr_mux_dispatch_accepts(m);
    wr_mux_dispatch_notify(m);
    if (m->dead && !m->closed_notified && !m->freeing) {
        m->closed_notified = 1;
        wr_mux_teardown(m);
        if (m->cbs.closed && !m->freeing)
            m->cbs.closed(m, m->reason, m->arg);
    }
    wr_mux_leave(m);
}

/* --- failure and teardown ---------------------------------------------- */

static void wr_mux_fail(wr_mux_t *m, const char *fmt, ...)
{
    va_list ap;

    char reason[sizeof(m->reason)];

    if (m->dead)
        return;
    m->dead = 1;
    /* Format apart: wr_mux_close passes m->reason itself as an argument. */
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    memcpy(m->reason, reason, sizeof(reason));
    bufferevent_disable(m->bev, EV_READ);
    event_del(m->timer_ev);
    wr_mux_defer(m);
}

/* Detach every stream: each held one gets its last callback (read when it
 * ended cleanly and only EOF is left to see, reset otherwise); the others
 * are freed. */
static void wr_mux_teardown(wr_mux_t *m)
{
    wr_mux_stream_t *list = NULL, *s;

    if (m->torn_down)
        return;
    m->torn_down = 1;
    while ((s = m->backlog_head) != NULL) {
        m->backlog_head = s->qnext;
        s->qnext = NULL;
        s->in_backlog = 0;
    }
    m->backlog_tail = NULL;
    m->backlog_len = 0;
    while ((s = m->notify_head) != NULL) {
        m->notify_head = s->qnext;
        s->qnext = NULL;
        s->in_notify = 0;
        s->notify_reset = s->notify_write = 0;
    }
    m->notify_tail = NULL;
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        while ((s = m->buckets[i]) != NULL) {
            m->buckets[i] = s->hnext;
            wr_sched_remove(&m->sched, &s->sched);
            s->m = NULL;
            s->in_teardown = 1;
            s->hnext = list;
            list = s;
        }
    }
    m->nstreams = 0;
    m->buffered = 0;
    while ((s = list) != NULL) {
        int clean = s->fin_recvd && s->fin_sent && !s->dead;
        list = s->hnext;
        s->hnext = NULL;
        if (!clean) {
            s->dead = 1;
            wr_stream_drop_output(s);
        }
        if (s->held) {
            if (clean && s->read_cb)
                s->read_cb(s, s->cb_arg);
            else if (!clean && s->event_cb)
                s->event_cb(s, WR_STREAM_RESET, s->cb_arg);
        }
        s->in_teardown = 0;
        wr_stream_maybe_free(s);
    }
}

static void wr_mux_destroy(wr_mux_t *m)
{
    wr_mux_teardown(m);
    event_free(m->defer_ev);
    event_free(m->timer_ev);
    if (m->flush_ev)
        event_free(m->flush_ev);
    if (m->stage)
        evbuffer_free(m->stage);
    bufferevent_free(m->bev);
    free(m->buckets);
    free(m);
}

void wr_mux_free(wr_mux_t *m)
{
    if (m == NULL || m->freeing)
        return;
    m->freeing = 1;
    m->dead = 1;
    bufferevent_disable(m->bev, EV_READ | EV_WRITE);
    event_del(m->timer_ev);
    if (m->busy > 0) {
        /* Inside one of our callbacks: detach streams now, free on return. */
        m->busy++;
        wr_mux_teardown(m);
        m->busy--;
        return;
    }
    m->busy++;
    wr_mux_teardown(m);
    m->busy--;
    wr_mux_destroy(m);
}

void wr_mux_close(wr_mux_t *m, const char *reason)
{
    if (m->dead || m->closing)
        return;
    m->closing = 1;
    snprintf(m->reason, sizeof(m->reason), "%s", reason ? reason : "closed locally");
    wr_mux_pump(m); /* what streams were given this turn goes before the end */
    if (wr_mux_out_len(m) == 0)
        wr_mux_fail(m, "%s", m->reason);
}

/* --- sending ----------------------------------------------------------- */

/* Bytes the session window still lets us send (warren); unlimited otherwise. */
static uint32_t wr_mux_session_credit(const wr_mux_t *m)
{
    int64_t inflight, win;

    if (!m->ext)
        return UINT32_MAX;
    inflight = (int32_t)(m->session_sent - m->peer_session_consumed);
    win = (int64_t)m->peer_session_window - (inflight < 0 ? 0 : inflight);
    return win > 0 ? (uint32_t)win : 0;
}

static void wr_mux_send_preface(wr_mux_t *m)
{
    uint8_t buf[WR_PREFACE_LEN];
    wr_preface_t p = {
        .version = WR_PREFACE_VERSION,
        .flags = 0,
        .max_frame = (uint16_t)m->cfg.max_frame,
        .window = m->cfg.stream_window,
        .session_window = wr_mux_session_window(m),
    };

    wr_preface_encode(buf, &p);
    evbuffer_add(wr_mux_output(m), buf, sizeof(buf));
}

/* Where to end a frame of at most n of the bytes queued in b. Moving whole
 * buffer chains into the output costs nothing, but a chain cut in two has
 * its head copied: end the frame before a chain that straddles n, unless
 * little of it would be copied or it is the first (a shorter frame costs
 * only its 8-byte header). */
static size_t wr_mux_frame_cut(struct evbuffer *b, size_t n)
{
    struct evbuffer_iovec v[16];
    int k = evbuffer_peek(b, (ev_ssize_t)n, NULL, v, 16);
    size_t sum = 0;

    for (int i = 0; i < k && i < 16; i++) {
        if (sum + v[i].iov_len > n)
            return n - sum > WR_FRAME_CUT_COPY && sum > 0 ? sum : n;
        sum += v[i].iov_len;
    }
    return n;
}

/* Frame queued stream data into the session output, highest priority first,
 * round-robin inside a class, while the output is below its high mark. */
static void wr_mux_pump(wr_mux_t *m)
{
    struct evbuffer *out;

    if (m->dead || m->state != WR_MUX_OPEN)
        return;
    out = wr_mux_output(m);
    while (wr_mux_out_len(m) < m->cfg.output_high) {
        wr_sched_entry_t *e = wr_sched_peek(&m->sched);
        wr_mux_stream_t *s = (wr_mux_stream_t *)e;
        uint32_t session = wr_mux_session_credit(m);
        size_t queued;
        uint32_t credit;

        if (e == NULL)
            break;
        queued = wr_buf_len(s->out);
        credit = wr_stream_credit(s);
        if (queued > 0 && credit > 0 && session == 0) {
            /* The whole session waits for the peer's UPD 0. */
            if (!m->session_stalled)
                wr_metric_add(wr_stats.flow_stalls, WR_STALL_SESSION_WINDOW, 0, 1);
            m->session_stalled = 1;
            break;
        }
        if (queued > 0 && credit > 0) {
            size_t n = queued;
            uint8_t hdr[WR_FRAME_HDR_LEN];
            if (n > credit)
                n = credit;
            if (n > session)
                n = session;
            if (n > m->send_frame)
                n = m->send_frame;
            if (n < queued)
                n = wr_mux_frame_cut(s->out, n);
            wr_frame_hdr_encode(hdr, (uint8_t)m->version, WR_CMD_PSH, (uint16_t)n, s->id);
            evbuffer_add(out, hdr, sizeof(hdr));
            evbuffer_remove_buffer(s->out, out, n);
            s->written += (uint32_t)n;
            m->session_sent += (uint32_t)n;
            m->payload_tx += n;
            m->session_stalled = 0;
            wr_metric_add(wr_stats.frames_sent, WR_CMD_PSH, 0, 1);
            wr_stream_count_payload(m, s, 1, n);
            queued -= n;
            credit -= (credit == UINT32_MAX) ? 0 : (uint32_t)n;
            wr_stream_release_empty(&s->out);
        }
        if (s->write_full && queued <= m->cfg.send_buffer / 2) {
            s->write_full = 0;
            s->notify_write = 1;
            wr_stream_notify(s);
        }
        if (queued == 0) {
            wr_sched_remove(&m->sched, e);
            if (s->fin_queued && !s->fin_sent) {
                wr_mux_emit(m, WR_CMD_FIN, s->id, NULL, 0);
                s->fin_sent = 1;
                wr_stream_maybe_free(s);
            }
        } else if (credit == 0) {
            wr_sched_remove(&m->sched, e); /* back on an UPD */
            wr_metric_add(wr_stats.flow_stalls, WR_STALL_STREAM_WINDOW, 0, 1);
        } else {
            wr_sched_rotate(&m->sched, e);
        }
    }
}

/* Pump now over TLS; on a plain socket once per loop turn, by the flush:
 * what a stream is given in several writes in one turn (a response head,
 * then its body) leaves as one frame, and the peer reads it in one
 * callback. */
static void wr_mux_pump_soon(wr_mux_t *m)
{
    if (m->stage != NULL)
        wr_mux_arm_flush(m);
    else
        wr_mux_pump(m);
}

/* Put a stream with something to send on the scheduler, and pump. */
static void wr_stream_kick(wr_mux_stream_t *s)
{
    wr_mux_t *m = s->m;

    if ((wr_buf_len(s->out) > 0 && wr_stream_credit(s) > 0) || (s->fin_queued && !s->fin_sent))
        wr_sched_push(&m->sched, &s->sched, s->prio);
    wr_mux_pump_soon(m);
}

/* --- receiving --------------------------------------------------------- */

/* How far a peer may run ahead of what the application has read. */
static uint64_t wr_mux_stream_limit(const wr_mux_t *m)
{
    if (m->version == 1)
        return UINT64_MAX; /* smux v1 has no stream windows; the budget rules */
    if (!m->ext && m->cfg.stream_window < WR_SMUX_INITIAL_WINDOW)
        return WR_SMUX_INITIAL_WINDOW; /* a smux sender assumes this until our UPD */
    return m->cfg.stream_window;
}

/* UPD once the application has read half the window: for a plain smux v2
 * peer, half of what it believes our window to be before our first UPD. */
static uint32_t wr_mux_upd_threshold(const wr_mux_t *m)
{
    uint32_t w = m->cfg.stream_window;

    if (!m->ext && w > WR_SMUX_INITIAL_WINDOW)
        w = WR_SMUX_INITIAL_WINDOW;
    return w / 2;
}

static void wr_mux_on_syn(wr_mux_t *m, const wr_frame_hdr_t *h, struct evbuffer *in)
{
    wr_mux_stream_t *s;
    uint32_t window = m->peer_window;
    int prio = WR_PRIO_NORMAL;

    if (h->length == WR_SYN_EXT_LEN) {
        uint8_t p[WR_SYN_EXT_LEN];
        evbuffer_remove(in, p, sizeof(p));
        window = wr_get_u32(p);
        prio = p[4] < WR_PRIO_COUNT ? p[4] : WR_PRIO_NORMAL;
        if (window < 1024 || window > 0x7fffffffu) {
            wr_mux_fail(m, "protocol error: SYN window %u on stream %u outside 1024..2^31-1",
                        window, h->sid);
            return;
        }
    }
    if (wr_mux_find(m, h->sid) != NULL) {
        if (m->ext)
            wr_mux_fail(m, "protocol error: SYN for open stream %u", h->sid);
        return; /* smux ignores a repeated SYN */
    }
    if (m->ext && (h->sid & 1) == (m->cfg.is_server ? 0u : 1u)) {
        wr_mux_fail(m, "protocol error: peer opened stream %u with our id parity", h->sid);
        return;
    }
    if (m->goaway_sent || m->nstreams >= m->cfg.max_streams ||
        m->backlog_len >= m->cfg.accept_backlog) {
        wr_log_debug("mux %u: refusing stream %u (%s)", m->id, h->sid,
                     m->goaway_sent                      ? "going away"
                     : m->nstreams >= m->cfg.max_streams ? "stream limit"
                                                         : "accept backlog full");
        wr_metric_add(wr_stats.stream_resets, WR_RST_REFUSED, 0, 1);
        if (m->ext) {
            uint8_t p[WR_RST_LEN];
            wr_put_u32(p, WR_RST_REFUSED);
            wr_mux_emit(m, WR_CMD_RST, h->sid, p, sizeof(p));
        } else {
            wr_mux_emit(m, WR_CMD_FIN, h->sid, NULL, 0);
        }
        return;
    }
    s = wr_stream_new(m, h->sid, prio);
    if (s == NULL) {
        wr_mux_fail(m, "out of memory for stream %u", h->sid);
        return;
    }
    if (m->version >= 2)
        s->peer_window = window;
    s->in_backlog = 1;
    if (m->backlog_tail)
        m->backlog_tail->qnext = s;
    else
        m->backlog_head = s;
    m->backlog_tail = s;
    m->backlog_len++;
    wr_mux_defer(m);
}

static void wr_mux_on_psh(wr_mux_t *m, const wr_frame_hdr_t *h, struct evbuffer *in)
{
    wr_mux_stream_t *s = wr_mux_find(m, h->sid);
    uint64_t unread;

    if (s == NULL || s->dead || !(s->held || s->in_backlog) || s->fin_recvd) {
        /* Unknown, finished or released stream: smux drops such data too. */
        evbuffer_drain(in, h->length);
        wr_mux_session_consume(m, h->length);
        return;
    }
    if (s->in == NULL && (s->in = evbuffer_new()) == NULL) {
        evbuffer_drain(in, h->length);
        wr_mux_session_consume(m, h->length);
        wr_stream_kill(s, WR_RST_INTERNAL, 1);
        return;
    }
    evbuffer_remove_buffer(in, s->in, h->length);
    m->payload_rx += h->length;
    wr_stream_count_payload(m, s, 0, h->length);
    m->buffered += h->length;
    unread = evbuffer_get_length(s->in);
    if (unread > wr_mux_stream_limit(m)) {
        wr_log_warn("mux %u: stream %u reset: window overrun (%llu bytes unread, window %llu)",
                    m->id, s->id, (unsigned long long)unread,
                    (unsigned long long)wr_mux_stream_limit(m));
        wr_stream_kill(s, WR_RST_FLOW_CONTROL, 1);
        return;
    }
    if (m->buffered > m->cfg.session_budget) {
        wr_log_warn("mux %u: stream %u reset: session budget of %llu bytes exhausted", m->id, s->id,
                    (unsigned long long)m->cfg.session_budget);
        wr_stream_kill(s, WR_RST_BUDGET, 1);
        return;
    }
    if (s->held && s->read_cb)
        s->read_cb(s, s->cb_arg);
}

static void wr_mux_on_fin(wr_mux_t *m, const wr_frame_hdr_t *h)
{
    wr_mux_stream_t *s = wr_mux_find(m, h->sid);

    if (s == NULL || s->dead || s->fin_recvd)
        return;
    s->fin_recvd = 1;
    if (!s->held) {
        if (!s->in_backlog) {
            wr_stream_drop_input(s);
            wr_stream_maybe_free(s);
        }
        return;
    }
    if (s->read_cb)
        s->read_cb(s, s->cb_arg);
}

static void wr_mux_on_upd(wr_mux_t *m, const wr_frame_hdr_t *h, struct evbuffer *in)
{
    uint8_t p[WR_UPD_LEN];
    wr_mux_stream_t *s;

    evbuffer_remove(in, p, sizeof(p));
    if (h->sid == 0) {
        m->peer_session_consumed = wr_get_u32(p);
        m->peer_session_window = wr_get_u32(p + 4);
        if ((int32_t)(m->session_sent - m->peer_session_consumed) < 0)
            wr_mux_fail(m, "protocol error: peer claims %u session bytes consumed, %u were sent",
                        m->peer_session_consumed, m->session_sent);
        return; /* the pump after this read batch sends what is now allowed */
    }
    s = wr_mux_find(m, h->sid);
    if (s == NULL || s->dead)
        return;
    s->peer_consumed = wr_get_u32(p);
    s->peer_window = wr_get_u32(p + 4);
    s->got_upd = 1;
    if ((int32_t)(s->written - s->peer_consumed) < 0) {
        wr_log_warn("mux %u: stream %u reset: peer claims %u bytes consumed, %u were sent", m->id,
                    s->id, s->peer_consumed, s->written);
        wr_stream_kill(s, WR_RST_FLOW_CONTROL, 1);
        return;
    }
    if (wr_buf_len(s->out) > 0 || (s->fin_queued && !s->fin_sent))
        wr_stream_kick(s);
}

static void wr_mux_on_rst(wr_mux_t *m, const wr_frame_hdr_t *h, struct evbuffer *in)
{
    uint8_t p[WR_RST_LEN];
    wr_mux_stream_t *s;

    evbuffer_remove(in, p, sizeof(p));
    s = wr_mux_find(m, h->sid);
    if (s == NULL || s->dead)
        return;
    wr_log_debug("mux %u: stream %u reset by peer: %s", m->id, s->id,
                 wr_rst_reason_name(wr_get_u32(p)));
    wr_stream_kill(s, wr_get_u32(p), 0);
    wr_stream_maybe_free(s);
}

static void wr_mux_on_goaway(wr_mux_t *m, struct evbuffer *in)
{
    uint8_t p[WR_GOAWAY_LEN];
    uint32_t code, drain;

    evbuffer_remove(in, p, sizeof(p));
    code = wr_get_u32(p);
    drain = wr_get_u32(p + 4);
    m->goaway_recvd = 1;
    wr_log_info("mux %u: peer going away (%s, drain %u ms)", m->id, wr_goaway_code_name(code),
                drain);
    if (m->cbs.goaway)
        m->cbs.goaway(m, code, drain, m->arg);
}

static void wr_mux_on_ping(wr_mux_t *m, const wr_frame_hdr_t *h, struct evbuffer *in)
{
    uint8_t p[WR_PING_LEN];

    evbuffer_remove(in, p, sizeof(p));
    if (h->cmd == WR_CMD_PING) {
        wr_mux_emit(m, WR_CMD_PONG, 0, p, sizeof(p));
        return;
    }
    if (m->ping_outstanding && (uint64_t)wr_get_u32(p) == (m->ping_id & 0xffffffffu) &&
        (uint64_t)wr_get_u32(p + 4) == (m->ping_id >> 32)) {
        m->ping_outstanding = 0;
        m->rtt_us = (int64_t)(wr_now_us() - m->ping_sent_us);
    }
}

/* Decide the protocol from the first bytes (server) or check the peer's
 * preface (client). Returns 1 when more bytes are needed, 0 when done, -1 on
 * failure (the session is failed). */
static int wr_mux_handshake(wr_mux_t *m, struct evbuffer *in)
{
    uint8_t buf[WR_PREFACE_LEN];
    wr_preface_t p;
    char why[128];

    if (m->state == WR_MUX_DETECT) {
        uint8_t first;
        if (evbuffer_copyout(in, &first, 1) != 1)
            return 1;
        if (first == 1 || first == 2) {
            m->version = first;
            m->state = WR_MUX_OPEN;
            m->peer_window = WR_SMUX_INITIAL_WINDOW;
            wr_log_debug("mux %u: peer speaks plain smux v%d", m->id, first);
            return 0;
        }
        if (first != WR_PREFACE_MAGIC[0]) {
            wr_mux_fail(m, "protocol error: first byte 0x%02x is neither smux nor warren", first);
            return -1;
        }
    }
    if (evbuffer_get_length(in) < WR_PREFACE_LEN)
        return 1;
    evbuffer_remove(in, buf, sizeof(buf));
    if (wr_preface_decode(buf, &p, why, sizeof(why)) != 0) {
        wr_mux_fail(m, "protocol error: %s", why);
        return -1;
    }
    if (m->state == WR_MUX_DETECT)
        wr_mux_send_preface(m);
    m->state = WR_MUX_OPEN;
    m->ext = 1;
    m->version = 2;
    m->peer_window = p.window;
    m->peer_session_window = p.session_window;
    if (p.max_frame < m->send_frame)
        m->send_frame = p.max_frame;
    /* Streams opened before the preface arrived learn the real window now. */
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        for (wr_mux_stream_t *s = m->buckets[i]; s; s = s->hnext) {
            if (!s->got_upd)
                s->peer_window = p.window;
        }
    }
    return 0;
}

static void wr_mux_read_cb(struct bufferevent *bev, void *arg)
{
    wr_mux_t *m = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char why[128];
    int topped = 0;

    wr_mux_enter(m);
    while (!m->dead) {
        uint8_t raw[WR_FRAME_HDR_LEN];
        wr_frame_hdr_t h;

        if (m->state != WR_MUX_OPEN) {
            if (wr_mux_handshake(m, in) != 0)
                break;
            wr_mux_pump_soon(m); /* data held back until the preface came */
            continue;
        }
        if (evbuffer_copyout(in, raw, sizeof(raw)) != (ev_ssize_t)sizeof(raw))
            break;
        wr_frame_hdr_decode(raw, &h);
        if (wr_frame_check(&h, m->version, m->ext, m->cfg.max_frame, why, sizeof(why)) != 0) {
            if (m->ext)
                wr_mux_emit_u32x2(m, WR_CMD_GOAWAY, 0, WR_GOAWAY_PROTOCOL, 0);
            wr_mux_fail(m, "protocol error: %s", why);
            break;
        }
        if (evbuffer_get_length(in) < WR_FRAME_HDR_LEN + (size_t)h.length) {
            /* The rest of the frame is still on its way, or in the socket
             * past libevent's 4 KiB read: for a large frame, take what is
             * there now (once per call). Small frames never do, so that a
             * burst of them is not gathered into one large buffer that
             * outlives the burst in the heap. */
            if (!topped && h.length >= WR_BEV_READ_LARGE) {
                topped = 1;
                if (wr_bev_read_avail(bev, WR_BEV_READ_REST) > 0)
                    continue;
            }
            break;
        }
        evbuffer_drain(in, WR_FRAME_HDR_LEN);
        m->rx_frames++;
        wr_metric_add(wr_stats.frames_received, h.cmd, 0, 1);
        switch (h.cmd) {
        case WR_CMD_NOP:
            break;
        case WR_CMD_SYN:
            wr_mux_on_syn(m, &h, in);
            break;
        case WR_CMD_FIN:
            wr_mux_on_fin(m, &h);
            break;
        case WR_CMD_PSH:
            wr_mux_on_psh(m, &h, in);
            break;
        case WR_CMD_UPD:
            wr_mux_on_upd(m, &h, in);
            break;
        case WR_CMD_RST:
            wr_mux_on_rst(m, &h, in);
            break;
        case WR_CMD_GOAWAY:
            wr_mux_on_goaway(m, in);
            break;
        case WR_CMD_PING:
        case WR_CMD_PONG:
            wr_mux_on_ping(m, &h, in);
            break;
        }
        if (m->freeing)
            break;
    }
    if (!m->freeing)
        wr_mux_pump_soon(m);
    wr_mux_leave(m);
}

static void wr_mux_write_cb(struct bufferevent *bev, void *arg)
{
    wr_mux_t *m = arg;

    wr_mux_enter(m);
    wr_mux_pump(m);
    if (m->closing && wr_mux_out_len(m) == 0)
        wr_mux_fail(m, "%s", m->reason);
    wr_mux_leave(m);
}

static void wr_mux_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    wr_mux_t *m = arg;

    m->flush_armed = 0;
    wr_mux_enter(m);
    wr_mux_pump(m);
    if (evbuffer_get_length(m->stage) > 0 && wr_bev_send(m->bev, m->stage) != 0)
        wr_mux_fail(m, "out of memory for the session output");
    /* Written in full: no write callback will come to send more, so do
     * what it does now (its frames are flushed in this same turn). */
    else if (evbuffer_get_length(bufferevent_get_output(m->bev)) == 0 && !m->freeing)
        wr_mux_write_cb(m->bev, m);
    wr_mux_leave(m);
}

static void wr_mux_event_cb(struct bufferevent *bev, short what, void *arg)
{
    wr_mux_t *m = arg;
    size_t left = evbuffer_get_length(bufferevent_get_input(bev));
    char why[256];

    wr_mux_enter(m);
    if ((what & BEV_EVENT_EOF) && wr_tls_failure(bev, why, sizeof(why)) != NULL) {
        wr_mux_fail(m, "TLS error: %s", why); /* an alert, then the close */
    } else if (what & BEV_EVENT_EOF) {
        if (left > 0)
            wr_mux_fail(m, "truncated frame: connection closed with %zu bytes of a frame", left);
        else
            wr_mux_fail(m, "peer closed the connection");
    } else if (what & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();

        /* Over TLS the cause is often an alert (a refused client
         * certificate arrives after the client's handshake is done). */
        if (wr_tls_failure(bev, why, sizeof(why)) != NULL)
            wr_mux_fail(m, "TLS error: %s", why);
        else
            wr_mux_fail(m, "connection error: %s",
                        err ? evutil_socket_error_to_string(err) : "closed by the peer");
    }
    wr_mux_leave(m);
}

static void wr_mux_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    wr_mux_t *m = arg;
    uint32_t tick = m->cfg.ping_interval_ms;

    wr_mux_enter(m);
    if (m->rx_frames == m->rx_frames_at_tick)
        m->silent_ms += tick;
    else
        m->silent_ms = 0;
    m->rx_frames_at_tick = m->rx_frames;
    if (m->state != WR_MUX_OPEN) {
        if (m->silent_ms >= m->cfg.keepalive_timeout_ms)
            wr_mux_fail(m, "handshake timeout: no %s within %u ms",
                        m->state == WR_MUX_DETECT ? "first frame" : "warren preface", m->silent_ms);
    } else if (m->ext) {
        /* Dead-peer rule: a PING unanswered, with nothing else received, for
         * one interval. The peer never stops reading, so it would answer. */
        if (m->ping_outstanding && m->rx_frames == m->rx_frames_at_ping) {
            wr_mux_fail(m, "peer dead: no answer to PING within %u ms", tick);
        } else {
            uint8_t p[WR_PING_LEN];
            m->ping_id++;
            wr_put_u32(p, (uint32_t)m->ping_id);
            wr_put_u32(p + 4, (uint32_t)(m->ping_id >> 32));
            m->ping_outstanding = 1;
            m->ping_sent_us = wr_now_us();
            m->rx_frames_at_ping = m->rx_frames;
            wr_mux_emit(m, WR_CMD_PING, 0, p, sizeof(p));
        }
    } else if (m->silent_ms >= m->cfg.keepalive_timeout_ms) {
        wr_mux_fail(m, "peer dead: nothing received for %u ms", m->silent_ms);
    } else {
        wr_mux_emit(m, WR_CMD_NOP, 0, NULL, 0);
    }
    wr_mux_leave(m);
}

/* --- session API ------------------------------------------------------- */

wr_mux_t *wr_mux_new(struct event_base *base, struct bufferevent *bev, const wr_mux_config_t *cfg,
                     const wr_mux_callbacks_t *cbs, void *arg)
{
    wr_mux_t *m = NULL;
    char why[128];

    if (wr_mux_config_check(cfg, why, sizeof(why)) != 0) {
        wr_log_error("mux: bad configuration: %s", why);
        goto failed;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto failed;
    m->base = base;
    m->bev = bev;
    m->cfg = *cfg;
    if (cbs)
        m->cbs = *cbs;
    m->arg = arg;
    m->id = __atomic_add_fetch(&wr_mux_next_session_id, 1, __ATOMIC_RELAXED);
    m->send_frame = cfg->max_frame;
    m->peer_window = WR_SMUX_INITIAL_WINDOW;
    m->next_id = cfg->is_server ? 0 : 1;
    m->rtt_us = -1;
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    m->defer_ev = event_new(base, -1, 0, wr_mux_defer_cb, m);
    m->timer_ev = event_new(base, -1, EV_PERSIST, wr_mux_timer_cb, m);
    if (m->buckets == NULL || m->defer_ev == NULL || m->timer_ev == NULL)
        goto failed;
    if (wr_bev_plain_fd(bev) >= 0) {
        m->stage = evbuffer_new();
        m->flush_ev = event_new(base, -1, 0, wr_mux_flush_cb, m);
        if (m->stage == NULL || m->flush_ev == NULL ||
            evbuffer_add_cb(m->stage, wr_mux_staged, m) == NULL)
            goto failed;
    }
    wr_sched_init(&m->sched);

    if (cfg->proto == WR_MUX_WARREN) {
        m->state = cfg->is_server ? WR_MUX_DETECT : WR_MUX_WAIT_PREFACE;
        m->version = 2;
        if (!cfg->is_server)
            wr_mux_send_preface(m);
    } else {
        m->state = WR_MUX_OPEN;
        m->version = (int)cfg->proto;
    }

    bufferevent_setcb(bev, wr_mux_read_cb, wr_mux_write_cb, wr_mux_event_cb, m);
    /* libevent's default 16 KiB per read/write call costs syscalls on bulk. */
    wr_bev_bulk(bev);
    bufferevent_setwatermark(bev, EV_WRITE, cfg->output_high / 2, 0);
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) != 0)
        goto failed;
    if (cfg->ping_interval_ms > 0) {
        struct timeval tv = {cfg->ping_interval_ms / 1000, (cfg->ping_interval_ms % 1000) * 1000};
        event_add(m->timer_ev, &tv);
    }
    return m;

failed:
    if (m) {
        if (m->defer_ev)
            event_free(m->defer_ev);
        if (m->timer_ev)
            event_free(m->timer_ev);
        if (m->flush_ev)
            event_free(m->flush_ev);
        if (m->stage)
            evbuffer_free(m->stage);
        free(m->buckets);
        free(m);
    }
    bufferevent_free(bev);
    return NULL;
}

int wr_mux_goaway(wr_mux_t *m, uint32_t code, uint32_t drain_ms)
{
    if (m->dead)
        return -1;
    if (!m->goaway_sent && m->ext && m->state == WR_MUX_OPEN)
        wr_mux_emit_u32x2(m, WR_CMD_GOAWAY, 0, code, drain_ms);
    m->goaway_sent = 1;
    return 0;
}

void wr_mux_accept_pause(wr_mux_t *m, int paused)
{
    m->accept_paused = paused ? 1 : 0;
    if (!paused && m->backlog_head)
        wr_mux_defer(m);
}

wr_mux_stream_t *wr_mux_stream_open(wr_mux_t *m, wr_prio_t prio)
{
    wr_mux_stream_t *s;

    if (m->dead || m->closing || m->goaway_sent || m->goaway_recvd || m->state == WR_MUX_DETECT ||
        m->nstreams >= m->cfg.max_streams)
        return NULL;
    if (m->next_id > UINT32_MAX - 2) {
        /* Out of ids: like smux, go away rather than wrap. */
        wr_mux_goaway(m, WR_GOAWAY_NORMAL, 0);
        return NULL;
    }
    if (prio < 0 || prio >= WR_PRIO_COUNT)
        prio = WR_PRIO_NORMAL;
    m->next_id += 2;
    s = wr_stream_new(m, m->next_id, prio);
    if (s == NULL)
        return NULL;
    s->held = 1;
    if (m->ext) {
        uint8_t p[WR_SYN_EXT_LEN] = {0};
        wr_put_u32(p, m->cfg.stream_window);
        p[4] = (uint8_t)prio;
        wr_mux_emit(m, WR_CMD_SYN, s->id, p, sizeof(p));
    } else {
        wr_mux_emit(m, WR_CMD_SYN, s->id, NULL, 0);
    }
    return s;
}

int wr_mux_proto(const wr_mux_t *m)
{
    if (m->state == WR_MUX_DETECT)
        return 0;
    if (m->ext || m->state == WR_MUX_WAIT_PREFACE)
        return WR_MUX_WARREN;
    return m->version;
}

const char *wr_mux_proto_name(int proto)
{
    switch (proto) {
    case WR_MUX_SMUX1:
        return "smux1";
    case WR_MUX_SMUX2:
        return "smux2";
    case WR_MUX_WARREN:
        return "warren";
    }
    return "undecided";
}

uint32_t wr_mux_id(const wr_mux_t *m)
{
    return m->id;
}

uint32_t wr_mux_stream_count(const wr_mux_t *m)
{
    return m->nstreams;
}

int64_t wr_mux_rtt_us(const wr_mux_t *m)
{
    return m->rtt_us;
}

uint64_t wr_mux_buffered(const wr_mux_t *m)
{
    return m->buffered;
}

struct bufferevent *wr_mux_bufferevent(wr_mux_t *m)
{
    return m->bev;
}

void wr_mux_payload(const wr_mux_t *m, uint64_t *rx, uint64_t *tx)
{
    *rx = m->payload_rx;
    *tx = m->payload_tx;
}

/* --- stream API -------------------------------------------------------- */

void wr_mux_stream_setcb(wr_mux_stream_t *s, wr_stream_data_cb read, wr_stream_data_cb write,
                         wr_stream_event_cb event, void *arg)
{
    s->read_cb = read;
    s->write_cb = write;
    s->event_cb = event;
    s->cb_arg = arg;
}

uint32_t wr_mux_stream_id(const wr_mux_stream_t *s)
{
    return s->id;
}

wr_mux_t *wr_mux_stream_session(const wr_mux_stream_t *s)
{
    return s->m;
}

wr_prio_t wr_mux_stream_prio(const wr_mux_stream_t *s)
{
    return (wr_prio_t)s->prio;
}

void wr_mux_stream_set_tunnel(wr_mux_stream_t *s, unsigned tunnel)
{
    if (s->tunnel != 0 || tunnel >= UINT16_MAX)
        return;
    s->tunnel = (uint16_t)(tunnel + 1);
    wr_metric_add(wr_stats.streams_opened, tunnel, 0, 1);
    wr_metric_add(wr_stats.streams_active, tunnel, 0, 1);
}

void wr_mux_stream_set_prio(wr_mux_stream_t *s, wr_prio_t prio)
{
    if (prio < 0 || prio >= WR_PRIO_COUNT || prio == s->prio)
        return;
    if (s->m && s->sched.queued) {
        wr_sched_remove(&s->m->sched, &s->sched);
        wr_sched_push(&s->m->sched, &s->sched, prio);
    }
    s->prio = (uint8_t)prio;
}

size_t wr_mux_stream_readable(const wr_mux_stream_t *s)
{
    return wr_buf_len(s->in);
}

size_t wr_mux_stream_read(wr_mux_stream_t *s, struct evbuffer *dst, size_t max)
{
    wr_mux_t *m = s->m;
    size_t avail = wr_buf_len(s->in);
    int n;

    if (max > avail)
        max = avail;
    if (max == 0)
        return 0;
    n = evbuffer_remove_buffer(s->in, dst, max);
    if (n <= 0)
        return 0;
    wr_stream_release_empty(&s->in);
    s->consumed += (uint32_t)n;
    if (m == NULL || s->dead)
        return (size_t)n;
    m->buffered -= (uint64_t)n;
    wr_mux_session_consume(m, (size_t)n);
    if (m->version >= 2 && !s->fin_recvd && !m->dead &&
        s->consumed - s->upd_at >= wr_mux_upd_threshold(m)) {
        s->upd_at = s->consumed;
        wr_mux_emit_u32x2(m, WR_CMD_UPD, s->id, s->consumed, m->cfg.stream_window);
    }
    return (size_t)n;
}

int wr_mux_stream_eof(const wr_mux_stream_t *s)
{
    return s->fin_recvd && wr_buf_len(s->in) == 0;
}

int wr_mux_stream_dead(const wr_mux_stream_t *s)
{
    return s->dead;
}

/* Whether the stream takes data: -1 when dead or shut down for writing. */
static int wr_stream_check_writable(const wr_mux_stream_t *s)
{
    return (s->m == NULL || s->dead || s->fin_queued || s->m->dead) ? -1 : 0;
}

/* Data was appended to s->out: note a full queue and send what may go. */
static int wr_stream_queued_data(wr_mux_stream_t *s)
{
    if (evbuffer_get_length(s->out) >= s->m->cfg.send_buffer) {
        if (!s->write_full)
            wr_metric_add(wr_stats.flow_stalls, WR_STALL_SEND_BUFFER, 0, 1);
        s->write_full = 1;
    }
    wr_stream_kick(s);
    return 0;
}

int wr_mux_stream_write_buffer(wr_mux_stream_t *s, struct evbuffer *src)
{
    if (wr_stream_check_writable(s) != 0)
        return -1;
    if (evbuffer_get_length(src) == 0)
        return 0;
    if (s->out == NULL && (s->out = evbuffer_new()) == NULL)
        return -1;
    if (evbuffer_add_buffer(s->out, src) != 0)
        return -1;
    return wr_stream_queued_data(s);
}

int wr_mux_stream_write(wr_mux_stream_t *s, const void *data, size_t len)
{
    if (wr_stream_check_writable(s) != 0)
        return -1;
    if (len == 0)
        return 0;
    if (s->out == NULL && (s->out = evbuffer_new()) == NULL)
        return -1;
    if (evbuffer_add(s->out, data, len) != 0)
        return -1;
    return wr_stream_queued_data(s);
}

size_t wr_mux_stream_queued(const wr_mux_stream_t *s)
{
    return wr_buf_len(s->out);
}

int wr_mux_stream_write_full(const wr_mux_stream_t *s)
{
    return s->m == NULL || s->dead || s->write_full;
}

int wr_mux_stream_shutdown(wr_mux_stream_t *s)
{
    if (s->m == NULL || s->dead || s->m->dead)
        return -1;
    if (s->fin_queued)
        return 0;
    s->fin_queued = 1;
    wr_stream_kick(s);
    return 0;
}

uint32_t wr_mux_stream_reset_reason(const wr_mux_stream_t *s)
{
    return s->rst_reason;
}

void wr_mux_stream_reset(wr_mux_stream_t *s, uint32_t reason)
{
    if (s->m == NULL || s->dead)
        return;
    s->held = 0; /* no event back to the caller that asked for it */
    wr_stream_kill(s, reason, 1);
    s->held = 1;
    s->notify_reset = 0;
}

void wr_mux_stream_close(wr_mux_stream_t *s)
{
    s->held = 0;
    s->read_cb = NULL;
    s->write_cb = NULL;
    s->event_cb = NULL;
    if (s->m && !s->dead) {
        wr_stream_drop_input(s);
        if (!s->fin_queued) {
            s->fin_queued = 1;
            if (!s->m->dead) {
                unsigned pinned = s->pinned; /* a caller up the stack may pin it too */
                s->pinned = 1;               /* the pump may finish it */
                wr_stream_kick(s);
                s->pinned = pinned;
            }
        }
    }
    wr_stream_maybe_free(s);
}
