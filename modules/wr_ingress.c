/*
 * wr_ingress: public HTTP connections, routed by Host to tunnels (see
 * wr_ingress.h for the design).
 *
 * A connection (wr_hconn_t) lives on one worker and goes through:
 *   HEAD  reading a request head (header timeout, then idle timeout
 *         between keep-alive requests);
 *   BODY  the request forwarded: head, then body bytes as they come;
 *   WAIT  the request is complete (FIN sent); only the response moves.
 * The response side runs beside BODY and WAIT: interim 1xx heads are passed
 * on, the final head is rewritten, the body forwarded until the message
 * ends. Then the stream is closed, and the connection goes back to HEAD
 * (keep-alive) or is closed once its output has left.
 */
#include "wr_ingress.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <http_parser.h>

#include "wr_ctl.h"
#include "wr_frame.h"
#include "wr_http.h"
#include "wr_log.h"
#include "wr_mux.h"
#include "wr_net.h"
#include "wr_pipe.h"
#include "wr_plugin.h"
#include "wr_registry.h"
#include "wr_server.h"
#include "wr_sni.h"
#include "wr_stats.h"
#include "wr_tls.h"
#include "wr_trace.h"

#define WR_HC_OUT_HIGH   (256 * 1024) /* public output above: stop reading the stream */
#define WR_HC_READ_MAX   (256 * 1024) /* stream bytes taken per round */
#define WR_HC_MAX_HOPS   3            /* moves between workers for one request */
#define WR_HC_READ_AHEAD (64 * 1024)  /* input kept beyond a head while a response runs */

enum {
    WR_HC_PEEK,
    WR_HC_HEAD,
    WR_HC_PLUGIN, /* request_headers suspended by a plugin */
    WR_HC_BODY,
    WR_HC_WAIT,
    WR_HC_CLOSING,
    WR_HC_MOVING,
    WR_HC_LINGER
};

typedef struct wr_hconn wr_hconn_t;

struct wr_hconn {
    wr_hconn_t *next, *prev; /* the worker's list */
    wr_worker_t *w;
    struct bufferevent *bev;
    int fd;             /* PEEK: the socket, before TLS starts */
    struct event *peek; /* PEEK: readable */
    int tls;
    wr_http_parser_t *req, *resp;
    struct evbuffer *rbuf; /* stream bytes not yet parsed */
    struct evbuffer *tmp;
    wr_mux_stream_t *s; /* the current request's stream */
    struct event *timer;
    char peer[64];
    char ip[64];
    char host[256];
    int state;
    int hops;
    unsigned requests;
    int method;
    int minor;            /* the public request's HTTP/1.x minor version */
    int keep;             /* the public side may carry another request */
    int upgrade_req;      /* the request asks for an upgrade */
    int head_started;     /* bytes of the next head have arrived */
    int req_done;         /* the request message is complete */
    int resp_head;        /* the final response head has been written */
    int resp_bytes;       /* something of a response has been written */
    int paused;           /* not reading the stream: public output full */
    int linger;           /* CLOSING: the client may still be sending */
    int eof;              /* the client has sent all it will (FIN seen) */
    wr_worker_t *move_to; /* MOVING: where, once the last response is out */
    uint64_t body_in;     /* request body bytes forwarded */
    unsigned status;
    /* plugins: NULL when none are loaded */
    wr_prec_t *pr;
    uint64_t sid; /* the tunnel's session, and its tunnel (-1: none yet) */
    int tunnel;
    /* metrics and trace context of the current request */
    uint64_t t0_us;                     /* its head arrived; 0: none, or counted */
    unsigned mx;                        /* its tunnel's wr_stats label */
    char trace[WR_TRACEPARENT_LEN + 1]; /* a traceparent made for it; "" kept */
};

typedef struct {
    const wr_ingress_conf_t *conf;
    wr_tls_t *tls; /* NULL: plain HTTP */
    wr_workers_t *ws;
    struct event *listener;
    int lfd;
    int draining;
} wr_ingress_t;

static wr_ingress_t wr_ing = {.lfd = -1};
static wr_hconn_t *wr_hconns[WR_WORKERS_MAX]; /* per worker, its own */
static int wr_ing_live;                       /* connections, atomic */

static const wr_conf_field_t wr_ingress_tls_fields[] = {
    {.key = "cert",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_ingress_cert_t, cert),
     .flags = WR_CONF_REQUIRED},
    {.key = "key",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_ingress_cert_t, key),
     .flags = WR_CONF_REQUIRED},
    {.key = NULL},
};

/* http.tls: a list of {cert, key}; the first is the default. */
static int wr_ingress_tls_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                                wr_conf_err_t *err)
{
    wr_ingress_conf_t *c = (wr_ingress_conf_t *)((char *)dst - offsetof(wr_ingress_conf_t, tls));

    if (wr_conf_node_expect(node, WR_CONF_NODE_SEQ, err) != 0)
        return -1;
    c->ntls = 0;
    for (size_t i = 0; i < wr_conf_seq_len(node); i++) {
        const wr_conf_node_t *e = wr_conf_seq_at(node, i);
        if (c->ntls >= WR_INGRESS_MAX_CERTS)
            return wr_conf_node_error(err, e, "more than %d certificates", WR_INGRESS_MAX_CERTS);
        if (wr_conf_apply(e, wr_ingress_tls_fields, &c->tls[c->ntls], err) != 0)
            return -1;
        c->ntls++;
    }
    return 0;
}

const wr_conf_field_t wr_ingress_fields[] = {
    {.key = "tls",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_ingress_conf_t, tls),
     .handler = wr_ingress_tls_field},
    {.key = "bind", .kind = WR_CONF_STRING, .offset = offsetof(wr_ingress_conf_t, bind)},
    {.key = "domain", .kind = WR_CONF_STRING, .offset = offsetof(wr_ingress_conf_t, domain)},
    {.key = "max_header",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_ingress_conf_t, max_header),
     .min = 1024,
     .max = 1024 * 1024},
    {.key = "max_body",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_ingress_conf_t, max_body),
     .min = 0,
     .max = UINT64_MAX / 2},
    {.key = "header_timeout",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_ingress_conf_t, header_ms),
     .min = 100,
     .max = 3600000},
    {.key = "idle_timeout",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_ingress_conf_t, idle_ms),
     .min = 100,
     .max = 86400000},
    {.key = "response_timeout",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_ingress_conf_t, response_ms),
     .min = 100,
     .max = 86400000},
    {.key = "max_connections",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_ingress_conf_t, max_conns),
     .min = 1,
     .max = 10000000},
    {.key = NULL},
};

