/* Unit tests for core/wr_http.c: HTTP/1.x heads and framing. */
#include <stdio.h>
#include <string.h>

#include <http_parser.h>

#include "wr_http.h"
#include "wr_test.h"

/* The content of b as a string (the test buffers are small). */
static const char *str_of(struct evbuffer *b)
{
    static char s[8192];
    size_t n = evbuffer_get_length(b);

    ck_assert_uint_lt(n, sizeof(s));
    evbuffer_copyout(b, s, n);
    s[n] = '\0';
    return s;
}

/* Append s to in and read a head. */
static int head(wr_http_parser_t *p, struct evbuffer *in, const char *s)
{
    evbuffer_add(in, s, strlen(s));
    return wr_http_read_head(p, in);
}

/* Read the current body to its end, moving it out of in; the byte count. */
static size_t body_done(wr_http_parser_t *p, struct evbuffer *in)
{
    size_t n = 99;
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_DONE);
    evbuffer_drain(in, n);
    return n;
}

static int hdr_is(const wr_http_header_t *f, const char *name, const char *value)
{
    return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0 &&
           f->value_len == strlen(value) && memcmp(f->value, value, f->value_len) == 0;
}

static int str_is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Parse s as one request (or response) and expect an error; its status. */
static unsigned error_of(int response, const char *s, size_t max_head, const char **reason)
{
    wr_http_parser_t *p = wr_http_parser_new(response, max_head);
    struct evbuffer *in = evbuffer_new();
    static char why[256];
    const char *r;
    unsigned st;
    int rc;

    evbuffer_add(in, s, strlen(s));
    rc = wr_http_read_head(p, in);
    while (rc == WR_HTTP_HEAD) {
        size_t n;
        rc = wr_http_read_body(p, in, &n);
        evbuffer_drain(in, n);
        if (rc == WR_HTTP_DONE)
            rc = evbuffer_get_length(in) ? wr_http_read_head(p, in) : WR_HTTP_NEED;
    }
    if (rc != WR_HTTP_ERROR)
        rc = wr_http_eof(p);
    ck_assert_msg(rc == WR_HTTP_ERROR, "no error for: %s", s);
    st = wr_http_parser_error(p, &r);
    snprintf(why, sizeof(why), "%s", r);
    *reason = why;
    /* Nothing more after an error. */
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_ERROR);
    wr_http_parser_free(p);
    evbuffer_free(in);
    return st;
}

#define ck_error(resp, s, max, status, why)                                                        \
    do {                                                                                           \
        const char *r_;                                                                            \
        ck_assert_uint_eq(error_of(resp, s, max, &r_), status);                                    \
        ck_assert_str_eq(r_, why);                                                                 \
    } while (0)

