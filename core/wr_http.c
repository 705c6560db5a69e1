/*
 * wr_http: HTTP/1.x heads and framing over http-parser (see wr_http.h).
 *
 * How http-parser is driven. Head bytes are copied into the parser's own
 * buffer and fed from there, so that every string the callbacks report lies
 * in that buffer; callbacks record offsets, because the buffer may move as
 * it grows, and pointers are made once the head is complete. The parser is
 * paused in on_headers_complete, which makes http_parser_execute() stop on
 * the head's final LF without consuming it: that tells where the head ends,
 * and nothing after it has been parsed. The LF is then fed alone, and lets
 * http-parser decide whether a body follows. Body bytes are fed straight
 * from the caller's evbuffer, and the parser is paused in
 * on_message_complete, so that execute stops at the end of the message and
 * the bytes of a pipelined message behind it stay unparsed.
 *
 * Debian builds http-parser without HTTP_PARSER_STRICT: it then accepts a
 * space in header names ("Host : x"), any byte in place of the CRLF after
 * chunk data, any byte after a CR in chunk and header lines, TAB in the
 * request target, and any letters in place of "HTTP". The checks here make
 * up for that (see wr_http.h for the list).
 */
#include "wr_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#define WR_HTTP_STEP     4096 /* head bytes copied and parsed at a time */
#define WR_HTTP_BUF_INIT 1024

enum {
    WR_HS_IDLE,     /* between messages */
    WR_HS_HEAD,     /* reading a head */
    WR_HS_BODY,     /* head returned, body in progress */
    WR_HS_COMPLETE, /* head returned, message complete, DONE not yet returned */
    WR_HS_UPGRADED, /* a message with upgrade has ended */
    WR_HS_ERROR,
};

/* Which callback ran last while reading a head: fragments of one string
 * arrive in several calls when the head comes in several reads. */
enum { WR_CB_NONE, WR_CB_URL, WR_CB_STATUS, WR_CB_FIELD, WR_CB_VALUE };

enum { WR_CONN_CLOSE = 1, WR_CONN_KEEP_ALIVE = 2, WR_CONN_UPGRADE = 4 };

typedef struct {
    size_t name_off, name_len, value_off, value_len;
    int has_value;
} wr_http_span_t;

struct wr_http_parser {
    http_parser hp;
    int response;
    int state;         /* WR_HS_* */
    int expect_method; /* responses: the method of the request answered */
    size_t max_head;

    char *buf; /* head bytes: all of [0, len) have been fed to hp */
    size_t len, cap;
    size_t start;    /* first byte of the request or status line */
    size_t head_len; /* the head ends here, after its final LF */

    int in_head;  /* callbacks record into the head (not trailers) */
    int begun;    /* the current message has started (not only blank lines) */
    int last_cb;  /* WR_CB_* */
    int msg_done; /* on_message_complete ran */
    size_t url_off, url_len;
    size_t reason_off, reason_len;
    int has_reason;
    int conn;              /* WR_CONN_*: the tokens of the Connection fields */
    wr_http_span_t *spans; /* header offsets while reading a head */
    wr_http_header_t *headers;
    size_t nspans, hcap;

    int have_head;
    wr_http_head_t head;

    /* Chunked framing check: the body bytes that are not chunk data. */
    const char *fr_scan; /* framing bytes before this were checked */
    int fr_crlf;         /* 2: CR then LF due after chunk data, 1: LF due */
    int fr_cr;           /* the last framing byte was a CR */

    unsigned err_status;
    char err[192];
};

static int wr_http_on_message_begin(http_parser *hp);
static int wr_http_on_url(http_parser *hp, const char *at, size_t n);
static int wr_http_on_status(http_parser *hp, const char *at, size_t n);
static int wr_http_on_header_field(http_parser *hp, const char *at, size_t n);
static int wr_http_on_header_value(http_parser *hp, const char *at, size_t n);
static int wr_http_on_headers_complete(http_parser *hp);
static int wr_http_on_body(http_parser *hp, const char *at, size_t n);
static int wr_http_on_message_complete(http_parser *hp);

static const http_parser_settings wr_http_settings = {
    .on_message_begin = wr_http_on_message_begin,
    .on_url = wr_http_on_url,
    .on_status = wr_http_on_status,
    .on_header_field = wr_http_on_header_field,
    .on_header_value = wr_http_on_header_value,
    .on_headers_complete = wr_http_on_headers_complete,
    .on_body = wr_http_on_body,
    .on_message_complete = wr_http_on_message_complete,
};

/* ---- characters ------------------------------------------------------------ */

/* tchar (RFC 9110 section 5.6.2): the bytes of a header field name. */
static int wr_http_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control byte that may not appear in a value, target or reason. */
static int wr_http_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

size_t wr_http_token_span(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && wr_http_tchar((unsigned char)s[i]))
        i++;
    return i;
}

size_t wr_http_value_span(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && !wr_http_ctl((unsigned char)s[i]))
        i++;
    return i;
}

static unsigned char wr_http_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality of two strings of n bytes. */
static int wr_http_ieqn(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (wr_http_lower((unsigned char)a[i]) != wr_http_lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

/* a (alen bytes) is lit, a lowercase string literal, ASCII case aside. The
 * lengths are compared first: most header names differ there, and a head's
 * fields are each held against several names. */
#define WR_HTTP_IS(a, alen, lit)                                                                   \
    ((alen) == sizeof(lit) - 1 && wr_http_ieqn((a), (lit), sizeof(lit) - 1))

/* The next token of a comma-separated list (v, n) from *pos, whitespace
 * around it trimmed; 0 at the end of the list. Empty elements are skipped. */
static int wr_http_token(const char *v, size_t n, size_t *pos, const char **tok, size_t *tlen)
{
    while (*pos < n) {
        size_t a = *pos, b = a, e;

        while (b < n && v[b] != ',')
            b++;
        *pos = b + 1;
        e = b;
        while (a < e && (v[a] == ' ' || v[a] == '\t'))
            a++;
        while (e > a && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > a) {
            *tok = v + a;
            *tlen = e - a;
            return 1;
        }
    }
    return 0;
}

/* ---- errors ---------------------------------------------------------------- */

static const char *wr_http_kind(const wr_http_parser_t *p)
{
    return p->response ? "response" : "request";
}

/* Record the first error (status 0: the direction's default) and return
 * WR_HTTP_ERROR. Later errors keep the first reason: it is the cause. */
static int wr_http_fail(wr_http_parser_t *p, unsigned status, const char *fmt, ...)
{
    va_list ap;

    if (p->err_status == 0) {
        if (status == 0 || (p->response && status != 500))
            status = p->response ? 502 : 400;
        p->err_status = status;
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof(p->err), fmt, ap);
        va_end(ap);
    }
    p->state = WR_HS_ERROR;
    return WR_HTTP_ERROR;
}

/* An error http-parser reported (or a callback of ours, which has already
 * set the reason). */
static int wr_http_parser_failed(wr_http_parser_t *p, const char *where)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);

    if (p->err_status != 0)
        return wr_http_fail(p, 0, "%s", p->err);
    if (e == HPE_HEADER_OVERFLOW && p->state == WR_HS_HEAD)
        return wr_http_fail(p, 431, "%s head larger than 80 KiB", wr_http_kind(p));
    return wr_http_fail(p, 0, "malformed %s %s: %s", wr_http_kind(p), where,
                        http_errno_description(e));
}

