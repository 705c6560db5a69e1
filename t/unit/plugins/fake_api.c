/*
 * fake_api: a wr_api_t for plugin unit tests (see fake_api.h). Config
 * accessors are warren's own (wr_papi), over a tree parsed by wr_conf, so a
 * plugin reads its config in tests exactly as it does in warren.
 */
#include "fake_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wr_conf.h"
#include "wr_papi.h"

#define FAKE_KEYS    64
#define FAKE_IDX     8
#define FAKE_HEADERS 64

typedef struct {
    void *data;
    void (*cleanup)(void *);
} fake_slot_t;

typedef struct {
    fake_slot_t slot;
    int refs;
} fake_session_t;

typedef struct {
    char *name, *value;
} fake_header_t;

struct wr_ctx {
    struct wr_ctx *next; /* every ctx, for fake_reset */
    int phase;
    void *conf;
    char *str[FAKE_KEYS][FAKE_IDX];
    int64_t num[FAKE_KEYS][FAKE_IDX];
    int has_num[FAKE_KEYS][FAKE_IDX];
    fake_header_t hdr[2][FAKE_HEADERS];
    size_t nhdr[2];
    int reject_status;
    char *reject_reason;
    int resumed;
    fake_session_t *sess;
    fake_slot_t stream;
};

struct wr_timer {
    struct wr_timer *next;
    uint64_t due;
    wr_timer_cb_t cb;
    void *arg;
    void *conf;
};

static struct wr_ctx *fake_ctxs;
static struct wr_timer *fake_timers;
static fake_slot_t fake_worker;
static uint64_t fake_clock = 1000000000u;
static char **fake_logs;
static int fake_nlogs;
static wr_conf_t *fake_confs[64];
static int fake_nconfs;
static struct {
    const wr_plugin_t *pl;
    void *conf;
} fake_loaded[64];
static int fake_nloaded;

static char *fake_strdup(const char *s)
{
    char *d = strdup(s != NULL ? s : "");

    if (d == NULL)
        abort();
    return d;
}

static int fake_key(int key)
{
    int k = key >= 100 ? key - 100 + FAKE_KEYS / 2 : key;

    if (k < 0 || k >= FAKE_KEYS)
        abort();
    return k;
}

static void fake_slot_end(fake_slot_t *s)
{
    void (*cleanup)(void *) = s->cleanup;
    void *data = s->data;

    s->data = NULL;
    s->cleanup = NULL;
    if (cleanup != NULL)
        cleanup(data);
}

static void fake_session_unref(fake_session_t *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    fake_slot_end(&s->slot);
    free(s);
}

static void fake_ctx_free(struct wr_ctx *c)
{
    int k, i, w;
    size_t j;

    fake_slot_end(&c->stream);
    fake_session_unref(c->sess);
    for (k = 0; k < FAKE_KEYS; k++)
        for (i = 0; i < FAKE_IDX; i++)
            free(c->str[k][i]);
    for (w = 0; w < 2; w++)
        for (j = 0; j < c->nhdr[w]; j++) {
            free(c->hdr[w][j].name);
            free(c->hdr[w][j].value);
        }
    free(c->reject_reason);
    free(c);
}

void fake_reset(void)
{
    int i;

    while (fake_timers != NULL) {
        struct wr_timer *t = fake_timers;
        fake_timers = t->next;
        free(t);
    }
    while (fake_ctxs != NULL) {
        struct wr_ctx *c = fake_ctxs;
        fake_ctxs = c->next;
        fake_ctx_free(c);
    }
    fake_slot_end(&fake_worker);
    /* After the slots: their cleanups may still use the configs. */
    while (fake_nloaded > 0) {
        fake_nloaded--;
        if (fake_loaded[fake_nloaded].pl->destroy_conf != NULL)
            fake_loaded[fake_nloaded].pl->destroy_conf(fake_loaded[fake_nloaded].conf);
    }
    for (i = 0; i < fake_nlogs; i++)
        free(fake_logs[i]);
    free(fake_logs);
    fake_logs = NULL;
    fake_nlogs = 0;
    for (i = 0; i < fake_nconfs; i++)
        wr_conf_free(fake_confs[i]);
    fake_nconfs = 0;
    fake_clock = 1000000000u;
    memset(&wr_papi_config_err, 0, sizeof(wr_papi_config_err));
}

