/* Unit tests for plugins/auth/wr_auth.c, compiled in and run against the fake API. */
#include <stdio.h>
#include <string.h>

#include "../../../plugins/auth/wr_auth.c"
#include "fake_api.h"
#include "wr_test.h"

/* printf %s TOKEN | sha256sum */
#define ALICE_SHA   "0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376"
#define BOB_SHA     "9f03ef1533a68d2f506f81ef463c1183a82a6bd40e45613f36e6fe1889cf1b99"
#define HUNTER2_SHA "f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7"
#define BEARER_SHA  "52cd06ed085831f31d45698de85c68a8f643e6dc1200b2c27d93242c6dd59878"
/* crypt_r("s3cret", "$2b$04$abcdefghijklmnopqrstuu") */
#define CAROL_BCRYPT "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"

static const char tokens_yaml[] = "tokens:\n"
                                  "  - id: alice\n"
                                  "    sha256: " ALICE_SHA "\n"
                                  "    hostnames: [app.example.com]\n"
                                  "    subdomains: [app, api]\n"
                                  "    ports: [20001, \"20010-20020\"]\n"
                                  "  - id: bob\n"
                                  "    sha256: " BOB_SHA "\n"
                                  "    hostnames: \"*\"\n"
                                  "    ports: [\"*\"]\n";

static const char protect_yaml[] = "protect:\n"
                                   "  - hostname: App.Example.com\n"
                                   "    basic:\n"
                                   "      - user: bob\n"
                                   "        sha256: " HUNTER2_SHA "\n"
                                   "      - user: carol\n"
                                   "        bcrypt: \"" CAROL_BCRYPT "\"\n"
                                   "    bearer: [" BEARER_SHA "]\n"
                                   "    realm: staging\n"
                                   "  - tunnel: api\n"
                                   "    bearer: [" BEARER_SHA "]\n"
                                   "  - hostname: ip.example.com\n"
                                   "    allow: [10.0.0.0/8, \"::1/128\", 127.0.0.1, "
                                   "\"2001:db8::/32\"]\n"
                                   "    deny: [10.1.0.0/16]\n"
                                   "  - port: 20001\n"
                                   "    allow: [192.168.1.0/24]\n"
                                   "  - tunnel: db\n"
                                   "    deny: [\"fd00::/8\"]\n";

static void *t_conf;

static void setup(void)
{
    wr_plugin.bind(&fake_api);
}

static void teardown(void)
{
    fake_reset();
    t_conf = NULL;
}

/* create_conf on yaml; the instance is destroyed by teardown. */
static void *load(const char *yaml)
{
    t_conf = fake_load(&wr_plugin, yaml);
    return t_conf;
}

/* create_conf must fail on yaml; the message must start with prefix and
 * name key. */
static void load_fails(const char *yaml, const char *prefix, const char *key)
{
    FAKE_LOAD_FAILS(&wr_plugin, yaml, prefix, key);
}

static wr_ctx_t *session(const char *token, int tunnels)
{
    wr_ctx_t *ctx = fake_ctx(WR_PHASE_SESSION_AUTH, t_conf);

    if (token != NULL)
        fake_set_str(ctx, WR_KEY_TOKEN, 0, token);
    fake_set_num(ctx, WR_KEY_TUNNEL_COUNT, 0, tunnels);
    return ctx;
}

static void tcp_tunnel(wr_ctx_t *ctx, int i, const char *name, int port)
{
    fake_set_str(ctx, WR_KEY_TUNNEL, i, name);
    fake_set_str(ctx, WR_KEY_TUNNEL_TYPE, i, "tcp");
    fake_set_num(ctx, WR_KEY_PORT, i, port);
}

static void http_tunnel(wr_ctx_t *ctx, int i, const char *name, const char *hostname,
                        const char *subdomain)
{
    fake_set_str(ctx, WR_KEY_TUNNEL, i, name);
    fake_set_str(ctx, WR_KEY_TUNNEL_TYPE, i, "http");
    fake_set_str(ctx, WR_KEY_HOSTNAME, i, hostname);
    fake_set_str(ctx, WR_KEY_SUBDOMAIN, i, subdomain);
}

