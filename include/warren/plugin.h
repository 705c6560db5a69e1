/*
 * warren plugin ABI: what a plugin (.so) includes, and all it may use.
 * The version rule and its changelog are in <warren/version.h>.
 *
 * A plugin exports one data symbol, its descriptor, made by
 * WR_PLUGIN_DEFINE(). warren dlopen()s the file (RTLD_NOW | RTLD_LOCAL),
 * checks the descriptor's magic and ABI version before running any of its
 * code, hands it the API table (wr_api_t) through the descriptor's bind
 * callback, then calls it through the descriptor's lifecycle callbacks and
 * hooks. A plugin never links against warren: every call into warren goes
 * through the table, which the inline functions at the end of this header
 * wrap. Build one with
 *   cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden \
 *      $(pkg-config --cflags warren-plugin) -Wl,-z,defs -o hello.so hello.c
 *
 * INSTANCES. `plugins:` in the YAML file is an ordered list of instances;
 * one .so may back several (each with its own id and config). create_conf
 * runs once per instance; its result is the instance's read-only config,
 * shared by every worker (wr_conf()).
 *
 * THREADS. create_conf, destroy_conf, init and fini run on the main thread;
 * init_worker, exit_worker and every hook run on a worker thread. A session
 * lives on one worker, and every hook about it (and its streams and
 * requests) runs on that worker, never two at once. State a plugin shares
 * between workers is its own to lock. Hooks must not block.
 *
 * PHASES and their order. Hooks run in the order of the `plugins:` list,
 * except response_headers, stream_close and session_close, which run in
 * reverse order (the last instance to see a request sees its response
 * first).
 *   session_open      a client daemon connected (server), or this client
 *                     reached its server (client). REJECT closes it.
 *   session_auth      server: the client presented its token and tunnels
 *                     (WR_KEY_TOKEN, WR_KEY_TUNNEL_* with index 0..count-1).
 *                     DONE: authenticated, later instances and warren's own
 *                     token list are skipped. REJECT: refused, the reason
 *                     is printed by the client. OK/DECLINED: next; when no
 *                     instance said DONE, warren's own `tokens:` decide.
 *   stream_open       a TCP tunnel connection is about to be opened through
 *                     the session (server: a public connection arrived;
 *                     client: the server opened it). REJECT closes it.
 *   request_headers   an HTTP request head was read (server: from the
 *                     public; client: from the tunnel, before it goes to
 *                     the local service). Request headers may be changed.
 *                     REJECT answers with wr_reject()'s status and reason,
 *                     plus any response header set in this phase.
 *   response_headers  the response head arrived; response headers may be
 *                     changed. REJECT replaces the response by an error.
 *   log               a request or TCP stream is over: status, bytes and
 *                     timings are final. Runs for rejected requests too.
 *   stream_close      a TCP tunnel connection or HTTP request stream ended.
 *   session_close     the session ended (always after session_open ran).
 *
 * VERDICTS. A hook returns one of
 *   WR_OK        continue with the next instance;
 *   WR_DECLINED  not mine: continue (in session_auth: not my kind of token);
 *   WR_DONE      this phase is settled: skip the later instances;
 *   WR_REJECT    deny: status and reason set before with wr_reject();
 *   WR_AGAIN     suspended: the phase resumes when the plugin calls
 *                wr_resume(ctx, verdict) later, on the same worker (from a
 *                timer, say); until then the ctx stays valid, unless
 *                the request or session ends first (the client leaves, a
 *                timeout): its slot cleanups then run and the ctx is
 *                gone, so keep the timer in a stream (request_headers) or
 *                session (session_auth) slot whose cleanup deletes it.
 *                Allowed in session_auth and request_headers on the
 *                server; in other phases it counts as WR_ERROR;
 *   WR_ERROR     the hook failed: the instance's `on_error` decides
 *                (reject, the default: as WR_REJECT with 500 "plugin error";
 *                continue: as WR_OK).
 * The return value of hooks in session_close, stream_close and log is
 * ignored.
 *
 * STRINGS returned by accessors are NUL-terminated, owned by warren, and
 * valid until the hook returns; copy what you keep.
 */
