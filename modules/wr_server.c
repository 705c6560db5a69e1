/*
 * wr_server: `warren server` (see wr_server.h).
 *
 * A session's life: accepted on the main thread, handed to a worker, TLS
 * handshake (if configured), mux session (the server end), the client's
 * first stream is the control stream; HELLO within handshake_ms, checked
 * (version, token, ports), answered with WELCOME or REFUSE. Then every
 * connection accepted on one of the session's tunnel ports becomes a stream
 * (OPEN message first, then raw bytes, spliced by wr_pipe).
 *
 * Ports: a process-wide registry (mutex; only touched when tunnels come and
 * go) records which session holds which public port. A client that comes
 * back with the same instance id (a reconnect before the old session was
 * found dead) takes its ports over at once: the old session is ended on its
 * worker and the new one binds a few milliseconds later.
 */
#include "wr_server.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "wr_ctl.h"
#include "wr_frame.h"
#include "wr_json.h"
#include "wr_log.h"
#include "wr_opt.h"
#include "wr_mux.h"
#include "wr_net.h"
#include "wr_pipe.h"
#include "wr_papi.h"
#include "wr_plugin.h"
#include "wr_registry.h"
#include "wr_stats.h"
#include "wr_tls.h"
#include "wr_worker.h"

/* --- configuration ----------------------------------------------------- */

void wr_server_conf_default(wr_server_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = "0.0.0.0:7835";
    c->tcp_bind = "0.0.0.0";
    c->port_lo = 20000;
    c->port_hi = 20099;
    c->handshake_ms = 10000;
    c->heartbeat_ms = 10000;
    c->drain_ms = 10000;
    wr_ingress_conf_default(&c->http);
    c->admin.bind = "127.0.0.1:9090";
    wr_cfg_default(&c->rt);
}

static int wr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
    unsigned a, b;
    int n = 0;

    if (sscanf(s, "%u-%u%n", &a, &b, &n) != 2 || s[n] != '\0' || a < 1 || b > 65535 || a > b)
        return -1;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

static int wr_srv_ports_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                              wr_conf_err_t *err)
{
    wr_server_conf_t *c = (wr_server_conf_t *)((char *)dst - offsetof(wr_server_conf_t, port_lo));
    const char *s = wr_conf_node_scalar(node);

    if (s == NULL || wr_parse_port_range(s, &c->port_lo, &c->port_hi) != 0)
        return wr_conf_node_error(err, node,
                                  "'tcp_ports' expects a range LOW-HIGH within 1-65535, got \"%s\"",
                                  s ? s : "(not a scalar)");
    return 0;
}

static int wr_hex_decode(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0' ? 0 : -1;
}

static int wr_srv_tokens_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                               wr_conf_err_t *err)
{
    wr_server_conf_t *c = (wr_server_conf_t *)((char *)dst - offsetof(wr_server_conf_t, tokens));

    if (wr_conf_node_expect(node, WR_CONF_NODE_SEQ, err) != 0)
        return -1;
    for (size_t i = 0; i < wr_conf_seq_len(node); i++) {
        const wr_conf_node_t *t = wr_conf_seq_at(node, i);
        const char *s = wr_conf_node_scalar(t);
        if (c->ntokens >= WR_SERVER_MAX_TOKENS)
            return wr_conf_node_error(err, t, "more than %d tokens", WR_SERVER_MAX_TOKENS);
        if (s == NULL || strlen(s) != 64 || wr_hex_decode(s, c->tokens[c->ntokens], 32) != 0)
            return wr_conf_node_error(err, t,
                                      "'tokens' entries are SHA-256 digests: 64 hex digits "
                                      "(printf %%s TOKEN | sha256sum)");
        c->ntokens++;
    }
    return 0;
}

static int wr_srv_ms_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                           wr_conf_err_t *err)
{
    uint64_t v;

    if (wr_conf_node_duration_ms(node, (uint64_t)f->min, (uint64_t)f->max, &v, err) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

static const wr_conf_field_t wr_srv_tls_fields[] = {
    {.key = "cert", .kind = WR_CONF_STRING, .offset = offsetof(wr_server_conf_t, tls_cert)},
    {.key = "key", .kind = WR_CONF_STRING, .offset = offsetof(wr_server_conf_t, tls_key)},
    {.key = "ca", .kind = WR_CONF_STRING, .offset = offsetof(wr_server_conf_t, tls_ca)},
    {.key = NULL},
};

#define WR_SRV_RT(field) (offsetof(wr_server_conf_t, rt))

static const wr_conf_field_t wr_srv_fields[] = {
    {.key = "listen", .kind = WR_CONF_STRING, .offset = offsetof(wr_server_conf_t, listen)},
    {.key = "tcp_bind", .kind = WR_CONF_STRING, .offset = offsetof(wr_server_conf_t, tcp_bind)},
    {.key = "tcp_ports",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_server_conf_t, port_lo),
     .handler = wr_srv_ports_field},
    {.key = "tokens",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_server_conf_t, tokens),
     .handler = wr_srv_tokens_field},
    {.key = "tls", .kind = WR_CONF_MAP, .offset = 0, .children = wr_srv_tls_fields},
    {.key = "plugins", .kind = WR_CONF_RAW_SEQ, .offset = offsetof(wr_server_conf_t, plugins)},
    {.key = "http",
     .kind = WR_CONF_MAP,
     .offset = offsetof(wr_server_conf_t, http),
     .children = wr_ingress_fields},
    {.key = "admin",
     .kind = WR_CONF_MAP,
     .offset = offsetof(wr_server_conf_t, admin),
     .children = wr_admin_fields},
    {.key = "handshake_timeout",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_server_conf_t, handshake_ms),
     .min = 100,
     .max = 600000,
     .handler = wr_srv_ms_field},
    {.key = "heartbeat",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_server_conf_t, heartbeat_ms),
     .min = 100,
     .max = 3600000,
     .handler = wr_srv_ms_field},
    {.key = "drain_timeout",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_server_conf_t, drain_ms),
     .min = 0,
     .max = 3600000,
     .handler = wr_srv_ms_field},
    {.key = NULL},
};

int wr_server_conf_apply(const wr_conf_node_t *root, wr_server_conf_t *c, wr_conf_err_t *err)
{
    /* One table for the file: the server's keys and the runtime ones. */
    wr_conf_field_t all[sizeof(wr_srv_fields) / sizeof(wr_srv_fields[0]) + 8];
    size_t n = 0;

    for (const wr_conf_field_t *f = wr_srv_fields; f->key; f++)
        all[n++] = *f;
    for (const wr_conf_field_t *f = wr_cfg_fields; f->key; f++) {
        all[n] = *f;
        all[n].offset += offsetof(wr_server_conf_t, rt);
        n++;
    }
    all[n].key = NULL;
    if (wr_conf_apply(root, all, c, err) != 0)
        return -1;
    return wr_cfg_check(root, &c->rt, err);
}

static void wr_server_usage(FILE *f)
{
    fprintf(f, "usage: warren server [-c FILE] [options]\n"
               "  -c, --config FILE       server.yaml (see docs/configuration.md)\n"
               "      --bind ADDR         control listener (default 0.0.0.0:7835)\n"
               "      --tcp-bind HOST     address of public TCP ports (default 0.0.0.0)\n"
               "      --tcp-ports LO-HI   ports clients may ask for (default 20000-20099)\n"
               "      --token TOKEN       accept this token (also WARREN_TOKEN)\n"
               "      --tls-cert FILE     TLS 1.3 on the control listener: certificate\n"
               "      --tls-key FILE      ... and its key\n"
               "      --tls-ca FILE       require client certificates from this CA (mTLS)\n"
               "      --http-bind ADDR    HTTP ingress (default 0.0.0.0:8080; off: none)\n"
               "      --domain DOMAIN     base domain: subdomain tunnels are NAME.DOMAIN\n"
               "      --http-tls-cert FILE  HTTPS on the ingress: certificate (more in http.tls)\n"
               "      --http-tls-key FILE   ... and its key\n"
               "      --admin-bind ADDR   /metrics, /status, /healthz (default 127.0.0.1:9090;\n"
               "                          off: none)\n"
               "      --workers N         worker threads (default: one per CPU)\n"
               "      --log-level L       error, warn, info, debug\n"
               "Every option --foo-bar may also be set as WARREN_FOO_BAR (the flag wins).\n");
}

static int wr_server_conf_apply_any(const wr_conf_node_t *root, void *c, wr_conf_err_t *err)
{
    return wr_server_conf_apply(root, c, err);
}

