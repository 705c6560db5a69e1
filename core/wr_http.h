/*
 * wr_http: HTTP/1.x message heads and message framing, over http-parser
 * (Debian's libhttp-parser 2.9). Used where warren speaks HTTP/1.x: the
 * server's HTTP ingress (public requests in, responses back) and the
 * client's HTTP proxy (requests in, local service responses back).
 *
 * A wr_http_parser_t follows one direction of one connection: the requests
 * a client sends, or the responses a server sends. It parses each message's
 * head into a wr_http_head_t, and then only frames the body: it tells the
 * caller how many raw bytes at the front of its input belong to the body,
 * and the caller moves them on unchanged (evbuffer_remove_buffer). Bodies
 * are never buffered whole and never re-encoded, so a chunked body keeps its
 * chunk framing and trailers.
 *
 *   for (;;) {
 *       rc = wr_http_read_head(p, in);       NEED: wait for more input
 *       h = wr_http_parser_head(p);          HEAD: route, rewrite, write
 *       do {
 *           rc = wr_http_read_body(p, in, &n);
 *           evbuffer_remove_buffer(in, out, n);
 *       } while (rc == WR_HTTP_BODY);        (waiting for input between)
 *   }                                        DONE: the next message
 *
 * What is refused (WR_HTTP_ERROR, with the status to answer and a reason):
 * a head over max_head bytes or with more than WR_HTTP_MAX_HEADERS fields
 * (431); anything but HTTP/1.0 or 1.1; a request or status line that is not
 * exactly `METHOD SP target SP HTTP/1.x` or `HTTP/1.x SP 3DIGIT [SP reason]`;
 * a header name that is not a token (a space before the colon included);
 * control bytes other than HTAB in a value, target or reason; a CR not
 * followed by LF; obsolete line folding; Content-Length together with
 * Transfer-Encoding, two Content-Length fields, a Content-Length that is not
 * a number; a request whose Transfer-Encoding does not end in chunked, or
 * an HTTP/1.0 request with one; Connection or Transfer-Encoding values that
 * http-parser reads otherwise than their comma-separated tokens say; and
 * in chunked bodies, framing bytes that http-parser (built without its
 * strict mode on Debian) would let through: chunk data not followed by CRLF,
 * a bare CR or LF, or a control byte in a chunk extension or trailer. These
 * are what request smuggling needs: whatever parses the message after
 * warren must not find a different message boundary than warren did.
 *
 * Responses: 1xx interim responses (100, 103) are complete messages without
 * a body, as are 204 and 304 responses and responses to HEAD (see
 * wr_http_parser_expect), whatever their headers say. A 101 response, or a
 * 2xx response to CONNECT, ends HTTP on the connection.
 *
 * Upgrade: after a message with upgrade set (a request with Upgrade and
 * Connection: upgrade, or CONNECT; a 101 response) has ended, the parser is
 * finished: the bytes that follow are another protocol, and every later
 * call returns WR_HTTP_ERROR ("upgraded"). A server may refuse an upgrade
 * with an ordinary response, after which the client may go on with HTTP
 * requests; this parser cannot follow that, so a proxy should forward no
 * bytes after an upgrade request until the response is a 101, and close the
 * connection after any other response.
 *
 * Threading: a parser belongs to its connection's thread; the helpers that
 * take no parser are thread-safe and own no memory.
 */
#ifndef WR_HTTP_H
#define WR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define WR_HTTP_MAX_HEADERS  100         /* header fields in a head; more is a 431 */
#define WR_HTTP_DEFAULT_HEAD (32 * 1024) /* max_head when 0 is given */

/* A header field as received: name and value point into the parser's head
 * buffer and are not NUL-terminated. The value has no leading or trailing
 * whitespace. */
typedef struct {
    const char *name, *value;
    size_t name_len, value_len;
} wr_http_header_t;

/* A parsed head. Strings point into the parser's head buffer and are not
 * NUL-terminated, except method_name (a static string). */
typedef struct {
    int is_request;
    int method;              /* enum http_method (requests; -1 in responses) */
    const char *method_name; /* "GET" (requests) */
    const char *url;         /* request target as received (requests) */
    size_t url_len;
    unsigned status;    /* responses */
    const char *reason; /* reason phrase as received, possibly empty (responses) */
    size_t reason_len;
    unsigned short major, minor; /* 1.0 or 1.1 */
    wr_http_header_t *headers;
    size_t nheaders;
    int keep_alive;         /* the connection may carry another message (version, Connection) */
    int upgrade;            /* a request with Upgrade + Connection: upgrade, CONNECT; a 101
                               response, a 2xx response to CONNECT */
    int chunked;            /* Transfer-Encoding: chunked */
    int64_t content_length; /* -1 when absent */
    int expect_continue;    /* an HTTP/1.1 request with Expect: 100-continue */
    int body;               /* 1 when body bytes follow the head */
    int close_delimited;    /* a response whose body ends only when the connection closes */
} wr_http_head_t;