#ifndef WARREN_PLUGIN_H
#define WARREN_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <warren/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "WRPL", in the descriptor's first field. */
#define WR_PLUGIN_MAGIC 0x5752504cu

/* Verdicts (hooks) and results (API functions). Values never change. */
#define WR_OK       0
#define WR_DECLINED 1
#define WR_DONE     2
#define WR_REJECT   3
#define WR_AGAIN    4
#define WR_ERROR    (-1)
#define WR_ENOENT   (-2) /* no such key, header or setting */
#define WR_EINVAL   (-3) /* not allowed here, or a bad argument */

/* Phases, as wr_phase() reports them. Every value here and below is part
 * of the ABI: new ones are appended, none is ever renumbered. */
enum {
    WR_PHASE_CONFIG = 0, /* create_conf, init, fini (main thread) */
    WR_PHASE_WORKER = 1, /* init_worker, exit_worker */
    WR_PHASE_SESSION_OPEN = 2,
    WR_PHASE_SESSION_AUTH = 3,
    WR_PHASE_SESSION_CLOSE = 4,
    WR_PHASE_STREAM_OPEN = 5,
    WR_PHASE_STREAM_CLOSE = 6,
    WR_PHASE_REQUEST_HEADERS = 7,
    WR_PHASE_RESPONSE_HEADERS = 8,
    WR_PHASE_LOG = 9,
    WR_PHASE_TIMER = 10, /* a wr_timer_add() callback */
};

/* Which side runs the hook: wr_num(ctx, WR_KEY_SIDE, 0). */
enum { WR_SIDE_SERVER = 0, WR_SIDE_CLIENT = 1 };

/*
 * What a hook can read: wr_str() for strings (NULL when the phase has no
 * such value), wr_num() for numbers (-1 when it has none). The index i
 * selects the tunnel for WR_KEY_TUNNEL*, WR_KEY_HOSTNAME, WR_KEY_SUBDOMAIN and
 * WR_KEY_PORT in session phases (0 to WR_KEY_TUNNEL_COUNT - 1: the tunnels
 * asked for in session_auth, the tunnels granted afterwards); it is 0
 * everywhere else.
 */
enum {
    /* strings */
    WR_KEY_PEER = 1,         /* "ip:port" of the remote end: session phases, the client
                                daemon (server) or the server (client); request and
                                stream phases, the public client */
    WR_KEY_CLIENT_IP = 2,    /* the IP alone of WR_KEY_PEER ("::1", "127.0.0.1") */
    WR_KEY_TLS_IDENTITY = 3, /* server, session phases: the subject CN of the client's
                            verified certificate (mTLS) */
    WR_KEY_TOKEN = 4,        /* session_auth: the token the client presented. Secret:
                            never log it */
    WR_KEY_TOKEN_ID = 5,     /* the name an auth plugin gave the session's token
                            (wr_set_str in session_auth) */
    WR_KEY_TUNNEL = 6,       /* tunnel name */
    WR_KEY_TUNNEL_TYPE = 7,  /* "tcp" or "http" */
    WR_KEY_HOSTNAME = 8,     /* http tunnel: the full public hostname; in session_auth, the
                            exact hostname asked for (NULL when a subdomain was) */
    WR_KEY_SUBDOMAIN = 9,    /* session_auth, http tunnel: the subdomain asked for, if any */
    WR_KEY_METHOD = 10,      /* request phases: "GET" */
    WR_KEY_PATH = 11,        /* request phases: the request target as received */
    WR_KEY_HOST = 12,        /* request phases: the Host, normalised (lower case, no port) */
    WR_KEY_SCHEME = 13,      /* request phases: "http" or "https" */
    WR_KEY_ERROR = 14,       /* log: why the request or stream failed, if it did */
    WR_KEY_INSTANCE_ID = 15, /* the id of the instance this hook belongs to */