int wr_server_conf_load(int argc, char **argv, wr_server_conf_t *c, wr_conf_t **confp)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"bind", required_argument, 0, 'b'},
        {"tcp-bind", required_argument, 0, 'B'},
        {"tcp-ports", required_argument, 0, 'p'},
        {"token", required_argument, 0, 't'},
        {"tls-cert", required_argument, 0, 'C'},
        {"tls-key", required_argument, 0, 'K'},
        {"tls-ca", required_argument, 0, 'A'},
        {"workers", required_argument, 0, 'w'},
        {"log-level", required_argument, 0, 'L'},
        {"http-bind", required_argument, 0, 'H'},
        {"domain", required_argument, 0, 'D'},
        {"http-tls-cert", required_argument, 0, 'E'},
        {"http-tls-key", required_argument, 0, 'F'},
        {"admin-bind", required_argument, 0, 'M'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *token = NULL, *http_cert = NULL, *http_key = NULL;
    int ch;

    wr_server_conf_default(c);
    optind = 1;
    if (wr_opt_begin(opts, argc, argv, &c->args, wr_server_conf_apply_any, c, confp) != 0)
        return 1;
    argc = c->args.argc;
    argv = c->args.argv;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        int64_t n;
        switch (ch) {
        case 'c':
            break;
        case 'b':
            c->listen = optarg;
            break;
        case 'B':
            c->tcp_bind = optarg;
            break;
        case 'p':
            if (wr_parse_port_range(optarg, &c->port_lo, &c->port_hi) != 0) {
                fprintf(stderr, "warren: --tcp-ports expects LOW-HIGH within 1-65535, got '%s'\n",
                        optarg);
                return 1;
            }
            break;
        case 't':
            token = optarg[0] != '\0' ? optarg : NULL;
            break;
        case 'C':
            c->tls_cert = optarg;
            break;
        case 'H':
            c->http.bind = optarg;
            break;
        case 'D':
            c->http.domain = optarg;
            break;
        case 'E':
            http_cert = optarg;
            break;
        case 'F':
            http_key = optarg;
            break;
        case 'M':
            c->admin.bind = optarg;
            break;
        case 'K':
            c->tls_key = optarg;
            break;
        case 'A':
            c->tls_ca = optarg;
            break;
        case 'w':
            if (wr_parse_int64(optarg, &n) != 0 || n < 0 || n > 64) {
                fprintf(stderr, "warren: --workers expects 0..64, got '%s'\n", optarg);
                return 1;
            }
            c->rt.workers = n;
            break;
        case 'L':
            if (wr_opt_log_level(optarg, &c->rt.log_level) != 0)
                return 1;
            break;
        case 'h':
            wr_server_usage(stdout);
            return 2;
        default:
            wr_server_usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "warren: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (token != NULL && token[0] != '\0' && c->ntokens < WR_SERVER_MAX_TOKENS &&
        wr_sha256_digest(token, strlen(token), c->tokens[c->ntokens++]) != 0) {
        fprintf(stderr, "warren: cannot hash the token: out of memory\n");
        return 1;
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        fprintf(stderr, "warren: TLS needs both a certificate and a key\n");
        return 1;
    }
    if ((http_cert == NULL) != (http_key == NULL)) {
        fprintf(stderr, "warren: --http-tls-cert and --http-tls-key go together\n");
        return 1;
    }
    if (http_cert != NULL) {
        /* The flags' pair comes first: it is the default certificate. */
        if (c->http.ntls == WR_INGRESS_MAX_CERTS)
            c->http.ntls--;
        memmove(&c->http.tls[1], &c->http.tls[0], c->http.ntls * sizeof(c->http.tls[0]));
        c->http.tls[0].cert = http_cert;
        c->http.tls[0].key = http_key;
        c->http.ntls++;
    }
    if (c->tls_ca != NULL && c->tls_cert == NULL) {
        fprintf(stderr, "warren: --tls-ca (mTLS) needs --tls-cert and --tls-key\n");
        return 1;
    }
    return 0;
}

/* --- port registry ----------------------------------------------------- */

/* --- sessions ---------------------------------------------------------- */

enum {
    WR_SS_TLS,
    WR_SS_HELLO,
    WR_SS_AUTH, /* plugins are deciding on the HELLO */
    WR_SS_TAKEOVER,
    WR_SS_ACTIVE,
    WR_SS_DRAINING,
    WR_SS_TLS_FAILED
};

typedef struct wr_srv_session wr_srv_session_t;

typedef struct {
    wr_srv_session_t *ss;
    char name[WR_CTL_NAME_MAX];
    uint8_t type; /* wr_tunnel_type_t */
    uint8_t prio;
    uint16_t port;              /* tcp */
    char host[WR_CTL_TEXT_MAX]; /* http: the full hostname */
    char key[WR_REG_KEY_MAX];   /* its name in the registry */
    int fd;                     /* tcp: the public listener */
    int claimed;
    struct event *ev;
    unsigned mx; /* its wr_stats label */
} wr_srv_tunnel_t;

struct wr_srv_session {
    wr_srv_session_t *next, *prev;
    wr_worker_t *w;
    uint64_t id;
    int state;
    struct bufferevent *bev; /* until the mux owns it (TLS handshake) */
    wr_mux_t *m;
    wr_mux_stream_t *ctl;
    struct evbuffer *ctlbuf;
    struct event *timer; /* handshake deadline, then the heartbeat watchdog */
    struct event *retry; /* port takeover */
    char peer[64];
    char ip[64];
    char cn[64];
    uint8_t instance[16];
    /* plugins */
    wr_ctx_t pctx;       /* session phases; suspended session_auth */
    wr_pslots_t slots;   /* WR_SCOPE_SESSION */
    int p_open;          /* session_open ran: session_close will */
    wr_ctl_msg_t *hello; /* during session_auth */
    char *token;         /* during session_auth: the token, NUL-terminated */
    char token_id[64];
    wr_srv_tunnel_t *tunnels; /* after HELLO */
    size_t ntunnels;
    int takeover_tries;
    unsigned pipes;
    /* metrics and the status page */
    char name[WR_CTL_NAME_MAX]; /* the client's name, from its HELLO */
    uint64_t since_us;          /* wall clock when it was welcomed */
    int established;            /* welcomed: counted in warren_sessions_active */
    int hs_fail;                /* before that: WR_HS_* once the reason is known, or -1 */
};

typedef struct {
    const wr_server_conf_t *conf;
    wr_workers_t *ws;
    struct event_base *base;
    wr_tls_t *tls;
    wr_addr_t tcp_bind;
    int http; /* the HTTP ingress runs */
    wr_plugins_t *plugins;
    int failed;         /* a worker could not start its plugins */
    uint16_t http_port; /* its port, for public URLs */
    int draining;
    struct evhttp *admin_http; /* the admin listener, on base */
    wr_admin_t *admin;
    struct wr_srv_job *jobs; /* /status replies being collected from the workers */
} wr_server_t;

static wr_server_t wr_srv;
static wr_srv_session_t *wr_srv_sessions[WR_WORKERS_MAX]; /* per worker, its own */
static int wr_srv_live;                                   /* sessions, atomic */
static uint64_t wr_srv_next_id;                           /* atomic */

static void wr_srv_session_free(wr_srv_session_t *ss, const char *why);
static void wr_srv_ss_ctx(wr_srv_session_t *ss);

/* Active sessions: a client sends a HEARTBEAT every period, so two periods
 * without one mean it is gone (a dead host, a stopped process, a path that
 * drops everything), whatever the mux keepalive says. */
static void wr_srv_watchdog(wr_srv_session_t *ss)
{
    uint32_t ms = 2 * wr_srv.conf->heartbeat_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    event_add(ss->timer, &tv);
}

static void wr_srv_close_tunnels(wr_srv_session_t *ss)
{
    for (size_t i = 0; i < ss->ntunnels; i++) {
        wr_srv_tunnel_t *t = &ss->tunnels[i];
        if (t->ev) {
            event_free(t->ev);
            t->ev = NULL;
        }
        if (t->fd != -1) {
            close(t->fd);
            t->fd = -1;
        }
        if (t->claimed) {
            wr_reg_release(t->key, ss->id);
            t->claimed = 0;
        }
    }
}

/* A session ends: out of warren_sessions_active, or, when it never got
 * that far, one more handshake failure, for the reason found on the way
 * or else the one the session ends with. */
static void wr_srv_count_end(wr_srv_session_t *ss, const char *why)
{
    int r = ss->hs_fail;

    if (ss->established) {
        wr_metric_add(wr_stats.sessions_active, 0, 0, -1);
        return;
    }
    if (r < 0)
        r = why != NULL && strncmp(why, "protocol error", 14) == 0 ? WR_HS_BAD_PREFACE
                                                                   : WR_HS_CLOSED;
    wr_metric_add(wr_stats.handshake_failures, (unsigned)r, 0, 1);
}

static void wr_srv_session_free(wr_srv_session_t *ss, const char *why)
{
    int id = wr_worker_id(ss->w);
    char reason[256];
    int live;

    /* why may be the mux's own reason, freed below. */
    if (why != NULL)
        snprintf(reason, sizeof(reason), "%s", why);
    wr_srv_count_end(ss, why);
    wr_plugins_cancel(&ss->pctx);
    free(ss->hello);
    ss->hello = NULL;
    free(ss->token);
    ss->token = NULL;
    wr_srv_close_tunnels(ss);
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        wr_srv_sessions[id] = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    if (ss->ctl)
        wr_mux_stream_close(ss->ctl);
    ss->ctl = NULL;
    if (ss->m)
        wr_mux_free(ss->m); /* public connections get their reset and close */
    /* After the streams' own close phases. */
    if (ss->p_open) {
        wr_srv_ss_ctx(ss);
        wr_plugins_notify(&ss->pctx, WR_PHASE_SESSION_CLOSE);
    }
    wr_pslots_end(&ss->slots);
    if (ss->bev)
        bufferevent_free(ss->bev);
    if (ss->timer)
        event_free(ss->timer);
    if (ss->retry)
        event_free(ss->retry);
    if (ss->ctlbuf)
        evbuffer_free(ss->ctlbuf);
    free(ss->tunnels);
    live = __atomic_sub_fetch(&wr_srv_live, 1, __ATOMIC_RELAXED);
    /* After the frees, so that "0 sessions open" means memory is back. */
    if (why != NULL)
        wr_log_info("session %llu from %s closed: %s; %d session(s) open",
                    (unsigned long long)ss->id, ss->peer, reason, live);
    free(ss);
}