/* A public request to hostname from ip, with an Authorization (or none). */
static wr_ctx_t *request(const char *tunnel, const char *hostname, const char *ip,
                         const char *authorization)
{
    wr_ctx_t *ctx = fake_ctx(WR_PHASE_REQUEST_HEADERS, t_conf);

    fake_set_str(ctx, WR_KEY_TUNNEL, 0, tunnel);
    fake_set_str(ctx, WR_KEY_HOSTNAME, 0, hostname);
    fake_set_str(ctx, WR_KEY_HOST, 0, hostname);
    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, ip);
    fake_add_header(ctx, WR_REQUEST, "Accept", "*/*");
    if (authorization != NULL)
        fake_add_header(ctx, WR_REQUEST, "Authorization", authorization);
    return ctx;
}

static wr_ctx_t *stream(const char *tunnel, int port, const char *ip)
{
    wr_ctx_t *ctx = fake_ctx(WR_PHASE_STREAM_OPEN, t_conf);

    fake_set_str(ctx, WR_KEY_TUNNEL, 0, tunnel);
    fake_set_num(ctx, WR_KEY_PORT, 0, port);
    fake_set_str(ctx, WR_KEY_CLIENT_IP, 0, ip);
    return ctx;
}

/* Run session_auth; expect a reject with status and reason. */
static void session_rejected(wr_ctx_t *ctx, int status, const char *reason)
{
    ck_assert_int_eq(wr_plugin.session_auth(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), status);
    ck_assert_str_eq(fake_reject_reason(ctx), reason);
    ck_assert_ptr_null(wr_str(ctx, WR_KEY_TOKEN_ID, 0));
}

static void session_accepted(wr_ctx_t *ctx, const char *id)
{
    ck_assert_int_eq(wr_plugin.session_auth(ctx), WR_DONE);
    ck_assert_int_eq(fake_reject_status(ctx), 0);
    ck_assert_str_eq(wr_str(ctx, WR_KEY_TOKEN_ID, 0), id);
}

static void request_rejected(wr_ctx_t *ctx, int status, const char *reason)
{
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), status);
    ck_assert_str_eq(fake_reject_reason(ctx), reason);
}

/* ---- helpers ------------------------------------------------------------ */