    /* numbers */
    WR_KEY_SIDE = 100,          /* WR_SIDE_SERVER or WR_SIDE_CLIENT */
    WR_KEY_WORKER = 101,        /* worker index, 0 to WR_KEY_WORKERS - 1 */
    WR_KEY_WORKERS = 102,       /* number of workers */
    WR_KEY_SESSION_ID = 103,    /* the session's id, unique in this process */
    WR_KEY_STREAM_ID = 104,     /* the mux stream's id */
    WR_KEY_TUNNEL_COUNT = 105,  /* session_auth: tunnels requested */
    WR_KEY_PORT = 106,          /* tcp tunnel: public port */
    WR_KEY_STATUS = 107,        /* response/log: HTTP status sent (0: none); a TCP stream
                             logs 0, or 502 when the local service could not be
                             reached, 504 when it timed out, 503 when the client
                             could not take it, or a plugin's rejection status */
    WR_KEY_BYTES_IN = 108,      /* log: bytes received from the public client (body, or
                             stream payload) */
    WR_KEY_BYTES_OUT = 109,     /* log: bytes sent to the public client */
    WR_KEY_START_TIME_US = 110, /* wall clock when the request/stream began, in us since
                             the Unix epoch */
    WR_KEY_DURATION_US = 111,   /* log: from the start to the end of the request/stream */
    WR_KEY_TTFB_US = 112,       /* log, HTTP: from the start to the response head */
    WR_KEY_REOPEN_COUNT = 113,  /* times the operator asked for log files to be reopened
                            (SIGHUP or SIGUSR1) since start: a plugin writing its own
                            file reopens it when this changes */
};

/* Header sets for the wr_header_* functions. */
enum { WR_REQUEST = 0, WR_RESPONSE = 1 };

/* Lifetimes for wr_data_get/wr_data_set: each instance has one slot per
 * scope, per worker (WORKER), session (SESSION) or stream (STREAM; an HTTP
 * request is one stream). */
enum { WR_SCOPE_WORKER = 0, WR_SCOPE_SESSION = 1, WR_SCOPE_STREAM = 2 };

/* Log levels. */
enum { WR_LEVEL_ERROR = 0, WR_LEVEL_WARN = 1, WR_LEVEL_INFO = 2, WR_LEVEL_DEBUG = 3 };

/* Config node kinds. */
enum { WR_CONFIG_SCALAR = 0, WR_CONFIG_MAP = 1, WR_CONFIG_SEQ = 2 };

typedef struct wr_ctx wr_ctx_t;       /* a hook's view of the world; opaque */
typedef struct wr_config wr_config_t; /* a node of the instance's config; opaque */
typedef struct wr_timer wr_timer_t;   /* opaque */

typedef int (*wr_hook_t)(wr_ctx_t *ctx);
typedef void (*wr_timer_cb_t)(wr_ctx_t *ctx, void *arg);

/*
 * The table of functions warren hands to a plugin. size is sizeof as warren
 * was built: functions are only appended, and a plugin never reads past the
 * ones its own headers know (warren refuses plugins of a newer minor).
 */