static wr_srv_session_t *wr_srv_find(int worker, uint64_t sid)
{
    for (wr_srv_session_t *ss = wr_srv_sessions[worker]; ss; ss = ss->next) {
        if (ss->id == sid)
            return ss;
    }
    return NULL;
}

static void wr_srv_send(wr_srv_session_t *ss, const wr_ctl_msg_t *msg)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL)
        return;
    if (wr_ctl_encode(b, msg) == 0 && ss->ctl)
        wr_mux_stream_write_buffer(ss->ctl, b);
    evbuffer_free(b);
}

/* Refuse the HELLO: the reason goes to the client, then the session ends
 * once it is written. */
static void wr_srv_refuse(wr_srv_session_t *ss, uint32_t code, uint32_t retry_ms, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

static void wr_srv_refuse(wr_srv_session_t *ss, uint32_t code, uint32_t retry_ms, const char *fmt,
                          ...)
{
    wr_ctl_msg_t msg;
    va_list ap;

    memset(&msg, 0, sizeof(msg));
    msg.type = WR_CTL_REFUSE;
    msg.code = code;
    msg.retry_after_ms = retry_ms;
    va_start(ap, fmt);
    vsnprintf(msg.text, sizeof(msg.text), fmt, ap);
    va_end(ap);
    wr_log_warn("session %llu from %s refused: %s: %s", (unsigned long long)ss->id, ss->peer,
                wr_refuse_name(code), msg.text);
    ss->hs_fail = code == WR_REFUSE_VERSION       ? WR_HS_VERSION
                  : code == WR_REFUSE_AUTH        ? WR_HS_AUTH
                  : code == WR_REFUSE_PORT_DENIED ? WR_HS_DENIED
                  : code == WR_REFUSE_PORT_TAKEN  ? WR_HS_TAKEN
                  : code == WR_REFUSE_BAD_REQUEST ? WR_HS_BAD_REQUEST
                                                  : WR_HS_UNAVAILABLE;
    wr_srv_send(ss, &msg);
    wr_mux_stream_shutdown(ss->ctl);
    wr_srv_close_tunnels(ss);
    ss->state = WR_SS_DRAINING;
    wr_mux_close(ss->m, "refused");
}

/* --- plugins ----------------------------------------------------------- */

/* What session phases show plugins: during session_auth the tunnels asked
 * for (the HELLO), afterwards the tunnels granted. */
static const char *wr_srv_ss_str(void *host, int key, int i)
{
    wr_srv_session_t *ss = host;
    const wr_ctl_msg_t *h = ss->hello;

    switch (key) {
    case WR_KEY_PEER:
        return ss->peer;
    case WR_KEY_CLIENT_IP:
        return ss->ip;
    case WR_KEY_TLS_IDENTITY:
        return ss->cn[0] ? ss->cn : NULL;
    case WR_KEY_TOKEN:
        return ss->token;
    case WR_KEY_TOKEN_ID:
        return ss->token_id[0] ? ss->token_id : NULL;
    default:
        break;
    }
    if (i < 0)
        return NULL;
    if (h != NULL) {
        const wr_ctl_tunnel_t *t = &h->tunnels[i];
        if ((size_t)i >= h->ntunnels)
            return NULL;
        switch (key) {
        case WR_KEY_TUNNEL:
            return t->name;
        case WR_KEY_TUNNEL_TYPE:
            return t->type == WR_TUNNEL_HTTP ? "http" : "tcp";
        case WR_KEY_HOSTNAME:
            return t->hostname[0] ? t->hostname : NULL;
        case WR_KEY_SUBDOMAIN:
            return t->subdomain[0] ? t->subdomain : NULL;
        default:
            return NULL;
        }
    }
    if ((size_t)i >= ss->ntunnels)
        return NULL;
    switch (key) {
    case WR_KEY_TUNNEL:
        return ss->tunnels[i].name;
    case WR_KEY_TUNNEL_TYPE:
        return ss->tunnels[i].type == WR_TUNNEL_HTTP ? "http" : "tcp";
    case WR_KEY_HOSTNAME:
        return ss->tunnels[i].host[0] ? ss->tunnels[i].host : NULL;
    default:
        return NULL;
    }
}

static int64_t wr_srv_ss_num(void *host, int key, int i)
{
    wr_srv_session_t *ss = host;
    const wr_ctl_msg_t *h = ss->hello;
    size_t n = h != NULL ? h->ntunnels : ss->ntunnels;

    if (key == WR_KEY_TUNNEL_COUNT)
        return (int64_t)n;
    if (key != WR_KEY_PORT || i < 0 || (size_t)i >= n)
        return -1;
    if (h != NULL)
        return h->tunnels[i].type == WR_TUNNEL_TCP ? h->tunnels[i].port : -1;
    return ss->tunnels[i].type == WR_TUNNEL_TCP ? ss->tunnels[i].port : -1;
}

static int wr_srv_ss_set_str(void *host, int key, const char *value)
{
    wr_srv_session_t *ss = host;

    if (key != WR_KEY_TOKEN_ID || strlen(value) >= sizeof(ss->token_id))
        return WR_EINVAL;
    memcpy(ss->token_id, value, strlen(value) + 1);
    return WR_OK;
}

static const wr_phost_ops_t wr_srv_ss_ops = {wr_srv_ss_str, wr_srv_ss_num, wr_srv_ss_set_str};

static void wr_srv_ss_ctx(wr_srv_session_t *ss)
{
    wr_ctx_init(&ss->pctx, wr_srv.plugins, &wr_srv_ss_ops, ss, wr_worker_id(ss->w));
    ss->pctx.session_id = ss->id;
    ss->pctx.session = &ss->slots;
}

const wr_plugins_t *wr_server_plugins(void)
{
    return wr_srv.plugins;
}

int wr_server_tunnel_info(uint64_t sid, int tunnel, wr_server_tinfo_t *out)
{
    wr_worker_t *w = wr_worker_current();
    wr_srv_session_t *ss = w ? wr_srv_find(wr_worker_id(w), sid) : NULL;

    if (ss == NULL || tunnel < 0 || (size_t)tunnel >= ss->ntunnels)
        return -1;
    out->name = ss->tunnels[tunnel].name;
    out->token_id = ss->token_id;
    out->slots = &ss->slots;
    return 0;
}

/* --- public connections ------------------------------------------------ */

/* A public TCP connection, as plugins see it (stream_open, log,
 * stream_close); there is none when no plugin is loaded. */
typedef struct {
    wr_srv_session_t *ss;
    wr_prec_t *pr;
} wr_srv_conn_t;

static void wr_srv_conn_ctx(wr_srv_conn_t *c, uint32_t stream_id)
{
    wr_prec_ctx(c->pr, c->ss->id, stream_id, &c->ss->slots);
}

/* The connection is over: log and stream_close, then free. */
static void wr_srv_conn_end(wr_srv_conn_t *c, unsigned status, const char *why)
{
    c->pr->status = status;
    wr_prec_error(c->pr, why);
    wr_prec_end(c->pr); /* with the ctx of its last phase */
    wr_prec_free(c->pr);
    free(c);
}

static void wr_srv_pipe_done(wr_pipe_t *p, const char *reason, const wr_pipe_stats_t *st, void *arg)
{
    wr_srv_session_t *ss = arg;

    wr_log_debug("session %llu: connection done (%s): %llu bytes in, %llu out",
                 (unsigned long long)ss->id, reason ? reason : "closed",
                 (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out);
    ss->pipes--;
}

static void wr_srv_conn_done(wr_pipe_t *p, const char *reason, const wr_pipe_stats_t *st, void *arg)
{
    wr_srv_conn_t *c = arg;

    wr_srv_pipe_done(p, reason, st, c->ss);
    c->pr->bytes_in = st->bytes_in;
    c->pr->bytes_out = st->bytes_out;
    wr_srv_conn_end(c,
                    st->reset == WR_RST_CONNECT   ? 502
                    : st->reset == WR_RST_TIMEOUT ? 504
                                                  : 0,
                    reason);
}

/* With plugins: the record of a new connection, and its stream_open.
 * NULL with *refused set when a plugin refused it; NULL alone when no
 * plugin is loaded (or out of memory). */
static wr_srv_conn_t *wr_srv_conn_new(wr_srv_session_t *ss, wr_srv_tunnel_t *t, const char *name,
                                      int *refused)
{
    wr_srv_conn_t *c;

    *refused = 0;
    if (wr_plugins_count(wr_srv.plugins) == 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->pr = wr_prec_new(wr_srv.plugins, wr_worker_id(ss->w));
    if (c->pr == NULL) {
        free(c);
        return NULL;
    }
    c->ss = ss;
    wr_prec_begin(c->pr, NULL);
    wr_prec_set_peer(c->pr, name);
    c->pr->type = "tcp";
    c->pr->port = t->port;
    snprintf(c->pr->tunnel, sizeof(c->pr->tunnel), "%s", t->name);
    snprintf(c->pr->token_id, sizeof(c->pr->token_id), "%s", ss->token_id);
    wr_srv_conn_ctx(c, 0);
    if (wr_plugins_run(&c->pr->ctx, WR_PHASE_STREAM_OPEN, NULL) == WR_REJECT) {
        wr_log_info("tunnel %s: connection from %s refused by a plugin: %s", t->name, name,
                    c->pr->ctx.reject_reason);
        wr_srv_conn_end(c, (unsigned)c->pr->ctx.reject_status, c->pr->ctx.reject_reason);
        *refused = 1;
        return NULL;
    }
    return c;
}

/* A stream to tunnel t for a public connection from peer, OPEN written. */
static wr_mux_stream_t *wr_srv_open(wr_srv_session_t *ss, wr_srv_tunnel_t *t, const char *peer)
{
    wr_mux_stream_t *s;
    uint8_t open[WR_CTL_OPEN_MAX];
    int n;

    if (ss->state != WR_SS_ACTIVE)
        return NULL;
    s = wr_mux_stream_open(ss->m, (wr_prio_t)t->prio);
    if (s == NULL)
        return NULL;
    wr_mux_stream_set_tunnel(s, t->mx);
    n = wr_ctl_encode_open(open, sizeof(open), t->name, peer);
    if (n < 0 || wr_mux_stream_write(s, open, (size_t)n) != 0) {
        wr_mux_stream_reset(s, WR_RST_INTERNAL);
        wr_mux_stream_close(s);
        return NULL;
    }
    return s;
}

wr_mux_stream_t *wr_server_open_stream(uint64_t sid, int tunnel, const char *peer, char *why,
                                       size_t whylen)
{
    wr_worker_t *w = wr_worker_current();
    wr_srv_session_t *ss = w ? wr_srv_find(wr_worker_id(w), sid) : NULL;
    wr_mux_stream_t *s;

    if (ss == NULL || tunnel < 0 || (size_t)tunnel >= ss->ntunnels) {
        snprintf(why, whylen, "the tunnel's client is gone");
        return NULL;
    }
    s = wr_srv_open(ss, &ss->tunnels[tunnel], peer);
    if (s == NULL)
        snprintf(why, whylen, "the tunnel's client is %s",
                 ss->state == WR_SS_ACTIVE ? "at its stream limit" : "going away");
    return s;
}

static void wr_srv_public_accept(evutil_socket_t lfd, short what, void *arg)
{
    wr_srv_tunnel_t *t = arg;
    wr_srv_session_t *ss = t->ss;

    for (int i = 0; i < 32; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        wr_addr_t peer;
        char name[64];
        struct bufferevent *bev;
        wr_mux_stream_t *s;
        wr_srv_conn_t *c;
        int refused;
        int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                wr_log_warn("tunnel %s: accept: %s", t->name, strerror(errno));
            return;
        }
        memcpy(&peer.ss, &sa, len);
        peer.len = len;
        wr_addr_format(&peer, name, sizeof(name));
        c = wr_srv_conn_new(ss, t, name, &refused);
        if (refused) {
            /* Refused before anything reached the client: a reset. */
            struct linger lg = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(fd);
            continue;
        }
        s = wr_srv_open(ss, t, name);
        if (s == NULL) {
            close(fd);
            if (c != NULL)
                wr_srv_conn_end(c, 503, "the tunnel's client cannot take it");
            continue;
        }
        if (c != NULL)
            wr_srv_conn_ctx(c, wr_mux_stream_id(s));
        wr_sock_tune(fd, 0);
        bev = bufferevent_socket_new(wr_worker_base(ss->w), fd, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            close(fd);
            wr_mux_stream_reset(s, WR_RST_INTERNAL);
            wr_mux_stream_close(s);
            if (c != NULL)
                wr_srv_conn_end(c, 0, "out of memory");
            continue;
        }
        /* A pipe is counted while it exists: its done callback uncounts
         * it, and is never called when wr_pipe_new fails. */
        if (c != NULL) {
            if (wr_pipe_new(bev, s, NULL, wr_srv_conn_done, c) != NULL)
                ss->pipes++;
            else
                wr_srv_conn_end(c, 0, "out of memory");
        } else if (wr_pipe_new(bev, s, NULL, wr_srv_pipe_done, ss) != NULL) {
            ss->pipes++;
        }
        wr_log_debug("tunnel %s: connection from %s", t->name, name);
    }
}

/* --- HELLO ------------------------------------------------------------- */

typedef struct {
    int worker;
    uint64_t sid;
} wr_srv_ref_t;

static void wr_srv_evict(wr_worker_t *w, void *arg)
{
    wr_srv_ref_t *ref = arg;
    wr_srv_session_t *ss = wr_srv_find(wr_worker_id(w), ref->sid);

    if (ss != NULL)
        wr_srv_session_free(ss, "replaced by a new session of the same client");
    free(ref);
}

static int wr_srv_bind_tunnel(wr_srv_session_t *ss, wr_srv_tunnel_t *t)
{
    wr_addr_t a = wr_srv.tcp_bind;

    wr_addr_set_port(&a, t->port);
    t->fd = wr_listen(&a, 1024);
    if (t->fd == -1)
        return -1;
    t->ev = event_new(wr_worker_base(ss->w), t->fd, EV_READ | EV_PERSIST, wr_srv_public_accept, t);
    if (t->ev == NULL || event_add(t->ev, NULL) != 0)
        return -1;
    return 0;
}

static void wr_srv_takeover_retry(evutil_socket_t fd, short what, void *arg);

/* What a user types to reach tunnel t: "127.0.0.1:20001" for tcp (the
 * client prints tcp:// before it), "http://app.example.com:8080" for http. */
static void wr_srv_public_address(const wr_srv_tunnel_t *t, char *buf, size_t len)
{
    if (t->type == WR_TUNNEL_HTTP) {
        int tls = wr_ingress_tls();
        uint16_t port = wr_srv.http_port;
        int n;
        if (port == (tls ? 443 : 80))
            n = snprintf(buf, len, "%s://%s", tls ? "https" : "http", t->host);
        else
            n = snprintf(buf, len, "%s://%s:%u", tls ? "https" : "http", t->host, port);
        if (n < 0 || (size_t)n >= len)
            snprintf(buf, len, "%s", t->host); /* a 253-byte name: the bare name fits */
    } else {
        wr_addr_t a = wr_srv.tcp_bind;
        wr_addr_set_port(&a, t->port);
        wr_addr_format(&a, buf, len);
    }
}

/* Session ss as the registry's owner of its tunnel i, with metrics label mx. */
static wr_reg_owner_t wr_srv_owner(const wr_srv_session_t *ss, size_t i, unsigned mx)
{
    wr_reg_owner_t me = {.sid = ss->id, .worker = ss->w, .tunnel = (int)i, .mx = mx};

    memcpy(me.instance, ss->instance, 16);
    return me;
}

/* The session is accepted: each tunnel takes its metrics label now, and not
 * when it is claimed, so that a refused request (a name taken, a port that
 * cannot be bound, a later tunnel of the same HELLO refused) uses up none
 * of the WR_STATS_TUNNELS names a process labels. The ingress reads the
 * label from the registry: claiming a name this session holds updates it. */
static void wr_srv_label_tunnels(wr_srv_session_t *ss)
{
    for (size_t i = 0; i < ss->ntunnels; i++) {
        wr_srv_tunnel_t *t = &ss->tunnels[i];
        wr_reg_owner_t me, holder;

        t->mx = wr_stats_tunnel(t->name);
        me = wr_srv_owner(ss, i, t->mx);
        (void)wr_reg_claim(t->key, &me, &holder); /* held by ss: cannot fail */
    }
}

/* Claim and bind every tunnel's port; answer WELCOME, or REFUSE, or (a port
 * held by this same client's previous session) come back in a moment. */
static void wr_srv_activate(wr_srv_session_t *ss)
{
    const wr_server_conf_t *c = wr_srv.conf;
    wr_ctl_msg_t msg;
    int waiting = 0;

    for (size_t i = 0; i < ss->ntunnels; i++) {
        wr_srv_tunnel_t *t = &ss->tunnels[i];
        /* Labelled "_none" until the session is accepted. */
        wr_reg_owner_t me = wr_srv_owner(ss, i, wr_stats_no_tunnel()), holder;
        if (t->claimed)
            continue;
        if (wr_reg_claim(t->key, &me, &holder) != 0) {
            /* The same client process, back on a new connection while its
             * old session is not yet found dead: end that one, retry. */
            if (holder.sid != 0 && memcmp(holder.instance, ss->instance, 16) == 0 &&
                ss->takeover_tries < 100) {
                wr_srv_ref_t *ref = malloc(sizeof(*ref));
                if (ref != NULL && ss->takeover_tries == 0) {
                    ref->worker = wr_worker_id(holder.worker);
                    ref->sid = holder.sid;
                    if (wr_worker_call(holder.worker, wr_srv_evict, ref) != 0)
                        free(ref);
                } else {
                    free(ref);
                }
                waiting = 1;
                continue;
            }
            if (holder.sid == 0)
                wr_srv_refuse(ss, WR_REFUSE_UNAVAILABLE, 1000, "out of memory");
            else if (t->type == WR_TUNNEL_TCP)
                wr_srv_refuse(ss, WR_REFUSE_PORT_TAKEN, 5000, "port %u is taken by another client",
                              t->port);
            else
                wr_srv_refuse(ss, WR_REFUSE_PORT_TAKEN, 5000,
                              "hostname %s is taken by another client", t->host);
            return;
        }
        t->claimed = 1;
        if (t->type == WR_TUNNEL_TCP && wr_srv_bind_tunnel(ss, t) != 0) {
            wr_srv_refuse(ss, WR_REFUSE_PORT_TAKEN, 5000, "port %u cannot be bound: %s", t->port,
                          strerror(errno));
            return;
        }
    }
    if (waiting) {
        struct timeval tv = {0, 20000};
        ss->state = WR_SS_TAKEOVER;
        ss->takeover_tries++;
        if (ss->retry == NULL)
            ss->retry = event_new(wr_worker_base(ss->w), -1, 0, wr_srv_takeover_retry, ss);
        if (ss->retry == NULL || event_add(ss->retry, &tv) != 0)
            wr_srv_refuse(ss, WR_REFUSE_UNAVAILABLE, 1000, "out of memory");
        return;
    }
    wr_srv_label_tunnels(ss);
    wr_srv_watchdog(ss);
    memset(&msg, 0, sizeof(msg));
    msg.type = WR_CTL_WELCOME;
    msg.version = WR_CTL_VERSION;
    msg.heartbeat_ms = c->heartbeat_ms;
    msg.ntunnels = ss->ntunnels;
    for (size_t i = 0; i < ss->ntunnels; i++) {
        wr_srv_tunnel_t *t = &ss->tunnels[i];
        wr_ctl_tunnel_t *mt = &msg.tunnels[i];
        snprintf(mt->name, sizeof(mt->name), "%s", t->name);
        mt->type = t->type;
        mt->port = t->port;
        wr_srv_public_address(t, mt->address, sizeof(mt->address));
        wr_log_info("session %llu: tunnel %s on %s", (unsigned long long)ss->id, t->name,
                    mt->address);
    }
    ss->state = WR_SS_ACTIVE;
    ss->established = 1;
    ss->since_us = wr_papi_time_us();
    wr_metric_add(wr_stats.sessions_active, 0, 0, 1);
    wr_metric_add(wr_stats.sessions_total, 0, 0, 1);
    wr_srv_send(ss, &msg);
}

static void wr_srv_takeover_retry(evutil_socket_t fd, short what, void *arg)
{
    wr_srv_activate(arg);
}

/* Check one requested tunnel against the configuration and fill st's
 * port or hostname and registry key. 0, or -1 after a REFUSE. */
static int wr_srv_check_tunnel(wr_srv_session_t *ss, const wr_ctl_tunnel_t *t, wr_srv_tunnel_t *st)
{
    const wr_server_conf_t *c = wr_srv.conf;

    if (t->type == WR_TUNNEL_TCP) {
        if (t->port < c->port_lo || t->port > c->port_hi) {
            wr_srv_refuse(ss, WR_REFUSE_PORT_DENIED, 0,
                          "tunnel %s: port %u is outside the allowed range %u-%u", t->name, t->port,
                          c->port_lo, c->port_hi);
            return -1;
        }
        st->port = t->port;
        snprintf(st->key, sizeof(st->key), "tcp:%u", t->port);
        return 0;
    }
    if (!wr_srv.http) {
        wr_srv_refuse(ss, WR_REFUSE_PORT_DENIED, 0,
                      "tunnel %s: this server has no HTTP ingress (http.bind)", t->name);
        return -1;
    }
    if (t->hostname[0] != '\0') {
        snprintf(st->host, sizeof(st->host), "%s", t->hostname);
    } else if (t->subdomain[0] == '\0') {
        wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0,
                      "tunnel %s: http needs a subdomain or a hostname", t->name);
        return -1;
    } else if (c->http.domain == NULL) {
        wr_srv_refuse(ss, WR_REFUSE_PORT_DENIED, 0,
                      "tunnel %s: this server has no base domain for subdomains (http.domain)",
                      t->name);
        return -1;
    } else if (strlen(t->subdomain) + 1 + strlen(c->http.domain) > 253) {
        wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "tunnel %s: hostname too long", t->name);
        return -1;
    } else if (snprintf(st->host, sizeof(st->host), "%s.%s", t->subdomain, c->http.domain) >=
               (int)sizeof(st->host)) {
        wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "tunnel %s: hostname too long", t->name);
        return -1;
    }
    if (snprintf(st->key, sizeof(st->key), "http:%s", st->host) >= (int)sizeof(st->key)) {
        wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "tunnel %s: hostname too long", t->name);
        return -1;
    }
    return 0;
}

