/*
 * wr_proxy: HTTP requests from the tunnel to the local service, over a pool
 * of keep-alive connections (see wr_proxy.h).
 *
 * A request (wr_preq_t) goes through HEAD (its head arriving on the
 * stream), CONNECT (a connection from the pool or a new one), and FORWARD
 * (the head sent, the body copied as it arrives, the response coming back).
 * It ends when the response has ended (the stream is finished and the
 * connection pooled when both sides allow it), or fails (the stream is
 * reset with a reason the server turns into a 502 or 504).
 */
#include "wr_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <http_parser.h>

#include "wr_cap.h"
#include "wr_frame.h"
#include "wr_http.h"
#include "wr_log.h"
#include "wr_net.h"
#include "wr_pipe.h"
#include "wr_plugin.h"
#include "wr_stats.h"

#define WR_PX_OUT_HIGH (256 * 1024) /* bytes queued to the service before we stop */
#define WR_PX_READ_MAX (256 * 1024)
/* Finished requests kept for the next ones, with their parsers, buffers
 * and timer: a request then costs no allocation of its own. */
#define WR_PX_SPARE 16

enum { WR_PX_HEAD, WR_PX_CONNECT, WR_PX_FORWARD };

typedef struct wr_pconn wr_pconn_t;
typedef struct wr_preq wr_preq_t;

struct wr_pconn {
    wr_pconn_t *next, *prev; /* the pool's idle list */
    wr_proxy_t *p;
    struct bufferevent *bev;
    struct event *idle; /* made the first time the connection is pooled */
    int pooled;
};

struct wr_preq {
    wr_preq_t *next, *prev; /* the proxy's requests */
    wr_proxy_t *p;
    wr_mux_stream_t *s;
    wr_pconn_t *c;
    wr_http_parser_t *req, *resp;
    struct evbuffer *in;   /* from the stream, not yet forwarded */
    struct evbuffer *head; /* the request head as sent, kept for one retry */
    struct event *timer;
    char peer[64];
    char line[96]; /* "GET /path", for logs */
    int state;
    int req_done, resp_head, resp_bytes, resp_keep;
    int retryable, retried, reused, upgrade;
    int local_paused; /* not reading the service: the stream is full */
    unsigned status;
    uint64_t t0_us; /* monotonic, when the stream arrived */
    wr_prec_t *pr;  /* plugins: NULL when none are loaded */
    char host[256]; /* for plugins: the request's Host */
    /* the dashboard's capture of this request: NULL when off */
    wr_cap_entry_t *ce;
};

struct wr_proxy {
    struct event_base *base;
    wr_proxy_conf_t conf;
    char *tunnel, *local, *host_header;
    wr_addr_t addr;
    int addr_ok;
    wr_pconn_t *idle; /* most recently used first */
    int64_t nidle;
    wr_preq_t *reqs;
    wr_preq_t *spare; /* finished requests for reuse (next), WR_PX_SPARE at most */
    int nspare;
    wr_proxy_stats_t stats;
    const wr_plugins_t *ps; /* NULL: no plugins */
    uint64_t sid;           /* the client's session, for plugins */
    wr_pslots_t *sslots;
    unsigned mx;   /* the tunnel's wr_stats label */
    wr_cap_t *cap; /* the dashboard's capture store, or NULL */
};

void wr_proxy_set_plugins(wr_proxy_t *p, const wr_plugins_t *ps)
{
    p->ps = wr_plugins_count(ps) > 0 ? ps : NULL;
}

void wr_proxy_set_capture(wr_proxy_t *p, wr_cap_t *cap)
{
    p->cap = cap;
}

void wr_proxy_set_session(wr_proxy_t *p, uint64_t sid, wr_pslots_t *slots)
{
    p->sid = sid;
    p->sslots = slots;
}

/* --- plugins (client side) ---------------------------------------------- */

