/*
 * wr_client: `warren client` (see wr_client.h).
 */
#include "wr_client.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "wr_frame.h"
#include "wr_json.h"
#include "wr_log.h"
#include "wr_opt.h"
#include "wr_mux.h"
#include "wr_net.h"
#include "wr_pipe.h"
#include "wr_plugin.h"
#include "wr_stats.h"
#include "wr_tls.h"

/* --- configuration ----------------------------------------------------- */

void wr_client_conf_default(wr_client_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->server = "127.0.0.1:7835";
    c->backoff_initial_ms = 500;
    c->backoff_max_ms = 30000;
    c->heartbeat_ms = 10000;
    wr_proxy_conf_default(&c->http);
    wr_cfg_default(&c->rt);
    wr_dash_conf_default(&c->dash);
}

static const char *const wr_cli_prio_names[] = {"critical", "high", "normal", "low", NULL};
static const char *const wr_cli_type_names[] = {"tcp", "http", NULL};

static const wr_conf_field_t wr_cli_tunnel_fields[] = {
    {.key = "name",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_tunnel_conf_t, name),
     .flags = WR_CONF_REQUIRED},
    {.key = "type",
     .kind = WR_CONF_ENUM,
     .offset = offsetof(wr_client_tunnel_conf_t, type),
     .enum_names = wr_cli_type_names},
    {.key = "local",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_tunnel_conf_t, local),
     .flags = WR_CONF_REQUIRED},
    {.key = "remote_port",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_client_tunnel_conf_t, remote_port),
     .min = 1,
     .max = 65535},
    {.key = "subdomain",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_tunnel_conf_t, subdomain)},
    {.key = "hostname",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_tunnel_conf_t, hostname)},
    {.key = "host_header",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_tunnel_conf_t, host_header)},
    {.key = "priority",
     .kind = WR_CONF_ENUM,
     .offset = offsetof(wr_client_tunnel_conf_t, priority),
     .enum_names = wr_cli_prio_names},
    {.key = NULL},
};

/* What a tunnel of each type needs. With node, errors name its place in
 * the file; without, they are for flags. */
static int wr_cli_tunnel_check(const wr_client_tunnel_conf_t *t, wr_conf_err_t *err,
                               const wr_conf_node_t *node)
{
    const char *why = NULL;

    if (t->type == WR_CLIENT_TCP && t->remote_port == 0)
        why = "a tcp tunnel needs remote_port";
    else if (t->type == WR_CLIENT_TCP && (t->subdomain || t->hostname || t->host_header))
        why = "subdomain, hostname and host_header are for http tunnels";
    else if (t->type == WR_CLIENT_HTTP && (t->subdomain == NULL) == (t->hostname == NULL))
        why = "an http tunnel needs one of subdomain and hostname";
    else if (t->type == WR_CLIENT_HTTP && t->remote_port != 0)
        why = "remote_port is for tcp tunnels";
    if (why == NULL)
        return 0;
    if (node != NULL)
        return wr_conf_node_error(err, node, "tunnel '%s': %s", t->name, why);
    snprintf(err->msg, sizeof(err->msg), "%s", why);
    return -1;
}

static int wr_cli_tunnels_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                                wr_conf_err_t *err)
{
    wr_client_conf_t *c = (wr_client_conf_t *)((char *)dst - offsetof(wr_client_conf_t, tunnels));

    if (wr_conf_node_expect(node, WR_CONF_NODE_SEQ, err) != 0)
        return -1;
    for (size_t i = 0; i < wr_conf_seq_len(node); i++) {
        const wr_conf_node_t *t = wr_conf_seq_at(node, i);
        wr_client_tunnel_conf_t *tc = &c->tunnels[c->ntunnels];
        if (c->ntunnels >= WR_CTL_MAX_TUNNELS)
            return wr_conf_node_error(err, t, "more than %d tunnels", WR_CTL_MAX_TUNNELS);
        memset(tc, 0, sizeof(*tc));
        tc->priority = 2;
        if (wr_conf_apply(t, wr_cli_tunnel_fields, tc, err) != 0)
            return -1;
        if (wr_cli_tunnel_check(tc, err, t) != 0)
            return -1;
        c->ntunnels++;
    }
    return 0;
}

static const wr_conf_field_t wr_cli_tls_fields[] = {
    {.key = "enabled", .kind = WR_CONF_BOOL, .offset = offsetof(wr_client_conf_t, tls)},
    {.key = "ca", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, tls_ca)},
    {.key = "cert", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, tls_cert)},
    {.key = "key", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, tls_key)},
    {.key = "server_name",
     .kind = WR_CONF_STRING,
     .offset = offsetof(wr_client_conf_t, tls_server_name)},
    {.key = "insecure", .kind = WR_CONF_BOOL, .offset = offsetof(wr_client_conf_t, tls_insecure)},
    {.key = NULL},
};

static const wr_conf_field_t wr_cli_reconnect_fields[] = {
    {.key = "initial",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_client_conf_t, backoff_initial_ms),
     .min = 10,
     .max = 3600000},
    {.key = "max",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_client_conf_t, backoff_max_ms),
     .min = 10,
     .max = 3600000},
    {.key = NULL},
};

static const wr_conf_field_t wr_cli_http_fields[] = {
    {.key = "max_idle",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_proxy_conf_t, max_idle),
     .min = 0,
     .max = 10000},
    {.key = "idle_timeout",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_proxy_conf_t, idle_ms),
     .min = 100,
     .max = 86400000},
    {.key = "response_timeout",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_proxy_conf_t, response_ms),
     .min = 100,
     .max = 86400000},
    {.key = "max_header",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_proxy_conf_t, max_header),
     .min = 1024,
     .max = 1024 * 1024},
    {.key = NULL},
};

/* dashboard: off, or a map of these. */
typedef struct {
    const char *bind, *token;
    int capture;
    int64_t max_entries;
    uint64_t max_body, max_total;
} wr_cli_dash_yaml_t;

static const wr_conf_field_t wr_cli_dash_fields[] = {
    {.key = "bind", .kind = WR_CONF_STRING, .offset = offsetof(wr_cli_dash_yaml_t, bind)},
    {.key = "token", .kind = WR_CONF_STRING, .offset = offsetof(wr_cli_dash_yaml_t, token)},
    {.key = "capture", .kind = WR_CONF_BOOL, .offset = offsetof(wr_cli_dash_yaml_t, capture)},
    {.key = "max_entries",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_cli_dash_yaml_t, max_entries),
     .min = 1,
     .max = 100000},
    {.key = "max_body",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_cli_dash_yaml_t, max_body),
     .min = 0,
     .max = 64 * 1024 * 1024},
    {.key = "max_total",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(wr_cli_dash_yaml_t, max_total),
     .min = 1024 * 1024,
     .max = (int64_t)16 * 1024 * 1024 * 1024},
    {.key = NULL},
};

static int wr_cli_dashboard_field(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                                  wr_conf_err_t *err)
{
    wr_client_conf_t *c = (wr_client_conf_t *)((char *)dst - offsetof(wr_client_conf_t, dash));
    wr_cli_dash_yaml_t y;
    const wr_conf_node_t *bind;
    int on;

    if (wr_conf_node_kind(node) == WR_CONF_NODE_SCALAR && !wr_conf_node_is_null(node)) {
        if (wr_parse_bool(wr_conf_node_scalar(node), &on) != 0)
            return wr_conf_node_error(err, node,
                                      "'dashboard' expects off, on, or a map (bind, token, "
                                      "capture, max_entries, max_body, max_total)");
        if (!on)
            c->dash.bind = NULL;
        c->dash_given = !on;
        return 0;
    }
    memset(&y, 0, sizeof(y));
    y.bind = c->dash.bind;
    y.token = c->dash.token;
    y.capture = c->dash.capture;
    y.max_entries = (int64_t)c->dash.cap.max_entries;
    y.max_body = c->dash.cap.max_body;
    y.max_total = c->dash.cap.max_total;
    if (wr_conf_apply(node, wr_cli_dash_fields, &y, err) != 0)
        return -1;
    bind = wr_conf_map_get(node, "bind");
    if (bind != NULL) {
        c->dash_given = 1;
        if (strcmp(y.bind, "off") == 0)
            y.bind = NULL;
    }
    c->dash.bind = y.bind;
    c->dash.token = y.token;
    c->dash.capture = y.capture;
    c->dash.cap.max_entries = (uint64_t)y.max_entries;
    c->dash.cap.max_body = y.max_body;
    c->dash.cap.max_total = y.max_total;
    c->dash_node = bind ? bind : node;
    c->dash_node_bind = c->dash.bind;
    return 0;
}

