/*
 * wr_dash: the client's dashboard (see wr_dash.h and docs/dashboard.md).
 *
 * Long replies (the event stream, a HAR export) and replays waiting for
 * their response hold an evhttp_request across loop iterations. libevent
 * 2.1 keeps such a request alive when its client goes away (the request is
 * only detached from its connection) until the reply is ended, so long
 * replies are kept on a list, checked once a second, and ended when their
 * connection is gone; a replay ends with its response, or when the proxy
 * gives up on the service.
 *
 * Replays go through the proxy exactly as tunnel requests do: the dashboard
 * keeps a pair of mux sessions over a socketpair, opens a stream on one end
 * per replay, writes the request into it, and the other end hands the
 * stream to the tunnel's proxy (wr_proxy_serve), which captures it like any
 * other request; the capture listener recognises it by its stream.
 */
#include "wr_dash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "wr_admin.h"
#include "wr_conf.h"
#include "wr_dash_json.h"
#include "wr_http.h"
#include "wr_json.h"
#include "wr_log.h"
#include "wr_mux.h"
#include "wr_net.h"
#include "wr_papi.h"
#include "wr_version.h"

#define WR_DASH_MAX_STREAMS  32                /* event streams and HAR exports at once */
#define WR_DASH_STREAM_QUEUE (4 * 1024 * 1024) /* unsent bytes after which a reader is dropped */
#define WR_DASH_PING_TICKS   15                /* event stream comment every 15 s */
#define WR_DASH_HAR_BATCH    (256 * 1024)      /* HAR bytes produced per write */
#define WR_DASH_LIST_DEFAULT 200
#define WR_DASH_MAX_REPLAYS  16
#define WR_DASH_REPLAY_DEPTH 8
#define WR_DASH_COOKIE       "warren_dash"
#define WR_DASH_MAX_TUNNELS  64

/* The page may load only its own script and style, and be framed by no one. */
#define WR_DASH_CSP_PAGE                                                                           \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"
#define WR_DASH_CSP_API "default-src 'none'; frame-ancestors 'none'; sandbox"

enum { WR_DS_EVENTS = 1, WR_DS_HAR = 2 };

typedef struct wr_dash_stream wr_dash_stream_t;
typedef struct wr_dash_replay wr_dash_replay_t;

struct wr_dash_stream {
    wr_dash_stream_t *next;
    wr_dash_t *d;
    struct evhttp_request *req;
    int kind;
    uint64_t har_next, har_last; /* HAR: ids still to write */
    int har_count;
};

struct wr_dash_replay {
    wr_dash_replay_t *next;
    wr_dash_t *d;
    wr_mux_stream_t *s;         /* the dashboard's end */
    uint32_t sid;               /* its id, the same at the proxy's end */
    wr_proxy_t *proxy;          /* the tunnel's */
    uint64_t replay_of, new_id; /* the original, and the entry the proxy made */
    struct evhttp_request *req; /* the API request waiting for the outcome */
    struct evbuffer *sink;      /* the response, read and dropped */
    char peer[48];
};

typedef struct {
    char *name, *local, *url;
    int http;
    wr_proxy_t *proxy;
} wr_dash_tunnel_t;

struct wr_dash {
    struct event_base *base;
    wr_dash_conf_t conf;
    wr_cap_t *cap;
    unsigned char token_md[32]; /* SHA-256 of the token */
    char session[65];           /* the cookie's value: random, for this process */
    char bind_host[256];        /* a Host the page may be reached by, besides loopback */
    wr_dash_stream_t *streams;
    int nstreams;
    wr_dash_replay_t *replays;
    int nreplays;
    struct event *tick;
    unsigned ticks;
    wr_mux_t *loop_open, *loop_serve; /* replays: this end opens, that end serves */
    wr_dash_tunnel_t tunnels[WR_DASH_MAX_TUNNELS];
    size_t ntunnels;
    int state;
    char server[256], detail[256];
    uint64_t state_since_us;
    int freeing;
};

/* --- configuration ---------------------------------------------------------- */

void wr_dash_conf_default(wr_dash_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->bind = WR_DASH_DEFAULT_BIND;
    c->capture = 1;
    wr_cap_conf_default(&c->cap);
}

int wr_dash_bind_loopback(const char *bind, char *why, size_t whylen)
{
    wr_addr_t a;

    if (wr_addr_parse(bind, &a, why, whylen) != 0)
        return -1;
    if (a.ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a.ss;
        return ((const unsigned char *)&in->sin_addr)[0] == 127;
    }
    if (a.ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;
        static const unsigned char lo[16] = {[15] = 1};
        static const unsigned char v4[12] = {[10] = 0xff, [11] = 0xff};
        const unsigned char *b = in6->sin6_addr.s6_addr;
        return memcmp(b, lo, 16) == 0 || (memcmp(b, v4, 12) == 0 && b[12] == 127);
    }
    return 0;
}

const char *wr_dash_conf_check(const wr_dash_conf_t *c, char *buf, size_t len)
{
    char why[200];
    int lo;

    if (c->bind == NULL)
        return NULL;
    lo = wr_dash_bind_loopback(c->bind, why, sizeof(why));
    if (lo < 0) {
        snprintf(buf, len, "dashboard address '%s': %s", c->bind, why);
        return buf;
    }
    if (c->token != NULL && strlen(c->token) > WR_DASH_TOKEN_MAX) {
        /* ?token= is read into a buffer of this size. */
        snprintf(buf, len, "dashboard.token is longer than %d bytes", WR_DASH_TOKEN_MAX);
        return buf;
    }
    if (lo == 0 && (c->token == NULL || c->token[0] == '\0')) {
        snprintf(buf, len,
                 "the dashboard address %s is not a loopback address: a token is required "
                 "(dashboard.token, --dashboard-token or WARREN_DASHBOARD_TOKEN), since anyone "
                 "who reaches it sees every request and can replay it",
                 c->bind);
        return buf;
    }
    return NULL;
}

/* --- replies ---------------------------------------------------------------- */

/* The admin routes' fields (wr_admin_headers: type, no-store, nosniff,
 * DENY, CORP), then the dashboard's own. */
static void wr_dash_common_headers(struct evhttp_request *req, const char *type, int page)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    wr_admin_headers(req, type);
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
    evhttp_add_header(h, "Content-Security-Policy", page ? WR_DASH_CSP_PAGE : WR_DASH_CSP_API);
}

static void wr_dash_reply(struct evhttp_request *req, int code, const char *type,
                          struct evbuffer *body)
{
    wr_dash_common_headers(req, type, 0);
    evhttp_send_reply(req, code, wr_http_status_reason((unsigned)code), body);
}

