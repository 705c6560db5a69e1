/*
 * wr_conf: YAML configuration loading, typed accessors and schema checking.
 * See wr_conf.h for the accepted subset and the error format.
 *
 * The file is read with libyaml's event API (not its document API) so that
 * anchors, aliases, depth and duplicate keys are seen and refused as they
 * stream by, before anything is expanded. Nodes and strings live in an arena
 * owned by the wr_conf_t: one free() per chunk, nothing to walk on free.
 */
#include "wr_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#define WR_CONF_CHUNK_SIZE 65536
/* Longest piece of user text quoted in a message (values, keys, anchors). */
#define WR_CONF_QUOTE_MAX 64
#define WR_CONF_KEY_MAX   40

#define WR_CONF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

struct wr_conf_node {
    wr_conf_node_kind_t kind;
    unsigned line, col;
    unsigned plain; /* unquoted scalar: may spell a null */
    const char *file;
    const wr_conf_node_t *parent;
    const char *key;        /* the key under which a map holds this node */
    size_t index;           /* the index at which a sequence holds this node */
    const char *text;       /* scalar */
    wr_conf_node_t **items; /* seq: n items; map: key, value, key, value... (n pairs) */
    size_t n;
};

typedef struct wr_conf_chunk {
    struct wr_conf_chunk *next;
    size_t used, size;
    max_align_t data[];
} wr_conf_chunk_t;

struct wr_conf {
    wr_conf_chunk_t *chunks;
    const char *name;
    wr_conf_node_t *root;
};

/* A map or sequence whose end event has not come yet. Its children so far
 * are loader.pending[start..npending). */
typedef struct {
    wr_conf_node_t *node;
    size_t start;
} wr_conf_open_t;

typedef struct {
    wr_conf_t *conf;
    wr_conf_err_t *err;
    wr_conf_open_t open[WR_CONF_MAX_DEPTH];
    size_t depth;
    wr_conf_node_t **pending;
    size_t npending, cap;
    wr_conf_node_t *root;
    int docs;
} wr_conf_loader_t;

/* Bounded string builder for messages: silently truncates. */
typedef struct {
    char *buf;
    size_t size, len;
} wr_conf_sb_t;

/* ---- arena ------------------------------------------------------------ */

static void *wr_conf_alloc(wr_conf_t *conf, size_t size)
{
    const size_t align = _Alignof(max_align_t);
    wr_conf_chunk_t *c = conf->chunks;

    size = (size + align - 1) & ~(align - 1);
    if (c != NULL && c->size - c->used >= size) {
        void *p = (char *)c->data + c->used;
        c->used += size;
        return p;
    }
    /* Big blocks get a chunk of their own, placed behind the head so that the
     * head's free space keeps serving small allocations. */
    size_t cap = size > WR_CONF_CHUNK_SIZE / 4 ? size : WR_CONF_CHUNK_SIZE;
    wr_conf_chunk_t *nc = malloc(sizeof(*nc) + cap);
    if (nc == NULL)
        return NULL;
    nc->size = cap;
    nc->used = size;
    if (c != NULL && cap == size) {
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        conf->chunks = nc;
    }
    return nc->data;
}