static void wr_preq_ctx(wr_preq_t *r)
{
    wr_prec_ctx(r->pr, r->p->sid, r->s != NULL ? wr_mux_stream_id(r->s) : 0, r->p->sslots);
}

/* Answer the public client from here, on the stream (a plugin refused). */
static void wr_preq_answer(wr_preq_t *r, int status, const char *reason)
{
    const wr_http_header_t *extra = NULL;
    size_t nextra = 0;

    if (status < 300 || status > 599)
        status = 403;
    if (wr_hdrs_changed(r->pr->hdrs[WR_RESPONSE]))
        extra = wr_hdrs_fields(r->pr->hdrs[WR_RESPONSE], &nextra);
    evbuffer_drain(r->head, evbuffer_get_length(r->head));
    r->status = (unsigned)status;
    wr_prec_error(r->pr, reason);
    if (wr_http_error_page_ex(r->head, (unsigned)status, reason, 1, extra, nextra) == 0 &&
        r->s != NULL)
        wr_mux_stream_write_buffer(r->s, r->head);
    if (r->s != NULL) {
        wr_mux_stream_close(r->s); /* FIN after the page */
        r->s = NULL;
    }
}

void wr_proxy_conf_default(wr_proxy_conf_t *c)
{
    c->max_idle = 32;
    c->idle_ms = 30000;
    c->max_header = 64 * 1024;
    c->connect_ms = 5000;
    c->response_ms = 60000;
}

const wr_proxy_stats_t *wr_proxy_stats(const wr_proxy_t *p)
{
    return &p->stats;
}

/* --- the pool ---------------------------------------------------------- */

static void wr_pconn_free(wr_pconn_t *c)
{
    wr_proxy_t *p = c->p;

    if (c->pooled) {
        if (c->prev)
            c->prev->next = c->next;
        else
            p->idle = c->next;
        if (c->next)
            c->next->prev = c->prev;
        p->nidle--;
    }
    if (c->idle)
        event_free(c->idle);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

/* An idle connection that says anything, or closes, or idles too long, is
 * of no more use. */
static void wr_pconn_idle_read(struct bufferevent *bev, void *arg)
{
    wr_pconn_free(arg);
}

static void wr_pconn_idle_event(struct bufferevent *bev, short what, void *arg)
{
    wr_pconn_free(arg);
}

static void wr_pconn_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
    wr_pconn_free(arg);
}

static void wr_pconn_put(wr_proxy_t *p, wr_pconn_t *c)
{
    struct timeval tv = {(time_t)(p->conf.idle_ms / 1000),
                         (suseconds_t)(p->conf.idle_ms % 1000) * 1000};

    if (p->nidle >= p->conf.max_idle || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
        (c->idle == NULL &&
         (c->idle = event_new(p->base, -1, 0, wr_pconn_idle_timeout, c)) == NULL)) {
        wr_pconn_free(c);
        return;
    }
    event_add(c->idle, &tv);
    c->pooled = 1;
    bufferevent_setcb(c->bev, wr_pconn_idle_read, NULL, wr_pconn_idle_event, c);
    bufferevent_enable(c->bev, EV_READ);
    c->prev = NULL;
    c->next = p->idle;
    if (c->next)
        c->next->prev = c;
    p->idle = c;
    p->nidle++;
}

static wr_pconn_t *wr_pconn_take(wr_proxy_t *p)
{
    wr_pconn_t *c = p->idle;

    if (c == NULL)
        return NULL;
    p->idle = c->next;
    if (p->idle)
        p->idle->prev = NULL;
    p->nidle--;
    event_del(c->idle);
    c->pooled = 0;
    c->next = c->prev = NULL;
    return c;
}

/* --- requests ---------------------------------------------------------- */

static void wr_preq_connect(wr_preq_t *r);
static void wr_preq_on_timeout(evutil_socket_t fd, short what, void *arg);
static void wr_preq_forward(wr_preq_t *r);
static void wr_preq_send(wr_preq_t *r);
static int wr_preq_response(wr_preq_t *r);

