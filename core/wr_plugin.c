/*
 * wr_plugin: the plugin loader, the phase runner and the API table (see
 * wr_plugin.h).
 */
#include "wr_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "wr_log.h"
#include "wr_net.h"
#include "wr_stats.h"
#include "wr_worker.h"

#define WR_PLUGINS_MAX 64 /* instances */

enum { WR_ON_ERROR_REJECT = 0, WR_ON_ERROR_CONTINUE = 1 };

typedef struct {
    char id[64];
    char path[512];
    void *dl;
    int fd;           /* the file, open while loaded (0: none) */
    wr_plugin_t desc; /* a copy, zero past the plugin's size */
    void *conf;
    int on_error;
    int inited;
    unsigned mx; /* its wr_stats plugin label */
} wr_pinst_t;

typedef struct {
    void *data[WR_PLUGINS_MAX];
    void (*cleanup[WR_PLUGINS_MAX])(void *);
    struct event_base *base;
    size_t ninit; /* instances whose init_worker ran (exit_worker is due) */
} wr_pworker_t;

struct wr_plugins {
    int side;
    size_t n;
    wr_pinst_t inst[WR_PLUGINS_MAX];
    /* per phase, the instances with a hook, in running order */
    int order[WR_PHASE_TIMER + 1][WR_PLUGINS_MAX];
    int norder[WR_PHASE_TIMER + 1];
    int nworkers;
    wr_pworker_t *workers; /* WR_WORKERS_MAX, each written by its worker only */
    wr_conf_t *empty;      /* `{}`, for instances without config */
};

struct wr_timer {
    struct event *ev;
    const wr_plugins_t *ps;
    int inst, worker;
    wr_timer_cb_t cb;
    void *arg;
};

static volatile int wr_reopen_count;

static const wr_api_t wr_api_table;

void wr_plugins_reopen(void)
{
    __atomic_add_fetch(&wr_reopen_count, 1, __ATOMIC_RELAXED);
}

static wr_hook_t wr_hook_of(const wr_plugin_t *d, int phase)
{
    switch (phase) {
    case WR_PHASE_SESSION_OPEN:
        return d->session_open;
    case WR_PHASE_SESSION_AUTH:
        return d->session_auth;
    case WR_PHASE_SESSION_CLOSE:
        return d->session_close;
    case WR_PHASE_STREAM_OPEN:
        return d->stream_open;
    case WR_PHASE_STREAM_CLOSE:
        return d->stream_close;
    case WR_PHASE_REQUEST_HEADERS:
        return d->request_headers;
    case WR_PHASE_RESPONSE_HEADERS:
        return d->response_headers;
    case WR_PHASE_LOG:
        return d->log;
    default:
        return NULL;
    }
}

static int wr_phase_reversed(int phase)
{
    return phase == WR_PHASE_RESPONSE_HEADERS || phase == WR_PHASE_STREAM_CLOSE ||
           phase == WR_PHASE_SESSION_CLOSE;
}

static const char *wr_phase_name(int phase)
{
    static const char *const names[] = {
        "config",           "worker",      "session_open", "session_auth",
        "session_close",    "stream_open", "stream_close", "request_headers",
        "response_headers", "log",         "timer"};

    return phase >= 0 && phase <= WR_PHASE_TIMER ? names[phase] : "?";
}

/* ---- loading ------------------------------------------------------------ */

/* A plugin runs with warren's rights: neither the file nor the directory
 * it sits in may be writable by anyone but its owner, and the owner must
 * be root or the user warren runs as. The checks are made on the open
 * file, and that same file is what dlopen() loads (through /proc/self/fd),
 * so that it cannot be swapped in between. Returns the open fd, or -1. */
static int wr_plugin_check_file(const char *path, char *why, size_t len)
{
    struct stat st, dst;
    char dir[512];
    char *slash;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1 || fstat(fd, &st) != 0) {
        snprintf(why, len, "%s: %s", path, strerror(errno));
        goto failed;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, len, "%s: not a regular file", path);
        goto failed;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(why, len, "%s: writable by group or others (mode %03o); refusing to load it", path,
                 (unsigned)(st.st_mode & 0777));
        goto failed;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        snprintf(why, len, "%s: owned by uid %u, not by root or by warren's user (uid %u)", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        goto failed;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &dst) == 0 && (dst.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
        (dst.st_mode & S_ISVTX) == 0) {
        snprintf(why, len,
                 "%s: its directory %s is writable by group or others (mode %03o): anyone "
                 "could put another file there; refusing to load it",
                 path, dir, (unsigned)(dst.st_mode & 0777));
        goto failed;
    }
    return fd;

failed:
    if (fd != -1)
        close(fd);
    return -1;
}