/* ---- buffers --------------------------------------------------------------- */

static int wr_http_reserve(wr_http_parser_t *p, size_t need)
{
    size_t cap = p->cap ? p->cap : WR_HTTP_BUF_INIT;
    char *nb;

    if (need <= p->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    if (cap > p->max_head)
        cap = p->max_head;
    nb = realloc(p->buf, cap);
    if (nb == NULL)
        return -1;
    p->buf = nb;
    p->cap = cap;
    return 0;
}

static int wr_http_grow_headers(wr_http_parser_t *p)
{
    size_t cap = p->hcap ? p->hcap * 2 : 16;
    wr_http_span_t *s;
    wr_http_header_t *h;

    if (cap > WR_HTTP_MAX_HEADERS)
        cap = WR_HTTP_MAX_HEADERS;
    s = realloc(p->spans, cap * sizeof(*s));
    if (s == NULL)
        return -1;
    p->spans = s;
    h = realloc(p->headers, cap * sizeof(*h));
    if (h == NULL)
        return -1;
    p->headers = h;
    p->hcap = cap;
    return 0;
}

/* ---- callbacks --------------------------------------------------------------- */

static int wr_http_on_message_begin(http_parser *hp)
{
    wr_http_parser_t *p = hp->data;

    p->begun = 1;
    return 0;
}

/* Extend string (off, len) with fragment at..n, or start it when first. A
 * fragment that does not continue the string where it ended cannot come
 * from a later read (the head buffer is fed contiguously). */
static int wr_http_extend(wr_http_parser_t *p, int first, size_t *off, size_t *len, const char *at,
                          size_t n)
{
    if (first) {
        *off = (size_t)(at - p->buf);
        *len = n;
        return 0;
    }
    if (at != p->buf + *off + *len)
        return -1;
    *len += n;
    return 0;
}

static int wr_http_on_url(http_parser *hp, const char *at, size_t n)
{
    wr_http_parser_t *p = hp->data;
    int first = p->last_cb != WR_CB_URL;

    if (!p->in_head)
        return 0;
    if (wr_http_extend(p, first, &p->url_off, &p->url_len, at, n) != 0) {
        wr_http_fail(p, 400, "malformed request line");
        return -1;
    }
    p->last_cb = WR_CB_URL;
    return 0;
}

static int wr_http_on_status(http_parser *hp, const char *at, size_t n)
{
    wr_http_parser_t *p = hp->data;
    int first = p->last_cb != WR_CB_STATUS;

    if (!p->in_head)
        return 0;
    if (wr_http_extend(p, first, &p->reason_off, &p->reason_len, at, n) != 0) {
        wr_http_fail(p, 0, "malformed status line");
        return -1;
    }
    p->has_reason = 1;
    p->last_cb = WR_CB_STATUS;
    return 0;
}

static int wr_http_on_header_field(http_parser *hp, const char *at, size_t n)
{
    wr_http_parser_t *p = hp->data;
    wr_http_span_t *s;

    if (!p->in_head)
        return 0; /* a trailer: forwarded raw with the body */
    if (p->last_cb == WR_CB_FIELD) {
        s = &p->spans[p->nspans - 1];
        if (wr_http_extend(p, 0, &s->name_off, &s->name_len, at, n) == 0)
            return 0;
    }
    if (p->nspans == WR_HTTP_MAX_HEADERS) {
        wr_http_fail(p, 431, "%s head with more than %d header fields", wr_http_kind(p),
                     WR_HTTP_MAX_HEADERS);
        return -1;
    }
    if (p->nspans == p->hcap && wr_http_grow_headers(p) != 0) {
        wr_http_fail(p, 500, "out of memory");
        return -1;
    }
    s = &p->spans[p->nspans++];
    memset(s, 0, sizeof(*s));
    s->name_off = (size_t)(at - p->buf);
    s->name_len = n;
    p->last_cb = WR_CB_FIELD;
    return 0;
}

static int wr_http_on_header_value(http_parser *hp, const char *at, size_t n)
{
    wr_http_parser_t *p = hp->data;
    wr_http_span_t *s;

    if (!p->in_head)
        return 0;
    if (p->nspans == 0 || (p->last_cb != WR_CB_FIELD && p->last_cb != WR_CB_VALUE)) {
        wr_http_fail(p, 0, "malformed header field");
        return -1;
    }
    s = &p->spans[p->nspans - 1];
    /* http-parser reports a folded continuation line (obs-fold) as another
     * piece of the value, which does not follow on from the first one:
     * joining the two would change the value, and a proxy may refuse the
     * message instead (RFC 9112 section 5.2). */
    if (wr_http_extend(p, !s->has_value, &s->value_off, &s->value_len, at, n) != 0) {
        wr_http_fail(p, 0, "obsolete line folding in header field \"%.*s\"",
                     (int)(s->name_len > 64 ? 64 : s->name_len), p->buf + s->name_off);
        return -1;
    }
    s->has_value = 1;
    p->last_cb = WR_CB_VALUE;
    return 0;
}

static int wr_http_on_headers_complete(http_parser *hp)
{
    wr_http_parser_t *p = hp->data;
    unsigned st = hp->status_code;
    int rc = 0;

    if (!p->in_head)
        return 0;
    /* Return 1: no body; 2: no body, and HTTP ends on the connection. */
    if (p->response) {
        if (st == 101)
            rc = 2;
        else if (st / 100 == 1 || st == 204 || st == 304)
            rc = 1; /* never a body, whatever the headers say (RFC 9112 6.3) */
        else if (p->expect_method == HTTP_HEAD)
            rc = 1;
        else if (p->expect_method == HTTP_CONNECT && st / 100 == 2)
            rc = 2;
    }
    http_parser_pause(hp, 1);
    return rc;
}

/* Check framing bytes of a chunked body (everything but chunk data): lines
 * end in CRLF, chunk data is followed by CRLF, no control bytes. */
static int wr_http_frame_check(wr_http_parser_t *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (p->fr_crlf == 2 || p->fr_crlf == 1) {
            if (c != (p->fr_crlf == 2 ? '\r' : '\n')) {
                wr_http_fail(p, 0, "malformed %s body: chunk data not followed by CRLF",
                             wr_http_kind(p));
                return -1;
            }
            p->fr_crlf--;
        } else if (p->fr_cr) {
            if (c != '\n') {
                wr_http_fail(p, 0, "malformed %s body: CR without LF in chunked framing",
                             wr_http_kind(p));
                return -1;
            }
            p->fr_cr = 0;
        } else if (c == '\r') {
            p->fr_cr = 1;
        } else if (c == '\n') {
            wr_http_fail(p, 0, "malformed %s body: LF without CR in chunked framing",
                         wr_http_kind(p));
            return -1;
        } else if (wr_http_ctl(c)) {
            wr_http_fail(p, 0, "malformed %s body: control byte 0x%02x in a chunk line or trailer",
                         wr_http_kind(p), c);
            return -1;
        }
    }
    return 0;
}

