/*
 * wr_stats: the series warren exports (docs/metrics.md describes each), in
 * one process-wide wr_metrics registry. The core and the modules update
 * them through the family pointers of wr_stats; until wr_stats_init (and in
 * `warren -t`, and in unit tests that do not call it) every pointer is NULL
 * and every update does nothing.
 *
 * Label values never come from public input: a tunnel's name (at most
 * WR_STATS_TUNNELS distinct ones, then "_other"), a plugin instance's id,
 * and fixed lists (status classes, reasons, verdicts, frame types). Never a
 * client address, a host name or a path.
 *
 * Threads: wr_stats_init and wr_stats_free on the main thread, before the
 * workers start and after they stopped; everything else on any thread.
 */
#ifndef WR_STATS_H
#define WR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "wr_metrics.h"

#define WR_STATS_TUNNELS 1000 /* distinct tunnel names tracked */

enum { WR_STATS_SERVER = 0, WR_STATS_CLIENT = 1 };

/* reason of warren_handshake_failures_total */
enum {
    WR_HS_TLS = 0,     /* the TLS handshake failed */
    WR_HS_BAD_PREFACE, /* not the warren protocol (garbage, another protocol) */
    WR_HS_TIMEOUT,     /* TLS or HELLO not done within handshake_timeout */
    WR_HS_AUTH,        /* token refused */
    WR_HS_VERSION,     /* no common protocol version */
    WR_HS_BAD_REQUEST, /* a malformed or absurd HELLO */
    WR_HS_DENIED,      /* a port or hostname not allowed */
    WR_HS_TAKEN,       /* a port or hostname another client holds */
    WR_HS_UNAVAILABLE, /* server draining, out of memory, a plugin said later */
    WR_HS_PLUGIN,      /* refused by a plugin at session_open */
    WR_HS_CLOSED,      /* the peer closed or the connection failed first */
    WR_HS_CONNECT,     /* client: the server could not be reached */
    WR_HS_COUNT
};

/* reason of warren_mux_flow_stalls_total */
enum { WR_STALL_SEND_BUFFER = 0, WR_STALL_STREAM_WINDOW, WR_STALL_SESSION_WINDOW };

/* state of warren_client_session_state */
enum { WR_CSTATE_CONNECTING = 0, WR_CSTATE_ACTIVE, WR_CSTATE_WAITING };

typedef struct {
    wr_metrics_t *reg;
    wr_metric_dict_t *tunnels, *plugins;
    /* sessions */
    wr_metric_t *sessions_active, *sessions_total, *handshake_failures;
    /* tunnels, by tunnel */
    wr_metric_t *streams_active, *streams_opened, *bytes_in, *bytes_out;
    wr_metric_t *http_requests, *http_duration;
    /* the multiplexer */
    wr_metric_t *frames_sent, *frames_received, *stream_resets, *flow_stalls;
    /* plugins */
    wr_metric_t *plugin_verdicts;
    /* the client */
    wr_metric_t *client_state, *client_reconnects, *local_connect_failures;
    wr_metric_t *pool_reused, *pool_connects;
    uint64_t start_us; /* monotonic clock at wr_stats_init */
} wr_stats_t;

extern wr_stats_t wr_stats;

/* Make the registry and the families of side (WR_STATS_SERVER or
 * WR_STATS_CLIENT) for a process whose threads update metrics from
 * `threads` threads at most (more then share a shard). 0, or -1 (logged)
 * when out of memory. */
int wr_stats_init(int side, unsigned threads);

/* Free everything; updates do nothing afterwards. */
void wr_stats_free(void);

/* The label index of a tunnel name, interned on first sight ("_other"
 * past WR_STATS_TUNNELS names); of requests that reached no tunnel
 * ("_none"); of a plugin instance id. 0 before wr_stats_init. */
unsigned wr_stats_tunnel(const char *name);
unsigned wr_stats_no_tunnel(void);
unsigned wr_stats_plugin(const char *id);

/* A plugin hook's verdict (WR_OK...) as a label index. */
unsigned wr_stats_verdict(int verdict);

/* An HTTP request is over: status sent to the public client (0: none, not
 * counted) and its duration in microseconds. */
void wr_stats_http(unsigned tunnel, unsigned status, uint64_t us);

/* Seconds since wr_stats_init. */
double wr_stats_uptime(void);

/* Every series, the process_* ones and warren_build_info, in the text
 * format 0.0.4. */
void wr_stats_render(struct evbuffer *out);

#endif