static void wr_dash_json_reply(struct evhttp_request *req, int code, struct evbuffer *body)
{
    wr_dash_reply(req, code, "application/json", body);
}

/* A buffer for the body of req's reply; NULL when out of memory, req then
 * answered (500). */
static struct evbuffer *wr_dash_body_new(struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL)
        evhttp_send_error(req, 500, NULL);
    return b;
}

/* Answer req 200 with the JSON document in b, a newline after it; b is
 * freed. */
static void wr_dash_json_ok(struct evhttp_request *req, struct evbuffer *b)
{
    wr_json_lit(b, "\n");
    wr_dash_json_reply(req, 200, b);
    evbuffer_free(b);
}

static void wr_dash_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void wr_dash_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    struct evbuffer *b = evbuffer_new();
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (b != NULL) {
        wr_json_lit(b, "{\"error\":");
        wr_json_cstr(b, msg);
        wr_json_lit(b, "}\n");
    }
    wr_dash_json_reply(req, code, b);
    if (b != NULL)
        evbuffer_free(b);
}

/* --- who may ask -------------------------------------------------------------- */

static int wr_dash_token_ok(const wr_dash_t *d, const char *given, size_t len)
{
    unsigned char md[32];

    return wr_sha256_digest(given, len, md) == 0 && wr_papi_equal_ct(md, d->token_md, 32);
}

/* The value of cookie name in req's Cookie fields, into out; 0 or -1. */
static int wr_dash_cookie(struct evhttp_request *req, const char *name, char *out, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    size_t nlen = strlen(name);

    for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const char *p;
        if (strcasecmp(kv->key, "Cookie") != 0)
            continue;
        for (p = kv->value; *p != '\0';) {
            size_t n;
            while (*p == ' ' || *p == ';')
                p++;
            n = strcspn(p, ";");
            if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=' && n - nlen - 1 < len) {
                memcpy(out, p + nlen + 1, n - nlen - 1);
                out[n - nlen - 1] = '\0';
                return 0;
            }
            p += n;
        }
    }
    return -1;
}

/* The Host without its port, lower-cased, into out ("" when absent). */
static void wr_dash_host_name(const char *host, char *out, size_t len)
{
    size_t n;

    out[0] = '\0';
    if (host == NULL)
        return;
    if (host[0] == '[')
        n = strcspn(host, "]") + (strchr(host, ']') ? 1 : 0);
    else
        n = strcspn(host, ":");
    if (n >= len)
        return;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
    out[n] = '\0';
}

/* Without a token the page is only for whoever reaches it by a loopback
 * name: a page of another site whose name was made to resolve to 127.0.0.1
 * (DNS rebinding) sends its own name as Host. */
static int wr_dash_host_ok(const wr_dash_t *d, struct evhttp_request *req)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    char name[256];
    unsigned a, b, c, e;
    char tail;

    wr_dash_host_name(host, name, sizeof(name));
    if (name[0] == '\0')
        return 0;
    if (strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0 ||
        strcmp(name, d->bind_host) == 0)
        return 1;
    return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &e, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && e < 256;
}

static int wr_dash_authorized(const wr_dash_t *d, struct evhttp_request *req)
{
    const char *auth;
    char cookie[80];

    if (d->conf.token == NULL)
        return wr_dash_host_ok(d, req);
    auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
        return wr_dash_token_ok(d, auth + 7, strlen(auth + 7));
    if (wr_dash_cookie(req, WR_DASH_COOKIE, cookie, sizeof(cookie)) == 0 &&
        strlen(cookie) == strlen(d->session))
        return wr_papi_equal_ct(cookie, d->session, strlen(d->session));
    return 0;
}

/* Every path of the listener goes through here first, the dashboard's own
 * and the other routes' (wr_dash.h): 0 to go on, -1 when req has been
 * answered (refused). State-changing methods must also look like what the
 * page sends: JSON, from this origin. */
int wr_dash_allow(wr_dash_t *d, struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (!wr_dash_authorized(d, req)) {
        if (d->conf.token == NULL) {
            wr_dash_error(req, 403,
                          "this dashboard answers only to a loopback host name (localhost, "
                          "127.0.0.1, [::1]); Host was '%s'",
                          evhttp_find_header(h, "Host") ? evhttp_find_header(h, "Host") : "");
            return -1;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"warren dashboard\"");
        wr_dash_error(req, 401,
                      "this dashboard needs its token: Authorization: Bearer TOKEN, or open "
                      "/?token=TOKEN once in the browser");
        return -1;
    }
    if (cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_DELETE) {
        const char *type = evhttp_find_header(h, "Content-Type");
        const char *origin = evhttp_find_header(h, "Origin");
        const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
        const char *host = evhttp_find_header(h, "Host");
        size_t tlen = type ? strcspn(type, "; ") : 0;

        if (type == NULL || tlen != 16 || strncasecmp(type, "application/json", 16) != 0) {
            wr_dash_error(req, 415, "%s needs Content-Type: application/json",
                          cmd == EVHTTP_REQ_POST ? "POST" : "DELETE");
            return -1;
        }
        if (origin != NULL &&
            (host == NULL || strncmp(origin, "http://", 7) != 0 || strcmp(origin + 7, host) != 0)) {
            wr_dash_error(req, 403, "cross-origin request refused: Origin %s is not http://%s",
                          origin, host ? host : "(no Host)");
            return -1;
        }
        if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
            wr_dash_error(req, 403, "cross-site request refused (Sec-Fetch-Site: %s)", site);
            return -1;
        }
    }
    return 0;
}

static int wr_dash_method(struct evhttp_request *req, int allowed, const char *allow)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (cmd == EVHTTP_REQ_HEAD && (allowed & EVHTTP_REQ_GET))
        return 0;
    if ((int)cmd & allowed)
        return 0;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    wr_dash_error(req, 405, "method not allowed here (allowed: %s)", allow);
    return -1;
}

/* A query parameter (decoded), copied into out; 0, or -1 when absent. */
static int wr_dash_param(struct evhttp_request *req, const char *name, char *out, size_t len)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq kv;
    const char *v;
    int rc = -1;

    if (q == NULL)
        return -1;
    TAILQ_INIT(&kv);
    if (evhttp_parse_query_str(q, &kv) == 0 && (v = evhttp_find_header(&kv, name)) != NULL) {
        snprintf(out, len, "%s", v);
        rc = 0;
    }
    evhttp_clear_headers(&kv);
    return rc;
}

/* --- the page --------------------------------------------------------------- */