static int wr_http_on_body(http_parser *hp, const char *at, size_t n)
{
    wr_http_parser_t *p = hp->data;

    if (p->state != WR_HS_BODY || !p->head.chunked)
        return 0;
    if (wr_http_frame_check(p, p->fr_scan, (size_t)(at - p->fr_scan)) != 0)
        return -1;
    p->fr_scan = at + n;
    /* content_length is what is left of the chunk: none, so CRLF is next. */
    if (n > 0 && hp->content_length == 0)
        p->fr_crlf = 2;
    return 0;
}

static int wr_http_on_message_complete(http_parser *hp)
{
    wr_http_parser_t *p = hp->data;

    p->msg_done = 1;
    http_parser_pause(hp, 1);
    return 0;
}

/* ---- the parser ------------------------------------------------------------- */

/* p as new, with no buffers. */
static void wr_http_parser_init(wr_http_parser_t *p, int response, size_t max_head)
{
    memset(p, 0, sizeof(*p));
    http_parser_init(&p->hp, response ? HTTP_RESPONSE : HTTP_REQUEST);
    p->hp.data = p;
    p->response = response != 0;
    p->max_head = max_head ? max_head : WR_HTTP_DEFAULT_HEAD;
    p->expect_method = HTTP_GET;
    p->state = WR_HS_IDLE;
}

wr_http_parser_t *wr_http_parser_new(int response, size_t max_head)
{
    wr_http_parser_t *p = malloc(sizeof(*p));

    if (p != NULL)
        wr_http_parser_init(p, response, max_head);
    return p;
}

void wr_http_parser_free(wr_http_parser_t *p)
{
    if (p == NULL)
        return;
    free(p->buf);
    free(p->spans);
    free(p->headers);
    free(p);
}

void wr_http_parser_reset(wr_http_parser_t *p)
{
    char *buf = p->buf;
    size_t cap = p->cap, hcap = p->hcap, max_head = p->max_head;
    wr_http_span_t *spans = p->spans;
    wr_http_header_t *headers = p->headers;

    if (cap > WR_HTTP_KEEP_BUF) {
        free(buf);
        buf = NULL;
        cap = 0;
    }
    if (hcap > WR_HTTP_KEEP_HEADERS) {
        free(spans);
        free(headers);
        spans = NULL;
        headers = NULL;
        hcap = 0;
    }
    wr_http_parser_init(p, p->response, max_head);
    p->buf = buf;
    p->cap = cap;
    p->spans = spans;
    p->headers = headers;
    p->hcap = hcap;
}

void wr_http_parser_expect(wr_http_parser_t *p, int request_method)
{
    p->expect_method = request_method;
}

const wr_http_head_t *wr_http_parser_head(const wr_http_parser_t *p)
{
    return p->have_head ? &p->head : NULL;
}

const char *wr_http_parser_head_raw(const wr_http_parser_t *p, size_t *len)
{
    if (!p->have_head) {
        *len = 0;
        return NULL;
    }
    *len = p->head_len - p->start;
    return p->buf + p->start;
}

unsigned wr_http_parser_error(const wr_http_parser_t *p, const char **reason)
{
    if (reason != NULL)
        *reason = p->err;
    return p->err_status;
}

/* The message ended and its DONE is being returned. */
static void wr_http_finish(wr_http_parser_t *p)
{
    p->state = p->head.upgrade ? WR_HS_UPGRADED : WR_HS_IDLE;
}

static int wr_http_upgraded(wr_http_parser_t *p)
{
    return wr_http_fail(p, 0, "the connection was upgraded: no more HTTP messages on it");
}

static void wr_http_begin_head(wr_http_parser_t *p)
{
    p->state = WR_HS_HEAD;
    p->len = p->start = p->head_len = 0;
    p->in_head = 1;
    p->begun = 0;
    p->last_cb = WR_CB_NONE;
    p->msg_done = 0;
    p->url_off = p->url_len = p->reason_off = p->reason_len = 0;
    p->has_reason = 0;
    p->conn = 0;
    p->nspans = 0;
    p->have_head = 0;
}

/* The request line, checked byte for byte: http-parser (not strict) lets
 * extra spaces and any letters in place of "HTTP" through. */
