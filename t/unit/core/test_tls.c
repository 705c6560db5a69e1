/*
 * Unit tests for core/wr_tls.c: real certificates made with the openssl
 * command, a TLS client and server over a socketpair in one event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "wr_test.h"
#include "wr_tls.h"

static char dir[64];
static struct event_base *base;

typedef struct {
    int connected, error;
    char why[256];
    struct evbuffer *got;
} end_t;

static void sh(const char *fmt, const char *arg)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg, arg, arg, arg, arg, arg);
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* A CA, a server certificate for "localhost", a client certificate from the
 * same CA, and a second, unrelated CA with its own client certificate. For
 * SNI, two more server certificates from the first CA: "*.example.test"
 * (CN and SAN) and "other.test". */
static void make_certs(void)
{
    strcpy(dir, "/tmp/wr_test_tls_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null && "
       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout other.key -out other.pem -days 2 -subj /CN=other-ca 2>/dev/null",
       dir);
    sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null && "
       "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
       "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out server.pem -days 2 -extfile san.ext 2>/dev/null",
       dir);
    sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout client.key -out client.csr -subj /CN=client-one 2>/dev/null && "
       "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out client.pem -days 2 2>/dev/null && "
       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout rogue.key -out rogue.csr -subj /CN=rogue 2>/dev/null && "
       "openssl x509 -req -in rogue.csr -CA other.pem -CAkey other.key -CAcreateserial "
       "-out rogue.pem -days 2 2>/dev/null",
       dir);
    sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout wild.key -out wild.csr -subj '/CN=*.example.test' 2>/dev/null && "
       "printf 'subjectAltName=DNS:*.example.test\\n' > wild.ext && "
       "openssl x509 -req -in wild.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out wild.pem -days 2 -extfile wild.ext 2>/dev/null && "
       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout othername.key -out othername.csr -subj /CN=other.test 2>/dev/null && "
       "printf 'subjectAltName=DNS:other.test\\n' > othername.ext && "
       "openssl x509 -req -in othername.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
       "-out othername.pem -days 2 -extfile othername.ext 2>/dev/null",
       dir);
}

/* A file in dir; the result stays valid for the next 15 calls (a test's
 * certificate arrays hold up to 8 at once). */
static const char *path(const char *name)
{
    static char buf[16][128];
    static int i;
    i = (i + 1) % 16;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static void setup(void)
{
    make_certs();
    base = event_base_new();
}

static void teardown(void)
{
    sh("rm -rf %s", dir);
    event_base_free(base);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    end_t *e = arg;
    evbuffer_add_buffer(e->got, bufferevent_get_input(bev));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    end_t *e = arg;
    if (what & BEV_EVENT_CONNECTED)
        e->connected = 1;
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        e->error = 1;
        wr_tls_error(bev, e->why, sizeof(e->why));
    }
}

static void run(end_t *a, end_t *b)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if ((a->connected && b->connected && evbuffer_get_length(b->got) >= 5) || a->error ||
            b->error)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5)
            break;
        usleep(1000);
    }
}

/* Handshake a client and a server context over a socketpair; the client
 * sends "hello". Returns both bufferevents through the pointers. With cli
 * NULL, the client is an OpenSSL context of the test's own (cctx). */
static void handshake_ctx(wr_tls_t *srv, wr_tls_t *cli, SSL_CTX *cctx, const char *name, end_t *s,
                          end_t *c, struct bufferevent **sb, struct bufferevent **cb)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    *sb = wr_tls_accept(srv, base, sv[0]);
    if (cli != NULL) {
        *cb = wr_tls_connect(cli, base, sv[1], name);
    } else {
        SSL *ssl = SSL_new(cctx);
        ck_assert_ptr_nonnull(ssl);
        if (name != NULL) {
            SSL_set_tlsext_host_name(ssl, name);
            ck_assert_int_eq(SSL_set1_host(ssl, name), 1);
        }
        *cb = bufferevent_openssl_socket_new(base, sv[1], ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    }
    ck_assert_ptr_nonnull(*sb);
    ck_assert_ptr_nonnull(*cb);
    s->got = evbuffer_new();
    c->got = evbuffer_new();
    bufferevent_setcb(*sb, on_read, NULL, on_event, s);
    bufferevent_setcb(*cb, on_read, NULL, on_event, c);
    bufferevent_enable(*sb, EV_READ | EV_WRITE);
    bufferevent_enable(*cb, EV_READ | EV_WRITE);
    bufferevent_write(*cb, "hello", 5);
    run(c, s);
}

static void handshake(wr_tls_t *srv, wr_tls_t *cli, const char *name, end_t *s, end_t *c,
                      struct bufferevent **sb, struct bufferevent **cb)
{
    handshake_ctx(srv, cli, NULL, name, s, c, sb, cb);
}