static void wr_dash_page(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char token[WR_DASH_TOKEN_MAX + 2]; /* one more: a longer one is wrong */
    struct evbuffer *b;

    if (wr_dash_method(req, EVHTTP_REQ_GET, "GET, HEAD") != 0)
        return;
    if (path == NULL || strcmp(path, "/index.html") == 0)
        path = "/";
    if (d->conf.token != NULL && strcmp(path, "/") == 0 &&
        wr_dash_param(req, "token", token, sizeof(token)) == 0) {
        /* The token once in the URL; a cookie for this process after it,
         * and the URL without it. */
        char cookie[160];
        if (!wr_dash_token_ok(d, token, strlen(token))) {
            wr_dash_error(req, 401, "wrong token");
            return;
        }
        snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict", WR_DASH_COOKIE,
                 d->session);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/");
        wr_dash_reply(req, 303, "text/plain; charset=utf-8", NULL);
        return;
    }
    if (wr_dash_allow(d, req) != 0)
        return;
    for (size_t i = 0; i < wr_dash_nassets; i++) {
        const wr_dash_asset_t *a = &wr_dash_assets[i];
        if (strcmp(a->path, path) != 0)
            continue;
        if ((b = wr_dash_body_new(req)) == NULL)
            return;
        evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
        wr_dash_common_headers(req, a->type, 1);
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        return;
    }
    wr_dash_error(req, 404, "no such page");
}

/* --- the request list --------------------------------------------------------- */

static int wr_dash_status_class(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    if (strcasecmp(s, "error") == 0)
        return 6;
    if (s[0] >= '1' && s[0] <= '5' && (s[1] == '\0' || strcasecmp(s + 1, "xx") == 0))
        return s[0] - '0';
    return -1;
}

static void wr_dash_capture_json(wr_dash_t *d, struct evbuffer *b)
{
    wr_cap_stats_t st;
    const wr_cap_conf_t *cc = wr_cap_conf(d->cap);

    wr_cap_stats(d->cap, &st);
    evbuffer_add_printf(b,
                        "{\"enabled\":%s,\"entries\":%llu,\"bytes\":%llu,\"captured\":%llu,"
                        "\"dropped\":%llu,\"truncated\":%llu,\"last_id\":%llu,"
                        "\"max_entries\":%llu,\"max_body\":%llu,\"max_total\":%llu}",
                        wr_cap_enabled(d->cap) ? "true" : "false", (unsigned long long)st.entries,
                        (unsigned long long)st.bytes, (unsigned long long)st.captured,
                        (unsigned long long)st.dropped, (unsigned long long)st.truncated,
                        (unsigned long long)st.last_id, (unsigned long long)cc->max_entries,
                        (unsigned long long)cc->max_body, (unsigned long long)cc->max_total);
}

static void wr_dash_list(wr_dash_t *d, struct evhttp_request *req)
{
    char q[256] = "", status[16] = "", num[32];
    int64_t since = 0, limit = WR_DASH_LIST_DEFAULT;
    int cls, n = 0;
    struct evbuffer *b;

    wr_dash_param(req, "q", q, sizeof(q));
    wr_dash_param(req, "status", status, sizeof(status));
    cls = wr_dash_status_class(status);
    if (cls < 0) {
        wr_dash_error(req, 400, "status expects 1xx, 2xx, 3xx, 4xx, 5xx or error");
        return;
    }
    if (wr_dash_param(req, "since", num, sizeof(num)) == 0 &&
        (wr_parse_int64(num, &since) != 0 || since < 0)) {
        wr_dash_error(req, 400, "since expects a request id (0 or more)");
        return;
    }
    if (wr_dash_param(req, "limit", num, sizeof(num)) == 0 &&
        (wr_parse_int64(num, &limit) != 0 || limit < 1 || limit > 100000)) {
        wr_dash_error(req, 400, "limit expects 1 to 100000");
        return;
    }
    if ((b = wr_dash_body_new(req)) == NULL)
        return;
    wr_json_lit(b, "{\"capture\":");
    wr_dash_capture_json(d, b);
    wr_json_lit(b, ",\"requests\":[");
    for (wr_cap_entry_t *e = wr_cap_newest(d->cap); e != NULL && n < limit; e = wr_cap_older(e)) {
        if (e->id <= (uint64_t)since)
            break;
        if (!wr_dash_json_match(e, q, cls))
            continue;
        if (n++ > 0)
            wr_json_lit(b, ",");
        wr_dash_json_summary(b, e);
    }
    wr_json_lit(b, "]}");
    wr_dash_json_ok(req, b);
}

static void wr_dash_requests(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;

    if (wr_dash_method(req, EVHTTP_REQ_GET | EVHTTP_REQ_DELETE, "GET, HEAD, DELETE") != 0 ||
        wr_dash_allow(d, req) != 0)
        return;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE) {
        struct evbuffer *b;
        wr_cap_clear(d->cap);
        if ((b = wr_dash_body_new(req)) == NULL)
            return;
        wr_json_lit(b, "{\"cleared\":true,\"capture\":");
        wr_dash_capture_json(d, b);
        wr_json_lit(b, "}");
        wr_dash_json_ok(req, b);
        return;
    }
    wr_dash_list(d, req);
}

static void wr_dash_detail(wr_dash_t *d, struct evhttp_request *req, wr_cap_entry_t *e)
{
    struct evbuffer *b = wr_dash_body_new(req);

    if (b == NULL)
        return;
    wr_dash_json_detail(b, e);
    wr_dash_json_ok(req, b);
}

/* A body as it was captured, as a download: never with its own type, which
 * could make the browser run it as a page of this origin. */
static void wr_dash_body(wr_dash_t *d, struct evhttp_request *req, wr_cap_entry_t *e, int dir)
{
    const wr_cap_body_t *body = &e->body[dir];
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = wr_dash_body_new(req);
    char v[160];

    if (b == NULL)
        return;
    evbuffer_add(b, body->data, body->len);
    snprintf(v, sizeof(v), "attachment; filename=\"warren-%llu-%s.bin\"", (unsigned long long)e->id,
             dir == WR_CAP_REQ ? "request" : "response");
    evhttp_add_header(h, "Content-Disposition", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)body->size);
    evhttp_add_header(h, "X-Warren-Body-Size", v);
    evhttp_add_header(h, "X-Warren-Body-Truncated", body->truncated ? "true" : "false");
    wr_dash_reply(req, 200, "application/octet-stream", b);
    evbuffer_free(b);
}

/* --- tunnels ------------------------------------------------------------------ */