/* One direction of one connection. */
typedef struct wr_http_parser wr_http_parser_t;

enum {
    WR_HTTP_ERROR = -1,
    WR_HTTP_NEED = 0,
    WR_HTTP_HEAD = 1,
    WR_HTTP_BODY = 2,
    WR_HTTP_DONE = 3,
};

/*
 * A parser of requests (response 0) or responses (response 1). max_head is
 * the largest head accepted, in bytes, request or status line and CRLF CRLF
 * included (0: WR_HTTP_DEFAULT_HEAD); http-parser itself refuses heads over
 * 80 KiB, so a larger value acts as 80 KiB. The head buffer grows as needed
 * up to max_head and is reused for the following messages. NULL when out of
 * memory. Free with wr_http_parser_free().
 */
wr_http_parser_t *wr_http_parser_new(int response, size_t max_head);

/* Free p and its head buffer (heads from it become invalid). NULL is
 * ignored. */
void wr_http_parser_free(wr_http_parser_t *p);

/* Make p as wr_http_parser_new left it, for another connection, without
 * giving back its buffers (heads from it become invalid); a head buffer
 * grown past WR_HTTP_KEEP_BUF bytes, or header arrays grown past
 * WR_HTTP_KEEP_HEADERS fields, are given back, so that a parser kept for
 * reuse does not hold a large head's memory. */
void wr_http_parser_reset(wr_http_parser_t *p);
#define WR_HTTP_KEEP_BUF     (8 * 1024)
#define WR_HTTP_KEEP_HEADERS 32

/*
 * Response parsers: the method of the request that the next response
 * answers (enum http_method). HEAD: the response has no body whatever its
 * headers say; CONNECT: a 2xx response ends HTTP on the connection. Call it
 * before the head of each response to a request (interim 1xx responses keep
 * the setting until the final one); without a call a response is taken to
 * answer GET. Ignored by request parsers.
 */
void wr_http_parser_expect(wr_http_parser_t *p, int request_method);

/*
 * Parse a head from the front of in.
 *   WR_HTTP_NEED: the head is not complete; all of in has been copied into
 *     the parser's head buffer and drained from in. Call again with more.
 *   WR_HTTP_HEAD: the head is complete; its bytes are drained from in (what
 *     follows them is left there), and wr_http_parser_head() returns it
 *     until the next call of wr_http_read_head(). Next, wr_http_read_body().
 *   WR_HTTP_ERROR: see wr_http_parser_error(). Nothing more can be parsed;
 *     what is left in in is undefined.
 * Called while the previous message's body is unfinished it is an error;
 * after a message without a body it starts the next head (the DONE of
 * wr_http_read_body() is then implied).
 */
int wr_http_read_head(wr_http_parser_t *p, struct evbuffer *in);

/* The last head parsed by wr_http_read_head(), valid until its next call
 * or wr_http_parser_free(); NULL before the first. */
const wr_http_head_t *wr_http_parser_head(const wr_http_parser_t *p);

/* The raw bytes of the last head (from the first byte of its request or
 * status line to its final LF), in the same buffer that the strings of
 * wr_http_parser_head() point into; same lifetime. NULL before the first. */
const char *wr_http_parser_head_raw(const wr_http_parser_t *p, size_t *len);

/*
 * After WR_HTTP_HEAD: sets *n to how many bytes at the front of in belong
 * to the current message's body, framing included (chunk sizes, CRLFs,
 * trailers). They are NOT drained: the caller must remove exactly *n bytes
 * from the front of in (moving them on, raw) before it calls any function
 * of this parser again, because the parser has accounted for them.
 *   WR_HTTP_BODY: all of in was body (*n == its length); more is to come.
 *   WR_HTTP_DONE: the message ends after those *n bytes; what follows is
 *     the next message (pipelining): call wr_http_read_head() again. A
 *     message without a body gives DONE with *n == 0 at once.
 *   WR_HTTP_ERROR: malformed body framing (see wr_http_parser_error()).
 */
int wr_http_read_body(wr_http_parser_t *p, struct evbuffer *in, size_t *n);

/*
 * The peer closed its end. WR_HTTP_DONE when that ends a close-delimited
 * response body (the message is complete, nothing more to move), or a
 * message whose DONE was still to be returned; WR_HTTP_NEED when no message
 * was in progress (between messages, or only blank lines); WR_HTTP_ERROR
 * when a head or body was cut short (the reason says which and where).
 */
int wr_http_eof(wr_http_parser_t *p);

/*
 * After WR_HTTP_ERROR: the HTTP status to answer with (requests: 400 for a
 * malformed message, 431 for a head too large or with too many fields;
 * responses: 502, since the bad message came from the upstream server) and,
 * in *reason if not NULL, a one-line reason for logs and error pages, valid
 * until p is freed. 0 and "" when there was no error.
 */
unsigned wr_http_parser_error(const wr_http_parser_t *p, const char **reason);

/* ---- helpers on heads (thread-safe, no memory of their own) -------------- */

