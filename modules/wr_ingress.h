/*
 * wr_ingress: the server's public HTTP listener (docs/http.md).
 *
 * The main thread accepts and hands each connection to a worker. There the
 * request head is parsed (core/wr_http.c) and routed by its Host to the
 * session that registered that hostname (modules/wr_registry.c). A session
 * lives on one worker, and its streams may only be touched there: when the
 * owner is another worker, the connection moves to it (fd and the bytes
 * read so far) before anything is forwarded.
 *
 * Each request becomes one mux stream to the client: OPEN, the request head
 * rewritten (hop-by-hop headers dropped, X-Forwarded-For/-Proto/-Host
 * added), then the body raw as it arrives, then FIN. The response comes
 * back on the stream; its head is rewritten for the public connection and
 * its body forwarded raw until the message ends, then the next request on
 * the public connection is read (keep-alive, pipelining in order). After a
 * 101 the connection and the stream are spliced raw both ways (WebSocket).
 * Backpressure holds both ways: a full stream stops reading the public
 * socket, a full public socket stops reading the stream.
 *
 * Errors a public client sees are small text pages: 400 malformed, 404
 * unknown host, 408 header timeout, 413 body too large, 431 head too
 * large, 502 client or service unreachable, 503 over capacity, 504 service
 * timeout.
 */
#ifndef WR_INGRESS_H
#define WR_INGRESS_H

#include <stdint.h>

#include <event2/event.h>

#include "wr_conf.h"
#include "wr_worker.h"

#define WR_INGRESS_MAX_CERTS 16

typedef struct {
    const char *cert, *key;
} wr_ingress_cert_t;

typedef struct {
    const char *bind;                            /* "0.0.0.0:8080"; "off": no HTTP ingress */
    wr_ingress_cert_t tls[WR_INGRESS_MAX_CERTS]; /* HTTPS: the SNI picks; [0] by default */
    size_t ntls;
    const char *domain;   /* base domain of subdomain tunnels; NULL: none */
    uint64_t max_header;  /* request head bytes; above: 431 */
    uint64_t max_body;    /* request body bytes; above: 413; 0: no limit */
    uint64_t header_ms;   /* a request head must arrive within this: 408 */
    uint64_t idle_ms;     /* keep-alive connection idle, or a transfer stalled */
    uint64_t response_ms; /* a response head must come within this: 504 */
    int64_t max_conns;    /* public connections at once; above: 503 and closed */
} wr_ingress_conf_t;

extern const wr_conf_field_t wr_ingress_fields[]; /* the http: map of server.yaml */

void wr_ingress_conf_default(wr_ingress_conf_t *c);

/* 1 when the configuration asks for an HTTP listener. */
int wr_ingress_enabled(const wr_ingress_conf_t *c);

/* Bind the listener and accept on base (the main thread), handing
 * connections to the workers of ws. 0, or -1 with why. *port is the port
 * bound (for the public URLs when the configured port is 0). */
int wr_ingress_start(const wr_ingress_conf_t *c, wr_workers_t *ws, struct event_base *base,
                     uint16_t *port, char *why, size_t whylen);

/* 1 when the ingress speaks HTTPS. */
int wr_ingress_tls(void);

/* Stop accepting; connections on the workers finish their current request
 * and close (keep-alive ends). Main thread. */
void wr_ingress_drain(void);

/* Public connections still open (any thread). */
int wr_ingress_live(void);

/* On each worker as it stops: free its connections. */
void wr_ingress_worker_stop(wr_worker_t *w, void *arg);

/* Close the listener (main thread, after the workers stopped). */
void wr_ingress_free(void);

#endif
