/*
 * wr_conf: warren's configuration files. A YAML file is loaded (with libyaml)
 * into a small read-only tree of our own, then read either node by node with
 * typed accessors, or all at once through a table-driven schema
 * (wr_conf_apply, in the spirit of nginx's ngx_command_t).
 *
 * The YAML subset accepted is deliberately small, because a configuration
 * file may come from someone we do not trust:
 *   - one document per file (an empty file is an empty map);
 *   - no anchors or aliases (they bring nothing to a config file and open the
 *     door to "billion laughs" expansion);
 *   - map keys are scalars, and unique within their map;
 *   - no NUL byte inside a value;
 *   - at most WR_CONF_MAX_SIZE bytes and WR_CONF_MAX_DEPTH nested maps/seqs.
 * Tags (!!str, !foo) are ignored: every scalar is kept as its text, and the
 * accessor decides how to read it.
 *
 * Every node remembers its file name, line and column (1-based), and every
 * error is reported as "FILE:LINE:COL: message" (or "FILE: message" when it
 * has no position) in a wr_conf_err_t, e.g.
 *   server.yaml:12:9: 'workers' expects an integer from 0 to 64, got "lots"
 * Nodes are named in messages by their path from the root: 'mux.workers',
 * 'tunnels[2].name'; the root itself is "the top level".
 *
 * Lifetime: every node and every string returned by this unit belongs to the
 * wr_conf_t it came from and lives until wr_conf_free(). Node arguments must
 * not be NULL.
 *
 * Thread safety: loading (wr_conf_load*, wr_conf_free) is done on the main
 * thread. A loaded tree never changes, so every read-only function may then
 * be called from any number of threads at once. The wr_parse_* functions are
 * pure and may be called anywhere.
 */
#ifndef WR_CONF_H
#define WR_CONF_H

#include <stddef.h>
#include <stdint.h>

/* Largest file accepted, in bytes (1 MiB). */
#define WR_CONF_MAX_SIZE (1024 * 1024)
/* Deepest nesting of maps and sequences accepted (the root map is level 1). */
#define WR_CONF_MAX_DEPTH 64

typedef struct wr_conf wr_conf_t;
typedef struct wr_conf_node wr_conf_node_t;

typedef enum {
    WR_CONF_NODE_SCALAR = 0,
    WR_CONF_NODE_MAP = 1,
    WR_CONF_NODE_SEQ = 2,
} wr_conf_node_kind_t;

/*
 * An error report. msg holds the whole human-readable line, position prefix
 * included; file/line/col repeat the position for callers that want it (line
 * and col are 0 when the error has no position, e.g. a file that cannot be
 * opened). file and msg are truncated copies: the struct owns no memory and
 * outlives the tree. Every function below that takes a wr_conf_err_t *
 * accepts NULL (no report) and leaves the struct untouched on success.
 */
typedef struct wr_conf_err {
    char msg[512];
    char file[256];
    unsigned line;
    unsigned col;
} wr_conf_err_t;

/* ---- loading ---------------------------------------------------------- */

/* Load the YAML file at path. Returns the tree (free with wr_conf_free), or
 * NULL with *err filled: "server.yaml: cannot open: No such file or
 * directory", "server.yaml:3:7: YAML syntax error: <problem> (<context>)",
 * too large, too deep, alias, duplicate key, several documents, no memory.
 * path is copied. Main thread. */
wr_conf_t *wr_conf_load(const char *path, wr_conf_err_t *err);

/* Same, from the len bytes at text (need not be NUL-terminated; only read
 * during the call, the tree keeps copies). name is the file name used in
 * nodes and messages (e.g. "<test>" or the path for -t), and is copied.
 * Main thread. */
wr_conf_t *wr_conf_load_string(const char *name, const char *text, size_t len, wr_conf_err_t *err);

/* Free the tree and everything it owns. NULL is ignored. Main thread, once
 * no other thread reads the tree any more. */
void wr_conf_free(wr_conf_t *conf);

/* The root node: a map for any ordinary config file (an empty or null
 * document gives an empty map), but it may be a sequence or a scalar if the
 * file is one. Never NULL for a loaded tree. */
const wr_conf_node_t *wr_conf_root(const wr_conf_t *conf);

/* ---- nodes ------------------------------------------------------------ */

