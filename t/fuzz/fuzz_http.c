/*
 * fuzz_http: arbitrary bytes through core/wr_http.c, twice: as the request
 * stream a public client sends, then as the response stream a service
 * sends. Each stream goes through wr_http_read_head / wr_http_read_body in
 * a loop, the way the ingress and the proxy drive them: bodies are moved
 * out of the input as they are framed, and pipelined messages follow. The
 * input arrives in pieces (cut points from a seed), optionally as separate
 * evbuffer chains, and ends with wr_http_eof() when asked.
 *
 * Input layout (a missing header byte reads as 0):
 *   byte 0   flags, FZ_* below
 *   byte 1   piece sizes: 0 feeds the stream in one piece; otherwise each
 *            piece is 1..byte1 bytes, drawn from a generator seeded with it
 *   bytes 2- the stream
 *
 * Oracles besides the sanitizers (any violation aborts):
 *   - read_body never counts more bytes than the input holds, and BODY
 *     means it took all of them; NEED from read_head leaves the input empty;
 *   - a parsed head's strings lie inside its raw head bytes, which are no
 *     longer than max_head; names are tokens, values, target and reason are
 *     free of control bytes; the version is 1.0 or 1.1; at most 100 fields;
 *     chunked and Content-Length never both; 1xx/204/304 have no body;
 *   - a request head written back with wr_http_write_request(fw NULL)
 *     parses again to the same head; written with forwarding (fw) it
 *     parses again; a response head written with wr_http_write_response
 *     parses again with the same status;
 *   - wr_http_host() gives a lower-case name of the allowed bytes or -1;
 *   - an error comes with a status (400/431/500 for requests, 502/500 for
 *     responses) and a one-line, non-empty reason; later calls keep failing;
 *   - an error page (for that reason, or with the input's first bytes as
 *     its detail) parses as a response whose body is exactly its
 *     Content-Length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "wr_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HDR_LEN 2

enum {
    FZ_MAX_HEAD = 0x03, /* 0: default, 1: 64, 2: 256, 3: 4096 */
    FZ_CHAINS = 0x04,   /* each piece becomes its own evbuffer chain */
    FZ_METHOD = 0x18,   /* responses answer GET, HEAD, CONNECT, POST */
    FZ_EOF = 0x20,      /* the stream ends with wr_http_eof() */
    FZ_OVERRIDE = 0x40, /* forwarding rewrites Host */
};

static void fz_die(const char *what)
{
    fprintf(stderr, "fuzz_http: %s\n", what);
    abort();
}

static size_t fz_max_head(unsigned flags)
{
    static const size_t sizes[] = {WR_HTTP_DEFAULT_HEAD, 64, 256, 4096};
    return sizes[flags & FZ_MAX_HEAD];
}

static int fz_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int fz_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void fz_inside(const char *raw, size_t rawlen, const char *s, size_t n, const char *what)
{
    if (s == NULL || s < raw || s + n > raw + rawlen)
        fz_die(what);
}

static void fz_check_error(wr_http_parser_t *p, int response)
{
    const char *why;
    unsigned st = wr_http_parser_error(p, &why);

    if (response ? (st != 502 && st != 500) : (st != 400 && st != 431 && st != 500))
        fz_die("error with an unexpected status");
    if (why == NULL || why[0] == '\0' || strchr(why, '\n') != NULL || strchr(why, '\r') != NULL)
        fz_die("error without a one-line reason");
}

/* Parse a whole head from b with a fresh parser; rc of read_head. */
static int fz_reparse(struct evbuffer *b, int response, int method, wr_http_parser_t **pp)
{
    *pp = wr_http_parser_new(response, 65536);
    if (*pp == NULL)
        fz_die("out of memory");
    if (response)
        wr_http_parser_expect(*pp, method);
    return wr_http_read_head(*pp, b);
}