static void wr_dash_tunnels_json(wr_dash_t *d, struct evbuffer *b)
{
    static const char *const states[] = {"connecting", "connected", "disconnected"};
    char since[40];

    wr_json_time_text(since, sizeof(since), d->state_since_us);
    evbuffer_add_printf(
        b, "{\"session\":{\"state\":\"%s\",\"since\":\"%s\",\"server\":", states[d->state], since);
    wr_json_cstr(b, d->server);
    wr_json_lit(b, ",\"detail\":");
    wr_json_cstr(b, d->detail[0] ? d->detail : NULL);
    wr_json_lit(b, "},\"tunnels\":[");
    for (size_t i = 0; i < d->ntunnels; i++) {
        const wr_dash_tunnel_t *t = &d->tunnels[i];
        wr_json_cstr_raw(b, i ? ",{\"name\":" : "{\"name\":");
        wr_json_cstr(b, t->name);
        evbuffer_add_printf(b, ",\"type\":\"%s\",\"local\":", t->http ? "http" : "tcp");
        wr_json_cstr(b, t->local);
        wr_json_lit(b, ",\"public_url\":");
        wr_json_cstr(b, t->url);
        evbuffer_add_printf(b, ",\"state\":\"%s\"}",
                            d->state == WR_DASH_CONNECTED && t->url ? "online" : "offline");
    }
    wr_json_lit(b, "]}");
}

static void wr_dash_tunnels(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;
    struct evbuffer *b;

    if (wr_dash_method(req, EVHTTP_REQ_GET, "GET, HEAD") != 0 || wr_dash_allow(d, req) != 0 ||
        (b = wr_dash_body_new(req)) == NULL)
        return;
    wr_dash_tunnels_json(d, b);
    wr_dash_json_ok(req, b);
}

/* --- long replies: events and HAR ------------------------------------------------ */

static void wr_dash_stream_unlink(wr_dash_stream_t *st)
{
    wr_dash_t *d = st->d;

    for (wr_dash_stream_t **pp = &d->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            d->nstreams--;
            return;
        }
    }
}

/* End the reply (or free the request when its client is gone) and forget it. */
static void wr_dash_stream_end(wr_dash_stream_t *st)
{
    wr_log_debug("dashboard: %s reply ended%s", st->kind == WR_DS_EVENTS ? "event stream" : "HAR",
                 evhttp_request_get_connection(st->req) ? "" : " (its client went away)");
    wr_dash_stream_unlink(st);
    evhttp_send_reply_end(st->req);
    free(st);
}

/* Drop a reader that does not read: its connection goes, with its request. */
static void wr_dash_stream_drop(wr_dash_stream_t *st, struct evhttp_connection *evcon)
{
    wr_log_info("dashboard: a %s reader stopped reading; dropped",
                st->kind == WR_DS_EVENTS ? "event stream" : "HAR");
    wr_dash_stream_unlink(st);
    evhttp_connection_free(evcon);
    free(st);
}

static size_t wr_dash_stream_queued(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);

    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* Send text (len bytes) as a chunk of every event stream. */
static void wr_dash_events_send(wr_dash_t *d, const char *text, size_t len)
{
    wr_dash_stream_t *st = d->streams, *next;

    for (; st != NULL; st = next) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(st->req);
        struct evbuffer *b;
        next = st->next;
        if (st->kind != WR_DS_EVENTS || evcon == NULL)
            continue; /* gone: the tick ends it */
        if (wr_dash_stream_queued(evcon) > WR_DASH_STREAM_QUEUE) {
            wr_dash_stream_drop(st, evcon);
            continue;
        }
        if ((b = evbuffer_new()) == NULL)
            continue;
        evbuffer_add(b, text, len);
        evhttp_send_reply_chunk(st->req, b);
        evbuffer_free(b);
    }
}

/* "event: NAME\ndata: JSON\n\n" to every event stream. */
static void wr_dash_events_emit(wr_dash_t *d, const char *name, struct evbuffer *json)
{
    struct evbuffer *b;

    if (d->streams == NULL || (b = evbuffer_new()) == NULL)
        return;
    evbuffer_add_printf(b, "event: %s\ndata: ", name);
    evbuffer_add_buffer(b, json);
    wr_json_lit(b, "\n\n");
    wr_dash_events_send(d, (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
    evbuffer_free(b);
}

static int wr_dash_streams_has_events(const wr_dash_t *d)
{
    for (const wr_dash_stream_t *st = d->streams; st != NULL; st = st->next) {
        if (st->kind == WR_DS_EVENTS)
            return 1;
    }
    return 0;
}

static void wr_dash_emit_tunnels(wr_dash_t *d)
{
    struct evbuffer *b;

    if (!wr_dash_streams_has_events(d) || (b = evbuffer_new()) == NULL)
        return;
    wr_dash_tunnels_json(d, b);
    wr_dash_events_emit(d, "tunnels", b);
    evbuffer_free(b);
}

static wr_dash_stream_t *wr_dash_stream_new(wr_dash_t *d, struct evhttp_request *req, int kind)
{
    wr_dash_stream_t *st;

    if (d->nstreams >= WR_DASH_MAX_STREAMS) {
        wr_dash_error(req, 503, "too many event streams and exports open (%d)",
                      WR_DASH_MAX_STREAMS);
        return NULL;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        evhttp_send_error(req, 500, NULL);
        return NULL;
    }
    st->d = d;
    st->req = req;
    st->kind = kind;
    st->next = d->streams;
    d->streams = st;
    d->nstreams++;
    return st;
}

static void wr_dash_events(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;
    wr_dash_stream_t *st;
    struct evbuffer *b;
    wr_cap_stats_t cs;

    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* A stream that would never carry anything: not one of the slots. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        wr_dash_error(req, 405, "method not allowed here (allowed: GET)");
        return;
    }
    if (wr_dash_method(req, EVHTTP_REQ_GET, "GET") != 0 || wr_dash_allow(d, req) != 0)
        return;
    if ((st = wr_dash_stream_new(d, req, WR_DS_EVENTS)) == NULL)
        return;
    wr_dash_common_headers(req, "text/event-stream", 0);
    evhttp_send_reply_start(req, 200, "OK");
    if ((b = evbuffer_new()) == NULL)
        return;
    /* Where the stream starts: the client lists what came before with
     * GET /api/requests and takes the rest from here. */
    wr_cap_stats(d->cap, &cs);
    evbuffer_add_printf(b, "retry: 2000\nevent: hello\ndata: {\"last_id\":%llu,\"capture\":",
                        (unsigned long long)cs.last_id);
    wr_dash_capture_json(d, b);
    wr_json_lit(b, ",\"tunnels\":");
    wr_dash_tunnels_json(d, b);
    wr_json_lit(b, "}\n\n");
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
}

static void wr_dash_har_next(struct evhttp_connection *evcon, void *arg);

/* Write HAR entries from st->har_next on, until a batch is full; then the
 * rest when that batch has been sent (bounded memory, whatever the size of
 * the store). */
static void wr_dash_har_batch(wr_dash_stream_t *st)
{
    wr_dash_t *d = st->d;
    struct evbuffer *b = evbuffer_new();
    wr_cap_entry_t *e;

    if (b == NULL) {
        wr_dash_stream_end(st);
        return;
    }
    /* the oldest entry not yet written */
    for (e = wr_cap_oldest(d->cap); e != NULL && e->id < st->har_next; e = wr_cap_newer(e))
        ;
    for (; e != NULL && e->id <= st->har_last && evbuffer_get_length(b) < WR_DASH_HAR_BATCH;
         e = wr_cap_newer(e)) {
        if (st->har_count++ > 0)
            wr_json_lit(b, ",");
        wr_dash_json_har_entry(b, e);
        st->har_next = e->id + 1;
    }
    if (e == NULL || e->id > st->har_last) {
        wr_json_lit(b, "]}}\n");
        evhttp_send_reply_chunk(st->req, b);
        evbuffer_free(b);
        wr_dash_stream_end(st);
        return;
    }
    evhttp_send_reply_chunk_with_cb(st->req, b, wr_dash_har_next, st);
    evbuffer_free(b);
}

static void wr_dash_har_next(struct evhttp_connection *evcon, void *arg)
{
    wr_dash_har_batch(arg);
}

static void wr_dash_har(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;
    wr_dash_stream_t *st;
    struct evbuffer *b;
    wr_cap_stats_t cs;

    if (wr_dash_method(req, EVHTTP_REQ_GET, "GET, HEAD") != 0 || wr_dash_allow(d, req) != 0)
        return;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        wr_dash_reply(req, 200, "application/json", NULL);
        return;
    }
    if ((st = wr_dash_stream_new(d, req, WR_DS_HAR)) == NULL)
        return;
    wr_cap_stats(d->cap, &cs);
    st->har_next = 0;
    st->har_last = cs.last_id; /* what is there now; later requests are not in */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition",
                      "attachment; filename=\"warren.har\"");
    wr_dash_common_headers(req, "application/json", 0);
    evhttp_send_reply_start(req, 200, "OK");
    if ((b = evbuffer_new()) == NULL) {
        wr_dash_stream_end(st);
        return;
    }
    evbuffer_add_printf(b,
                        "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"warren\","
                        "\"version\":\"%s\"},\"pages\":[],\"entries\":[",
                        WR_VERSION);
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
    wr_dash_har_batch(st);
}

