/*
 * wr_admin: the admin routes of warren, served with libevent's evhttp
 * (docs/metrics.md):
 *   GET /metrics   every series in the Prometheus text format 0.0.4
 *   GET /status    JSON: version, uptime, the sessions and their tunnels
 *   GET /healthz   200 "ok"
 * HEAD is GET without the body; any other method gets 405 (with Allow:
 * GET, HEAD), any other path 404. Nothing here reads or writes what the
 * data path owns: /metrics sums the metric shards, and /status asks the
 * side (server or client) for its sessions, which the server collects from
 * its workers through their mailboxes.
 *
 * The server serves these routes on its admin listener (admin.bind,
 * default 127.0.0.1:9090), on the main thread's event base, which only
 * accepts connections and handles signals. The client serves them on its
 * local HTTP listener (dashboard.bind, default 127.0.0.1:4040), which it
 * shares with the dashboard: see wr_client_http() in wr_client.h.
 *
 * Threads: everything here runs on the thread of the evhttp's base.
 */
#ifndef WR_ADMIN_H
#define WR_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "wr_conf.h"
#include "wr_net.h"

/* Limits of a listener made by wr_admin_listen. */
#define WR_ADMIN_BACKLOG     128
#define WR_ADMIN_MAX_HEADERS 8192 /* bytes of request line and headers; more: 400 */
#define WR_ADMIN_MAX_BODY    1024 /* bytes of request body; more: 413 */
#define WR_ADMIN_TIMEOUT_S   10   /* seconds to read a request or write a response */

/* The limits of an HTTP listener (wr_admin_listen_with). */
typedef struct {
    int backlog;        /* connections waiting to be accepted */
    size_t max_headers; /* bytes of request line and headers; more: 400 */
    size_t max_body;    /* bytes of request body; more: 413 */
    int timeout_s;      /* seconds to read a request or write a response */
} wr_admin_limits_t;

typedef struct {
    const char *bind; /* "HOST:PORT"; "off": no listener */
} wr_admin_conf_t;

/* The keys of an admin: (server) or dashboard: (client) map: bind. */
extern const wr_conf_field_t wr_admin_fields[];

/* 1 when bind names a listener: not NULL, not empty, not "off". */
int wr_admin_enabled(const char *bind);

/*
 * An evhttp on base, listening on bind ("HOST:PORT"; port 0 picks a free
 * one), with the limits above and every method let through to the routes
 * (so that they can answer 405). *port is the port bound. NULL with a
 * reason in why that names the setting `what` (e.g. "cannot listen on
 * 127.0.0.1:9090 (admin.bind): Address already in use"). Free with
 * evhttp_free(), after wr_admin_free() of the routes on it.
 */
struct evhttp *wr_admin_listen(struct event_base *base, const char *bind, const char *what,
                               uint16_t *port, char *why, size_t whylen);

/*
 * The same with other limits (the client's listener, shared with the
 * dashboard, takes larger requests), and the address bound in *bound (its
 * port chosen when bind's is 0). When it fails, errno says what did, for
 * a caller that goes on without the listener in some cases: EINVAL when
 * bind does not parse, ENOMEM when out of memory, else the socket's error
 * (EADDRINUSE: the address is taken).
 */
struct evhttp *wr_admin_listen_with(struct event_base *base, const char *bind, const char *what,
                                    const wr_admin_limits_t *lim, wr_addr_t *bound, char *why,
                                    size_t whylen);

/* The header fields of every answer on these listeners: Content-Type
 * ctype, Cache-Control: no-store, and the guards against sniffing,
 * framing and cross-origin reads (X-Content-Type-Options: nosniff,
 * X-Frame-Options: DENY, Cross-Origin-Resource-Policy: same-origin). The
 * dashboard's answers get these and more (wr_dash.c). */
void wr_admin_headers(struct evhttp_request *req, const char *ctype);

/* One /status reply being written. */
typedef struct wr_admin_status wr_admin_status_t;

typedef struct {
    const char *side; /* "server" or "client" */
    /*
     * Write the side's members of the /status object into
     * wr_admin_status_body(st): at least one, as `"name":value` pairs
     * separated by commas (the reply already holds `{"version":...,` and
     * gets its closing brace afterwards). Then call wr_admin_status_done,
     * now or later, on the evhttp's thread. NULL: "sessions":[] only.
     */
    void (*status)(wr_admin_status_t *st, void *arg);
    void *arg;
    /*
     * Asked first on every route, if set: 0 to serve the request, -1 when
     * it has been answered (refused). The client's listener checks the
     * dashboard's token and Host rules here, so that /metrics and /status
     * are no more open than the dashboard beside them.
     */
    int (*allow)(struct evhttp_request *req, void *arg);
    void *allow_arg;
} wr_admin_hooks_t;

typedef struct wr_admin wr_admin_t;

/*
 * Register /metrics, /status and /healthz on http, and a generic callback
 * that answers 404 (a module that serves more paths on the same evhttp,
 * like the client's dashboard, sets its own generic callback afterwards
 * and answers 404 itself). hooks is copied. NULL when out of memory.
 */
wr_admin_t *wr_admin_routes(struct evhttp *http, const wr_admin_hooks_t *hooks);

/* Answer the /status replies still waiting for their side (503), and free
 * a. Before evhttp_free(). NULL is ignored. */
void wr_admin_free(wr_admin_t *a);

/* Where a status hook writes its members. */
struct evbuffer *wr_admin_status_body(wr_admin_status_t *st);

/* The side's members are written: close the object and send it. st is
 * freed. */
void wr_admin_status_done(wr_admin_status_t *st);

/* Status hooks write their members with core/wr_json.h (wr_json_cstr,
 * wr_json_time, wr_json_lit). */

#endif