static long wr_preq_ms(const wr_preq_t *r)
{
    return (long)((wr_papi_now_us() - r->t0_us) / 1000);
}

static void wr_preq_destroy(wr_preq_t *r)
{
    if (r->timer)
        event_free(r->timer);
    wr_http_parser_free(r->req);
    wr_http_parser_free(r->resp);
    if (r->in)
        evbuffer_free(r->in);
    if (r->head)
        evbuffer_free(r->head);
    free(r);
}

/* A request as new, a spare one if there is one; NULL when out of memory. */
static wr_preq_t *wr_preq_new(wr_proxy_t *p)
{
    wr_preq_t *r = p->spare;
    wr_http_parser_t *req, *resp;
    struct evbuffer *in, *head;
    struct event *timer;

    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return NULL;
        r->p = p;
        r->req = wr_http_parser_new(0, p->conf.max_header);
        r->resp = wr_http_parser_new(1, p->conf.max_header);
        r->in = evbuffer_new();
        r->head = evbuffer_new();
        r->timer = event_new(p->base, -1, 0, wr_preq_on_timeout, r);
        return r;
    }
    p->spare = r->next;
    p->nspare--;
    req = r->req;
    resp = r->resp;
    in = r->in;
    head = r->head;
    timer = r->timer;
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->req = req;
    r->resp = resp;
    r->in = in;
    r->head = head;
    r->timer = timer;
    wr_http_parser_reset(req);
    wr_http_parser_reset(resp);
    return r;
}

/* Ends r; it is kept for reuse while there are few spare ones. */
static void wr_preq_free(wr_preq_t *r)
{
    wr_proxy_t *p = r->p;

    wr_cap_end(r->ce, r->status);
    if (r->pr != NULL) {
        r->pr->status = r->status;
        wr_preq_ctx(r);
        wr_prec_free(r->pr); /* log and stream_close */
    }
    if (r->prev)
        r->prev->next = r->next;
    else
        p->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->c)
        wr_pconn_free(r->c);
    if (r->s) {
        wr_mux_stream_reset(r->s, WR_RST_CANCEL);
        wr_mux_stream_close(r->s);
    }
    p->stats.requests++;
    wr_stats_http(p->mx, r->status, wr_papi_now_us() - r->t0_us);
    if (p->nspare < WR_PX_SPARE && r->req != NULL && r->resp != NULL && r->in != NULL &&
        r->head != NULL && r->timer != NULL) {
        event_del(r->timer);
        evbuffer_drain(r->in, evbuffer_get_length(r->in));
        evbuffer_drain(r->head, evbuffer_get_length(r->head));
        r->next = p->spare;
        p->spare = r;
        p->nspare++;
        return;
    }
    wr_preq_destroy(r);
}

/* No response can come: tell the server why (it answers 502 or 504). */
static void wr_preq_fail(wr_preq_t *r, uint32_t reason, const char *why)
{
    if (r->resp_bytes)
        wr_log_info("tunnel %s: %s from %s: response cut short: %s", r->p->tunnel, r->line, r->peer,
                    why);
    else
        wr_log_info("tunnel %s: %s from %s: no response: %s", r->p->tunnel, r->line, r->peer, why);
    r->p->stats.failures++;
    wr_cap_error(r->ce, why);
    if (r->pr != NULL)
        wr_prec_error(r->pr, why);
    if (!r->resp_bytes && reason == WR_RST_CONNECT)
        r->status = 502;
    else if (!r->resp_bytes && reason == WR_RST_TIMEOUT)
        r->status = 504;
    if (r->s) {
        wr_mux_stream_reset(r->s, reason);
        wr_mux_stream_close(r->s);
        r->s = NULL;
    }
    wr_preq_free(r);
}

