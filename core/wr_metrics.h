/*
 * wr_metrics: counters, gauges and histograms, and their rendering in the
 * Prometheus text exposition format 0.0.4. The catalogue of what warren
 * itself measures is core/wr_stats.h; this unit is the mechanism.
 *
 * A family (wr_metric_t) has a name, a help text, a type and up to two
 * labels. Every label has a bounded set of values, fixed when the family
 * is made: either a NULL-terminated list of strings ("2xx", "3xx"...), or a
 * dictionary (wr_metric_dict_t) that interns at most `cap` distinct values
 * (tunnel names, plugin ids) and maps everything past them to a reserved
 * value such as "_other". A series is named by its label value indexes, so
 * the data path never hashes or compares a string, and the memory of a
 * family is fixed at its creation: no input can grow it.
 *
 * Cost on the data path: every thread that updates a metric gets a shard of
 * its own (the first nshards - 1 threads of the process to do so, over all
 * registries; later ones share the
 * last shard and pay an atomic add). An update is then a relaxed load and a
 * relaxed store of one 64-bit word in memory only that thread writes: no
 * lock, no read-modify-write across cores, no false sharing (shards are
 * cache-line aligned). Readers (a scrape) sum the shards with relaxed loads:
 * a counter so read never goes backwards, and a histogram's buckets, sum
 * and count may be a few observations apart from each other.
 *
 * Threads: wr_metrics_new, wr_metrics_family and wr_metrics_free run on one
 * thread (the main one) before and after the others use the registry;
 * wr_metric_add and wr_metric_observe on any thread; wr_metric_dict_index
 * on any thread (it takes a mutex: intern a value once, when a tunnel or a
 * plugin appears, and keep its index); wr_metric_value and
 * wr_metrics_render on any thread, concurrently with updates.
 */
#ifndef WR_METRICS_H
#define WR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define WR_METRIC_LABELS      2   /* labels per family, at most */
#define WR_METRIC_BUCKETS     32  /* histogram bounds, at most */
#define WR_METRIC_DICT_RESERV 4   /* reserved values per dictionary, at most */
#define WR_METRIC_VALUE_MAX   128 /* bytes of a dictionary value, NUL included */

typedef enum {
    WR_METRIC_COUNTER = 0,
    WR_METRIC_GAUGE = 1,
    WR_METRIC_HISTOGRAM = 2,
} wr_metric_type_t;

typedef struct wr_metrics wr_metrics_t;
typedef struct wr_metric wr_metric_t;
typedef struct wr_metric_dict wr_metric_dict_t;

/* One label: its name and where its values come from (exactly one of
 * values and dict). */
typedef struct {
    const char *name;
    const char *const *values; /* fixed values, NULL-terminated */
    wr_metric_dict_t *dict;    /* or a dictionary of the same registry */
} wr_metric_label_t;

/*
 * A family. Strings and arrays are not copied: they must live as long as
 * the registry (string literals and static tables do).
 *   name     [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total, others not
 *   labels   [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"; unused ones
 *            have name NULL and come after the used ones; a histogram
 *            has no label "le"
 *   bounds   histograms: the buckets' upper bounds, in the stored unit,
 *            strictly ascending; +Inf is implied
 *   divisor  rendered value = stored value / divisor, a power of 10
 *            (1000000 renders microseconds as seconds); 0 or 1: as stored.
 *            Values are integers on the data path and rendered exactly.
 */
typedef struct {
    const char *name;
    const char *help;
    wr_metric_type_t type;
    wr_metric_label_t labels[WR_METRIC_LABELS];
    const uint64_t *bounds;
    size_t nbounds;
    uint64_t divisor;
} wr_metric_def_t;

/* A registry with nshards shards (at least 2: one per updating thread
 * that should not share, plus the shared one). NULL when out of memory. */
wr_metrics_t *wr_metrics_new(unsigned nshards);

/* Free the registry, its families and dictionaries. NULL is ignored. No
 * other thread may use it any more. */
void wr_metrics_free(wr_metrics_t *reg);

/*
 * A dictionary of at most cap values, plus the reserved values listed in
 * reserved (NULL-terminated, at most WR_METRIC_DICT_RESERV, the first of
 * them taking the overflow). Index i < cap is the i-th value interned;
 * index cap + k is reserved[k]. NULL on bad arguments or no memory.
 */
wr_metric_dict_t *wr_metrics_dict(wr_metrics_t *reg, size_t cap, const char *const *reserved);

/* The index of value (interned on first sight; values longer than
 * WR_METRIC_VALUE_MAX - 1 bytes are cut), or the overflow index cap once
 * cap values are interned. d may be NULL (then 0). Any thread. */
unsigned wr_metric_dict_index(wr_metric_dict_t *d, const char *value);

/* The index of reserved value k (cap + k). */
unsigned wr_metric_dict_reserved(const wr_metric_dict_t *d, unsigned k);

/* Values interned so far. */
size_t wr_metric_dict_count(const wr_metric_dict_t *d);

/* Make a family. NULL when def breaks a rule above (a programming error,
 * logged), the name is taken, or out of memory. Rendered in creation
 * order. Values of a dictionary label are rendered once interned, and its
 * reserved values only in the series where they are not zero. */
wr_metric_t *wr_metrics_family(wr_metrics_t *reg, const wr_metric_def_t *def);

/* Counter or gauge: add v (a counter takes v >= 0 only) to the series of
 * label value indexes (a, b); unused labels take 0. m NULL, or an index out
 * of range: nothing happens. Any thread. */
void wr_metric_add(wr_metric_t *m, unsigned a, unsigned b, int64_t v);

/* Histogram: count one observation of v (stored unit) in series (a, b). */
void wr_metric_observe(wr_metric_t *m, unsigned a, unsigned b, uint64_t v);

/* The current value of a counter or gauge series (summed over shards), or
 * a histogram's observation count; 0 for m NULL or out of range. */
int64_t wr_metric_value(const wr_metric_t *m, unsigned a, unsigned b);

/* A histogram's sum of observations (stored unit). */
uint64_t wr_metric_sum(const wr_metric_t *m, unsigned a, unsigned b);

/* Append every family in the text format 0.0.4: # HELP, # TYPE, then one
 * line per series ("name{label=\"value\"} 12"); histograms as cumulative
 * _bucket{le="..."} lines, _sum and _count. (Out of memory, the output is
 * cut short.) */
void wr_metrics_render(const wr_metrics_t *reg, struct evbuffer *out);

/* For callers that render series of their own next to a registry's: a
 * label value escaped (backslash, double quote, newline). */
void wr_metrics_put_label_value(struct evbuffer *out, const char *value);

#endif