static const wr_conf_field_t wr_cli_fields[] = {
    {.key = "server", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, server)},
    {.key = "token", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, token)},
    {.key = "token_file", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, token_file)},
    {.key = "name", .kind = WR_CONF_STRING, .offset = offsetof(wr_client_conf_t, name)},
    {.key = "tls", .kind = WR_CONF_MAP, .offset = 0, .children = wr_cli_tls_fields},
    {.key = "reconnect", .kind = WR_CONF_MAP, .offset = 0, .children = wr_cli_reconnect_fields},
    {.key = "heartbeat",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(wr_client_conf_t, heartbeat_ms),
     .min = 100,
     .max = 3600000},
    {.key = "http",
     .kind = WR_CONF_MAP,
     .offset = offsetof(wr_client_conf_t, http),
     .children = wr_cli_http_fields},
    {.key = "plugins", .kind = WR_CONF_RAW_SEQ, .offset = offsetof(wr_client_conf_t, plugins)},
    {.key = "dashboard",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_client_conf_t, dash),
     .handler = wr_cli_dashboard_field},
    {.key = "tunnels",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(wr_client_conf_t, tunnels),
     .handler = wr_cli_tunnels_field},
    {.key = NULL},
};

int wr_client_conf_apply(const wr_conf_node_t *root, wr_client_conf_t *c, wr_conf_err_t *err)
{
    wr_conf_field_t all[sizeof(wr_cli_fields) / sizeof(wr_cli_fields[0]) + 8];
    size_t n = 0;

    for (const wr_conf_field_t *f = wr_cli_fields; f->key; f++)
        all[n++] = *f;
    for (const wr_conf_field_t *f = wr_cfg_fields; f->key; f++) {
        all[n] = *f;
        all[n].offset += offsetof(wr_client_conf_t, rt);
        n++;
    }
    all[n].key = NULL;
    if (wr_conf_apply(root, all, c, err) != 0)
        return -1;
    if (c->backoff_max_ms < c->backoff_initial_ms)
        c->backoff_max_ms = c->backoff_initial_ms;
    return wr_cfg_check(root, &c->rt, err);
}

int wr_client_conf_check(const wr_client_conf_t *c, wr_conf_err_t *err)
{
    char why[400];
    const char *bad = wr_dash_conf_check(&c->dash, why, sizeof(why));

    if (bad == NULL)
        return 0;
    /* Where the address came from: the file's line, unless a flag or a
     * variable replaced it. */
    if (c->dash_node != NULL && c->dash.bind == c->dash_node_bind)
        return wr_conf_node_error(err, c->dash_node, "%s", bad);
    snprintf(err->msg, sizeof(err->msg), "%s", bad);
    return -1;
}

static void wr_client_usage(FILE *f)
{
    fprintf(f, "usage: warren client [-c FILE] [options]\n"
               "  -c, --config FILE        client.yaml (see docs/configuration.md)\n"
               "      --server HOST:PORT   the warren server (default 127.0.0.1:7835)\n"
               "      --token TOKEN        (also WARREN_TOKEN, token_file:, or a prompt)\n"
               "      --local-addr ADDR    quick mode: the local service to publish\n"
               "      --remote-port PORT   quick mode: its public port on the server\n"
               "      --subdomain NAME     quick mode, HTTP: NAME.<the server's domain>\n"
               "      --hostname HOST      quick mode, HTTP: an exact hostname\n"
               "      --host-header HOST   quick mode, HTTP: Host sent to the local service\n"
               "      --name NAME          quick mode: the tunnel's name (default tcp-PORT, web)\n"
               "      --tls                connect with TLS 1.3 (server certificate verified)\n"
               "      --tls-ca FILE        CA that signed the server certificate\n"
               "      --tls-server-name N  name expected in the server certificate\n"
               "      --tls-cert FILE      client certificate (mTLS) ...\n"
               "      --tls-key FILE       ... and its key\n"
               "      --tls-insecure       do not verify the server (warns)\n"
               "      --dashboard-port N   the dashboard's port on 127.0.0.1 (default 4040; off)\n"
               "      --dashboard-bind A   its address, HOST or HOST:PORT (off: no dashboard)\n"
               "      --dashboard-token T  its token (required off loopback)\n"
               "      --log-level L        error, warn, info, debug\n"
               "Every option --foo-bar may also be set as WARREN_FOO_BAR (the flag wins).\n");
}

/* Read a token without echo from the terminal. */
static int wr_client_prompt_token(wr_client_conf_t *c)
{
    struct termios old, quiet;
    size_t n;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "warren token: ");
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    if (fgets(c->token_buf, sizeof(c->token_buf), stdin) == NULL)
        c->token_buf[0] = '\0';
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    n = strcspn(c->token_buf, "\r\n");
    c->token_buf[n] = '\0';
    c->token = c->token_buf;
    return n > 0 ? 0 : -1;
}

static int wr_client_read_token_file(wr_client_conf_t *c)
{
    int fd = open(c->token_file, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd == -1) {
        fprintf(stderr, "warren: token_file '%s': %s\n", c->token_file, strerror(errno));
        return -1;
    }
    n = read(fd, c->token_buf, sizeof(c->token_buf) - 1);
    close(fd);
    if (n <= 0) {
        fprintf(stderr, "warren: token_file '%s' is empty\n", c->token_file);
        return -1;
    }
    c->token_buf[n] = '\0';
    c->token_buf[strcspn(c->token_buf, "\r\n")] = '\0';
    c->token = c->token_buf;
    return 0;
}

static int wr_client_conf_apply_any(const wr_conf_node_t *root, void *c, wr_conf_err_t *err)
{
    return wr_client_conf_apply(root, c, err);
}

/* --dashboard-bind HOST[:PORT]|off and --dashboard-port PORT|off over the
 * file's dashboard.bind: either flag may change one part of the address. */
static int wr_cli_dash_flags(wr_client_conf_t *c, const char *bind, const char *port)
{
    const char *cur = c->dash.bind ? c->dash.bind : WR_DASH_DEFAULT_BIND;
    char host[256], portbuf[16];
    const char *colon;
    int64_t n;

    c->dash_given = 1;
    if ((bind != NULL && strcmp(bind, "off") == 0) || (port != NULL && strcmp(port, "off") == 0)) {
        c->dash.bind = NULL;
        return 0;
    }
    if (port != NULL && (wr_parse_int64(port, &n) != 0 || n < 0 || n > 65535)) {
        fprintf(stderr, "warren: --dashboard-port expects 0..65535 or off, got '%s'\n", port);
        return -1;
    }
    /* HOST:PORT, [V6]:PORT, or a bare HOST / [V6] */
    if (bind != NULL) {
        const char *end = bind[0] == '[' ? strchr(bind, ']') : NULL;
        colon = strrchr(end ? end : bind, ':');
        if (colon == NULL) {
            snprintf(host, sizeof(host), "%s", bind);
            bind = NULL; /* the port comes from elsewhere */
        } else {
            snprintf(host, sizeof(host), "%.*s", (int)(colon - bind), bind);
        }
    } else {
        const char *end = cur[0] == '[' ? strchr(cur, ']') : NULL;
        colon = strrchr(end ? end : cur, ':');
        snprintf(host, sizeof(host), "%.*s", (int)(colon ? colon - cur : (long)strlen(cur)), cur);
    }
    if (port != NULL) {
        snprintf(portbuf, sizeof(portbuf), "%s", port);
    } else if (bind != NULL) {
        snprintf(portbuf, sizeof(portbuf), "%s", strrchr(bind, ':') + 1);
    } else {
        const char *end = cur[0] == '[' ? strchr(cur, ']') : NULL;
        colon = strrchr(end ? end : cur, ':');
        snprintf(portbuf, sizeof(portbuf), "%s", colon ? colon + 1 : "4040");
    }
    snprintf(c->dash_bind_buf, sizeof(c->dash_bind_buf), "%s:%s", host, portbuf);
    c->dash.bind = c->dash_bind_buf;
    return 0;
}

