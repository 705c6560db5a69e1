/*
 * wr_dash: the client's dashboard (docs/dashboard.md): a page and a JSON
 * API, served on the client's local HTTP listener (127.0.0.1:4040 by
 * default), that show the HTTP requests going through the client's tunnels
 * as they happen, with their headers, timing and (capped) bodies; replay
 * them through the same proxy path, as they were or edited; export them as
 * HAR; and show the tunnels with their public URLs and the connection's
 * state.
 *
 * The module does not own the listener: whoever does (the client) creates
 * an evhttp and hands it to wr_dash_routes, so that other modules can
 * serve their own paths on the same port. The dashboard registers exact
 * paths with evhttp_set_cb, and the generic callback for the paths that
 * carry a request id (/api/requests/ID...); a listener that needs the
 * generic callback for itself calls wr_dash_handle() from it first.
 *
 * Security (see docs/dashboard.md): every path needs the token when one is
 * set (Authorization: Bearer, or a cookie the page gets from ?token=);
 * without a token, requests must name a loopback host (DNS rebinding);
 * POST and DELETE need a JSON content type and, when the browser sends
 * Origin, one that matches Host (CSRF); no CORS header is ever sent; the
 * page is served with a strict Content-Security-Policy and shows captured
 * data only as text.
 *
 * Threading: everything runs on the client's one event loop.
 */
#ifndef WR_DASH_H
#define WR_DASH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "wr_cap.h"
#include "wr_proxy.h"

#define WR_DASH_DEFAULT_BIND "127.0.0.1:4040"
#define WR_DASH_TOKEN_MAX    256 /* bytes of dashboard.token */

typedef struct {
    const char *bind;  /* "HOST:PORT"; NULL: no dashboard */
    const char *token; /* NULL: none (allowed only on a loopback address) */
    int capture;       /* record requests (1, the default) */
    wr_cap_conf_t cap; /* the capture store's bounds */
} wr_dash_conf_t;

void wr_dash_conf_default(wr_dash_conf_t *c);

/* 1 when the address (HOST:PORT, HOST resolved numerically or by name)
 * is a loopback one (127.0.0.0/8, ::1), 0 when it is another, -1 when it
 * cannot be parsed (why says how). */
int wr_dash_bind_loopback(const char *bind, char *why, size_t whylen);

/* NULL when c can run, else what is wrong: a bind address that does not
 * parse, or one that is not loopback without a token. */
const char *wr_dash_conf_check(const wr_dash_conf_t *c, char *buf, size_t len);

typedef struct wr_dash wr_dash_t;

/* A dashboard on base; conf is copied (its strings must outlive d). NULL
 * when out of memory. */
wr_dash_t *wr_dash_new(struct event_base *base, const wr_dash_conf_t *conf);

/* Free d, after the proxies that capture into it (wr_proxy_free) and
 * before the evhttp it was registered on (evhttp_free): the replies it
 * still streams (events, HAR) are ended, replays still waiting are
 * answered 503. NULL is ignored. */
void wr_dash_free(wr_dash_t *d);

/* Register the dashboard's paths on http (see above). 0, or -1 when a
 * path is taken already. */
struct evhttp;
int wr_dash_routes(struct evhttp *http, wr_dash_t *d);

/* Serve req if its path is one of the dashboard's id paths: 1 (answered),
 * else 0 (not touched). For a listener's own generic callback. */
struct evhttp_request;
int wr_dash_handle(wr_dash_t *d, struct evhttp_request *req);

/* The dashboard's rules for a request (the token, or a loopback Host
 * without one; for POST and DELETE also a JSON Content-Type and a
 * same-origin Origin and Sec-Fetch-Site): 0 to serve it, -1 when it has
 * been answered (401, 403 or 415). Every dashboard path applies them; a
 * module that serves other routes on the same listener calls this first,
 * so that they are no more open than the dashboard. */
int wr_dash_allow(wr_dash_t *d, struct evhttp_request *req);

/* The store the proxies should capture into (wr_proxy_set_capture), or
 * NULL when capture is off. */
wr_cap_t *wr_dash_capture(wr_dash_t *d);

/* ---- tunnels and the session, for the tunnels panel ----------------------- */

/* A tunnel of the client's configuration; proxy is its HTTP proxy (NULL
 * for a TCP tunnel), where replays of its requests go. The strings are
 * copied. 0, or -1 when out of memory. */
int wr_dash_add_tunnel(wr_dash_t *d, const char *name, int http, const char *local,
                       wr_proxy_t *proxy);

/* The server accepted the tunnel named name at public_url (copied). */
void wr_dash_tunnel_up(wr_dash_t *d, const char *name, const char *public_url);

enum { WR_DASH_CONNECTING = 0, WR_DASH_CONNECTED = 1, WR_DASH_DISCONNECTED = 2 };

/* The session with server changed state; detail (a reason, or NULL) is
 * copied. Every tunnel is offline unless the state is CONNECTED. */
void wr_dash_session(wr_dash_t *d, int state, const char *server, const char *detail);

/* ---- the page ------------------------------------------------------------- */

/* The page's files, built into the binary from modules/dash/ by
 * modules/dash/embed.sh (see Makefile.in). */
typedef struct {
    const char *path; /* "/", "/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} wr_dash_asset_t;

extern const wr_dash_asset_t wr_dash_assets[];
extern const size_t wr_dash_nassets;

#endif