static int wr_plugin_open(wr_pinst_t *in, char *why, size_t len)
{
    const wr_plugin_t *d;
    size_t size;
    char self[64];
    int fd = wr_plugin_check_file(in->path, why, len);

    if (fd == -1)
        return -1;
    /* The fd stays open while the plugin is loaded: the dynamic loader
     * knows objects by name, and a reused fd number would be taken for a
     * plugin it already has. */
    in->fd = fd;
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    in->dl = dlopen(access(self, R_OK) == 0 ? self : in->path, RTLD_NOW | RTLD_LOCAL);
    if (in->dl == NULL) {
        snprintf(why, len, "%s: %s", in->path, dlerror());
        return -1;
    }
    d = dlsym(in->dl, "wr_plugin");
    if (d == NULL) {
        snprintf(why, len, "%s: no wr_plugin descriptor (not a warren plugin?)", in->path);
        return -1;
    }
    /* The first fields are read before anything else is trusted. */
    if (d->magic != WR_PLUGIN_MAGIC) {
        snprintf(why, len, "%s: bad magic 0x%08x (not a warren plugin?)", in->path, d->magic);
        return -1;
    }
    if (d->abi_major != WR_ABI_MAJOR || d->abi_minor > WR_ABI_MINOR) {
        snprintf(why, len, "%s: built for plugin ABI %u.%u, this warren has %u.%u%s", in->path,
                 d->abi_major, d->abi_minor, WR_ABI_MAJOR, WR_ABI_MINOR,
                 d->abi_major != WR_ABI_MAJOR ? " (major versions differ)"
                                              : " (the plugin needs a newer warren)");
        return -1;
    }
    size = d->size;
    if (size < offsetof(wr_plugin_t, create_conf) || d->name == NULL || d->bind == NULL) {
        snprintf(why, len, "%s: malformed descriptor", in->path);
        return -1;
    }
    if (d->flags != 0) {
        /* Reserved: a flag this warren does not know could mean anything. */
        snprintf(why, len, "%s: descriptor flags 0x%x unknown to this warren", in->path, d->flags);
        return -1;
    }
    memset(&in->desc, 0, sizeof(in->desc));
    memcpy(&in->desc, d, size < sizeof(in->desc) ? size : sizeof(in->desc));
    in->desc.bind(&wr_api_table);
    return 0;
}

static void wr_ctx_config(wr_ctx_t *ctx, const wr_plugins_t *ps, int inst, int phase)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->ps = ps;
    ctx->inst = inst;
    ctx->phase = phase;
    ctx->worker = -1;
}

static int wr_plugins_instance(wr_plugins_t *ps, const wr_conf_node_t *item, wr_conf_err_t *err)
{
    static const char *const known[] = {"plugin", "path", "id", "on_error", "config", NULL};
    static const char *const on_error[] = {"reject", "continue", NULL};
    wr_pinst_t *in = &ps->inst[ps->n];
    const wr_conf_node_t *plugin, *path, *id, *oe, *config;
    const char *s;
    char why[700], ctxpath[64];
    size_t i;
    wr_ctx_t ctx;

    if (wr_conf_node_expect(item, WR_CONF_NODE_MAP, err) != 0)
        return -1;
    for (i = 0; i < wr_conf_map_len(item); i++) {
        const wr_conf_node_t *k = wr_conf_map_key_at(item, i);
        size_t j;
        for (j = 0; known[j] != NULL; j++)
            if (strcmp(known[j], wr_conf_node_scalar(k)) == 0)
                break;
        if (known[j] == NULL)
            return wr_conf_node_error(err, k,
                                      "unknown key '%s' in %s (expected plugin, path, "
                                      "id, on_error, config)",
                                      wr_conf_node_scalar(k),
                                      wr_conf_node_path(item, ctxpath, sizeof(ctxpath)));
    }
    plugin = wr_conf_map_get(item, "plugin");
    path = wr_conf_map_get(item, "path");
    if ((plugin == NULL) == (path == NULL))
        return wr_conf_node_error(err, item, "%s needs exactly one of 'plugin' or 'path'",
                                  wr_conf_node_path(item, ctxpath, sizeof(ctxpath)));
    if (plugin != NULL) {
        const char *dir = getenv("WARREN_PLUGIN_DIR");
        if (wr_conf_node_string(plugin, &s, err) != 0)
            return -1;
        if (s[0] == '\0' || strchr(s, '/') != NULL || s[0] == '.')
            return wr_conf_node_error(err, plugin,
                                      "'plugin' is a name such as auth; use 'path' "
                                      "for a file");
        if (snprintf(in->path, sizeof(in->path), "%s/%s.so",
                     dir != NULL && dir[0] ? dir : WR_PLUGIN_DIR, s) >= (int)sizeof(in->path))
            return wr_conf_node_error(err, plugin, "plugin path too long");
    } else {
        if (wr_conf_node_string(path, &s, err) != 0)
            return -1;
        /* A bare name would send dlopen() searching the library path,
         * away from the file checked here. */
        if (snprintf(in->path, sizeof(in->path), "%s%s", strchr(s, '/') ? "" : "./", s) >=
            (int)sizeof(in->path))
            return wr_conf_node_error(err, path, "path too long");
    }
    in->on_error = WR_ON_ERROR_REJECT;
    oe = wr_conf_map_get(item, "on_error");
    if (oe != NULL && wr_conf_node_enum(oe, on_error, &in->on_error, err) != 0)
        return -1;
    config = wr_conf_map_get(item, "config");
    if (config != NULL && wr_conf_node_expect(config, WR_CONF_NODE_MAP, err) != 0)
        return -1;

    if (wr_plugin_open(in, why, sizeof(why)) != 0)
        return wr_conf_node_error(err, plugin != NULL ? plugin : path, "%s", why);

    id = wr_conf_map_get(item, "id");
    if (id != NULL) {
        if (wr_conf_node_string(id, &s, err) != 0)
            return -1;
    } else {
        s = in->desc.name;
    }
    if (s[0] == '\0' || strlen(s) >= sizeof(in->id))
        return wr_conf_node_error(err, id != NULL ? id : item, "plugin id must be 1 to %zu bytes",
                                  sizeof(in->id) - 1);
    for (i = 0; i < ps->n; i++)
        if (strcmp(ps->inst[i].id, s) == 0)
            return wr_conf_node_error(err, id != NULL ? id : item,
                                      "duplicate plugin id '%s' (give each instance its own id:)",
                                      s);
    snprintf(in->id, sizeof(in->id), "%s", s);
    in->mx = wr_stats_plugin(in->id);
    ps->n++; /* from here on, wr_plugins_free undoes it */

    if (in->desc.create_conf != NULL) {
        if (config == NULL)
            config = wr_conf_root(ps->empty);
        memset(&wr_papi_config_err, 0, sizeof(wr_papi_config_err));
        wr_ctx_config(&ctx, ps, (int)ps->n - 1, WR_PHASE_CONFIG);
        in->conf = in->desc.create_conf(&ctx, WR_PAPI_CFG(config));
        if (in->conf == NULL) {
            if (wr_papi_config_err.msg[0] != '\0' && config == wr_conf_root(ps->empty)) {
                /* No config: was given: say so, at the instance. */
                const char *m = strstr(wr_papi_config_err.msg, ": ");
                return wr_conf_node_error(err, item, "plugin '%s' needs a config: %s", in->id,
                                          m != NULL ? m + 2 : wr_papi_config_err.msg);
            }
            if (wr_papi_config_err.msg[0] != '\0') {
                *err = wr_papi_config_err;
                return -1;
            }
            return wr_conf_node_error(err, item, "plugin '%s' refused its config", in->id);
        }
    }
    return 0;
}