START_TEST(test_auth__base64)
{
    unsigned char out[8];
    size_t n = 99;

    ck_assert_int_eq(wr_auth_b64_decode("Zm9v", 4, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(out, "foo", 3), 0);
    ck_assert_int_eq(wr_auth_b64_decode("Zm8=", 4, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(memcmp(out, "fo", 2), 0);
    ck_assert_int_eq(wr_auth_b64_decode("Zg", 2, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(out[0], 'f');
    ck_assert_int_eq(wr_auth_b64_decode("+/+/", 4, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(out[0], 0xfb);
    ck_assert_int_eq(out[1], 0xff);
    ck_assert_int_eq(out[2], 0xbf);
    n = 99;
    ck_assert_int_eq(wr_auth_b64_decode("", 0, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 0);
    /* wrong padding, stray characters, a lone sextet, too long */
    ck_assert_int_eq(wr_auth_b64_decode("Zm8==", 5, out, sizeof(out), &n), -1);
    ck_assert_int_eq(wr_auth_b64_decode("Zm9v=", 5, out, sizeof(out), &n), -1);
    ck_assert_int_eq(wr_auth_b64_decode("Zm=8", 4, out, sizeof(out), &n), -1);
    ck_assert_int_eq(wr_auth_b64_decode("Zm 8", 4, out, sizeof(out), &n), -1);
    ck_assert_int_eq(wr_auth_b64_decode("Zm9vZ", 5, out, sizeof(out), &n), -1);
    ck_assert_int_eq(wr_auth_b64_decode("Zm9vYmFyYmF6", 12, out, 8, &n), -1);
}
END_TEST

START_TEST(test_auth__cidr)
{
    wr_auth_cidr_t c;
    unsigned char a[16] = {0};

    ck_assert_int_eq(wr_auth_parse_cidr("10.1.2.3/8", &c), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_uint_eq(c.bits, 8);
    ck_assert_int_eq(c.addr[0], 10);
    ck_assert_int_eq(c.addr[1], 0); /* host bits cleared */
    a[0] = 10, a[1] = 255;
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET, a), 1);
    a[0] = 11;
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET, a), 0);
    ck_assert_int_eq(wr_auth_parse_cidr("192.168.0.0/17", &c), 0);
    memcpy(a, (unsigned char[]){192, 168, 127, 1}, 4);
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET, a), 1);
    a[2] = 128;
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET, a), 0);
    ck_assert_int_eq(wr_auth_parse_cidr("127.0.0.1", &c), 0);
    ck_assert_uint_eq(c.bits, 32);
    ck_assert_int_eq(wr_auth_parse_cidr("::1", &c), 0);
    ck_assert_int_eq(c.family, AF_INET6);
    ck_assert_uint_eq(c.bits, 128);
    ck_assert_int_eq(wr_auth_parse_cidr("::ffff:10.0.0.0/104", &c), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_uint_eq(c.bits, 8);
    ck_assert_int_eq(wr_auth_parse_cidr("0.0.0.0/0", &c), 0);
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET, a), 1);
    ck_assert_int_eq(wr_auth_cidr_match(&c, AF_INET6, a), 0);
    ck_assert_int_eq(wr_auth_parse_cidr("10.0.0.0/33", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("::/129", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("10.0.0.0/", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("10.0.0.0/-1", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("10.0.0/8", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("/8", &c), -1);
    ck_assert_int_eq(wr_auth_parse_cidr("example.com", &c), -1);
}
END_TEST

/* ---- config errors: file:line:col, and the key named ------------------- */

START_TEST(test_auth__config_errors)
{
    load_fails("colour: red\n", "<test>:1:1: ", "'colour'");
    load_fails("tokens:\n"
               "  - id: alice\n"
               "    sha256: " ALICE_SHA "\n"
               "    colour: red\n",
               "<test>:4:5: ", "'colour'");
    load_fails("tokens:\n"
               "  - id: alice\n"
               "    sha256: 0c848abb\n",
               "<test>:3:13: ", "'tokens[0].sha256'");
    /* 64 characters, one not hex */
    load_fails("tokens:\n"
               "  - id: alice\n"
               "    sha256: 0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a12026957237g\n",
               "<test>:3:13: ", "'tokens[0].sha256'");
    load_fails("tokens:\n"
               "  - id: alice\n"
               "    sha256: " ALICE_SHA "\n"
               "    ports: [20001, \"20020-20010\"]\n",
               "<test>:4:20: ", "'tokens[0].ports[1]'");
    load_fails("tokens:\n"
               "  - id: alice\n"
               "    sha256: " ALICE_SHA "\n"
               "    ports: [70000]\n",
               "<test>:4:13: ", "'tokens[0].ports[0]'");
    load_fails("tokens:\n"
               "  - id: a\n"
               "    sha256: " ALICE_SHA "\n"
               "  - id: a\n"
               "    sha256: " BOB_SHA "\n",
               "<test>:4:9: ", "'tokens[1].id'");
    load_fails("tokens:\n"
               "  - id: a\n"
               "    sha256: " ALICE_SHA "\n"
               "  - id: b\n"
               "    sha256: " ALICE_SHA "\n",
               "<test>:5:13: ", "'tokens[1].sha256'");
    load_fails("tokens:\n"
               "  - id: \"al ice\"\n"
               "    sha256: " ALICE_SHA "\n",
               "<test>:2:9: ", "'tokens[0].id'");
    load_fails("tokens:\n"
               "  - id: a234567890123456789012345678901234567890123456789012345678901234\n"
               "    sha256: " ALICE_SHA "\n",
               "<test>:2:9: ", "'tokens[0].id'");
    load_fails("tokens:\n"
               "  - sha256: " ALICE_SHA "\n",
               "<test>:2:5: ", "'tokens[0]' needs an id");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    allow: [10.0.0.0/8, 10.0.0.0/33]\n",
               "<test>:3:25: ", "'protect[0].allow[1]'");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    deny: [\"fd00::/x\"]\n",
               "<test>:3:12: ", "'protect[0].deny[0]'");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    basic:\n"
               "      - user: bob\n"
               "        sha256: nothex\n",
               "<test>:5:17: ", "'protect[0].basic[0].sha256'");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    basic:\n"
               "      - user: bob\n"
               "        bcrypt: \"$2b$04$short\"\n",
               "<test>:5:17: ", "'protect[0].basic[0].bcrypt'");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    basic:\n"
               "      - user: bob\n",
               "<test>:4:9: ", "needs one of sha256 and bcrypt");
    load_fails("protect:\n"
               "  - port: 20001\n"
               "    basic:\n"
               "      - user: bob\n"
               "        sha256: " HUNTER2_SHA "\n",
               "<test>:4:7: ", "'protect[0].basic'");
    load_fails("protect:\n"
               "  - port: 70000\n"
               "    deny: [10.0.0.0/8]\n",
               "<test>:2:11: ", "port");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n"
               "    tunnel: a\n"
               "    deny: [10.0.0.0/8]\n",
               "<test>:2:5: ", "exactly one of hostname, tunnel and port");
    load_fails("protect:\n"
               "  - hostname: a.example.com\n",
               "<test>:2:5: ", "protects nothing");
    load_fails("protect:\n"
               "  - tunnel: a\n"
               "    bearer: [" BEARER_SHA "]\n"
               "    realm: 'a\"b'\n",
               "<test>:4:12: ", "'protect[0].realm'");
}
END_TEST