void wr_ingress_conf_default(wr_ingress_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->bind = "0.0.0.0:8080";
    c->max_header = 16 * 1024;
    c->header_ms = 10000;
    c->idle_ms = 60000;
    c->response_ms = 60000;
    c->max_conns = 10000;
}

int wr_ingress_enabled(const wr_ingress_conf_t *c)
{
    return c->bind != NULL && strcmp(c->bind, "off") != 0 && c->bind[0] != '\0';
}

int wr_ingress_live(void)
{
    return __atomic_load_n(&wr_ing_live, __ATOMIC_RELAXED);
}

/* --- lifetime ---------------------------------------------------------- */

static void wr_hc_arm(wr_hconn_t *hc, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    event_add(hc->timer, &tv);
}

static void wr_hc_drop_stream(wr_hconn_t *hc, int reset, uint32_t reason)
{
    if (hc->s == NULL)
        return;
    if (reset)
        wr_mux_stream_reset(hc->s, reason);
    wr_mux_stream_close(hc->s);
    hc->s = NULL;
}

static void wr_hc_log(wr_hconn_t *hc);
static void wr_hc_count(wr_hconn_t *hc);

static void wr_hc_free(wr_hconn_t *hc)
{
    int id = wr_worker_id(hc->w);

    wr_hc_count(hc);
    if (hc->pr != NULL) {
        wr_prec_error(hc->pr, "connection closed");
        wr_hc_log(hc);
        wr_prec_free(hc->pr);
    }
    wr_hc_drop_stream(hc, 1, WR_RST_CANCEL);
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        wr_hconns[id] = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    if (hc->bev)
        bufferevent_free(hc->bev);
    if (hc->peek)
        event_free(hc->peek);
    if (hc->fd != -1)
        close(hc->fd);
    if (hc->timer)
        event_free(hc->timer);
    wr_http_parser_free(hc->req);
    wr_http_parser_free(hc->resp);
    if (hc->rbuf)
        evbuffer_free(hc->rbuf);
    if (hc->tmp)
        evbuffer_free(hc->tmp);
    free(hc);
    __atomic_sub_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
}

/* Close once what is queued has been written (or at once if nothing is). */
/* Everything has been written. If the client may still be sending (an
 * upload cut short by a 413, pipelined requests), closing now would make
 * the kernel answer its data with a reset, which can destroy the response
 * before the client reads it: stop writing, and read and discard what
 * comes for a moment first (a lingering close, RFC 9112 9.6). */
static void wr_hc_output_done(wr_hconn_t *hc)
{
    struct evbuffer *in = bufferevent_get_input(hc->bev);

    if (!hc->linger) {
        wr_hc_free(hc);
        return;
    }
    hc->state = WR_HC_LINGER;
    if (!hc->tls)
        shutdown(bufferevent_getfd(hc->bev), SHUT_WR);
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_enable(hc->bev, EV_READ);
    wr_hc_arm(hc, 2000);
}

static void wr_hc_close_after(wr_hconn_t *hc)
{
    /* Unread request bytes, or a body not read to its end. */
    hc->linger = evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0 ||
                 (hc->state == WR_HC_BODY && !hc->req_done);
    hc->state = WR_HC_CLOSING;
    hc->keep = 0;
    wr_hc_drop_stream(hc, !hc->req_done || !hc->resp_head, WR_RST_CANCEL);
    bufferevent_disable(hc->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0) {
        wr_hc_output_done(hc);
        return;
    }
    /* A client that does not read its error page still goes away. */
    wr_hc_arm(hc, wr_ing.conf->idle_ms);
}

/* Abort: the public peer sees the connection reset, never a FIN it could
 * take for the end of a complete response. */