START_TEST(test_http__get)
{
    static const char req[] = "GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: t/1 \t\r\n"
                              "Accept:*/*\r\nX-Empty:\r\n\r\n";
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    const char *raw;
    size_t rawlen, n = 7;

    ck_assert_ptr_null(wr_http_parser_head(p));
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_NEED);
    ck_assert_int_eq(head(p, in, req), WR_HTTP_HEAD);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->is_request, 1);
    ck_assert_int_eq(h->method, HTTP_GET);
    ck_assert_str_eq(h->method_name, "GET");
    ck_assert(str_is(h->url, h->url_len, "/a?b=1"));
    ck_assert_uint_eq(h->major, 1);
    ck_assert_uint_eq(h->minor, 1);
    ck_assert_uint_eq(h->nheaders, 4);
    ck_assert(hdr_is(&h->headers[0], "Host", "Example.com"));
    ck_assert(hdr_is(&h->headers[1], "User-Agent", "t/1")); /* trailing OWS is not value */
    ck_assert(hdr_is(&h->headers[2], "Accept", "*/*"));
    ck_assert(hdr_is(&h->headers[3], "X-Empty", ""));
    ck_assert_int_eq(h->keep_alive, 1);
    ck_assert_int_eq(h->upgrade, 0);
    ck_assert_int_eq(h->chunked, 0);
    ck_assert_int_eq(h->content_length, -1);
    ck_assert_int_eq(h->expect_continue, 0);
    ck_assert_int_eq(h->body, 0);
    ck_assert_ptr_eq(wr_http_find(h, "user-agent"), &h->headers[1]);
    ck_assert_ptr_null(wr_http_find(h, "user-agen"));
    raw = wr_http_parser_head_raw(p, &rawlen);
    ck_assert(str_is(raw, rawlen, req));
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_DONE);
    ck_assert_uint_eq(n, 0);
    /* Between messages, EOF is a clean end. */
    ck_assert_int_eq(wr_http_eof(p), WR_HTTP_NEED);
    ck_assert_uint_eq(wr_http_parser_error(p, NULL), 0);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__post_content_length)
{
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    size_t n;

    ck_assert_int_eq(head(p, in,
                          "POST /up HTTP/1.0\r\nHost: a\r\nContent-Length: 11\r\n"
                          "Connection: keep-alive\r\nExpect: 100-continue\r\n\r\nhel"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->method, HTTP_POST);
    ck_assert_uint_eq(h->minor, 0);
    ck_assert_int_eq(h->content_length, 11);
    ck_assert_int_eq(h->body, 1);
    ck_assert_int_eq(h->keep_alive, 1);      /* 1.0 with keep-alive */
    ck_assert_int_eq(h->expect_continue, 0); /* not in HTTP/1.0 */
    ck_assert_str_eq(str_of(in), "hel");
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_BODY);
    ck_assert_uint_eq(n, 3);
    evbuffer_drain(in, n);
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_BODY);
    ck_assert_uint_eq(n, 0);
    evbuffer_add(in, "lo worldGET", 11);
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_DONE);
    ck_assert_uint_eq(n, 8);
    evbuffer_drain(in, n);
    ck_assert_str_eq(str_of(in), "GET");
    ck_assert_int_eq(head(p, in,
                          " / HTTP/1.1\r\nHost: b\r\nExpect: 100-Continue\r\n"
                          "Content-Length: 0\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->expect_continue, 1);
    ck_assert_int_eq(h->content_length, 0);
    ck_assert_int_eq(h->body, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    /* HTTP/1.0 without keep-alive: the last request on the connection. */
    ck_assert_int_eq(head(p, in, "GET / HTTP/1.0\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->keep_alive, 0);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

static const char chunked_body[] = "5\r\nhello\r\n"
                                   "1a;name=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                                   "0\r\n"
                                   "X-Trailer: t\r\n"
                                   "\r\n";

START_TEST(test_http__chunked_upload)
{
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    size_t n, total = 0;
    int rc = WR_HTTP_BODY;

    ck_assert_int_eq(
        head(p, in, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->chunked, 1);
    ck_assert_int_eq(h->content_length, -1);
    ck_assert_int_eq(h->body, 1);
    /* In one piece, followed by the next request: exactly the chunked bytes. */
    evbuffer_add(in, chunked_body, strlen(chunked_body));
    evbuffer_add(in, "GET /2 HTTP/1.1\r\n\r\n", 19);
    ck_assert_uint_eq(body_done(p, in), strlen(chunked_body));
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert(str_is(wr_http_parser_head(p)->url, 2, "/2"));
    ck_assert_uint_eq(body_done(p, in), 0);

    /* Byte by byte: every framing byte counted, DONE on the last. */
    ck_assert_int_eq(head(p, in, "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                     WR_HTTP_HEAD);
    for (size_t i = 0; i < strlen(chunked_body); i++) {
        ck_assert_int_eq(rc, WR_HTTP_BODY);
        evbuffer_add(in, chunked_body + i, 1);
        rc = wr_http_read_body(p, in, &n);
        ck_assert_uint_eq(n, 1);
        evbuffer_drain(in, n);
        total += n;
    }
    ck_assert_int_eq(rc, WR_HTTP_DONE);
    ck_assert_uint_eq(total, strlen(chunked_body));
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__connection_tokens)
{
    static const struct {
        const char *head;
        int keep_alive, upgrade, chunked;
    } cases[] = {
        {"GET / HTTP/1.1\r\nConnection: close\t\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\t\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\nConnection: x, keep-alive\r\n\r\n", 1, 0, 0},
        {"GET / HTTP/1.0\r\n\r\n", 0, 0, 0},
        {"GET / HTTP/1.1\r\nUpgrade: ws\r\nConnection: keep-alive\r\nConnection: upgrade\r\n\r\n",
         1, 1, 0},
        {"GET / HTTP/1.1\r\nUpgrade:\r\nConnection: upgrade\r\n\r\n", 1, 0, 0},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0,
         1},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked \r\n\r\n", 1, 0, 1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr_http_parser_t *p = wr_http_parser_new(0, 0);
        struct evbuffer *in = evbuffer_new();
        const wr_http_head_t *h;

        ck_assert_msg(head(p, in, cases[i].head) == WR_HTTP_HEAD, "%s", cases[i].head);
        h = wr_http_parser_head(p);
        ck_assert_msg(h->keep_alive == cases[i].keep_alive, "keep_alive: %s", cases[i].head);
        ck_assert_msg(h->upgrade == cases[i].upgrade, "upgrade: %s", cases[i].head);
        ck_assert_msg(h->chunked == cases[i].chunked, "chunked: %s", cases[i].head);
        wr_http_parser_free(p);
        evbuffer_free(in);
    }
}
END_TEST

START_TEST(test_http__pipelined)
{
    static const char reqs[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                               "\r\n" /* a stray CRLF between requests is allowed */
                               "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\r\nxy\r\n0\r\n\r\n"
                               "DELETE /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    static const char *const urls[] = {"/1", "/2", "/3", "/4"};
    static const size_t bodies[] = {0, 3, 12, 0};
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new(), *piece = evbuffer_new();
    const wr_http_head_t *h;

    /* The input in several chains, cut inside the second body. */
    evbuffer_add(piece, reqs, 60);
    evbuffer_add_buffer(in, piece);
    evbuffer_add(piece, reqs + 60, strlen(reqs) - 60);
    evbuffer_add_buffer(in, piece);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
        h = wr_http_parser_head(p);
        ck_assert(str_is(h->url, h->url_len, urls[i]));
        ck_assert_int_eq(h->keep_alive, i < 3);
        ck_assert_uint_eq(body_done(p, in), bodies[i]);
    }
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_NEED);
    /* A head after a message without body: the DONE is implied. */
    ck_assert_int_eq(head(p, in, "GET /5 HTTP/1.1\r\n\r\nGET /6 HTTP/1.1\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert(str_is(wr_http_parser_head(p)->url, 2, "/6"));
    wr_http_parser_free(p);
    evbuffer_free(in);
    evbuffer_free(piece);
}
END_TEST

START_TEST(test_http__byte_at_a_time)
{
    static const char req[] = "OPTIONS /a/long/path?with=query HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "X-Long-Header-Name-Split: some value, with commas\r\n"
                              "A: b\r\n"
                              "Cookie: a=1; b=2; c=3\r\n"
                              "Content-Length: 4\r\n"
                              "\r\n"
                              "bodyNEXT";
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    size_t i, end = strlen(req) - 8, n;
    int rc = WR_HTTP_NEED;

    for (i = 0; i < end; i++) {
        ck_assert_int_eq(rc, WR_HTTP_NEED);
        evbuffer_add(in, req + i, 1);
        rc = wr_http_read_head(p, in);
        ck_assert_uint_eq(evbuffer_get_length(in), 0);
    }
    ck_assert_int_eq(rc, WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->method, HTTP_OPTIONS);
    ck_assert(str_is(h->url, h->url_len, "/a/long/path?with=query"));
    ck_assert_uint_eq(h->nheaders, 5);
    ck_assert(hdr_is(&h->headers[0], "Host", "example.com"));
    ck_assert(hdr_is(&h->headers[1], "X-Long-Header-Name-Split", "some value, with commas"));
    ck_assert(hdr_is(&h->headers[2], "A", "b"));
    ck_assert(hdr_is(&h->headers[3], "Cookie", "a=1; b=2; c=3"));
    ck_assert(hdr_is(&h->headers[4], "Content-Length", "4"));
    ck_assert_int_eq(h->content_length, 4);
    for (i = end; i < end + 4; i++) {
        evbuffer_add(in, req + i, 1);
        rc = wr_http_read_body(p, in, &n);
        ck_assert_uint_eq(n, 1);
        evbuffer_drain(in, 1);
        ck_assert_int_eq(rc, i + 1 < end + 4 ? WR_HTTP_BODY : WR_HTTP_DONE);
    }
    /* The head of a response, byte by byte, then its status and reason. */
    {
        static const char resp[] = "HTTP/1.1 404 Not Found Here\r\nServer: x\r\n\r\n";
        wr_http_parser_t *r = wr_http_parser_new(1, 0);
        for (i = 0; i < strlen(resp); i++) {
            evbuffer_add(in, resp + i, 1);
            rc = wr_http_read_head(r, in);
            ck_assert_int_eq(rc, i + 1 < strlen(resp) ? WR_HTTP_NEED : WR_HTTP_HEAD);
        }
        h = wr_http_parser_head(r);
        ck_assert_uint_eq(h->status, 404);
        ck_assert(str_is(h->reason, h->reason_len, "Not Found Here"));
        ck_assert(hdr_is(&h->headers[0], "Server", "x"));
        ck_assert_int_eq(h->close_delimited, 1);
        wr_http_parser_free(r);
    }
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__responses_without_body)
{
    wr_http_parser_t *p = wr_http_parser_new(1, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;

    /* HEAD: Content-Length describes the resource, no body follows. */
    wr_http_parser_expect(p, HTTP_HEAD);
    ck_assert_int_eq(head(p, in,
                          "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
                          "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
                          "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 200);
    ck_assert_int_eq(h->content_length, 1234);
    ck_assert_int_eq(h->body, 0);
    ck_assert_int_eq(h->keep_alive, 1);
    ck_assert_uint_eq(body_done(p, in), 0);
    /* 204 and 304 never have a body, whatever the headers say. */
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 204);
    ck_assert_int_eq(h->body, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 304);
    ck_assert_int_eq(h->chunked, 1);
    ck_assert_int_eq(h->body, 0);
    ck_assert_int_eq(h->keep_alive, 1);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->body, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__interim_responses)
{
    wr_http_parser_t *p = wr_http_parser_new(1, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;

    wr_http_parser_expect(p, HTTP_HEAD); /* kept across the interim ones */
    ck_assert_int_eq(head(p, in,
                          "HTTP/1.1 100 Continue\r\n\r\n"
                          "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 100);
    ck_assert(str_is(h->reason, h->reason_len, "Continue"));
    ck_assert_int_eq(h->body, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 103);
    ck_assert(hdr_is(&h->headers[0], "Link", "</s.css>; rel=preload"));
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->body, 0); /* still answering HEAD */
    ck_assert_uint_eq(body_done(p, in), 0);
    /* The final response reset the expectation: this one answers a GET. */
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->body, 1);
    ck_assert_uint_eq(body_done(p, in), 2);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__close_delimited)
{
    wr_http_parser_t *p = wr_http_parser_new(1, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    size_t n;

    ck_assert_int_eq(head(p, in, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->major, 1);
    ck_assert_uint_eq(h->minor, 0);
    ck_assert_int_eq(h->body, 1);
    ck_assert_int_eq(h->close_delimited, 1);
    ck_assert_int_eq(h->keep_alive, 0);
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_BODY);
    ck_assert_uint_eq(n, 3);
    evbuffer_drain(in, n);
    evbuffer_add(in, "HTTP/1.1 200", 12); /* body bytes, however they look */
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_BODY);
    ck_assert_uint_eq(n, 12);
    evbuffer_drain(in, n);
    ck_assert_int_eq(wr_http_eof(p), WR_HTTP_DONE);
    wr_http_parser_free(p);

    /* HTTP/1.0 and chunked: framed as chunked, but the last response. */
    p = wr_http_parser_new(1, 0);
    ck_assert_int_eq(head(p, in,
                          "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: keep-alive\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->chunked, 1);
    ck_assert_int_eq(h->keep_alive, 0);
    ck_assert_uint_eq(body_done(p, in), 11);
    wr_http_parser_free(p);

    /* A Transfer-Encoding other than chunked: the body also ends at EOF. */
    p = wr_http_parser_new(1, 0);
    ck_assert_int_eq(head(p, in, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->chunked, 0);
    ck_assert_int_eq(h->close_delimited, 1);
    ck_assert_int_eq(wr_http_eof(p), WR_HTTP_DONE);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__chunked_response_trailers)
{
    static const char body[] = "4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Sum: 42\r\nX-Other: x\r\n\r\n";
    wr_http_parser_t *p = wr_http_parser_new(1, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;

    ck_assert_int_eq(head(p, in,
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Trailer: X-Sum\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->chunked, 1);
    ck_assert_int_eq(h->body, 1);
    ck_assert_int_eq(h->close_delimited, 0);
    ck_assert_int_eq(h->keep_alive, 1);
    ck_assert_uint_eq(h->nheaders, 2);
    evbuffer_add(in, body, strlen(body));
    evbuffer_add(in, "HTTP/1.1 204 No Content\r\n\r\n", 27);
    ck_assert_uint_eq(body_done(p, in), strlen(body));
    /* The trailers did not touch the head. */
    ck_assert_uint_eq(wr_http_parser_head(p)->nheaders, 2);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert_uint_eq(wr_http_parser_head(p)->status, 204);
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__upgrade)
{
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();
    const wr_http_head_t *h;
    const char *why;
    size_t n;

    ck_assert_int_eq(head(p, in,
                          "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\n\x81\x05hello"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->upgrade, 1);
    ck_assert_int_eq(h->body, 0);
    ck_assert_int_eq(wr_http_read_body(p, in, &n), WR_HTTP_DONE);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(evbuffer_get_length(in), 7); /* the other protocol's bytes */
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_ERROR);
    ck_assert_uint_eq(wr_http_parser_error(p, &why), 400);
    ck_assert_str_eq(why, "the connection was upgraded: no more HTTP messages on it");
    wr_http_parser_free(p);

    /* Upgrade without Connection: upgrade is only an announcement. */
    p = wr_http_parser_new(0, 0);
    evbuffer_drain(in, evbuffer_get_length(in));
    ck_assert_int_eq(head(p, in, "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->upgrade, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    /* CONNECT ends HTTP on the connection. */
    ck_assert_int_eq(head(p, in, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_int_eq(h->upgrade, 1);
    ck_assert(str_is(h->url, h->url_len, "a.example:443"));
    wr_http_parser_free(p);

    /* 101 responses, with and without the headers that should come along. */
    p = wr_http_parser_new(1, 0);
    ck_assert_int_eq(head(p, in,
                          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\nRAW"),
                     WR_HTTP_HEAD);
    h = wr_http_parser_head(p);
    ck_assert_uint_eq(h->status, 101);
    ck_assert_int_eq(h->upgrade, 1);
    ck_assert_int_eq(h->body, 0);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_str_eq(str_of(in), "RAW");
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_ERROR);
    wr_http_parser_free(p);
    p = wr_http_parser_new(1, 0);
    evbuffer_drain(in, evbuffer_get_length(in));
    ck_assert_int_eq(head(p, in, "HTTP/1.1 101 Switching\r\n\r\nRAW"), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->upgrade, 1);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_str_eq(str_of(in), "RAW");
    wr_http_parser_free(p);
    /* A 2xx answer to CONNECT. */
    p = wr_http_parser_new(1, 0);
    evbuffer_drain(in, evbuffer_get_length(in));
    wr_http_parser_expect(p, HTTP_CONNECT);
    ck_assert_int_eq(head(p, in, "HTTP/1.1 200 Connection established\r\n\r\nRAW"), WR_HTTP_HEAD);
    ck_assert_int_eq(wr_http_parser_head(p)->upgrade, 1);
    ck_assert_uint_eq(body_done(p, in), 0);
    ck_assert_str_eq(str_of(in), "RAW");
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__request_errors)
{
    char big[400];

    ck_error(0, "HELLO WORLD\r\n\r\n", 0, 400, "malformed request head: invalid HTTP method");
    ck_error(0, "GET /\r\n\r\n", 0, 400, "unsupported HTTP version 0.9");
    ck_error(0, "GET / HTTP/2.0\r\n\r\n", 0, 400, "unsupported HTTP version 2.0");
    ck_error(0, "GET / HXYZ/1.1\r\n\r\n", 0, 400, "malformed request line");
    ck_error(0, "GET  / HTTP/1.1\r\n\r\n", 0, 400, "malformed request line");
    ck_error(0, "GET / HTTP/1.1 \r\n\r\n", 0, 400, "malformed request head: invalid HTTP version");
    ck_error(0, "GET /a\tb HTTP/1.1\r\n\r\n", 0, 400, "invalid byte 0x09 in the request target");
    ck_error(0, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 0, 400,
             "invalid byte 0x20 in header field name \"Bad Name\"");
    ck_error(0, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400,
             "invalid byte 0x20 in header field name \"Host \"");
    ck_error(0, "GET / HTTP/1.1\r\nBad\x01Name: x\r\n\r\n", 0, 400,
             "malformed request head: invalid character in header");
    ck_error(0, "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 0, 400,
             "malformed request head: invalid character in header");
    ck_error(0, "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 0, 400,
             "malformed request head: LF character expected");
    ck_error(0, "GET / HTTP/1.1\rX: a\r\n\r\n", 0, 400,
             "malformed request head: LF character expected");
    ck_error(0, "GET / HTTP/1.1\r\nA: b\r\n\rX", 0, 400, "CR without LF in the request head");
    ck_error(0, "GET / HTTP/1.1\r\nA: b\r\n\r\r", 0, 400, "CR without LF in the request head");
    ck_error(0, "GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", 0, 400,
             "obsolete line folding in header field \"X\"");
    ck_error(0, "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 0, 400,
             "malformed request head: invalid character in header");
    /* Smuggling: framing fields that disagree. */
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
             400, "malformed request head: unexpected content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0,
             400, "malformed request head: unexpected content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400,
             "malformed request head: unexpected content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0, 400,
             "malformed request head: unexpected content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 0, 400,
             "malformed request head: invalid character in content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, 400,
             "malformed request head: invalid character in content-length header");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", 0, 400,
             "Content-Length out of range");
    ck_error(0, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400,
             "Transfer-Encoding in an HTTP/1.0 request");
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, 400,
             "request Transfer-Encoding does not end in chunked");
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n", 0,
             400, "request Transfer-Encoding does not end in chunked");
    /* Where http-parser reads a framing field otherwise than its tokens
     * say ("chunked\t" is not chunked to it), the message is refused. */
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n", 0, 400,
             "ambiguous Transfer-Encoding field");
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked,\r\n\r\n", 0, 400,
             "ambiguous Transfer-Encoding field");
    ck_error(0, "GET / HTTP/1.1\r\nUpgrade: ws\r\nConnection: upgrade\t\r\n\r\n", 0, 400,
             "ambiguous Upgrade or Connection field");
    /* Limits. */
    memset(big, 0, sizeof(big));
    strcpy(big, "GET / HTTP/1.1\r\nX: ");
    memset(big + strlen(big), 'a', 100);
    strcat(big, "\r\n\r\n");
    ck_error(0, big, 64, 431, "request head larger than 64 bytes");
    ck_error(0, big, strlen(big) - 1, 431, "request head larger than 122 bytes");
    {
        /* A head of exactly max_head bytes is fine. */
        wr_http_parser_t *p = wr_http_parser_new(0, strlen(big));
        struct evbuffer *in = evbuffer_new();
        ck_assert_int_eq(head(p, in, big), WR_HTTP_HEAD);
        wr_http_parser_free(p);
        evbuffer_free(in);
    }
    /* Truncated at EOF. */
    ck_error(0, "GET / HTTP/1.1\r\nHost: a\r\n", 0, 400,
             "connection closed inside a request head (25 bytes)");
    ck_error(0, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 0, 400,
             "connection closed 7 bytes before the end of a request body");
    ck_error(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 400,
             "connection closed inside a chunked request body");
    {
        /* Blank lines only, then EOF: no request was started. */
        wr_http_parser_t *p = wr_http_parser_new(0, 0);
        struct evbuffer *in = evbuffer_new();
        ck_assert_int_eq(head(p, in, "\r\n\r\n"), WR_HTTP_NEED);
        ck_assert_int_eq(wr_http_eof(p), WR_HTTP_NEED);
        wr_http_parser_free(p);
        evbuffer_free(in);
    }
}
END_TEST

START_TEST(test_http__header_count)
{
    char head100[4096], head101[4096];
    size_t n = 0;
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    struct evbuffer *in = evbuffer_new();

    n += (size_t)sprintf(head100 + n, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(head100 + n, "H%d: %d\r\n", i, i);
    strcpy(head101, head100);
    strcat(head100, "\r\n");
    strcat(head101, "H100: x\r\n\r\n");
    ck_assert_int_eq(head(p, in, head100), WR_HTTP_HEAD);
    ck_assert_uint_eq(wr_http_parser_head(p)->nheaders, 100);
    ck_assert(hdr_is(&wr_http_parser_head(p)->headers[99], "H99", "99"));
    ck_error(0, head101, 0, 431, "request head with more than 100 header fields");
    wr_http_parser_free(p);
    evbuffer_free(in);
}
END_TEST

/* A reset parser is as new: a failed parser parses again, a response
 * parser forgets the method it expected, and a large head buffer goes. */
START_TEST(test_http__reset)
{
    wr_http_parser_t *p = wr_http_parser_new(0, 0);
    wr_http_parser_t *r = wr_http_parser_new(1, 0);
    struct evbuffer *in = evbuffer_new();
    char big[12 * 1024];
    const char *why;

    ck_assert_int_eq(head(p, in, "BAD\r\n\r\n"), WR_HTTP_ERROR);
    ck_assert_uint_eq(wr_http_parser_error(p, &why), 400);
    evbuffer_drain(in, evbuffer_get_length(in));
    wr_http_parser_reset(p);
    ck_assert_uint_eq(wr_http_parser_error(p, &why), 0);
    ck_assert_ptr_null(wr_http_parser_head(p));
    ck_assert_int_eq(head(p, in, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"),
                     WR_HTTP_HEAD);
    ck_assert_str_eq(wr_http_parser_head(p)->method_name, "POST");
    ck_assert_uint_eq(body_done(p, in), 2);

    /* Reset halfway through a head: the rest is a new message's start. */
    ck_assert_int_eq(head(p, in, "GET /half HTTP/1.1\r\nHo"), WR_HTTP_NEED);
    evbuffer_drain(in, evbuffer_get_length(in));
    wr_http_parser_reset(p);
    ck_assert_int_eq(head(p, in, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert(str_is(wr_http_parser_head(p)->url, wr_http_parser_head(p)->url_len, "/b"));
    ck_assert_uint_eq(body_done(p, in), 0);

    /* A head larger than the buffer a reset keeps, then a small one. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /c HTTP/1.1\r\nX: ", 20);
    memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
    evbuffer_add(in, big, sizeof(big) - 1);
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    ck_assert_uint_eq(body_done(p, in), 0);
    wr_http_parser_reset(p);
    ck_assert_int_eq(head(p, in, "GET /d HTTP/1.1\r\nHost: h\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert(hdr_is(&wr_http_parser_head(p)->headers[0], "Host", "h"));
    ck_assert_uint_eq(body_done(p, in), 0);

    /* A head with more fields than a reset keeps room for, then a small one. */
    {
        char many[2048];
        size_t n = (size_t)sprintf(many, "GET /e HTTP/1.1\r\n");
        for (int i = 0; i < WR_HTTP_KEEP_HEADERS + 8; i++)
            n += (size_t)sprintf(many + n, "H%d: %d\r\n", i, i);
        strcpy(many + n, "\r\n");
        ck_assert_int_eq(head(p, in, many), WR_HTTP_HEAD);
        ck_assert_uint_eq(wr_http_parser_head(p)->nheaders, WR_HTTP_KEEP_HEADERS + 8);
        ck_assert_uint_eq(body_done(p, in), 0);
        wr_http_parser_reset(p);
        ck_assert_int_eq(head(p, in, "GET /f HTTP/1.1\r\nHost: g\r\n\r\n"), WR_HTTP_HEAD);
        ck_assert(hdr_is(&wr_http_parser_head(p)->headers[0], "Host", "g"));
        ck_assert_uint_eq(body_done(p, in), 0);
    }

    /* A response to HEAD has no body; after a reset, one to GET has. */
    wr_http_parser_expect(r, HTTP_HEAD);
    ck_assert_int_eq(head(r, in, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"), WR_HTTP_HEAD);
    ck_assert_uint_eq(body_done(r, in), 0);
    wr_http_parser_reset(r);
    ck_assert_int_eq(head(r, in, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), WR_HTTP_HEAD);
    ck_assert_uint_eq(body_done(r, in), 3);

    wr_http_parser_free(p);
    wr_http_parser_free(r);
    evbuffer_free(in);
}
END_TEST

START_TEST(test_http__body_errors)
{
    static const char te[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    char m[256];

    /* http-parser (not strict) takes any two bytes for the CRLF after data. */
    snprintf(m, sizeof(m), "%s5\r\nhelloXY0\r\n\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: chunk data not followed by CRLF");
    snprintf(m, sizeof(m), "%s5\r\nhello\r\n0\r\n\n", te);
    ck_error(0, m, 0, 400, "malformed request body: LF without CR in chunked framing");
    snprintf(m, sizeof(m), "%s1;a\nb\r\nX\r\n0\r\n\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: LF without CR in chunked framing");
    snprintf(m, sizeof(m), "%s1\rX\r\n0\r\n\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: CR without LF in chunked framing");
    snprintf(m, sizeof(m), "%s1;a=\x01\r\nX\r\n0\r\n\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: control byte 0x01 in a chunk line or trailer");
    snprintf(m, sizeof(m), "%szz\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: invalid character in chunk size header");
    snprintf(m, sizeof(m), "%s10000000000000000\r\n", te);
    ck_error(0, m, 0, 400, "malformed request body: invalid character in content-length header");
}
END_TEST

START_TEST(test_http__response_errors)
{
    ck_error(1, "HTTP/1.1 2000 OK\r\n\r\n", 0, 502,
             "malformed response head: invalid HTTP status code");
    ck_error(1, "HTTP/1.1 099 Odd\r\n\r\n", 0, 502, "invalid status code 99");
    ck_error(1, "HTTP/1.1 200 O\x01K\r\n\r\n", 0, 502, "control byte 0x01 in the reason phrase");
    ck_error(1, "HTTP/1.1  200 OK\r\n\r\n", 0, 502, "malformed status line");
    ck_error(1, "HTTP/1.1 200 OK\rXA: a\r\n\r\n", 0, 502, "CR without LF in the response head");
    ck_error(1, "HTXX/1.1 200 OK\r\n\r\n", 0, 502, "malformed status line");
    ck_error(1, "HTTP/1.2 200 OK\r\n\r\n", 0, 502, "unsupported HTTP version 1.2");
    ck_error(1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
             502, "malformed response head: unexpected content-length header");
    ck_error(1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", 0, 502,
             "connection closed 1 bytes before the end of a response body");
    ck_error(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", 0, 502,
             "connection closed inside a chunked response body");
    ck_error(1, "HTTP/1.1 200 OK\r\nX: y\r\n", 200, 502,
             "connection closed inside a response head (23 bytes)");
    ck_error(1, "HTTP/1.1 200 OK\r\nX: yyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n\r\n", 32, 502,
             "response head larger than 32 bytes");
}
END_TEST

/* Parse one request head with a fresh parser kept in *pp. */
static const wr_http_head_t *req_head(wr_http_parser_t **pp, const char *s)
{
    struct evbuffer *in = evbuffer_new();

    *pp = wr_http_parser_new(0, 0);
    ck_assert_int_eq(head(*pp, in, s), WR_HTTP_HEAD);
    evbuffer_free(in);
    return wr_http_parser_head(*pp);
}

static int host_of(const char *req, char *out, size_t len)
{
    wr_http_parser_t *p;
    int rc = wr_http_host(req_head(&p, req), out, len);
    wr_http_parser_free(p);
    return rc;
}

START_TEST(test_http__host)
{
    char h[64];

    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: Example.COM.:8080\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "example.com");
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nhost: app.example.com\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "app.example.com");
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "[::1]");
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: [FE80::A]\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "[fe80::a]");
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: 10.0.0.1:\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "10.0.0.1");
    /* Two Host fields, even equal ones. */
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost:\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: .\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a_b\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: []\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: abcdef\r\n\r\n", h, 6), -1);
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\nHost: abcde\r\n\r\n", h, 6), 0);
    ck_assert_str_eq(h, "abcde");
    /* Missing: an error in HTTP/1.1, even with an absolute-form target. */
    ck_assert_int_eq(host_of("GET / HTTP/1.1\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET http://a.example/ HTTP/1.1\r\n\r\n", h, sizeof(h)), -1);
    /* HTTP/1.0: the absolute-form target's host. */
    ck_assert_int_eq(host_of("GET http://Foo.Example:81/x HTTP/1.0\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "foo.example");
    ck_assert_int_eq(host_of("GET http://[::2]:81/x HTTP/1.0\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "[::2]");
    ck_assert_int_eq(host_of("GET /x HTTP/1.0\r\n\r\n", h, sizeof(h)), -1);
    ck_assert_int_eq(host_of("GET /x HTTP/1.0\r\nHost: b.example\r\n\r\n", h, sizeof(h)), 0);
    ck_assert_str_eq(h, "b.example");
}
END_TEST

START_TEST(test_http__hop_by_hop)
{
    wr_http_parser_t *p;
    const wr_http_head_t *h =
        req_head(&p, "GET / HTTP/1.1\r\nConnection: close, X-Custom ,\tx-other\r\n"
                     "Connection: Content-Length, Host, Transfer-Encoding\r\n\r\n");

    ck_assert_int_eq(wr_http_is_hop(h, "Connection", 10), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "keep-alive", 10), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "Proxy-Connection", 16), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "Proxy-Authenticate", 18), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "Proxy-Authorization", 19), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "TE", 2), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "Trailer", 7), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "UPGRADE", 7), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "x-custom", 8), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "X-Other", 7), 1);
    ck_assert_int_eq(wr_http_is_hop(h, "X-Custo", 7), 0);
    ck_assert_int_eq(wr_http_is_hop(h, "close", 5), 1); /* listed: harmless */
    ck_assert_int_eq(wr_http_is_hop(h, "Accept", 6), 0);
    /* Framing and routing fields stay, whatever Connection lists. */
    ck_assert_int_eq(wr_http_is_hop(h, "Content-Length", 14), 0);
    ck_assert_int_eq(wr_http_is_hop(h, "Transfer-Encoding", 17), 0);
    ck_assert_int_eq(wr_http_is_hop(h, "Host", 4), 0);
    ck_assert_int_eq(wr_http_is_hop(h, "", 0), 0);
    wr_http_parser_free(p);
}
END_TEST

START_TEST(test_http__write_request)
{
    static const char req[] = "POST /p?q HTTP/1.1\r\n"
                              "Host: App.Example.com\r\n"
                              "Connection: close, X-Custom\r\n"
                              "X-Custom: 1\r\n"
                              "Keep-Alive: timeout=5\r\n"
                              "X-Forwarded-For: 1.1.1.1\r\n"
                              "TE: trailers\r\n"
                              "Accept: */*\r\n"
                              "X-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n"
                              "X-Forwarded-Proto: https\r\n"
                              "X-Forwarded-Host: evil\r\n"
                              "Proxy-Authorization: Basic x\r\n"
                              "Content-Length: 0\r\n"
                              "\r\n";
    wr_http_parser_t *p;
    const wr_http_head_t *h = req_head(&p, req);
    struct evbuffer *out = evbuffer_new();
    wr_http_fwd_t fw;

    /* Without fw: the head as received. */
    ck_assert_int_eq(wr_http_write_request(out, h, NULL), 0);
    ck_assert_str_eq(str_of(out), req);
    evbuffer_drain(out, evbuffer_get_length(out));

    memset(&fw, 0, sizeof(fw));
    fw.client_ip = "9.9.9.9";
    fw.proto = "http";
    fw.add_xfh = 1;
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out), "POST /p?q HTTP/1.1\r\n"
                                  "Host: App.Example.com\r\n"
                                  "Accept: */*\r\n"
                                  "Content-Length: 0\r\n"
                                  "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 9.9.9.9\r\n"
                                  "X-Forwarded-Proto: http\r\n"
                                  "X-Forwarded-Host: App.Example.com\r\n"
                                  "\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));

    /* The client's host_header rewrite; incoming X-Forwarded-* kept. */
    memset(&fw, 0, sizeof(fw));
    fw.host_override = "localhost:3000";
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out), "POST /p?q HTTP/1.1\r\n"
                                  "Host: localhost:3000\r\n"
                                  "X-Forwarded-For: 1.1.1.1\r\n"
                                  "Accept: */*\r\n"
                                  "X-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n"
                                  "X-Forwarded-Proto: https\r\n"
                                  "X-Forwarded-Host: evil\r\n"
                                  "Content-Length: 0\r\n"
                                  "\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));

    /* Strings that would inject a field are refused, nothing written. */
    fw.host_override = "a\r\nX-Evil: 1";
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), -1);
    fw.host_override = NULL;
    fw.client_ip = "1.2.3.4\n";
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), -1);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    wr_http_parser_free(p);

    /* HTTP/1.0 without Host or X-Forwarded-For. */
    h = req_head(&p, "GET / HTTP/1.0\r\nA: b\r\n\r\n");
    memset(&fw, 0, sizeof(fw));
    fw.client_ip = "::1";
    fw.add_xfh = 1;
    fw.host_override = "svc";
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out),
                     "GET / HTTP/1.0\r\nHost: svc\r\nA: b\r\nX-Forwarded-For: ::1\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    wr_http_parser_free(p);

    /* An upgrade request keeps Upgrade when asked to. */
    h = req_head(&p, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n");
    ck_assert_int_eq(h->upgrade, 1);
    memset(&fw, 0, sizeof(fw));
    fw.keep_upgrade = 1;
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out), "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                                  "Sec-WebSocket-Key: k\r\nConnection: upgrade\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    fw.keep_upgrade = 0;
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out), "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\n\r\n");
    wr_http_parser_free(p);
    evbuffer_free(out);
}
END_TEST

/* The ingress's traceparent replaces every received one; without it the
 * received ones pass as they are. */
START_TEST(test_http__write_request_traceparent)
{
    static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    wr_http_parser_t *p;
    const wr_http_head_t *h = req_head(&p, "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: bad\r\n"
                                           "Accept: */*\r\nTraceParent: worse\r\n\r\n");
    struct evbuffer *out = evbuffer_new();
    wr_http_fwd_t fw;

    memset(&fw, 0, sizeof(fw));
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out), "GET / HTTP/1.1\r\nHost: a\r\ntraceparent: bad\r\n"
                                  "Accept: */*\r\nTraceParent: worse\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    fw.traceparent = tp;
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), 0);
    ck_assert_str_eq(str_of(out),
                     "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n"
                     "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                     "\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    fw.traceparent = "00-x\r\nX-Evil: 1";
    ck_assert_int_eq(wr_http_write_request(out, h, &fw), -1);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    wr_http_parser_free(p);
    evbuffer_free(out);
}
END_TEST