static void done(end_t *s, end_t *c, struct bufferevent *sb, struct bufferevent *cb)
{
    bufferevent_free(sb);
    bufferevent_free(cb);
    evbuffer_free(s->got);
    evbuffer_free(c->got);
}

START_TEST(test_tls__tls13_with_verification)
{
    char why[256], cn[64];
    wr_tls_t *srv = wr_tls_server_new(path("server.pem"), path("server.key"), NULL, why, 256);
    wr_tls_t *cli = wr_tls_client_new(path("ca.pem"), NULL, NULL, 0, why, 256);
    end_t s = {0}, c = {0};
    struct bufferevent *sb, *cb;

    ck_assert_ptr_nonnull(srv);
    ck_assert_ptr_nonnull(cli);
    handshake(srv, cli, "localhost", &s, &c, &sb, &cb);
    ck_assert_msg(s.connected && c.connected, "server: %s / client: %s", s.why, c.why);
    ck_assert_str_eq(wr_tls_version(cb), "TLSv1.3");
    ck_assert_uint_eq(evbuffer_get_length(s.got), 5);
    ck_assert_str_eq(wr_tls_peer_cn(cb, cn, sizeof(cn)), "localhost");
    ck_assert_str_eq(wr_tls_peer_cn(sb, cn, sizeof(cn)), "");
    done(&s, &c, sb, cb);
    wr_tls_free(srv);
    wr_tls_free(cli);
}
END_TEST

START_TEST(test_tls__wrong_ca_and_wrong_name_refused)
{
    char why[256];
    wr_tls_t *srv = wr_tls_server_new(path("server.pem"), path("server.key"), NULL, why, 256);
    wr_tls_t *other = wr_tls_client_new(path("other.pem"), NULL, NULL, 0, why, 256);
    wr_tls_t *cli = wr_tls_client_new(path("ca.pem"), NULL, NULL, 0, why, 256);
    end_t s = {0}, c = {0}, s2 = {0}, c2 = {0};
    struct bufferevent *sb, *cb;

    handshake(srv, other, "localhost", &s, &c, &sb, &cb);
    ck_assert_int_eq(c.error, 1);
    ck_assert_str_eq(c.why, "certificate verify failed: unable to get local issuer certificate");
    done(&s, &c, sb, cb);

    handshake(srv, cli, "warren.example", &s2, &c2, &sb, &cb);
    ck_assert_int_eq(c2.error, 1);
    ck_assert_str_eq(c2.why, "certificate verify failed: hostname mismatch");
    done(&s2, &c2, sb, cb);
    wr_tls_free(srv);
    wr_tls_free(other);
    wr_tls_free(cli);
}
END_TEST

START_TEST(test_tls__mtls)
{
    char why[256], cn[64];
    wr_tls_t *srv =
        wr_tls_server_new(path("server.pem"), path("server.key"), path("ca.pem"), why, 256);
    wr_tls_t *none = wr_tls_client_new(path("ca.pem"), NULL, NULL, 0, why, 256);
    wr_tls_t *good =
        wr_tls_client_new(path("ca.pem"), path("client.pem"), path("client.key"), 0, why, 256);
    wr_tls_t *rogue =
        wr_tls_client_new(path("ca.pem"), path("rogue.pem"), path("rogue.key"), 0, why, 256);
    end_t s = {0}, c = {0}, s2 = {0}, c2 = {0}, s3 = {0}, c3 = {0};
    struct bufferevent *sb, *cb;

    ck_assert_ptr_nonnull(srv);
    handshake(srv, good, "localhost", &s, &c, &sb, &cb);
    ck_assert_msg(s.connected && !s.error, "server: %s", s.why);
    ck_assert_str_eq(wr_tls_peer_cn(sb, cn, sizeof(cn)), "client-one");
    done(&s, &c, sb, cb);

    handshake(srv, none, "localhost", &s2, &c2, &sb, &cb);
    ck_assert_int_eq(s2.error, 1);
    ck_assert_str_eq(s2.why, "peer did not return a certificate");
    done(&s2, &c2, sb, cb);

    handshake(srv, rogue, "localhost", &s3, &c3, &sb, &cb);
    ck_assert_int_eq(s3.error, 1);
    ck_assert_str_eq(s3.why, "certificate verify failed: unable to get local issuer certificate");
    done(&s3, &c3, sb, cb);
    wr_tls_free(srv);
    wr_tls_free(none);
    wr_tls_free(good);
    wr_tls_free(rogue);
}
END_TEST

