/*
 * wr_stats: warren's series (see wr_stats.h and docs/metrics.md).
 */
#include "wr_stats.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wr_log.h"
#include "wr_papi.h" /* the verdicts, the clock */
#include "wr_version.h"

wr_stats_t wr_stats;

static double wr_stats_start_time; /* the process's start, s since the epoch */

static const char *const wr_stats_codes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", NULL};
static const char *const wr_stats_hs[] = {
    "tls",   "bad_preface", "timeout", "auth",   "version", "bad_request", "denied",
    "taken", "unavailable", "plugin",  "closed", "connect", NULL};
/* the mux's commands, by number (wr_frame.h) */
static const char *const wr_stats_frames[] = {"syn", "fin",    "psh",  "nop",  "upd",
                                              "rst", "goaway", "ping", "pong", NULL};
/* WR_RST_* by number, then anything else */
static const char *const wr_stats_resets[] = {
    "cancel", "refused", "flow_control", "budget", "internal", "connect", "timeout", "other", NULL};
static const char *const wr_stats_stalls[] = {"send_buffer", "stream_window", "session_window",
                                              NULL};
static const char *const wr_stats_verdicts[] = {"ok",    "declined", "done", "reject",
                                                "error", "again",    NULL};
static const char *const wr_stats_states[] = {"connecting", "active", "waiting", NULL};
static const char *const wr_stats_tunnel_reserved[] = {"_other", "_none", NULL};
static const char *const wr_stats_plugin_reserved[] = {"_other", NULL};

