/*
 * wr_metrics: counters, gauges and histograms in per-thread shards, and the
 * Prometheus text format (see wr_metrics.h).
 *
 * Layout of a family: one block of 64-bit slots per shard, each block a
 * whole number of cache lines. Inside a block, series follow one another
 * (first label major); a counter or gauge series is one slot, a histogram
 * series is one slot per bucket (not cumulative: the bucket an
 * observation falls in), one for +Inf and one for the sum. The blocks are
 * allocated zeroed in one calloc, which for a large family maps fresh zero
 * pages: memory is only used where series are.
 */
#include "wr_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_log.h"

#define WR_METRICS_LINE           64u /* bytes per cache line */
#define WR_METRICS_SLOTS_PER_LINE (WR_METRICS_LINE / sizeof(uint64_t))

struct wr_metric_dict {
    wr_metric_dict_t *next;
    const wr_metrics_t *reg;
    size_t cap;
    unsigned nres;
    const char *reserved[WR_METRIC_DICT_RESERV];
    char (*names)[WR_METRIC_VALUE_MAX];
    size_t count; /* published with a release store, after the name */
    pthread_mutex_t lock;
};

struct wr_metric {
    wr_metric_t *next;
    const wr_metrics_t *reg;
    wr_metric_def_t def;
    size_t n[WR_METRIC_LABELS]; /* values per label; 1 when unused */
    size_t per;                 /* slots per series */
    size_t stride;              /* slots per shard */
    uint64_t *data;             /* shard i at data + i * stride */
    void *raw;                  /* what calloc gave, for free */
};

struct wr_metrics {
    unsigned nshards;
    wr_metric_t *families, **tail;
    wr_metric_dict_t *dicts;
};

/* --- threads and shards ------------------------------------------------- */

static unsigned wr_metrics_threads;                /* threads seen, atomic */
static _Thread_local unsigned wr_metrics_thread_n; /* this thread's number + 1 */

/* This thread's shard: its own while there are shards left, else the last,
 * shared one. */
static unsigned wr_metrics_shard(const wr_metrics_t *reg)
{
    unsigned n = wr_metrics_thread_n;

    if (n == 0) {
        n = __atomic_add_fetch(&wr_metrics_threads, 1, __ATOMIC_RELAXED);
        wr_metrics_thread_n = n;
    }
    return n - 1 < reg->nshards - 1 ? n - 1 : reg->nshards - 1;
}

/* Add v to one slot of this thread's shard. */
static void wr_metrics_bump(const wr_metric_t *m, unsigned shard, size_t slot, uint64_t v)
{
    uint64_t *p = m->data + shard * m->stride + slot;

    if (shard == m->reg->nshards - 1)
        __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    else
        __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* One slot summed over the shards. */
static uint64_t wr_metrics_sum_slot(const wr_metric_t *m, size_t slot)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < m->reg->nshards; i++)
        v += __atomic_load_n(m->data + i * m->stride + slot, __ATOMIC_RELAXED);
    return v;
}

/* --- registry ------------------------------------------------------------ */

wr_metrics_t *wr_metrics_new(unsigned nshards)
{
    wr_metrics_t *reg = calloc(1, sizeof(*reg));

    if (reg == NULL)
        return NULL;
    reg->nshards = nshards < 2 ? 2 : nshards;
    reg->tail = &reg->families;
    return reg;
}

void wr_metrics_free(wr_metrics_t *reg)
{
    if (reg == NULL)
        return;
    while (reg->families != NULL) {
        wr_metric_t *m = reg->families;
        reg->families = m->next;
        free(m->raw);
        free(m);
    }
    while (reg->dicts != NULL) {
        wr_metric_dict_t *d = reg->dicts;
        reg->dicts = d->next;
        pthread_mutex_destroy(&d->lock);
        free(d->names);
        free(d);
    }
    free(reg);
}

/* --- dictionaries -------------------------------------------------------- */

wr_metric_dict_t *wr_metrics_dict(wr_metrics_t *reg, size_t cap, const char *const *reserved)
{
    wr_metric_dict_t *d;
    unsigned nres = 0;

    while (reserved != NULL && reserved[nres] != NULL)
        nres++;
    if (reg == NULL || cap == 0 || cap > 1000000 || nres == 0 || nres > WR_METRIC_DICT_RESERV)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->names = calloc(cap, sizeof(*d->names));
    if (d->names == NULL || pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d->names);
        free(d);
        return NULL;
    }
    d->reg = reg;
    d->cap = cap;
    d->nres = nres;
    for (unsigned i = 0; i < nres; i++)
        d->reserved[i] = reserved[i];
    d->next = reg->dicts;
    reg->dicts = d;
    return d;
}