typedef struct wr_api {
    uint32_t size;
    uint16_t abi_major, abi_minor;

    /* logging: one line, with the instance id and session/stream ids */
    void (*logv)(wr_ctx_t *ctx, int level, const char *fmt, va_list ap);

    /* what the phase can see */
    int (*phase)(const wr_ctx_t *ctx);
    void *(*conf)(const wr_ctx_t *ctx);
    const char *(*str)(wr_ctx_t *ctx, int key, int i);
    int64_t (*num)(wr_ctx_t *ctx, int key, int i);
    int (*set_str)(wr_ctx_t *ctx, int key, const char *value);

    /* headers of the current request (WR_REQUEST) or response (WR_RESPONSE) */
    const char *(*header_get)(wr_ctx_t *ctx, int which, const char *name);
    size_t (*header_count)(wr_ctx_t *ctx, int which);
    int (*header_at)(wr_ctx_t *ctx, int which, size_t i, const char **name, const char **value);
    int (*header_set)(wr_ctx_t *ctx, int which, const char *name, const char *value);
    int (*header_add)(wr_ctx_t *ctx, int which, const char *name, const char *value);
    int (*header_remove)(wr_ctx_t *ctx, int which, const char *name);

    /* verdicts */
    void (*reject)(wr_ctx_t *ctx, int status, const char *reason);
    void (*resume)(wr_ctx_t *ctx, int verdict);

    /* per-instance data slots */
    void *(*data_get)(wr_ctx_t *ctx, int scope);
    int (*data_set)(wr_ctx_t *ctx, int scope, void *data, void (*cleanup)(void *data));

    /* timers, on the ctx's worker */
    wr_timer_t *(*timer_add)(wr_ctx_t *ctx, uint64_t ms, wr_timer_cb_t cb, void *arg);
    void (*timer_del)(wr_timer_t *t);

    /* clocks, in microseconds */
    uint64_t (*now_us)(void);  /* monotonic */
    uint64_t (*time_us)(void); /* wall clock, since the Unix epoch */

    /* config (create_conf) */
    const wr_config_t *(*config_get)(const wr_config_t *map, const char *key);
    int (*config_kind)(const wr_config_t *node);
    size_t (*config_len)(const wr_config_t *node);
    const char *(*config_key_at)(const wr_config_t *map, size_t i);
    const wr_config_t *(*config_at)(const wr_config_t *node, size_t i);
    int (*config_str)(const wr_config_t *node, const char **out);
    int (*config_int)(const wr_config_t *node, int64_t min, int64_t max, int64_t *out);
    int (*config_bool)(const wr_config_t *node, int *out);
    int (*config_size)(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out);
    int (*config_duration_ms)(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out);
    int (*config_keys)(const wr_config_t *map, const char *const *known);
    int (*config_errorv)(const wr_config_t *node, const char *fmt, va_list ap);

    /* helpers */
    void (*sha256)(const void *data, size_t len, unsigned char out[32]);
    int (*equal_ct)(const void *a, const void *b, size_t len);
} wr_api_t;

/*
 * The descriptor: one per .so, exported as the data symbol `wr_plugin`.
 * Made by WR_PLUGIN_DEFINE; the first five fields protect the rest.
 */
typedef struct wr_plugin {
    uint32_t magic; /* WR_PLUGIN_MAGIC */
    uint16_t abi_major, abi_minor;
    uint32_t size; /* sizeof(wr_plugin_t) as the plugin was built */
    const char *name;
    const char *version;
    uint32_t flags; /* 0; reserved */

    void (*bind)(const wr_api_t *api);

    /* lifecycle, all optional */
    void *(*create_conf)(wr_ctx_t *ctx, const wr_config_t *config); /* NULL: error,
                                          reported with wr_config_error() */
    void (*destroy_conf)(void *conf);
    int (*init)(wr_ctx_t *ctx); /* main thread, once per instance; WR_OK or WR_ERROR */
    void (*fini)(wr_ctx_t *ctx);
    int (*init_worker)(wr_ctx_t *ctx); /* each worker, once per instance */
    void (*exit_worker)(wr_ctx_t *ctx);

    /* hooks, all optional */
    wr_hook_t session_open;
    wr_hook_t session_auth;
    wr_hook_t session_close;
    wr_hook_t stream_open;
    wr_hook_t stream_close;
    wr_hook_t request_headers;
    wr_hook_t response_headers;
    wr_hook_t log;
} wr_plugin_t;

#if defined(__GNUC__) || defined(__clang__)
#define WR_PLUGIN_EXPORT  __attribute__((visibility("default")))
#define WR_PLUGIN_HIDDEN  __attribute__((visibility("hidden")))
#define WR_PRINTF(fi, ai) __attribute__((format(printf, fi, ai)))
#else
#define WR_PLUGIN_EXPORT
#define WR_PLUGIN_HIDDEN
#define WR_PRINTF(fi, ai)
#endif

#ifndef WR_CORE

/* The table, set by bind before any other callback runs. */
extern WR_PLUGIN_HIDDEN const wr_api_t *wr_api;