/* Request durations, in microseconds: 1 ms to 1 min. */
static const uint64_t wr_stats_duration_bounds[] = {
    1000,   5000,    10000,   25000,   50000,    100000,   250000,
    500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

static double wr_stats_read_start_time(void);

static wr_metric_t *wr_stats_family(const char *name, wr_metric_type_t type, const char *help,
                                    const char *l0, const char *const *v0, wr_metric_dict_t *d0,
                                    const char *l1, const char *const *v1, wr_metric_dict_t *d1,
                                    int *failed)
{
    wr_metric_def_t def;
    wr_metric_t *m;

    memset(&def, 0, sizeof(def));
    def.name = name;
    def.help = help;
    def.type = type;
    def.labels[0].name = l0;
    def.labels[0].values = v0;
    def.labels[0].dict = d0;
    def.labels[1].name = l1;
    def.labels[1].values = v1;
    def.labels[1].dict = d1;
    if (type == WR_METRIC_HISTOGRAM) {
        def.bounds = wr_stats_duration_bounds;
        def.nbounds = sizeof(wr_stats_duration_bounds) / sizeof(wr_stats_duration_bounds[0]);
        def.divisor = 1000000;
    }
    m = wr_metrics_family(wr_stats.reg, &def);
    if (m == NULL)
        *failed = 1;
    return m;
}

#define WR_C WR_METRIC_COUNTER
#define WR_G WR_METRIC_GAUGE

int wr_stats_init(int side, unsigned threads)
{
    wr_stats_t *s = &wr_stats;
    int failed = 0;

    memset(s, 0, sizeof(*s));
    s->start_us = wr_papi_now_us();
    wr_stats_start_time = wr_stats_read_start_time();
    s->reg = wr_metrics_new(threads + 1);
    if (s->reg == NULL)
        goto failed;
    s->tunnels = wr_metrics_dict(s->reg, WR_STATS_TUNNELS, wr_stats_tunnel_reserved);
    s->plugins = wr_metrics_dict(s->reg, 64, wr_stats_plugin_reserved);
    if (s->tunnels == NULL || s->plugins == NULL)
        goto failed;

    s->sessions_active = wr_stats_family(
        "warren_sessions_active", WR_G,
        side == WR_STATS_SERVER ? "Client sessions established and not yet closed."
                                : "1 while the session with the server is established.",
        NULL, NULL, NULL, NULL, NULL, NULL, &failed);
    s->sessions_total = wr_stats_family("warren_sessions_total", WR_C,
                                        "Sessions established (HELLO answered with WELCOME).", NULL,
                                        NULL, NULL, NULL, NULL, NULL, &failed);
    s->handshake_failures = wr_stats_family(
        "warren_handshake_failures_total", WR_C,
        "Session attempts that ended before the session was established, by reason.", "reason",
        wr_stats_hs, NULL, NULL, NULL, NULL, &failed);
    s->streams_active =
        wr_stats_family("warren_streams_active", WR_G,
                        "Streams open now for public connections and HTTP requests, by tunnel.",
                        "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    s->streams_opened =
        wr_stats_family("warren_streams_opened_total", WR_C,
                        "Streams opened for public connections and HTTP requests, by tunnel.",
                        "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    s->bytes_in = wr_stats_family(
        "warren_tunnel_inbound_bytes_total", WR_C,
        "Stream payload bytes carried from public clients toward the tunnel's local service.",
        "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    s->bytes_out = wr_stats_family(
        "warren_tunnel_outbound_bytes_total", WR_C,
        "Stream payload bytes carried from the tunnel's local service back to public clients.",
        "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    s->http_requests = wr_stats_family(
        "warren_http_requests_total", WR_C,
        "HTTP requests answered, by tunnel and class of the status sent to the public client.",
        "tunnel", NULL, s->tunnels, "code", wr_stats_codes, NULL, &failed);
    s->http_duration = wr_stats_family(
        "warren_http_request_duration_seconds", WR_METRIC_HISTOGRAM,
        side == WR_STATS_SERVER
            ? "Time from a request's head to the end of its response, by tunnel."
            : "Time from a request's arrival on its stream to the end of its response, by tunnel.",
        "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    s->frames_sent =
        wr_stats_family("warren_mux_frames_sent_total", WR_C, "Mux frames sent, by type.", "type",
                        wr_stats_frames, NULL, NULL, NULL, NULL, &failed);
    s->frames_received =
        wr_stats_family("warren_mux_frames_received_total", WR_C, "Mux frames received, by type.",
                        "type", wr_stats_frames, NULL, NULL, NULL, NULL, &failed);
    s->stream_resets = wr_stats_family("warren_mux_stream_resets_total", WR_C,
                                       "Streams reset, by either end, by reason.", "reason",
                                       wr_stats_resets, NULL, NULL, NULL, NULL, &failed);
    s->flow_stalls = wr_stats_family(
        "warren_mux_flow_stalls_total", WR_C,
        "Times a stream's writer had to wait: its send buffer full, or no window left.", "reason",
        wr_stats_stalls, NULL, NULL, NULL, NULL, &failed);
    s->plugin_verdicts =
        wr_stats_family("warren_plugin_verdicts_total", WR_C,
                        "Verdicts returned by plugin hooks in decision phases, by plugin instance.",
                        "plugin", NULL, s->plugins, "verdict", wr_stats_verdicts, NULL, &failed);
    if (side == WR_STATS_CLIENT) {
        s->client_state = wr_stats_family(
            "warren_client_session_state", WR_G,
            "1 for the state the client's session is in: connecting (dialing, TLS, HELLO), "
            "active, or waiting to reconnect.",
            "state", wr_stats_states, NULL, NULL, NULL, NULL, &failed);
        s->client_reconnects =
            wr_stats_family("warren_client_reconnects_total", WR_C,
                            "Reconnections scheduled after a session ended or an attempt failed.",
                            NULL, NULL, NULL, NULL, NULL, NULL, &failed);
        s->local_connect_failures =
            wr_stats_family("warren_client_local_connect_failures_total", WR_C,
                            "Connections to a tunnel's local service that failed, by tunnel.",
                            "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
        s->pool_reused = wr_stats_family(
            "warren_client_pool_reused_total", WR_C,
            "HTTP requests sent on a pooled keep-alive connection to the local service, by "
            "tunnel.",
            "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
        s->pool_connects =
            wr_stats_family("warren_client_pool_connects_total", WR_C,
                            "New connections opened to a tunnel's local HTTP service, by tunnel.",
                            "tunnel", NULL, s->tunnels, NULL, NULL, NULL, &failed);
    }
    if (failed)
        goto failed;
    return 0;

failed:
    /* A family refused by wr_metrics_family has logged why already. */
    wr_log_error("metrics: cannot set up the registry");
    wr_stats_free();
    return -1;
}

void wr_stats_free(void)
{
    wr_metrics_t *reg = wr_stats.reg;

    memset(&wr_stats, 0, sizeof(wr_stats));
    wr_metrics_free(reg);
}

unsigned wr_stats_tunnel(const char *name)
{
    return wr_metric_dict_index(wr_stats.tunnels, name);
}

unsigned wr_stats_no_tunnel(void)
{
    return wr_metric_dict_reserved(wr_stats.tunnels, 1);
}

unsigned wr_stats_plugin(const char *id)
{
    return wr_metric_dict_index(wr_stats.plugins, id);
}

unsigned wr_stats_verdict(int verdict)
{
    switch (verdict) {
    case WR_OK:
        return 0;
    case WR_DECLINED:
        return 1;
    case WR_DONE:
        return 2;
    case WR_REJECT:
        return 3;
    case WR_AGAIN:
        return 5;
    default:
        return 4;
    }
}

void wr_stats_http(unsigned tunnel, unsigned status, uint64_t us)
{
    if (status < 100 || status > 599)
        return;
    wr_metric_add(wr_stats.http_requests, tunnel, status / 100 - 1, 1);
    wr_metric_observe(wr_stats.http_duration, tunnel, 0, us);
}

double wr_stats_uptime(void)
{
    return wr_stats.reg != NULL ? (double)(wr_papi_now_us() - wr_stats.start_us) / 1e6 : 0;
}

/* --- process_* ----------------------------------------------------------- */

/* The fields of /proc/self/stat after the command name: [0] is field 3
 * (state). n of them, or 0. */
static int wr_stats_proc_stat(char *buf, size_t len, char **f, int max)
{
    FILE *fp = fopen("/proc/self/stat", "re");
    size_t n;
    char *p, *save = NULL;
    int k = 0;

    if (fp == NULL)
        return 0;
    n = fread(buf, 1, len - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    if (p == NULL)
        return 0;
    for (p = strtok_r(p + 1, " \n", &save); p != NULL && k < max; p = strtok_r(NULL, " \n", &save))
        f[k++] = p;
    return k;
}

static double wr_stats_read_start_time(void)
{
    char buf[1024], line[256], *f[24];
    long ticks = sysconf(_SC_CLK_TCK);
    unsigned long long btime = 0;
    FILE *fp;

    if (wr_stats_proc_stat(buf, sizeof(buf), f, 24) < 20 || ticks <= 0)
        return (double)time(NULL);
    fp = fopen("/proc/stat", "re");
    if (fp == NULL)
        return (double)time(NULL);
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    }
    fclose(fp);
    if (btime == 0)
        return (double)time(NULL);
    return (double)btime + strtod(f[19], NULL) / (double)ticks; /* field 22: starttime */
}

static int wr_stats_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* not the one reading the directory */
}

static void wr_stats_put(struct evbuffer *out, const char *name, const char *type, const char *help,
                         const char *value)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type, name,
                        value);
}

static void wr_stats_process(struct evbuffer *out)
{
    char buf[1024], v[64], *f[24];
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    int fds = wr_stats_open_fds();

    if (wr_stats_proc_stat(buf, sizeof(buf), f, 24) >= 22 && ticks > 0 && page > 0) {
        double cpu = (strtod(f[11], NULL) + strtod(f[12], NULL)) / (double)ticks;
        snprintf(v, sizeof(v), "%.2f", cpu);
        wr_stats_put(out, "process_cpu_seconds_total", "counter",
                     "Total user and system CPU time spent in seconds.", v);
        wr_stats_put(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                     f[20]);
        snprintf(v, sizeof(v), "%llu", strtoull(f[21], NULL, 10) * (unsigned long long)page);
        wr_stats_put(out, "process_resident_memory_bytes", "gauge",
                     "Resident memory size in bytes.", v);
    }
    if (fds >= 0) {
        snprintf(v, sizeof(v), "%d", fds);
        wr_stats_put(out, "process_open_fds", "gauge", "Number of open file descriptors.", v);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        snprintf(v, sizeof(v), "%llu", (unsigned long long)rl.rlim_cur);
        wr_stats_put(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                     v);
    }
    if (wr_stats_start_time == 0)
        wr_stats_start_time = wr_stats_read_start_time();
    snprintf(v, sizeof(v), "%.2f", wr_stats_start_time);
    wr_stats_put(out, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.", v);
}

void wr_stats_render(struct evbuffer *out)
{
    if (wr_stats.reg != NULL)
        wr_metrics_render(wr_stats.reg, out);
    wr_stats_process(out);
    evbuffer_add_printf(out,
                        "# HELP warren_build_info A metric with a constant '1' value labeled by "
                        "the version of warren.\n"
                        "# TYPE warren_build_info gauge\n"
                        "warren_build_info{version=\"");
    wr_metrics_put_label_value(out, WR_VERSION);
    evbuffer_add(out, "\"} 1\n", 5);
}
