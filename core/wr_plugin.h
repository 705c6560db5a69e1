/*
 * wr_plugin: loading plugins (.so files named in `plugins:`) and running
 * their hooks. See include/warren/plugin.h for what plugins see, and
 * docs/plugin-guide.md.
 *
 * The loaded set (wr_plugins_t) is built on the main thread before the
 * workers start and never changes after; every worker reads it. A call site
 * (a session, a public connection, a request) owns a wr_ctx_t, fills in
 * what the phase can see (an ops table answering wr_str/wr_num, the header
 * sets, the slot arrays), and runs a phase with wr_plugins_run (decisions)
 * or wr_plugins_notify (close and log phases).
 *
 * Thread safety: load and free on the main thread; worker init/exit on each
 * worker; a ctx is used on its worker only.
 */
#ifndef WR_PLUGIN_H
#define WR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "wr_http.h"
#include "wr_papi.h" /* WR_CORE, <warren/plugin.h> */

struct event_base;
typedef struct wr_plugins wr_plugins_t;

/* Where `plugin: NAME` is looked for: WARREN_PLUGIN_DIR, else this. */
#ifndef WR_PLUGIN_DIR
#define WR_PLUGIN_DIR "/usr/local/lib/warren/plugins"
#endif

/* Per-instance data slots of one scope (a session's, a stream's). Zeroed
 * before use; wr_pslots_end runs the cleanups and frees. */
typedef struct wr_pslots_s {
    void **data;
    void (**cleanup)(void *);
} wr_pslots_t;

void wr_pslots_end(wr_pslots_t *s);

/* Header sets a phase may read and change (see wr_hdrs_*). */
typedef struct wr_hdrs wr_hdrs_t;

/* What a call site answers for wr_str/wr_num/wr_set_str; NULL/-1 when the
 * key means nothing to it. */
typedef struct {
    const char *(*str)(void *host, int key, int i);
    int64_t (*num)(void *host, int key, int i);
    int (*set_str)(void *host, int key, const char *value);
} wr_phost_ops_t;

typedef void (*wr_plugins_done_cb)(wr_ctx_t *ctx, int verdict);

struct wr_ctx {
    const wr_plugins_t *ps;
    const wr_phost_ops_t *ops;
    void *host;
    int phase;
    int worker;
    int inst; /* the instance whose hook runs (or ran last) */
    uint64_t session_id;
    uint32_t stream_id;
    wr_pslots_t *session, *stream; /* NULL when the phase has none */
    wr_hdrs_t *hdrs[2];            /* WR_REQUEST, WR_RESPONSE; NULL when none */
    int reject_status;
    char reject_reason[160];
    /* wr_plugins_run state, for WR_AGAIN */
    wr_plugins_done_cb done;
    int pos;       /* position in the phase's order */
    int suspended; /* a hook returned WR_AGAIN and wr_resume has not come */
    int in_hook;
    int resumed_verdict; /* wr_resume called during the hook itself */
};

/* ---- loading ------------------------------------------------------------ */

/*
 * Load the instances of `plugins:` (a sequence node, or NULL for none) for
 * side (WR_SIDE_SERVER or WR_SIDE_CLIENT) and nworkers workers (what
 * WR_KEY_WORKERS says, from create_conf on): dlopen each file once, check its
 * descriptor, run create_conf for each instance, then init. NULL with *err
 * filled ("server.yaml:12:5: plugins[0]: /x/auth.so: ABI 2.0, warren has
 * 1.0") on any failure; nothing stays loaded then. With seq NULL or empty,
 * returns an empty set (never NULL on success). Main thread.
 */
wr_plugins_t *wr_plugins_load(const wr_conf_node_t *seq, int side, int nworkers,
                              wr_conf_err_t *err);

/* fini, destroy_conf and dlclose, in reverse order. NULL ignored. Main
 * thread, after the workers stopped. */
void wr_plugins_free(wr_plugins_t *ps);

size_t wr_plugins_count(const wr_plugins_t *ps);
/* 1 when some instance has a hook for phase (WR_PHASE_*). ps may be NULL. */
int wr_plugins_has(const wr_plugins_t *ps, int phase);

/* Run init_worker of every instance on this worker, with base for
 * timers. 0, or -1 when one failed: the ones that had run are undone
 * (exit_worker) and the caller must stop. Worker thread. */
int wr_plugins_worker_init(const wr_plugins_t *ps, struct event_base *base, int worker);
/* exit_worker of the instances whose init_worker ran, in reverse order,
 * then the worker's slot cleanups. Worker thread, when it stops. */
void wr_plugins_worker_exit(const wr_plugins_t *ps, int worker);

/* Count of SIGHUP/SIGUSR1 seen (WR_KEY_REOPEN_COUNT). Main thread bumps. */
void wr_plugins_reopen(void);

/* ---- phases ------------------------------------------------------------- */