static void wr_hc_abort(wr_hconn_t *hc, const char *why)
{
    struct linger lg = {1, 0};

    wr_log_debug("http %s: connection aborted: %s", hc->peer, why);
    if (hc->pr != NULL)
        wr_prec_error(hc->pr, why);
    if (hc->bev)
        setsockopt(bufferevent_getfd(hc->bev), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    wr_hc_free(hc);
}

static void wr_hc_next(wr_hconn_t *hc);

/* Answer the current request with a short page. keep: the connection may
 * go on (only when the request was read whole). */
static void wr_hc_reply(wr_hconn_t *hc, unsigned status, const char *detail, int keep)
{
    const wr_http_header_t *extra = NULL;
    size_t nextra = 0;

    if (hc->resp_bytes) {
        wr_hc_abort(hc, detail);
        return;
    }
    keep = keep && hc->keep && !wr_ing.draining;
    wr_log_info("http %s: %u for %s: %s", hc->peer, status, hc->host[0] ? hc->host : "-", detail);
    if (hc->pr != NULL) {
        wr_hdrs_t *set = hc->pr->hdrs[WR_RESPONSE];
        wr_prec_error(hc->pr, detail);
        /* Fields a plugin set for its rejection (Retry-After,
         * WWW-Authenticate). */
        if (wr_hdrs_changed(set) && !hc->resp_head)
            extra = wr_hdrs_fields(set, &nextra);
    }
    if (hc->method != HTTP_HEAD) {
        wr_http_error_page_ex(bufferevent_get_output(hc->bev), status, detail, !keep, extra,
                              nextra);
    } else if (wr_http_error_page_ex(hc->tmp, status, detail, !keep, extra, nextra) == 0) {
        /* A HEAD gets the head of the page only. */
        struct evbuffer_ptr end = evbuffer_search(hc->tmp, "\r\n\r\n", 4, NULL);
        if (end.pos >= 0)
            evbuffer_remove_buffer(hc->tmp, bufferevent_get_output(hc->bev), (size_t)end.pos + 4);
        evbuffer_drain(hc->tmp, evbuffer_get_length(hc->tmp));
    }
    hc->status = status;
    hc->resp_bytes = 1;
    wr_hc_log(hc);
    if (!keep) {
        wr_hc_close_after(hc);
        return;
    }
    wr_hc_drop_stream(hc, 1, WR_RST_CANCEL);
    wr_hc_next(hc);
}

/* --- plugins ----------------------------------------------------------- */

/* Ready the record's ctx: the session's slots are looked up afresh, the
 * session may have gone since the last phase. */
static void wr_hc_ctx(wr_hconn_t *hc)
{
    wr_server_tinfo_t ti;
    wr_pslots_t *slots = NULL;

    if (hc->tunnel >= 0 && wr_server_tunnel_info(hc->sid, hc->tunnel, &ti) == 0)
        slots = ti.slots;
    wr_prec_ctx(hc->pr, hc->tunnel >= 0 ? hc->sid : 0, hc->s ? wr_mux_stream_id(hc->s) : 0, slots);
}

/* The request's tunnel, for the record. */
static void wr_hc_set_tunnel(wr_hconn_t *hc, uint64_t sid, int tunnel)
{
    wr_server_tinfo_t ti;

    hc->sid = sid;
    hc->tunnel = tunnel;
    if (hc->pr != NULL && wr_server_tunnel_info(sid, tunnel, &ti) == 0) {
        snprintf(hc->pr->tunnel, sizeof(hc->pr->tunnel), "%s", ti.name);
        snprintf(hc->pr->token_id, sizeof(hc->pr->token_id), "%s", ti.token_id);
    }
}

/* The request is over: counted, once, by the status it got (none: the
 * public client went first, not counted). */
static void wr_hc_count(wr_hconn_t *hc)
{
    if (hc->t0_us == 0)
        return;
    wr_stats_http(hc->mx, hc->status, wr_papi_now_us() - hc->t0_us);
    hc->t0_us = 0;
}

/* W3C trace context: a valid traceparent (one) is kept; none, an invalid
 * one or several are replaced by a new one, which plugins see too. */
static void wr_hc_trace(wr_hconn_t *hc, const wr_http_head_t *h)
{
    const wr_http_header_t *tp = NULL;
    int n = 0;

    for (size_t i = 0; i < h->nheaders; i++) {
        const wr_http_header_t *f = &h->headers[i];
        if (f->name_len == 11 && strncasecmp(f->name, "traceparent", 11) == 0) {
            tp = f;
            n++;
        }
    }
    hc->trace[0] = '\0';
    if (n == 1 && wr_trace_valid(tp->value, tp->value_len))
        return;
    wr_trace_new(hc->trace);
    if (hc->pr != NULL)
        wr_hdrs_set(hc->pr->hdrs[WR_REQUEST], "traceparent", hc->trace);
}

/* The request is over (answered, failed or abandoned): log and
 * stream_close, once. */
static void wr_hc_log(wr_hconn_t *hc)
{
    wr_hc_count(hc);
    if (hc->pr == NULL || !hc->pr->active)
        return;
    hc->pr->status = hc->status;
    hc->pr->bytes_in = hc->body_in;
    wr_hc_ctx(hc);
    wr_prec_end(hc->pr);
}

/* --- requests ---------------------------------------------------------- */

static void wr_hc_read_head(wr_hconn_t *hc);
static void wr_hc_read_body(wr_hconn_t *hc);
static void wr_hc_response(wr_hconn_t *hc);
static void wr_hc_start(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg);

/* Between requests: a fresh head, with the idle timeout. */
static void wr_hc_next(wr_hconn_t *hc)
{
    hc->state = WR_HC_HEAD;
    hc->head_started = 0;
    hc->req_done = hc->resp_head = hc->resp_bytes = 0;
    hc->upgrade_req = 0;
    hc->method = -1;
    hc->body_in = 0;
    hc->status = 0;
    hc->host[0] = '\0';
    hc->hops = 0;
    evbuffer_drain(hc->rbuf, evbuffer_get_length(hc->rbuf));
    wr_hc_arm(hc, wr_ing.conf->idle_ms);
    if (hc->eof && evbuffer_get_length(bufferevent_get_input(hc->bev)) == 0) {
        wr_hc_close_after(hc); /* the client said all it had to say */
        return;
    }
    if (!hc->eof)
        bufferevent_enable(hc->bev, EV_READ);
    /* A pipelined request may be waiting: read it from the loop, not from
     * here, so that a thousand of them do not nest a thousand calls. */
    if (evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0)
        bufferevent_trigger(hc->bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* The owner of the host lives on another worker: move the connection there
 * with the head (re-serialised as parsed) and whatever followed it. */
static void wr_hc_move(wr_hconn_t *hc, const wr_http_head_t *h, wr_worker_t *to)
{
    struct evbuffer *pre = evbuffer_new();
    int fd = bufferevent_getfd(hc->bev);
    intptr_t hops = hc->hops + 1;

    if (pre == NULL || wr_http_write_request(pre, h, NULL) != 0 ||
        evbuffer_add_buffer(pre, bufferevent_get_input(hc->bev)) != 0) {
        if (pre)
            evbuffer_free(pre);
        wr_hc_reply(hc, 503, "out of memory", 0);
        return;
    }
    /* The fd goes with the connection: detach it from the bufferevent. The
     * request is logged where it is served. */
    bufferevent_setfd(hc->bev, -1);
    hc->t0_us = 0;
    if (hc->pr != NULL)
        hc->pr->active = 0;
    wr_hc_free(hc);
    __atomic_add_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED); /* still the same connection */
    if (wr_worker_handoff(to, fd, pre, wr_hc_start, (void *)hops) != 0)
        __atomic_sub_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
}

static void wr_hc_stream_read(wr_mux_stream_t *s, void *arg)
{
    wr_hc_response(arg);
}

static void wr_hc_stream_write(wr_mux_stream_t *s, void *arg)
{
    wr_hconn_t *hc = arg;

    if (hc->state == WR_HC_BODY) {
        bufferevent_enable(hc->bev, EV_READ);
        wr_hc_read_body(hc);
    }
}

static void wr_hc_stream_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_hconn_t *hc = arg;
    uint32_t reason = wr_mux_stream_reset_reason(s);

    wr_mux_stream_close(s);
    hc->s = NULL;
    if (reason == WR_RST_CONNECT)
        wr_hc_reply(hc, 502, "the tunnel's local service refused the connection", 0);
    else if (reason == WR_RST_TIMEOUT)
        wr_hc_reply(hc, 504, "the tunnel's local service did not answer in time", 0);
    else
        wr_hc_reply(hc, 502, "the tunnel closed the request", 0);
}

static void wr_hc_forward(wr_hconn_t *hc);

static void wr_hc_plugins_done(wr_ctx_t *ctx, int verdict)
{
    wr_hconn_t *hc = ((wr_prec_t *)ctx->host)->owner;

    if (verdict == WR_REJECT) {
        int st = ctx->reject_status;
        hc->keep = hc->keep && !wr_http_parser_head(hc->req)->body;
        wr_hc_reply(hc, st >= 300 && st <= 599 ? (unsigned)st : 403, ctx->reject_reason, 1);
        return;
    }
    wr_hc_forward(hc);
}

static void wr_hc_route(wr_hconn_t *hc)
{
    const wr_http_head_t *h = wr_http_parser_head(hc->req);
    wr_reg_owner_t owner;
    char key[WR_REG_KEY_MAX];

    hc->tunnel = -1;
    hc->t0_us = wr_papi_now_us();
    hc->mx = wr_stats_no_tunnel();
    if (hc->pr != NULL) {
        wr_prec_begin(hc->pr, h);
        hc->pr->tunnel[0] = hc->pr->token_id[0] = '\0';
    }
    hc->requests++;
    hc->method = h->method;
    hc->minor = h->minor;
    hc->keep = h->keep_alive && !wr_ing.draining;
    hc->upgrade_req = h->upgrade;
    if (wr_http_host(h, hc->host, sizeof(hc->host)) != 0) {
        hc->host[0] = '\0';
        wr_hc_reply(hc, 400, "missing or invalid Host header", 0);
        return;
    }
    snprintf(key, sizeof(key), "http:%s", hc->host);
    if (wr_reg_lookup(key, &owner) != 0) {
        wr_hc_reply(hc, 404, "no tunnel serves this host", !h->body);
        return;
    }
    if (owner.worker != hc->w && hc->tls) {
        /* TLS was set up on the worker of the SNI's host; another host's
         * session lives elsewhere and the connection cannot follow. */
        wr_hc_reply(hc, 421, "this connection serves another host: open a new one", !h->body);
        return;
    }
    if (owner.worker != hc->w) {
        if (hc->hops >= WR_HC_MAX_HOPS) {
            wr_hc_reply(hc, 503, "the tunnel is moving, try again", 0);
            return;
        }
        wr_log_debug("http %s: %s is served on worker %d", hc->peer, hc->host,
                     wr_worker_id(owner.worker));
        if (evbuffer_get_length(bufferevent_get_output(hc->bev)) > 0) {
            /* A pipelined request: the previous response is still going
             * out, and must not be lost with the move. */
            hc->state = WR_HC_MOVING;
            hc->move_to = owner.worker;
            bufferevent_disable(hc->bev, EV_READ);
            bufferevent_setwatermark(hc->bev, EV_WRITE, 0, 0);
            return;
        }
        wr_hc_move(hc, h, owner.worker);
        return;
    }
    wr_hc_set_tunnel(hc, owner.sid, owner.tunnel);
    hc->mx = owner.mx;
    wr_hc_trace(hc, h);
    if (hc->pr != NULL && wr_plugins_has(hc->pr->ps, WR_PHASE_REQUEST_HEADERS)) {
        int v;
        wr_hc_ctx(hc);
        v = wr_plugins_run(&hc->pr->ctx, WR_PHASE_REQUEST_HEADERS, wr_hc_plugins_done);
        if (v == WR_AGAIN) {
            hc->state = WR_HC_PLUGIN; /* reading stops until the verdict */
            bufferevent_disable(hc->bev, EV_READ);
            wr_hc_arm(hc, wr_ing.conf->response_ms);
            return;
        }
        wr_hc_plugins_done(&hc->pr->ctx, v);
        return;
    }
    wr_hc_forward(hc);
}

/* The request goes to the tunnel's client. */
static void wr_hc_forward(wr_hconn_t *hc)
{
    const wr_http_head_t *h = wr_http_parser_head(hc->req);
    wr_http_head_t edited;
    wr_http_fwd_t fw;
    char why[160];

    if (hc->pr != NULL && wr_hdrs_changed(hc->pr->hdrs[WR_REQUEST])) {
        /* Framing and routing fields cannot change, so the head's flags
         * still hold for the edited fields. */
        edited = *h;
        edited.headers =
            (wr_http_header_t *)wr_hdrs_fields(hc->pr->hdrs[WR_REQUEST], &edited.nheaders);
        h = &edited;
    }
    if (wr_ing.conf->max_body > 0 && h->content_length > 0 &&
        (uint64_t)h->content_length > wr_ing.conf->max_body) {
        wr_hc_reply(hc, 413, "request body too large", 0);
        return;
    }
    hc->s = wr_server_open_stream(hc->sid, hc->tunnel, hc->peer, why, sizeof(why));
    if (hc->s == NULL) {
        wr_hc_reply(hc, 502, why, 0);
        return;
    }
    wr_mux_stream_setcb(hc->s, wr_hc_stream_read, wr_hc_stream_write, wr_hc_stream_event, hc);
    memset(&fw, 0, sizeof(fw));
    fw.client_ip = hc->ip;
    fw.proto = hc->tls ? "https" : "http";
    fw.add_xfh = 1;
    fw.keep_upgrade = h->upgrade;
    /* With plugins, the edited fields carry it (a plugin may change it). */
    fw.traceparent = hc->pr == NULL && hc->trace[0] ? hc->trace : NULL;
    if (wr_http_write_request(hc->tmp, h, &fw) != 0 ||
        wr_mux_stream_write_buffer(hc->s, hc->tmp) != 0) {
        evbuffer_drain(hc->tmp, evbuffer_get_length(hc->tmp));
        wr_hc_reply(hc, 502, "the tunnel is gone", 0);
        return;
    }
    wr_http_parser_expect(hc->resp, h->method);
    hc->state = WR_HC_BODY;
    wr_hc_arm(hc, wr_ing.conf->response_ms);
    wr_hc_read_body(hc);
}

static void wr_hc_read_head(wr_hconn_t *hc)
{
    struct evbuffer *in = bufferevent_get_input(hc->bev);
    size_t before = evbuffer_get_length(in);
    int rc = wr_http_read_head(hc->req, in);
    const char *reason;
    unsigned status;

    switch (rc) {
    case WR_HTTP_NEED:
        if (hc->eof) {
            wr_hc_close_after(hc); /* a head cut short by the client's FIN */
            return;
        }
        if (!hc->head_started && before > 0) {
            /* The idle wait is over; the head now has header_timeout. */
            hc->head_started = 1;
            wr_hc_arm(hc, wr_ing.conf->header_ms);
        }
        return;
    case WR_HTTP_HEAD:
        wr_hc_route(hc);
        return;
    default:
        status = wr_http_parser_error(hc->req, &reason);
        hc->keep = 0;
        wr_hc_reply(hc, status ? status : 400, reason ? reason : "malformed request", 0);
        return;
    }
}

static void wr_hc_read_body(wr_hconn_t *hc)
{
    struct evbuffer *in = bufferevent_get_input(hc->bev);

    while (hc->state == WR_HC_BODY) {
        size_t n = 0;
        int rc;

        if (wr_mux_stream_write_full(hc->s)) {
            bufferevent_disable(hc->bev, EV_READ); /* until the stream drains */
            return;
        }
        rc = wr_http_read_body(hc->req, in, &n);
        if (rc == WR_HTTP_ERROR) {
            const char *reason;
            unsigned status = wr_http_parser_error(hc->req, &reason);
            hc->keep = 0;
            wr_hc_reply(hc, status ? status : 400, reason ? reason : "malformed request body", 0);
            return;
        }
        if (n > 0) {
            hc->body_in += n;
            if (wr_ing.conf->max_body > 0 && hc->body_in > wr_ing.conf->max_body) {
                hc->keep = 0;
                wr_hc_reply(hc, 413, "request body too large", 0);
                return;
            }
            evbuffer_remove_buffer(in, hc->tmp, n);
            if (wr_mux_stream_write_buffer(hc->s, hc->tmp) != 0) {
                evbuffer_drain(hc->tmp, evbuffer_get_length(hc->tmp));
                wr_hc_reply(hc, 502, "the tunnel is gone", 0);
                return;
            }
            if (!hc->resp_head)
                wr_hc_arm(hc, wr_ing.conf->response_ms);
        }
        if (rc == WR_HTTP_DONE) {
            hc->req_done = 1;
            hc->state = WR_HC_WAIT;
            /* Pipelined requests wait in our input, in order, until the
             * response is done; reading goes on (turning it off and on
             * for every request would cost two epoll_ctl calls) up to
             * the read watermark, where libevent stops it. */
            if (!hc->upgrade_req)
                wr_mux_stream_shutdown(hc->s);
            return;
        }
        if (n == 0 && hc->eof) {
            wr_hc_abort(hc, "the request body was cut short");
            return;
        }
        if (n == 0)
            return; /* more body to come */
    }
}

/* --- responses --------------------------------------------------------- */

/* A 101 to an upgrade request: from here on, raw bytes both ways. */
static void wr_hc_upgrade(wr_hconn_t *hc)
{
    struct bufferevent *bev = hc->bev;
    wr_mux_stream_t *s = hc->s;

    wr_hc_log(hc); /* what follows is no longer HTTP */
    /* Bytes the service sent after its 101 go out first. */
    evbuffer_add_buffer(bufferevent_get_output(bev), hc->rbuf);
    hc->bev = NULL;
    hc->s = NULL;
    wr_log_debug("http %s: %s upgraded", hc->peer, hc->host);
    wr_hc_free(hc);
    wr_pipe_new(bev, s, NULL, NULL, NULL);
}

static void wr_hc_response_done(wr_hconn_t *hc)
{
    wr_log_debug("http %s: %s -> %u", hc->peer, hc->host, hc->status);
    wr_hc_log(hc);
    wr_hc_drop_stream(hc, !hc->req_done, WR_RST_CANCEL);
    if (!hc->keep || !hc->req_done) {
        wr_hc_close_after(hc);
        return;
    }
    wr_hc_next(hc);
}

/* Hand what `to` gathered to the public socket (see wr_hc_response). -1
 * when out of memory: the connection is aborted. */
static int wr_hc_flush(wr_hconn_t *hc, struct evbuffer *to)
{
    if (wr_bev_send(hc->bev, to) == 0)
        return 0;
    wr_hc_abort(hc, "out of memory");
    return -1;
}

/* Move the response from the stream into `to` (the public socket's output
 * `out`, or a scratch buffer), flushing `to` before anything that writes
 * to the socket itself or ends the request. 1 when it stopped at the high
 * mark, 0 when it waits for more from the stream, -1 when the request
 * ended (and hc may be gone). */
static int wr_hc_response_to(wr_hconn_t *hc, struct evbuffer *to, struct evbuffer *out)
{
    while (hc->s != NULL) {
        size_t n = 0;
        int rc;

        if (evbuffer_get_length(out) + (to != out ? evbuffer_get_length(to) : 0) >=
            WR_HC_OUT_HIGH) {
            hc->paused = 1; /* resumed from the write callback */
            return 1;
        }
        hc->paused = 0;
        wr_mux_stream_read(hc->s, hc->rbuf, WR_HC_READ_MAX);
        if (!hc->resp_head) {
            const wr_http_head_t *h;
            wr_http_head_t edited;
            rc = wr_http_read_head(hc->resp, hc->rbuf);
            if (rc == WR_HTTP_NEED) {
                if (!wr_mux_stream_eof(hc->s))
                    return 0;
                if (wr_hc_flush(hc, to) == 0)
                    wr_hc_reply(hc, 502, "the tunnel's local service sent no response", 0);
                return -1;
            }
            if (rc != WR_HTTP_HEAD) {
                const char *reason;
                wr_http_parser_error(hc->resp, &reason);
                if (wr_hc_flush(hc, to) == 0)
                    wr_hc_reply(hc, 502, "the tunnel's local service sent an invalid response", 0);
                return -1;
            }
            h = wr_http_parser_head(hc->resp);
            hc->status = h->status;
            if (hc->pr != NULL && hc->pr->ttfb_us == 0)
                hc->pr->ttfb_us = wr_papi_now_us() - hc->pr->t0_us;
            if (h->status == 101 && hc->upgrade_req) {
                wr_http_write_response(to, h, 1, hc->minor);
                if (wr_hc_flush(hc, to) == 0)
                    wr_hc_upgrade(hc);
                return -1;
            }
            if (h->status >= 200 && hc->pr != NULL && hc->pr->active &&
                wr_plugins_has(hc->pr->ps, WR_PHASE_RESPONSE_HEADERS)) {
                wr_prec_t *pr = hc->pr;
                wr_hdrs_free(pr->hdrs[WR_RESPONSE]);
                pr->hdrs[WR_RESPONSE] = wr_hdrs_new(h);
                wr_hc_ctx(hc);
                if (wr_plugins_run(&pr->ctx, WR_PHASE_RESPONSE_HEADERS, NULL) == WR_REJECT) {
                    int st = pr->ctx.reject_status;
                    char why[sizeof(pr->ctx.reject_reason)];
                    memcpy(why, pr->ctx.reject_reason, sizeof(why));
                    /* The page replaces the response: none of its fields. */
                    wr_hdrs_free(pr->hdrs[WR_RESPONSE]);
                    pr->hdrs[WR_RESPONSE] = NULL;
                    hc->keep = 0;
                    if (wr_hc_flush(hc, to) == 0)
                        wr_hc_reply(hc, st >= 300 && st <= 599 ? (unsigned)st : 502, why, 0);
                    return -1;
                }
                if (wr_hdrs_changed(pr->hdrs[WR_RESPONSE])) {
                    edited = *h;
                    edited.headers =
                        (wr_http_header_t *)wr_hdrs_fields(pr->hdrs[WR_RESPONSE], &edited.nheaders);
                    h = &edited;
                }
            }
            if (h->status >= 200) {
                /* A body that ends only at EOF ends the public connection. */
                hc->keep = hc->keep && !h->close_delimited;
                hc->resp_head = 1;
                wr_hc_arm(hc, wr_ing.conf->idle_ms);
            }
            wr_http_write_response(to, h, hc->keep || h->status < 200, hc->minor);
            /* After a 100 Continue an error page may still replace the
             * final response. */
            if (h->status >= 200)
                hc->resp_bytes = 1;
        }
        rc = wr_http_read_body(hc->resp, hc->rbuf, &n);
        if (rc == WR_HTTP_ERROR) {
            if (wr_hc_flush(hc, to) == 0)
                wr_hc_abort(hc, "invalid response body from the service");
            return -1;
        }
        if (n > 0) {
            evbuffer_remove_buffer(hc->rbuf, to, n);
            if (hc->pr != NULL)
                hc->pr->bytes_out += n;
            wr_hc_arm(hc, wr_ing.conf->idle_ms);
        }
        if (rc == WR_HTTP_DONE) {
            if (hc->resp_head) {
                if (wr_hc_flush(hc, to) == 0)
                    wr_hc_response_done(hc);
                return -1;
            }
            continue; /* an interim 1xx: the final head follows */
        }
        if (evbuffer_get_length(hc->rbuf) == 0 && wr_mux_stream_readable(hc->s) == 0) {
            if (!wr_mux_stream_eof(hc->s))
                return 0; /* more to come */
            if (wr_hc_flush(hc, to) != 0)
                return -1;
            if (wr_http_eof(hc->resp) == WR_HTTP_DONE) {
                hc->keep = 0;
                wr_hc_response_done(hc);
            } else {
                wr_hc_abort(hc, "the service's response was cut short");
            }
            return -1;
        }
    }
    return 0;
}

/* Stream -> public socket. While the socket's output is empty the response
 * gathers in the scratch buffer, which wr_bev_send writes at once: no
 * write event is armed for it, and none is raised for what the socket
 * took, so go on while it takes. */
static void wr_hc_response(wr_hconn_t *hc)
{
    struct evbuffer *out = bufferevent_get_output(hc->bev);
    int rc;

    do {
        struct evbuffer *to = wr_bev_gather(hc->bev);
        rc = wr_hc_response_to(hc, to, out);
        if (rc < 0 || wr_hc_flush(hc, to) != 0)
            return;
    } while (rc == 1 && evbuffer_get_length(out) == 0);
}

/* --- public socket ----------------------------------------------------- */

static void wr_hc_on_read(struct bufferevent *bev, void *arg)
{
    wr_hconn_t *hc = arg;

    if (hc->state == WR_HC_HEAD)
        wr_hc_read_head(hc);
    else if (hc->state == WR_HC_BODY) {
        /* Under the read watermark, as libevent's own reads stay. */
        wr_bev_read_rest(bev, wr_ing.conf->max_header + WR_HC_READ_AHEAD);
        wr_hc_read_body(hc);
    } else if (hc->state == WR_HC_LINGER)
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    else if (hc->state != WR_HC_WAIT && hc->state != WR_HC_PLUGIN)
        bufferevent_disable(bev, EV_READ);
    /* WAIT, PLUGIN: what came stays in the input for the next request. */
}

static void wr_hc_on_write(struct bufferevent *bev, void *arg)
{
    wr_hconn_t *hc = arg;

    if (hc->state == WR_HC_CLOSING) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            wr_hc_output_done(hc);
        return;
    }
    if (hc->state == WR_HC_MOVING) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            wr_hc_move(hc, wr_http_parser_head(hc->req), hc->move_to);
        return;
    }
    if (hc->paused)
        wr_hc_response(hc);
}