static struct wr_ctx *fake_ctx_alloc(int phase, void *conf, fake_session_t *sess)
{
    struct wr_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        abort();
    c->phase = phase;
    c->conf = conf;
    c->resumed = -100;
    if (sess == NULL) {
        sess = calloc(1, sizeof(*sess));
        if (sess == NULL)
            abort();
    }
    sess->refs++;
    c->sess = sess;
    c->next = fake_ctxs;
    fake_ctxs = c;
    return c;
}

wr_ctx_t *fake_ctx(int phase, void *conf)
{
    return fake_ctx_alloc(phase, conf, NULL);
}

void fake_ctx_phase(wr_ctx_t *ctx, int phase)
{
    ctx->phase = phase;
}

wr_ctx_t *fake_ctx_stream(wr_ctx_t *ctx, int phase)
{
    return fake_ctx_alloc(phase, ctx->conf, ctx->sess);
}

void fake_end_stream(wr_ctx_t *ctx)
{
    fake_slot_end(&ctx->stream);
}

void fake_end_session(wr_ctx_t *ctx)
{
    fake_slot_end(&ctx->sess->slot);
}

void fake_set_str(wr_ctx_t *ctx, int key, int i, const char *value)
{
    int k = fake_key(key);

    free(ctx->str[k][i]);
    ctx->str[k][i] = value != NULL ? fake_strdup(value) : NULL;
}

void fake_set_num(wr_ctx_t *ctx, int key, int i, int64_t value)
{
    int k = fake_key(key);

    ctx->num[k][i] = value;
    ctx->has_num[k][i] = 1;
}

void fake_add_header(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    size_t n = ctx->nhdr[which];

    if (n == FAKE_HEADERS)
        abort();
    ctx->hdr[which][n].name = fake_strdup(name);
    ctx->hdr[which][n].value = fake_strdup(value);
    ctx->nhdr[which] = n + 1;
}

int fake_reject_status(const wr_ctx_t *ctx)
{
    return ctx->reject_status;
}

const char *fake_reject_reason(const wr_ctx_t *ctx)
{
    return ctx->reject_reason;
}

int fake_resumed(const wr_ctx_t *ctx)
{
    return ctx->resumed;
}

void fake_set_now_us(uint64_t us)
{
    fake_clock = us;
}

uint64_t fake_now_us(void)
{
    return fake_clock;
}

int fake_run_timers(void)
{
    struct wr_timer *due = NULL, **pp, *t;
    int ran = 0;

    /* Take the due timers off the list first: their callbacks may add new
     * ones, which wait for the next call. */
    for (pp = &fake_timers; *pp != NULL;) {
        t = *pp;
        if (t->due <= fake_clock) {
            *pp = t->next;
            t->next = due;
            due = t;
        } else {
            pp = &t->next;
        }
    }
    while (due != NULL) {
        struct wr_timer **best = &due, *b;
        for (pp = &due; *pp != NULL; pp = &(*pp)->next)
            if ((*pp)->due < (*best)->due)
                best = pp;
        b = *best;
        *best = b->next;
        b->cb(fake_ctx_alloc(WR_PHASE_TIMER, b->conf, NULL), b->arg);
        free(b);
        ran++;
    }
    return ran;
}

int fake_timers_pending(void)
{
    int n = 0;

    for (struct wr_timer *t = fake_timers; t != NULL; t = t->next)
        n++;
    return n;
}

const wr_config_t *fake_config(const char *yaml)
{
    wr_conf_t *conf;

    if (fake_nconfs == 64)
        abort();
    conf = wr_conf_load_string("<test>", yaml, strlen(yaml), &wr_papi_config_err);
    if (conf == NULL)
        return NULL;
    fake_confs[fake_nconfs++] = conf;
    return WR_PAPI_CFG(wr_conf_root(conf));
}

