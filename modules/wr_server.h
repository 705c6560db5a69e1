/*
 * wr_server: `warren server`. A control listener (plain TCP or TLS 1.3,
 * optionally mTLS) accepts client sessions; each session says HELLO with its
 * token and the TCP tunnels it wants; the server binds a public port per
 * tunnel (from the allowed range) and carries every public connection to
 * the client as a mux stream.
 *
 * Threads: the main thread accepts control connections and handles
 * signals; a session, its tunnel listeners and its public connections live
 * on one worker.
 */
#ifndef WR_SERVER_H
#define WR_SERVER_H

#include <stdint.h>

#include "wr_admin.h"
#include "wr_cfg.h"
#include "wr_opt.h"
#include "wr_conf.h"
#include "wr_ingress.h"
#include "wr_mux.h"

#define WR_SERVER_MAX_TOKENS 64

typedef struct {
    const char *listen;   /* control listener, "0.0.0.0:7835" */
    const char *tcp_bind; /* address of public TCP ports, "0.0.0.0" */
    uint16_t port_lo, port_hi;
    uint8_t tokens[WR_SERVER_MAX_TOKENS][32]; /* SHA-256 of each accepted token */
    size_t ntokens;
    const char *tls_cert, *tls_key, *tls_ca;
    uint32_t handshake_ms;         /* HELLO must come within this */
    uint32_t heartbeat_ms;         /* told to clients */
    uint32_t drain_ms;             /* SIGTERM: how long open streams may finish */
    wr_ingress_conf_t http;        /* the http: map: HTTP ingress */
    wr_admin_conf_t admin;         /* the admin: map: /metrics, /status, /healthz */
    const wr_conf_node_t *plugins; /* the plugins: list, loaded by wr_server_run */
    wr_cfg_t rt;                   /* workers, log, mux */
    wr_argv_t args;                /* the command line with WARREN_* options */
} wr_server_conf_t;

/* Defaults: listen 0.0.0.0:7835, tcp_bind 0.0.0.0, ports 20000-20099, no
 * token (every client refused until one is configured), no TLS, handshake
 * 10s, heartbeat 10s, drain 10s, admin listener 127.0.0.1:9090. */
void wr_server_conf_default(wr_server_conf_t *c);

/* Apply a server.yaml tree (runtime keys included). 0, or -1 with err. */
int wr_server_conf_apply(const wr_conf_node_t *root, wr_server_conf_t *c, wr_conf_err_t *err);

/* Command-line flags and WARREN_* variables over the file. argv holds the
 * arguments after "server"; -c FILE is read first. Returns 0, 1 for a usage
 * or config error (printed), 2 after --help. conf (owned by the caller,
 * freed with wr_conf_free) keeps the strings alive. */
int wr_server_conf_load(int argc, char **argv, wr_server_conf_t *c, wr_conf_t **conf);

/* Run until SIGINT/SIGTERM: drain, then return 0; 1 if it could not start. */
int wr_server_run(const wr_server_conf_t *c);

/* For the HTTP ingress, on the worker that owns session sid: a stream to
 * its tunnel number `tunnel` for a public connection from peer, with OPEN
 * written. NULL with a reason in why when the session, or the tunnel, is
 * gone or closing. */
wr_mux_stream_t *wr_server_open_stream(uint64_t sid, int tunnel, const char *peer, char *why,
                                       size_t whylen);

/* What the HTTP ingress tells plugins about a tunnel, on the worker that
 * owns session sid: its name, the session's token id (set by an auth
 * plugin; "" if none) and the session's plugin slots. -1 when gone. The
 * pointers are valid until the worker runs something else. */
typedef struct {
    const char *name;
    const char *token_id;
    struct wr_pslots_s *slots;
} wr_server_tinfo_t;

int wr_server_tunnel_info(uint64_t sid, int tunnel, wr_server_tinfo_t *out);

/* The plugins the server loaded (NULL: none), for the ingress. */
const struct wr_plugins *wr_server_plugins(void);

#endif