static void wr_hc_on_event(struct bufferevent *bev, short what, void *arg)
{
    wr_hconn_t *hc = arg;
    char why[160];

    if (what & BEV_EVENT_CONNECTED)
        return; /* the TLS handshake is done */
    if (hc->state == WR_HC_LINGER) {
        wr_hc_free(hc); /* the client has gone: the close can be a clean one */
        return;
    }
    if (hc->tls && hc->requests == 0 && !hc->head_started && (what & BEV_EVENT_ERROR)) {
        wr_log_debug("http %s: TLS handshake failed: %s", hc->peer,
                     wr_tls_error(bev, why, sizeof(why)));
        wr_hc_free(hc);
        return;
    }
    if (hc->state == WR_HC_HEAD && !hc->head_started &&
        evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        wr_hc_free(hc); /* the client left between requests */
        return;
    }
    if ((what & BEV_EVENT_EOF) && hc->state == WR_HC_WAIT) {
        /* A half-close after a whole request: the response still goes
         * out, then what was pipelined before the FIN. */
        hc->eof = 1;
        return;
    }
    wr_hc_abort(hc, what & BEV_EVENT_EOF ? "client closed the connection" : "socket error");
}

static void wr_hc_on_timer(evutil_socket_t fd, short what, void *arg)
{
    wr_hconn_t *hc = arg;

    switch (hc->state) {
    case WR_HC_PEEK:
    case WR_HC_LINGER:
        wr_hc_free(hc); /* no ClientHello in time; lingered long enough */
        return;
    case WR_HC_HEAD:
        if (hc->head_started || hc->requests == 0) {
            hc->keep = 0;
            wr_hc_reply(hc, 408, "the request head did not arrive in time", 0);
        } else {
            wr_hc_free(hc); /* idle keep-alive connection */
        }
        return;
    case WR_HC_CLOSING:
    case WR_HC_MOVING:
        wr_hc_abort(hc, "the client does not read");
        return;
    case WR_HC_PLUGIN:
        hc->keep = 0;
        wr_hc_reply(hc, 503, "a plugin did not decide on the request in time", 0);
        return;
    default:
        if (!hc->resp_head && !hc->resp_bytes) {
            hc->keep = 0;
            wr_hc_drop_stream(hc, 1, WR_RST_TIMEOUT);
            wr_hc_reply(hc, 504, "the tunnel's local service did not answer in time", 0);
        } else {
            wr_hc_abort(hc, "transfer stalled");
        }
        return;
    }
}