/* The response has ended: finish the stream, pool the connection. */
static void wr_preq_done(wr_preq_t *r)
{
    wr_pconn_t *c = r->c;

    wr_log_debug("tunnel %s: %s from %s -> %u in %ld ms%s", r->p->tunnel, r->line, r->peer,
                 r->status, wr_preq_ms(r), r->reused ? " (pooled connection)" : "");
    wr_mux_stream_close(r->s); /* FIN after the queued response */
    r->s = NULL;
    r->c = NULL;
    if (r->resp_keep && r->req_done)
        wr_pconn_put(r->p, c);
    else
        wr_pconn_free(c);
    wr_preq_free(r);
}

static void wr_preq_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    wr_preq_t *r = arg;

    if (r->resp_head)
        wr_preq_fail(r, WR_RST_CANCEL, "the service stalled");
    else
        wr_preq_fail(r, WR_RST_TIMEOUT, "the service did not answer in time");
}

static void wr_preq_arm(wr_preq_t *r, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    event_add(r->timer, &tv);
}

/* A 101: the connection and the stream are spliced raw. */
static void wr_preq_upgrade(wr_preq_t *r)
{
    struct bufferevent *bev = r->c->bev;
    wr_mux_stream_t *s = r->s;

    /* What the public client sent after its request goes first. */
    evbuffer_add_buffer(bufferevent_get_output(bev), r->in);
    r->c->bev = NULL;
    r->s = NULL;
    wr_log_debug("tunnel %s: %s from %s upgraded", r->p->tunnel, r->line, r->peer);
    wr_preq_free(r);
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    wr_pipe_new(bev, s, NULL, NULL, NULL);
}

/* Forward what the service has sent. -1 when r is gone (finished or
 * failed), 0 when it waits for more. */
static int wr_preq_response(wr_preq_t *r)
{
    struct evbuffer *in = bufferevent_get_input(r->c->bev);
    struct evbuffer *tmp = r->head; /* free once sent: reused as scratch */

    for (;;) {
        size_t n = 0;
        int rc;

        if (wr_mux_stream_write_full(r->s)) {
            r->local_paused = 1;
            bufferevent_disable(r->c->bev, EV_READ); /* until the stream drains */
            return 0;
        }
        if (!r->resp_head) {
            const wr_http_head_t *h;
            wr_http_head_t edited;
            rc = wr_http_read_head(r->resp, in);
            if (rc == WR_HTTP_NEED)
                return 0;
            if (rc != WR_HTTP_HEAD) {
                const char *why;
                wr_http_parser_error(r->resp, &why);
                wr_preq_fail(r, WR_RST_CANCEL, why ? why : "invalid response");
                return -1;
            }
            h = wr_http_parser_head(r->resp);
            r->status = h->status;
            evbuffer_drain(tmp, evbuffer_get_length(tmp));
            if (r->pr != NULL && r->pr->ttfb_us == 0)
                r->pr->ttfb_us = wr_papi_now_us() - r->pr->t0_us;
            if (h->status >= 200 && h->status != 101 && r->pr != NULL &&
                wr_plugins_has(r->pr->ps, WR_PHASE_RESPONSE_HEADERS)) {
                wr_prec_t *pr = r->pr;
                wr_hdrs_free(pr->hdrs[WR_RESPONSE]);
                pr->hdrs[WR_RESPONSE] = wr_hdrs_new(h);
                wr_preq_ctx(r);
                if (wr_plugins_run(&pr->ctx, WR_PHASE_RESPONSE_HEADERS, NULL) == WR_REJECT) {
                    /* The page replaces the response: none of its fields. */
                    wr_hdrs_free(pr->hdrs[WR_RESPONSE]);
                    pr->hdrs[WR_RESPONSE] = NULL;
                    wr_preq_answer(r, pr->ctx.reject_status, pr->ctx.reject_reason);
                    wr_preq_free(r); /* the connection to the service is dropped */
                    return -1;
                }
                if (wr_hdrs_changed(pr->hdrs[WR_RESPONSE])) {
                    edited = *h;
                    edited.headers =
                        (wr_http_header_t *)wr_hdrs_fields(pr->hdrs[WR_RESPONSE], &edited.nheaders);
                    h = &edited;
                }
            }
            r->retryable = 0;
            if (h->status >= 200 || h->status == 101)
                wr_cap_response(r->ce, h);
            if (h->status == 101 && r->upgrade) {
                wr_http_write_response(tmp, h, 1, 1);
                wr_mux_stream_write_buffer(r->s, tmp);
                wr_preq_upgrade(r);
                return -1;
            }
            if (h->status >= 200) {
                r->resp_head = 1;
                r->resp_keep = h->keep_alive && !h->close_delimited;
            }
            wr_http_write_response(tmp, h, 1, 1);
            if (wr_mux_stream_write_buffer(r->s, tmp) != 0) {
                wr_preq_fail(r, WR_RST_CANCEL, "stream gone");
                return -1;
            }
            r->resp_bytes = 1;
            wr_preq_arm(r, r->p->conf.response_ms);
        }
        rc = wr_http_read_body(r->resp, in, &n);
        if (rc == WR_HTTP_ERROR) {
            wr_preq_fail(r, WR_RST_CANCEL, "invalid response body");
            return -1;
        }
        if (n > 0) {
            if (r->pr != NULL)
                r->pr->bytes_out += n;
            wr_cap_body(r->ce, WR_CAP_RESP, in, n);
            evbuffer_remove_buffer(in, tmp, n);
            if (wr_mux_stream_write_buffer(r->s, tmp) != 0) {
                wr_preq_fail(r, WR_RST_CANCEL, "stream gone");
                return -1;
            }
            wr_preq_arm(r, r->p->conf.response_ms);
        }
        if (rc == WR_HTTP_DONE) {
            if (r->resp_head) {
                wr_preq_done(r);
                return -1;
            }
            continue; /* an interim 1xx */
        }
        if (n == 0)
            return 0;
    }
}

