/*
 * wr_proxy: the client's side of an HTTP tunnel (docs/http.md). Each
 * request arrives on its own stream (after OPEN): its head is parsed, the
 * Host optionally rewritten, and the request forwarded to the local service
 * over a pooled keep-alive connection; the response is parsed enough to
 * know its status and where it ends, forwarded on the stream, and the
 * stream finished. The connection then goes back to the pool, so a service
 * behind a tunnel sees few TCP connects however many public connections
 * there are. A pooled connection that turns out to be closed is replaced,
 * and the request sent again, once, when that is safe: an idempotent
 * method, no body, nothing of a response received.
 *
 * After a 101 the local connection and the stream are spliced raw.
 * Everything runs on the client's one event loop.
 */
#ifndef WR_PROXY_H
#define WR_PROXY_H

#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "wr_mux.h"

typedef struct {
    int64_t max_idle;     /* idle connections kept per tunnel */
    uint64_t idle_ms;     /* an idle pooled connection is closed after this */
    uint64_t max_header;  /* request and response heads */
    uint64_t connect_ms;  /* connecting to the service */
    uint64_t response_ms; /* the service must start its response within this */
} wr_proxy_conf_t;

void wr_proxy_conf_default(wr_proxy_conf_t *c);

/* What the client's status page and plugins will read: one record per
 * finished request. */
typedef struct {
    uint64_t requests; /* finished, whatever the outcome */
    uint64_t connects; /* TCP connections opened to the service */
    uint64_t reused;   /* requests sent on a pooled connection */
    uint64_t retries;  /* requests sent again after a dead pooled one */
    uint64_t failures; /* requests that got no response */
} wr_proxy_stats_t;

typedef struct wr_proxy wr_proxy_t;

/* A proxy for one tunnel: requests go to local ("127.0.0.1:8000"), with
 * Host replaced by host_header when that is not NULL. */
wr_proxy_t *wr_proxy_new(struct event_base *base, const char *tunnel, const char *local,
                         const char *host_header, const wr_proxy_conf_t *conf);

/* Run the client's plugins (request_headers, response_headers, log,
 * stream_close) on this proxy's requests; ps NULL or empty: none. */
struct wr_plugins;
void wr_proxy_set_plugins(wr_proxy_t *p, const struct wr_plugins *ps);

/* Capture this proxy's requests into cap (wr_cap.h), for the dashboard;
 * NULL: none. The store must outlive the proxy. The stream a request came
 * on is the capture's origin tag. */
struct wr_cap;
void wr_proxy_set_capture(wr_proxy_t *p, struct wr_cap *cap);

/* The session the proxy's requests belong to, for plugins (its id and
 * slots); 0 and NULL between sessions. */
struct wr_pslots_s;
void wr_proxy_set_session(wr_proxy_t *p, uint64_t sid, struct wr_pslots_s *slots);

/* Close every connection and request, and free. */
void wr_proxy_free(wr_proxy_t *p);

/* Serve the request on s, a stream the server opened, whose OPEN has been
 * read; pre holds what followed OPEN (moved out). The proxy takes s over.
 * peer is the public client's address, for logs. */
void wr_proxy_serve(wr_proxy_t *p, wr_mux_stream_t *s, struct evbuffer *pre, const char *peer);

const wr_proxy_stats_t *wr_proxy_stats(const wr_proxy_t *p);

#endif