static void wr_plugins_index(wr_plugins_t *ps)
{
    int phase;
    size_t i;

    for (phase = 0; phase <= WR_PHASE_TIMER; phase++) {
        ps->norder[phase] = 0;
        for (i = 0; i < ps->n; i++) {
            size_t k = wr_phase_reversed(phase) ? ps->n - 1 - i : i;
            if (wr_hook_of(&ps->inst[k].desc, phase) != NULL)
                ps->order[phase][ps->norder[phase]++] = (int)k;
        }
    }
}

wr_plugins_t *wr_plugins_load(const wr_conf_node_t *seq, int side, int nworkers, wr_conf_err_t *err)
{
    wr_plugins_t *ps = calloc(1, sizeof(*ps));
    size_t i;

    if (ps == NULL)
        return NULL;
    ps->side = side;
    ps->nworkers = nworkers;
    ps->workers = calloc(WR_WORKERS_MAX, sizeof(*ps->workers));
    ps->empty = wr_conf_load_string("<empty>", "{}", 2, err);
    if (ps->workers == NULL || ps->empty == NULL)
        goto failed;
    if (seq != NULL && !wr_conf_node_is_null(seq)) {
        if (wr_conf_node_expect(seq, WR_CONF_NODE_SEQ, err) != 0)
            goto failed;
        if (wr_conf_seq_len(seq) > WR_PLUGINS_MAX) {
            wr_conf_node_error(err, seq, "at most %d plugin instances", WR_PLUGINS_MAX);
            goto failed;
        }
        for (i = 0; i < wr_conf_seq_len(seq); i++)
            if (wr_plugins_instance(ps, wr_conf_seq_at(seq, i), err) != 0)
                goto failed;
    }
    for (i = 0; i < ps->n; i++) {
        wr_pinst_t *in = &ps->inst[i];
        wr_ctx_t ctx;
        if (in->desc.init != NULL) {
            wr_ctx_config(&ctx, ps, (int)i, WR_PHASE_CONFIG);
            if (in->desc.init(&ctx) != WR_OK) {
                wr_conf_node_error(err, wr_conf_seq_at(seq, i), "plugin '%s' (%s) failed to start",
                                   in->id, in->path);
                goto failed;
            }
        }
        in->inited = 1;
        wr_log_info("plugin %s: %s %s loaded from %s", in->id, in->desc.name,
                    in->desc.version != NULL ? in->desc.version : "", in->path);
    }
    wr_plugins_index(ps);
    return ps;

failed:
    wr_plugins_free(ps);
    return NULL;
}

void wr_plugins_free(wr_plugins_t *ps)
{
    size_t i;

    if (ps == NULL)
        return;
    for (i = ps->n; i-- > 0;) {
        wr_pinst_t *in = &ps->inst[i];
        wr_ctx_t ctx;
        if (in->inited && in->desc.fini != NULL) {
            wr_ctx_config(&ctx, ps, (int)i, WR_PHASE_CONFIG);
            in->desc.fini(&ctx);
        }
        if (in->conf != NULL && in->desc.destroy_conf != NULL)
            in->desc.destroy_conf(in->conf);
    }
    /* After every instance is gone: one .so may back several. */
    for (i = 0; i <= ps->n && i < WR_PLUGINS_MAX; i++) {
        /* inst[n]: opened, then refused */
        if (ps->inst[i].dl != NULL)
            dlclose(ps->inst[i].dl);
        if (ps->inst[i].fd > 0)
            close(ps->inst[i].fd);
    }
    wr_conf_free(ps->empty);
    free(ps->workers);
    free(ps);
}

size_t wr_plugins_count(const wr_plugins_t *ps)
{
    return ps != NULL ? ps->n : 0;
}

int wr_plugins_has(const wr_plugins_t *ps, int phase)
{
    return ps != NULL && phase >= 0 && phase <= WR_PHASE_TIMER && ps->norder[phase] > 0;
}