static void wr_preq_local_read(struct bufferevent *bev, void *arg)
{
    wr_bev_read_rest(bev, WR_BEV_READ_REST);
    (void)wr_preq_response(arg);
}

static void wr_preq_local_write(struct bufferevent *bev, void *arg)
{
    wr_preq_t *r = arg;

    if (!r->req_done)
        wr_preq_forward(r);
}

static void wr_preq_local_event(struct bufferevent *bev, short what, void *arg)
{
    wr_preq_t *r = arg;

    if (what & BEV_EVENT_CONNECTED) {
        wr_preq_send(r);
        return;
    }
    if (r->state == WR_PX_CONNECT) {
        char why[160];
        snprintf(why, sizeof(why), "cannot connect to %s: %s", r->p->local,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        wr_log_warn("tunnel %s: %s", r->p->tunnel, why);
        wr_metric_add(wr_stats.local_connect_failures, r->p->mx, 0, 1);
        wr_preq_fail(r, WR_RST_CONNECT, why);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* Whatever came before the EOF first. */
        if (wr_preq_response(r) != 0)
            return;
        if (r->resp_head && wr_http_eof(r->resp) == WR_HTTP_DONE) {
            r->resp_keep = 0;
            wr_preq_done(r);
            return;
        }
    }
    if (!r->resp_bytes && r->reused && r->retryable && !r->retried) {
        /* The pooled connection had been closed by the service. */
        r->retried = 1;
        r->p->stats.retries++;
        wr_pconn_free(r->c);
        r->c = NULL;
        r->reused = 0;
        wr_http_parser_reset(r->resp);
        wr_http_parser_expect(r->resp, wr_http_parser_head(r->req)->method);
        wr_preq_connect(r);
        return;
    }
    wr_preq_fail(r, WR_RST_CANCEL,
                 what & BEV_EVENT_EOF ? "the service closed the connection" : "connection error");
}

/* Move request body from the stream into `to` (the connection's output
 * `out`, or a scratch buffer for wr_bev_send) as it comes. 1 when it
 * stopped at the high mark, 0 when it ran out of body or ended it, -1 when
 * the request failed and r is gone. */
static int wr_preq_forward_to(wr_preq_t *r, struct evbuffer *to, struct evbuffer *out)
{
    while (!r->req_done && r->s != NULL) {
        size_t n = 0;
        int rc;

        if (evbuffer_get_length(out) + (to != out ? evbuffer_get_length(to) : 0) >= WR_PX_OUT_HIGH)
            return 1;
        rc = wr_http_read_body(r->req, r->in, &n);
        if (rc == WR_HTTP_ERROR) {
            wr_preq_fail(r, WR_RST_CANCEL, "invalid request body");
            return -1;
        }
        if (n > 0) {
            if (r->pr != NULL)
                r->pr->bytes_in += n;
            wr_cap_body(r->ce, WR_CAP_REQ, r->in, n);
            evbuffer_remove_buffer(r->in, to, n);
        }
        if (rc == WR_HTTP_DONE) {
            r->req_done = 1;
            return 0;
        }
        if (n == 0 && wr_mux_stream_read(r->s, r->in, WR_PX_READ_MAX) == 0) {
            if (wr_mux_stream_eof(r->s)) {
                wr_preq_fail(r, WR_RST_CANCEL, "the request ended early");
                return -1;
            }
            return 0; /* more body to come */
        }
    }
    return 0;
}

/* Copy the request body to the service after what `to` holds already (the
 * head, the first time). What the socket takes at once raises no write
 * callback, so go on while it does; past the high mark the write callback
 * resumes. */
static void wr_preq_forward_from(wr_preq_t *r, struct evbuffer *to)
{
    struct bufferevent *bev = r->c->bev;
    struct evbuffer *out = bufferevent_get_output(bev);
    int rc;

    do {
        rc = wr_preq_forward_to(r, to, out);
        if (rc < 0) {
            struct evbuffer *scratch = wr_net_scratch();
            if (scratch != NULL)
                evbuffer_drain(scratch, evbuffer_get_length(scratch));
            return;
        }
        if (wr_bev_send(bev, to) != 0) {
            wr_preq_fail(r, WR_RST_INTERNAL, "out of memory");
            return;
        }
        to = wr_bev_gather(bev);
    } while (rc == 1 && to != out);
}

static void wr_preq_forward(wr_preq_t *r)
{
    wr_preq_forward_from(r, wr_bev_gather(r->c->bev));
}

/* On a connected connection: the head (the first time, or again after a
 * retry), then the body. */
static void wr_preq_send(wr_preq_t *r)
{
    struct bufferevent *bev = r->c->bev;
    struct evbuffer *to = wr_bev_gather(bev);

    r->state = WR_PX_FORWARD;
    if (r->retryable) /* keep a copy: it may have to go again */
        evbuffer_add(to, evbuffer_pullup(r->head, -1), evbuffer_get_length(r->head));
    else
        evbuffer_add_buffer(to, r->head);
    bufferevent_setcb(bev, wr_preq_local_read, wr_preq_local_write, wr_preq_local_event, r);
    bufferevent_setwatermark(bev, EV_WRITE, WR_PX_OUT_HIGH / 2, 0);
    /* EV_WRITE is on from the start and stays on; enabling it again would
     * arm the write event (epoll_ctl) with nothing to write. */
    bufferevent_enable(bev, EV_READ);
    wr_preq_forward_from(r, to);
}

static void wr_preq_connect(wr_preq_t *r)
{
    wr_proxy_t *p = r->p;
    wr_pconn_t *c = wr_pconn_take(p);

    r->state = WR_PX_CONNECT;
    wr_preq_arm(r, p->conf.response_ms);
    if (c != NULL) {
        r->c = c;
        r->reused = 1;
        p->stats.reused++;
        wr_metric_add(wr_stats.pool_reused, p->mx, 0, 1);
        wr_preq_send(r);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL ||
        (c->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
        free(c);
        wr_preq_fail(r, WR_RST_INTERNAL, "out of memory");
        return;
    }
    c->p = p;
    r->c = c;
    p->stats.connects++;
    wr_metric_add(wr_stats.pool_connects, p->mx, 0, 1);
    bufferevent_setcb(c->bev, NULL, NULL, wr_preq_local_event, r);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&p->addr.ss, (int)p->addr.len) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "cannot connect to %s: %s", p->local, strerror(errno));
        wr_log_warn("tunnel %s: %s", p->tunnel, why);
        wr_metric_add(wr_stats.local_connect_failures, p->mx, 0, 1);
        wr_preq_fail(r, WR_RST_CONNECT, why);
        return;
    }
    /* Small writes (a WebSocket frame's tail) must not wait for an ACK. */
    wr_sock_tune(bufferevent_getfd(c->bev), 0);
    wr_bev_bulk(c->bev);
}