START_TEST(test_tls__bad_files)
{
    char why[256];

    ck_assert_ptr_null(wr_tls_server_new(path("nope.pem"), path("server.key"), NULL, why, 256));
    ck_assert_msg(strstr(why, "tls certificate '") == why, "%s", why);
    ck_assert_ptr_null(wr_tls_server_new(path("server.pem"), path("client.key"), NULL, why, 256));
    ck_assert_msg(strstr(why, "tls key '") == why && strstr(why, "key values mismatch"), "%s", why);
    ck_assert_ptr_null(wr_tls_client_new(path("ca.pem"), path("client.pem"), NULL, 0, why, 256));
    ck_assert_str_eq(why, "a client certificate needs both a cert and a key file");
}
END_TEST

/* Which certificate (its CN) a client gets from srv when asking for name
 * (NULL: no SNI); cli verifies the chain and, given a name, the name. */
static const char *served_cn(wr_tls_t *srv, wr_tls_t *cli, const char *name)
{
    static char cn[64];
    end_t s = {0}, c = {0};
    struct bufferevent *sb, *cb;

    handshake(srv, cli, name, &s, &c, &sb, &cb);
    ck_assert_msg(s.connected && c.connected && !c.error && !s.error,
                  "SNI %s: server: %s / client: %s", name ? name : "(none)", s.why, c.why);
    ck_assert_uint_eq(evbuffer_get_length(s.got), 5);
    ck_assert_str_eq(wr_tls_version(cb), "TLSv1.3");
    wr_tls_peer_cn(cb, cn, sizeof(cn));
    done(&s, &c, sb, cb);
    return cn;
}

START_TEST(test_tls__sni_picks_the_certificate)
{
    const char *certs[] = {path("wild.pem"), path("othername.pem")};
    const char *keys[] = {path("wild.key"), path("othername.key")};
    const char *rcerts[] = {path("othername.pem"), path("wild.pem")};
    const char *rkeys[] = {path("othername.key"), path("wild.key")};
    char why[256];
    wr_tls_t *srv = wr_tls_server_sni_new(certs, keys, 2, why, sizeof(why));
    wr_tls_t *rev, *cli, *insecure;

    ck_assert_msg(srv != NULL, "%s", why);
    rev = wr_tls_server_sni_new(rcerts, rkeys, 2, why, sizeof(why));
    ck_assert_msg(rev != NULL, "%s", why);
    cli = wr_tls_client_new(path("ca.pem"), NULL, NULL, 0, why, sizeof(why));
    insecure = wr_tls_client_new(NULL, NULL, NULL, 1, why, sizeof(why));
    ck_assert(cli != NULL && insecure != NULL);

    ck_assert_str_eq(served_cn(srv, cli, "a.example.test"), "*.example.test");
    ck_assert_str_eq(served_cn(srv, cli, "other.test"), "other.test");
    ck_assert_str_eq(served_cn(srv, cli, "OTHER.Test"), "other.test");
    ck_assert_str_eq(served_cn(srv, cli, NULL), "*.example.test");
    /* No pair for the name: the first one (which the client then refuses
     * unless it does not check). */
    ck_assert_str_eq(served_cn(srv, insecure, "nomatch.test"), "*.example.test");
    ck_assert_str_eq(served_cn(srv, insecure, "a.b.example.test"), "*.example.test");

    /* The other order: the first pair is the default, either way round. */
    ck_assert_str_eq(served_cn(rev, cli, "a.example.test"), "*.example.test");
    ck_assert_str_eq(served_cn(rev, cli, "other.test"), "other.test");
    ck_assert_str_eq(served_cn(rev, cli, NULL), "other.test");
    ck_assert_str_eq(served_cn(rev, insecure, "example.test"), "other.test");
    wr_tls_free(srv);
    wr_tls_free(rev);
    wr_tls_free(cli);
    wr_tls_free(insecure);
}
END_TEST

