/*
 * wr_tls: TLS contexts and bufferevents (see wr_tls.h).
 */
#include "wr_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct wr_tls {
    SSL_CTX *ctx; /* SSL objects are made from this one */
    int server;
    int verify; /* client: verify the server; server: require a client cert */
    /* SNI server: one context per certificate/key pair, ctxs[0] == ctx
     * (owned once, as ctx); NULL and 0 otherwise. */
    SSL_CTX **ctxs;
    size_t nctx;
};

/* Public HTTPS also takes TLS 1.2 (older API clients, some proxies); its
 * cipher list is Mozilla's "intermediate" one without DHE (which would
 * need DH parameters): forward secrecy and AEAD only. TLS 1.3 suites are
 * OpenSSL's defaults, all of them fine. */
#define WR_TLS12_CIPHERS                                                                           \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The newest OpenSSL error queued on this thread, as one line, and clear
 * the queue. A failed system call (a missing file) is queued first and
 * then only echoed as "system lib" by each layer: that first one says
 * more. */
static const char *wr_tls_last_error(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();

    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SYS)
        e = ERR_peek_last_error();

    if (e == 0) {
        snprintf(buf, len, "%s", errno ? strerror(errno) : "unknown error");
    } else {
        char full[256];
        const char *reason;
        ERR_error_string_n(e, full, sizeof(full));
        reason = strrchr(full, ':');
        snprintf(buf, len, "%s", reason && reason[1] ? reason + 1 : full);
    }
    ERR_clear_error();
    return buf;
}

static int wr_tls_fail(char *why, size_t whylen, const char *what, const char *file)
{
    char err[256];

    wr_tls_last_error(err, sizeof(err));
    if (file)
        snprintf(why, whylen, "%s '%s': %s", what, file, err);
    else
        snprintf(why, whylen, "%s: %s", what, err);
    return -1;
}