/* Once a second: end the replies whose clients went away; keep idle event
 * streams alive (and find dead ones) with a comment line now and then. */
static void wr_dash_on_tick(evutil_socket_t fd, short what, void *arg)
{
    wr_dash_t *d = arg;
    wr_dash_stream_t *st, *next;
    int ping = ++d->ticks % WR_DASH_PING_TICKS == 0;

    for (st = d->streams; st != NULL; st = next) {
        next = st->next;
        if (evhttp_request_get_connection(st->req) == NULL)
            wr_dash_stream_end(st);
    }
    if (ping)
        wr_dash_events_send(d, ": ping\n\n", 8);
}

/* --- capture events ------------------------------------------------------------- */

static void wr_dash_on_capture(void *arg, wr_cap_entry_t *e, int what)
{
    wr_dash_t *d = arg;
    struct evbuffer *b;

    if (what == WR_CAP_EV_NEW && d->replays != NULL && d->loop_serve != NULL) {
        /* origin is the live stream the request came on. */
        const wr_mux_stream_t *s = e->origin;
        for (wr_dash_replay_t *rp = d->replays; s != NULL && rp != NULL; rp = rp->next) {
            if (rp->new_id == 0 && wr_mux_stream_session(s) == d->loop_serve &&
                wr_mux_stream_id(s) == rp->sid) {
                rp->new_id = e->id;
                e->replay_of = rp->replay_of;
            }
        }
    }
    if (!wr_dash_streams_has_events(d) || (b = evbuffer_new()) == NULL)
        return;
    if (what == WR_CAP_EV_CLEAR)
        wr_json_lit(b, "{}");
    else
        wr_dash_json_summary(b, e);
    wr_dash_events_emit(d, what == WR_CAP_EV_CLEAR ? "clear" : "request", b);
    evbuffer_free(b);
}

/* --- replays ---------------------------------------------------------------------- */

static void wr_dash_replay_finish(wr_dash_replay_t *rp, const char *why)
{
    wr_dash_t *d = rp->d;
    wr_cap_entry_t *e = rp->new_id ? wr_cap_find(d->cap, rp->new_id) : NULL;

    for (wr_dash_replay_t **pp = &d->replays; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == rp) {
            *pp = rp->next;
            d->nreplays--;
            break;
        }
    }
    if (rp->s != NULL)
        wr_mux_stream_close(rp->s);
    if (rp->req != NULL) {
        struct evbuffer *b = evbuffer_new();
        if (rp->new_id != 0 && b != NULL) {
            /* the entry may have been dropped already: then only its id */
            evbuffer_add_printf(b, "{\"id\":%llu,\"replay_of\":%llu,\"request\":",
                                (unsigned long long)rp->new_id, (unsigned long long)rp->replay_of);
            if (e != NULL)
                wr_dash_json_summary(b, e);
            else
                wr_json_lit(b, "null");
            wr_json_lit(b, "}\n");
            wr_dash_json_reply(rp->req, 200, b);
        } else {
            wr_dash_error(rp->req, d->freeing ? 503 : 502,
                          "the replay did not reach the local service (%s)", why);
        }
        if (b != NULL)
            evbuffer_free(b);
    }
    evbuffer_free(rp->sink);
    free(rp);
}

static void wr_dash_replay_read(wr_mux_stream_t *s, void *arg)
{
    wr_dash_replay_t *rp = arg;

    /* The response was captured on the way: here it is only read. */
    wr_mux_stream_read(s, rp->sink, SIZE_MAX);
    evbuffer_drain(rp->sink, evbuffer_get_length(rp->sink));
    if (wr_mux_stream_eof(s))
        wr_dash_replay_finish(rp, "done");
}

static void wr_dash_replay_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_dash_replay_finish(arg, "the proxy reset the request");
}

static wr_dash_replay_t *wr_dash_replay_by_sid(wr_dash_t *d, uint32_t sid)
{
    for (wr_dash_replay_t *rp = d->replays; rp != NULL; rp = rp->next) {
        if (rp->sid == sid)
            return rp;
    }
    return NULL;
}