static int wr_http_check_request_line(wr_http_parser_t *p)
{
    const char *b = p->buf, *m = http_method_str((enum http_method)p->hp.method);
    size_t ml = strlen(m), s = p->start, u;

    if (p->hp.http_major != 1 || p->hp.http_minor > 1)
        return wr_http_fail(p, 0, "unsupported HTTP version %u.%u", p->hp.http_major,
                            p->hp.http_minor);
    if (p->head_len - s < ml + 1 || memcmp(b + s, m, ml) != 0 || b[s + ml] != ' ' ||
        p->url_off != s + ml + 1 || p->url_len == 0)
        return wr_http_fail(p, 0, "malformed request line");
    for (size_t i = 0; i < p->url_len; i++) {
        unsigned char c = (unsigned char)b[p->url_off + i];
        if (c <= 0x20 || c == 0x7f)
            return wr_http_fail(p, 0, "invalid byte 0x%02x in the request target", c);
    }
    u = p->url_off + p->url_len;
    if (p->head_len - u < 10 || memcmp(b + u, " HTTP/1.", 8) != 0 ||
        b[u + 8] != (char)('0' + p->hp.http_minor) || (b[u + 9] != '\r' && b[u + 9] != '\n'))
        return wr_http_fail(p, 0, "malformed request line");
    return 0;
}

static int wr_http_check_status_line(wr_http_parser_t *p)
{
    const char *b = p->buf + p->start;
    size_t n = p->head_len - p->start, k;

    if (p->hp.http_major != 1 || p->hp.http_minor > 1)
        return wr_http_fail(p, 0, "unsupported HTTP version %u.%u", p->hp.http_major,
                            p->hp.http_minor);
    if (n < 13 || memcmp(b, "HTTP/1.", 7) != 0 || b[7] != (char)('0' + p->hp.http_minor) ||
        b[8] != ' ' || b[9] < '0' || b[9] > '9' || b[10] < '0' || b[10] > '9' || b[11] < '0' ||
        b[11] > '9' || (b[12] != ' ' && b[12] != '\r' && b[12] != '\n'))
        return wr_http_fail(p, 0, "malformed status line");
    if (p->hp.status_code < 100 || p->hp.status_code > 599)
        return wr_http_fail(p, 0, "invalid status code %u", p->hp.status_code);
    if (!p->has_reason) {
        p->reason_off = p->start + 12;
        p->reason_len = 0;
    }
    k = wr_http_value_span(p->buf + p->reason_off, p->reason_len);
    if (k < p->reason_len)
        return wr_http_fail(p, 0, "control byte 0x%02x in the reason phrase",
                            (unsigned char)p->buf[p->reason_off + k]);
    return 0;
}

/* Header fields: names are tokens, values are free of control bytes, and
 * the framing fields agree. Also fills the head's header array. */
static int wr_http_check_fields(wr_http_parser_t *p)
{
    wr_http_head_t *h = &p->head;
    int ncl = 0, nte = 0, te_chunked = 0, upgrade_field = 0;
    const char *t;
    size_t tl, pos, k;

    for (size_t i = 0; i < p->nspans; i++) {
        const wr_http_span_t *s = &p->spans[i];
        wr_http_header_t *f = &p->headers[i];
        const char *name = p->buf + s->name_off;
        const char *value = p->buf + (s->has_value ? s->value_off : s->name_off + s->name_len);
        size_t vlen = s->has_value ? s->value_len : 0;

        if (s->name_len == 0)
            return wr_http_fail(p, 0, "empty header field name");
        k = wr_http_token_span(name, s->name_len);
        if (k < s->name_len)
            return wr_http_fail(p, 0, "invalid byte 0x%02x in header field name \"%.*s\"",
                                (unsigned char)name[k], (int)(s->name_len > 64 ? 64 : s->name_len),
                                name);
        /* Leading whitespace is skipped by http-parser; trailing is not
         * part of the value either (RFC 9112 section 5). */
        while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            vlen--;
        k = wr_http_value_span(value, vlen);
        if (k < vlen)
            return wr_http_fail(p, 0, "control byte 0x%02x in header field \"%.*s\"",
                                (unsigned char)value[k], (int)(s->name_len > 64 ? 64 : s->name_len),
                                name);
        f->name = name;
        f->name_len = s->name_len;
        f->value = value;
        f->value_len = vlen;
        if (WR_HTTP_IS(name, s->name_len, "content-length")) {
            ncl++;
        } else if (WR_HTTP_IS(name, s->name_len, "transfer-encoding")) {
            /* The codings of all the fields form one list: chunked must be
             * the last of them. */
            nte++;
            for (pos = 0; wr_http_token(value, vlen, &pos, &t, &tl);)
                te_chunked = WR_HTTP_IS(t, tl, "chunked");
        } else if (WR_HTTP_IS(name, s->name_len, "connection")) {
            for (pos = 0; wr_http_token(value, vlen, &pos, &t, &tl);) {
                if (WR_HTTP_IS(t, tl, "close"))
                    p->conn |= WR_CONN_CLOSE;
                else if (WR_HTTP_IS(t, tl, "keep-alive"))
                    p->conn |= WR_CONN_KEEP_ALIVE;
                else if (WR_HTTP_IS(t, tl, "upgrade"))
                    p->conn |= WR_CONN_UPGRADE;
            }
        } else if (WR_HTTP_IS(name, s->name_len, "upgrade") && vlen > 0) {
            upgrade_field = 1;
        }
    }
    h->headers = p->headers;
    h->nheaders = p->nspans;
    /* http-parser 2.9.4 refuses these itself; they stay checked here, since
     * request smuggling defence rests on them. */
    if (ncl > 1)
        return wr_http_fail(p, 0, "more than one Content-Length field");
    if (ncl > 0 && nte > 0)
        return wr_http_fail(p, 0, "both Content-Length and Transfer-Encoding");
    if (!p->response && nte > 0 && !te_chunked)
        return wr_http_fail(p, 0, "request Transfer-Encoding does not end in chunked");
    /* An HTTP/1.0 recipient may not know chunked and see no body at all:
     * the chunks would be taken for the next request (RFC 9112 section
     * 6.1). A response may still be read, but ends the connection. */
    if (nte > 0 && p->hp.http_minor == 0) {
        if (!p->response)
            return wr_http_fail(p, 0, "Transfer-Encoding in an HTTP/1.0 request");
        p->conn = (p->conn & ~WR_CONN_KEEP_ALIVE) | WR_CONN_CLOSE;
    }
    /* http-parser matches these values its own way ("chunked\t" is not
     * chunked to it): where it disagrees with the fields as written, the
     * framing or the upgrade that a later parser sees could differ. */
    if (te_chunked != ((p->hp.flags & F_CHUNKED) != 0))
        return wr_http_fail(p, 0, "ambiguous Transfer-Encoding field");
    if (!p->response && p->hp.method != HTTP_CONNECT &&
        (upgrade_field && (p->conn & WR_CONN_UPGRADE)) != (p->hp.upgrade != 0))
        return wr_http_fail(p, 0, "ambiguous Upgrade or Connection field");
    return 0;
}