int wr_client_conf_load(int argc, char **argv, wr_client_conf_t *c, wr_conf_t **confp)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"server", required_argument, 0, 's'},
        {"token", required_argument, 0, 't'},
        {"local-addr", required_argument, 0, 'l'},
        {"remote-port", required_argument, 0, 'r'},
        {"name", required_argument, 0, 'n'},
        {"subdomain", required_argument, 0, 'S'},
        {"hostname", required_argument, 0, 'H'},
        {"host-header", required_argument, 0, 'O'},
        {"tls", no_argument, 0, 'T'},
        {"tls-ca", required_argument, 0, 'A'},
        {"tls-cert", required_argument, 0, 'C'},
        {"tls-key", required_argument, 0, 'K'},
        {"tls-server-name", required_argument, 0, 'N'},
        {"tls-insecure", no_argument, 0, 'I'},
        {"log-level", required_argument, 0, 'L'},
        {"dashboard-port", required_argument, 0, 'P'},
        {"dashboard-bind", required_argument, 0, 'B'},
        {"dashboard-token", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static char quick_name[32];
    const char *local = NULL, *qname = NULL, *sub = NULL, *host = NULL, *hosthdr = NULL;
    const char *dbind = NULL, *dport = NULL;
    int64_t rport = 0;
    int ch;

    wr_client_conf_default(c);
    optind = 1;
    if (wr_opt_begin(opts, argc, argv, &c->args, wr_client_conf_apply_any, c, confp) != 0)
        return 1;
    argc = c->args.argc;
    argv = c->args.argv;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            break;
        case 's':
            c->server = optarg;
            break;
        case 't':
            c->token = optarg[0] != '\0' ? optarg : NULL; /* empty: none given */
            break;
        case 'l':
            local = optarg;
            break;
        case 'r':
            if (wr_parse_int64(optarg, &rport) != 0 || rport < 1 || rport > 65535) {
                fprintf(stderr, "warren: --remote-port expects 1..65535, got '%s'\n", optarg);
                return 1;
            }
            break;
        case 'n':
            qname = optarg;
            break;
        case 'S':
            sub = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'O':
            hosthdr = optarg;
            break;
        case 'T':
            c->tls = 1;
            break;
        case 'A':
            c->tls_ca = optarg;
            c->tls = 1;
            break;
        case 'C':
            c->tls_cert = optarg;
            c->tls = 1;
            break;
        case 'K':
            c->tls_key = optarg;
            c->tls = 1;
            break;
        case 'N':
            c->tls_server_name = optarg;
            break;
        case 'I':
            c->tls_insecure = 1;
            c->tls = 1;
            break;
        case 'L':
            if (wr_opt_log_level(optarg, &c->rt.log_level) != 0)
                return 1;
            break;
        case 'P':
            dport = optarg;
            break;
        case 'B':
            dbind = optarg;
            break;
        case 'D':
            c->dash.token = optarg[0] != '\0' ? optarg : NULL;
            break;
        case 'h':
            wr_client_usage(stdout);
            return 2;
        default:
            wr_client_usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "warren: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if ((dbind != NULL || dport != NULL) && wr_cli_dash_flags(c, dbind, dport) != 0)
        return 1;
    if (local != NULL || rport != 0 || sub != NULL || host != NULL) {
        wr_client_tunnel_conf_t *t = &c->tunnels[0];
        wr_conf_err_t err;
        if (local == NULL || (rport != 0) + (sub != NULL) + (host != NULL) != 1) {
            fprintf(stderr, "warren: quick mode needs --local-addr and one of --remote-port, "
                            "--subdomain and --hostname\n");
            return 1;
        }
        memset(t, 0, sizeof(*t));
        t->local = local;
        t->remote_port = rport;
        t->priority = 2;
        t->type = rport != 0 ? WR_CLIENT_TCP : WR_CLIENT_HTTP;
        t->subdomain = sub;
        t->hostname = host;
        t->host_header = hosthdr;
        if (rport != 0)
            snprintf(quick_name, sizeof(quick_name), "tcp-%d", (int)rport);
        else
            snprintf(quick_name, sizeof(quick_name), "web");
        t->name = qname ? qname : quick_name;
        memset(&err, 0, sizeof(err));
        if (wr_cli_tunnel_check(t, &err, NULL) != 0) {
            fprintf(stderr, "warren: %s\n", err.msg);
            return 1;
        }
        c->ntunnels = 1;
    }
    if (c->ntunnels == 0) {
        fprintf(stderr, "warren: no tunnel: give --local-addr and --remote-port, or tunnels: "
                        "in the config file\n");
        return 1;
    }
    if (c->token == NULL && c->token_file != NULL && wr_client_read_token_file(c) != 0)
        return 1;
    if (c->token == NULL && wr_client_prompt_token(c) != 0) {
        fprintf(stderr, "warren: no token: give --token, WARREN_TOKEN, token_file: or type it "
                        "at the prompt\n");
        return 1;
    }
    if (strlen(c->token) > WR_CTL_TOKEN_MAX) {
        fprintf(stderr, "warren: the token is longer than %d bytes\n", WR_CTL_TOKEN_MAX);
        return 1;
    }
    {
        wr_conf_err_t err;
        memset(&err, 0, sizeof(err));
        if (wr_client_conf_check(c, &err) != 0) {
            fprintf(stderr, "warren: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}

/* --- the session ------------------------------------------------------- */

typedef struct {
    wr_client_conf_t *conf;
    struct event_base *base;
    wr_plugins_t *plugins;
    wr_tls_t *tls;
    wr_addr_t server_addr;
    char server_host[256];
    struct bufferevent *bev; /* during the TLS handshake */
    wr_mux_t *m;
    wr_mux_stream_t *ctl;
    struct evbuffer *ctlbuf;
    wr_ctl_msg_t *openmsg; /* each stream's OPEN is decoded here (about 40 KiB) */
    struct event *retry, *heartbeat, *sigint, *sigterm;
    uint8_t instance[16];
    unsigned attempt;
    uint32_t retry_after_ms;
    uint64_t hb_seq, hb_acked;
    wr_proxy_t *proxies[WR_CTL_MAX_TUNNELS]; /* http tunnels: their pools */
    struct event *sighup, *sigusr1;
    /* plugins: the session's phases and slots */
    wr_ctx_t pctx;
    wr_pslots_t slots;
    uint64_t session_id; /* sessions so far, for plugins and logs */
    int p_open;          /* session_open ran: session_close is due */
    int welcomed;
    int exit_code;
    int stopping;
    /* metrics and the status page */
    unsigned mx[WR_CTL_MAX_TUNNELS];       /* the tunnels' wr_stats labels */
    char address[WR_CTL_MAX_TUNNELS][264]; /* their public addresses (WELCOME) */
    int state;                             /* WR_CSTATE_*, -1 before the first */
    int attempting;                        /* a session is being set up */
    int hs_fail;                           /* and why it failed (WR_HS_*), or -1 */
    uint64_t since_us;                     /* wall clock of the WELCOME */
    uint64_t reconnects;
    struct evhttp *http; /* the local HTTP listener (wr_client_http) */
    wr_admin_t *admin;
    wr_dash_t *dash;
} wr_client_t;

static wr_client_t wr_cli;

typedef struct {
    wr_mux_stream_t *s;
    struct evbuffer *head; /* stream bytes until OPEN is complete */
    struct bufferevent *bev;
    const wr_client_tunnel_conf_t *t;
    wr_prec_t *pr; /* tcp, with plugins: the connection's record */
} wr_cli_open_t;

static void wr_cli_schedule(void);
static void wr_cli_dash_tunnel(const wr_ctl_tunnel_t *t);

/* warren_client_session_state: 1 for the state the client is in. */
static void wr_cli_set_state(int state)
{
    if (state == wr_cli.state)
        return;
    if (wr_cli.state >= 0)
        wr_metric_add(wr_stats.client_state, (unsigned)wr_cli.state, 0, -1);
    wr_metric_add(wr_stats.client_state, (unsigned)state, 0, 1);
    wr_cli.state = state;
}

/* --- plugins ----------------------------------------------------------- */

/* The session as plugins see it: the server, and the tunnels configured. */
static const char *wr_cli_ss_str(void *host, int key, int i)
{
    const wr_client_tunnel_conf_t *t;

    if (key == WR_KEY_PEER)
        return wr_cli.conf->server;
    if (i < 0 || (size_t)i >= wr_cli.conf->ntunnels)
        return NULL;
    t = &wr_cli.conf->tunnels[i];
    switch (key) {
    case WR_KEY_TUNNEL:
        return t->name;
    case WR_KEY_TUNNEL_TYPE:
        return t->type == WR_CLIENT_HTTP ? "http" : "tcp";
    case WR_KEY_HOSTNAME:
        return t->hostname;
    case WR_KEY_SUBDOMAIN:
        return t->subdomain;
    default:
        return NULL;
    }
}

static int64_t wr_cli_ss_num(void *host, int key, int i)
{
    if (key == WR_KEY_TUNNEL_COUNT)
        return (int64_t)wr_cli.conf->ntunnels;
    if (key == WR_KEY_PORT && i >= 0 && (size_t)i < wr_cli.conf->ntunnels &&
        wr_cli.conf->tunnels[i].type == WR_CLIENT_TCP)
        return wr_cli.conf->tunnels[i].remote_port;
    return -1;
}

static const wr_phost_ops_t wr_cli_ss_ops = {wr_cli_ss_str, wr_cli_ss_num, NULL};

static void wr_cli_ss_ctx(void)
{
    wr_ctx_init(&wr_cli.pctx, wr_cli.plugins, &wr_cli_ss_ops, NULL, 0);
    wr_cli.pctx.session_id = wr_cli.session_id;
    wr_cli.pctx.session = &wr_cli.slots;
}

/* Tell the HTTP proxies which session their requests belong to (0, NULL:
 * none). */
static void wr_cli_proxies_session(uint64_t sid, wr_pslots_t *slots)
{
    for (size_t i = 0; i < wr_cli.conf->ntunnels; i++)
        if (wr_cli.proxies[i] != NULL)
            wr_proxy_set_session(wr_cli.proxies[i], sid, slots);
}

/* A TCP connection's record ends: log and stream_close. */
static void wr_cli_conn_end(wr_prec_t *pr, uint32_t stream_id, unsigned status, const char *why)
{
    pr->status = status;
    wr_prec_error(pr, why);
    wr_prec_ctx(pr, wr_cli.session_id, stream_id, &wr_cli.slots);
    wr_prec_free(pr);
}

static void wr_cli_session_end(const char *why)
{
    if (wr_cli.heartbeat)
        event_del(wr_cli.heartbeat);
    if (wr_cli.ctl) {
        wr_mux_stream_close(wr_cli.ctl);
        wr_cli.ctl = NULL;
    }
    if (wr_cli.m) {
        wr_mux_free(wr_cli.m);
        wr_cli.m = NULL;
    }
    if (wr_cli.bev) {
        bufferevent_free(wr_cli.bev);
        wr_cli.bev = NULL;
    }
    evbuffer_drain(wr_cli.ctlbuf, evbuffer_get_length(wr_cli.ctlbuf));
    /* After the streams' own close phases. */
    wr_cli_proxies_session(0, NULL);
    if (wr_cli.p_open) {
        wr_cli.p_open = 0;
        wr_cli_ss_ctx();
        wr_plugins_notify(&wr_cli.pctx, WR_PHASE_SESSION_CLOSE);
    }
    wr_pslots_end(&wr_cli.slots);
    wr_dash_session(wr_cli.dash, WR_DASH_DISCONNECTED, wr_cli.conf->server, why);
    if (why != NULL)
        wr_log_warn("disconnected from %s: %s", wr_cli.conf->server, why);
    if (wr_cli.welcomed)
        wr_metric_add(wr_stats.sessions_active, 0, 0, -1);
    else if (wr_cli.attempting && (wr_cli.hs_fail >= 0 || why != NULL))
        wr_metric_add(wr_stats.handshake_failures,
                      wr_cli.hs_fail >= 0 ? (unsigned)wr_cli.hs_fail : WR_HS_CLOSED, 0, 1);
    wr_cli.attempting = 0;
    wr_cli.welcomed = 0;
    if (!wr_cli.stopping)
        wr_cli_schedule();
}

static void wr_cli_pipe_done(wr_pipe_t *p, const char *reason, const wr_pipe_stats_t *st, void *arg)
{
    wr_prec_t *pr = arg;

    wr_log_debug("connection done (%s): %llu bytes in, %llu out", reason ? reason : "closed",
                 (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out);
    if (pr != NULL) {
        /* Seen from the public client: what it sent reached the service. */
        pr->bytes_in = st->bytes_out;
        pr->bytes_out = st->bytes_in;
        wr_cli_conn_end(pr, pr->ctx.stream_id, 0, reason);
    }
}

/* why NULL: the record was handed on (or there is none). */
static void wr_cli_open_free(wr_cli_open_t *o, unsigned status, const char *why)
{
    if (o->pr != NULL)
        wr_cli_conn_end(o->pr, wr_mux_stream_id(o->s), status, why);
    if (o->head)
        evbuffer_free(o->head);
    free(o);
}

static void wr_cli_local_event(struct bufferevent *bev, short what, void *arg)
{
    wr_cli_open_t *o = arg;

    if (what & BEV_EVENT_CONNECTED) {
        /* Bytes that followed OPEN on the stream go first to the service. */
        wr_prec_t *pr = o->pr;
        bufferevent_write_buffer(bev, o->head);
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        o->pr = NULL; /* the pipe's now */
        if (wr_pipe_new(bev, o->s, NULL, wr_cli_pipe_done, pr) == NULL && pr != NULL)
            wr_cli_conn_end(pr, 0, 0, "out of memory");
        wr_cli_open_free(o, 0, NULL);
        return;
    }
    wr_log_warn("tunnel %s: cannot connect to %s: %s", o->t->name, o->t->local,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    wr_metric_add(wr_stats.local_connect_failures, wr_cli.mx[o->t - wr_cli.conf->tunnels], 0, 1);
    bufferevent_free(bev);
    wr_mux_stream_reset(o->s, WR_RST_CONNECT);
    wr_mux_stream_close(o->s);
    wr_cli_open_free(o, 502, "the local service refused the connection");
}

static void wr_cli_open_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_cli_open_t *o = arg;

    if (o->bev)
        bufferevent_free(o->bev);
    wr_mux_stream_close(s);
    wr_cli_open_free(o, 0, "the server closed the stream");
}

/* The first bytes of a stream the server opened: the OPEN message. */
static void wr_cli_open_read(wr_mux_stream_t *s, void *arg)
{
    wr_cli_open_t *o = arg;
    wr_ctl_msg_t *msg;
    wr_addr_t a;
    char why[160];
    int rc;

    if (o->bev != NULL)
        return; /* connecting: the rest waits in the stream */
    wr_mux_stream_read(s, o->head, SIZE_MAX);
    if (wr_cli.openmsg == NULL && (wr_cli.openmsg = malloc(sizeof(*msg))) == NULL)
        return;
    msg = wr_cli.openmsg;
    rc = wr_ctl_decode(o->head, msg, why, sizeof(why));
    if (rc == 1 && !wr_mux_stream_eof(s))
        return;
    if (rc != 0 || msg->type != WR_CTL_OPEN) {
        wr_log_warn("stream %u: bad OPEN: %s", wr_mux_stream_id(s),
                    rc < 0 ? why : "incomplete or wrong message");
        goto refuse;
    }
    for (size_t i = 0; i < wr_cli.conf->ntunnels; i++) {
        if (strcmp(wr_cli.conf->tunnels[i].name, msg->tunnel) == 0)
            o->t = &wr_cli.conf->tunnels[i];
    }
    if (o->t == NULL) {
        wr_log_warn("stream %u: unknown tunnel '%s'", wr_mux_stream_id(s), msg->tunnel);
        goto refuse;
    }
    wr_log_debug("tunnel %s: connection from %s", o->t->name, msg->peer);
    wr_mux_stream_set_tunnel(s, wr_cli.mx[o->t - wr_cli.conf->tunnels]);
    if (o->t->type == WR_CLIENT_HTTP) {
        wr_proxy_t *px = wr_cli.proxies[o->t - wr_cli.conf->tunnels];
        /* The proxy takes the stream over, with what followed OPEN. */
        wr_proxy_serve(px, s, o->head, msg->peer);
        wr_cli_open_free(o, 0, NULL);
        return;
    }
    o->pr = wr_prec_new(wr_cli.plugins, 0);
    if (o->pr != NULL) {
        wr_prec_begin(o->pr, NULL);
        wr_prec_set_peer(o->pr, msg->peer);
        o->pr->type = "tcp";
        o->pr->port = (int)o->t->remote_port;
        snprintf(o->pr->tunnel, sizeof(o->pr->tunnel), "%s", o->t->name);
        wr_prec_ctx(o->pr, wr_cli.session_id, wr_mux_stream_id(s), &wr_cli.slots);
        if (wr_plugins_run(&o->pr->ctx, WR_PHASE_STREAM_OPEN, NULL) == WR_REJECT) {
            wr_log_info("tunnel %s: connection from %s refused by a plugin: %s", o->t->name,
                        msg->peer, o->pr->ctx.reject_reason);
            wr_mux_stream_reset(s, WR_RST_REFUSED);
            wr_mux_stream_close(s);
            wr_cli_open_free(o, (unsigned)o->pr->ctx.reject_status, o->pr->ctx.reject_reason);
            return;
        }
    }
    if (wr_addr_parse(o->t->local, &a, why, sizeof(why)) != 0) {
        wr_log_warn("tunnel %s: local address: %s", o->t->name, why);
        goto refuse;
    }
    o->bev = bufferevent_socket_new(wr_cli.base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (o->bev == NULL)
        goto refuse;
    bufferevent_setcb(o->bev, NULL, NULL, wr_cli_local_event, o);
    if (bufferevent_socket_connect(o->bev, (struct sockaddr *)&a.ss, (int)a.len) != 0) {
        /* libevent reports an immediate failure through the event callback
         * on some paths and by return value on others. */
        wr_log_warn("tunnel %s: cannot connect to %s: %s", o->t->name, o->t->local,
                    strerror(errno));
        wr_metric_add(wr_stats.local_connect_failures, wr_cli.mx[o->t - wr_cli.conf->tunnels], 0,
                      1);
        bufferevent_free(o->bev);
        o->bev = NULL;
        wr_mux_stream_reset(s, WR_RST_CONNECT);
        wr_mux_stream_close(s);
        wr_cli_open_free(o, 502, "the local service refused the connection");
        return;
    }
    wr_sock_tune(bufferevent_getfd(o->bev), 0); /* no Nagle toward the service */
    return;

refuse:
    wr_mux_stream_reset(s, WR_RST_REFUSED);
    wr_mux_stream_close(s);
    wr_cli_open_free(o, 502, "the tunnel's local address is invalid");
}

static int wr_cli_accept(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    wr_cli_open_t *o = calloc(1, sizeof(*o));

    if (o == NULL || (o->head = evbuffer_new()) == NULL) {
        free(o);
        return -1;
    }
    o->s = s;
    wr_mux_stream_setcb(s, wr_cli_open_read, NULL, wr_cli_open_event, o);
    return 0;
}

static void wr_cli_send(const wr_ctl_msg_t *msg)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL)
        return;
    if (wr_ctl_encode(b, msg) == 0 && wr_cli.ctl)
        wr_mux_stream_write_buffer(wr_cli.ctl, b);
    evbuffer_free(b);
}

static void wr_cli_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    wr_ctl_msg_t msg;

    /* The server answers each HEARTBEAT at once: one still unanswered two
     * periods later means the server or the path is gone. */
    if (wr_cli.hb_seq >= wr_cli.hb_acked + 2) {
        wr_cli_session_end("server silent: no heartbeat answer within 2 periods");
        return;
    }
    memset(&msg, 0, sizeof(msg));
    msg.type = WR_CTL_HEARTBEAT;
    msg.seq = ++wr_cli.hb_seq;
    wr_cli_send(&msg);
}

static void wr_cli_welcome(const wr_ctl_msg_t *msg)
{
    struct timeval tv = {(time_t)(wr_cli.conf->heartbeat_ms / 1000),
                         (suseconds_t)(wr_cli.conf->heartbeat_ms % 1000) * 1000};

    wr_cli.welcomed = 1;
    wr_cli.since_us = wr_papi_time_us();
    wr_metric_add(wr_stats.sessions_active, 0, 0, 1);
    wr_metric_add(wr_stats.sessions_total, 0, 0, 1);
    wr_cli_set_state(WR_CSTATE_ACTIVE);
    wr_cli.attempt = 0;
    wr_cli.hb_seq = wr_cli.hb_acked = 0;
    wr_cli.retry_after_ms = 0;
    for (size_t i = 0; i < msg->ntunnels; i++) {
        const char *local = "?";
        for (size_t j = 0; j < wr_cli.conf->ntunnels; j++) {
            if (strcmp(wr_cli.conf->tunnels[j].name, msg->tunnels[i].name) != 0)
                continue;
            local = wr_cli.conf->tunnels[j].local;
            if (msg->tunnels[i].type == WR_TUNNEL_HTTP)
                snprintf(wr_cli.address[j], sizeof(wr_cli.address[j]), "%s",
                         msg->tunnels[i].address);
            else
                snprintf(wr_cli.address[j], sizeof(wr_cli.address[j]), "%s:%u", wr_cli.server_host,
                         msg->tunnels[i].port);
        }
        /* One line per tunnel, on stdout: what a person or a script wants. */
        if (msg->tunnels[i].type == WR_TUNNEL_HTTP)
            printf("tunnel %s: %s -> %s\n", msg->tunnels[i].name, msg->tunnels[i].address, local);
        else
            printf("tunnel %s: tcp://%s:%u -> %s\n", msg->tunnels[i].name, wr_cli.server_host,
                   msg->tunnels[i].port, local);
        wr_cli_dash_tunnel(&msg->tunnels[i]);
    }
    fflush(stdout);
    wr_dash_session(wr_cli.dash, WR_DASH_CONNECTED, wr_cli.conf->server, NULL);
    if (msg->heartbeat_ms >= 100) {
        tv.tv_sec = msg->heartbeat_ms / 1000;
        tv.tv_usec = (suseconds_t)(msg->heartbeat_ms % 1000) * 1000;
    }
    event_add(wr_cli.heartbeat, &tv);
    wr_cli.session_id++;
    wr_cli_proxies_session(wr_cli.session_id, &wr_cli.slots);
    if (wr_plugins_has(wr_cli.plugins, WR_PHASE_SESSION_OPEN) ||
        wr_plugins_has(wr_cli.plugins, WR_PHASE_SESSION_CLOSE)) {
        wr_cli.p_open = 1;
        wr_cli_ss_ctx();
        if (wr_plugins_run(&wr_cli.pctx, WR_PHASE_SESSION_OPEN, NULL) == WR_REJECT) {
            char why[200];
            snprintf(why, sizeof(why), "refused by a plugin: %s", wr_cli.pctx.reject_reason);
            /* From the loop, not from inside the control stream's read. */
            wr_mux_close(wr_cli.m, why);
        }
    }
}

static void wr_cli_ctl_read(wr_mux_stream_t *s, void *arg)
{
    wr_ctl_msg_t *msg = malloc(sizeof(*msg));
    char why[160];

    wr_mux_stream_read(s, wr_cli.ctlbuf, SIZE_MAX);
    if (msg == NULL)
        return;
    for (;;) {
        int rc = wr_ctl_decode(wr_cli.ctlbuf, msg, why, sizeof(why));
        if (rc == 1)
            break;
        if (rc < 0) {
            free(msg);
            wr_cli_session_end(why);
            return;
        }
        if (msg->type == WR_CTL_WELCOME) {
            wr_cli_welcome(msg);
        } else if (msg->type == WR_CTL_REFUSE) {
            fprintf(stderr, "warren: server refused: %s: %s\n", wr_refuse_name(msg->code),
                    msg->text);
            wr_cli.hs_fail = msg->code == WR_REFUSE_VERSION       ? WR_HS_VERSION
                             : msg->code == WR_REFUSE_AUTH        ? WR_HS_AUTH
                             : msg->code == WR_REFUSE_PORT_DENIED ? WR_HS_DENIED
                             : msg->code == WR_REFUSE_PORT_TAKEN  ? WR_HS_TAKEN
                             : msg->code == WR_REFUSE_BAD_REQUEST ? WR_HS_BAD_REQUEST
                                                                  : WR_HS_UNAVAILABLE;
            if (!wr_refuse_retryable(msg->code)) {
                wr_cli.exit_code = 1;
                wr_cli.stopping = 1;
                free(msg);
                wr_cli_session_end(NULL);
                event_base_loopexit(wr_cli.base, NULL);
                return;
            }
            wr_cli.retry_after_ms = msg->retry_after_ms;
        } else if (msg->type == WR_CTL_HEARTBEAT_ACK) {
            if (msg->seq <= wr_cli.hb_seq && msg->seq > wr_cli.hb_acked)
                wr_cli.hb_acked = msg->seq;
        } else if (msg->type == WR_CTL_NOTICE) {
            wr_log_info("server notice: %s (reconnect after %u ms)", msg->text,
                        msg->retry_after_ms);
            wr_cli.retry_after_ms = msg->retry_after_ms;
        }
    }
    free(msg);
    if (wr_mux_stream_eof(s))
        wr_cli_session_end("control stream closed by the server");
}

static void wr_cli_ctl_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_mux_stream_close(s);
    wr_cli.ctl = NULL;
}

static void wr_cli_mux_closed(wr_mux_t *m, const char *reason, void *arg)
{
    wr_cli_session_end(reason);
}

static void wr_cli_start_mux(void)
{
    wr_mux_config_t mc = wr_cli.conf->rt.mux;
    wr_mux_callbacks_t cbs = {.accept = wr_cli_accept, .closed = wr_cli_mux_closed};
    struct bufferevent *bev = wr_cli.bev;
    wr_ctl_msg_t *hello;

    mc.is_server = 0;
    mc.proto = WR_MUX_WARREN;
    wr_cli.bev = NULL;
    wr_cli.m = wr_mux_new(wr_cli.base, bev, &mc, &cbs, NULL);
    if (wr_cli.m == NULL) {
        wr_cli_session_end("cannot start the mux session");
        return;
    }
    wr_cli.ctl = wr_mux_stream_open(wr_cli.m, WR_PRIO_CRITICAL);
    hello = calloc(1, sizeof(*hello));
    if (wr_cli.ctl == NULL || hello == NULL) {
        free(hello);
        wr_cli_session_end("cannot open the control stream");
        return;
    }
    wr_mux_stream_setcb(wr_cli.ctl, wr_cli_ctl_read, NULL, wr_cli_ctl_event, NULL);
    hello->type = WR_CTL_HELLO;
    hello->version_min = WR_CTL_VERSION;
    hello->version_max = WR_CTL_VERSION;
    hello->token_len = strlen(wr_cli.conf->token);
    memcpy(hello->token, wr_cli.conf->token, hello->token_len);
    memcpy(hello->instance, wr_cli.instance, 16);
    if (wr_cli.conf->name)
        snprintf(hello->client_name, sizeof(hello->client_name), "%s", wr_cli.conf->name);
    for (size_t i = 0; i < wr_cli.conf->ntunnels; i++) {
        const wr_client_tunnel_conf_t *t = &wr_cli.conf->tunnels[i];
        snprintf(hello->tunnels[i].name, sizeof(hello->tunnels[i].name), "%s", t->name);
        hello->tunnels[i].type = t->type == WR_CLIENT_HTTP ? WR_TUNNEL_HTTP : WR_TUNNEL_TCP;
        hello->tunnels[i].port = (uint16_t)t->remote_port;
        if (t->subdomain)
            snprintf(hello->tunnels[i].subdomain, sizeof(hello->tunnels[i].subdomain), "%s",
                     t->subdomain);
        if (t->hostname)
            snprintf(hello->tunnels[i].hostname, sizeof(hello->tunnels[i].hostname), "%s",
                     t->hostname);
        hello->tunnels[i].priority = (uint8_t)t->priority;
    }
    hello->ntunnels = wr_cli.conf->ntunnels;
    wr_cli_send(hello);
    memset(hello->token, 0, sizeof(hello->token));
    free(hello);
}

static void wr_cli_tls_event(struct bufferevent *bev, short what, void *arg)
{
    char why[200], msg[240];

    if (what & BEV_EVENT_CONNECTED) {
        wr_cli_start_mux();
        return;
    }
    wr_tls_error(bev, why, sizeof(why));
    snprintf(msg, sizeof(msg), "TLS handshake failed: %s", why);
    wr_cli.hs_fail = WR_HS_TLS;
    wr_cli_session_end(msg);
}

static void wr_cli_connect(evutil_socket_t unused, short what, void *arg)
{
    int fd;
    char msg[240];

    wr_cli_set_state(WR_CSTATE_CONNECTING);
    wr_cli.attempting = 1;
    wr_cli.hs_fail = -1;
    wr_dash_session(wr_cli.dash, WR_DASH_CONNECTING, wr_cli.conf->server, NULL);
    fd = wr_connect(&wr_cli.server_addr, 5000);
    if (fd == -1) {
        wr_cli.hs_fail = WR_HS_CONNECT;
        snprintf(msg, sizeof(msg), "cannot connect: %s", strerror(errno));
        wr_cli_session_end(msg);
        return;
    }
    wr_sock_tune(fd, 128 * 1024);
    if (wr_cli.tls != NULL) {
        const char *name =
            wr_cli.conf->tls_server_name ? wr_cli.conf->tls_server_name : wr_cli.server_host;
        wr_cli.bev = wr_tls_connect(wr_cli.tls, wr_cli.base, fd, name);
        if (wr_cli.bev == NULL) {
            wr_cli_session_end("cannot start TLS");
            return;
        }
        bufferevent_setcb(wr_cli.bev, NULL, NULL, wr_cli_tls_event, NULL);
        bufferevent_enable(wr_cli.bev, EV_READ | EV_WRITE);
        return;
    }
    wr_cli.bev = bufferevent_socket_new(wr_cli.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (wr_cli.bev == NULL) {
        close(fd);
        wr_cli_session_end("out of memory");
        return;
    }
    wr_cli_start_mux();
}

/* Exponential backoff with full jitter: a random delay in [0, min(max,
 * initial * 2^attempt)], never below the server's retry-after. */
static void wr_cli_schedule(void)
{
    uint64_t cap = wr_cli.conf->backoff_initial_ms, delay;
    struct timeval tv;

    for (unsigned i = 0; i < wr_cli.attempt && cap < wr_cli.conf->backoff_max_ms; i++)
        cap *= 2;
    if (cap > wr_cli.conf->backoff_max_ms)
        cap = wr_cli.conf->backoff_max_ms;
    delay = (uint64_t)arc4random_uniform((uint32_t)cap + 1);
    if (delay < wr_cli.retry_after_ms)
        delay = wr_cli.retry_after_ms;
    wr_cli.attempt++;
    wr_cli.retry_after_ms = 0;
    wr_cli.reconnects++;
    wr_metric_add(wr_stats.client_reconnects, 0, 0, 1);
    wr_cli_set_state(WR_CSTATE_WAITING);
    wr_log_info("reconnecting in %llu ms", (unsigned long long)delay);
    tv.tv_sec = (time_t)(delay / 1000);
    tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
    event_add(wr_cli.retry, &tv);
}

/* --- the local HTTP listener ------------------------------------------- */

static const char *const wr_cli_state_names[] = {"connecting", "active", "waiting"};

/* /status: the client's members. One thread: everything is at hand. */
static void wr_cli_status(wr_admin_status_t *st, void *arg)
{
    struct evbuffer *b = wr_admin_status_body(st);
    const wr_client_conf_t *c = wr_cli.conf;

    wr_json_lit(b, "\"server\":");
    wr_json_cstr(b, c->server);
    wr_json_lit(b, ",\"name\":");
    wr_json_cstr(b, c->name);
    evbuffer_add_printf(b, ",\"state\":\"%s\",\"reconnects\":%llu,\"sessions\":[",
                        wr_cli.state >= 0 ? wr_cli_state_names[wr_cli.state] : "connecting",
                        (unsigned long long)wr_cli.reconnects);
    if (wr_cli.welcomed && wr_cli.m != NULL) {
        uint64_t rx, tx;
        int64_t rtt = wr_mux_rtt_us(wr_cli.m);
        uint32_t streams = wr_mux_stream_count(wr_cli.m);
        wr_mux_payload(wr_cli.m, &rx, &tx);
        if (wr_cli.ctl != NULL && streams > 0)
            streams--; /* the control stream */
        evbuffer_add_printf(b, "{\"id\":%llu,\"peer\":", (unsigned long long)wr_cli.session_id);
        wr_json_cstr(b, c->server);
        evbuffer_add_printf(b, ",\"state\":\"active\",\"protocol\":\"%s\",\"since\":",
                            wr_mux_proto_name(wr_mux_proto(wr_cli.m)));
        wr_json_time(b, wr_cli.since_us);
        evbuffer_add_printf(b, ",\"streams\":%u,\"bytes_received\":%llu,\"bytes_sent\":%llu",
                            streams, (unsigned long long)rx, (unsigned long long)tx);
        if (rtt >= 0)
            evbuffer_add_printf(b, ",\"rtt_ms\":%.3f", (double)rtt / 1000);
        else
            wr_json_lit(b, ",\"rtt_ms\":null");
        wr_json_lit(b, ",\"tunnels\":[");
        for (size_t i = 0; i < c->ntunnels; i++) {
            const wr_client_tunnel_conf_t *t = &c->tunnels[i];
            evbuffer_add_printf(b, "%s{\"name\":", i ? "," : "");
            wr_json_cstr(b, t->name);
            if (t->type == WR_CLIENT_HTTP) {
                wr_json_lit(b, ",\"type\":\"http\",\"url\":");
            } else {
                evbuffer_add_printf(
                    b, ",\"type\":\"tcp\",\"port\":%d,\"address\":", (int)t->remote_port);
            }
            wr_json_cstr(b, wr_cli.address[i][0] ? wr_cli.address[i] : NULL);
            wr_json_lit(b, ",\"local\":");
            wr_json_cstr(b, t->local);
            wr_json_lit(b, "}");
        }
        wr_json_lit(b, "]}");
    }
    wr_json_lit(b, "]");
    wr_admin_status_done(st);
}

struct evhttp *wr_client_http(void)
{
    return wr_cli.http;
}

static void wr_cli_on_sighup(evutil_socket_t sig, short what, void *arg)
{
    if (wr_log_reopen() != 0)
        wr_log_warn("signal %d: cannot reopen the log: %s", (int)sig, strerror(errno));
    wr_plugins_reopen(); /* plugins with files of their own reopen them */
}

static void wr_cli_on_signal(evutil_socket_t sig, short what, void *arg)
{
    wr_log_info("signal %d: stopping", (int)sig);
    wr_cli.stopping = 1;
    event_base_loopexit(wr_cli.base, NULL);
}

/* --- the local HTTP listener ---------------------------------------------
 * 127.0.0.1:4040 by default (dashboard.bind, --dashboard-bind/-port): an
 * evhttp with the dashboard's paths on it (modules/wr_dash.c). Other
 * modules' paths join the same evhttp here. */

/* /metrics, /status and /healthz under the dashboard's token and Host
 * rules. */
static int wr_cli_admin_allow(struct evhttp_request *req, void *arg)
{
    return wr_dash_allow(wr_cli.dash, req);
}

static int wr_cli_http_start(wr_client_conf_t *c)
{
    /* Larger than the admin listener's: replays carry edited bodies. */
    static const wr_admin_limits_t lim = {
        .backlog = 64, .max_headers = 64 * 1024, .max_body = 8 * 1024 * 1024, .timeout_s = 30};
    wr_admin_hooks_t hooks = {
        .side = "client", .status = wr_cli_status, .allow = wr_cli_admin_allow};
    wr_addr_t a;
    char why[300], where[80];

    if (c->dash.bind == NULL)
        return 0;
    wr_cli.http = wr_admin_listen_with(wr_cli.base, c->dash.bind, "dashboard.bind", &lim, &a, why,
                                       sizeof(why));
    if (wr_cli.http == NULL) {
        if (!c->dash_given && errno != EINVAL && errno != ENOMEM) {
            /* The default address, taken (another client?): no dashboard,
             * the tunnels still run. */
            wr_log_warn("dashboard: %s; the dashboard is off "
                        "(--dashboard-port N chooses another port, off none)",
                        why);
            return 0;
        }
        wr_log_error("dashboard: %s", why);
        return -1;
    }
    /* From here the listener is wr_cli.http: wr_cli_http_stop frees all. */
    wr_cli.dash = wr_dash_new(wr_cli.base, &c->dash);
    if (wr_cli.dash == NULL || (wr_cli.admin = wr_admin_routes(wr_cli.http, &hooks)) == NULL) {
        wr_log_error("dashboard: out of memory");
        return -1;
    }
    /* After the admin routes: the dashboard takes evhttp's one generic
     * callback (its /api/requests/ID paths), replacing their 404. */
    if (wr_dash_routes(wr_cli.http, wr_cli.dash) != 0) {
        wr_log_error("dashboard: cannot register its paths");
        return -1;
    }
    for (size_t i = 0; i < c->ntunnels; i++) {
        const wr_client_tunnel_conf_t *t = &c->tunnels[i];
        if (wr_dash_add_tunnel(wr_cli.dash, t->name, t->type == WR_CLIENT_HTTP, t->local,
                               wr_cli.proxies[i]) != 0)
            return -1;
        if (wr_cli.proxies[i] != NULL)
            wr_proxy_set_capture(wr_cli.proxies[i], wr_dash_capture(wr_cli.dash));
    }
    wr_addr_format(&a, where, sizeof(where));
    wr_log_info("dashboard on http://%s/%s%s", where, c->dash.token ? " (token required)" : "",
                c->dash.capture ? "" : " (capture off)");
    printf("dashboard: http://%s/\n", where);
    fflush(stdout);
    return 0;
}

/* After the proxies (their requests end into the capture), before the
 * listener (the dashboard ends the replies it streams). */
static void wr_cli_http_stop(void)
{
    wr_dash_free(wr_cli.dash);
    wr_cli.dash = NULL;
    wr_admin_free(wr_cli.admin);
    wr_cli.admin = NULL;
    if (wr_cli.http != NULL)
        evhttp_free(wr_cli.http);
    wr_cli.http = NULL;
}

/* A tunnel the server accepted, for the dashboard's tunnels panel. */
static void wr_cli_dash_tunnel(const wr_ctl_tunnel_t *t)
{
    char url[320];

    if (wr_cli.dash == NULL)
        return;
    if (t->type == WR_TUNNEL_HTTP)
        snprintf(url, sizeof(url), "%s", t->address);
    else
        snprintf(url, sizeof(url), "tcp://%s:%u", wr_cli.server_host, t->port);
    wr_dash_tunnel_up(wr_cli.dash, t->name, url);
}

int wr_client_run(wr_client_conf_t *c)
{
    char why[256];
    const char *colon;
    int urandom;

    memset(&wr_cli, 0, sizeof(wr_cli));
    wr_cli.conf = c;
    wr_cli.state = -1;
    wr_cli.hs_fail = -1;
    if (wr_addr_parse(c->server, &wr_cli.server_addr, why, sizeof(why)) != 0) {
        wr_log_error("server address: %s", why);
        return 1;
    }
    colon = strrchr(c->server, ':');
    snprintf(wr_cli.server_host, sizeof(wr_cli.server_host), "%.*s",
             (int)(colon ? colon - c->server : (long)strlen(c->server)), c->server);
    if (wr_cli.server_host[0] == '[') {
        memmove(wr_cli.server_host, wr_cli.server_host + 1, strlen(wr_cli.server_host));
        wr_cli.server_host[strcspn(wr_cli.server_host, "]")] = '\0';
    }
    for (size_t i = 0; i < c->ntunnels; i++) {
        wr_addr_t a;
        if (wr_addr_parse(c->tunnels[i].local, &a, why, sizeof(why)) != 0) {
            wr_log_error("tunnel %s: local address: %s", c->tunnels[i].name, why);
            return 1;
        }
    }
    if (c->tls) {
        if (c->tls_insecure)
            wr_log_warn("--tls-insecure: the server's certificate is NOT verified; anyone on the "
                        "path can impersonate it");
        wr_cli.tls = wr_tls_client_new(c->tls_ca, c->tls_cert, c->tls_key, c->tls_insecure, why,
                                       sizeof(why));
        if (wr_cli.tls == NULL) {
            wr_log_error("%s", why);
            return 1;
        }
    }
    /* One thread: one shard. Before the plugins, whose ids are labels. */
    if (wr_stats_init(WR_STATS_CLIENT, 1) != 0) {
        wr_tls_free(wr_cli.tls);
        return 1;
    }
    for (size_t i = 0; i < c->ntunnels; i++)
        wr_cli.mx[i] = wr_stats_tunnel(c->tunnels[i].name);
    urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (urandom == -1 || read(urandom, wr_cli.instance, 16) != 16)
        arc4random_buf(wr_cli.instance, 16);
    if (urandom != -1)
        close(urandom);
    {
        wr_conf_err_t err;
        memset(&err, 0, sizeof(err));
        wr_cli.plugins = wr_plugins_load(c->plugins, WR_SIDE_CLIENT, 1, &err);
        if (wr_cli.plugins == NULL) {
            wr_log_error("%s", err.msg[0] ? err.msg : "cannot load plugins: out of memory");
            wr_tls_free(wr_cli.tls);
            wr_stats_free();
            return 1;
        }
    }
    wr_cli.base = event_base_new();
    wr_cli.ctlbuf = evbuffer_new();
    /* The client has one thread: it is the plugins' worker 0 of 1. */
    if (wr_cli.base != NULL && wr_plugins_worker_init(wr_cli.plugins, wr_cli.base, 0) != 0)
        wr_cli.exit_code = 1;
    wr_cli.retry = event_new(wr_cli.base, -1, 0, wr_cli_connect, NULL);
    wr_cli.heartbeat = event_new(wr_cli.base, -1, EV_PERSIST, wr_cli_heartbeat, NULL);
    wr_cli.sigint = evsignal_new(wr_cli.base, SIGINT, wr_cli_on_signal, NULL);
    wr_cli.sigterm = evsignal_new(wr_cli.base, SIGTERM, wr_cli_on_signal, NULL);
    wr_cli.sighup = evsignal_new(wr_cli.base, SIGHUP, wr_cli_on_sighup, NULL);
    wr_cli.sigusr1 = evsignal_new(wr_cli.base, SIGUSR1, wr_cli_on_sighup, NULL);
    for (size_t i = 0; i < c->ntunnels && wr_cli.base; i++) {
        const wr_client_tunnel_conf_t *t = &c->tunnels[i];
        if (t->type == WR_CLIENT_HTTP &&
            (wr_cli.proxies[i] =
                 wr_proxy_new(wr_cli.base, t->name, t->local, t->host_header, &c->http)) == NULL)
            wr_cli.exit_code = 1;
        if (wr_cli.proxies[i] != NULL)
            wr_proxy_set_plugins(wr_cli.proxies[i], wr_cli.plugins);
    }
    if (wr_cli.base != NULL && wr_cli.exit_code == 0 && wr_cli_http_start(c) != 0)
        wr_cli.exit_code = 1;
    if (wr_cli.base && wr_cli.ctlbuf && wr_cli.retry && wr_cli.heartbeat && wr_cli.sigint &&
        wr_cli.sigterm && wr_cli.sighup && wr_cli.sigusr1 && wr_cli.exit_code == 0 &&
        event_add(wr_cli.sigint, NULL) == 0 && event_add(wr_cli.sigterm, NULL) == 0 &&
        event_add(wr_cli.sighup, NULL) == 0 && event_add(wr_cli.sigusr1, NULL) == 0) {
        wr_log_info("warren client: server %s%s, %zu tunnel(s)", c->server,
                    wr_cli.tls ? " (TLS 1.3)" : "", c->ntunnels);
        event_active(wr_cli.retry, EV_TIMEOUT, 0);
        event_base_dispatch(wr_cli.base);
    } else {
        wr_cli.exit_code = 1;
    }
    wr_cli.stopping = 1;
    wr_cli_session_end(NULL);
    for (size_t i = 0; i < c->ntunnels; i++)
        wr_proxy_free(wr_cli.proxies[i]);
    wr_cli_http_stop();
    wr_plugins_worker_exit(wr_cli.plugins, 0);
    if (wr_cli.retry)
        event_free(wr_cli.retry);
    if (wr_cli.heartbeat)
        event_free(wr_cli.heartbeat);
    if (wr_cli.sigint)
        event_free(wr_cli.sigint);
    if (wr_cli.sigterm)
        event_free(wr_cli.sigterm);
    if (wr_cli.sighup)
        event_free(wr_cli.sighup);
    if (wr_cli.sigusr1)
        event_free(wr_cli.sigusr1);
    if (wr_cli.ctlbuf)
        evbuffer_free(wr_cli.ctlbuf);
    free(wr_cli.openmsg);
    if (wr_cli.base)
        event_base_free(wr_cli.base);
    wr_tls_free(wr_cli.tls);
    wr_plugins_free(wr_cli.plugins);
    wr_cli.plugins = NULL;
    wr_stats_free();
    return wr_cli.exit_code;
}