static void wr_preq_stream_read(wr_mux_stream_t *s, void *arg)
{
    wr_preq_t *r = arg;
    const wr_http_head_t *h;
    wr_http_head_t edited;
    wr_http_fwd_t fw;
    int rc;

    if (r->state == WR_PX_FORWARD) {
        if (!r->req_done)
            wr_preq_forward(r);
        return;
    }
    if (r->state != WR_PX_HEAD)
        return; /* connecting: the rest waits in the stream */
    wr_mux_stream_read(s, r->in, WR_PX_READ_MAX);
    rc = wr_http_read_head(r->req, r->in);
    if (rc == WR_HTTP_NEED) {
        if (wr_mux_stream_eof(s))
            wr_preq_fail(r, WR_RST_CANCEL, "the request head ended early");
        return;
    }
    if (rc != WR_HTTP_HEAD) {
        const char *why;
        wr_http_parser_error(r->req, &why);
        wr_preq_fail(r, WR_RST_CANCEL, why ? why : "invalid request");
        return;
    }
    h = wr_http_parser_head(r->req);
    r->ce = wr_cap_request(r->p->cap, r->p->tunnel, r->peer, h, s);
    snprintf(r->line, sizeof(r->line), "%s %.*s", h->method_name,
             (int)(h->url_len > 80 ? 80 : h->url_len), h->url);
    r->pr = wr_prec_new(r->p->ps, 0);
    if (r->pr != NULL) {
        wr_prec_t *pr = r->pr;
        if (wr_http_host(h, r->host, sizeof(r->host)) != 0)
            r->host[0] = '\0';
        wr_prec_begin(pr, h);
        pr->t0_us = r->t0_us; /* from when the stream arrived */
        pr->peer = r->peer;
        pr->host = r->host;
        pr->type = "http";
        snprintf(pr->tunnel, sizeof(pr->tunnel), "%s", r->p->tunnel);
        wr_preq_ctx(r);
        if (wr_plugins_run(&pr->ctx, WR_PHASE_REQUEST_HEADERS, NULL) == WR_REJECT) {
            wr_preq_answer(r, pr->ctx.reject_status, pr->ctx.reject_reason);
            wr_preq_free(r);
            return;
        }
        if (wr_hdrs_changed(pr->hdrs[WR_REQUEST])) {
            edited = *h;
            edited.headers =
                (wr_http_header_t *)wr_hdrs_fields(pr->hdrs[WR_REQUEST], &edited.nheaders);
            h = &edited;
        }
    }
    memset(&fw, 0, sizeof(fw));
    fw.host_override = r->p->host_header;
    fw.keep_upgrade = h->upgrade;
    if (wr_http_write_request(r->head, h, &fw) != 0) {
        wr_preq_fail(r, WR_RST_INTERNAL, "out of memory");
        return;
    }
    r->upgrade = h->upgrade;
    r->retryable =
        !h->body && (h->method == HTTP_GET || h->method == HTTP_HEAD || h->method == HTTP_OPTIONS ||
                     h->method == HTTP_TRACE || h->method == HTTP_PUT || h->method == HTTP_DELETE);
    wr_http_parser_expect(r->resp, h->method);
    wr_preq_connect(r);
}