/* The head is complete at p->head_len (its final LF not yet fed to hp). */
static int wr_http_end_head(wr_http_parser_t *p)
{
    wr_http_head_t *h = &p->head;
    const wr_http_header_t *f;
    size_t got;
    enum http_errno e;

    http_parser_pause(&p->hp, 0);
    /* A CR must start a CRLF: http-parser (not strict) takes "\rX" for a
     * line end in places, the end of the head included. */
    for (size_t i = 0; i < p->head_len; i++) {
        if (p->buf[i] == '\r' && (i + 1 == p->head_len || p->buf[i + 1] != '\n'))
            return wr_http_fail(p, 0, "CR without LF in the %s head", wr_http_kind(p));
    }
    if (p->buf[p->head_len - 1] != '\n')
        return wr_http_fail(p, 0, "malformed end of the %s head", wr_http_kind(p));
    while (p->start < p->head_len && (p->buf[p->start] == '\r' || p->buf[p->start] == '\n'))
        p->start++;
    memset(h, 0, sizeof(*h));
    if (p->response ? wr_http_check_status_line(p) != 0 : wr_http_check_request_line(p) != 0)
        return WR_HTTP_ERROR;
    if (wr_http_check_fields(p) != 0)
        return WR_HTTP_ERROR;
    if ((p->hp.flags & F_CONTENTLENGTH) && p->hp.content_length > (uint64_t)INT64_MAX)
        return wr_http_fail(p, 0, "Content-Length out of range");

    h->is_request = !p->response;
    h->major = p->hp.http_major;
    h->minor = p->hp.http_minor;
    if (p->response) {
        h->method = -1;
        h->status = p->hp.status_code;
        h->reason = p->buf + p->reason_off;
        h->reason_len = p->reason_len;
    } else {
        h->method = (int)p->hp.method;
        h->method_name = http_method_str((enum http_method)p->hp.method);
        h->url = p->buf + p->url_off;
        h->url_len = p->url_len;
        f = wr_http_find(h, "expect");
        h->expect_continue =
            h->minor >= 1 && f != NULL && WR_HTTP_IS(f->value, f->value_len, "100-continue");
    }
    h->chunked = (p->hp.flags & F_CHUNKED) != 0;
    h->content_length =
        (p->hp.flags & F_CONTENTLENGTH) ? (int64_t)p->hp.content_length : (int64_t)-1;

    /* Feed the final LF: http-parser decides whether a body follows, and
     * when none does, completes the message (pausing us again). */
    p->in_head = 0;
    got = http_parser_execute(&p->hp, &wr_http_settings, p->buf + p->head_len - 1, 1);
    e = HTTP_PARSER_ERRNO(&p->hp);
    if (e == HPE_PAUSED)
        http_parser_pause(&p->hp, 0);
    else if (e != HPE_OK)
        return wr_http_parser_failed(p, "head");
    if (got != 1)
        return wr_http_fail(p, 500, "http-parser did not take the end of the head");
    h->upgrade = p->hp.upgrade;
    h->body = !p->msg_done;
    h->close_delimited = p->response && h->body && !h->chunked && h->content_length < 0;
    /* The rule of http_should_keep_alive(), on the tokens as read above. */
    if (h->minor >= 1)
        h->keep_alive = !(p->conn & WR_CONN_CLOSE) && !h->close_delimited;
    else
        h->keep_alive = (p->conn & WR_CONN_KEEP_ALIVE) && !h->close_delimited;
    p->have_head = 1;
    p->state = p->msg_done ? WR_HS_COMPLETE : WR_HS_BODY;
    p->fr_scan = NULL;
    p->fr_crlf = 0;
    p->fr_cr = 0;
    /* A final response answers the request; interim ones keep waiting. */
    if (p->response && (h->status >= 200 || h->status == 101))
        p->expect_method = HTTP_GET;
    return WR_HTTP_HEAD;
}

int wr_http_read_head(wr_http_parser_t *p, struct evbuffer *in)
{
    size_t len0, taken = 0, avail, k, got;
    struct evbuffer_ptr pos;
    enum http_errno e;

    if (p->state == WR_HS_COMPLETE)
        wr_http_finish(p);
    switch (p->state) {
    case WR_HS_ERROR:
        return WR_HTTP_ERROR;
    case WR_HS_UPGRADED:
        return wr_http_upgraded(p);
    case WR_HS_BODY:
        return wr_http_fail(p, 500, "a head asked for before the end of the body");
    case WR_HS_IDLE:
        if (evbuffer_get_length(in) == 0)
            return WR_HTTP_NEED;
        wr_http_begin_head(p);
        break;
    default:
        break;
    }

    len0 = p->len;
    while ((avail = evbuffer_get_length(in) - taken) > 0) {
        if (p->len == p->max_head)
            return wr_http_fail(p, 431, "%s head larger than %zu bytes", wr_http_kind(p),
                                p->max_head);
        k = avail < p->max_head - p->len ? avail : p->max_head - p->len;
        if (k > WR_HTTP_STEP)
            k = WR_HTTP_STEP;
        if (wr_http_reserve(p, p->len + k) != 0)
            return wr_http_fail(p, 500, "out of memory");
        if (evbuffer_ptr_set(in, &pos, taken, EVBUFFER_PTR_SET) != 0 ||
            evbuffer_copyout_from(in, &pos, p->buf + p->len, k) != (ev_ssize_t)k)
            return wr_http_fail(p, 500, "cannot copy from the input buffer");
        got = http_parser_execute(&p->hp, &wr_http_settings, p->buf + p->len, k);
        e = HTTP_PARSER_ERRNO(&p->hp);
        if (e == HPE_PAUSED) {
            /* Paused in on_headers_complete, on the head's final LF. */
            p->head_len = p->len + got + 1;
            evbuffer_drain(in, p->head_len - len0);
            p->len = p->head_len;
            return wr_http_end_head(p);
        }
        if (e != HPE_OK)
            return wr_http_parser_failed(p, "head");
        p->len += k;
        taken += k;
    }
    evbuffer_drain(in, taken);
    if (p->len == p->max_head)
        return wr_http_fail(p, 431, "%s head larger than %zu bytes", wr_http_kind(p), p->max_head);
    return WR_HTTP_NEED;
}