const char *fake_last_error(void)
{
    return wr_papi_config_err.msg;
}

void *fake_load(const wr_plugin_t *pl, const char *yaml)
{
    const wr_config_t *cfg;
    void *conf;

    pl->bind(&fake_api);
    memset(&wr_papi_config_err, 0, sizeof(wr_papi_config_err));
    cfg = fake_config(yaml);
    if (cfg == NULL || fake_nloaded == 64)
        return NULL;
    conf = pl->create_conf(fake_ctx(WR_PHASE_CONFIG, NULL), cfg);
    if (conf != NULL) {
        fake_loaded[fake_nloaded].pl = pl;
        fake_loaded[fake_nloaded].conf = conf;
        fake_nloaded++;
    }
    return conf;
}

int fake_log_count(void)
{
    return fake_nlogs;
}

const char *fake_log_line(int n)
{
    return n >= 0 && n < fake_nlogs ? fake_logs[n] : NULL;
}

/* ---- the table ---------------------------------------------------------- */

static void fake_logv(wr_ctx_t *ctx, int level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char msg[1024], line[1100];

    (void)ctx;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    snprintf(line, sizeof(line), "%s %s", level >= 0 && level <= 3 ? names[level] : "?", msg);
    fake_logs = realloc(fake_logs, (size_t)(fake_nlogs + 1) * sizeof(*fake_logs));
    if (fake_logs == NULL)
        abort();
    fake_logs[fake_nlogs++] = fake_strdup(line);
}

static int fake_phase(const wr_ctx_t *ctx)
{
    return ctx->phase;
}

static void *fake_conf(const wr_ctx_t *ctx)
{
    return ctx->conf;
}

static const char *fake_str(wr_ctx_t *ctx, int key, int i)
{
    if (key <= 0 || key >= 100 || i < 0 || i >= FAKE_IDX)
        return NULL;
    return ctx->str[fake_key(key)][i];
}

static int64_t fake_num(wr_ctx_t *ctx, int key, int i)
{
    int k;

    if (key == WR_KEY_SIDE && !ctx->has_num[fake_key(key)][0])
        return WR_SIDE_SERVER;
    if (key == WR_KEY_WORKERS && !ctx->has_num[fake_key(key)][0])
        return 1;
    if (key == WR_KEY_WORKER && !ctx->has_num[fake_key(key)][0])
        return 0;
    if (key < 100 || i < 0 || i >= FAKE_IDX)
        return -1;
    k = fake_key(key);
    return ctx->has_num[k][i] ? ctx->num[k][i] : -1;
}

static int fake_set_str_api(wr_ctx_t *ctx, int key, const char *value)
{
    if (key != WR_KEY_TOKEN_ID || ctx->phase != WR_PHASE_SESSION_AUTH || value == NULL)
        return WR_EINVAL;
    fake_set_str(ctx, key, 0, value);
    return WR_OK;
}

static const char *fake_header_get(wr_ctx_t *ctx, int which, const char *name)
{
    size_t i;

    if (which != WR_REQUEST && which != WR_RESPONSE)
        return NULL;
    for (i = 0; i < ctx->nhdr[which]; i++)
        if (strcasecmp(ctx->hdr[which][i].name, name) == 0)
            return ctx->hdr[which][i].value;
    return NULL;
}

static size_t fake_header_count(wr_ctx_t *ctx, int which)
{
    return which == WR_REQUEST || which == WR_RESPONSE ? ctx->nhdr[which] : 0;
}

static int fake_header_at(wr_ctx_t *ctx, int which, size_t i, const char **name, const char **value)
{
    if ((which != WR_REQUEST && which != WR_RESPONSE) || i >= ctx->nhdr[which])
        return WR_ENOENT;
    *name = ctx->hdr[which][i].name;
    *value = ctx->hdr[which][i].value;
    return WR_OK;
}