int wr_plugins_worker_init(const wr_plugins_t *ps, struct event_base *base, int worker)
{
    wr_pworker_t *pw;
    size_t i;
    wr_ctx_t ctx;

    if (ps == NULL || worker < 0 || worker >= WR_WORKERS_MAX)
        return 0;
    pw = &ps->workers[worker];
    pw->base = base;
    for (i = 0; i < ps->n; i++) {
        if (ps->inst[i].desc.init_worker != NULL) {
            wr_ctx_config(&ctx, ps, (int)i, WR_PHASE_WORKER);
            ctx.worker = worker;
            if (ps->inst[i].desc.init_worker(&ctx) != WR_OK) {
                wr_log_error("plugin %s: init_worker failed on worker %d", ps->inst[i].id, worker);
                wr_plugins_worker_exit(ps, worker); /* the ones started so far */
                return -1;
            }
        }
        pw->ninit = i + 1;
    }
    return 0;
}

void wr_plugins_worker_exit(const wr_plugins_t *ps, int worker)
{
    wr_pworker_t *pw;
    size_t i;
    wr_ctx_t ctx;

    if (ps == NULL || worker < 0 || worker >= WR_WORKERS_MAX)
        return;
    pw = &ps->workers[worker];
    for (i = ps->n; i-- > 0;) {
        if (i < pw->ninit && ps->inst[i].desc.exit_worker != NULL) {
            wr_ctx_config(&ctx, ps, (int)i, WR_PHASE_WORKER);
            ctx.worker = worker;
            ps->inst[i].desc.exit_worker(&ctx);
        }
        if (pw->cleanup[i] != NULL)
            pw->cleanup[i](pw->data[i]);
        pw->cleanup[i] = NULL;
        pw->data[i] = NULL;
    }
    pw->ninit = 0;
}

/* ---- phases ------------------------------------------------------------- */

void wr_ctx_init(wr_ctx_t *ctx, const wr_plugins_t *ps, const wr_phost_ops_t *ops, void *host,
                 int worker)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->ps = ps;
    ctx->ops = ops;
    ctx->host = host;
    ctx->worker = worker;
    ctx->inst = -1;
}

/* Apply one hook's verdict: -1 to go on with the next hook, or the phase's
 * result. */
static int wr_plugins_verdict(wr_ctx_t *ctx, int v)
{
    const wr_pinst_t *in = &ctx->ps->inst[ctx->inst];

    wr_metric_add(wr_stats.plugin_verdicts, in->mx, wr_stats_verdict(v), 1);
    switch (v) {
    case WR_OK:
    case WR_DECLINED:
        return -1;
    case WR_DONE:
        return WR_DONE;
    case WR_REJECT:
        if (ctx->reject_status == 0) {
            ctx->reject_status = 403;
            snprintf(ctx->reject_reason, sizeof(ctx->reject_reason), "refused by plugin %s",
                     in->id);
        }
        return WR_REJECT;
    default:
        wr_log_warn("plugin %s: %s hook failed (verdict %d)%s", in->id, wr_phase_name(ctx->phase),
                    v, in->on_error == WR_ON_ERROR_CONTINUE ? "; continuing" : "");
        if (in->on_error == WR_ON_ERROR_CONTINUE)
            return -1;
        ctx->reject_status = 500;
        snprintf(ctx->reject_reason, sizeof(ctx->reject_reason), "plugin error");
        return WR_REJECT;
    }
}

/* Run hooks from ctx->pos on; WR_AGAIN when one suspends. */
static int wr_plugins_step(wr_ctx_t *ctx)
{
    const wr_plugins_t *ps = ctx->ps;
    int phase = ctx->phase;

    while (ctx->pos < ps->norder[phase]) {
        int k = ps->order[phase][ctx->pos++];
        int v, r;

        ctx->inst = k;
        ctx->in_hook = 1;
        ctx->resumed_verdict = -100;
        /* Each hook's verdict carries its own status and reason. */
        ctx->reject_status = 0;
        ctx->reject_reason[0] = '\0';
        v = wr_hook_of(&ps->inst[k].desc, phase)(ctx);
        ctx->in_hook = 0;
        if (v == WR_AGAIN && ctx->done == NULL && ctx->resumed_verdict == -100)
            v = WR_ERROR; /* this phase cannot wait */
        if (v == WR_AGAIN) {
            if (ctx->resumed_verdict != -100) {
                v = ctx->resumed_verdict; /* resumed before returning */
            } else {
                wr_metric_add(wr_stats.plugin_verdicts, ps->inst[k].mx, wr_stats_verdict(WR_AGAIN),
                              1);
                ctx->suspended = 1;
                return WR_AGAIN;
            }
        }
        r = wr_plugins_verdict(ctx, v);
        if (r != -1)
            return r;
    }
    return WR_OK;
}

int wr_plugins_run(wr_ctx_t *ctx, int phase, wr_plugins_done_cb done)
{
    if (!wr_plugins_has(ctx->ps, phase))
        return WR_OK;
    ctx->phase = phase;
    ctx->pos = 0;
    ctx->done = done;
    ctx->suspended = 0;
    ctx->reject_status = 0;
    ctx->reject_reason[0] = '\0';
    return wr_plugins_step(ctx);
}

void wr_plugins_cancel(wr_ctx_t *ctx)
{
    ctx->suspended = 0;
    ctx->done = NULL;
}