static void wr_srv_hello_auth(wr_srv_session_t *ss, const wr_ctl_msg_t *h, int verdict);

static void wr_srv_auth_done(wr_ctx_t *ctx, int verdict)
{
    wr_srv_session_t *ss = ctx->host;
    wr_ctl_msg_t *h = ss->hello;

    ss->hello = NULL;
    wr_srv_hello_auth(ss, h, verdict); /* may free ss */
    free(h);
}

static void wr_srv_hello(wr_srv_session_t *ss, const wr_ctl_msg_t *h)
{
    int v;

    if (h->version_min > WR_CTL_VERSION || h->version_max < WR_CTL_VERSION) {
        wr_srv_refuse(ss, WR_REFUSE_VERSION, 0,
                      "this server speaks protocol version %d, the client %u..%u", WR_CTL_VERSION,
                      h->version_min, h->version_max);
        return;
    }
    if (!wr_plugins_has(wr_srv.plugins, WR_PHASE_SESSION_AUTH)) {
        wr_srv_hello_auth(ss, h, WR_OK);
        return;
    }
    /* Plugins see the HELLO (and may take their time: WR_AGAIN). */
    ss->hello = malloc(sizeof(*ss->hello));
    ss->token = wr_memdup_str(h->token, h->token_len);
    if (ss->hello == NULL || ss->token == NULL) {
        wr_srv_refuse(ss, WR_REFUSE_UNAVAILABLE, 1000, "out of memory");
        return;
    }
    memcpy(ss->hello, h, sizeof(*h));
    ss->state = WR_SS_AUTH;
    wr_srv_ss_ctx(ss);
    v = wr_plugins_run(&ss->pctx, WR_PHASE_SESSION_AUTH, wr_srv_auth_done);
    if (v != WR_AGAIN)
        wr_srv_auth_done(&ss->pctx, v);
}