static int fake_header_remove(wr_ctx_t *ctx, int which, const char *name)
{
    size_t i, j = 0, n;
    int found = 0;

    if (which != WR_REQUEST && which != WR_RESPONSE)
        return WR_EINVAL;
    n = ctx->nhdr[which];
    for (i = 0; i < n; i++) {
        fake_header_t h = ctx->hdr[which][i];
        if (strcasecmp(h.name, name) == 0) {
            free(h.name);
            free(h.value);
            found = 1;
        } else {
            ctx->hdr[which][j++] = h;
        }
    }
    ctx->nhdr[which] = j;
    return found ? WR_OK : WR_ENOENT;
}

static int fake_header_add(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    if ((which != WR_REQUEST && which != WR_RESPONSE) || name == NULL || value == NULL ||
        ctx->nhdr[which] == FAKE_HEADERS)
        return WR_EINVAL;
    fake_add_header(ctx, which, name, value);
    return WR_OK;
}

static int fake_header_set(wr_ctx_t *ctx, int which, const char *name, const char *value)
{
    if (which != WR_REQUEST && which != WR_RESPONSE)
        return WR_EINVAL;
    fake_header_remove(ctx, which, name);
    return fake_header_add(ctx, which, name, value);
}

static void fake_reject(wr_ctx_t *ctx, int status, const char *reason)
{
    ctx->reject_status = status;
    free(ctx->reject_reason);
    ctx->reject_reason = fake_strdup(reason);
}

static void fake_resume(wr_ctx_t *ctx, int verdict)
{
    ctx->resumed = verdict;
}

static fake_slot_t *fake_slot(wr_ctx_t *ctx, int scope)
{
    switch (scope) {
    case WR_SCOPE_WORKER:
        return &fake_worker;
    case WR_SCOPE_SESSION:
        return &ctx->sess->slot;
    case WR_SCOPE_STREAM:
        return &ctx->stream;
    default:
        return NULL;
    }
}

static void *fake_data_get(wr_ctx_t *ctx, int scope)
{
    fake_slot_t *s = fake_slot(ctx, scope);

    return s != NULL ? s->data : NULL;
}

static int fake_data_set(wr_ctx_t *ctx, int scope, void *data, void (*cleanup)(void *))
{
    fake_slot_t *s = fake_slot(ctx, scope);

    if (s == NULL)
        return WR_EINVAL;
    fake_slot_end(s);
    s->data = data;
    s->cleanup = cleanup;
    return WR_OK;
}

static wr_timer_t *fake_timer_add(wr_ctx_t *ctx, uint64_t ms, wr_timer_cb_t cb, void *arg)
{
    struct wr_timer *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->due = fake_clock + ms * 1000u;
    t->cb = cb;
    t->arg = arg;
    t->conf = ctx->conf;
    t->next = fake_timers;
    fake_timers = t;
    return t;
}

static void fake_timer_del(wr_timer_t *t)
{
    struct wr_timer **pp;

    for (pp = &fake_timers; *pp != NULL; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            free(t);
            return;
        }
}

const wr_api_t fake_api = {
    .size = sizeof(wr_api_t),
    .abi_major = WR_ABI_MAJOR,
    .abi_minor = WR_ABI_MINOR,
    .logv = fake_logv,
    .phase = fake_phase,
    .conf = fake_conf,
    .str = fake_str,
    .num = fake_num,
    .set_str = fake_set_str_api,
    .header_get = fake_header_get,
    .header_count = fake_header_count,
    .header_at = fake_header_at,
    .header_set = fake_header_set,
    .header_add = fake_header_add,
    .header_remove = fake_header_remove,
    .reject = fake_reject,
    .resume = fake_resume,
    .data_get = fake_data_get,
    .data_set = fake_data_set,
    .timer_add = fake_timer_add,
    .timer_del = fake_timer_del,
    .now_us = fake_now_us,
    .time_us = fake_now_us,
    WR_PAPI_TABLE_COMMON,
};
