/* Unit tests for modules/wr_dash.c and modules/wr_dash_json.c: the
 * dashboard's address rule, who it answers (Host, token, cookie, Origin),
 * and its JSON views of captured requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "wr_admin.h"
#include "wr_cap.h"
#include "wr_dash.h"
#include "wr_dash_json.h"
#include "wr_http.h"
#include "wr_json.h"
#include "wr_net.h"
#include "wr_test.h"

START_TEST(test_dash__loopback)
{
    static const struct {
        const char *bind;
        int want;
    } cases[] = {
        {"127.0.0.1:4040", 1},       {"127.9.8.7:1", 1},  {"[::1]:4040", 1},
        {"[::ffff:127.0.0.1]:1", 1}, {"0.0.0.0:4040", 0}, {"[::]:4040", 0},
        {"192.0.2.10:4040", 0},      {":4040", 0},        {"nonsense", -1},
        {"127.0.0.1:x", -1},
    };
    char why[200];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(wr_dash_bind_loopback(cases[i].bind, why, sizeof(why)) == cases[i].want,
                      "%s: expected %d", cases[i].bind, cases[i].want);
}
END_TEST

START_TEST(test_dash__conf_check)
{
    wr_dash_conf_t c;
    char buf[400];
    const char *why;

    wr_dash_conf_default(&c);
    ck_assert_str_eq(c.bind, "127.0.0.1:4040");
    ck_assert_int_eq(c.capture, 1);
    ck_assert_uint_eq(c.cap.max_entries, 1000);
    ck_assert_uint_eq(c.cap.max_body, 1024 * 1024);
    ck_assert_ptr_null(wr_dash_conf_check(&c, buf, sizeof(buf)));
    c.bind = "0.0.0.0:4040";
    why = wr_dash_conf_check(&c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "not a loopback address: a token is required") != NULL, "%s", why);
    c.token = "";
    ck_assert_ptr_nonnull(wr_dash_conf_check(&c, buf, sizeof(buf)));
    c.token = memset((char[WR_DASH_TOKEN_MAX + 2]){0}, 't', WR_DASH_TOKEN_MAX);
    ck_assert_ptr_null(wr_dash_conf_check(&c, buf, sizeof(buf)));
    c.token = memset((char[WR_DASH_TOKEN_MAX + 2]){0}, 't', WR_DASH_TOKEN_MAX + 1);
    why = wr_dash_conf_check(&c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, "dashboard.token is longer than 256 bytes");
    c.token = "secret";
    ck_assert_ptr_null(wr_dash_conf_check(&c, buf, sizeof(buf)));
    c.bind = "no-port";
    why = wr_dash_conf_check(&c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strncmp(why, "dashboard address 'no-port': ", 29) == 0, "%s", why);
    c.bind = NULL; /* off */
    ck_assert_ptr_null(wr_dash_conf_check(&c, buf, sizeof(buf)));
}
END_TEST

/* ---- who the dashboard answers, over a real listener on 127.0.0.1 ----- */

typedef struct {
    struct event_base *base;
    struct evhttp *http;
    wr_dash_t *d;
    uint16_t port;
    char host[32]; /* "127.0.0.1:PORT" */
} srv_t;

typedef struct {
    struct event_base *base;
    int code;
    char cookie[200]; /* Set-Cookie, if any */
} reply_t;

/* Another route on the dashboard's listener, as the client's /metrics:
 * served only when wr_dash_allow lets it through. */
static void other_route(struct evhttp_request *req, void *arg)
{
    if (wr_dash_allow(arg, req) == 0)
        evhttp_send_reply(req, 200, "OK", NULL);
}

static void srv_start(srv_t *s, const char *token)
{
    static const wr_admin_limits_t lim = {
        .backlog = 8, .max_headers = 8192, .max_body = 8192, .timeout_s = 5};
    wr_dash_conf_t c;
    wr_addr_t a;
    char why[200];

    memset(s, 0, sizeof(*s));
    s->base = event_base_new();
    ck_assert_ptr_nonnull(s->base);
    s->http = wr_admin_listen_with(s->base, "127.0.0.1:0", "test", &lim, &a, why, sizeof(why));
    ck_assert_msg(s->http != NULL, "%s", why);
    s->port = wr_addr_port(&a);
    snprintf(s->host, sizeof(s->host), "127.0.0.1:%u", s->port);
    wr_dash_conf_default(&c);
    c.bind = s->host;
    c.token = token;
    s->d = wr_dash_new(s->base, &c);
    ck_assert_ptr_nonnull(s->d);
    ck_assert_int_eq(evhttp_set_cb(s->http, "/other", other_route, s->d), 0);
    ck_assert_int_eq(wr_dash_routes(s->http, s->d), 0);
}