/*
 * Define the plugin's descriptor, in exactly one source file of the plugin:
 *   WR_PLUGIN_DEFINE(hello, "0.1.0", .request_headers = hello_request);
 * name is an identifier (the name `plugin:` uses in YAML); the rest are
 * designated initialisers of wr_plugin_t.
 */
#define WR_PLUGIN_DEFINE(name_, version_, ...)                                                     \
    WR_PLUGIN_HIDDEN const wr_api_t *wr_api;                                                       \
    static void wr_plugin_bind_(const wr_api_t *api)                                               \
    {                                                                                              \
        wr_api = api;                                                                              \
    }                                                                                              \
    WR_PLUGIN_EXPORT const wr_plugin_t wr_plugin = {.magic = WR_PLUGIN_MAGIC,                      \
                                                    .abi_major = WR_ABI_MAJOR,                     \
                                                    .abi_minor = WR_ABI_MINOR,                     \
                                                    .size = sizeof(wr_plugin_t),                   \
                                                    .name = #name_,                                \
                                                    .version = version_,                           \
                                                    .bind = wr_plugin_bind_,                       \
                                                    __VA_ARGS__}

static inline WR_PRINTF(3, 4) void wr_log(wr_ctx_t *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wr_api->logv(ctx, level, fmt, ap);
    va_end(ap);
}

static inline int wr_phase(const wr_ctx_t *ctx)
{
    return wr_api->phase(ctx);
}

/* The instance's config, as create_conf returned it. */
static inline void *wr_conf(const wr_ctx_t *ctx)
{
    return wr_api->conf(ctx);
}

static inline const char *wr_str(wr_ctx_t *ctx, int key, int i)
{
    return wr_api->str(ctx, key, i);
}

static inline int64_t wr_num(wr_ctx_t *ctx, int key, int i)
{
    return wr_api->num(ctx, key, i);
}

/* Set a string: only WR_KEY_TOKEN_ID (at most 63 bytes), in session_auth.
 * WR_OK or WR_EINVAL. */
static inline int wr_set_str(wr_ctx_t *ctx, int key, const char *value)
{
    return wr_api->set_str(ctx, key, value);
}

/* The first value of header name (case-insensitive), or NULL. */
static inline const char *wr_header_get(wr_ctx_t *ctx, int which, const char *name)
{
    return wr_api->header_get(ctx, which, name);
}

static inline size_t wr_header_count(wr_ctx_t *ctx, int which)
{
    return wr_api->header_count(ctx, which);
}

/* The i-th header field, in order. WR_OK or WR_ENOENT. */
static inline int wr_header_at(wr_ctx_t *ctx, int which, size_t i, const char **name,
                               const char **value)
{
    return wr_api->header_at(ctx, which, i, name, value);
}

/* Replace every field called name by one with value. WR_OK, or WR_EINVAL
 * (not in this phase, a hop-by-hop or framing field such as Content-Length,
 * or a name or value with bytes HTTP does not allow). */
static inline int wr_header_set(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    return wr_api->header_set(ctx, which, name, value);
}

/* Add a field, after the others. WR_OK or WR_EINVAL, as wr_header_set. */
static inline int wr_header_add(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    return wr_api->header_add(ctx, which, name, value);
}

/* Remove every field called name. WR_OK, WR_ENOENT (none) or WR_EINVAL. */
static inline int wr_header_remove(wr_ctx_t *ctx, int which, const char *name)
{
    return wr_api->header_remove(ctx, which, name);
}

/* Say how a WR_REJECT answers: an HTTP status (request phases; 401, 403,
 * 429, 503...) or a status-like code for session and stream phases (only
 * the reason is shown there: the client prints it for session_auth).
 * reason is copied; keep it short and free of secrets. */
static inline void wr_reject(wr_ctx_t *ctx, int status, const char *reason)
{
    wr_api->reject(ctx, status, reason);
}

/* End a phase a hook suspended with WR_AGAIN, with the verdict it would have
 * returned. Call it once, on the ctx's worker (from a timer, typically). */
static inline void wr_resume(wr_ctx_t *ctx, int verdict)
{
    wr_api->resume(ctx, verdict);
}