START_TEST(test_auth__config_ok)
{
    wr_auth_conf_t *c = load(tokens_yaml);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->has_tokens, 1);
    ck_assert_uint_eq(c->ntokens, 2);
    ck_assert_str_eq(c->tokens[0].id, "alice");
    ck_assert_uint_eq(c->tokens[0].nports, 2);
    ck_assert_uint_eq(c->tokens[0].ports[1].lo, 20010);
    ck_assert_uint_eq(c->tokens[0].ports[1].hi, 20020);
    ck_assert_int_eq(c->tokens[1].any_port, 1);
    ck_assert_int_eq(c->tokens[1].hostnames.any, 1);
    ck_assert_int_eq(c->tokens[1].subdomains.any, 0);
    ck_assert_uint_eq(c->nprotect, 0);

    c = load(protect_yaml);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->has_tokens, 0);
    ck_assert_uint_eq(c->nprotect, 5);
    ck_assert_str_eq(c->protect[0].name, "app.example.com"); /* lower case */
    ck_assert_str_eq(c->protect[0].challenge, "Basic realm=\"staging\"");
    ck_assert_str_eq(c->protect[1].challenge, "Bearer realm=\"warren\"");
    ck_assert_int_eq(c->protect[3].by, WR_AUTH_BY_PORT);
    ck_assert_int_eq(c->protect[3].port, 20001);
}
END_TEST

/* ---- session_auth ------------------------------------------------------- */

START_TEST(test_auth__token_good_unknown)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(tokens_yaml));
    session_accepted(session("alice-secret", 0), "alice");
    session_accepted(session("bob-secret", 0), "bob");

    ctx = session("alice-secreT", 0);
    session_rejected(ctx, 401, "unknown token");
    session_rejected(session("", 0), 401, "unknown token");
    session_rejected(session(NULL, 0), 401, "unknown token");
    /* the refusal is logged, the token never */
    ck_assert_int_eq(fake_log_count(), 3);
    for (int i = 0; i < fake_log_count(); i++) {
        ck_assert_ptr_nonnull(strstr(fake_log_line(i), "unknown token"));
        ck_assert_ptr_null(strstr(fake_log_line(i), "secre"));
    }

    /* the client side, or an instance without tokens: not ours */
    ctx = session("alice-secret", 0);
    fake_set_num(ctx, WR_KEY_SIDE, 0, WR_SIDE_CLIENT);
    ck_assert_int_eq(wr_plugin.session_auth(ctx), WR_DECLINED);
    ck_assert_ptr_nonnull(load(protect_yaml));
    ck_assert_int_eq(wr_plugin.session_auth(session("alice-secret", 0)), WR_DECLINED);
}
END_TEST