/* The bufferevent exists (plain, or TLS accepting): read requests. */
static void wr_hc_begin(wr_hconn_t *hc, struct evbuffer *preread)
{
    if (preread) {
        /* A socket bufferevent keeps the end of its input frozen outside
         * its own reads: thaw it to put back what was read elsewhere. */
        struct evbuffer *in = bufferevent_get_input(hc->bev);
        evbuffer_unfreeze(in, 0);
        evbuffer_add_buffer(in, preread);
        evbuffer_freeze(in, 0);
        evbuffer_free(preread);
    }
    bufferevent_setcb(hc->bev, wr_hc_on_read, wr_hc_on_write, wr_hc_on_event, hc);
    bufferevent_setwatermark(hc->bev, EV_WRITE, WR_HC_OUT_HIGH / 2, 0);
    /* What a client may send ahead of its current response (pipelined
     * requests): a head always fits below the mark. */
    bufferevent_setwatermark(hc->bev, EV_READ, 0, wr_ing.conf->max_header + WR_HC_READ_AHEAD);
    wr_bev_bulk(hc->bev);
    hc->state = WR_HC_HEAD;
    wr_hc_arm(hc, wr_ing.conf->header_ms);
    bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
    wr_log_debug("http %s: connection (%s, hop %d, %zu bytes read)", hc->peer,
                 hc->tls ? "TLS" : "plain", hc->hops,
                 evbuffer_get_length(bufferevent_get_input(hc->bev)));
    if (evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0) {
        hc->head_started = 1;
        wr_hc_read_head(hc);
    }
}