static void wr_preq_stream_write(wr_mux_stream_t *s, void *arg)
{
    wr_preq_t *r = arg;

    if (r->local_paused && r->c != NULL) {
        r->local_paused = 0;
        bufferevent_enable(r->c->bev, EV_READ);
        (void)wr_preq_response(r);
    }
}

static void wr_preq_stream_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_preq_t *r = arg;

    /* The public client went away, or the session: the connection to the
     * service is mid-request and cannot be pooled. */
    wr_mux_stream_close(s);
    r->s = NULL;
    wr_log_debug("tunnel %s: %s from %s: cancelled by the server", r->p->tunnel,
                 r->line[0] ? r->line : "request", r->peer);
    wr_preq_free(r);
}

void wr_proxy_serve(wr_proxy_t *p, wr_mux_stream_t *s, struct evbuffer *pre, const char *peer)
{
    wr_preq_t *r = wr_preq_new(p);

    if (r == NULL)
        goto failed;
    r->s = s;
    r->next = p->reqs;
    if (r->next)
        r->next->prev = r;
    p->reqs = r;
    r->t0_us = wr_papi_now_us();
    snprintf(r->peer, sizeof(r->peer), "%s", peer);
    if (r->req == NULL || r->resp == NULL || r->in == NULL || r->head == NULL || r->timer == NULL) {
        wr_preq_fail(r, WR_RST_INTERNAL, "out of memory");
        return;
    }
    if (!p->addr_ok) {
        wr_preq_fail(r, WR_RST_CONNECT, "bad local address");
        return;
    }
    evbuffer_add_buffer(r->in, pre);
    wr_mux_stream_setcb(s, wr_preq_stream_read, wr_preq_stream_write, wr_preq_stream_event, r);
    wr_preq_stream_read(s, r);
    return;

failed:
    wr_mux_stream_reset(s, WR_RST_INTERNAL);
    wr_mux_stream_close(s);
}