/* How many of the n bytes at s, from the front, are token characters
 * (tchar, RFC 9110 section 5.6.2: what a method or a header field name is
 * made of): n when all are. s need not be NUL-terminated. */
size_t wr_http_token_span(const char *s, size_t n);

/* How many of the n bytes at s, from the front, may stand in a header
 * field value or a reason phrase: any byte but a control byte (0x00-0x1f,
 * 0x7f) other than HTAB. n when all may. */
size_t wr_http_value_span(const char *s, size_t n);

/* The first header field named name (ASCII case-insensitive), or NULL. */
const wr_http_header_t *wr_http_find(const wr_http_head_t *h, const char *name);

/*
 * The request's host, normalised for routing, into out (NUL-terminated):
 * lower-cased, the port stripped, one trailing dot stripped, an IPv6
 * literal kept in brackets ("[::1]:8080" -> "[::1]"). From the Host header;
 * an HTTP/1.0 request without one uses the host of an absolute-form target
 * ("GET http://example.com/ HTTP/1.0"). Returns 0, or -1 (out undefined)
 * when the host is missing (HTTP/1.1 requires Host), given twice, empty,
 * contains anything but letters, digits, '-' and '.' (inside brackets: hex
 * digits, ':' and '.'), has a port that is not 1-5 digits, or does not fit
 * in len bytes. Two Host fields must be answered with 400 by the caller.
 */
int wr_http_host(const wr_http_head_t *h, char *out, size_t len);

/*
 * 1 when the field name (len bytes) is hop-by-hop in message h: Connection,
 * Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization,
 * TE, Trailer, Upgrade, and every name listed in h's Connection fields
 * (comma-separated, case-insensitive). Content-Length, Transfer-Encoding
 * and Host are never hop-by-hop, even when a Connection field lists them:
 * bodies are forwarded in their original framing, which needs the first
 * two, and routing needs Host.
 */
int wr_http_is_hop(const wr_http_head_t *h, const char *name, size_t len);

/* How a forwarded request is rewritten (wr_http_write_request). */
typedef struct {
    const char *client_ip;     /* X-Forwarded-For: incoming values joined with ", ", then
                                  ", client_ip" (or just client_ip); NULL: left as received */
    const char *proto;         /* "http"/"https": X-Forwarded-Proto, replacing any
                                  received; NULL: left as received */
    int add_xfh;               /* X-Forwarded-Host: the received Host value, replacing any
                                  received */
    const char *host_override; /* NULL, or the Host value to send instead of the received */
    int keep_upgrade;          /* an upgrade request keeps Upgrade and gets
                                  Connection: upgrade */
    const char *traceparent;   /* NULL, or the traceparent value to send instead of
                                  every received one (W3C trace context) */
} wr_http_fwd_t;

/*
 * Append request head h to out: `METHOD SP target SP HTTP/x.y CRLF` (the
 * received version: the body keeps its framing, and a 1.0 client must not
 * get a chunked response), the fields that are not hop-by-hop, in received
 * order, as `name: value CRLF`, then the fields fw adds, then CRLF. With fw
 * NULL, every field is written (a faithful re-serialisation). 0, or -1 when
 * a string in fw holds a control byte (nothing is written) or out of memory
 * (out may hold part of the head: discard the connection).
 */
int wr_http_write_request(struct evbuffer *out, const wr_http_head_t *h, const wr_http_fwd_t *fw);

/*
 * Append response head h to out, for a public client: `HTTP/1.1 status
 * reason` (warren's own version, RFC 9110 section 6.2), the fields that are
 * not hop-by-hop, then the connection's fate: `Connection: close` when
 * !keep_alive_public, `Connection: keep-alive` when keep_alive_public and
 * the client speaks HTTP/1.0 (public_minor 0), nothing otherwise. A 101
 * response keeps its Upgrade field and gets `Connection: upgrade`; other
 * 1xx responses get no Connection field. 0, or -1 when out of memory.
 */
int wr_http_write_response(struct evbuffer *out, const wr_http_head_t *h, int keep_alive_public,
                           int public_minor);

/* The reason phrase of status ("Bad Gateway"), "Unknown" when it has none. */
const char *wr_http_status_reason(unsigned status);

/*
 * Append a complete plain-text response to out: `HTTP/1.1 status reason`,
 * Content-Type: text/plain; charset=utf-8, Content-Length, Cache-Control:
 * no-store, Connection: close when close; body "<status> <reason>\n", then
 * detail and "\n" when detail is not NULL or empty, with control bytes
 * written as \xNN. 0, or -1 when out of memory.
 */
int wr_http_error_page(struct evbuffer *out, unsigned status, const char *detail, int close);

/* The same, with nextra more header fields after Cache-Control (fields a
 * plugin set on a rejection: WWW-Authenticate, Retry-After). The caller
 * vouches for their bytes. */
int wr_http_error_page_ex(struct evbuffer *out, unsigned status, const char *detail, int close,
                          const wr_http_header_t *extra, size_t nextra);

#endif