START_TEST(test_auth__token_empty_list)
{
    ck_assert_ptr_nonnull(load("tokens: []\n"));
    session_rejected(session("alice-secret", 0), 401, "unknown token");
}
END_TEST

START_TEST(test_auth__token_ports)
{
    static const int ok[] = {20001, 20010, 20015, 20020};
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(tokens_yaml));
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ctx = session("alice-secret", 1);
        tcp_tunnel(ctx, 0, "t", ok[i]);
        session_accepted(ctx, "alice");
    }
    ctx = session("alice-secret", 1);
    tcp_tunnel(ctx, 0, "t", 20002);
    session_rejected(ctx, 403, "token alice may not use port 20002");
    ctx = session("alice-secret", 1);
    tcp_tunnel(ctx, 0, "t", 20021);
    session_rejected(ctx, 403, "token alice may not use port 20021");
    ctx = session("alice-secret", 1);
    tcp_tunnel(ctx, 0, "t", 20009);
    session_rejected(ctx, 403, "token alice may not use port 20009");
    /* every tunnel is checked, not only the first */
    ctx = session("alice-secret", 3);
    tcp_tunnel(ctx, 0, "a", 20001);
    http_tunnel(ctx, 1, "b", "app.example.com", NULL);
    tcp_tunnel(ctx, 2, "c", 30000);
    session_rejected(ctx, 403, "token alice may not use port 30000");
    /* "*": any port */
    ctx = session("bob-secret", 2);
    tcp_tunnel(ctx, 0, "a", 1);
    tcp_tunnel(ctx, 1, "b", 65535);
    session_accepted(ctx, "bob");
}
END_TEST

START_TEST(test_auth__token_hostnames)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(tokens_yaml));
    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", "app.example.com", NULL);
    session_accepted(ctx, "alice");
    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", "APP.Example.COM", NULL);
    session_accepted(ctx, "alice");
    ctx = session("alice-secret", 2);
    http_tunnel(ctx, 0, "web", NULL, "app");
    http_tunnel(ctx, 1, "api", NULL, "api");
    session_accepted(ctx, "alice");

    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", "x.example.com", NULL);
    session_rejected(ctx, 403, "token alice may not use hostname x.example.com");
    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", NULL, "admin");
    session_rejected(ctx, 403, "token alice may not use subdomain admin");
    /* a subdomain is not a hostname: "app" is allowed as a subdomain only */
    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", "app", NULL);
    session_rejected(ctx, 403, "token alice may not use hostname app");
    ctx = session("alice-secret", 1);
    http_tunnel(ctx, 0, "web", NULL, NULL);
    session_rejected(ctx, 403, "token alice may not use tunnel web");
    ctx = session("alice-secret", 1);
    fake_set_str(ctx, WR_KEY_TUNNEL, 0, "u");
    fake_set_str(ctx, WR_KEY_TUNNEL_TYPE, 0, "udp");
    session_rejected(ctx, 403, "token alice may not use tunnel u (type udp)");

    /* bob: any hostname, but no subdomain at all */
    ctx = session("bob-secret", 1);
    http_tunnel(ctx, 0, "web", "whatever.example.org", NULL);
    session_accepted(ctx, "bob");
    ctx = session("bob-secret", 1);
    http_tunnel(ctx, 0, "web", NULL, "app");
    session_rejected(ctx, 403, "token bob may not use subdomain app");
}
END_TEST

/* ---- request_headers ---------------------------------------------------- */

START_TEST(test_auth__basic_ok)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Ym9iOmh1bnRlcjI=");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_int_eq(fake_reject_status(ctx), 0);
    /* the credentials do not go on to the local service; the rest does */
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
    ck_assert_str_eq(wr_header_get(ctx, WR_REQUEST, "Accept"), "*/*");
    ck_assert_ptr_null(wr_header_get(ctx, WR_RESPONSE, "WWW-Authenticate"));
    /* scheme in any case, extra blanks */
    ctx = request("web", "app.example.com", "203.0.113.9", "basic   Ym9iOmh1bnRlcjI= ");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
    /* matched by Host alone (no tunnel hostname) */
    ctx = request("web", NULL, "203.0.113.9", "Basic Ym9iOmh1bnRlcjI=");
    fake_set_str(ctx, WR_KEY_HOST, 0, "app.example.com");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
}
END_TEST