int wr_http_read_body(wr_http_parser_t *p, struct evbuffer *in, size_t *n)
{
    size_t total = 0, len = evbuffer_get_length(in), got = 0;
    struct evbuffer_iovec v;
    struct evbuffer_ptr pos;
    enum http_errno e;

    *n = 0;
    switch (p->state) {
    case WR_HS_COMPLETE:
        wr_http_finish(p);
        return WR_HTTP_DONE;
    case WR_HS_BODY:
        break;
    case WR_HS_ERROR:
        return WR_HTTP_ERROR;
    case WR_HS_UPGRADED:
        return wr_http_upgraded(p);
    default:
        return wr_http_fail(p, 500, "a body asked for before a head");
    }
    if (len > 0 && evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET) != 0)
        return wr_http_fail(p, 500, "cannot read the input buffer");
    while (total < len) {
        /* One chain at a time, in place: pos moves on by what was parsed. */
        if ((total > 0 && evbuffer_ptr_set(in, &pos, got, EVBUFFER_PTR_ADD) != 0) ||
            evbuffer_peek(in, -1, &pos, &v, 1) < 1 || v.iov_len == 0)
            return wr_http_fail(p, 500, "cannot read the input buffer");
        p->fr_scan = v.iov_base;
        got = http_parser_execute(&p->hp, &wr_http_settings, v.iov_base, v.iov_len);
        e = HTTP_PARSER_ERRNO(&p->hp);
        if (e != HPE_OK && e != HPE_PAUSED)
            return wr_http_parser_failed(p, "body");
        if (p->head.chunked &&
            wr_http_frame_check(p, p->fr_scan,
                                (size_t)((const char *)v.iov_base + got - p->fr_scan)) != 0)
            return WR_HTTP_ERROR;
        total += got;
        if (e == HPE_PAUSED) {
            http_parser_pause(&p->hp, 0);
            *n = total;
            wr_http_finish(p);
            return WR_HTTP_DONE;
        }
        if (got != v.iov_len)
            return wr_http_fail(p, 500, "http-parser stopped inside a body");
    }
    *n = total;
    return WR_HTTP_BODY;
}

int wr_http_eof(wr_http_parser_t *p)
{
    enum http_errno e;

    switch (p->state) {
    case WR_HS_ERROR:
        return WR_HTTP_ERROR;
    case WR_HS_UPGRADED:
        return wr_http_upgraded(p);
    case WR_HS_IDLE:
        return WR_HTTP_NEED;
    case WR_HS_COMPLETE:
        wr_http_finish(p);
        return WR_HTTP_DONE;
    case WR_HS_HEAD:
        if (!p->begun)
            return WR_HTTP_NEED;
        return wr_http_fail(p, 0, "connection closed inside a %s head (%zu bytes)", wr_http_kind(p),
                            p->len);
    default:
        break;
    }
    if (p->head.close_delimited) {
        http_parser_execute(&p->hp, &wr_http_settings, NULL, 0);
        e = HTTP_PARSER_ERRNO(&p->hp);
        if (e == HPE_PAUSED)
            http_parser_pause(&p->hp, 0);
        else if (e != HPE_OK || !p->msg_done)
            return wr_http_parser_failed(p, "body");
        wr_http_finish(p);
        return WR_HTTP_DONE;
    }
    if (p->head.chunked)
        return wr_http_fail(p, 0, "connection closed inside a chunked %s body", wr_http_kind(p));
    return wr_http_fail(p, 0, "connection closed %llu bytes before the end of a %s body",
                        (unsigned long long)p->hp.content_length, wr_http_kind(p));
}

/* ---- helpers on heads ---------------------------------------------------------- */

const wr_http_header_t *wr_http_find(const wr_http_head_t *h, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < h->nheaders; i++) {
        if (h->headers[i].name_len == n && wr_http_ieqn(h->headers[i].name, name, n))
            return &h->headers[i];
    }
    return NULL;
}

static int wr_http_hexdigit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Normalise "host[:port]" (s, n) into out; see wr_http_host(). */
static int wr_http_norm_host(const char *s, size_t n, char *out, size_t len)
{
    size_t hl, i;
    const char *port;
    size_t plen;

    if (n == 0)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || close == s + 1)
            return -1;
        hl = (size_t)(close - s) + 1;
        for (i = 1; i < hl - 1; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!wr_http_hexdigit(c) && c != ':' && c != '.')
                return -1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hl = colon != NULL ? (size_t)(colon - s) : n;
        for (i = 0; i < hl; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.'))
                return -1;
        }
    }
    port = s + hl;
    plen = n - hl;
    if (plen > 0) {
        if (port[0] != ':' || plen > 6)
            return -1;
        for (i = 1; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return -1;
        }
    }
    if (s[0] != '[' && hl > 0 && s[hl - 1] == '.')
        hl--;
    if (hl == 0 || hl + 1 > len)
        return -1;
    for (i = 0; i < hl; i++)
        out[i] = (char)wr_http_lower((unsigned char)s[i]);
    out[hl] = '\0';
    return 0;
}