static void fz_same_head(const wr_http_head_t *a, const wr_http_head_t *b)
{
    if (a->method != b->method || a->url_len != b->url_len ||
        memcmp(a->url, b->url, a->url_len) != 0 || a->major != b->major || a->minor != b->minor ||
        a->nheaders != b->nheaders || a->keep_alive != b->keep_alive || a->upgrade != b->upgrade ||
        a->chunked != b->chunked || a->content_length != b->content_length || a->body != b->body ||
        a->expect_continue != b->expect_continue)
        fz_die("a written request head parses differently");
    for (size_t i = 0; i < a->nheaders; i++) {
        const wr_http_header_t *x = &a->headers[i], *y = &b->headers[i];
        if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0 ||
            x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len) != 0)
            fz_die("a written request field parses differently");
    }
}

static void fz_check_head(wr_http_parser_t *p, int response, unsigned flags, int method)
{
    const wr_http_head_t *h = wr_http_parser_head(p);
    const char *raw;
    size_t rawlen;
    struct evbuffer *out = evbuffer_new();
    wr_http_parser_t *q;
    char host[300];
    int rc;

    if (h == NULL || out == NULL)
        fz_die("HEAD without a head");
    raw = wr_http_parser_head_raw(p, &rawlen);
    if (raw == NULL || rawlen == 0 || rawlen > fz_max_head(flags))
        fz_die("raw head missing or over max_head");
    if (h->is_request == response || h->major != 1 || h->minor > 1)
        fz_die("bad kind or version");
    if (h->nheaders > WR_HTTP_MAX_HEADERS)
        fz_die("too many fields");
    if (h->chunked && h->content_length >= 0)
        fz_die("chunked with a Content-Length");
    if (h->close_delimited && (!response || !h->body || h->keep_alive))
        fz_die("close-delimited inconsistent");
    for (size_t i = 0; i < h->nheaders; i++) {
        const wr_http_header_t *f = &h->headers[i];
        fz_inside(raw, rawlen, f->name, f->name_len, "field name outside the head");
        fz_inside(raw, rawlen, f->value, f->value_len, "field value outside the head");
        if (f->name_len == 0)
            fz_die("empty field name");
        for (size_t k = 0; k < f->name_len; k++) {
            if (!fz_tchar((unsigned char)f->name[k]))
                fz_die("field name not a token");
        }
        for (size_t k = 0; k < f->value_len; k++) {
            if (fz_ctl((unsigned char)f->value[k]))
                fz_die("control byte in a field value");
        }
        if (f->value_len > 0 && (f->value[0] == ' ' || f->value[f->value_len - 1] == ' '))
            fz_die("whitespace around a field value");
        (void)wr_http_is_hop(h, f->name, f->name_len);
    }
    if (response) {
        fz_inside(raw, rawlen, h->reason, h->reason_len, "reason outside the head");
        for (size_t k = 0; k < h->reason_len; k++) {
            if (fz_ctl((unsigned char)h->reason[k]))
                fz_die("control byte in the reason");
        }
        if (h->status < 100 || h->status > 599)
            fz_die("status out of range");
        if ((h->status / 100 == 1 || h->status == 204 || h->status == 304) && h->body)
            fz_die("a body on a 1xx/204/304");
        for (int ka = 0; ka < 3; ka++) {
            if (wr_http_write_response(out, h, ka != 0, ka != 1) != 0)
                fz_die("write_response failed");
            rc = fz_reparse(out, 1, method, &q);
            /* A Connection field added to 100 fields is one too many for
             * wr_http itself, not for a client. */
            if (rc == WR_HTTP_ERROR && h->nheaders == WR_HTTP_MAX_HEADERS) {
                const char *why;
                wr_http_parser_error(q, &why);
                if (strstr(why, "more than 100 header fields") == NULL)
                    fz_die("a written response head with 100 fields fails");
            } else if (rc != WR_HTTP_HEAD || wr_http_parser_head(q)->status != h->status) {
                fz_die("a written response head does not parse again");
            }
            wr_http_parser_free(q);
            evbuffer_drain(out, evbuffer_get_length(out));
        }
    } else {
        wr_http_fwd_t fw;

        fz_inside(raw, rawlen, h->url, h->url_len, "target outside the head");
        if (h->url_len == 0 || h->method_name == NULL)
            fz_die("request without target or method");
        for (size_t k = 0; k < h->url_len; k++) {
            if ((unsigned char)h->url[k] <= 0x20 || h->url[k] == 0x7f)
                fz_die("bad byte in the target");
        }
        if (wr_http_host(h, host, sizeof(host)) == 0) {
            size_t n = strlen(host);
            if (n == 0)
                fz_die("empty host");
            for (size_t k = 0; k < n; k++) {
                char c = host[k];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                      c == ':' || c == '[' || c == ']'))
                    fz_die("host with a forbidden byte");
            }
        }
        if (wr_http_write_request(out, h, NULL) != 0)
            fz_die("write_request failed");
        rc = fz_reparse(out, 0, 0, &q);
        if (rc != WR_HTTP_HEAD)
            fz_die("a written request head does not parse again");
        fz_same_head(h, wr_http_parser_head(q));
        wr_http_parser_free(q);
        evbuffer_drain(out, evbuffer_get_length(out));

        memset(&fw, 0, sizeof(fw));
        fw.client_ip = "203.0.113.9";
        fw.proto = "https";
        fw.add_xfh = 1;
        fw.keep_upgrade = h->upgrade;
        if (flags & FZ_OVERRIDE)
            fw.host_override = "svc.internal:8080";
        if (wr_http_write_request(out, h, &fw) != 0)
            fz_die("write_request with forwarding failed");
        rc = fz_reparse(out, 0, 0, &q);
        if (rc != WR_HTTP_HEAD && !(rc == WR_HTTP_ERROR && wr_http_parser_error(q, NULL) == 431))
            fz_die("a forwarded request head does not parse again");
        if (rc == WR_HTTP_HEAD) {
            const wr_http_head_t *g = wr_http_parser_head(q);
            if (g->content_length != h->content_length || g->chunked != h->chunked)
                fz_die("forwarding changed the framing");
        }
        wr_http_parser_free(q);
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    evbuffer_free(out);
}