/* TLS from here, on this worker. */
static void wr_hc_tls_begin(wr_hconn_t *hc)
{
    int fd = hc->fd;

    if (hc->peek) {
        event_free(hc->peek);
        hc->peek = NULL;
    }
    hc->fd = -1;
    hc->bev = wr_tls_accept(wr_ing.tls, wr_worker_base(hc->w), fd); /* closes fd on failure */
    if (hc->bev == NULL) {
        wr_hc_free(hc);
        return;
    }
    wr_hc_begin(hc, NULL);
}

/* TLS, before the handshake: the SNI in the ClientHello (peeked, nothing
 * consumed) names the host, and so the worker that must serve it. A TLS
 * connection cannot move once started. */
static void wr_hc_on_peek(evutil_socket_t fd, short what, void *arg)
{
    wr_hconn_t *hc = arg;
    wr_reg_owner_t owner;
    char key[WR_REG_KEY_MAX];
    int rc = wr_sni_peek(hc->fd, hc->host, sizeof(hc->host));

    switch (rc) {
    case WR_SNI_NEED:
        return;
    case WR_SNI_FOUND:
        snprintf(key, sizeof(key), "http:%s", hc->host);
        if (wr_reg_lookup(key, &owner) == 0 && owner.worker != hc->w) {
            int sock = hc->fd;
            hc->fd = -1;
            wr_log_debug("http %s: TLS for %s is served on worker %d", hc->peer, hc->host,
                         wr_worker_id(owner.worker));
            wr_hc_free(hc);
            __atomic_add_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED); /* the same connection */
            if (wr_worker_handoff(owner.worker, sock, NULL, wr_hc_start, (void *)1) != 0)
                __atomic_sub_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
            return;
        }
        hc->host[0] = '\0';
        wr_hc_tls_begin(hc);
        return;
    case WR_SNI_NONE:
        hc->host[0] = '\0';
        wr_hc_tls_begin(hc);
        return;
    default:
        wr_log_debug("http %s: not a TLS ClientHello (%d)", hc->peer, rc);
        wr_hc_free(hc);
        return;
    }
}

