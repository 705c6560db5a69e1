/*
 * fuzz_conf: the input as a YAML configuration file, through
 * wr_conf_load_string() and then wr_cfg_apply() on the root; then a schema
 * using every field kind, and a walk of the whole tree through every typed
 * accessor (with and without an error report) and the pure parsers.
 *
 * Oracles besides the sanitizers: error messages are NUL-terminated inside
 * their buffer and, when a position is given, start with "FILE:LINE:COL: ";
 * map keys are unique, so wr_conf_map_get() on each key finds that key's
 * own value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_cfg.h"
#include "wr_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NAME "fuzz.yaml"

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_conf: %s\n", what);
    abort();
}

static void fz_check_err(const wr_conf_err_t *err)
{
    char prefix[sizeof(err->file) + 32];

    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL ||
        memchr(err->file, '\0', sizeof(err->file)) == NULL)
        fz_fail("error report not NUL-terminated");
    if (err->msg[0] == '\0')
        fz_fail("empty error message");
    if (err->line > 0) {
        snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", err->file, err->line, err->col);
        if (strncmp(err->msg, prefix, strlen(prefix)) != 0)
            fz_fail("error message does not start with its position");
    }
}

/* Every accessor on one node: errors must be well formed, and with a NULL
 * report the same answer must come back. */
static void fz_accessors(const wr_conf_node_t *node)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "", NULL};
    wr_conf_err_t err;
    const char *s;
    int64_t i64;
    uint64_t u64;
    int b, e;
    char path[64], tiny[4];

#define FZ_BOTH(call_err, call_null)                                                               \
    do {                                                                                           \
        memset(&err, 0, sizeof(err));                                                              \
        int rc_ = (call_err);                                                                      \
        if (rc_ != 0)                                                                              \
            fz_check_err(&err);                                                                    \
        if ((call_null) != rc_)                                                                    \
            fz_fail("accessor answers differently without an error report");                       \
    } while (0)

    FZ_BOTH(wr_conf_node_expect(node, WR_CONF_NODE_MAP, &err),
            wr_conf_node_expect(node, WR_CONF_NODE_MAP, NULL));
    FZ_BOTH(wr_conf_node_string(node, &s, &err), wr_conf_node_string(node, &s, NULL));
    FZ_BOTH(wr_conf_node_int(node, INT64_MIN, INT64_MAX, &i64, &err),
            wr_conf_node_int(node, INT64_MIN, INT64_MAX, &i64, NULL));
    FZ_BOTH(wr_conf_node_int(node, -5, 70000, &i64, &err),
            wr_conf_node_int(node, -5, 70000, &i64, NULL));
    FZ_BOTH(wr_conf_node_bool(node, &b, &err), wr_conf_node_bool(node, &b, NULL));
    FZ_BOTH(wr_conf_node_size(node, 0, UINT64_MAX, &u64, &err),
            wr_conf_node_size(node, 0, UINT64_MAX, &u64, NULL));
    FZ_BOTH(wr_conf_node_size(node, 1024, UINT64_C(1) << 40, &u64, &err),
            wr_conf_node_size(node, 1024, UINT64_C(1) << 40, &u64, NULL));
    FZ_BOTH(wr_conf_node_duration_ms(node, 0, UINT64_MAX, &u64, &err),
            wr_conf_node_duration_ms(node, 0, UINT64_MAX, &u64, NULL));
    FZ_BOTH(wr_conf_node_duration_ms(node, 10, 3600000, &u64, &err),
            wr_conf_node_duration_ms(node, 10, 3600000, &u64, NULL));
    FZ_BOTH(wr_conf_node_enum(node, names, &e, &err), wr_conf_node_enum(node, names, &e, NULL));