/* Set ctx up for a phase run: zeroes it, then ps/ops/host/worker. */
void wr_ctx_init(wr_ctx_t *ctx, const wr_plugins_t *ps, const wr_phost_ops_t *ops, void *host,
                 int worker);

/*
 * Run a decision phase (session_open, session_auth, stream_open,
 * request_headers, response_headers). Returns WR_OK (go on), WR_DONE (a
 * hook settled it), WR_REJECT (ctx->reject_status/reason say how; a hook's
 * WR_ERROR under on_error: reject lands here too), or WR_AGAIN: a hook
 * suspended the phase; done(ctx, verdict) is called later on this worker
 * with one of the other three, and the call site must wait for it without
 * touching ctx. Cancel a suspended phase with wr_plugins_cancel.
 */
int wr_plugins_run(wr_ctx_t *ctx, int phase, wr_plugins_done_cb done);

/* The call site is going away while its phase is suspended: a later
 * wr_resume on ctx is ignored. */
void wr_plugins_cancel(wr_ctx_t *ctx);

/* Run a phase whose verdicts do not matter (session_close, stream_close,
 * log): every hook, in its phase's order. */
void wr_plugins_notify(wr_ctx_t *ctx, int phase);

/* A NUL-terminated copy of the n bytes at p, which need not be a string
 * (a field of a parsed head, a token): strndup() would treat them as one
 * and may look past them. NULL when out of memory. */
char *wr_memdup_str(const void *p, size_t n);

/* ---- request records ---------------------------------------------------- */

/*
 * What plugins see of one public HTTP request, one request the client
 * proxies, or one public TCP connection, and what the log phase reports.
 * An owner allocates one only when plugins are loaded, points its string
 * fields at storage of its own that outlives the record's phases, and
 * brackets each request with wr_prec_begin and wr_prec_end.
 */
typedef struct {
    const wr_plugins_t *ps;
    int worker;
    void *owner; /* the call site's object, for its done callbacks */
    wr_ctx_t ctx;
    wr_pslots_t slots;  /* WR_SCOPE_STREAM */
    wr_hdrs_t *hdrs[2]; /* the request's and the response's fields */
    int active;         /* begun and not ended: the log phase is due */
    /* the owner's strings (NULL: unknown) */
    const char *peer, *client_ip, *host, *scheme, *type;
    const char *method; /* a static string */
    char *path;
    char tunnel[64], token_id[64];
    char peer_buf[64], ip_buf[64]; /* wr_prec_set_peer */
    char error[160];
    int port;        /* tcp: the public port; -1 */
    unsigned status; /* sent to the public client (0: none) */
    uint64_t t0_us, wall0_us, ttfb_us, dur_us, bytes_in, bytes_out;
} wr_prec_t;

/* A record for a worker, or NULL when ps has no instances (or out of
 * memory): callers test for NULL and skip every plugin step. */
wr_prec_t *wr_prec_new(const wr_plugins_t *ps, int worker);
/* Ends the record (wr_prec_end) if it is active, and frees it. NULL ok. */
void wr_prec_free(wr_prec_t *r);

/* A request begins: clocks start, method and path are kept and the header
 * sets seeded from h (NULL for a TCP connection). */
void wr_prec_begin(wr_prec_t *r, const wr_http_head_t *h);

/* Keep a copy of the peer's "ip:port" in the record, and point peer and
 * client_ip at it (for owners that keep no copy of their own). */
void wr_prec_set_peer(wr_prec_t *r, const char *peer);

/* Why the request failed; the first reason is kept. */
void wr_prec_error(wr_prec_t *r, const char *why);

/* Ready r->ctx for a phase, with the session and stream it belongs to
 * (session slots NULL when the session is gone). */
void wr_prec_ctx(wr_prec_t *r, uint64_t session_id, uint32_t stream_id, wr_pslots_t *session);

/* The request is over: log and stream_close run, once, with the ctx that
 * wr_prec_ctx readied last; stream slots and header sets are released. */
void wr_prec_end(wr_prec_t *r);

/* ---- header sets -------------------------------------------------------- */

/* A header set seeded from head (may be NULL: empty), copied on first use. */
wr_hdrs_t *wr_hdrs_new(const wr_http_head_t *head);
void wr_hdrs_free(wr_hdrs_t *h);
/* 1 when a plugin changed the set. */
int wr_hdrs_changed(const wr_hdrs_t *h);
/* Set field name to value, replacing every field of that name, as warren
 * (not a plugin): no name is reserved, and the caller vouches for the
 * bytes. 0, or -1 when h is NULL or out of memory. */
int wr_hdrs_set(wr_hdrs_t *h, const char *name, const char *value);
/* The fields as they are now, in wr_http_header_t form (valid until the set
 * changes or is freed), for writing a head. */
const wr_http_header_t *wr_hdrs_fields(wr_hdrs_t *h, size_t *n);

#endif