wr_proxy_t *wr_proxy_new(struct event_base *base, const char *tunnel, const char *local,
                         const char *host_header, const wr_proxy_conf_t *conf)
{
    wr_proxy_t *p = calloc(1, sizeof(*p));
    char why[160];

    if (p == NULL)
        return NULL;
    p->base = base;
    p->conf = *conf;
    p->mx = wr_stats_tunnel(tunnel);
    p->tunnel = strdup(tunnel);
    p->local = strdup(local);
    p->host_header = host_header ? strdup(host_header) : NULL;
    if (p->tunnel == NULL || p->local == NULL || (host_header && p->host_header == NULL)) {
        wr_proxy_free(p);
        return NULL;
    }
    p->addr_ok = wr_addr_parse(local, &p->addr, why, sizeof(why)) == 0;
    if (!p->addr_ok)
        wr_log_warn("tunnel %s: local address: %s", tunnel, why);
    return p;
}

void wr_proxy_free(wr_proxy_t *p)
{
    if (p == NULL)
        return;
    while (p->reqs)
        wr_preq_free(p->reqs);
    while (p->spare) {
        wr_preq_t *r = p->spare;
        p->spare = r->next;
        wr_preq_destroy(r);
    }
    while (p->idle)
        wr_pconn_free(p->idle);
    free(p->tunnel);
    free(p->local);
    free(p->host_header);
    free(p);
}