/* The HELLO after session_auth: verdict WR_DONE (a plugin authenticated
 * the token), WR_REJECT, or WR_OK (the tokens: list decides). */
static void wr_srv_hello_auth(wr_srv_session_t *ss, const wr_ctl_msg_t *h, int verdict)
{
    const wr_server_conf_t *c = wr_srv.conf;
    uint8_t digest[32];
    int ok = verdict == WR_DONE;

    free(ss->token);
    ss->token = NULL;
    ss->state = WR_SS_HELLO;
    if (verdict == WR_REJECT) {
        /* 429 and 5xx (a plugin's own failure among them) are worth a
         * retry; anything else is a refusal the client takes as final. */
        int st = ss->pctx.reject_status;
        int later = st == 429 || st >= 500;
        wr_srv_refuse(ss, later ? WR_REFUSE_UNAVAILABLE : WR_REFUSE_AUTH, later ? 5000 : 0, "%s",
                      ss->pctx.reject_reason[0] ? ss->pctx.reject_reason : "refused");
        return;
    }
    if (!ok && h->token_len > 0 && wr_sha256_digest(h->token, h->token_len, digest) == 0) {
        /* Constant time per token; every token is compared. */
        for (size_t i = 0; i < c->ntokens; i++)
            ok |= wr_papi_equal_ct(digest, c->tokens[i], 32);
    }
    if (!ok) {
        wr_srv_refuse(ss, WR_REFUSE_AUTH, 0, "%s",
                      h->token_len ? "invalid token" : "a token is required");
        return;
    }
    if (h->ntunnels == 0) {
        wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "no tunnel requested");
        return;
    }
    ss->tunnels = calloc(h->ntunnels, sizeof(*ss->tunnels));
    if (ss->tunnels == NULL) {
        wr_srv_refuse(ss, WR_REFUSE_UNAVAILABLE, 1000, "out of memory");
        return;
    }
    for (size_t i = 0; i < h->ntunnels; i++) {
        const wr_ctl_tunnel_t *t = &h->tunnels[i];
        wr_srv_tunnel_t *st = &ss->tunnels[i];
        snprintf(st->name, sizeof(st->name), "%s", t->name);
        st->type = t->type;
        st->prio = t->priority;
        st->fd = -1;
        st->ss = ss;
        st->mx = wr_stats_no_tunnel(); /* its own label once accepted */
        if (wr_srv_check_tunnel(ss, t, st) != 0)
            return;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ss->tunnels[j].key, st->key) == 0 ||
                strcmp(ss->tunnels[j].name, t->name) == 0) {
                wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0,
                              "tunnels %s and %s ask for the same name, port or hostname",
                              ss->tunnels[j].name, t->name);
                return;
            }
        }
    }
    ss->ntunnels = h->ntunnels;
    memcpy(ss->instance, h->instance, 16);
    snprintf(ss->name, sizeof(ss->name), "%s", h->client_name);
    wr_log_info("session %llu from %s: client '%s'%s%s%s%s, %zu tunnel(s)",
                (unsigned long long)ss->id, ss->peer, h->client_name[0] ? h->client_name : "?",
                ss->cn[0] ? ", cert " : "", ss->cn, ss->token_id[0] ? ", token " : "", ss->token_id,
                h->ntunnels);
    wr_srv_activate(ss);
}

