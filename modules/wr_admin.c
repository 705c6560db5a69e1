/*
 * wr_admin: /metrics, /status and /healthz over evhttp (see wr_admin.h).
 */
#include "wr_admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/keyvalq_struct.h>

#include "wr_json.h"
#include "wr_net.h"
#include "wr_papi.h"
#include "wr_stats.h"
#include "wr_version.h"

const wr_conf_field_t wr_admin_fields[] = {
    {.key = "bind", .kind = WR_CONF_STRING, .offset = offsetof(wr_admin_conf_t, bind)},
    {.key = NULL},
};

struct wr_admin_status {
    wr_admin_status_t *next, *prev;
    wr_admin_t *a;
    struct evhttp_request *req;
    struct evbuffer *body;
};

struct wr_admin {
    struct evhttp *http;
    wr_admin_hooks_t hooks;
    wr_admin_status_t *pending; /* /status replies waiting for their side */
};

int wr_admin_enabled(const char *bind)
{
    return bind != NULL && bind[0] != '\0' && strcmp(bind, "off") != 0;
}

struct evhttp *wr_admin_listen_with(struct event_base *base, const char *bind, const char *what,
                                    const wr_admin_limits_t *lim, wr_addr_t *bound, char *why,
                                    size_t whylen)
{
    struct evhttp *http;
    char err[160];
    int fd;

    if (wr_addr_parse(bind, bound, err, sizeof(err)) != 0) {
        snprintf(why, whylen, "%s: %s", what, err);
        errno = EINVAL;
        return NULL;
    }
    fd = wr_listen(bound, lim->backlog);
    if (fd == -1) {
        int saved = errno;
        snprintf(why, whylen, "cannot listen on %s (%s): %s", bind, what, strerror(saved));
        errno = saved;
        return NULL;
    }
    http = evhttp_new(base);
    if (http == NULL || evhttp_accept_socket_with_handle(http, fd) == NULL) {
        snprintf(why, whylen, "%s: cannot start the HTTP listener: out of memory", what);
        if (http != NULL)
            evhttp_free(http);
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    evhttp_set_max_headers_size(http, (ev_ssize_t)lim->max_headers);
    evhttp_set_max_body_size(http, (ev_ssize_t)lim->max_body);
    evhttp_set_timeout(http, lim->timeout_s);
    /* Every method reaches the routes, which answer 405 themselves (evhttp
     * would answer 501 to the ones it was not told about). */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    return http;
}

struct evhttp *wr_admin_listen(struct event_base *base, const char *bind, const char *what,
                               uint16_t *port, char *why, size_t whylen)
{
    static const wr_admin_limits_t lim = {.backlog = WR_ADMIN_BACKLOG,
                                          .max_headers = WR_ADMIN_MAX_HEADERS,
                                          .max_body = WR_ADMIN_MAX_BODY,
                                          .timeout_s = WR_ADMIN_TIMEOUT_S};
    wr_addr_t addr;
    struct evhttp *http = wr_admin_listen_with(base, bind, what, &lim, &addr, why, whylen);

    if (http != NULL)
        *port = wr_addr_port(&addr);
    return http;
}

/* --- replies ------------------------------------------------------------- */

void wr_admin_headers(struct evhttp_request *req, const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* On the client these answers share the dashboard's origin: the same
     * guard against sniffing, framing and cross-origin reads. */
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
}

static void wr_admin_reply(struct evhttp_request *req, int code, const char *reason,
                           const char *ctype, struct evbuffer *body)
{
    wr_admin_headers(req, ctype);
    evhttp_send_reply(req, code, reason, body);
}

static void wr_admin_text(struct evhttp_request *req, int code, const char *reason,
                          const char *text)
{
    struct evbuffer *b = evbuffer_new();

    if (b != NULL)
        evbuffer_add(b, text, strlen(text));
    wr_admin_reply(req, code, reason, "text/plain; charset=utf-8", b);
    if (b != NULL)
        evbuffer_free(b);
}

/* GET or HEAD, and allowed by the allow hook; anything else is answered
 * here (0): 405, or the hook's refusal. */
static int wr_admin_method_ok(const wr_admin_t *a, struct evhttp_request *req)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        wr_admin_text(req, 405, "Method Not Allowed", "405 Method Not Allowed: use GET or HEAD\n");
        return 0;
    }
    return a->hooks.allow == NULL || a->hooks.allow(req, a->hooks.allow_arg) == 0;
}

