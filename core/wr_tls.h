/*
 * wr_tls: TLS (OpenSSL) for sessions and for public HTTPS: contexts built
 * from certificate files, and bufferevents that speak TLS over a connected
 * socket.
 *
 * Rules for sessions (wr_tls_server_new, wr_tls_client_new): TLS 1.2 and
 * below are refused; a client always verifies the
 * server's certificate chain and name unless told `insecure` (which the
 * caller must announce loudly); a server given a CA file requires and
 * verifies a client certificate (mTLS). Public HTTPS
 * (wr_tls_server_sni_new) takes TLS 1.2 too, since browsers and API clients
 * are not ours to upgrade, and several certificates chosen by SNI.
 *
 * Contexts are built on the main thread and then shared read-only by the
 * workers (OpenSSL 3 contexts are thread-safe for this use).
 */
#ifndef WR_TLS_H
#define WR_TLS_H

#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

typedef struct wr_tls wr_tls_t;

/* A server context from PEM files; ca_file (may be NULL) turns on mTLS.
 * NULL with a reason in why ("tls cert 'x.pem': No such file ..."). */
wr_tls_t *wr_tls_server_new(const char *cert_file, const char *key_file, const char *ca_file,
                            char *why, size_t whylen);

/* A server context for public HTTPS: TLS 1.2 (forward-secret AEAD suites
 * only) and 1.3, and n >= 1 certificate/key pairs (PEM files; certs[i] may
 * hold a chain, leaf first). The ClientHello's SNI picks the first pair
 * whose certificate matches it (X509_check_host: exact names and wildcards
 * like *.example.com from the SAN, the CN only without a DNS SAN; case
 * does not matter), the first pair otherwise, also when there is no SNI.
 * No client certificates. The arrays are only read during the call. NULL
 * with a reason naming the file in why ("tls certificate 'x.pem': ...",
 * "tls key 'x.key': key values mismatch"). wr_tls_accept() takes it; free
 * it with wr_tls_free(). Main thread; shared read-only afterwards. */
wr_tls_t *wr_tls_server_sni_new(const char *const *certs, const char *const *keys, size_t n,
                                char *why, size_t whylen);

/* 1 when a certificate of the server context tls (any pair of an SNI
 * context) matches host, by the rules above; else 0 (and for a client
 * context). For a warning at startup when a tunnel's hostname has no
 * certificate. Any thread. */
int wr_tls_has_name(const wr_tls_t *tls, const char *host);

/* A client context: ca_file NULL means the system's trust store; cert and
 * key (both or neither) are the client certificate for mTLS; insecure skips
 * verification entirely. NULL with a reason in why. */
wr_tls_t *wr_tls_client_new(const char *ca_file, const char *cert_file, const char *key_file,
                            int insecure, char *why, size_t whylen);

void wr_tls_free(wr_tls_t *tls);

/* A bufferevent doing the server (accepting) or client (connecting) side of
 * TLS over the connected, non-blocking fd, which it owns (closed when the
 * bufferevent is freed). server_name (client side) is sent as SNI and, when
 * verifying, must match the certificate. NULL on failure (fd closed). */
struct bufferevent *wr_tls_accept(wr_tls_t *tls, struct event_base *base, int fd);
struct bufferevent *wr_tls_connect(wr_tls_t *tls, struct event_base *base, int fd,
                                   const char *server_name);

/* After BEV_EVENT_ERROR on a TLS bufferevent: a one-line reason, e.g.
 * "certificate verify failed: unable to get local issuer certificate". */
const char *wr_tls_error(struct bufferevent *bev, char *buf, size_t len);

/* The same, but NULL when bev is not TLS or TLS recorded no failure: for
 * errors after the handshake, where a socket error may be the cause. */
const char *wr_tls_failure(struct bufferevent *bev, char *buf, size_t len);

/* After the handshake: the protocol ("TLSv1.3"), and the peer certificate's
 * subject CN into buf ("" when there is none). */
const char *wr_tls_version(struct bufferevent *bev);
const char *wr_tls_peer_cn(struct bufferevent *bev, char *buf, size_t len);

#endif