/* The serving end: a replay's stream, handed to its tunnel's proxy. */
static int wr_dash_loop_accept(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    wr_dash_t *d = arg;
    wr_dash_replay_t *rp = wr_dash_replay_by_sid(d, wr_mux_stream_id(s));
    struct evbuffer *pre;

    if (rp == NULL || (pre = evbuffer_new()) == NULL)
        return -1;
    wr_proxy_serve(rp->proxy, s, pre, rp->peer);
    evbuffer_free(pre);
    return 0;
}

static void wr_dash_loop_free(wr_dash_t *d)
{
    wr_mux_t *a = d->loop_open, *b = d->loop_serve;

    d->loop_open = d->loop_serve = NULL;
    /* Held streams hear of it first: replays finish, the proxy lets go. */
    if (b != NULL)
        wr_mux_free(b);
    if (a != NULL)
        wr_mux_free(a);
}

static void wr_dash_loop_closed(wr_mux_t *m, const char *reason, void *arg)
{
    wr_dash_t *d = arg;

    wr_log_warn("dashboard: the replay loop closed: %s", reason);
    wr_dash_loop_free(d);
}

static int wr_dash_loop_start(wr_dash_t *d)
{
    wr_mux_callbacks_t serve_cbs = {.accept = wr_dash_loop_accept, .closed = wr_dash_loop_closed};
    wr_mux_callbacks_t open_cbs = {.closed = wr_dash_loop_closed};
    wr_mux_config_t mc;
    struct bufferevent *ba = NULL, *bb = NULL;
    int fds[2];

    if (d->loop_open != NULL)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        return -1;
    ba = bufferevent_socket_new(d->base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bb = bufferevent_socket_new(d->base, fds[1], BEV_OPT_CLOSE_ON_FREE);
    if (ba == NULL || bb == NULL) {
        if (ba != NULL)
            bufferevent_free(ba);
        else
            close(fds[0]);
        if (bb != NULL)
            bufferevent_free(bb);
        else
            close(fds[1]);
        return -1;
    }
    wr_mux_config_default(&mc);
    mc.ping_interval_ms = 0; /* in-process: no peer to lose */
    mc.is_server = 0;
    d->loop_open = wr_mux_new(d->base, ba, &mc, &open_cbs, d);
    mc.is_server = 1;
    d->loop_serve = wr_mux_new(d->base, bb, &mc, &serve_cbs, d);
    if (d->loop_open == NULL || d->loop_serve == NULL) {
        wr_dash_loop_free(d);
        return -1;
    }
    return 0;
}

/* Header field i of the replay into f: from the edits' list jh when there
 * is one, else as captured (which the proxy's parser has checked already).
 * 0, or an HTTP status with why set. */
static int wr_dash_replay_field(const wr_cap_entry_t *e, const wr_json_t *jh, size_t i,
                                wr_http_header_t *f, char *why, size_t whylen)
{
    const wr_json_t *pair;

    if (jh == NULL) {
        f->name = e->req_hdrs[i].name;
        f->name_len = e->req_hdrs[i].name_len;
        f->value = e->req_hdrs[i].value;
        f->value_len = e->req_hdrs[i].value_len;
        return 0;
    }
    pair = wr_json_at(jh, i);
    f->name = wr_json_string(wr_json_at(pair, 0), &f->name_len);
    f->value = wr_json_string(wr_json_at(pair, 1), &f->value_len);
    if (wr_json_len(pair) != 2 || f->name == NULL || f->value == NULL) {
        snprintf(why, whylen, "headers[%zu] expects [name, value], two strings", i);
        return 400;
    }
    if (f->name_len == 0 || wr_http_token_span(f->name, f->name_len) != f->name_len ||
        wr_http_value_span(f->value, f->value_len) != f->value_len) {
        snprintf(why, whylen, "headers[%zu]: a name is a token, a value has no control byte", i);
        return 400;
    }
    return 0;
}

/* Build the request to replay into out: e as captured, with the edits of
 * the JSON object j (NULL: none). 0, or an HTTP status with *why set. */
static int wr_dash_replay_build(const wr_cap_entry_t *e, const wr_json_t *j, struct evbuffer *out,
                                char *why, size_t whylen)
{
    const wr_json_t *jm = wr_json_get(j, "method"), *jp = wr_json_get(j, "path");
    const wr_json_t *jh = wr_json_get(j, "headers"), *jb = wr_json_get(j, "body");
    const wr_json_t *jb64 = wr_json_get(j, "body_base64");
    const char *method = e->method, *path = e->target;
    size_t mlen = strlen(method), plen = strlen(path), nfields;
    const unsigned char *body = e->body[WR_CAP_REQ].data;
    size_t blen = e->body[WR_CAP_REQ].len;
    unsigned char *decoded = NULL;
    wr_http_head_t h = {.is_request = 1, .method = -1, .major = 1, .minor = 1};
    char clen[24];
    int has_host = 0, rc = 0;

    if (jm != NULL && (method = wr_json_string(jm, &mlen)) == NULL) {
        snprintf(why, whylen, "method expects a string");
        return 400;
    }
    if (mlen == 0 || wr_http_token_span(method, mlen) != mlen) {
        snprintf(why, whylen, "method expects a token such as GET or POST");
        return 400;
    }
    if (strcasecmp(method, "CONNECT") == 0) {
        snprintf(why, whylen, "a CONNECT request cannot be replayed");
        return 409;
    }
    if (jp != NULL && (path = wr_json_string(jp, &plen)) == NULL) {
        snprintf(why, whylen, "path expects a string");
        return 400;
    }
    if (plen == 0 || (path[0] != '/' && strcmp(path, "*") != 0) ||
        strcspn(path, " \t\r\n") != plen || wr_http_value_span(path, plen) != plen) {
        snprintf(why, whylen, "path expects /PATH[?QUERY] with no space or control byte");
        return 400;
    }
    if (jh != NULL && wr_json_kind(jh) != WR_JSON_ARRAY) {
        snprintf(why, whylen, "headers expects a list of [name, value] pairs");
        return 400;
    }
    if (jb != NULL && jb64 != NULL) {
        snprintf(why, whylen, "give body or body_base64, not both");
        return 400;
    }
    if (jb != NULL) {
        if ((body = (const unsigned char *)wr_json_string(jb, &blen)) == NULL) {
            snprintf(why, whylen, "body expects a string");
            return 400;
        }
    } else if (jb64 != NULL) {
        size_t tlen;
        const char *text = wr_json_string(jb64, &tlen);
        long n;
        if (text == NULL || (decoded = malloc(3 * (tlen / 4) + 3)) == NULL ||
            (n = wr_base64_decode(decoded, text, tlen)) < 0) {
            free(decoded);
            snprintf(why, whylen, "body_base64 expects base64 text");
            return 400;
        }
        body = decoded;
        blen = (size_t)n;
    } else if (e->state == WR_CAP_LIVE) {
        snprintf(why, whylen,
                 "the request is still in flight: its body may not have all come yet; wait "
                 "for it to end, or give a body to send");
        return 409;
    } else if (e->body[WR_CAP_REQ].truncated) {
        snprintf(why, whylen,
                 "the request body was captured only in part (%zu of %llu bytes): replaying it "
                 "would send another request; give a body to send",
                 e->body[WR_CAP_REQ].len, (unsigned long long)e->body[WR_CAP_REQ].size);
        return 409;
    }
    /* The fields as captured or edited, then Host and Content-Length. */
    nfields = jh != NULL ? wr_json_len(jh) : e->nreq_hdrs;
    if ((h.headers = calloc(nfields + 2, sizeof(*h.headers))) == NULL) {
        snprintf(why, whylen, "out of memory");
        rc = 500;
        goto done;
    }
    for (size_t i = 0; i < nfields; i++) {
        wr_http_header_t *f = &h.headers[h.nheaders];
        if ((rc = wr_dash_replay_field(e, jh, i, f, why, whylen)) != 0)
            goto done;
        if (strcasecmp(f->name, "upgrade") == 0) {
            snprintf(why, whylen, "an Upgrade (WebSocket) request cannot be replayed");
            rc = 409;
            goto done;
        }
        /* Framing is recomputed for the body sent: never from the original
         * or the edit. */
        if (strcasecmp(f->name, "content-length") == 0 ||
            strcasecmp(f->name, "transfer-encoding") == 0)
            continue;
        has_host |= strcasecmp(f->name, "host") == 0;
        h.nheaders++;
    }
    if (!has_host && e->host[0] != '\0')
        h.headers[h.nheaders++] = (wr_http_header_t){
            .name = "Host", .name_len = 4, .value = e->host, .value_len = strlen(e->host)};
    if (blen > 0 || e->body[WR_CAP_REQ].size > 0 || jb != NULL || jb64 != NULL) {
        snprintf(clen, sizeof(clen), "%zu", blen);
        h.headers[h.nheaders++] = (wr_http_header_t){
            .name = "Content-Length", .name_len = 14, .value = clen, .value_len = strlen(clen)};
    }
    h.method_name = method;
    h.url = path;
    h.url_len = plen;
    if (wr_http_write_request(out, &h, NULL) != 0 ||
        (blen > 0 && evbuffer_add(out, body, blen) != 0)) {
        snprintf(why, whylen, "out of memory");
        rc = 500;
    }
done:
    free(h.headers);
    free(decoded);
    return rc;
}

static wr_proxy_t *wr_dash_proxy_of(wr_dash_t *d, const char *tunnel)
{
    for (size_t i = 0; i < d->ntunnels; i++) {
        if (strcmp(d->tunnels[i].name, tunnel) == 0)
            return d->tunnels[i].proxy;
    }
    return NULL;
}

static void wr_dash_replay(wr_dash_t *d, struct evhttp_request *req, wr_cap_entry_t *e)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    wr_json_t *j = NULL;
    wr_dash_replay_t *rp = NULL;
    struct evbuffer *raw = NULL;
    wr_proxy_t *proxy = wr_dash_proxy_of(d, e->tunnel);
    char why[300];
    int rc;

    if (proxy == NULL) {
        wr_dash_error(req, 409, "tunnel '%s' is not an HTTP tunnel of this client", e->tunnel);
        return;
    }
    if (d->nreplays >= WR_DASH_MAX_REPLAYS) {
        wr_dash_error(req, 503, "%d replays are waiting already", WR_DASH_MAX_REPLAYS);
        return;
    }
    if (len > 0) {
        j = wr_json_parse((const char *)evbuffer_pullup(in, -1), len, WR_DASH_REPLAY_DEPTH, why,
                          sizeof(why));
        if (j == NULL || wr_json_kind(j) != WR_JSON_OBJECT) {
            wr_dash_error(req, 400, "the body must be a JSON object: %s",
                          j == NULL ? why : "got another kind of value");
            wr_json_free(j);
            return;
        }
    }
    raw = evbuffer_new();
    rp = calloc(1, sizeof(*rp));
    if (raw == NULL || rp == NULL || (rp->sink = evbuffer_new()) == NULL) {
        evhttp_send_error(req, 500, NULL);
        goto failed;
    }
    rc = wr_dash_replay_build(e, j, raw, why, sizeof(why));
    if (rc != 0) {
        wr_dash_error(req, rc, "%s", why);
        goto failed;
    }
    if (wr_dash_loop_start(d) != 0 ||
        (rp->s = wr_mux_stream_open(d->loop_open, WR_PRIO_NORMAL)) == NULL) {
        wr_dash_error(req, 500, "cannot open the replay path: %s", strerror(errno));
        goto failed;
    }
    rp->d = d;
    rp->sid = wr_mux_stream_id(rp->s);
    rp->proxy = proxy;
    rp->replay_of = e->id;
    rp->req = req;
    snprintf(rp->peer, sizeof(rp->peer), "dashboard replay of #%llu", (unsigned long long)e->id);
    rp->next = d->replays;
    d->replays = rp;
    d->nreplays++;
    wr_mux_stream_setcb(rp->s, wr_dash_replay_read, NULL, wr_dash_replay_event, rp);
    wr_mux_stream_write_buffer(rp->s, raw);
    evbuffer_free(raw);
    wr_json_free(j);
    return;

failed:
    if (rp != NULL && rp->sink != NULL)
        evbuffer_free(rp->sink);
    free(rp);
    if (raw != NULL)
        evbuffer_free(raw);
    wr_json_free(j);
}

