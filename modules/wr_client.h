/*
 * wr_client: `warren client`. Dials the server (plain TCP or TLS 1.3, with
 * a client certificate for mTLS), says HELLO with its token and tunnels,
 * and for every stream the server opens connects to the tunnel's local
 * address and splices the two. Reconnects with exponential backoff and full
 * jitter, honouring the server's retry-after.
 *
 * The client is one thread with one event loop: it carries one session.
 */
#ifndef WR_CLIENT_H
#define WR_CLIENT_H

#include <stdint.h>

#include "wr_admin.h"
#include "wr_cfg.h"
#include "wr_opt.h"
#include "wr_conf.h"
#include "wr_ctl.h"
#include "wr_dash.h"
#include "wr_proxy.h"

typedef struct {
    const char *name;
    const char *local; /* "127.0.0.1:5432" */
    int64_t remote_port;
    int priority;            /* wr_prio_t */
    int type;                /* 0: tcp, 1: http */
    const char *subdomain;   /* http: NAME.<the server's domain> */
    const char *hostname;    /* http: or an exact hostname */
    const char *host_header; /* http: Host sent to the service instead of the public one */
} wr_client_tunnel_conf_t;

enum { WR_CLIENT_TCP = 0, WR_CLIENT_HTTP = 1 };

typedef struct {
    const char *server;
    const char *token;
    const char *token_file;
    const char *name;
    int tls;
    const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
    int tls_insecure;
    uint64_t backoff_initial_ms, backoff_max_ms;
    uint64_t heartbeat_ms;
    wr_client_tunnel_conf_t tunnels[WR_CTL_MAX_TUNNELS];
    size_t ntunnels;
    wr_proxy_conf_t http;          /* the http: map: connections to HTTP services */
    const wr_conf_node_t *plugins; /* the plugins: list, loaded by wr_client_run */
    wr_cfg_t rt;
    char token_buf[WR_CTL_TOKEN_MAX + 1];
    wr_argv_t args; /* the command line with WARREN_* options */
    /* the local dashboard (dashboard:, --dashboard-*; docs/dashboard.md) */
    wr_dash_conf_t dash;
    int dash_given;                  /* its address was set: not listening is an error */
    const wr_conf_node_t *dash_node; /* dashboard.bind (or dashboard:) in the file */
    const char *dash_node_bind;      /* the bind read from there */
    char dash_bind_buf[300];
} wr_client_conf_t;

void wr_client_conf_default(wr_client_conf_t *c);

/* Apply a client.yaml tree. 0, or -1 with err. */
int wr_client_conf_apply(const wr_conf_node_t *root, wr_client_conf_t *c, wr_conf_err_t *err);

/* Checks that need the whole configuration (file, variables and flags):
 * a dashboard on a non-loopback address needs a token. 0, or -1 with err
 * (naming the file's line when the address came from it). */
int wr_client_conf_check(const wr_client_conf_t *c, wr_conf_err_t *err);

/* Flags and WARREN_* variables over the file (argv after "client").
 * 0, 1 on error (printed), 2 after --help. *conf keeps strings alive. */
int wr_client_conf_load(int argc, char **argv, wr_client_conf_t *c, wr_conf_t **conf);

/* Run until a signal (0) or a refusal that retrying cannot fix (1). */
int wr_client_run(wr_client_conf_t *c);

/*
 * The client's local HTTP listener (dashboard.bind, --dashboard-bind,
 * --dashboard-port; default 127.0.0.1:4040; "off": none), or NULL when it
 * is off or the client is not running. wr_client_run creates it on the
 * client's event base before it first connects, in one function
 * (wr_cli_http_start in wr_client.c) that registers the admin routes
 * (/metrics, /status, /healthz: wr_admin_routes) and then the dashboard's
 * (wr_dash_routes), so that every route shares one port, its limits and
 * its timeout; it is freed when wr_client_run returns. Client thread
 * only.
 */
struct evhttp *wr_client_http(void);

#endif