void wr_plugins_notify(wr_ctx_t *ctx, int phase)
{
    const wr_plugins_t *ps = ctx->ps;
    int i;

    if (!wr_plugins_has(ps, phase))
        return;
    ctx->phase = phase;
    for (i = 0; i < ps->norder[phase]; i++) {
        int k = ps->order[phase][i];
        ctx->inst = k;
        ctx->in_hook = 1;
        (void)wr_hook_of(&ps->inst[k].desc, phase)(ctx);
        ctx->in_hook = 0;
    }
}

void wr_pslots_end(wr_pslots_t *s)
{
    size_t i;

    if (s->data == NULL)
        return;
    for (i = 0; i < WR_PLUGINS_MAX; i++)
        if (s->cleanup[i] != NULL)
            s->cleanup[i](s->data[i]);
    free(s->data);
    free(s->cleanup);
    s->data = NULL;
    s->cleanup = NULL;
}

char *wr_memdup_str(const void *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* ---- request records ---------------------------------------------------- */

static const char *wr_prec_str(void *host, int key, int i)
{
    wr_prec_t *r = host;

    switch (key) {
    case WR_KEY_PEER:
        return r->peer;
    case WR_KEY_CLIENT_IP:
        return r->client_ip;
    case WR_KEY_TUNNEL:
        return r->tunnel[0] ? r->tunnel : NULL;
    case WR_KEY_TUNNEL_TYPE:
        return r->tunnel[0] ? r->type : NULL;
    case WR_KEY_TOKEN_ID:
        return r->token_id[0] ? r->token_id : NULL;
    case WR_KEY_HOSTNAME:
    case WR_KEY_HOST:
        return r->host != NULL && r->host[0] ? r->host : NULL;
    case WR_KEY_METHOD:
        return r->method;
    case WR_KEY_PATH:
        return r->path;
    case WR_KEY_SCHEME:
        return r->scheme;
    case WR_KEY_ERROR:
        return r->error[0] ? r->error : NULL;
    default:
        return NULL;
    }
}

static int64_t wr_prec_num(void *host, int key, int i)
{
    wr_prec_t *r = host;

    switch (key) {
    case WR_KEY_PORT:
        return r->port > 0 ? r->port : -1;
    case WR_KEY_STATUS:
        return r->status;
    case WR_KEY_BYTES_IN:
        return (int64_t)r->bytes_in;
    case WR_KEY_BYTES_OUT:
        return (int64_t)r->bytes_out;
    case WR_KEY_START_TIME_US:
        return (int64_t)r->wall0_us;
    case WR_KEY_DURATION_US:
        return (int64_t)(r->active ? wr_papi_now_us() - r->t0_us : r->dur_us);
    case WR_KEY_TTFB_US:
        return r->ttfb_us ? (int64_t)r->ttfb_us : -1;
    default:
        return -1;
    }
}

static const wr_phost_ops_t wr_prec_ops = {wr_prec_str, wr_prec_num, NULL};

wr_prec_t *wr_prec_new(const wr_plugins_t *ps, int worker)
{
    wr_prec_t *r;

    if (wr_plugins_count(ps) == 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->ps = ps;
    r->worker = worker;
    r->port = -1;
    return r;
}

static void wr_prec_release(wr_prec_t *r)
{
    wr_pslots_end(&r->slots);
    wr_hdrs_free(r->hdrs[0]);
    wr_hdrs_free(r->hdrs[1]);
    r->hdrs[0] = r->hdrs[1] = NULL;
    free(r->path);
    r->path = NULL;
}

void wr_prec_free(wr_prec_t *r)
{
    if (r == NULL)
        return;
    wr_prec_end(r);
    wr_prec_release(r);
    free(r);
}

void wr_prec_begin(wr_prec_t *r, const wr_http_head_t *h)
{
    wr_plugins_cancel(&r->ctx);
    wr_prec_release(r);
    r->active = 1;
    r->error[0] = '\0';
    r->status = 0;
    r->t0_us = wr_papi_now_us();
    r->wall0_us = wr_papi_time_us();
    r->ttfb_us = r->dur_us = r->bytes_in = r->bytes_out = 0;
    r->method = NULL;
    if (h != NULL) {
        r->method = h->method_name;
        r->path = wr_memdup_str(h->url, h->url_len);
        r->hdrs[WR_REQUEST] = wr_hdrs_new(h);
        r->hdrs[WR_RESPONSE] = wr_hdrs_new(NULL);
    }
}

void wr_prec_set_peer(wr_prec_t *r, const char *peer)
{
    snprintf(r->peer_buf, sizeof(r->peer_buf), "%s", peer);
    wr_peer_ip(r->peer_buf, r->ip_buf, sizeof(r->ip_buf));
    r->peer = r->peer_buf;
    r->client_ip = r->ip_buf;
}

void wr_prec_error(wr_prec_t *r, const char *why)
{
    if (r->active && r->error[0] == '\0' && why != NULL)
        snprintf(r->error, sizeof(r->error), "%s", why);
}

void wr_prec_ctx(wr_prec_t *r, uint64_t session_id, uint32_t stream_id, wr_pslots_t *session)
{
    wr_ctx_init(&r->ctx, r->ps, &wr_prec_ops, r, r->worker);
    r->ctx.session_id = session_id;
    r->ctx.stream_id = stream_id;
    r->ctx.session = session;
    r->ctx.stream = &r->slots;
    r->ctx.hdrs[WR_REQUEST] = r->hdrs[WR_REQUEST];
    r->ctx.hdrs[WR_RESPONSE] = r->hdrs[WR_RESPONSE];
}

void wr_prec_end(wr_prec_t *r)
{
    if (!r->active)
        return;
    wr_plugins_cancel(&r->ctx);
    r->dur_us = wr_papi_now_us() - r->t0_us;
    r->active = 0;
    wr_plugins_notify(&r->ctx, WR_PHASE_LOG);
    wr_plugins_notify(&r->ctx, WR_PHASE_STREAM_CLOSE);
    wr_prec_release(r);
}

/* ---- header sets -------------------------------------------------------- */

struct wr_hdrs {
    const wr_http_head_t *src;
    int loaded, changed;
    wr_http_header_t *v; /* name and value NUL-terminated, each owned */
    size_t n, cap;
};

wr_hdrs_t *wr_hdrs_new(const wr_http_head_t *head)
{
    wr_hdrs_t *h = calloc(1, sizeof(*h));

    if (h != NULL)
        h->src = head;
    return h;
}

static void wr_hdrs_clear(wr_hdrs_t *h)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        free((char *)h->v[i].name);
        free((char *)h->v[i].value);
    }
    h->n = 0;
}