static void wr_srv_ctl_read(wr_mux_stream_t *s, void *arg)
{
    wr_srv_session_t *ss = arg;
    wr_ctl_msg_t *msg;
    char why[160];

    wr_mux_stream_read(s, ss->ctlbuf, SIZE_MAX);
    msg = malloc(sizeof(*msg));
    if (msg == NULL)
        return;
    for (;;) {
        int rc = wr_ctl_decode(ss->ctlbuf, msg, why, sizeof(why));
        if (rc == 1)
            break;
        if (rc < 0) {
            if (ss->state == WR_SS_HELLO)
                wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "%s", why);
            else
                wr_mux_close(ss->m, why);
            break;
        }
        if (ss->state == WR_SS_HELLO && msg->type == WR_CTL_HELLO) {
            wr_srv_hello(ss, msg);
        } else if (msg->type == WR_CTL_HEARTBEAT && ss->state >= WR_SS_ACTIVE) {
            msg->type = WR_CTL_HEARTBEAT_ACK;
            wr_srv_send(ss, msg);
            if (ss->state == WR_SS_ACTIVE)
                wr_srv_watchdog(ss);
        } else if (ss->state == WR_SS_HELLO) {
            wr_srv_refuse(ss, WR_REFUSE_BAD_REQUEST, 0, "expected HELLO, got %s",
                          wr_ctl_type_name(msg->type));
            break;
        }
        if (ss->state == WR_SS_DRAINING)
            break;
    }
    free(msg);
    if (evbuffer_get_length(ss->ctlbuf) > WR_CTL_HDR_LEN + WR_CTL_MAX_BODY)
        wr_mux_close(ss->m, "control stream overrun");
    if (wr_mux_stream_eof(s) && ss->state != WR_SS_DRAINING)
        wr_mux_close(ss->m, "control stream closed by the client");
}

static void wr_srv_ctl_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_srv_session_t *ss = arg;

    wr_mux_stream_close(s);
    ss->ctl = NULL;
    if (ss->m)
        wr_mux_close(ss->m, "control stream reset");
}

static int wr_srv_accept_stream(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    wr_srv_session_t *ss = arg;

    if (ss->ctl != NULL)
        return -1; /* clients open only the control stream */
    ss->ctl = s;
    wr_mux_stream_set_prio(s, WR_PRIO_CRITICAL);
    wr_mux_stream_setcb(s, wr_srv_ctl_read, NULL, wr_srv_ctl_event, ss);
    return 0;
}

static void wr_srv_mux_closed(wr_mux_t *m, const char *reason, void *arg)
{
    wr_srv_session_t *ss = arg;

    wr_srv_session_free(ss, reason);
}

static void wr_srv_timeout(evutil_socket_t fd, short what, void *arg)
{
    wr_srv_session_t *ss = arg;
    char why[96];

    if (ss->state == WR_SS_ACTIVE && ss->m != NULL) {
        snprintf(why, sizeof(why), "client silent: no heartbeat within %u ms",
                 2 * wr_srv.conf->heartbeat_ms);
        wr_mux_close(ss->m, why);
        return;
    }
    if (ss->state == WR_SS_DRAINING) {
        wr_srv_session_free(ss, "peer silent while the session was closing");
        return;
    }
    if (ss->state == WR_SS_TLS_FAILED) {
        wr_srv_session_free(ss, NULL); /* lingered long enough */
        return;
    }
    ss->hs_fail = WR_HS_TIMEOUT;
    wr_srv_session_free(ss, ss->state == WR_SS_TLS ? "handshake timeout: TLS not done in time"
                                                   : "handshake timeout: no HELLO in time");
}

static void wr_srv_start_mux(wr_srv_session_t *ss)
{
    wr_mux_config_t mc = wr_srv.conf->rt.mux;
    wr_mux_callbacks_t cbs = {
        .accept = wr_srv_accept_stream,
        .closed = wr_srv_mux_closed,
    };
    struct bufferevent *bev = ss->bev;

    mc.is_server = 1;
    mc.proto = WR_MUX_WARREN;
    ss->bev = NULL;
    ss->state = WR_SS_HELLO;
    ss->m = wr_mux_new(wr_worker_base(ss->w), bev, &mc, &cbs, ss);
    if (ss->m == NULL) {
        wr_srv_session_free(ss, "cannot start the mux session");
        return;
    }
    if (wr_plugins_has(wr_srv.plugins, WR_PHASE_SESSION_OPEN)) {
        wr_srv_ss_ctx(ss);
        ss->p_open = 1;
        if (wr_plugins_run(&ss->pctx, WR_PHASE_SESSION_OPEN, NULL) == WR_REJECT) {
            char why[200];
            snprintf(why, sizeof(why), "refused by a plugin: %s", ss->pctx.reject_reason);
            ss->hs_fail = WR_HS_PLUGIN;
            wr_mux_close(ss->m, why);
        }
    } else if (wr_plugins_has(wr_srv.plugins, WR_PHASE_SESSION_CLOSE)) {
        ss->p_open = 1;
    }
}

static void wr_srv_tls_drain(evutil_socket_t fd, short what, void *arg)
{
    char buf[4096];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        ;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        wr_srv_session_free(arg, NULL);
}

/* The TLS alert that says why (a certificate refused) has been written;
 * a TLS 1.3 client may meanwhile be sending its first data. Closing with
 * that data unread would answer with a reset, which can destroy the alert
 * before the client reads it: stop writing, discard what comes, and close
 * when the client does or after a second. */
static void wr_srv_tls_linger(wr_srv_session_t *ss)
{
    int fd = bufferevent_getfd(ss->bev);
    struct timeval tv = {1, 0};

    ss->state = WR_SS_TLS_FAILED;
    bufferevent_disable(ss->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(ss->bev, NULL, NULL, NULL, NULL);
    if (fd < 0 || shutdown(fd, SHUT_WR) != 0 || ss->retry != NULL ||
        (ss->retry = event_new(wr_worker_base(ss->w), fd, EV_READ | EV_PERSIST, wr_srv_tls_drain,
                               ss)) == NULL ||
        event_add(ss->retry, NULL) != 0 || event_add(ss->timer, &tv) != 0)
        wr_srv_session_free(ss, NULL);
}

static void wr_srv_tls_event(struct bufferevent *bev, short what, void *arg)
{
    wr_srv_session_t *ss = arg;
    char why[160];

    if (what & BEV_EVENT_CONNECTED) {
        wr_tls_peer_cn(bev, ss->cn, sizeof(ss->cn));
        wr_log_debug("session %llu: %s", (unsigned long long)ss->id, wr_tls_version(bev));
        wr_srv_start_mux(ss);
        return;
    }
    wr_tls_error(bev, why, sizeof(why));
    wr_log_warn("session %llu from %s: TLS handshake failed: %s", (unsigned long long)ss->id,
                ss->peer, why);
    ss->hs_fail = WR_HS_TLS;
    wr_srv_tls_linger(ss);
}

static void wr_srv_session_start(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg)
{
    wr_srv_session_t *ss = calloc(1, sizeof(*ss));
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    struct timeval tv;
    wr_addr_t peer;
    int id = wr_worker_id(w);

    evbuffer_free(preread);
    if (ss == NULL || (ss->ctlbuf = evbuffer_new()) == NULL) {
        free(ss);
        close(fd);
        return;
    }
    __atomic_add_fetch(&wr_srv_live, 1, __ATOMIC_RELAXED);
    ss->w = w;
    ss->hs_fail = -1;
    ss->id = __atomic_add_fetch(&wr_srv_next_id, 1, __ATOMIC_RELAXED);
    ss->next = wr_srv_sessions[id];
    if (ss->next)
        ss->next->prev = ss;
    wr_srv_sessions[id] = ss;
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0) {
        memcpy(&peer.ss, &sa, len);
        peer.len = len;
        wr_addr_format(&peer, ss->peer, sizeof(ss->peer));
    } else {
        snprintf(ss->peer, sizeof(ss->peer), "?");
    }
    wr_peer_ip(ss->peer, ss->ip, sizeof(ss->ip));
    wr_sock_tune(fd, 128 * 1024);
    ss->timer = event_new(wr_worker_base(w), -1, 0, wr_srv_timeout, ss);
    tv.tv_sec = wr_srv.conf->handshake_ms / 1000;
    tv.tv_usec = (wr_srv.conf->handshake_ms % 1000) * 1000;
    if (ss->timer == NULL || event_add(ss->timer, &tv) != 0) {
        close(fd);
        wr_srv_session_free(ss, "out of memory");
        return;
    }
    wr_log_debug("session %llu: connection from %s", (unsigned long long)ss->id, ss->peer);
    if (wr_srv.tls != NULL) {
        ss->state = WR_SS_TLS;
        ss->bev = wr_tls_accept(wr_srv.tls, wr_worker_base(w), fd);
        if (ss->bev == NULL) {
            wr_srv_session_free(ss, "cannot start TLS");
            return;
        }
        bufferevent_setcb(ss->bev, NULL, NULL, wr_srv_tls_event, ss);
        bufferevent_enable(ss->bev, EV_READ | EV_WRITE);
        return;
    }
    ss->bev = bufferevent_socket_new(wr_worker_base(w), fd, BEV_OPT_CLOSE_ON_FREE);
    if (ss->bev == NULL) {
        close(fd);
        wr_srv_session_free(ss, "out of memory");
        return;
    }
    wr_srv_start_mux(ss);
}

/* --- status page ------------------------------------------------------- */

/* A /status reply being collected: each worker writes its own sessions
 * into its piece, on its own thread; the last one to finish wakes the main
 * thread, which joins the pieces and answers. */