wr_conf_node_kind_t wr_conf_node_kind(const wr_conf_node_t *node);
/* 1-based position of the node's first character in its file. */
unsigned wr_conf_node_line(const wr_conf_node_t *node);
unsigned wr_conf_node_col(const wr_conf_node_t *node);
/* File name the tree was loaded from (as given to wr_conf_load*). */
const char *wr_conf_node_file(const wr_conf_node_t *node);

/* Text of a scalar (NUL-terminated, never NULL), or NULL if node is not a
 * scalar. A null value ("key:" or "key: ~") reads as its text ("" or "~");
 * use wr_conf_node_is_null to tell. */
const char *wr_conf_node_scalar(const wr_conf_node_t *node);

/* 1 if node is a YAML null (an unquoted "", "~", "null", "Null" or "NULL"),
 * else 0. */
int wr_conf_node_is_null(const wr_conf_node_t *node);

/* Write the node's path ("mux.workers", "tunnels[2]"; "" for the root) into
 * buf (always NUL-terminated when size > 0; long keys are shortened with
 * "..."). Returns buf. */
char *wr_conf_node_path(const wr_conf_node_t *node, char *buf, size_t size);

/* Number of key/value pairs of a map (0 if node is not a map). */
size_t wr_conf_map_len(const wr_conf_node_t *node);
/* The i-th key (a scalar node, in file order) or value of a map; NULL if
 * node is not a map or i is out of range. */
const wr_conf_node_t *wr_conf_map_key_at(const wr_conf_node_t *node, size_t i);
const wr_conf_node_t *wr_conf_map_value_at(const wr_conf_node_t *node, size_t i);
/* The value stored under key in a map, or NULL if absent or node is not a
 * map. Linear in the size of the map. */
const wr_conf_node_t *wr_conf_map_get(const wr_conf_node_t *node, const char *key);

/* Number of items of a sequence (0 if node is not a sequence), and the i-th
 * item (NULL if node is not a sequence or i is out of range). */
size_t wr_conf_seq_len(const wr_conf_node_t *node);
const wr_conf_node_t *wr_conf_seq_at(const wr_conf_node_t *node, size_t i);

/* Report an error about node: fills *err with "FILE:LINE:COL: " followed by
 * the formatted message, and returns -1, so that code walking the tree itself
 * (or a WR_CONF_CUSTOM handler) reports errors like the rest of this unit. */