static char *wr_conf_strndup(wr_conf_t *conf, const char *s, size_t len)
{
    char *p = wr_conf_alloc(conf, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void wr_conf_free(wr_conf_t *conf)
{
    if (conf == NULL)
        return;
    wr_conf_chunk_t *c = conf->chunks;
    while (c != NULL) {
        wr_conf_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(conf);
}

/* ---- messages --------------------------------------------------------- */

static void wr_conf_sb_putc(wr_conf_sb_t *sb, char c)
{
    if (sb->len + 1 < sb->size) {
        sb->buf[sb->len++] = c;
        sb->buf[sb->len] = '\0';
    }
}

static void wr_conf_sb_printf(wr_conf_sb_t *sb, const char *fmt, ...) WR_CONF_PRINTF(2, 3);

static void wr_conf_sb_printf(wr_conf_sb_t *sb, const char *fmt, ...)
{
    if (sb->len + 1 >= sb->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb->len += (size_t)n < sb->size - sb->len ? (size_t)n : sb->size - sb->len - 1;
}

/* Append user text with control characters, quotes and backslashes escaped,
 * cut at max bytes (on a UTF-8 boundary) with "...": a value may come from
 * anyone and may span lines, and must not forge the shape of the message. */
static void wr_conf_sb_escape(wr_conf_sb_t *sb, const char *s, size_t max)
{
    size_t len = strlen(s), n = len;
    if (len > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            wr_conf_sb_printf(sb, "\\%c", c);
        else if (c == '\n')
            wr_conf_sb_printf(sb, "\\n");
        else if (c == '\t')
            wr_conf_sb_printf(sb, "\\t");
        else if (c < 0x20 || c == 0x7f)
            wr_conf_sb_printf(sb, "\\x%02x", c);
        else
            wr_conf_sb_putc(sb, (char)c);
    }
    if (n < len)
        wr_conf_sb_printf(sb, "...");
}

static int wr_conf_verr(wr_conf_err_t *err, const char *file, unsigned line, unsigned col,
                        const char *fmt, va_list ap)
{
    if (err == NULL)
        return -1;
    wr_conf_sb_t sb = {err->msg, sizeof(err->msg), 0};
    err->msg[0] = '\0';
    snprintf(err->file, sizeof(err->file), "%s", file);
    err->line = line;
    err->col = col;
    if (line > 0)
        wr_conf_sb_printf(&sb, "%s:%u:%u: ", file, line, col);
    else
        wr_conf_sb_printf(&sb, "%s: ", file);
    if (sb.len + 1 < sb.size)
        vsnprintf(sb.buf + sb.len, sb.size - sb.len, fmt, ap);
    return -1;
}

static int wr_conf_errf(wr_conf_err_t *err, const char *file, unsigned line, unsigned col,
                        const char *fmt, ...) WR_CONF_PRINTF(5, 6);

static int wr_conf_errf(wr_conf_err_t *err, const char *file, unsigned line, unsigned col,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wr_conf_verr(err, file, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

int wr_conf_node_error(wr_conf_err_t *err, const wr_conf_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wr_conf_verr(err, node->file, node->line, node->col, fmt, ap);
    va_end(ap);
    return -1;
}

char *wr_conf_node_path(const wr_conf_node_t *node, char *buf, size_t size)
{
    const wr_conf_node_t *chain[WR_CONF_MAX_DEPTH + 2];
    size_t n = 0;
    wr_conf_sb_t sb = {buf, size, 0};

    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (const wr_conf_node_t *p = node; p->parent != NULL && n < sizeof(chain) / sizeof(chain[0]);
         p = p->parent)
        chain[n++] = p;
    while (n-- > 0) {
        const wr_conf_node_t *p = chain[n];
        if (p->parent->kind == WR_CONF_NODE_SEQ) {
            wr_conf_sb_printf(&sb, "[%zu]", p->index);
            continue;
        }
        if (p->key == NULL)
            continue; /* a map's key node: named like its map */
        if (sb.len > 0)
            wr_conf_sb_putc(&sb, '.');
        wr_conf_sb_escape(&sb, p->key, WR_CONF_KEY_MAX);
    }
    return buf;
}

/* How messages name a node: "'mux.workers'" or "the top level"; with
 * where, as a place: "in 'mux'" or "at the top level". */
static const char *wr_conf_name(const wr_conf_node_t *node, int where, char *buf, size_t size)
{
    char path[200];
    wr_conf_node_path(node, path, sizeof(path));
    if (path[0] == '\0')
        snprintf(buf, size, "%sthe top level", where ? "at " : "");
    else
        snprintf(buf, size, "%s'%s'", where ? "in " : "", path);
    return buf;
}

/* User text as messages show it: escaped and shortened. */
static const char *wr_conf_quote(const char *s, size_t max, char *buf, size_t size)
{
    wr_conf_sb_t sb = {buf, size, 0};
    buf[0] = '\0';
    wr_conf_sb_escape(&sb, s, max);
    return buf;
}

/* What a node is, for "got ...": a quoted value, null, a map, a sequence. */
static const char *wr_conf_describe(const wr_conf_node_t *node, char *buf, size_t size)
{
    wr_conf_sb_t sb = {buf, size, 0};
    buf[0] = '\0';
    if (node->kind == WR_CONF_NODE_MAP) {
        wr_conf_sb_printf(&sb, "a map");
    } else if (node->kind == WR_CONF_NODE_SEQ) {
        wr_conf_sb_printf(&sb, "a sequence");
    } else if (wr_conf_node_is_null(node)) {
        wr_conf_sb_printf(&sb, "null");
    } else {
        wr_conf_sb_putc(&sb, '"');
        wr_conf_sb_escape(&sb, node->text, WR_CONF_QUOTE_MAX);
        wr_conf_sb_putc(&sb, '"');
    }
    return buf;
}

/* "<name> <expected>, got <what>": the one shape of every conversion error. */
static int wr_conf_bad(wr_conf_err_t *err, const wr_conf_node_t *node, const char *fmt, ...)
    WR_CONF_PRINTF(3, 4);

static int wr_conf_bad(wr_conf_err_t *err, const wr_conf_node_t *node, const char *fmt, ...)
{
    char expect[320], name[210], got[WR_CONF_QUOTE_MAX * 4 + 8];
    va_list ap;

    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(expect, sizeof(expect), fmt, ap);
    va_end(ap);
    return wr_conf_node_error(err, node, "%s %s, got %s", wr_conf_name(node, 0, name, sizeof(name)),
                              expect, wr_conf_describe(node, got, sizeof(got)));
}

/* ---- pure parsers ----------------------------------------------------- */

/* Decimal digits at *sp (at least one), advancing *sp past all of them. */
static int wr_parse_digits(const char **sp, uint64_t *out)
{
    const char *p = *sp;
    uint64_t v = 0;
    int rc = 0;

    if (*p < '0' || *p > '9')
        return WR_PARSE_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            rc = WR_PARSE_ERANGE;
        else
            v = v * 10 + d;
    }
    *sp = p;
    *out = v;
    return rc;
}

int wr_parse_int64(const char *s, int64_t *out)
{
    const char *p = s;
    uint64_t v;
    int neg = 0;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    int rc = wr_parse_digits(&p, &v);
    if (rc == WR_PARSE_EINVAL || *p != '\0')
        return WR_PARSE_EINVAL;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (rc < 0 || v > limit)
        return WR_PARSE_ERANGE;
    *out = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    return 0;
}

int wr_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};

    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return WR_PARSE_EINVAL;
}

int wr_parse_size(const char *s, uint64_t *out)
{
    static const char suffixes[] = "kKmMgG";
    const char *p = s;
    uint64_t v, mult = 1;

    int rc = wr_parse_digits(&p, &v);
    if (rc == WR_PARSE_EINVAL)
        return rc;
    const char *suffix = *p != '\0' ? strchr(suffixes, *p) : NULL;
    if (suffix != NULL) {
        mult = UINT64_C(1) << (10 * (1 + (suffix - suffixes) / 2));
        p++;
    }
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p != '\0')
        return WR_PARSE_EINVAL;
    if (rc < 0 || v > UINT64_MAX / mult)
        return WR_PARSE_ERANGE;
    *out = v * mult;
    return 0;
}

int wr_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    static const struct {
        const char *unit;
        uint64_t mult; /* ms per unit; 0 for us, which divides instead */
    } units[] = {{"us", 0}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const char *p = s;
    uint64_t v;

    int rc = wr_parse_digits(&p, &v);
    if (rc == WR_PARSE_EINVAL)
        return rc;
    if (*p == '\0')
        return WR_PARSE_ENOUNIT;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].unit) != 0)
            continue;
        if (rc < 0)
            return rc;
        if (units[i].mult == 0) {
            /* Round up: a non-zero timeout must never become "no wait". */
            *out_ms = v / 1000 + (v % 1000 != 0);
            return 0;
        }
        if (v > UINT64_MAX / units[i].mult)
            return WR_PARSE_ERANGE;
        *out_ms = v * units[i].mult;
        return 0;
    }
    return WR_PARSE_EINVAL;
}