#undef FZ_BOTH

    memset(&err, 0, sizeof(err));
    wr_conf_node_error(&err, node, "%s", "fuzz");
    fz_check_err(&err);

    wr_conf_node_path(node, path, sizeof(path));
    if (memchr(path, '\0', sizeof(path)) == NULL)
        fz_fail("node path not NUL-terminated");
    wr_conf_node_path(node, tiny, sizeof(tiny));
    if (memchr(tiny, '\0', sizeof(tiny)) == NULL)
        fz_fail("node path not NUL-terminated in a tiny buffer");
    wr_conf_node_path(node, tiny, 0);
    (void)wr_conf_node_line(node);
    (void)wr_conf_node_col(node);
    if (strcmp(wr_conf_node_file(node), FZ_NAME) != 0)
        fz_fail("node forgot its file name");
    (void)wr_conf_node_is_null(node);

    s = wr_conf_node_scalar(node);
    if ((s != NULL) != (wr_conf_node_kind(node) == WR_CONF_NODE_SCALAR))
        fz_fail("scalar text present for a non-scalar, or missing for a scalar");
    if (s != NULL) {
        (void)wr_parse_int64(s, &i64);
        (void)wr_parse_bool(s, &b);
        (void)wr_parse_size(s, &u64);
        (void)wr_parse_duration_ms(s, &u64);
    }
}

static void fz_walk(const wr_conf_node_t *node, int depth)
{
    size_t n;

    if (depth > WR_CONF_MAX_DEPTH + 1)
        fz_fail("tree deeper than WR_CONF_MAX_DEPTH");
    fz_accessors(node);
    switch (wr_conf_node_kind(node)) {
    case WR_CONF_NODE_MAP:
        n = wr_conf_map_len(node);
        if (wr_conf_map_key_at(node, n) != NULL || wr_conf_map_value_at(node, n) != NULL)
            fz_fail("map item past the end");
        for (size_t i = 0; i < n; i++) {
            const wr_conf_node_t *k = wr_conf_map_key_at(node, i);
            const wr_conf_node_t *v = wr_conf_map_value_at(node, i);
            const char *ktext;
            if (k == NULL || v == NULL)
                fz_fail("map item missing");
            ktext = wr_conf_node_scalar(k);
            if (ktext == NULL)
                fz_fail("map key is not a scalar");
            if (wr_conf_map_get(node, ktext) != v)
                fz_fail("map_get does not find the key's own value: duplicate keys?");
            fz_walk(k, depth + 1);
            fz_walk(v, depth + 1);
        }
        break;
    case WR_CONF_NODE_SEQ:
        n = wr_conf_seq_len(node);
        if (wr_conf_seq_at(node, n) != NULL)
            fz_fail("sequence item past the end");
        for (size_t i = 0; i < n; i++) {
            const wr_conf_node_t *v = wr_conf_seq_at(node, i);
            if (v == NULL)
                fz_fail("sequence item missing");
            fz_walk(v, depth + 1);
        }
        break;
    case WR_CONF_NODE_SCALAR:
        if (wr_conf_map_len(node) != 0 || wr_conf_seq_len(node) != 0)
            fz_fail("a scalar with items");
        break;
    }
}

/* A schema with every kind of row, for wr_conf_apply's own paths. */
typedef struct {
    const char *str;
    int64_t num;
    int flag;
    uint64_t size, ms;
    int level;
    const wr_conf_node_t *raw, *raw_map, *raw_seq;
    uint32_t custom;
    struct {
        int64_t a;
        const char *b;
    } sub;
} fz_schema_t;