/* A connection handed to this worker: arg is the number of moves so far
 * (plain), or non-NULL once its ClientHello has been looked at (TLS). */
static void wr_hc_start(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg)
{
    wr_hconn_t *hc = calloc(1, sizeof(*hc));
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int id = wr_worker_id(w);

    if (hc == NULL)
        goto failed;
    hc->w = w;
    hc->fd = -1;
    hc->method = -1;
    hc->tls = wr_ing.tls != NULL;
    hc->hops = hc->tls ? 0 : (int)(intptr_t)arg;
    hc->tunnel = -1;
    hc->next = wr_hconns[id];
    if (hc->next)
        hc->next->prev = hc;
    wr_hconns[id] = hc;
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0) {
        wr_addr_t a;
        memcpy(&a.ss, &sa, len);
        a.len = len;
        wr_addr_format(&a, hc->peer, sizeof(hc->peer));
        /* The address without the port, for X-Forwarded-For. */
        wr_peer_ip(hc->peer, hc->ip, sizeof(hc->ip));
    } else {
        snprintf(hc->peer, sizeof(hc->peer), "?");
        snprintf(hc->ip, sizeof(hc->ip), "unknown");
    }
    hc->pr = wr_prec_new(wr_server_plugins(), id);
    if (hc->pr != NULL) {
        hc->pr->owner = hc;
        hc->pr->peer = hc->peer;
        hc->pr->client_ip = hc->ip;
        hc->pr->host = hc->host;
        hc->pr->scheme = hc->tls ? "https" : "http";
        hc->pr->type = "http";
    }
    hc->req = wr_http_parser_new(0, wr_ing.conf->max_header);
    hc->resp = wr_http_parser_new(1, wr_ing.conf->max_header);
    hc->rbuf = evbuffer_new();
    hc->tmp = evbuffer_new();
    hc->timer = event_new(wr_worker_base(w), -1, 0, wr_hc_on_timer, hc);
    if (hc->req == NULL || hc->resp == NULL || hc->rbuf == NULL || hc->tmp == NULL ||
        hc->timer == NULL) {
        close(fd);
        wr_hc_free(hc);
        evbuffer_free(preread);
        return;
    }
    wr_sock_tune(fd, 0);
    if (hc->tls) {
        evbuffer_free(preread); /* nothing is read before TLS */
        hc->fd = fd;
        if (arg != NULL) {
            wr_hc_tls_begin(hc);
            return;
        }
        hc->state = WR_HC_PEEK;
        /* Edge-triggered: a peek consumes nothing, so a half-sent ClientHello
         * would keep the socket readable and spin the loop. */
        hc->peek =
            event_new(wr_worker_base(w), fd, EV_READ | EV_PERSIST | EV_ET, wr_hc_on_peek, hc);
        if (hc->peek == NULL || event_add(hc->peek, NULL) != 0) {
            wr_hc_free(hc);
            return;
        }
        wr_hc_arm(hc, wr_ing.conf->header_ms);
        return;
    }
    hc->bev = bufferevent_socket_new(wr_worker_base(w), fd, BEV_OPT_CLOSE_ON_FREE);
    if (hc->bev == NULL) {
        close(fd);
        wr_hc_free(hc);
        evbuffer_free(preread);
        return;
    }
    wr_hc_begin(hc, preread);
    return;