static void srv_stop(srv_t *s)
{
    wr_dash_free(s->d);
    evhttp_free(s->http);
    event_base_free(s->base);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    reply_t *r = arg;
    const char *c;

    r->code = req != NULL ? evhttp_request_get_response_code(req) : -1;
    c = req != NULL ? evhttp_find_header(evhttp_request_get_input_headers(req), "Set-Cookie")
                    : NULL;
    if (c != NULL)
        snprintf(r->cookie, sizeof(r->cookie), "%s", c);
    event_base_loopbreak(r->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

/* Send one request (headers: name, value, ..., NULL) and run the loop
 * until its answer; the status (0: none within 5 s). */
static int ask(srv_t *s, enum evhttp_cmd_type cmd, const char *path, const char *const *hdrs,
               reply_t *r)
{
    struct evhttp_connection *conn =
        evhttp_connection_base_new(s->base, NULL, "127.0.0.1", s->port);
    struct evhttp_request *req;
    struct event *timer = evtimer_new(s->base, on_timeout, s->base);
    struct timeval tv = {5, 0};

    memset(r, 0, sizeof(*r));
    r->base = s->base;
    ck_assert_ptr_nonnull(conn);
    ck_assert_ptr_nonnull(timer);
    req = evhttp_request_new(on_reply, r);
    ck_assert_ptr_nonnull(req);
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2)
        evhttp_add_header(evhttp_request_get_output_headers(req), hdrs[i], hdrs[i + 1]);
    ck_assert_int_eq(evhttp_make_request(conn, req, cmd, path), 0);
    evtimer_add(timer, &tv);
    event_base_dispatch(s->base);
    event_free(timer);
    evhttp_connection_free(conn);
    return r->code;
}

/* Without a token: only a loopback Host (or the configured address's
 * host) is answered, on the dashboard's paths and on others beside them. */
START_TEST(test_dash__host_check)
{
    static const char *const ok[] = {"127.0.0.1", "localhost:4040", "LOCALHOST", "127.1.2.3:80",
                                     "[::1]:4040"};
    static const char *const bad[] = {"evil.example",           "evil.example:4040",
                                      "127.0.0.1.evil.example", "127.0.0.256",
                                      "localhost.evil.example", "10.0.0.1:4040"};
    srv_t s;
    reply_t r;

    srv_start(&s, NULL);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *h[] = {"Host", ok[i], NULL};
        ck_assert_msg(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r) == 200, "Host %s: %d", ok[i],
                      r.code);
        ck_assert_msg(ask(&s, EVHTTP_REQ_GET, "/other", h, &r) == 200, "/other, Host %s: %d", ok[i],
                      r.code);
    }
    {
        const char *h[] = {"Host", s.host, NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/requests", h, &r), 200);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *h[] = {"Host", bad[i], NULL};
        ck_assert_msg(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r) == 403, "Host %s: %d", bad[i],
                      r.code);
        ck_assert_msg(ask(&s, EVHTTP_REQ_GET, "/", h, &r) == 403, "/, Host %s: %d", bad[i], r.code);
        ck_assert_msg(ask(&s, EVHTTP_REQ_GET, "/other", h, &r) == 403, "/other, Host %s: %d",
                      bad[i], r.code);
    }
    srv_stop(&s);
}
END_TEST