START_TEST(test_auth__basic_refused)
{
    static const char *const bad[] = {
        NULL,                      /* missing */
        "Basic Ym9iOndyb25n",      /* bob:wrong */
        "Basic Ym9i",              /* bob, no colon */
        "Basic ZXZlOmh1bnRlcjI=",  /* eve:hunter2, no such user */
        "Basic Ym9iOmh1bnRlcjI==", /* wrong padding */
        "Basic !!!!",              /* not base64 */
        "Basic",                   /* nothing */
        "Basicc Ym9iOmh1bnRlcjI=", /* another scheme */
        "Bearer nope",             /* a wrong bearer token */
        "Digest username=\"bob\"", /* a scheme we do not speak */
    };
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ctx = request("web", "app.example.com", "203.0.113.9", bad[i]);
        ck_assert_msg(wr_plugin.request_headers(ctx) == WR_REJECT, "%s", bad[i] ? bad[i] : "-");
        ck_assert_int_eq(fake_reject_status(ctx), 401);
        ck_assert_str_eq(fake_reject_reason(ctx), "authentication required");
        ck_assert_str_eq(wr_header_get(ctx, WR_RESPONSE, "WWW-Authenticate"),
                         "Basic realm=\"staging\"");
    }
}
END_TEST

START_TEST(test_auth__basic_bcrypt)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Y2Fyb2w6bm9wZQ=="); /* nope */
    request_rejected(ctx, 401, "authentication required");
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Y2Fyb2w6czNjcmV0"); /* s3cret */
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
    /* again: now from the worker's cache */
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Y2Fyb2w6czNjcmV0");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_nonnull(wr_data_get(ctx, WR_SCOPE_WORKER));
    /* the cache holds only what succeeded, and only for that user */
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Y2Fyb2w6bm9wZQ==");
    request_rejected(ctx, 401, "authentication required");
    ctx = request("web", "app.example.com", "203.0.113.9", "Basic Ym9iOnMzY3JldA=="); /* bob */
    request_rejected(ctx, 401, "authentication required");
}
END_TEST

START_TEST(test_auth__bearer)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    /* alongside basic users */
    ctx = request("web", "app.example.com", "203.0.113.9", "Bearer bearer-token-1");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
    /* bearer only, matched by tunnel name */
    ctx = request("api", "api.example.com", "203.0.113.9", "bearer bearer-token-1");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_OK);
    ck_assert_ptr_null(wr_header_get(ctx, WR_REQUEST, "Authorization"));
    ctx = request("api", "api.example.com", "203.0.113.9", "Bearer bearer-token-2");
    request_rejected(ctx, 401, "authentication required");
    ck_assert_str_eq(wr_header_get(ctx, WR_RESPONSE, "WWW-Authenticate"),
                     "Bearer realm=\"warren\"");
    ck_assert_str_eq(wr_header_get(ctx, WR_REQUEST, "Authorization"), "Bearer bearer-token-2");
    /* basic credentials where only bearer tokens are configured */
    ctx = request("api", "api.example.com", "203.0.113.9", "Basic Ym9iOmh1bnRlcjI=");
    request_rejected(ctx, 401, "authentication required");
    ctx = request("api", "api.example.com", "203.0.113.9", NULL);
    request_rejected(ctx, 401, "authentication required");
    ck_assert_str_eq(wr_header_get(ctx, WR_RESPONSE, "WWW-Authenticate"),
                     "Bearer realm=\"warren\"");
}
END_TEST

START_TEST(test_auth__request_not_ours)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    ctx = request("other", "other.example.com", "203.0.113.9", "Basic Ym9iOmh1bnRlcjI=");
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_DECLINED);
    /* untouched */
    ck_assert_str_eq(wr_header_get(ctx, WR_REQUEST, "Authorization"), "Basic Ym9iOmh1bnRlcjI=");
    ck_assert_int_eq(fake_reject_status(ctx), 0);
    ctx = request("web", "app.example.com", "203.0.113.9", NULL);
    fake_set_num(ctx, WR_KEY_SIDE, 0, WR_SIDE_CLIENT);
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_DECLINED);
    ck_assert_ptr_nonnull(load(tokens_yaml));
    ctx = request("web", "app.example.com", "203.0.113.9", NULL);
    ck_assert_int_eq(wr_plugin.request_headers(ctx), WR_DECLINED);
}
END_TEST