static int fz_custom(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                     wr_conf_err_t *err)
{
    int64_t v;

    if (wr_conf_node_int(node, f->min, f->max, &v, err) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

static const char *const fz_levels[] = {"error", "warn", "info", "debug", NULL};

static const wr_conf_field_t fz_sub_fields[] = {
    {.key = "a",
     .kind = WR_CONF_INT,
     .offset = offsetof(fz_schema_t, sub.a) - offsetof(fz_schema_t, sub),
     .flags = WR_CONF_REQUIRED},
    {.key = "b",
     .kind = WR_CONF_STRING,
     .offset = offsetof(fz_schema_t, sub.b) - offsetof(fz_schema_t, sub)},
    {.key = NULL},
};

static const wr_conf_field_t fz_fields[] = {
    {.key = "str", .kind = WR_CONF_STRING, .offset = offsetof(fz_schema_t, str)},
    {.key = "num",
     .kind = WR_CONF_INT,
     .offset = offsetof(fz_schema_t, num),
     .min = -10,
     .max = 10},
    {.key = "any", .kind = WR_CONF_INT, .offset = offsetof(fz_schema_t, num)},
    {.key = "flag", .kind = WR_CONF_BOOL, .offset = offsetof(fz_schema_t, flag)},
    {.key = "size",
     .kind = WR_CONF_SIZE,
     .offset = offsetof(fz_schema_t, size),
     .min = 1,
     .max = INT64_MAX},
    {.key = "bytes", .kind = WR_CONF_SIZE, .offset = offsetof(fz_schema_t, size)},
    {.key = "ms",
     .kind = WR_CONF_DURATION,
     .offset = offsetof(fz_schema_t, ms),
     .min = 0,
     .max = 86400000},
    {.key = "level",
     .kind = WR_CONF_ENUM,
     .offset = offsetof(fz_schema_t, level),
     .enum_names = fz_levels},
    {.key = "raw", .kind = WR_CONF_RAW, .offset = offsetof(fz_schema_t, raw)},
    {.key = "map", .kind = WR_CONF_RAW_MAP, .offset = offsetof(fz_schema_t, raw_map)},
    {.key = "seq", .kind = WR_CONF_RAW_SEQ, .offset = offsetof(fz_schema_t, raw_seq)},
    {.key = "custom",
     .kind = WR_CONF_CUSTOM,
     .offset = offsetof(fz_schema_t, custom),
     .min = 0,
     .max = 100,
     .handler = fz_custom},
    {.key = "sub",
     .kind = WR_CONF_MAP,
     .offset = offsetof(fz_schema_t, sub),
     .children = fz_sub_fields},
    {.key = "need",
     .kind = WR_CONF_STRING,
     .offset = offsetof(fz_schema_t, str),
     .flags = WR_CONF_REQUIRED},
    {.key = NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_conf_err_t err;
    wr_conf_t *conf;
    const wr_conf_node_t *root;
    wr_cfg_t cfg;
    fz_schema_t sch;

    memset(&err, 0, sizeof(err));
    conf = wr_conf_load_string(FZ_NAME, (const char *)data, size, &err);
    if (conf == NULL) {
        fz_check_err(&err);
        /* The same answer without a report. */
        conf = wr_conf_load_string(FZ_NAME, (const char *)data, size, NULL);
        if (conf != NULL)
            fz_fail("loads without an error report but not with one");
        return 0;
    }
    root = wr_conf_root(conf);
    if (root == NULL)
        fz_fail("loaded tree without a root");

    wr_cfg_default(&cfg);
    memset(&err, 0, sizeof(err));
    if (wr_cfg_apply(root, &cfg, &err) != 0) {
        fz_check_err(&err);
    } else {
        char why[160];
        if (wr_mux_config_check(&cfg.mux, why, sizeof(why)) != 0)
            fz_fail("wr_cfg_apply accepted a mux config that wr_mux_config_check refuses");
        if (cfg.log_level < WR_LOG_ERROR || cfg.log_level > WR_LOG_DEBUG)
            fz_fail("wr_cfg_apply accepted a bad log level");
    }

    memset(&sch, 0, sizeof(sch));
    memset(&err, 0, sizeof(err));
    if (wr_conf_apply(root, fz_fields, &sch, &err) != 0)
        fz_check_err(&err);
    memset(&sch, 0, sizeof(sch));
    (void)wr_conf_apply(root, fz_fields, &sch, NULL);

    fz_walk(root, 1);
    wr_conf_free(conf);
    return 0;
}