unsigned wr_metric_dict_index(wr_metric_dict_t *d, const char *value)
{
    size_t i, n;

    if (d == NULL)
        return 0;
    if (value == NULL)
        value = "";
    pthread_mutex_lock(&d->lock);
    n = d->count;
    for (i = 0; i < n; i++) {
        if (strncmp(d->names[i], value, WR_METRIC_VALUE_MAX - 1) == 0)
            break;
    }
    if (i == n && n < d->cap) {
        snprintf(d->names[n], WR_METRIC_VALUE_MAX, "%s", value);
        __atomic_store_n(&d->count, n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&d->lock);
    return (unsigned)i;
}

unsigned wr_metric_dict_reserved(const wr_metric_dict_t *d, unsigned k)
{
    return d != NULL ? (unsigned)d->cap + k : 0;
}

size_t wr_metric_dict_count(const wr_metric_dict_t *d)
{
    return d != NULL ? __atomic_load_n(&d->count, __ATOMIC_ACQUIRE) : 0;
}

/* --- families ------------------------------------------------------------ */

static int wr_metrics_name_ok(const char *s, int colon)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    }
    return 1;
}

static int wr_metrics_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Why def cannot make a family, or NULL. */
static const char *wr_metrics_check(const wr_metrics_t *reg, const wr_metric_def_t *def)
{
    int unused = 0;

    if (!wr_metrics_name_ok(def->name, 1))
        return "bad name";
    if (def->help == NULL)
        return "no help text";
    if (def->type != WR_METRIC_COUNTER && def->type != WR_METRIC_GAUGE &&
        def->type != WR_METRIC_HISTOGRAM)
        return "unknown type";
    if ((def->type == WR_METRIC_COUNTER) != wr_metrics_ends(def->name, "_total"))
        return "only counter names end in _total";
    if (def->type == WR_METRIC_HISTOGRAM &&
        (wr_metrics_ends(def->name, "_bucket") || wr_metrics_ends(def->name, "_sum") ||
         wr_metrics_ends(def->name, "_count")))
        return "a histogram name ends in _bucket, _sum or _count";
    for (int i = 0; i < WR_METRIC_LABELS; i++) {
        const wr_metric_label_t *l = &def->labels[i];
        if (l->name == NULL) {
            unused = 1;
            continue;
        }
        if (unused)
            return "a label after an unused one";
        if (!wr_metrics_name_ok(l->name, 0) || strncmp(l->name, "__", 2) == 0)
            return "bad label name";
        if (def->type == WR_METRIC_HISTOGRAM && strcmp(l->name, "le") == 0)
            return "a histogram label named le";
        if ((l->values == NULL) == (l->dict == NULL))
            return "a label needs values or a dictionary";
        if (l->values != NULL && l->values[0] == NULL)
            return "a label without values";
        if (l->dict != NULL && l->dict->reg != reg)
            return "a dictionary of another registry";
        if (i == 1 && strcmp(l->name, def->labels[0].name) == 0)
            return "two labels of the same name";
    }
    if (def->type == WR_METRIC_HISTOGRAM) {
        if (def->bounds == NULL || def->nbounds == 0 || def->nbounds > WR_METRIC_BUCKETS)
            return "a histogram needs 1 to 32 bounds";
        for (size_t i = 1; i < def->nbounds; i++) {
            if (def->bounds[i] <= def->bounds[i - 1])
                return "histogram bounds not ascending";
        }
    }
    if (def->divisor > 1) {
        uint64_t d = def->divisor;
        while (d % 10 == 0)
            d /= 10;
        if (d != 1)
            return "the divisor is not a power of 10";
    }
    for (const wr_metric_t *m = reg->families; m != NULL; m = m->next) {
        if (strcmp(m->def.name, def->name) == 0)
            return "the name is taken";
    }
    return NULL;
}