typedef struct wr_srv_job {
    struct wr_srv_job *next, *prev;
    wr_admin_status_t *st;
    struct event *ready; /* on the main base */
    int pending;         /* workers still writing, plus one until all are asked */
    int n;
    struct evbuffer *piece[WR_WORKERS_MAX];
} wr_srv_job_t;

static void wr_srv_job_put(wr_srv_job_t *j)
{
    /* Release what this worker wrote; the last one acquires every piece,
     * and event_active (locked) hands them to the main thread. */
    if (__atomic_sub_fetch(&j->pending, 1, __ATOMIC_ACQ_REL) == 0)
        event_active(j->ready, EV_TIMEOUT, 0);
}

static void wr_srv_job_free(wr_srv_job_t *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        wr_srv.jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    if (j->ready)
        event_free(j->ready);
    for (int i = 0; i < j->n; i++)
        if (j->piece[i])
            evbuffer_free(j->piece[i]);
    free(j);
}

/* One session as JSON: who, since when, how busy, and its tunnels. */
static void wr_srv_status_session(struct evbuffer *b, wr_srv_session_t *ss)
{
    uint64_t rx = 0, tx = 0;
    int64_t rtt = ss->m ? wr_mux_rtt_us(ss->m) : -1;
    uint32_t streams = ss->m ? wr_mux_stream_count(ss->m) : 0;

    if (ss->m)
        wr_mux_payload(ss->m, &rx, &tx);
    if (ss->ctl != NULL && streams > 0)
        streams--; /* the control stream */
    evbuffer_add_printf(b, "{\"id\":%llu,\"peer\":", (unsigned long long)ss->id);
    wr_json_cstr(b, ss->peer);
    wr_json_lit(b, ",\"name\":");
    wr_json_cstr(b, ss->name[0] ? ss->name : NULL);
    wr_json_lit(b, ",\"tls_identity\":");
    wr_json_cstr(b, ss->cn[0] ? ss->cn : NULL);
    wr_json_lit(b, ",\"token_id\":");
    wr_json_cstr(b, ss->token_id[0] ? ss->token_id : NULL);
    evbuffer_add_printf(b, ",\"state\":\"%s\",\"protocol\":\"%s\",\"since\":",
                        ss->state == WR_SS_ACTIVE ? "active" : "draining",
                        ss->m ? wr_mux_proto_name(wr_mux_proto(ss->m)) : "none");
    wr_json_time(b, ss->since_us);
    evbuffer_add_printf(b, ",\"streams\":%u,\"bytes_received\":%llu,\"bytes_sent\":%llu", streams,
                        (unsigned long long)rx, (unsigned long long)tx);
    if (rtt >= 0)
        evbuffer_add_printf(b, ",\"rtt_ms\":%.3f", (double)rtt / 1000);
    else
        wr_json_lit(b, ",\"rtt_ms\":null");
    wr_json_lit(b, ",\"tunnels\":[");
    for (size_t i = 0; i < ss->ntunnels; i++) {
        const wr_srv_tunnel_t *t = &ss->tunnels[i];
        char addr[WR_CTL_TEXT_MAX + 16];
        wr_srv_public_address(t, addr, sizeof(addr));
        evbuffer_add_printf(b, "%s{\"name\":", i ? "," : "");
        wr_json_cstr(b, t->name);
        if (t->type == WR_TUNNEL_HTTP) {
            wr_json_lit(b, ",\"type\":\"http\",\"hostname\":");
            wr_json_cstr(b, t->host);
            wr_json_lit(b, ",\"url\":");
        } else {
            evbuffer_add_printf(b, ",\"type\":\"tcp\",\"port\":%u,\"address\":", t->port);
        }
        wr_json_cstr(b, addr);
        wr_json_lit(b, "}");
    }
    wr_json_lit(b, "]}");
}

static void wr_srv_status_worker(wr_worker_t *w, void *arg)
{
    wr_srv_job_t *j = arg;
    struct evbuffer *b = j->piece[wr_worker_id(w)];
    int first = 1;

    for (wr_srv_session_t *ss = wr_srv_sessions[wr_worker_id(w)]; ss; ss = ss->next) {
        if (!ss->established)
            continue;
        if (!first)
            wr_json_lit(b, ",");
        first = 0;
        wr_srv_status_session(b, ss);
    }
    wr_srv_job_put(j);
}

static void wr_srv_status_ready(evutil_socket_t fd, short what, void *arg)
{
    wr_srv_job_t *j = arg;
    struct evbuffer *b = wr_admin_status_body(j->st);
    int first = 1;

    evbuffer_add_printf(b,
                        "\"draining\":%s,\"workers\":%d,\"http_connections\":%d,"
                        "\"sessions\":[",
                        wr_srv.draining ? "true" : "false", j->n, wr_ingress_live());
    for (int i = 0; i < j->n; i++) {
        if (evbuffer_get_length(j->piece[i]) == 0)
            continue;
        if (!first)
            wr_json_lit(b, ",");
        first = 0;
        evbuffer_add_buffer(b, j->piece[i]);
    }
    wr_json_lit(b, "]");
    wr_admin_status_done(j->st);
    wr_srv_job_free(j);
}

/* The admin listener's /status: ask every worker for its sessions. */
static void wr_srv_status(wr_admin_status_t *st, void *arg)
{
    wr_srv_job_t *j = calloc(1, sizeof(*j));
    int failed = j == NULL;

    if (j != NULL) {
        j->st = st;
        j->n = wr_workers_count(wr_srv.ws);
        j->pending = j->n + 1;
        j->next = wr_srv.jobs;
        if (j->next)
            j->next->prev = j;
        wr_srv.jobs = j;
        j->ready = event_new(wr_srv.base, -1, 0, wr_srv_status_ready, j);
        failed = j->ready == NULL;
        for (int i = 0; i < j->n && !failed; i++)
            failed = (j->piece[i] = evbuffer_new()) == NULL;
    }
    if (failed) {
        if (j != NULL)
            wr_srv_job_free(j);
        evbuffer_add_printf(wr_admin_status_body(st), "\"error\":\"out of memory\"");
        wr_admin_status_done(st);
        return;
    }
    for (int i = 0; i < j->n; i++) {
        /* A worker that is stopping has no sessions to show. */
        if (wr_worker_call(wr_workers_get(wr_srv.ws, i), wr_srv_status_worker, j) != 0)
            wr_srv_job_put(j);
    }
    wr_srv_job_put(j);
}

/* --- drain and stop ---------------------------------------------------- */

static void wr_srv_worker_drain(wr_worker_t *w, void *arg)
{
    wr_ctl_msg_t msg;

    memset(&msg, 0, sizeof(msg));
    msg.type = WR_CTL_NOTICE;
    msg.code = WR_NOTICE_DRAIN;
    msg.retry_after_ms = 1000;
    snprintf(msg.text, sizeof(msg.text), "server shutting down");
    for (wr_srv_session_t *ss = wr_srv_sessions[wr_worker_id(w)], *next; ss; ss = next) {
        next = ss->next;
        wr_srv_close_tunnels(ss); /* no new public connections */
        if (ss->state != WR_SS_ACTIVE || ss->m == NULL) {
            if (ss->hs_fail < 0)
                ss->hs_fail = WR_HS_UNAVAILABLE;
            wr_srv_session_free(ss, "server shutting down");
            continue;
        }
        ss->state = WR_SS_DRAINING;
        wr_srv_send(ss, &msg);
        wr_mux_goaway(ss->m, WR_GOAWAY_NORMAL, wr_srv.conf->drain_ms);
    }
}

/* Sessions whose public connections are all done (the control stream
 * aside, no stream open: HTTP requests are streams without a pipe) leave
 * early. */
static void wr_srv_worker_reap(wr_worker_t *w, void *arg)
{
    for (wr_srv_session_t *ss = wr_srv_sessions[wr_worker_id(w)], *next; ss; ss = next) {
        next = ss->next;
        if (ss->state == WR_SS_DRAINING && ss->pipes == 0 && ss->m &&
            wr_mux_stream_count(ss->m) <= 1)
            wr_mux_close(ss->m, "server shutting down");
    }
}

static void wr_srv_worker_stop(wr_worker_t *w, void *arg)
{
    while (wr_srv_sessions[wr_worker_id(w)])
        wr_srv_session_free(wr_srv_sessions[wr_worker_id(w)], "server stopped");
}

typedef struct {
    struct event *listener, *sigint, *sigterm, *tick, *sighup, *sigusr1;
    int lfd;
    uint64_t drain_until_ms;
    uint64_t now_ms;
} wr_srv_main_t;

static wr_srv_main_t wr_srv_main;

static void wr_srv_on_accept(evutil_socket_t lfd, short what, void *arg)
{
    wr_workers_accept(wr_srv.ws, lfd, wr_srv_session_start, NULL);
}

static void wr_srv_tick(evutil_socket_t fd, short what, void *arg)
{
    wr_srv_main.now_ms += 100;
    for (int i = 0; i < wr_workers_count(wr_srv.ws); i++)
        wr_worker_call(wr_workers_get(wr_srv.ws, i), wr_srv_worker_reap, NULL);
    if (__atomic_load_n(&wr_srv_live, __ATOMIC_RELAXED) == 0 ||
        wr_srv_main.now_ms >= wr_srv_main.drain_until_ms)
        event_base_loopexit(wr_srv.base, NULL);
}