void wr_hdrs_free(wr_hdrs_t *h)
{
    if (h == NULL)
        return;
    wr_hdrs_clear(h);
    free(h->v);
    free(h);
}

static int wr_hdrs_push(wr_hdrs_t *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *n, *v;

    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        wr_http_header_t *nv = realloc(h->v, cap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        h->v = nv;
        h->cap = cap;
    }
    n = wr_memdup_str(name, nlen);
    v = wr_memdup_str(value, vlen);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    h->v[h->n].name = n;
    h->v[h->n].name_len = nlen;
    h->v[h->n].value = v;
    h->v[h->n].value_len = vlen;
    h->n++;
    return 0;
}

static int wr_hdrs_load(wr_hdrs_t *h)
{
    size_t i;

    if (h->loaded)
        return 0;
    h->loaded = 1;
    if (h->src == NULL)
        return 0;
    for (i = 0; i < h->src->nheaders; i++) {
        const wr_http_header_t *f = &h->src->headers[i];
        if (wr_hdrs_push(h, f->name, f->name_len, f->value, f->value_len) != 0)
            return -1;
    }
    return 0;
}

int wr_hdrs_changed(const wr_hdrs_t *h)
{
    return h != NULL && h->changed;
}

const wr_http_header_t *wr_hdrs_fields(wr_hdrs_t *h, size_t *n)
{
    if (wr_hdrs_load(h) != 0) {
        *n = 0;
        return NULL;
    }
    *n = h->n;
    return h->v;
}

/* Names a plugin may not touch: the message framing, the connection's
 * fate and the routing belong to warren. */