failed:
    close(fd);
    if (preread)
        evbuffer_free(preread);
    __atomic_sub_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
}

/* --- main thread ------------------------------------------------------- */

static void wr_ing_on_accept(evutil_socket_t lfd, short what, void *arg)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                wr_log_warn("http accept: %s", strerror(errno));
            return;
        }
        if (__atomic_load_n(&wr_ing_live, __ATOMIC_RELAXED) >= wr_ing.conf->max_conns) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                       "Content-Length: 0\r\nConnection: close\r\n\r\n";
            ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)n;
            close(fd);
            continue;
        }
        __atomic_add_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
        if (wr_worker_handoff(wr_workers_next(wr_ing.ws), fd, NULL, wr_hc_start, NULL) != 0)
            __atomic_sub_fetch(&wr_ing_live, 1, __ATOMIC_RELAXED);
    }
}

int wr_ingress_start(const wr_ingress_conf_t *c, wr_workers_t *ws, struct event_base *base,
                     uint16_t *port, char *why, size_t whylen)
{
    wr_addr_t addr;
    char err[160];

    wr_ing.conf = c;
    wr_ing.ws = ws;
    wr_ing.draining = 0;
    if (c->ntls > 0) {
        const char *certs[WR_INGRESS_MAX_CERTS], *keys[WR_INGRESS_MAX_CERTS];
        for (size_t i = 0; i < c->ntls; i++) {
            certs[i] = c->tls[i].cert;
            keys[i] = c->tls[i].key;
        }
        wr_ing.tls = wr_tls_server_sni_new(certs, keys, c->ntls, err, sizeof(err));
        if (wr_ing.tls == NULL) {
            snprintf(why, whylen, "http.tls: %s", err);
            return -1;
        }
    }
    if (wr_addr_parse(c->bind, &addr, err, sizeof(err)) != 0) {
        snprintf(why, whylen, "http.bind: %s", err);
        return -1;
    }
    wr_ing.lfd = wr_listen(&addr, 1024);
    if (wr_ing.lfd == -1) {
        snprintf(why, whylen, "cannot listen on %s (http): %s", c->bind, strerror(errno));
        return -1;
    }
    wr_ing.listener = event_new(base, wr_ing.lfd, EV_READ | EV_PERSIST, wr_ing_on_accept, NULL);
    if (wr_ing.listener == NULL || event_add(wr_ing.listener, NULL) != 0) {
        snprintf(why, whylen, "out of memory");
        wr_ingress_free();
        return -1;
    }
    *port = wr_addr_port(&addr);
    return 0;
}

void wr_ingress_drain(void)
{
    __atomic_store_n(&wr_ing.draining, 1, __ATOMIC_RELAXED);
    if (wr_ing.listener)
        event_del(wr_ing.listener);
    if (wr_ing.lfd != -1) {
        close(wr_ing.lfd);
        wr_ing.lfd = -1;
    }
}

void wr_ingress_worker_stop(wr_worker_t *w, void *arg)
{
    while (wr_hconns[wr_worker_id(w)])
        wr_hc_free(wr_hconns[wr_worker_id(w)]);
}

int wr_ingress_tls(void)
{
    return wr_ing.tls != NULL;
}

void wr_ingress_free(void)
{
    wr_tls_free(wr_ing.tls);
    wr_ing.tls = NULL;
    if (wr_ing.listener) {
        event_free(wr_ing.listener);
        wr_ing.listener = NULL;
    }
    if (wr_ing.lfd != -1) {
        close(wr_ing.lfd);
        wr_ing.lfd = -1;
    }
}