/* --- /api/requests/ID[/...] ---------------------------------------------------------- */

int wr_dash_handle(wr_dash_t *d, struct evhttp_request *req)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    static const char prefix[] = "/api/requests/";
    const char *rest;
    uint64_t id = 0;
    wr_cap_entry_t *e;

    if (path == NULL || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    rest = path + sizeof(prefix) - 1;
    if (*rest < '0' || *rest > '9')
        return 0;
    for (; *rest >= '0' && *rest <= '9'; rest++) {
        if (id > UINT64_MAX / 10 - 1)
            return 0;
        id = id * 10 + (uint64_t)(*rest - '0');
    }
    if (*rest != '\0' && strcmp(rest, "/replay") != 0 && strcmp(rest, "/request/body") != 0 &&
        strcmp(rest, "/response/body") != 0)
        return 0;
    if (strcmp(rest, "/replay") == 0) {
        if (wr_dash_method(req, EVHTTP_REQ_POST, "POST") != 0)
            return 1;
    } else if (wr_dash_method(req, EVHTTP_REQ_GET, "GET, HEAD") != 0) {
        return 1;
    }
    if (wr_dash_allow(d, req) != 0)
        return 1;
    e = wr_cap_find(d->cap, id);
    if (e == NULL) {
        wr_dash_error(req, 404, "request %llu is not in the capture (dropped, or never was)",
                      (unsigned long long)id);
        return 1;
    }
    if (*rest == '\0')
        wr_dash_detail(d, req, e);
    else if (strcmp(rest, "/replay") == 0)
        wr_dash_replay(d, req, e);
    else
        wr_dash_body(d, req, e, strcmp(rest, "/request/body") == 0 ? WR_CAP_REQ : WR_CAP_RESP);
    return 1;
}