static int wr_hdrs_reserved(const char *name)
{
    static const char *const names[] = {"content-length",
                                        "transfer-encoding",
                                        "connection",
                                        "keep-alive",
                                        "upgrade",
                                        "te",
                                        "trailer",
                                        "host",
                                        "proxy-connection",
                                        "proxy-authenticate",
                                        "proxy-authorization",
                                        NULL};
    size_t i;

    for (i = 0; names[i] != NULL; i++)
        if (strcasecmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* RFC 9110 token characters for names; visible ASCII, space and tab (not
 * leading or trailing) and bytes >= 0x80 for values. */
static int wr_hdrs_valid(const char *name, const char *value)
{
    const unsigned char *p;
    size_t vlen;

    if (name == NULL || name[0] == '\0' || value == NULL)
        return 0;
    for (p = (const unsigned char *)name; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p) != NULL)
            return 0;
    for (p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    vlen = strlen(value);
    if (vlen > 0 &&
        (value[0] == ' ' || value[0] == '\t' || value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        return 0;
    return !wr_hdrs_reserved(name);
}

static int wr_hdrs_remove(wr_hdrs_t *h, const char *name)
{
    size_t i, j = 0;
    int found = 0;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) == 0) {
            free((char *)h->v[i].name);
            free((char *)h->v[i].value);
            found = 1;
        } else {
            h->v[j++] = h->v[i];
        }
    }
    h->n = j;
    if (found)
        h->changed = 1;
    return found;
}

int wr_hdrs_set(wr_hdrs_t *h, const char *name, const char *value)
{
    if (h == NULL || wr_hdrs_load(h) != 0)
        return -1;
    wr_hdrs_remove(h, name);
    if (wr_hdrs_push(h, name, strlen(name), value, strlen(value)) != 0)
        return -1;
    h->changed = 1;
    return 0;
}

/* ---- the API table ------------------------------------------------------ */

static const wr_pinst_t *wr_ctx_inst(const wr_ctx_t *ctx)
{
    return ctx->ps != NULL && ctx->inst >= 0 ? &ctx->ps->inst[ctx->inst] : NULL;
}

static void wr_api_logv(wr_ctx_t *ctx, int level, const char *fmt, va_list ap)
{
    const wr_pinst_t *in = wr_ctx_inst(ctx);
    char msg[1024], ids[64] = "";

    if (level < WR_LEVEL_ERROR || level > WR_LEVEL_DEBUG)
        level = WR_LEVEL_INFO;
    if (!wr_log_enabled((wr_log_level_t)level))
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (ctx->session_id != 0 && ctx->stream_id != 0)
        snprintf(ids, sizeof(ids), " [s%llu st%u]", (unsigned long long)ctx->session_id,
                 ctx->stream_id);
    else if (ctx->session_id != 0)
        snprintf(ids, sizeof(ids), " [s%llu]", (unsigned long long)ctx->session_id);
    wr_log((wr_log_level_t)level, "plugin %s%s: %s", in != NULL ? in->id : "?", ids, msg);
}

static int wr_api_phase(const wr_ctx_t *ctx)
{
    return ctx->phase;
}

static void *wr_api_conf(const wr_ctx_t *ctx)
{
    const wr_pinst_t *in = wr_ctx_inst(ctx);

    return in != NULL ? in->conf : NULL;
}

static const char *wr_api_str(wr_ctx_t *ctx, int key, int i)
{
    const wr_pinst_t *in = wr_ctx_inst(ctx);

    if (key == WR_KEY_INSTANCE_ID)
        return in != NULL ? in->id : NULL;
    if (key == WR_KEY_TOKEN && ctx->phase != WR_PHASE_SESSION_AUTH)
        return NULL; /* the secret is shown to session_auth only */
    if (ctx->ops == NULL || ctx->ops->str == NULL)
        return NULL;
    return ctx->ops->str(ctx->host, key, i);
}

static int64_t wr_api_num(wr_ctx_t *ctx, int key, int i)
{
    switch (key) {
    case WR_KEY_SIDE:
        return ctx->ps != NULL ? ctx->ps->side : -1;
    case WR_KEY_WORKER:
        return ctx->worker;
    case WR_KEY_WORKERS:
        return ctx->ps != NULL ? ctx->ps->nworkers : -1;
    case WR_KEY_SESSION_ID:
        return ctx->session_id != 0 ? (int64_t)ctx->session_id : -1;
    case WR_KEY_STREAM_ID:
        return ctx->stream_id != 0 ? (int64_t)ctx->stream_id : -1;
    case WR_KEY_REOPEN_COUNT:
        return __atomic_load_n(&wr_reopen_count, __ATOMIC_RELAXED);
    default:
        if (ctx->ops == NULL || ctx->ops->num == NULL)
            return -1;
        return ctx->ops->num(ctx->host, key, i);
    }
}

static int wr_api_set_str(wr_ctx_t *ctx, int key, const char *value)
{
    if (value == NULL || ctx->ops == NULL || ctx->ops->set_str == NULL)
        return WR_EINVAL;
    if (key != WR_KEY_TOKEN_ID || ctx->phase != WR_PHASE_SESSION_AUTH)
        return WR_EINVAL;
    return ctx->ops->set_str(ctx->host, key, value);
}

static wr_hdrs_t *wr_api_hdrs(wr_ctx_t *ctx, int which)
{
    if (which != WR_REQUEST && which != WR_RESPONSE)
        return NULL;
    if (ctx->hdrs[which] == NULL || wr_hdrs_load(ctx->hdrs[which]) != 0)
        return NULL;
    return ctx->hdrs[which];
}

/* Request headers may change in request_headers only, response headers in
 * request_headers (for a rejection's answer) and response_headers. */
static wr_hdrs_t *wr_api_hdrs_w(wr_ctx_t *ctx, int which)
{
    if (which == WR_REQUEST && ctx->phase != WR_PHASE_REQUEST_HEADERS)
        return NULL;
    if (which == WR_RESPONSE && ctx->phase != WR_PHASE_REQUEST_HEADERS &&
        ctx->phase != WR_PHASE_RESPONSE_HEADERS)
        return NULL;
    return wr_api_hdrs(ctx, which);
}

static const char *wr_api_header_get(wr_ctx_t *ctx, int which, const char *name)
{
    wr_hdrs_t *h = wr_api_hdrs(ctx, which);
    size_t i;

    if (h == NULL || name == NULL)
        return NULL;
    for (i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            return h->v[i].value;
    return NULL;
}

static size_t wr_api_header_count(wr_ctx_t *ctx, int which)
{
    wr_hdrs_t *h = wr_api_hdrs(ctx, which);

    return h != NULL ? h->n : 0;
}

static int wr_api_header_at(wr_ctx_t *ctx, int which, size_t i, const char **name,
                            const char **value)
{
    wr_hdrs_t *h = wr_api_hdrs(ctx, which);

    if (h == NULL || i >= h->n)
        return WR_ENOENT;
    *name = h->v[i].name;
    *value = h->v[i].value;
    return WR_OK;
}

static int wr_api_header_add(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    wr_hdrs_t *h = wr_api_hdrs_w(ctx, which);

    if (h == NULL || !wr_hdrs_valid(name, value))
        return WR_EINVAL;
    if (wr_hdrs_push(h, name, strlen(name), value, strlen(value)) != 0)
        return WR_ERROR;
    h->changed = 1;
    return WR_OK;
}

static int wr_api_header_set(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    wr_hdrs_t *h = wr_api_hdrs_w(ctx, which);

    if (h == NULL || !wr_hdrs_valid(name, value))
        return WR_EINVAL;
    wr_hdrs_remove(h, name);
    return wr_api_header_add(ctx, which, name, value);
}

static int wr_api_header_remove(wr_ctx_t *ctx, int which, const char *name)
{
    wr_hdrs_t *h = wr_api_hdrs_w(ctx, which);

    if (h == NULL || name == NULL || wr_hdrs_reserved(name))
        return WR_EINVAL;
    return wr_hdrs_remove(h, name) ? WR_OK : WR_ENOENT;
}

static void wr_api_reject(wr_ctx_t *ctx, int status, const char *reason)
{
    ctx->reject_status = status > 0 ? status : 403;
    snprintf(ctx->reject_reason, sizeof(ctx->reject_reason), "%s", reason != NULL ? reason : "");
}

static void wr_api_resume(wr_ctx_t *ctx, int verdict)
{
    int r;

    if (ctx->in_hook) {
        ctx->resumed_verdict = verdict;
        return;
    }
    if (!ctx->suspended)
        return; /* cancelled, or resumed twice */
    ctx->suspended = 0;
    if (verdict == WR_AGAIN)
        verdict = WR_ERROR;
    r = wr_plugins_verdict(ctx, verdict);
    if (r == -1)
        r = wr_plugins_step(ctx);
    if (r != WR_AGAIN && ctx->done != NULL)
        ctx->done(ctx, r);
}

static int wr_pslots_alloc(wr_pslots_t *s)
{
    if (s->data != NULL)
        return 0;
    s->data = calloc(WR_PLUGINS_MAX, sizeof(*s->data));
    s->cleanup = calloc(WR_PLUGINS_MAX, sizeof(*s->cleanup));
    if (s->data == NULL || s->cleanup == NULL) {
        free(s->data);
        free(s->cleanup);
        s->data = NULL;
        s->cleanup = NULL;
        return -1;
    }
    return 0;
}

static void *wr_api_data_get(wr_ctx_t *ctx, int scope)
{
    wr_pslots_t *s;

    if (ctx->inst < 0)
        return NULL;
    if (scope == WR_SCOPE_WORKER)
        return ctx->worker >= 0 ? ctx->ps->workers[ctx->worker].data[ctx->inst] : NULL;
    s = scope == WR_SCOPE_SESSION ? ctx->session : scope == WR_SCOPE_STREAM ? ctx->stream : NULL;
    return s != NULL && s->data != NULL ? s->data[ctx->inst] : NULL;
}

static int wr_api_data_set(wr_ctx_t *ctx, int scope, void *data, void (*cleanup)(void *))
{
    void **slot;
    void (**clean)(void *);
    wr_pslots_t *s;

    if (ctx->inst < 0)
        return WR_EINVAL;
    if (scope == WR_SCOPE_WORKER) {
        if (ctx->worker < 0)
            return WR_EINVAL;
        slot = &ctx->ps->workers[ctx->worker].data[ctx->inst];
        clean = &ctx->ps->workers[ctx->worker].cleanup[ctx->inst];
    } else {
        s = scope == WR_SCOPE_SESSION  ? ctx->session
            : scope == WR_SCOPE_STREAM ? ctx->stream
                                       : NULL;
        if (s == NULL)
            return WR_EINVAL;
        if (wr_pslots_alloc(s) != 0)
            return WR_ERROR;
        slot = &s->data[ctx->inst];
        clean = &s->cleanup[ctx->inst];
    }
    if (*clean != NULL && *slot != data)
        (*clean)(*slot);
    *slot = data;
    *clean = cleanup;
    return WR_OK;
}

static void wr_timer_fire(evutil_socket_t fd, short what, void *arg)
{
    wr_timer_t *t = arg;
    wr_ctx_t ctx;
    wr_timer_cb_t cb = t->cb;
    void *cbarg = t->arg;

    (void)fd;
    (void)what;
    wr_ctx_config(&ctx, t->ps, t->inst, WR_PHASE_TIMER);
    ctx.worker = t->worker;
    event_free(t->ev);
    free(t);
    cb(&ctx, cbarg);
}

static wr_timer_t *wr_api_timer_add(wr_ctx_t *ctx, uint64_t ms, wr_timer_cb_t cb, void *arg)
{
    wr_timer_t *t;
    struct timeval tv;

    if (ctx->worker < 0 || ctx->inst < 0 || cb == NULL ||
        ctx->ps->workers[ctx->worker].base == NULL)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ps = ctx->ps;
    t->inst = ctx->inst;
    t->worker = ctx->worker;
    t->cb = cb;
    t->arg = arg;
    t->ev = evtimer_new(ctx->ps->workers[ctx->worker].base, wr_timer_fire, t);
    if (t->ev == NULL) {
        free(t);
        return NULL;
    }
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    evtimer_add(t->ev, &tv);
    return t;
}

static void wr_api_timer_del(wr_timer_t *t)
{
    if (t == NULL)
        return;
    event_free(t->ev);
    free(t);
}

static const wr_api_t wr_api_table = {
    .size = sizeof(wr_api_t),
    .abi_major = WR_ABI_MAJOR,
    .abi_minor = WR_ABI_MINOR,
    .logv = wr_api_logv,
    .phase = wr_api_phase,
    .conf = wr_api_conf,
    .str = wr_api_str,
    .num = wr_api_num,
    .set_str = wr_api_set_str,
    .header_get = wr_api_header_get,
    .header_count = wr_api_header_count,
    .header_at = wr_api_header_at,
    .header_set = wr_api_header_set,
    .header_add = wr_api_header_add,
    .header_remove = wr_api_header_remove,
    .reject = wr_api_reject,
    .resume = wr_api_resume,
    .data_get = wr_api_data_get,
    .data_set = wr_api_data_set,
    .timer_add = wr_api_timer_add,
    .timer_del = wr_api_timer_del,
    .now_us = wr_papi_now_us,
    .time_us = wr_papi_time_us,
    WR_PAPI_TABLE_COMMON,
};