START_TEST(test_auth__ip_lists)
{
    static const struct {
        const char *ip;
        int verdict;
    } cases[] = {
        {"10.2.3.4", WR_OK},
        {"10.255.255.255", WR_OK},
        {"10.1.2.3", WR_REJECT},    /* deny wins over allow */
        {"192.168.1.1", WR_REJECT}, /* not allowed */
        {"127.0.0.1", WR_OK},
        {"127.0.0.2", WR_REJECT},
        {"::1", WR_OK},
        {"::2", WR_REJECT},
        {"2001:db8:1::5", WR_OK},
        {"2001:db9::1", WR_REJECT},
        {"::ffff:10.2.3.4", WR_OK}, /* IPv4 through a dual-stack socket */
        {"::ffff:10.1.0.1", WR_REJECT},
        {"not-an-ip", WR_REJECT},
        {NULL, WR_REJECT},
    };
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ctx = request("ipweb", "ip.example.com", cases[i].ip, "Basic abc");
        ck_assert_msg(wr_plugin.request_headers(ctx) == cases[i].verdict, "%s", cases[i].ip);
        if (cases[i].verdict == WR_REJECT) {
            ck_assert_int_eq(fake_reject_status(ctx), 403);
            ck_assert_str_eq(fake_reject_reason(ctx), "forbidden");
        } else {
            ck_assert_int_eq(fake_reject_status(ctx), 0);
        }
        /* no credentials configured here: the header is the local service's */
        ck_assert_str_eq(wr_header_get(ctx, WR_REQUEST, "Authorization"), "Basic abc");
    }
}
END_TEST

/* ---- stream_open -------------------------------------------------------- */

START_TEST(test_auth__stream_open)
{
    wr_ctx_t *ctx;

    ck_assert_ptr_nonnull(load(protect_yaml));
    ck_assert_int_eq(wr_plugin.stream_open(stream("tcp1", 20001, "192.168.1.7")), WR_OK);
    ctx = stream("tcp1", 20001, "192.168.2.7");
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), 403);
    ck_assert_str_eq(fake_reject_reason(ctx), "forbidden");
    ctx = stream("db", 20005, "fd00::1");
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_REJECT);
    ck_assert_int_eq(fake_reject_status(ctx), 403);
    ck_assert_int_eq(wr_plugin.stream_open(stream("db", 20005, "fe80::1")), WR_OK);
    ck_assert_int_eq(wr_plugin.stream_open(stream("db", 20005, "10.0.0.1")), WR_OK);
    /* no entry for this port or tunnel; hostname entries are for HTTP */
    ck_assert_int_eq(wr_plugin.stream_open(stream("tcp2", 20002, "192.168.2.7")), WR_DECLINED);
    ctx = stream("web", 20003, "1.2.3.4");
    fake_set_str(ctx, WR_KEY_HOSTNAME, 0, "ip.example.com");
    ck_assert_int_eq(wr_plugin.stream_open(ctx), WR_DECLINED);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("plugins");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_auth__base64);
    tcase_add_test(tc, test_auth__cidr);
    tcase_add_test(tc, test_auth__config_errors);
    tcase_add_test(tc, test_auth__config_ok);
    tcase_add_test(tc, test_auth__token_good_unknown);
    tcase_add_test(tc, test_auth__token_empty_list);
    tcase_add_test(tc, test_auth__token_ports);
    tcase_add_test(tc, test_auth__token_hostnames);
    tcase_add_test(tc, test_auth__basic_ok);
    tcase_add_test(tc, test_auth__basic_refused);
    tcase_add_test(tc, test_auth__basic_bcrypt);
    tcase_add_test(tc, test_auth__bearer);
    tcase_add_test(tc, test_auth__request_not_ours);
    tcase_add_test(tc, test_auth__ip_lists);
    tcase_add_test(tc, test_auth__stream_open);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(auth_suite)