START_TEST(test_tls__sni_takes_tls12)
{
    const char *certs[] = {path("wild.pem"), path("othername.pem")};
    const char *keys[] = {path("wild.key"), path("othername.key")};
    char why[256], cn[64];
    wr_tls_t *srv = wr_tls_server_sni_new(certs, keys, 2, why, sizeof(why));
    wr_tls_t *old = wr_tls_server_new(path("server.pem"), path("server.key"), NULL, why, 256);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    end_t s = {0}, c = {0}, s2 = {0}, c2 = {0};
    struct bufferevent *sb, *cb;

    ck_assert(srv != NULL && old != NULL && cctx != NULL);
    SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(cctx, path("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);

    handshake_ctx(srv, NULL, cctx, "other.test", &s, &c, &sb, &cb);
    ck_assert_msg(s.connected && c.connected, "server: %s / client: %s", s.why, c.why);
    ck_assert_str_eq(wr_tls_version(cb), "TLSv1.2");
    ck_assert_str_eq(wr_tls_version(sb), "TLSv1.2");
    ck_assert_uint_eq(evbuffer_get_length(s.got), 5);
    ck_assert_str_eq(wr_tls_peer_cn(cb, cn, sizeof(cn)), "other.test");
    /* Forward-secret AEAD suites only. */
    ck_assert_msg(strncmp(SSL_get_cipher_name(bufferevent_openssl_get_ssl(sb)), "ECDHE-", 6) == 0,
                  "%s", SSL_get_cipher_name(bufferevent_openssl_get_ssl(sb)));
    done(&s, &c, sb, cb);

    /* The session context stays TLS 1.3 only. */
    handshake_ctx(old, NULL, cctx, "localhost", &s2, &c2, &sb, &cb);
    ck_assert_int_eq(s2.error, 1);
    ck_assert_int_eq(c2.connected, 0);
    ck_assert_msg(strstr(s2.why, "protocol") != NULL, "%s", s2.why);
    done(&s2, &c2, sb, cb);
    SSL_CTX_free(cctx);
    wr_tls_free(srv);
    wr_tls_free(old);
}
END_TEST

START_TEST(test_tls__sni_has_name)
{
    const char *certs[] = {path("wild.pem"), path("othername.pem")};
    const char *keys[] = {path("wild.key"), path("othername.key")};
    char why[256];
    wr_tls_t *srv = wr_tls_server_sni_new(certs, keys, 2, why, sizeof(why));
    wr_tls_t *one = wr_tls_server_new(path("server.pem"), path("server.key"), NULL, why, 256);
    wr_tls_t *cli = wr_tls_client_new(path("ca.pem"), path("client.pem"), path("client.key"), 0,
                                      why, sizeof(why));

    ck_assert(srv != NULL && one != NULL && cli != NULL);
    ck_assert_int_eq(wr_tls_has_name(srv, "a.example.test"), 1);
    ck_assert_int_eq(wr_tls_has_name(srv, "API.Example.Test"), 1);
    ck_assert_int_eq(wr_tls_has_name(srv, "other.test"), 1);
    ck_assert_int_eq(wr_tls_has_name(srv, "example.test"), 0);     /* a wildcard needs a label */
    ck_assert_int_eq(wr_tls_has_name(srv, "a.b.example.test"), 0); /* ... exactly one */
    ck_assert_int_eq(wr_tls_has_name(srv, "x.other.test"), 0);
    ck_assert_int_eq(wr_tls_has_name(srv, "localhost"), 0);
    ck_assert_int_eq(wr_tls_has_name(srv, ""), 0);
    ck_assert_int_eq(wr_tls_has_name(one, "localhost"), 1);
    ck_assert_int_eq(wr_tls_has_name(one, "other.test"), 0);
    ck_assert_int_eq(wr_tls_has_name(cli, "client-one"), 0);
    wr_tls_free(srv);
    wr_tls_free(one);
    wr_tls_free(cli);
}
END_TEST

START_TEST(test_tls__sni_bad_files)
{
    const char *certs[] = {path("wild.pem"), path("othername.pem")};
    const char *keys[] = {path("wild.key"), path("server.key")};
    const char *missing[] = {path("wild.pem"), path("nope.pem")};
    char why[256], want[256];

    /* The second key is not the second certificate's. */
    ck_assert_ptr_null(wr_tls_server_sni_new(certs, keys, 2, why, sizeof(why)));
    snprintf(want, sizeof(want), "tls key '%s': ", path("server.key"));
    ck_assert_msg(strstr(why, want) == why && strstr(why, "key values mismatch"), "%s", why);

    ck_assert_ptr_null(wr_tls_server_sni_new(missing, keys, 2, why, sizeof(why)));
    snprintf(want, sizeof(want), "tls certificate '%s': No such file or directory",
             path("nope.pem"));
    ck_assert_str_eq(why, want);

    ck_assert_ptr_null(wr_tls_server_sni_new(certs, keys, 0, why, sizeof(why)));
    ck_assert_str_eq(why, "no tls certificate given");
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tls__tls13_with_verification);
    tcase_add_test(tc, test_tls__wrong_ca_and_wrong_name_refused);
    tcase_add_test(tc, test_tls__mtls);
    tcase_add_test(tc, test_tls__bad_files);
    tcase_add_test(tc, test_tls__sni_picks_the_certificate);
    tcase_add_test(tc, test_tls__sni_takes_tls12);
    tcase_add_test(tc, test_tls__sni_has_name);
    tcase_add_test(tc, test_tls__sni_bad_files);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(tls_suite)