int wr_http_host(const wr_http_head_t *h, char *out, size_t len)
{
    const wr_http_header_t *host = NULL;
    struct http_parser_url u;

    for (size_t i = 0; i < h->nheaders; i++) {
        if (WR_HTTP_IS(h->headers[i].name, h->headers[i].name_len, "host")) {
            if (host != NULL)
                return -1;
            host = &h->headers[i];
        }
    }
    if (host != NULL)
        return wr_http_norm_host(host->value, host->value_len, out, len);
    if (!h->is_request || h->major != 1 || h->minor != 0 || h->url == NULL)
        return -1;
    /* HTTP/1.0 without Host: the host of an absolute-form target. */
    http_parser_url_init(&u);
    if (http_parser_parse_url(h->url, h->url_len, h->method == HTTP_CONNECT, &u) != 0 ||
        !(u.field_set & (1 << UF_HOST)))
        return -1;
    {
        size_t off = u.field_data[UF_HOST].off, n = u.field_data[UF_HOST].len;
        /* http-parser reports an IPv6 literal without its brackets. */
        if (off > 0 && h->url[off - 1] == '[' && off + n < h->url_len && h->url[off + n] == ']')
            return wr_http_norm_host(h->url + off - 1, n + 2, out, len);
        return wr_http_norm_host(h->url + off, n, out, len);
    }
}

int wr_http_is_hop(const wr_http_head_t *h, const char *name, size_t len)
{
    if (WR_HTTP_IS(name, len, "content-length") || WR_HTTP_IS(name, len, "transfer-encoding") ||
        WR_HTTP_IS(name, len, "host"))
        return 0;
    if (WR_HTTP_IS(name, len, "connection") || WR_HTTP_IS(name, len, "keep-alive") ||
        WR_HTTP_IS(name, len, "proxy-connection") || WR_HTTP_IS(name, len, "proxy-authenticate") ||
        WR_HTTP_IS(name, len, "proxy-authorization") || WR_HTTP_IS(name, len, "te") ||
        WR_HTTP_IS(name, len, "trailer") || WR_HTTP_IS(name, len, "upgrade"))
        return 1;
    for (size_t i = 0; i < h->nheaders; i++) {
        const wr_http_header_t *f = &h->headers[i];
        const char *t;
        size_t tl, pos = 0;

        if (!WR_HTTP_IS(f->name, f->name_len, "connection"))
            continue;
        while (wr_http_token(f->value, f->value_len, &pos, &t, &tl)) {
            if (tl == len && wr_http_ieqn(t, name, len))
                return 1;
        }
    }
    return 0;
}

/* ---- writing heads --------------------------------------------------------------- */

/*
 * Heads are written in two passes over the same code: the first (w->p
 * NULL) measures, the second copies into space reserved in one piece, so
 * that a head costs one evbuffer operation however many fields it has.
 */
typedef struct {
    char *p;
    size_t n;
} wr_http_w_t;