/* An error page parses as a response whose body is its Content-Length. */
static void fz_check_error_page(unsigned st, const char *detail, int close)
{
    struct evbuffer *out = evbuffer_new();
    wr_http_parser_t *q;
    size_t n = 0, len;

    if (out == NULL || wr_http_error_page(out, st, detail, close) != 0)
        fz_die("error page failed");
    len = evbuffer_get_length(out);
    if (fz_reparse(out, 1, HTTP_GET, &q) != WR_HTTP_HEAD)
        fz_die("error page head does not parse");
    if (wr_http_parser_head(q)->content_length != (int64_t)evbuffer_get_length(out) ||
        wr_http_read_body(q, out, &n) != WR_HTTP_DONE || n != evbuffer_get_length(out) || len == 0)
        fz_die("error page body does not match its Content-Length");
    wr_http_parser_free(q);
    evbuffer_free(out);
}

typedef struct {
    wr_http_parser_t *p;
    struct evbuffer *in, *sink;
    int response, method, in_body, over;
    unsigned flags;
} fz_stream_t;

/* Parse what the input holds; sets s->over when the stream can go no
 * further (error, upgrade). */
static void fz_drive(fz_stream_t *s)
{
    for (;;) {
        size_t n = (size_t)-1, have;
        int rc;

        if (!s->in_body) {
            if (s->response)
                wr_http_parser_expect(s->p, s->method);
            rc = wr_http_read_head(s->p, s->in);
            if (rc == WR_HTTP_NEED) {
                if (evbuffer_get_length(s->in) != 0)
                    fz_die("NEED with input left");
                return;
            }
            if (rc == WR_HTTP_ERROR) {
                const char *why;
                unsigned st = wr_http_parser_error(s->p, &why);
                fz_check_error(s->p, s->response);
                fz_check_error_page(st, why, 1);
                s->over = 1;
                return;
            }
            if (rc != WR_HTTP_HEAD)
                fz_die("read_head: unexpected result");
            fz_check_head(s->p, s->response, s->flags, s->method);
            s->in_body = 1;
        }
        have = evbuffer_get_length(s->in);
        rc = wr_http_read_body(s->p, s->in, &n);
        if (rc == WR_HTTP_ERROR) {
            fz_check_error(s->p, s->response);
            s->over = 1;
            return;
        }
        if (n > have)
            fz_die("body count over the input");
        if (rc == WR_HTTP_BODY && n != have)
            fz_die("BODY without taking all of the input");
        if (rc != WR_HTTP_BODY && rc != WR_HTTP_DONE)
            fz_die("read_body: unexpected result");
        if (evbuffer_remove_buffer(s->in, s->sink, n) != (int)n)
            fz_die("cannot move the body");
        evbuffer_drain(s->sink, evbuffer_get_length(s->sink));
        if (rc == WR_HTTP_BODY)
            return;
        s->in_body = 0;
        if (wr_http_parser_head(s->p)->upgrade) {
            /* Finished: raw bytes from here on. */
            if (wr_http_read_head(s->p, s->in) != WR_HTTP_ERROR)
                fz_die("a head parsed after an upgrade");
            s->over = 1;
            return;
        }
    }
}