static void wr_admin_metrics(struct evhttp_request *req, void *arg)
{
    struct evbuffer *b;

    if (!wr_admin_method_ok(arg, req))
        return;
    b = evbuffer_new();
    if (b == NULL) {
        wr_admin_text(req, 500, "Internal Server Error", "500 out of memory\n");
        return;
    }
    wr_stats_render(b);
    wr_admin_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
    evbuffer_free(b);
}

static void wr_admin_healthz(struct evhttp_request *req, void *arg)
{
    if (wr_admin_method_ok(arg, req))
        wr_admin_text(req, 200, "OK", "ok\n");
}

static void wr_admin_not_found(struct evhttp_request *req, void *arg)
{
    wr_admin_text(req, 404, "Not Found", "404 Not Found: try /metrics, /status or /healthz\n");
}

/* --- /status ------------------------------------------------------------- */

struct evbuffer *wr_admin_status_body(wr_admin_status_t *st)
{
    return st->body;
}

static void wr_admin_status_unlink(wr_admin_status_t *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        st->a->pending = st->next;
    if (st->next)
        st->next->prev = st->prev;
    evbuffer_free(st->body);
    free(st);
}

void wr_admin_status_done(wr_admin_status_t *st)
{
    evbuffer_add(st->body, "}\n", 2);
    wr_admin_reply(st->req, 200, "OK", "application/json", st->body);
    wr_admin_status_unlink(st);
}

static void wr_admin_status(struct evhttp_request *req, void *arg)
{
    wr_admin_t *a = arg;
    wr_admin_status_t *st;
    double up = wr_stats_uptime();

    if (!wr_admin_method_ok(arg, req))
        return;
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->body = evbuffer_new()) == NULL) {
        free(st);
        wr_admin_text(req, 500, "Internal Server Error", "500 out of memory\n");
        return;
    }
    st->a = a;
    st->req = req;
    st->next = a->pending;
    if (st->next)
        st->next->prev = st;
    a->pending = st;
    evbuffer_add_printf(st->body, "{\"version\":\"%s\",\"side\":", WR_VERSION);
    wr_json_cstr(st->body, a->hooks.side);
    evbuffer_add_printf(st->body, ",\"pid\":%ld,\"started\":", (long)getpid());
    wr_json_time(st->body, wr_papi_time_us() - (uint64_t)(up * 1e6));
    evbuffer_add_printf(st->body, ",\"uptime_seconds\":%.3f,", up);
    if (a->hooks.status == NULL) {
        evbuffer_add_printf(st->body, "\"sessions\":[]");
        wr_admin_status_done(st);
        return;
    }
    a->hooks.status(st, a->hooks.arg);
}

/* --- routes -------------------------------------------------------------- */

wr_admin_t *wr_admin_routes(struct evhttp *http, const wr_admin_hooks_t *hooks)
{
    wr_admin_t *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->http = http;
    a->hooks = *hooks;
    if (evhttp_set_cb(http, "/metrics", wr_admin_metrics, a) != 0 ||
        evhttp_set_cb(http, "/status", wr_admin_status, a) != 0 ||
        evhttp_set_cb(http, "/healthz", wr_admin_healthz, a) != 0) {
        evhttp_del_cb(http, "/metrics");
        evhttp_del_cb(http, "/status");
        evhttp_del_cb(http, "/healthz");
        free(a);
        return NULL;
    }
    evhttp_set_gencb(http, wr_admin_not_found, a);
    return a;
}

void wr_admin_free(wr_admin_t *a)
{
    if (a == NULL)
        return;
    while (a->pending != NULL) {
        wr_admin_status_t *st = a->pending;
        wr_admin_text(st->req, 503, "Service Unavailable", "503 shutting down\n");
        wr_admin_status_unlink(st);
    }
    evhttp_del_cb(a->http, "/metrics");
    evhttp_del_cb(a->http, "/status");
    evhttp_del_cb(a->http, "/healthz");
    free(a);
}