static const wr_http_head_t *resp_head(wr_http_parser_t **pp, const char *s)
{
    struct evbuffer *in = evbuffer_new();

    *pp = wr_http_parser_new(1, 0);
    ck_assert_int_eq(head(*pp, in, s), WR_HTTP_HEAD);
    evbuffer_free(in);
    return wr_http_parser_head(*pp);
}

START_TEST(test_http__write_response)
{
    wr_http_parser_t *p;
    const wr_http_head_t *h = resp_head(
        &p, "HTTP/1.0 200 Fine\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hop\r\n"
            "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nServer: t\r\nProxy-Authenticate: B\r\n\r\n");
    struct evbuffer *out = evbuffer_new();

    ck_assert_int_eq(wr_http_write_response(out, h, 0, 1), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nServer: t\r\n"
                                  "Connection: close\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    ck_assert_int_eq(wr_http_write_response(out, h, 1, 1), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nServer: t\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    ck_assert_int_eq(wr_http_write_response(out, h, 1, 0), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nServer: t\r\n"
                                  "Connection: keep-alive\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    wr_http_parser_free(p);

    h = resp_head(&p, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n");
    ck_assert_int_eq(wr_http_write_response(out, h, 0, 1), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Sec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    wr_http_parser_free(p);

    /* Interim: the final response tells the connection's fate. */
    h = resp_head(&p, "HTTP/1.1 100 Continue\r\n\r\n");
    ck_assert_int_eq(wr_http_write_response(out, h, 0, 0), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 100 Continue\r\n\r\n");
    evbuffer_drain(out, evbuffer_get_length(out));
    wr_http_parser_free(p);

    /* No reason phrase: the space stays. */
    h = resp_head(&p, "HTTP/1.1 204\r\n\r\n");
    ck_assert_int_eq(wr_http_write_response(out, h, 1, 1), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 204 \r\n\r\n");
    wr_http_parser_free(p);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_http__error_page)
{
    static const struct {
        unsigned status;
        const char *reason;
    } reasons[] = {
        {400, "Bad Request"},
        {404, "Not Found"},
        {408, "Request Timeout"},
        {413, "Payload Too Large"},
        {421, "Misdirected Request"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {599, "Unknown"},
    };
    struct evbuffer *out = evbuffer_new();

    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        ck_assert_str_eq(wr_http_status_reason(reasons[i].status), reasons[i].reason);
    ck_assert_int_eq(wr_http_error_page(out, 502, "no tunnel\r\nX-Evil: 1", 1), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 502 Bad Gateway\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Length: 43\r\n"
                                  "Cache-Control: no-store\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "502 Bad Gateway\n"
                                  "no tunnel\\x0d\\x0aX-Evil: 1\n");
    ck_assert_uint_eq(strlen("502 Bad Gateway\nno tunnel\\x0d\\x0aX-Evil: 1\n"), 43);
    evbuffer_drain(out, evbuffer_get_length(out));
    ck_assert_int_eq(wr_http_error_page(out, 404, NULL, 0), 0);
    ck_assert_str_eq(str_of(out), "HTTP/1.1 404 Not Found\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Length: 14\r\n"
                                  "Cache-Control: no-store\r\n"
                                  "\r\n"
                                  "404 Not Found\n");
    evbuffer_free(out);
}
END_TEST

/* The character classes the dashboard's replay checks its edits with. */
START_TEST(test_http__spans)
{
    ck_assert_uint_eq(wr_http_token_span("X-Debug", 7), 7);
    ck_assert_uint_eq(wr_http_token_span("!#$%&'*+-.^_`|~09azAZ", 21), 21);
    ck_assert_uint_eq(wr_http_token_span("Bad Name", 8), 3);
    ck_assert_uint_eq(wr_http_token_span("a:b", 3), 1);
    ck_assert_uint_eq(wr_http_token_span("a\0b", 3), 1);
    ck_assert_uint_eq(wr_http_token_span("", 0), 0);
    ck_assert_uint_eq(wr_http_value_span("a b\tc \x80\xff", 8), 8);
    ck_assert_uint_eq(wr_http_value_span("ab\r\nX: y", 8), 2);
    ck_assert_uint_eq(wr_http_value_span("a\0b", 3), 1);
    ck_assert_uint_eq(wr_http_value_span("a\x7f", 2), 1);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_http__get);
    tcase_add_test(tc, test_http__post_content_length);
    tcase_add_test(tc, test_http__chunked_upload);
    tcase_add_test(tc, test_http__connection_tokens);
    tcase_add_test(tc, test_http__pipelined);
    tcase_add_test(tc, test_http__byte_at_a_time);
    tcase_add_test(tc, test_http__responses_without_body);
    tcase_add_test(tc, test_http__interim_responses);
    tcase_add_test(tc, test_http__close_delimited);
    tcase_add_test(tc, test_http__chunked_response_trailers);
    tcase_add_test(tc, test_http__upgrade);
    tcase_add_test(tc, test_http__request_errors);
    tcase_add_test(tc, test_http__header_count);
    tcase_add_test(tc, test_http__body_errors);
    tcase_add_test(tc, test_http__response_errors);
    tcase_add_test(tc, test_http__host);
    tcase_add_test(tc, test_http__hop_by_hop);
    tcase_add_test(tc, test_http__write_request);
    tcase_add_test(tc, test_http__write_request_traceparent);
    tcase_add_test(tc, test_http__write_response);
    tcase_add_test(tc, test_http__error_page);
    tcase_add_test(tc, test_http__reset);
    tcase_add_test(tc, test_http__spans);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(http_suite)