static void fz_run(const uint8_t *body, size_t len, unsigned flags, unsigned seed, int response)
{
    static const int methods[] = {HTTP_GET, HTTP_HEAD, HTTP_CONNECT, HTTP_POST};
    fz_stream_t s;
    struct evbuffer *piece = evbuffer_new();
    uint32_t rng = seed * 2654435761u + 1;
    size_t pos = 0;

    memset(&s, 0, sizeof(s));
    s.p = wr_http_parser_new(response, flags & FZ_MAX_HEAD ? fz_max_head(flags) : 0);
    s.in = evbuffer_new();
    s.sink = evbuffer_new();
    s.response = response;
    s.flags = flags;
    s.method = methods[(flags & FZ_METHOD) >> 3];
    if (s.p == NULL || s.in == NULL || s.sink == NULL || piece == NULL)
        fz_die("out of memory");
    while (pos < len && !s.over) {
        size_t k = len - pos;
        if (seed != 0) {
            rng = rng * 1103515245u + 12345u;
            k = 1 + (rng >> 16) % seed;
            if (k > len - pos)
                k = len - pos;
        }
        if (flags & FZ_CHAINS) {
            evbuffer_add(piece, body + pos, k);
            evbuffer_add_buffer(s.in, piece);
        } else {
            evbuffer_add(s.in, body + pos, k);
        }
        pos += k;
        fz_drive(&s);
    }
    if (!s.over && (flags & FZ_EOF)) {
        int in_body = s.in_body;
        int rc = wr_http_eof(s.p);
        if (rc == WR_HTTP_ERROR)
            fz_check_error(s.p, response);
        else if (rc == WR_HTTP_DONE && !in_body)
            fz_die("EOF completed a message that had not begun");
        else if (rc == WR_HTTP_DONE && !wr_http_parser_head(s.p)->close_delimited &&
                 wr_http_parser_head(s.p)->body)
            fz_die("EOF completed a body that was not close-delimited");
    }
    wr_http_parser_free(s.p);
    evbuffer_free(s.in);
    evbuffer_free(s.sink);
    evbuffer_free(piece);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[FZ_HDR_LEN] = {0};
    const uint8_t *body = size > FZ_HDR_LEN ? data + FZ_HDR_LEN : data;
    size_t len = size > FZ_HDR_LEN ? size - FZ_HDR_LEN : 0;

    memcpy(hdr, data, size < FZ_HDR_LEN ? size : FZ_HDR_LEN);
    {
        /* The first bytes as an error page's detail (control bytes and all). */
        char detail[65];
        size_t k = len < 64 ? len : 64;
        memcpy(detail, body, k);
        detail[k] = '\0';
        fz_check_error_page(400 + hdr[1] % 200, detail, hdr[0] & 1);
    }
    fz_run(body, len, hdr[0], hdr[1], 0);
    fz_run(body, len, hdr[0], hdr[1], 1);
    return 0;
}