static void wr_dash_generic(struct evhttp_request *req, void *arg)
{
    wr_dash_t *d = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (wr_dash_handle(d, req))
        return;
    if (wr_dash_allow(d, req) != 0)
        return;
    wr_dash_error(req, 404, "no such %s: %s",
                  path && strncmp(path, "/api/", 5) == 0 ? "API path" : "page", path ? path : "?");
}

int wr_dash_routes(struct evhttp *http, wr_dash_t *d)
{
    static const char *const pages[] = {"/", "/index.html"};
    int rc = 0;

    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        rc |= evhttp_set_cb(http, pages[i], wr_dash_page, d);
    for (size_t i = 0; i < wr_dash_nassets; i++) {
        if (strcmp(wr_dash_assets[i].path, "/") != 0)
            rc |= evhttp_set_cb(http, wr_dash_assets[i].path, wr_dash_page, d);
    }
    rc |= evhttp_set_cb(http, "/api/requests", wr_dash_requests, d);
    rc |= evhttp_set_cb(http, "/api/tunnels", wr_dash_tunnels, d);
    rc |= evhttp_set_cb(http, "/api/events", wr_dash_events, d);
    rc |= evhttp_set_cb(http, "/api/har", wr_dash_har, d);
    evhttp_set_gencb(http, wr_dash_generic, d);
    return rc == 0 ? 0 : -1;
}

/* --- life ------------------------------------------------------------------------- */

wr_dash_t *wr_dash_new(struct event_base *base, const wr_dash_conf_t *conf)
{
    wr_dash_t *d = calloc(1, sizeof(*d));
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[32];
    struct timeval sec = {1, 0};

    if (d == NULL)
        return NULL;
    d->base = base;
    d->conf = *conf;
    if (d->conf.token != NULL && d->conf.token[0] == '\0')
        d->conf.token = NULL;
    if (d->conf.token != NULL &&
        wr_sha256_digest(d->conf.token, strlen(d->conf.token), d->token_md) != 0) {
        free(d);
        return NULL;
    }
    arc4random_buf(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++) {
        d->session[2 * i] = hex[rnd[i] >> 4];
        d->session[2 * i + 1] = hex[rnd[i] & 15];
    }
    if (conf->bind != NULL) {
        char host[256];
        const char *colon = strrchr(conf->bind, ':');
        snprintf(host, sizeof(host), "%.*s",
                 (int)(colon ? colon - conf->bind : (long)strlen(conf->bind)), conf->bind);
        wr_dash_host_name(host, d->bind_host, sizeof(d->bind_host));
    }
    d->cap = wr_cap_new(&conf->cap);
    d->tick = event_new(base, -1, EV_PERSIST, wr_dash_on_tick, d);
    if (d->cap == NULL || d->tick == NULL || event_add(d->tick, &sec) != 0) {
        wr_dash_free(d);
        return NULL;
    }
    wr_cap_enable(d->cap, conf->capture);
    wr_cap_set_listener(d->cap, wr_dash_on_capture, d);
    d->state = WR_DASH_CONNECTING;
    d->state_since_us = (uint64_t)time(NULL) * 1000000u;
    return d;
}

void wr_dash_free(wr_dash_t *d)
{
    if (d == NULL)
        return;
    d->freeing = 1;
    wr_dash_loop_free(d); /* replays still waiting hear of it, and are answered */
    while (d->replays != NULL) {
        d->replays->s = NULL; /* went with the loop */
        wr_dash_replay_finish(d->replays, "the client is stopping");
    }
    while (d->streams != NULL)
        wr_dash_stream_end(d->streams);
    if (d->tick != NULL)
        event_free(d->tick);
    wr_cap_free(d->cap);
    for (size_t i = 0; i < d->ntunnels; i++) {
        free(d->tunnels[i].name);
        free(d->tunnels[i].local);
        free(d->tunnels[i].url);
    }
    free(d);
}

wr_cap_t *wr_dash_capture(wr_dash_t *d)
{
    return d != NULL && wr_cap_enabled(d->cap) ? d->cap : NULL;
}

int wr_dash_add_tunnel(wr_dash_t *d, const char *name, int http, const char *local,
                       wr_proxy_t *proxy)
{
    wr_dash_tunnel_t *t;

    if (d->ntunnels >= WR_DASH_MAX_TUNNELS)
        return -1;
    t = &d->tunnels[d->ntunnels];
    t->name = strdup(name);
    t->local = strdup(local);
    if (t->name == NULL || t->local == NULL) {
        free(t->name);
        free(t->local);
        return -1;
    }
    t->http = http;
    t->proxy = proxy;
    d->ntunnels++;
    return 0;
}

void wr_dash_tunnel_up(wr_dash_t *d, const char *name, const char *public_url)
{
    for (size_t i = 0; d != NULL && i < d->ntunnels; i++) {
        wr_dash_tunnel_t *t = &d->tunnels[i];
        char *url;
        if (strcmp(t->name, name) != 0 || (url = strdup(public_url)) == NULL)
            continue;
        free(t->url);
        t->url = url;
    }
}

void wr_dash_session(wr_dash_t *d, int state, const char *server, const char *detail)
{
    if (d == NULL)
        return;
    if (d->state != state)
        d->state_since_us = (uint64_t)time(NULL) * 1000000u;
    d->state = state;
    snprintf(d->server, sizeof(d->server), "%s", server ? server : "");
    snprintf(d->detail, sizeof(d->detail), "%s", detail ? detail : "");
    wr_dash_emit_tunnels(d);
}