static void wr_http_put(wr_http_w_t *w, const char *s, size_t n)
{
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void wr_http_puts(wr_http_w_t *w, const char *s)
{
    wr_http_put(w, s, strlen(s));
}

static void wr_http_putu(wr_http_w_t *w, unsigned long long v)
{
    char d[24];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    wr_http_put(w, d + i, sizeof(d) - i);
}

static void wr_http_put_field(wr_http_w_t *w, const char *name, size_t nl, const char *value,
                              size_t vl)
{
    wr_http_put(w, name, nl);
    wr_http_put(w, ": ", 2);
    wr_http_put(w, value, vl);
    wr_http_put(w, "\r\n", 2);
}

/* Run emit twice: measure, then write into out in one reserved extent. */
static int wr_http_emit(struct evbuffer *out, void (*emit)(wr_http_w_t *, const void *),
                        const void *arg)
{
    wr_http_w_t w = {NULL, 0};
    struct evbuffer_iovec v;

    emit(&w, arg);
    if (evbuffer_reserve_space(out, (ev_ssize_t)w.n, &v, 1) != 1 || v.iov_len < w.n)
        return -1;
    w.p = v.iov_base;
    w.n = 0;
    emit(&w, arg);
    v.iov_len = w.n;
    return evbuffer_commit_space(out, &v, 1);
}

typedef struct {
    const wr_http_head_t *h;
    const wr_http_fwd_t *fw;
    int keep_alive, minor;
} wr_http_emit_arg_t;

static void wr_http_emit_request(wr_http_w_t *w, const void *arg)
{
    const wr_http_emit_arg_t *a = arg;
    const wr_http_head_t *h = a->h;
    const wr_http_fwd_t *fw = a->fw;
    const wr_http_header_t *host = wr_http_find(h, "host");
    int upgrade = fw != NULL && fw->keep_upgrade && h->upgrade && wr_http_find(h, "upgrade");
    int host_done = 0, xff = 0;

    wr_http_puts(w, h->method_name);
    wr_http_put(w, " ", 1);
    wr_http_put(w, h->url, h->url_len);
    wr_http_put(w, " HTTP/", 6);
    wr_http_putu(w, h->major);
    wr_http_put(w, ".", 1);
    wr_http_putu(w, h->minor);
    wr_http_put(w, "\r\n", 2);
    if (fw != NULL && fw->host_override != NULL && host == NULL)
        wr_http_put_field(w, "Host", 4, fw->host_override, strlen(fw->host_override));
    for (size_t i = 0; i < h->nheaders; i++) {
        const wr_http_header_t *f = &h->headers[i];

        if (fw != NULL) {
            if (wr_http_is_hop(h, f->name, f->name_len) &&
                !(upgrade && WR_HTTP_IS(f->name, f->name_len, "upgrade")))
                continue;
            if (fw->client_ip != NULL && WR_HTTP_IS(f->name, f->name_len, "x-forwarded-for"))
                continue;
            if (fw->proto != NULL && WR_HTTP_IS(f->name, f->name_len, "x-forwarded-proto"))
                continue;
            if (fw->add_xfh && WR_HTTP_IS(f->name, f->name_len, "x-forwarded-host"))
                continue;
            if (fw->traceparent != NULL && WR_HTTP_IS(f->name, f->name_len, "traceparent"))
                continue;
            if (fw->host_override != NULL && WR_HTTP_IS(f->name, f->name_len, "host")) {
                if (!host_done)
                    wr_http_put_field(w, f->name, f->name_len, fw->host_override,
                                      strlen(fw->host_override));
                host_done = 1;
                continue;
            }
        }
        wr_http_put_field(w, f->name, f->name_len, f->value, f->value_len);
    }
    if (fw != NULL && fw->client_ip != NULL) {
        wr_http_puts(w, "X-Forwarded-For: ");
        for (size_t i = 0; i < h->nheaders; i++) {
            const wr_http_header_t *f = &h->headers[i];
            if (f->value_len == 0 || !WR_HTTP_IS(f->name, f->name_len, "x-forwarded-for"))
                continue;
            if (xff++)
                wr_http_put(w, ", ", 2);
            wr_http_put(w, f->value, f->value_len);
        }
        if (xff)
            wr_http_put(w, ", ", 2);
        wr_http_puts(w, fw->client_ip);
        wr_http_put(w, "\r\n", 2);
    }
    if (fw != NULL && fw->proto != NULL)
        wr_http_put_field(w, "X-Forwarded-Proto", 17, fw->proto, strlen(fw->proto));
    if (fw != NULL && fw->add_xfh && host != NULL)
        wr_http_put_field(w, "X-Forwarded-Host", 16, host->value, host->value_len);
    if (fw != NULL && fw->traceparent != NULL)
        wr_http_put_field(w, "traceparent", 11, fw->traceparent, strlen(fw->traceparent));
    if (upgrade)
        wr_http_puts(w, "Connection: upgrade\r\n");
    wr_http_put(w, "\r\n", 2);
}

/* A string from the caller that goes into a header value. */
static int wr_http_clean(const char *s)
{
    if (s == NULL)
        return 1;
    for (; *s != '\0'; s++) {
        if (wr_http_ctl((unsigned char)*s) || *s == '\t')
            return 0;
    }
    return 1;
}

int wr_http_write_request(struct evbuffer *out, const wr_http_head_t *h, const wr_http_fwd_t *fw)
{
    wr_http_emit_arg_t a = {h, fw, 0, 0};

    if (!h->is_request || h->method_name == NULL)
        return -1;
    if (fw != NULL && (!wr_http_clean(fw->client_ip) || !wr_http_clean(fw->proto) ||
                       !wr_http_clean(fw->host_override) || !wr_http_clean(fw->traceparent)))
        return -1;
    return wr_http_emit(out, wr_http_emit_request, &a);
}

static void wr_http_emit_response(wr_http_w_t *w, const void *arg)
{
    const wr_http_emit_arg_t *a = arg;
    const wr_http_head_t *h = a->h;
    int switching = h->status == 101;

    wr_http_put(w, "HTTP/1.1 ", 9);
    wr_http_putu(w, h->status);
    wr_http_put(w, " ", 1);
    wr_http_put(w, h->reason, h->reason_len);
    wr_http_put(w, "\r\n", 2);
    for (size_t i = 0; i < h->nheaders; i++) {
        const wr_http_header_t *f = &h->headers[i];

        if (wr_http_is_hop(h, f->name, f->name_len) &&
            !(switching && WR_HTTP_IS(f->name, f->name_len, "upgrade")))
            continue;
        wr_http_put_field(w, f->name, f->name_len, f->value, f->value_len);
    }
    if (switching)
        wr_http_puts(w, "Connection: upgrade\r\n");
    else if (h->status / 100 == 1)
        ; /* interim: the final response tells the connection's fate */
    else if (!a->keep_alive)
        wr_http_puts(w, "Connection: close\r\n");
    else if (a->minor == 0)
        wr_http_puts(w, "Connection: keep-alive\r\n");
    wr_http_put(w, "\r\n", 2);
}

int wr_http_write_response(struct evbuffer *out, const wr_http_head_t *h, int keep_alive_public,
                           int public_minor)
{
    wr_http_emit_arg_t a = {h, NULL, keep_alive_public, public_minor};

    if (h->is_request)
        return -1;
    return wr_http_emit(out, wr_http_emit_response, &a);
}

const char *wr_http_status_reason(unsigned status)
{
    const char *r = status <= 999 ? http_status_str((enum http_status)status) : "<unknown>";

    return r[0] == '<' ? "Unknown" : r;
}

typedef struct {
    unsigned status;
    const char *detail;
    int close;
    const wr_http_header_t *extra;
    size_t nextra;
} wr_http_page_t;

/* The body of an error page, control bytes of detail as \xNN. */
static void wr_http_emit_page_body(wr_http_w_t *w, const wr_http_page_t *pg)
{
    static const char hex[] = "0123456789abcdef";

    wr_http_putu(w, pg->status);
    wr_http_put(w, " ", 1);
    wr_http_puts(w, wr_http_status_reason(pg->status));
    wr_http_put(w, "\n", 1);
    if (pg->detail == NULL || pg->detail[0] == '\0')
        return;
    for (const char *s = pg->detail; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            wr_http_put(w, e, 4);
        } else {
            wr_http_put(w, s, 1);
        }
    }
    wr_http_put(w, "\n", 1);
}

static void wr_http_emit_page(wr_http_w_t *w, const void *arg)
{
    const wr_http_page_t *pg = arg;
    wr_http_w_t measure = {NULL, 0};

    wr_http_emit_page_body(&measure, pg);
    wr_http_put(w, "HTTP/1.1 ", 9);
    wr_http_putu(w, pg->status);
    wr_http_put(w, " ", 1);
    wr_http_puts(w, wr_http_status_reason(pg->status));
    wr_http_puts(w, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    wr_http_putu(w, measure.n);
    wr_http_puts(w, "\r\nCache-Control: no-store\r\n");
    for (size_t i = 0; i < pg->nextra; i++) {
        wr_http_put(w, pg->extra[i].name, pg->extra[i].name_len);
        wr_http_put(w, ": ", 2);
        wr_http_put(w, pg->extra[i].value, pg->extra[i].value_len);
        wr_http_put(w, "\r\n", 2);
    }
    if (pg->close)
        wr_http_puts(w, "Connection: close\r\n");
    wr_http_put(w, "\r\n", 2);
    wr_http_emit_page_body(w, pg);
}

int wr_http_error_page(struct evbuffer *out, unsigned status, const char *detail, int close)
{
    return wr_http_error_page_ex(out, status, detail, close, NULL, 0);
}

int wr_http_error_page_ex(struct evbuffer *out, unsigned status, const char *detail, int close,
                          const wr_http_header_t *extra, size_t nextra)
{
    wr_http_page_t pg = {status, detail, close, extra, nextra};

    if (status < 100 || status > 999)
        return -1;
    return wr_http_emit(out, wr_http_emit_page, &pg);
}