/* A context refusing anything older than min_version. */
static SSL_CTX *wr_tls_ctx_new(int server, int min_version, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL) {
        wr_tls_fail(why, whylen, "cannot create a TLS context", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    return ctx;
}

static wr_tls_t *wr_tls_new(int server, char *why, size_t whylen)
{
    wr_tls_t *tls = calloc(1, sizeof(*tls));

    if (tls == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    tls->server = server;
    /* TLS 1.3 only: nothing older is offered or accepted. */
    tls->ctx = wr_tls_ctx_new(server, TLS1_3_VERSION, why, whylen);
    if (tls->ctx == NULL) {
        free(tls);
        return NULL;
    }
    return tls;
}

static int wr_tls_load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *why,
                            size_t whylen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return wr_tls_fail(why, whylen, "tls certificate", cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return wr_tls_fail(why, whylen, "tls key", key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return wr_tls_fail(why, whylen, "tls key does not match the certificate", key);
    return 0;
}

wr_tls_t *wr_tls_server_new(const char *cert_file, const char *key_file, const char *ca_file,
                            char *why, size_t whylen)
{
    wr_tls_t *tls = wr_tls_new(1, why, whylen);

    if (tls == NULL)
        return NULL;
    if (wr_tls_load_pair(tls->ctx, cert_file, key_file, why, whylen) != 0)
        goto failed;
    if (ca_file != NULL) {
        STACK_OF(X509_NAME) * names;
        if (SSL_CTX_load_verify_locations(tls->ctx, ca_file, NULL) != 1) {
            wr_tls_fail(why, whylen, "tls ca", ca_file);
            goto failed;
        }
        names = SSL_load_client_CA_file(ca_file);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(tls->ctx, names);
        SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        tls->verify = 1;
    }
    return tls;

failed:
    wr_tls_free(tls);
    return NULL;
}

wr_tls_t *wr_tls_client_new(const char *ca_file, const char *cert_file, const char *key_file,
                            int insecure, char *why, size_t whylen)
{
    wr_tls_t *tls = wr_tls_new(0, why, whylen);

    if (tls == NULL)
        return NULL;
    if ((cert_file == NULL) != (key_file == NULL)) {
        snprintf(why, whylen, "a client certificate needs both a cert and a key file");
        goto failed;
    }
    if (cert_file != NULL && wr_tls_load_pair(tls->ctx, cert_file, key_file, why, whylen) != 0)
        goto failed;
    if (!insecure) {
        int ok = ca_file ? SSL_CTX_load_verify_locations(tls->ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(tls->ctx);
        if (ok != 1) {
            wr_tls_fail(why, whylen, "tls ca", ca_file ? ca_file : "(system store)");
            goto failed;
        }
        SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
        tls->verify = 1;
    }
    return tls;

failed:
    wr_tls_free(tls);
    return NULL;
}

/* Does ctx's certificate name host? Exact names and wildcards of the SAN
 * (the CN only when there is no DNS SAN), case-insensitively. A partial
 * wildcard such as "w*.example.com" matches nothing, as in browsers. */
static int wr_tls_ctx_names(SSL_CTX *ctx, const char *host)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);

    return cert != NULL &&
           X509_check_host(cert, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* The ClientHello's SNI chooses the context (and so the certificate). It
 * runs on the worker thread doing the handshake and only reads the
 * contexts, which are shared read-only. */
static int wr_tls_on_sni(SSL *ssl, int *alert, void *arg)
{
    wr_tls_t *tls = arg;
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    if (host == NULL)
        return SSL_TLSEXT_ERR_OK; /* no SNI: the first pair */
    for (size_t i = 0; i < tls->nctx; i++) {
        if (wr_tls_ctx_names(tls->ctxs[i], host)) {
            if (i > 0 && SSL_set_SSL_CTX(ssl, tls->ctxs[i]) == NULL) {
                *alert = SSL_AD_INTERNAL_ERROR;
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            }
            return SSL_TLSEXT_ERR_OK;
        }
    }
    /* No match: the first pair all the same, and no alert; a client that
     * checks the name will refuse it and say why. */
    return SSL_TLSEXT_ERR_OK;
}

wr_tls_t *wr_tls_server_sni_new(const char *const *certs, const char *const *keys, size_t n,
                                char *why, size_t whylen)
{
    wr_tls_t *tls = calloc(1, sizeof(*tls));

    if (tls == NULL || (tls->ctxs = calloc(n ? n : 1, sizeof(*tls->ctxs))) == NULL) {
        snprintf(why, whylen, "out of memory");
        goto failed;
    }
    tls->server = 1;
    if (n == 0) {
        snprintf(why, whylen, "no tls certificate given");
        goto failed;
    }
    for (size_t i = 0; i < n; i++) {
        SSL_CTX *ctx = wr_tls_ctx_new(1, TLS1_2_VERSION, why, whylen);
        if (ctx == NULL)
            goto failed;
        tls->ctxs[tls->nctx++] = ctx;
        if (i == 0)
            tls->ctx = ctx;
        if (SSL_CTX_set_cipher_list(ctx, WR_TLS12_CIPHERS) != 1) {
            wr_tls_fail(why, whylen, "tls cipher list", NULL);
            goto failed;
        }
        if (wr_tls_load_pair(ctx, certs[i], keys[i], why, whylen) != 0)
            goto failed;
    }
    SSL_CTX_set_tlsext_servername_callback(tls->ctx, wr_tls_on_sni);
    SSL_CTX_set_tlsext_servername_arg(tls->ctx, tls);
    return tls;

failed:
    wr_tls_free(tls);
    return NULL;
}

int wr_tls_has_name(const wr_tls_t *tls, const char *host)
{
    if (!tls->server || host == NULL || host[0] == '\0')
        return 0;
    if (tls->nctx == 0)
        return wr_tls_ctx_names(tls->ctx, host);
    for (size_t i = 0; i < tls->nctx; i++) {
        if (wr_tls_ctx_names(tls->ctxs[i], host))
            return 1;
    }
    return 0;
}

void wr_tls_free(wr_tls_t *tls)
{
    if (tls == NULL)
        return;
    SSL_CTX_free(tls->ctx);
    /* ctxs[0] is ctx, freed above. */
    for (size_t i = 1; i < tls->nctx; i++)
        SSL_CTX_free(tls->ctxs[i]);
    free(tls->ctxs);
    free(tls);
}

static struct bufferevent *wr_tls_bev(wr_tls_t *tls, struct event_base *base, int fd,
                                      const char *server_name)
{
    SSL *ssl = SSL_new(tls->ctx);
    struct bufferevent *bev;

    if (ssl == NULL)
        goto failed;
    if (!tls->server && server_name != NULL && server_name[0] != '\0') {
        SSL_set_tlsext_host_name(ssl, server_name);
        if (tls->verify && SSL_set1_host(ssl, server_name) != 1)
            goto failed;
    }
    bev = bufferevent_openssl_socket_new(
        base, fd, ssl, tls->server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
        BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        goto failed; /* libevent freed neither: ssl and fd are still ours */
    /* A peer that closes TCP without close_notify is an ordinary EOF here:
     * the mux has its own framing to tell a cut frame. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;

failed:
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return NULL;
}

struct bufferevent *wr_tls_accept(wr_tls_t *tls, struct event_base *base, int fd)
{
    return wr_tls_bev(tls, base, fd, NULL);
}

struct bufferevent *wr_tls_connect(wr_tls_t *tls, struct event_base *base, int fd,
                                   const char *server_name)
{
    return wr_tls_bev(tls, base, fd, server_name);
}

const char *wr_tls_failure(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    unsigned long e, last = 0;
    long vr;

    if (ssl == NULL)
        return NULL;
    /* libevent also queues SSL_get_error()'s bare code (library 0): keep
     * the last real OpenSSL error. */
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        if (ERR_GET_LIB(e) != 0)
            last = e;
    }
    /* Only where verification was asked for (not --tls-insecure). */
    if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE &&
        (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
        snprintf(buf, len, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
        return buf;
    }
    if (last != 0) {
        /* "error:0A0000C7:SSL routines::peer did not return a certificate":
         * keep the reason, after the last colon. */
        char full[256];
        const char *reason;
        ERR_error_string_n(last, full, sizeof(full));
        reason = strrchr(full, ':');
        snprintf(buf, len, "%s", reason && reason[1] ? reason + 1 : full);
        return buf;
    }
    return NULL;
}

const char *wr_tls_error(struct bufferevent *bev, char *buf, size_t len)
{
    if (wr_tls_failure(bev, buf, len) == NULL)
        snprintf(buf, len, "connection closed during the TLS handshake");
    return buf;
}

const char *wr_tls_version(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    return ssl ? SSL_get_version(ssl) : "none";
}

const char *wr_tls_peer_cn(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;

    buf[0] = '\0';
    if (cert == NULL)
        return buf;
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)len);
    X509_free(cert);
    return buf;
}