static inline void *wr_data_get(wr_ctx_t *ctx, int scope)
{
    return wr_api->data_get(ctx, scope);
}

/* Store data in the instance's slot for scope; cleanup (may be NULL) is
 * called with it when the scope ends or the slot is set again. */
static inline int wr_data_set(wr_ctx_t *ctx, int scope, void *data, void (*cleanup)(void *))
{
    return wr_api->data_set(ctx, scope, data, cleanup);
}

/* Call cb(ctx', arg) once, ms milliseconds from now, on this worker (in
 * init_worker, or any hook). ctx' is a WR_PHASE_TIMER ctx for the same
 * instance and worker. Delete a timer you no longer want, at the latest in
 * exit_worker or the cleanup of the data that arg points to; a timer that
 * has fired is gone and must not be deleted. NULL on failure. */
static inline wr_timer_t *wr_timer_add(wr_ctx_t *ctx, uint64_t ms, wr_timer_cb_t cb, void *arg)
{
    return wr_api->timer_add(ctx, ms, cb, arg);
}

static inline void wr_timer_del(wr_timer_t *t)
{
    wr_api->timer_del(t);
}

static inline uint64_t wr_now_us(void)
{
    return wr_api->now_us();
}

static inline uint64_t wr_time_us(void)
{
    return wr_api->time_us();
}

/* Config, in create_conf. Each conversion returns WR_OK, or reports
 * "FILE:LINE:COL: 'plugins[1].config.rate' expects ..." and returns
 * WR_ERROR; create_conf then returns NULL. */
static inline const wr_config_t *wr_config_get(const wr_config_t *map, const char *key)
{
    return wr_api->config_get(map, key);
}

static inline int wr_config_kind(const wr_config_t *node)
{
    return wr_api->config_kind(node);
}

/* Pairs of a map, items of a sequence, 0 for a scalar. */
static inline size_t wr_config_len(const wr_config_t *node)
{
    return wr_api->config_len(node);
}

static inline const char *wr_config_key_at(const wr_config_t *map, size_t i)
{
    return wr_api->config_key_at(map, i);
}

/* The i-th value of a map or item of a sequence. */
static inline const wr_config_t *wr_config_at(const wr_config_t *node, size_t i)
{
    return wr_api->config_at(node, i);
}

static inline int wr_config_str(const wr_config_t *node, const char **out)
{
    return wr_api->config_str(node, out);
}

static inline int wr_config_int(const wr_config_t *node, int64_t min, int64_t max, int64_t *out)
{
    return wr_api->config_int(node, min, max, out);
}

static inline int wr_config_bool(const wr_config_t *node, int *out)
{
    return wr_api->config_bool(node, out);
}

/* "64k", "1m": bytes. */
static inline int wr_config_size(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out)
{
    return wr_api->config_size(node, min, max, out);
}

/* "250ms", "10s", "5m": milliseconds. */
static inline int wr_config_duration_ms(const wr_config_t *node, uint64_t min, uint64_t max,
                                        uint64_t *out)
{
    return wr_api->config_duration_ms(node, min, max, out);
}

/* WR_OK when node is a map whose keys are all in known (NULL-terminated);
 * else reports the first unknown key and returns WR_ERROR. */
static inline int wr_config_keys(const wr_config_t *map, const char *const *known)
{
    return wr_api->config_keys(map, known);
}

/* Report an error about node, prefixed with its file:line:col. Returns
 * WR_ERROR. */
static inline WR_PRINTF(2, 3) int wr_config_error(const wr_config_t *node, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = wr_api->config_errorv(node, fmt, ap);
    va_end(ap);
    return rc;
}

static inline void wr_sha256(const void *data, size_t len, unsigned char out[32])
{
    wr_api->sha256(data, len, out);
}

/* 1 when the len bytes at a and b are equal, in time independent of where
 * they differ; else 0. */
static inline int wr_equal_ct(const void *a, const void *b, size_t len)
{
    return wr_api->equal_ct(a, b, len);
}

#endif /* WR_CORE */

#ifdef __cplusplus
}
#endif

#endif