int wr_conf_node_error(wr_conf_err_t *err, const wr_conf_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- typed accessors ---------------------------------------------------
 * Each converts one node, stores the result in *out and returns 0, or
 * returns -1 with *err filled and *out untouched; the message names the node
 * by its path and says what was expected, e.g.
 *   server.yaml:4:10: 'mux.window' expects a size from 4k to 16m, got "1g"
 */

/* Kind check only: 0 if node is of the given kind, else -1 with
 * "'x' expects a map, got a sequence". */
int wr_conf_node_expect(const wr_conf_node_t *node, wr_conf_node_kind_t kind, wr_conf_err_t *err);

/* A scalar that is not null. *out points into the tree. */
int wr_conf_node_string(const wr_conf_node_t *node, const char **out, wr_conf_err_t *err);

/* A decimal integer (optional sign) within [min, max]. */
int wr_conf_node_int(const wr_conf_node_t *node, int64_t min, int64_t max, int64_t *out,
                     wr_conf_err_t *err);

/* true/false, yes/no, on/off (any case): *out = 1 or 0. */
int wr_conf_node_bool(const wr_conf_node_t *node, int *out, wr_conf_err_t *err);

/* A size in bytes (see wr_parse_size) within [min, max]. */
int wr_conf_node_size(const wr_conf_node_t *node, uint64_t min, uint64_t max, uint64_t *out,
                      wr_conf_err_t *err);

/* A duration (see wr_parse_duration_ms) within [min_ms, max_ms], in ms. */
int wr_conf_node_duration_ms(const wr_conf_node_t *node, uint64_t min_ms, uint64_t max_ms,
                             uint64_t *out_ms, wr_conf_err_t *err);

/* One of names (a NULL-terminated array, compared case-sensitively): *out is
 * its index. */
int wr_conf_node_enum(const wr_conf_node_t *node, const char *const *names, int *out,
                      wr_conf_err_t *err);

/* ---- schema ----------------------------------------------------------- */

typedef enum {
    WR_CONF_STRING = 0, /* const char * (points into the tree) */
    WR_CONF_INT,        /* int64_t, within [min, max] */
    WR_CONF_BOOL,       /* int, 0 or 1 */
    WR_CONF_SIZE,       /* uint64_t bytes, within [min, max] */
    WR_CONF_DURATION,   /* uint64_t milliseconds, within [min, max] */
    WR_CONF_ENUM,       /* int, index into enum_names */
    WR_CONF_MAP,        /* a nested map described by children, applied at out + offset */
    WR_CONF_RAW,        /* const wr_conf_node_t *, any kind, for the caller to walk */
    WR_CONF_RAW_MAP,    /* const wr_conf_node_t *, must be a map */
    WR_CONF_RAW_SEQ,    /* const wr_conf_node_t *, must be a sequence */
    WR_CONF_CUSTOM,     /* handler(node, out + offset, field, err) does the work */
} wr_conf_kind_t;

/* Field flags. */
#define WR_CONF_REQUIRED 0x1u /* the key must be present */

struct wr_conf_field;

/* A WR_CONF_CUSTOM handler: convert node into dst (out + offset), on the
 * thread calling wr_conf_apply. Returns 0, or -1 with *err filled
 * (wr_conf_node_error helps; err may be NULL). */
typedef int (*wr_conf_handler_t)(const wr_conf_node_t *node, void *dst,
                                 const struct wr_conf_field *field, wr_conf_err_t *err);

/*
 * One key of a map. A table is an array of these ended by a row whose key is
 * NULL; it is normally a static const array. Unused members stay zero, so
 * designated initializers read well:
 *   { .key = "workers", .kind = WR_CONF_INT, .offset = offsetof(cfg_t, workers),
 *     .min = 0, .max = 64 },
 * min/max bound INT, SIZE (bytes) and DURATION (ms) values; min == max == 0
 * means "no bounds". SIZE and DURATION bounds must be >= 0.
 */
typedef struct wr_conf_field {
    const char *key;
    wr_conf_kind_t kind;
    size_t offset;                        /* where the value goes, from out */
    int64_t min, max;                     /* INT, SIZE, DURATION */
    const char *const *enum_names;        /* ENUM: NULL-terminated */
    const struct wr_conf_field *children; /* MAP: its table */
    wr_conf_handler_t handler;            /* CUSTOM */
    unsigned flags;                       /* WR_CONF_REQUIRED */
} wr_conf_field_t;

/*
 * Read the map node into the caller's struct at out, following fields:
 * every key of the map must be in the table ("file:3:1: unknown key 'wokers'
 * in 'mux' (expected one of: workers, log)"), every WR_CONF_REQUIRED key must
 * be in the map (the error points at the map), and each value is converted
 * as its row says and written at out + offset. Keys absent from the map
 * leave the struct untouched, so the caller fills in defaults first. A
 * WR_CONF_MAP whose value is null ("mux:" with nothing under it) is read as
 * an empty map, and node itself may be null for the same reason.
 *
 * Returns 0, or -1 with *err filled at the first error in file order; then
 * the struct may hold some of the values already converted. Strings and
 * nodes stored in the struct live as long as the tree. Any thread (it only
 * reads the tree), as long as out is the caller's own.
 */
int wr_conf_apply(const wr_conf_node_t *node, const wr_conf_field_t *fields, void *out,
                  wr_conf_err_t *err);

/* ---- pure parsers (for command-line flags and the accessors above) ------
 * Each parses the whole NUL-terminated string (no surrounding blanks) and
 * returns 0 with *out set, or a negative WR_PARSE_* code with *out untouched.
 */

#define WR_PARSE_EINVAL  (-1) /* not of the expected form */
#define WR_PARSE_ERANGE  (-2) /* well-formed, but does not fit in 64 bits */
#define WR_PARSE_ENOUNIT (-3) /* duration: a bare number, the unit is missing */

/* Decimal integer with optional sign, e.g. "-12". */
int wr_parse_int64(const char *s, int64_t *out);

/* true/false, yes/no, on/off, in any case. */
int wr_parse_bool(const char *s, int *out);

/* Size in bytes: decimal digits, then optionally k, m or g (powers of 1024,
 * any case), then optionally b or B: "65536", "64k", "4M", "1gb", "512B". */
int wr_parse_size(const char *s, uint64_t *out);

/* Duration in milliseconds: decimal digits then a unit, one of us, ms, s, m,
 * h (any case): "1500us", "250ms", "30s", "5m", "1h". Microseconds are
 * rounded up to the next millisecond ("1500us" is 2, "1us" is 1, "0us" 0). A
 * bare number ("30") is WR_PARSE_ENOUNIT. */
int wr_parse_duration_ms(const char *s, uint64_t *out_ms);

#endif