/* POST and DELETE: JSON only, and from the dashboard's own origin. */
START_TEST(test_dash__origin_check)
{
    srv_t s;
    reply_t r;
    char same[64];

    srv_start(&s, NULL);
    snprintf(same, sizeof(same), "http://%s", s.host);
    {
        const char *h[] = {"Host", s.host, "Content-Type", "application/json", NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 200);
    }
    {
        const char *h[] = {"Host",   s.host, "Content-Type",   "application/json; charset=utf-8",
                           "Origin", same,   "Sec-Fetch-Site", "same-origin",
                           NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 200);
    }
    {
        const char *h[] = {
            "Host", s.host, "Content-Type", "application/json", "Origin", "http://evil.example",
            NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 403);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_POST, "/api/requests/1/replay", h, &r), 403);
    }
    {
        /* the same host by another scheme or port is another origin */
        char other[64];
        const char *h[] = {"Host", s.host, "Content-Type", "application/json", "Origin",
                           other,  NULL};
        snprintf(other, sizeof(other), "https://%s", s.host);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 403);
        snprintf(other, sizeof(other), "http://127.0.0.1:%u", s.port == 1 ? 2 : s.port - 1);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 403);
    }
    {
        const char *h[] = {
            "Host",       s.host, "Content-Type", "application/json", "Sec-Fetch-Site",
            "cross-site", NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 403);
    }
    {
        const char *h[] = {"Host", s.host, "Content-Type", "text/plain", "Origin", same, NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_DELETE, "/api/requests", h, &r), 415);
    }
    srv_stop(&s);
}
END_TEST

/* With a token: Bearer, or the cookie that /?token= sets; nothing else. */
START_TEST(test_dash__token_and_cookie)
{
    srv_t s;
    reply_t r;
    char cookie[200], *semi;

    srv_start(&s, "s3cret");
    {
        const char *h[] = {"Host", s.host, NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 401);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/other", h, &r), 401);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/?token=wrong", h, &r), 401);
        ck_assert_str_eq(r.cookie, "");
    }
    {
        /* a token is not bound to a Host: any name reaches it */
        const char *h[] = {"Host", "dash.example", "Authorization", "Bearer s3cret", NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 200);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/other", h, &r), 200);
    }
    {
        const char *h[] = {"Host", s.host, "Authorization", "Bearer s3cre", NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 401);
    }
    {
        const char *h[] = {"Host", s.host, "Cookie", "warren_dash=s3cret", NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 401);
    }
    {
        const char *h[] = {"Host", s.host, NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/?token=s3cret", h, &r), 303);
    }
    ck_assert_msg(strncmp(r.cookie, "warren_dash=", 12) == 0, "Set-Cookie: %s", r.cookie);
    ck_assert_msg(strstr(r.cookie, "; HttpOnly; SameSite=Strict") != NULL, "%s", r.cookie);
    snprintf(cookie, sizeof(cookie), "%s", r.cookie);
    semi = strchr(cookie, ';');
    ck_assert_ptr_nonnull(semi);
    *semi = '\0';
    ck_assert_uint_eq(strlen(cookie), 12 + 64); /* a random secret, not the token */
    {
        char both[300];
        const char *h[] = {"Host", s.host, "Cookie", cookie, NULL};
        const char *h2[] = {"Host", s.host, "Cookie", both, NULL};
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 200);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/", h, &r), 200);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/other", h, &r), 200);
        snprintf(both, sizeof(both), "theme=dark; %s; x=1", cookie);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h2, &r), 200);
        /* one character off, or one short */
        cookie[strlen(cookie) - 1] ^= 1;
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 401);
        cookie[strlen(cookie) - 1] = '\0';
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/api/tunnels", h, &r), 401);
        ck_assert_int_eq(ask(&s, EVHTTP_REQ_GET, "/other", h, &r), 401);
    }
    srv_stop(&s);
}
END_TEST

/* A captured request with hostile bytes, for the JSON views. */
static wr_cap_entry_t *entry(wr_cap_t *cap, const char *req, const char *resp, const char *body,
                             size_t blen)
{
    struct evbuffer *in = evbuffer_new(), *b = evbuffer_new();
    wr_http_parser_t *qp = wr_http_parser_new(0, 0), *sp = wr_http_parser_new(1, 0);
    wr_cap_entry_t *e;

    evbuffer_add(in, req, strlen(req));
    ck_assert_int_eq(wr_http_read_head(qp, in), WR_HTTP_HEAD);
    e = wr_cap_request(cap, "web", "203.0.113.7:5555", wr_http_parser_head(qp), NULL);
    ck_assert_ptr_nonnull(e);
    evbuffer_add(b, body, blen);
    wr_cap_body(e, WR_CAP_REQ, b, blen);
    evbuffer_drain(in, evbuffer_get_length(in));
    evbuffer_add(in, resp, strlen(resp));
    ck_assert_int_eq(wr_http_read_head(sp, in), WR_HTTP_HEAD);
    wr_cap_response(e, wr_http_parser_head(sp));
    wr_cap_body(e, WR_CAP_RESP, b, blen);
    wr_cap_end(e, wr_http_parser_head(sp)->status);
    wr_http_parser_free(qp);
    wr_http_parser_free(sp);
    evbuffer_free(in);
    evbuffer_free(b);
    return e;
}