wr_metric_t *wr_metrics_family(wr_metrics_t *reg, const wr_metric_def_t *def)
{
    const char *why = reg != NULL && def != NULL ? wr_metrics_check(reg, def) : "no registry";
    wr_metric_t *m;
    size_t nseries = 1, bytes;

    if (why != NULL) {
        wr_log_error("metrics: cannot make family '%s': %s",
                     def != NULL && def->name ? def->name : "?", why);
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->reg = reg;
    m->def = *def;
    for (int i = 0; i < WR_METRIC_LABELS; i++) {
        const wr_metric_label_t *l = &def->labels[i];
        size_t n = 1;
        if (l->values != NULL)
            for (n = 0; l->values[n] != NULL; n++)
                ;
        else if (l->dict != NULL)
            n = l->dict->cap + l->dict->nres;
        m->n[i] = n;
        nseries *= n;
    }
    m->per = def->type == WR_METRIC_HISTOGRAM ? def->nbounds + 2 : 1;
    m->stride = nseries * m->per;
    m->stride = (m->stride + WR_METRICS_SLOTS_PER_LINE - 1) / WR_METRICS_SLOTS_PER_LINE *
                WR_METRICS_SLOTS_PER_LINE;
    bytes = m->stride * sizeof(uint64_t) * reg->nshards;
    m->raw = calloc(1, bytes + WR_METRICS_LINE);
    if (m->raw == NULL) {
        free(m);
        return NULL;
    }
    m->data =
        (uint64_t *)(((uintptr_t)m->raw + WR_METRICS_LINE - 1) & ~(uintptr_t)(WR_METRICS_LINE - 1));
    *reg->tail = m;
    reg->tail = &m->next;
    return m;
}

/* The first slot of series (a, b), or SIZE_MAX when out of range. */
static size_t wr_metric_series(const wr_metric_t *m, unsigned a, unsigned b)
{
    if (a >= m->n[0] || b >= m->n[1])
        return SIZE_MAX;
    return ((size_t)a * m->n[1] + b) * m->per;
}

void wr_metric_add(wr_metric_t *m, unsigned a, unsigned b, int64_t v)
{
    size_t s;

    if (m == NULL || m->def.type == WR_METRIC_HISTOGRAM ||
        (v < 0 && m->def.type == WR_METRIC_COUNTER))
        return;
    s = wr_metric_series(m, a, b);
    if (s != SIZE_MAX)
        wr_metrics_bump(m, wr_metrics_shard(m->reg), s, (uint64_t)v);
}

void wr_metric_observe(wr_metric_t *m, unsigned a, unsigned b, uint64_t v)
{
    size_t s, i = 0;
    unsigned shard;

    if (m == NULL || m->def.type != WR_METRIC_HISTOGRAM)
        return;
    s = wr_metric_series(m, a, b);
    if (s == SIZE_MAX)
        return;
    while (i < m->def.nbounds && v > m->def.bounds[i])
        i++;
    shard = wr_metrics_shard(m->reg);
    wr_metrics_bump(m, shard, s + i, 1);
    wr_metrics_bump(m, shard, s + m->def.nbounds + 1, v);
}

int64_t wr_metric_value(const wr_metric_t *m, unsigned a, unsigned b)
{
    size_t s;
    uint64_t v = 0;

    if (m == NULL || (s = wr_metric_series(m, a, b)) == SIZE_MAX)
        return 0;
    if (m->def.type != WR_METRIC_HISTOGRAM)
        return (int64_t)wr_metrics_sum_slot(m, s);
    for (size_t i = 0; i <= m->def.nbounds; i++)
        v += wr_metrics_sum_slot(m, s + i);
    return (int64_t)v;
}

uint64_t wr_metric_sum(const wr_metric_t *m, unsigned a, unsigned b)
{
    size_t s;

    if (m == NULL || m->def.type != WR_METRIC_HISTOGRAM ||
        (s = wr_metric_series(m, a, b)) == SIZE_MAX)
        return 0;
    return wr_metrics_sum_slot(m, s + m->def.nbounds + 1);
}

/* --- rendering ----------------------------------------------------------- */

/* s with backslash and newline escaped, and '"' too when quote (label
 * values; HELP text leaves it as it is). */
static void wr_metrics_put_escaped(struct evbuffer *out, const char *s, int quote)
{
    const char *run = s;

    for (const char *p = s; *p != '\0'; p++) {
        if (*p != '\\' && *p != '\n' && !(quote && *p == '"'))
            continue;
        evbuffer_add(out, run, (size_t)(p - run));
        evbuffer_add(out, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
        run = p + 1;
    }
    evbuffer_add(out, run, strlen(run));
}

void wr_metrics_put_label_value(struct evbuffer *out, const char *value)
{
    wr_metrics_put_escaped(out, value, 1);
}

/* v / div written exactly as a decimal ("0.005", "12", "1.25"). */
static void wr_metrics_put_fixed(struct evbuffer *out, int neg, uint64_t v, uint64_t div)
{
    char buf[64];
    int digits = 0, n;

    if (div <= 1 || v % div == 0) {
        evbuffer_add_printf(out, "%s%llu", neg ? "-" : "",
                            (unsigned long long)(div <= 1 ? v : v / div));
        return;
    }
    for (uint64_t d = div; d > 1; d /= 10)
        digits++;
    n = snprintf(buf, sizeof(buf), "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)(v / div),
                 digits, (unsigned long long)(v % div));
    while (n > 0 && buf[n - 1] == '0')
        n--;
    evbuffer_add(out, buf, (size_t)n);
}

/* The label value of index i of label l. */
static const char *wr_metric_label_value(const wr_metric_label_t *l, size_t i)
{
    if (l->values != NULL)
        return l->values[i];
    return i < l->dict->cap ? l->dict->names[i] : l->dict->reserved[i - l->dict->cap];
}

/* "{a=\"x\",b=\"y\"" without the closing brace; nothing for no labels. */
static void wr_metric_put_labels(struct evbuffer *out, const wr_metric_t *m, size_t a, size_t b)
{
    const size_t idx[WR_METRIC_LABELS] = {a, b};

    for (int i = 0; i < WR_METRIC_LABELS && m->def.labels[i].name != NULL; i++) {
        evbuffer_add_printf(out, "%s%s=\"", i == 0 ? "{" : ",", m->def.labels[i].name);
        wr_metrics_put_label_value(out, wr_metric_label_value(&m->def.labels[i], idx[i]));
        evbuffer_add(out, "\"", 1);
    }
}

/* Whether label value i of label l exists: a fixed one always, a
 * dictionary's once interned; a reserved one only when used (the caller
 * looks at the series then). 1 yes, 0 no, -1 when used. */
static int wr_metric_label_shown(const wr_metric_label_t *l, size_t i)
{
    if (l->dict == NULL)
        return 1;
    if (i < l->dict->cap)
        return i < wr_metric_dict_count(l->dict) ? 1 : 0;
    return -1;
}

static int wr_metric_series_used(const wr_metric_t *m, size_t s)
{
    for (size_t k = 0; k < m->per; k++) {
        if (wr_metrics_sum_slot(m, s + k) != 0)
            return 1;
    }
    return 0;
}

static void wr_metric_render_series(struct evbuffer *out, const wr_metric_t *m, size_t a, size_t b)
{
    const wr_metric_def_t *d = &m->def;
    size_t s = wr_metric_series(m, (unsigned)a, (unsigned)b);
    int labels = d->labels[0].name != NULL;

    if (d->type != WR_METRIC_HISTOGRAM) {
        uint64_t v = wr_metrics_sum_slot(m, s);
        int neg = d->type == WR_METRIC_GAUGE && (int64_t)v < 0;
        evbuffer_add_printf(out, "%s", d->name);
        wr_metric_put_labels(out, m, a, b);
        evbuffer_add(out, labels ? "} " : " ", labels ? 2 : 1);
        wr_metrics_put_fixed(out, neg, neg ? (uint64_t)0 - v : v, d->divisor);
        evbuffer_add(out, "\n", 1);
        return;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= d->nbounds; i++) {
        cum += wr_metrics_sum_slot(m, s + i);
        evbuffer_add_printf(out, "%s_bucket", d->name);
        wr_metric_put_labels(out, m, a, b);
        evbuffer_add(out, labels ? ",le=\"" : "{le=\"", 5);
        if (i < d->nbounds)
            wr_metrics_put_fixed(out, 0, d->bounds[i], d->divisor);
        else
            evbuffer_add(out, "+Inf", 4);
        evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)cum);
    }
    evbuffer_add_printf(out, "%s_sum", d->name);
    wr_metric_put_labels(out, m, a, b);
    evbuffer_add(out, labels ? "} " : " ", labels ? 2 : 1);
    wr_metrics_put_fixed(out, 0, wr_metrics_sum_slot(m, s + d->nbounds + 1), d->divisor);
    evbuffer_add_printf(out, "\n%s_count", d->name);
    wr_metric_put_labels(out, m, a, b);
    evbuffer_add(out, labels ? "} " : " ", labels ? 2 : 1);
    evbuffer_add_printf(out, "%llu\n", (unsigned long long)cum);
}

static const char *const wr_metric_type_names[] = {"counter", "gauge", "histogram"};

void wr_metrics_render(const wr_metrics_t *reg, struct evbuffer *out)
{
    for (const wr_metric_t *m = reg->families; m != NULL; m = m->next) {
        const wr_metric_def_t *d = &m->def;

        evbuffer_add_printf(out, "# HELP %s ", d->name);
        wr_metrics_put_escaped(out, d->help, 0);
        evbuffer_add_printf(out, "\n# TYPE %s %s\n", d->name, wr_metric_type_names[d->type]);
        for (size_t a = 0; a < m->n[0]; a++) {
            int sa = wr_metric_label_shown(&d->labels[0], a);
            if (sa == 0)
                continue;
            for (size_t b = 0; b < m->n[1]; b++) {
                int sb = wr_metric_label_shown(&d->labels[1], b);
                if (sb == 0)
                    continue;
                if ((sa < 0 || sb < 0) &&
                    !wr_metric_series_used(m, wr_metric_series(m, (unsigned)a, (unsigned)b)))
                    continue;
                wr_metric_render_series(out, m, a, b);
            }
        }
    }
}