/* ---- nodes ------------------------------------------------------------ */

const wr_conf_node_t *wr_conf_root(const wr_conf_t *conf)
{
    return conf->root;
}

wr_conf_node_kind_t wr_conf_node_kind(const wr_conf_node_t *node)
{
    return node->kind;
}

unsigned wr_conf_node_line(const wr_conf_node_t *node)
{
    return node->line;
}

unsigned wr_conf_node_col(const wr_conf_node_t *node)
{
    return node->col;
}

const char *wr_conf_node_file(const wr_conf_node_t *node)
{
    return node->file;
}

const char *wr_conf_node_scalar(const wr_conf_node_t *node)
{
    return node->kind == WR_CONF_NODE_SCALAR ? node->text : NULL;
}

int wr_conf_node_is_null(const wr_conf_node_t *node)
{
    if (node->kind != WR_CONF_NODE_SCALAR || !node->plain)
        return 0;
    const char *s = node->text;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

size_t wr_conf_map_len(const wr_conf_node_t *node)
{
    return node->kind == WR_CONF_NODE_MAP ? node->n : 0;
}

const wr_conf_node_t *wr_conf_map_key_at(const wr_conf_node_t *node, size_t i)
{
    return node->kind == WR_CONF_NODE_MAP && i < node->n ? node->items[2 * i] : NULL;
}

const wr_conf_node_t *wr_conf_map_value_at(const wr_conf_node_t *node, size_t i)
{
    return node->kind == WR_CONF_NODE_MAP && i < node->n ? node->items[2 * i + 1] : NULL;
}

const wr_conf_node_t *wr_conf_map_get(const wr_conf_node_t *node, const char *key)
{
    for (size_t i = 0; i < wr_conf_map_len(node); i++) {
        if (strcmp(node->items[2 * i]->text, key) == 0)
            return node->items[2 * i + 1];
    }
    return NULL;
}

size_t wr_conf_seq_len(const wr_conf_node_t *node)
{
    return node->kind == WR_CONF_NODE_SEQ ? node->n : 0;
}

const wr_conf_node_t *wr_conf_seq_at(const wr_conf_node_t *node, size_t i)
{
    return node->kind == WR_CONF_NODE_SEQ && i < node->n ? node->items[i] : NULL;
}

/* ---- typed accessors -------------------------------------------------- */

static const char *wr_conf_kind_name(wr_conf_node_kind_t kind)
{
    return kind == WR_CONF_NODE_MAP   ? "a map"
           : kind == WR_CONF_NODE_SEQ ? "a sequence"
                                      : "a scalar";
}

/* The text of a non-null scalar, or NULL. */
static const char *wr_conf_value(const wr_conf_node_t *node)
{
    return node->kind == WR_CONF_NODE_SCALAR && !wr_conf_node_is_null(node) ? node->text : NULL;
}

typedef struct {
    uint64_t mult;
    const char *unit;
} wr_conf_unit_t;

/* Largest first; the last unit (1) always divides. */
static const wr_conf_unit_t wr_conf_size_units[] = {
    {UINT64_C(1) << 30, "g"}, {UINT64_C(1) << 20, "m"}, {UINT64_C(1) << 10, "k"}, {1, ""}};
static const wr_conf_unit_t wr_conf_ms_units[] = {
    {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};

/* A bound for humans, in the largest unit that divides it exactly: "16m". */
static const char *wr_conf_fmt_unit(uint64_t v, const wr_conf_unit_t *u, char *buf, size_t size)
{
    while (u->mult > 1 && (v == 0 || v % u->mult != 0))
        u++;
    snprintf(buf, size, "%" PRIu64 "%s", v / u->mult, u->unit);
    return buf;
}

/* "from A to B" / "of at least A" / "of at most B", or "" when [min, max]
 * covers every uint64_t. */
static const char *wr_conf_fmt_range(uint64_t min, uint64_t max, const wr_conf_unit_t *u, char *buf,
                                     size_t size)
{
    char a[32], b[32];
    wr_conf_fmt_unit(min, u, a, sizeof(a));
    wr_conf_fmt_unit(max, u, b, sizeof(b));
    if (min == 0 && max == UINT64_MAX)
        buf[0] = '\0';
    else if (min == 0)
        snprintf(buf, size, " of at most %s", b);
    else if (max == UINT64_MAX)
        snprintf(buf, size, " of at least %s", a);
    else
        snprintf(buf, size, " from %s to %s", a, b);
    return buf;
}

int wr_conf_node_expect(const wr_conf_node_t *node, wr_conf_node_kind_t kind, wr_conf_err_t *err)
{
    if (node->kind == kind)
        return 0;
    return wr_conf_bad(err, node, "expects %s", wr_conf_kind_name(kind));
}

int wr_conf_node_string(const wr_conf_node_t *node, const char **out, wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    if (s == NULL)
        return wr_conf_bad(err, node, "expects a string");
    *out = s;
    return 0;
}

int wr_conf_node_int(const wr_conf_node_t *node, int64_t min, int64_t max, int64_t *out,
                     wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    int64_t v;

    if (s != NULL && wr_parse_int64(s, &v) == 0 && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    if (min == INT64_MIN && max == INT64_MAX)
        return wr_conf_bad(err, node, "expects an integer");
    if (min == INT64_MIN)
        return wr_conf_bad(err, node, "expects an integer of at most %" PRId64, max);
    if (max == INT64_MAX)
        return wr_conf_bad(err, node, "expects an integer of at least %" PRId64, min);
    return wr_conf_bad(err, node, "expects an integer from %" PRId64 " to %" PRId64, min, max);
}

int wr_conf_node_bool(const wr_conf_node_t *node, int *out, wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    if (s == NULL || wr_parse_bool(s, out) < 0)
        return wr_conf_bad(err, node, "expects a boolean (true/false, yes/no, on/off)");
    return 0;
}

int wr_conf_node_size(const wr_conf_node_t *node, uint64_t min, uint64_t max, uint64_t *out,
                      wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    char range[80];
    uint64_t v;

    int rc = s != NULL ? wr_parse_size(s, &v) : WR_PARSE_EINVAL;
    if (rc == WR_PARSE_EINVAL)
        return wr_conf_bad(err, node,
                           "expects a size (a number of bytes with an optional k, m or g suffix, "
                           "e.g. 64k)");
    if (rc == WR_PARSE_ERANGE)
        return wr_conf_bad(err, node, "expects a size that fits in 64 bits");
    if (v < min || v > max)
        return wr_conf_bad(err, node, "expects a size%s",
                           wr_conf_fmt_range(min, max, wr_conf_size_units, range, sizeof(range)));
    *out = v;
    return 0;
}

int wr_conf_node_duration_ms(const wr_conf_node_t *node, uint64_t min_ms, uint64_t max_ms,
                             uint64_t *out_ms, wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    char range[80];
    uint64_t v;

    int rc = s != NULL ? wr_parse_duration_ms(s, &v) : WR_PARSE_EINVAL;
    if (rc == WR_PARSE_EINVAL)
        return wr_conf_bad(err, node,
                           "expects a duration (a number with a unit us, ms, s, m or h, e.g. 30s)");
    if (rc == WR_PARSE_ENOUNIT && err != NULL) {
        wr_conf_bad(err, node, "expects a duration with a unit (us, ms, s, m or h, e.g. 30s)");
        wr_conf_sb_t sb = {err->msg, sizeof(err->msg), strlen(err->msg)};
        wr_conf_sb_printf(&sb, ": a unit is required");
    }
    if (rc == WR_PARSE_ENOUNIT)
        return -1;
    if (rc == WR_PARSE_ERANGE)
        return wr_conf_bad(err, node, "expects a duration that fits in 64 bits of milliseconds");
    if (v < min_ms || v > max_ms)
        return wr_conf_bad(
            err, node, "expects a duration%s",
            wr_conf_fmt_range(min_ms, max_ms, wr_conf_ms_units, range, sizeof(range)));
    *out_ms = v;
    return 0;
}

int wr_conf_node_enum(const wr_conf_node_t *node, const char *const *names, int *out,
                      wr_conf_err_t *err)
{
    const char *s = wr_conf_value(node);
    char list[256];
    wr_conf_sb_t sb = {list, sizeof(list), 0};

    list[0] = '\0';
    for (int i = 0; names[i] != NULL; i++) {
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
        wr_conf_sb_printf(&sb, "%s%s", i > 0 ? ", " : "", names[i]);
    }
    return wr_conf_bad(err, node, "expects one of: %s", list);
}

/* ---- schema ----------------------------------------------------------- */

static int wr_conf_apply_field(const wr_conf_node_t *v, const wr_conf_field_t *f, void *dst,
                               wr_conf_err_t *err)
{
    int unbounded = f->min == 0 && f->max == 0;
    int64_t imin = unbounded ? INT64_MIN : f->min, imax = unbounded ? INT64_MAX : f->max;
    uint64_t umin = f->min > 0 ? (uint64_t)f->min : 0;
    uint64_t umax = unbounded ? UINT64_MAX : f->max > 0 ? (uint64_t)f->max : 0;

    switch (f->kind) {
    case WR_CONF_STRING:
        return wr_conf_node_string(v, (const char **)dst, err);
    case WR_CONF_INT:
        return wr_conf_node_int(v, imin, imax, (int64_t *)dst, err);
    case WR_CONF_BOOL:
        return wr_conf_node_bool(v, (int *)dst, err);
    case WR_CONF_SIZE:
        return wr_conf_node_size(v, umin, umax, (uint64_t *)dst, err);
    case WR_CONF_DURATION:
        return wr_conf_node_duration_ms(v, umin, umax, (uint64_t *)dst, err);
    case WR_CONF_ENUM:
        return wr_conf_node_enum(v, f->enum_names, (int *)dst, err);
    case WR_CONF_MAP:
        if (f->children == NULL)
            break;
        return wr_conf_apply(v, f->children, dst, err);
    case WR_CONF_RAW_MAP:
    case WR_CONF_RAW_SEQ:
        if (wr_conf_node_expect(v, f->kind == WR_CONF_RAW_MAP ? WR_CONF_NODE_MAP : WR_CONF_NODE_SEQ,
                                err) < 0)
            return -1;
        *(const wr_conf_node_t **)dst = v;
        return 0;
    case WR_CONF_RAW:
        *(const wr_conf_node_t **)dst = v;
        return 0;
    case WR_CONF_CUSTOM:
        if (f->handler == NULL)
            break;
        return f->handler(v, dst, f, err);
    }
    /* A mistake in the caller's table, not in the file. */
    return wr_conf_node_error(err, v, "internal error: bad schema row for '%s'", f->key);
}

int wr_conf_apply(const wr_conf_node_t *node, const wr_conf_field_t *fields, void *out,
                  wr_conf_err_t *err)
{
    char where[220], key[WR_CONF_KEY_MAX * 4 + 8];

    if (node == NULL)
        return 0; /* no map at all: every key keeps its default */
    if (node->kind != WR_CONF_NODE_MAP && !wr_conf_node_is_null(node))
        return wr_conf_node_expect(node, WR_CONF_NODE_MAP, err);
    for (size_t i = 0; i < wr_conf_map_len(node); i++) {
        const wr_conf_node_t *k = node->items[2 * i];
        const wr_conf_field_t *f = fields;
        while (f->key != NULL && strcmp(f->key, k->text) != 0)
            f++;
        if (f->key != NULL) {
            if (wr_conf_apply_field(node->items[2 * i + 1], f, (char *)out + f->offset, err) < 0)
                return -1;
            continue;
        }
        if (err == NULL)
            return -1;
        char expected[300];
        wr_conf_sb_t sb = {expected, sizeof(expected), 0};
        expected[0] = '\0';
        for (f = fields; f->key != NULL; f++)
            wr_conf_sb_printf(&sb, "%s%s", f == fields ? "" : ", ", f->key);
        return wr_conf_node_error(err, k, "unknown key '%s' %s (expected one of: %s)",
                                  wr_conf_quote(k->text, WR_CONF_KEY_MAX, key, sizeof(key)),
                                  wr_conf_name(node, 1, where, sizeof(where)), expected);
    }
    for (const wr_conf_field_t *f = fields; f->key != NULL; f++) {
        if ((f->flags & WR_CONF_REQUIRED) && wr_conf_map_get(node, f->key) == NULL)
            return wr_conf_node_error(err, node, "missing required key '%s' %s", f->key,
                                      wr_conf_name(node, 1, where, sizeof(where)));
    }
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

static wr_conf_node_t *wr_conf_node_new(wr_conf_loader_t *ld, wr_conf_node_kind_t kind,
                                        const yaml_mark_t *mark)
{
    wr_conf_node_t *node = wr_conf_alloc(ld->conf, sizeof(*node));
    if (node == NULL)
        return NULL;
    memset(node, 0, sizeof(*node));
    node->kind = kind;
    node->line = (unsigned)mark->line + 1;
    node->col = (unsigned)mark->column + 1;
    node->file = ld->conf->name;
    node->text = "";
    return node;
}

static int wr_conf_oom(wr_conf_loader_t *ld)
{
    return wr_conf_errf(ld->err, ld->conf->name, 0, 0, "out of memory");
}

/* Make node the next child of the innermost open collection (or the root). */
static int wr_conf_attach(wr_conf_loader_t *ld, wr_conf_node_t *node)
{
    if (ld->depth == 0) {
        ld->root = node;
        return 0;
    }
    const wr_conf_open_t *top = &ld->open[ld->depth - 1];
    size_t nth = ld->npending - top->start;
    node->parent = top->node;
    if (top->node->kind == WR_CONF_NODE_SEQ)
        node->index = nth;
    else if (nth % 2 == 1)
        node->key = ld->pending[ld->npending - 1]->text;
    else if (node->kind != WR_CONF_NODE_SCALAR)
        return wr_conf_node_error(ld->err, node, "a map key must be a scalar, not %s",
                                  wr_conf_kind_name(node->kind));
    if (ld->npending == ld->cap) {
        size_t cap = ld->cap != 0 ? ld->cap * 2 : 64;
        wr_conf_node_t **p = realloc(ld->pending, cap * sizeof(*p));
        if (p == NULL)
            return wr_conf_oom(ld);
        ld->pending = p;
        ld->cap = cap;
    }
    ld->pending[ld->npending++] = node;
    return 0;
}

typedef struct {
    const wr_conf_node_t *key;
    size_t pos;
} wr_conf_keyref_t;

static int wr_conf_keyref_cmp(const void *a, const void *b)
{
    const wr_conf_keyref_t *x = a, *y = b;
    int c = strcmp(x->key->text, y->key->text);
    if (c != 0)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Refuse a map with a key twice, pointing at the first repeat in the file.
 * Sorting keeps this O(n log n): a stranger's file may hold 100k keys. */
static int wr_conf_check_dups(wr_conf_loader_t *ld, const wr_conf_node_t *map)
{
    wr_conf_keyref_t *refs = NULL;
    size_t n = map->n, dup = SIZE_MAX, first = 0, run = 0;
    int rc = -1;

    if (n < 2)
        return 0;
    refs = malloc(n * sizeof(*refs));
    if (refs == NULL) {
        wr_conf_oom(ld);
        goto failed;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (wr_conf_keyref_t){map->items[2 * i], i};
    qsort(refs, n, sizeof(*refs), wr_conf_keyref_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i].key->text, refs[run].key->text) != 0)
            run = i;
        else if (dup == SIZE_MAX || refs[i].pos < refs[dup].pos)
            dup = i, first = run;
    }
    if (dup != SIZE_MAX) {
        char key[WR_CONF_KEY_MAX * 4 + 8], where[220];
        wr_conf_quote(refs[dup].key->text, WR_CONF_KEY_MAX, key, sizeof(key));
        wr_conf_node_error(ld->err, refs[dup].key, "duplicate key '%s' %s (first at line %u)", key,
                           wr_conf_name(map, 1, where, sizeof(where)), refs[first].key->line);
        goto failed;
    }
    rc = 0;
failed:
    free(refs);
    return rc;
}

/* The innermost open collection has ended: give it its children. */
static int wr_conf_close(wr_conf_loader_t *ld)
{
    const wr_conf_open_t *top = &ld->open[--ld->depth];
    wr_conf_node_t *node = top->node;
    size_t n = ld->npending - top->start;

    if (n > 0) {
        node->items = wr_conf_alloc(ld->conf, n * sizeof(*node->items));
        if (node->items == NULL)
            return wr_conf_oom(ld);
        memcpy(node->items, ld->pending + top->start, n * sizeof(*node->items));
    }
    node->n = node->kind == WR_CONF_NODE_MAP ? n / 2 : n;
    ld->npending = top->start;
    return node->kind == WR_CONF_NODE_MAP ? wr_conf_check_dups(ld, node) : 0;
}

static int wr_conf_no_anchor(wr_conf_loader_t *ld, const yaml_event_t *ev, const char *anchor,
                             char sigil)
{
    char name[WR_CONF_KEY_MAX * 4 + 8];

    if (anchor == NULL)
        return 0;
    wr_conf_quote(anchor, WR_CONF_KEY_MAX, name, sizeof(name));
    return wr_conf_errf(ld->err, ld->conf->name, (unsigned)ev->start_mark.line + 1,
                        (unsigned)ev->start_mark.column + 1,
                        "YAML anchors and aliases are not supported (found %c%s)", sigil, name);
}

static int wr_conf_on_event(wr_conf_loader_t *ld, const yaml_event_t *ev)
{
    wr_conf_node_t *node;
    const char *anchor;
    wr_conf_node_kind_t kind = WR_CONF_NODE_MAP;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (ld->docs++ == 0)
            return 0;
        return wr_conf_errf(ld->err, ld->conf->name, (unsigned)ev->start_mark.line + 1,
                            (unsigned)ev->start_mark.column + 1,
                            "only one YAML document per file is supported (found a second one)");
    case YAML_ALIAS_EVENT:
        return wr_conf_no_anchor(ld, ev, (const char *)ev->data.alias.anchor, '*');
    case YAML_SCALAR_EVENT:
        if (wr_conf_no_anchor(ld, ev, (const char *)ev->data.scalar.anchor, '&') < 0)
            return -1;
        node = wr_conf_node_new(ld, WR_CONF_NODE_SCALAR, &ev->start_mark);
        if (node == NULL)
            return wr_conf_oom(ld);
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
            return wr_conf_node_error(ld->err, node, "a value must not contain a NUL byte");
        node->text =
            wr_conf_strndup(ld->conf, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (node->text == NULL)
            return wr_conf_oom(ld);
        node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return wr_conf_attach(ld, node);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (ev->type == YAML_SEQUENCE_START_EVENT) {
            kind = WR_CONF_NODE_SEQ;
            anchor = (const char *)ev->data.sequence_start.anchor;
        } else {
            anchor = (const char *)ev->data.mapping_start.anchor;
        }
        if (wr_conf_no_anchor(ld, ev, anchor, '&') < 0)
            return -1;
        node = wr_conf_node_new(ld, kind, &ev->start_mark);
        if (node == NULL)
            return wr_conf_oom(ld);
        if (ld->depth == WR_CONF_MAX_DEPTH)
            return wr_conf_node_error(
                ld->err, node, "nesting too deep (more than %d levels of maps and sequences)",
                WR_CONF_MAX_DEPTH);
        if (wr_conf_attach(ld, node) < 0)
            return -1;
        ld->open[ld->depth++] = (wr_conf_open_t){node, ld->npending};
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return wr_conf_close(ld);
    default:
        return 0;
    }
}

static int wr_conf_yaml_error(wr_conf_loader_t *ld, const yaml_parser_t *parser)
{
    const char *problem = parser->problem != NULL ? parser->problem : "unknown error";

    switch (parser->error) {
    case YAML_MEMORY_ERROR:
        return wr_conf_oom(ld);
    case YAML_READER_ERROR:
        /* Bad encoding: libyaml knows the byte offset, not the line. */
        return wr_conf_errf(ld->err, ld->conf->name, 0, 0, "YAML encoding error: %s at byte %zu",
                            problem, parser->problem_offset);
    default:
        break;
    }
    unsigned line = (unsigned)parser->problem_mark.line + 1;
    unsigned col = (unsigned)parser->problem_mark.column + 1;
    if (parser->context == NULL)
        return wr_conf_errf(ld->err, ld->conf->name, line, col, "YAML syntax error: %s", problem);
    /* The context mark is where the construct that failed began, often the
     * line a person has to fix ("while scanning a simple key" at the bad
     * line, the problem itself only found at the next one). */
    return wr_conf_errf(ld->err, ld->conf->name, line, col,
                        "YAML syntax error: %s (%s at line %u, column %u)", problem,
                        parser->context, (unsigned)parser->context_mark.line + 1,
                        (unsigned)parser->context_mark.column + 1);
}

/* Build conf's tree from text. On failure the partial tree stays in conf's
 * arena, for wr_conf_free. */
static int wr_conf_parse(wr_conf_t *conf, const char *text, size_t len, wr_conf_err_t *err)
{
    wr_conf_loader_t ld = {.conf = conf, .err = err};
    yaml_parser_t parser;
    yaml_event_t ev;
    int have_event = 0, rc = -1;
    static const yaml_mark_t start = {0, 0, 0};

    if (!yaml_parser_initialize(&parser))
        return wr_conf_oom(&ld);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            wr_conf_yaml_error(&ld, &parser);
            goto failed;
        }
        have_event = 1;
        if (wr_conf_on_event(&ld, &ev) < 0)
            goto failed;
        int end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        have_event = 0;
        if (end)
            break;
    }
    /* No document, or a null one ("---" alone): an empty map, so that a
     * config with every line commented out means "all defaults". */
    if (ld.root == NULL || wr_conf_node_is_null(ld.root)) {
        wr_conf_node_t *root = wr_conf_node_new(&ld, WR_CONF_NODE_MAP, &start);
        if (root == NULL) {
            wr_conf_oom(&ld);
            goto failed;
        }
        if (ld.root != NULL) {
            root->line = ld.root->line;
            root->col = ld.root->col;
        }
        ld.root = root;
    }
    conf->root = ld.root;
    rc = 0;
failed:
    if (have_event)
        yaml_event_delete(&ev);
    yaml_parser_delete(&parser);
    free(ld.pending);
    return rc;
}

wr_conf_t *wr_conf_load_string(const char *name, const char *text, size_t len, wr_conf_err_t *err)
{
    wr_conf_t *conf = NULL;

    if (len > WR_CONF_MAX_SIZE) {
        wr_conf_errf(err, name, 0, 0, "too large (%zu bytes; the limit is %d bytes)", len,
                     WR_CONF_MAX_SIZE);
        goto failed;
    }
    conf = calloc(1, sizeof(*conf));
    if (conf == NULL) {
        wr_conf_errf(err, name, 0, 0, "out of memory");
        goto failed;
    }
    conf->name = wr_conf_strndup(conf, name, strlen(name));
    if (conf->name == NULL) {
        wr_conf_errf(err, name, 0, 0, "out of memory");
        goto failed;
    }
    if (wr_conf_parse(conf, text, len, err) < 0)
        goto failed;
    return conf;
failed:
    wr_conf_free(conf);
    return NULL;
}

wr_conf_t *wr_conf_load(const char *path, wr_conf_err_t *err)
{
    wr_conf_t *conf = NULL;
    char *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        wr_conf_errf(err, path, 0, 0, "cannot open: %s", strerror(errno));
        goto failed;
    }
    /* One byte more than the limit, to tell "exactly 1 MiB" from "more". */
    buf = malloc(WR_CONF_MAX_SIZE + 1);
    if (buf == NULL) {
        wr_conf_errf(err, path, 0, 0, "out of memory");
        goto failed;
    }
    while (len <= WR_CONF_MAX_SIZE) {
        ssize_t r = read(fd, buf + len, WR_CONF_MAX_SIZE + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            wr_conf_errf(err, path, 0, 0, "cannot read: %s", strerror(errno));
            goto failed;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > WR_CONF_MAX_SIZE) {
        wr_conf_errf(err, path, 0, 0, "too large (more than the limit of %d bytes)",
                     WR_CONF_MAX_SIZE);
        goto failed;
    }
    conf = wr_conf_load_string(path, buf, len, err);
failed:
    if (fd >= 0)
        close(fd);
    free(buf);
    return conf;
}