static wr_json_t *parse_out(struct evbuffer *out)
{
    char why[160];
    size_t n = evbuffer_get_length(out);
    wr_json_t *j = wr_json_parse((const char *)evbuffer_pullup(out, -1), n, 16, why, sizeof(why));

    ck_assert_msg(j != NULL, "not JSON (%s): %.*s", why, (int)(n > 400 ? 400 : n),
                  (const char *)evbuffer_pullup(out, -1));
    evbuffer_drain(out, n);
    return j;
}

START_TEST(test_dash__json_views)
{
    static const char body[] = "<script>alert(1)</script>\xff\x00 binary";
    wr_cap_t *cap = wr_cap_new(NULL);
    struct evbuffer *out = evbuffer_new();
    wr_cap_entry_t *e;
    wr_json_t *j;
    const wr_json_t *x;
    int64_t n;

    e = entry(cap,
              "POST /p/<img>?a=1&b=%41%20c HTTP/1.1\r\nHost: app.example.test\r\n"
              "X-Forwarded-Proto: https\r\nX-Evil: \"</script>\xe9\r\nContent-Length: 33\r\n\r\n",
              "HTTP/1.1 201 Created\r\nContent-Type: text/html\r\nContent-Length: 33\r\n\r\n", body,
              sizeof(body) - 1);
    wr_dash_json_summary(out, e);
    j = parse_out(out);
    ck_assert_str_eq(wr_json_string(wr_json_get(j, "path"), NULL), "/p/<img>?a=1&b=%41%20c");
    ck_assert_int_eq(wr_json_int(wr_json_get(j, "status"), 0, 999, &n), 0);
    ck_assert_int_eq(n, 201);
    ck_assert_str_eq(wr_json_string(wr_json_get(j, "state"), NULL), "done");
    ck_assert_int_eq(wr_json_kind(wr_json_get(j, "replay_of")), WR_JSON_NULL);
    ck_assert_str_eq(wr_json_string(wr_json_get(j, "content_type"), NULL), "text/html");
    wr_json_free(j);

    /* Captured markup is escaped (\u003c): no '<' leaves as it came, in
     * any field. */
    wr_dash_json_detail(out, e);
    ck_assert_ptr_null(memchr(evbuffer_pullup(out, -1), '<', evbuffer_get_length(out)));
    j = parse_out(out);
    x = wr_json_get(wr_json_get(j, "request"), "headers");
    ck_assert_uint_eq(wr_json_len(x), 4);
    /* a byte that is not UTF-8 reads as Latin-1 */
    ck_assert_str_eq(wr_json_string(wr_json_at(wr_json_at(x, 2), 1), NULL), "\"</script>\xc3\xa9");
    x = wr_json_get(wr_json_get(j, "request"), "body");
    ck_assert_int_eq(wr_json_bool(wr_json_get(x, "binary")), 1);
    ck_assert_str_eq(wr_json_string(wr_json_get(x, "encoding"), NULL), "base64");
    {
        size_t len;
        const char *b64 = wr_json_string(wr_json_get(x, "data"), &len);
        unsigned char dec[64];
        ck_assert_int_eq(wr_base64_decode(dec, b64, len), (long)sizeof(body) - 1);
        ck_assert_int_eq(memcmp(dec, body, sizeof(body) - 1), 0);
    }
    wr_json_free(j);

    wr_dash_json_har_entry(out, e);
    j = parse_out(out);
    x = wr_json_get(j, "request");
    ck_assert_str_eq(wr_json_string(wr_json_get(x, "url"), NULL),
                     "https://app.example.test/p/<img>?a=1&b=%41%20c");
    ck_assert_uint_eq(wr_json_len(wr_json_get(x, "queryString")), 2);
    ck_assert_str_eq(
        wr_json_string(wr_json_get(wr_json_at(wr_json_get(x, "queryString"), 1), "value"), NULL),
        "A c");
    ck_assert_str_eq(wr_json_string(wr_json_get(wr_json_get(x, "postData"), "encoding"), NULL),
                     "base64");
    ck_assert_int_eq(wr_json_int(wr_json_get(wr_json_get(j, "response"), "status"), 0, 999, &n), 0);
    ck_assert_int_eq(n, 201);
    wr_json_free(j);
    evbuffer_free(out);
    wr_cap_free(cap);
}
END_TEST