static void wr_srv_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct timeval tv = {0, 100000};

    if (wr_srv.draining) {
        wr_log_info("signal %d again: stopping now", (int)sig);
        event_base_loopexit(wr_srv.base, NULL);
        return;
    }
    wr_srv.draining = 1;
    wr_log_info("signal %d: draining for up to %u ms", (int)sig, wr_srv.conf->drain_ms);
    event_del(wr_srv_main.listener);
    wr_ingress_drain();
    for (int i = 0; i < wr_workers_count(wr_srv.ws); i++)
        wr_worker_call(wr_workers_get(wr_srv.ws, i), wr_srv_worker_drain, NULL);
    wr_srv_main.drain_until_ms = wr_srv.conf->drain_ms;
    wr_srv_main.now_ms = 0;
    wr_srv_main.tick = event_new(wr_srv.base, -1, EV_PERSIST, wr_srv_tick, NULL);
    if (wr_srv_main.tick == NULL || event_add(wr_srv_main.tick, &tv) != 0)
        event_base_loopexit(wr_srv.base, NULL);
}

static void wr_srv_on_sighup(evutil_socket_t sig, short what, void *arg)
{
    if (wr_log_reopen() != 0)
        wr_log_warn("signal %d: cannot reopen the log: %s", (int)sig, strerror(errno));
    wr_plugins_reopen(); /* plugins with files of their own reopen them */
}

static void wr_srv_worker_plugins(wr_worker_t *w, void *arg)
{
    if (wr_plugins_worker_init(wr_srv.plugins, wr_worker_base(w), wr_worker_id(w)) != 0) {
        /* The server does not run with a plugin half started. */
        wr_log_error("worker %d: a plugin failed to start: stopping", wr_worker_id(w));
        __atomic_store_n(&wr_srv.failed, 1, __ATOMIC_RELAXED);
        event_base_loopexit(wr_srv.base, NULL);
    }
}

static void wr_srv_worker_plugins_exit(wr_worker_t *w, void *arg)
{
    wr_plugins_worker_exit(wr_srv.plugins, wr_worker_id(w));
}

int wr_server_run(const wr_server_conf_t *c)
{
    wr_srv_main_t *sm = &wr_srv_main;
    wr_addr_t addr;
    char why[256], buf[64];
    int rc = 1;

    memset(&wr_srv, 0, sizeof(wr_srv));
    memset(sm, 0, sizeof(*sm));
    sm->lfd = -1;
    wr_srv.conf = c;
    if (wr_addr_parse(c->listen, &addr, why, sizeof(why)) != 0) {
        wr_log_error("listen address: %s", why);
        return 1;
    }
    {
        char host[300];
        snprintf(host, sizeof(host), "%s:0", c->tcp_bind);
        if (strchr(c->tcp_bind, ':') != NULL)
            snprintf(host, sizeof(host), "[%s]:0", c->tcp_bind);
        if (wr_addr_parse(host, &wr_srv.tcp_bind, why, sizeof(why)) != 0) {
            wr_log_error("tcp_bind: %s", why);
            return 1;
        }
    }
    if (c->ntokens == 0)
        wr_log_warn("no token configured (--token, WARREN_TOKEN or tokens:): every client "
                    "will be refused");
    if (c->tls_cert != NULL) {
        wr_srv.tls = wr_tls_server_new(c->tls_cert, c->tls_key, c->tls_ca, why, sizeof(why));
        if (wr_srv.tls == NULL) {
            wr_log_error("%s", why);
            return 1;
        }
    }
    wr_srv.ws = wr_workers_new((int)c->rt.workers);
    if (wr_srv.ws == NULL)
        goto out;
    /* Before the plugins, whose ids become labels: one shard per worker,
     * one for this thread. */
    if (wr_stats_init(WR_STATS_SERVER, (unsigned)wr_workers_count(wr_srv.ws) + 1) != 0)
        goto out;
    {
        wr_conf_err_t err;
        memset(&err, 0, sizeof(err));
        wr_srv.plugins =
            wr_plugins_load(c->plugins, WR_SIDE_SERVER, wr_workers_count(wr_srv.ws), &err);
        if (wr_srv.plugins == NULL) {
            wr_log_error("%s", err.msg[0] ? err.msg : "cannot load plugins: out of memory");
            goto out;
        }
    }
    wr_srv.base = event_base_new();
    if (wr_srv.base == NULL)
        goto out;
    for (int i = 0; i < wr_workers_count(wr_srv.ws); i++) {
        /* Run in reverse: public HTTP connections go before the sessions,
         * and both before the plugins' exit_worker. */
        wr_worker_at_stop(wr_workers_get(wr_srv.ws, i), wr_srv_worker_plugins_exit, NULL);
        wr_worker_at_stop(wr_workers_get(wr_srv.ws, i), wr_srv_worker_stop, NULL);
        wr_worker_at_stop(wr_workers_get(wr_srv.ws, i), wr_ingress_worker_stop, NULL);
    }
    sm->lfd = wr_listen(&addr, 1024);
    if (sm->lfd == -1) {
        wr_log_error("cannot listen on %s: %s", c->listen, strerror(errno));
        goto out;
    }
    sm->listener = event_new(wr_srv.base, sm->lfd, EV_READ | EV_PERSIST, wr_srv_on_accept, NULL);
    sm->sigint = evsignal_new(wr_srv.base, SIGINT, wr_srv_on_signal, NULL);
    sm->sigterm = evsignal_new(wr_srv.base, SIGTERM, wr_srv_on_signal, NULL);
    sm->sighup = evsignal_new(wr_srv.base, SIGHUP, wr_srv_on_sighup, NULL);
    sm->sigusr1 = evsignal_new(wr_srv.base, SIGUSR1, wr_srv_on_sighup, NULL);
    if (sm->sigusr1 == NULL || event_add(sm->sigusr1, NULL) != 0)
        goto out;
    if (sm->listener == NULL || sm->sigint == NULL || sm->sigterm == NULL || sm->sighup == NULL ||
        event_add(sm->listener, NULL) != 0 || event_add(sm->sigint, NULL) != 0 ||
        event_add(sm->sigterm, NULL) != 0 || event_add(sm->sighup, NULL) != 0)
        goto out;
    if (wr_ingress_enabled(&c->http)) {
        if (wr_ingress_start(&c->http, wr_srv.ws, wr_srv.base, &wr_srv.http_port, why,
                             sizeof(why)) != 0) {
            wr_log_error("%s", why);
            goto out;
        }
        wr_srv.http = 1;
    }
    if (wr_admin_enabled(c->admin.bind)) {
        wr_admin_hooks_t hooks = {.side = "server", .status = wr_srv_status};
        uint16_t port;
        wr_srv.admin_http =
            wr_admin_listen(wr_srv.base, c->admin.bind, "admin.bind", &port, why, sizeof(why));
        if (wr_srv.admin_http == NULL) {
            wr_log_error("%s", why);
            goto out;
        }
        wr_srv.admin = wr_admin_routes(wr_srv.admin_http, &hooks);
        if (wr_srv.admin == NULL)
            goto out;
        wr_log_info("admin listener on %s port %u (/metrics, /status, /healthz)", c->admin.bind,
                    port);
    }
    if (wr_workers_start(wr_srv.ws) != 0)
        goto out;
    /* Queued before any connection can be handed to a worker. */
    for (int i = 0; i < wr_workers_count(wr_srv.ws); i++)
        wr_worker_call(wr_workers_get(wr_srv.ws, i), wr_srv_worker_plugins, NULL);
    wr_log_info("warren server listening on %s (%s), tcp ports %u-%u on %s, %d workers",
                wr_addr_format(&addr, buf, sizeof(buf)),
                wr_srv.tls ? (c->tls_ca ? "TLS 1.3, client certificates required" : "TLS 1.3")
                           : "plain TCP",
                c->port_lo, c->port_hi, c->tcp_bind, wr_workers_count(wr_srv.ws));
    if (wr_srv.http)
        wr_log_info("http%s ingress on %s port %u%s%s", wr_ingress_tls() ? "s" : "", c->http.bind,
                    wr_srv.http_port, c->http.domain ? ", subdomains of " : "",
                    c->http.domain ? c->http.domain : "");
    event_base_dispatch(wr_srv.base);
    rc = __atomic_load_n(&wr_srv.failed, __ATOMIC_RELAXED) ? 1 : 0;
    wr_log_info("stopped");

out:
    if (wr_srv.ws)
        wr_workers_free(wr_srv.ws); /* stops the workers: sessions are freed there */
    if (sm->listener)
        event_free(sm->listener);
    if (sm->sigint)
        event_free(sm->sigint);
    if (sm->sigterm)
        event_free(sm->sigterm);
    if (sm->sighup)
        event_free(sm->sighup);
    if (sm->sigusr1)
        event_free(sm->sigusr1);
    if (sm->tick)
        event_free(sm->tick);
    if (sm->lfd != -1)
        close(sm->lfd);
    while (wr_srv.jobs != NULL) /* their workers have answered, too late */
        wr_srv_job_free(wr_srv.jobs);
    wr_admin_free(wr_srv.admin);
    if (wr_srv.admin_http)
        evhttp_free(wr_srv.admin_http);
    wr_ingress_free();
    wr_reg_clear();
    if (wr_srv.base)
        event_base_free(wr_srv.base);
    wr_tls_free(wr_srv.tls);
    wr_plugins_free(wr_srv.plugins);
    wr_srv.plugins = NULL;
    wr_stats_free();
    return rc;
}