/* e's HAR entry, parsed. */
static wr_json_t *har_of(const wr_cap_entry_t *e)
{
    struct evbuffer *out = evbuffer_new();
    wr_json_t *j;

    ck_assert_ptr_nonnull(out);
    wr_dash_json_har_entry(out, e);
    j = parse_out(out);
    evbuffer_free(out);
    return j;
}

/* The number at j.key (asserted to be one). */
static int64_t num_at(const wr_json_t *j, const char *key)
{
    int64_t n = -2;

    ck_assert_msg(wr_json_int(wr_json_get(j, key), -1, INT64_MAX, &n) == 0, "%s", key);
    return n;
}

/* HAR: both bodySizes count the body as it came, chunk framing removed
 * (what request_size and response_size count); the response's
 * httpVersion is the one it came with. */
START_TEST(test_dash__har_sizes_and_version)
{
    static const char chunked[] = "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n";
    wr_cap_t *cap = wr_cap_new(NULL);
    wr_cap_entry_t *e = entry(
        cap, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunked, sizeof(chunked) - 1);
    wr_json_t *j = har_of(e);
    const wr_json_t *resp = wr_json_get(j, "response");

    ck_assert_uint_eq(e->bytes_out, sizeof(chunked) - 1);
    ck_assert_int_eq(num_at(wr_json_get(j, "request"), "bodySize"), 7);
    ck_assert_int_eq(num_at(resp, "bodySize"), 7);
    ck_assert_int_eq(num_at(wr_json_get(resp, "content"), "size"), 7);
    ck_assert_str_eq(wr_json_string(wr_json_get(resp, "httpVersion"), NULL), "HTTP/1.1");
    wr_json_free(j);

    e = entry(cap, "GET /old HTTP/1.1\r\nHost: h\r\n\r\n",
              "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", "hello", 5);
    j = har_of(e);
    resp = wr_json_get(j, "response");
    ck_assert_str_eq(wr_json_string(wr_json_get(wr_json_get(j, "request"), "httpVersion"), NULL),
                     "HTTP/1.1");
    ck_assert_str_eq(wr_json_string(wr_json_get(resp, "httpVersion"), NULL), "HTTP/1.0");
    ck_assert_int_eq(num_at(resp, "bodySize"), 5);
    wr_json_free(j);
    wr_cap_free(cap);
}
END_TEST

START_TEST(test_dash__match)
{
    wr_cap_t *cap = wr_cap_new(NULL);
    wr_cap_entry_t *e = entry(cap, "GET /Api/Users?id=7 HTTP/1.1\r\nHost: app.example.test\r\n\r\n",
                              "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "", 0);
    char t[40];

    ck_assert_int_eq(wr_dash_json_match(e, NULL, 0), 1);
    ck_assert_int_eq(wr_dash_json_match(e, "api/users", 0), 1);
    ck_assert_int_eq(wr_dash_json_match(e, "get", 4), 1);
    ck_assert_int_eq(wr_dash_json_match(e, "404", 0), 1);
    ck_assert_int_eq(wr_dash_json_match(e, "EXAMPLE.TEST", 0), 1);
    ck_assert_int_eq(wr_dash_json_match(e, "web", 0), 1); /* the tunnel */
    ck_assert_int_eq(wr_dash_json_match(e, "post", 0), 0);
    ck_assert_int_eq(wr_dash_json_match(e, NULL, 2), 0);
    ck_assert_int_eq(wr_dash_json_match(e, NULL, 6), 0); /* not failed */
    wr_json_time_text(t, sizeof(t), 1764541200123456u);
    ck_assert_str_eq(t, "2025-11-30T22:20:00.123Z");
    wr_cap_free(cap);
}
END_TEST

static Suite *dash_suite(void)
{
    Suite *s = suite_create("dash");
    TCase *tc = tcase_create("modules");

    tcase_add_test(tc, test_dash__loopback);
    tcase_add_test(tc, test_dash__conf_check);
    tcase_add_test(tc, test_dash__host_check);
    tcase_add_test(tc, test_dash__origin_check);
    tcase_add_test(tc, test_dash__token_and_cookie);
    tcase_add_test(tc, test_dash__json_views);
    tcase_add_test(tc, test_dash__har_sizes_and_version);
    tcase_add_test(tc, test_dash__match);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(dash_suite)
