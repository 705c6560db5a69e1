/*
 * wr_json: JSON writer and reader (see wr_json.h).
 */
#include "wr_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (at most n bytes available):
 * 1..4, 0 when it is not well-formed, -1 when it is the valid start of a
 * sequence cut off by the end. */
static int wr_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n)
            return -1;
        if (p[i] < lo || p[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

int wr_json_is_text(const void *data, size_t len, int cut_ok)
{
    const unsigned char *p = data;
    size_t i = 0;

    while (i < len) {
        int k;
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f')
            return 0;
        if (p[i] == 0x7F)
            return 0;
        k = wr_utf8_seq(p + i, len - i);
        if (k == -1)
            return cut_ok;
        if (k == 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

/* ---- writing -------------------------------------------------------------- */

int wr_json_str(struct evbuffer *out, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t i = 0, run = 0;
    int rc = 0;

    rc |= evbuffer_add(out, "\"", 1);
    while (i < len) {
        unsigned c = p[i];
        char esc[8];
        size_t elen = 0;
        int k = 1;

        if (c >= 0x80) {
            k = wr_utf8_seq(p + i, len - i);
            if (k > 0) {
                i += (size_t)k;
                run += (size_t)k;
                continue;
            }
            k = 1; /* not UTF-8: the byte as Latin-1 */
        }
        if (c >= 0x80 || c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' ||
            c == 0x7F) {
            switch (c) {
            case '"':
                memcpy(esc, "\\\"", 2), elen = 2;
                break;
            case '\\':
                memcpy(esc, "\\\\", 2), elen = 2;
                break;
            case '\n':
                memcpy(esc, "\\n", 2), elen = 2;
                break;
            case '\r':
                memcpy(esc, "\\r", 2), elen = 2;
                break;
            case '\t':
                memcpy(esc, "\\t", 2), elen = 2;
                break;
            default:
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
            if (run > 0)
                rc |= evbuffer_add(out, p + i - run, run);
            run = 0;
            rc |= evbuffer_add(out, esc, elen);
            i++;
            continue;
        }
        i++;
        run++;
    }
    if (run > 0)
        rc |= evbuffer_add(out, p + i - run, run);
    rc |= evbuffer_add(out, "\"", 1);
    return rc == 0 ? 0 : -1;
}

int wr_json_cstr(struct evbuffer *out, const char *s)
{
    if (s == NULL)
        return evbuffer_add(out, "null", 4);
    return wr_json_str(out, s, strlen(s));
}

static const char wr_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t wr_base64_encode(char *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t o = 0, i = 0;

    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = wr_b64[v >> 18];
        out[o++] = wr_b64[(v >> 12) & 63];
        out[o++] = wr_b64[(v >> 6) & 63];
        out[o++] = wr_b64[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        out[o++] = wr_b64[v >> 18];
        out[o++] = wr_b64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        out[o++] = wr_b64[v >> 18];
        out[o++] = wr_b64[(v >> 12) & 63];
        out[o++] = wr_b64[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

long wr_base64_decode(unsigned char *out, const char *text, size_t len)
{
    unsigned v = 0;
    int bits = 0;
    size_t o = 0, pad = 0;

    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const char *q = text[i] ? strchr(wr_b64, text[i]) : NULL;
        if (q == NULL)
            return -1;
        v = (v << 6) | (unsigned)(q - wr_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
        v &= (1u << bits) - 1;
    }
    return (long)o;
}

void wr_json_time_text(char *buf, size_t len, uint64_t wall_us)
{
    time_t sec = (time_t)(wall_us / 1000000u);
    struct tm tm;

    if (gmtime_r(&sec, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_us % 1000000u / 1000u));
}

void wr_json_time(struct evbuffer *out, uint64_t wall_us)
{
    char t[40];

    wr_json_time_text(t, sizeof(t), wall_us);
    evbuffer_add_printf(out, "\"%s\"", t);
}

int wr_json_base64(struct evbuffer *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    char buf[4 * 1024 + 8];
    int rc = 0;

    rc |= evbuffer_add(out, "\"", 1);
    while (len > 0) {
        size_t n = len > 3 * 1024 ? 3 * 1024 : len; /* a multiple of 3 but the last */
        size_t k = wr_base64_encode(buf, p, n);
        rc |= evbuffer_add(out, buf, k);
        p += n;
        len -= n;
    }
    rc |= evbuffer_add(out, "\"", 1);
    return rc == 0 ? 0 : -1;
}

/* ---- reading -------------------------------------------------------------- */

struct wr_json {
    wr_json_kind_t kind;
    int b;
    double num;
    int is_int;
    int64_t ival;
    char *str;
    size_t slen;
    char **keys; /* objects */
    wr_json_t **items;
    size_t n, cap;
};

typedef struct {
    const char *p, *end, *start;
    int max_depth;
    char *why;
    size_t whylen;
    size_t nodes; /* values made so far, against WR_JSON_MAX_NODES */
} wr_jp_t;

static int wr_jp_error(wr_jp_t *jp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wr_jp_error(wr_jp_t *jp, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (jp->why == NULL || jp->whylen == 0 || jp->why[0] != '\0')
        return -1; /* the first error stays */
    va_start(ap, fmt);
    vsnprintf(jp->why, jp->whylen, fmt, ap);
    va_end(ap);
    n = strlen(jp->why);
    if (n + 1 < jp->whylen)
        snprintf(jp->why + n, jp->whylen - n, " at offset %zu", (size_t)(jp->p - jp->start));
    return -1;
}

static void wr_jp_ws(wr_jp_t *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static int wr_jp_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t wr_utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* A string literal at jp->p (its opening quote): decoded into a new buffer. */
static int wr_jp_string(wr_jp_t *jp, char **out, size_t *outlen)
{
    const char *q = ++jp->p;
    char *buf, *o;

    /* The decoded text is never longer than the literal. */
    while (q < jp->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= jp->end)
        return wr_jp_error(jp, "unterminated string");
    buf = malloc((size_t)(q - jp->p) + 1);
    if (buf == NULL)
        return wr_jp_error(jp, "out of memory");
    o = buf;
    while (*jp->p != '"') {
        unsigned char c = (unsigned char)*jp->p;
        if (c < 0x20) {
            free(buf);
            return wr_jp_error(jp, "control byte in a string");
        }
        if (c == '\\') {
            char e = jp->p[1];
            unsigned cp, lo;
            jp->p += 2;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                *o++ = e;
                continue;
            case 'b':
                *o++ = '\b';
                continue;
            case 'f':
                *o++ = '\f';
                continue;
            case 'n':
                *o++ = '\n';
                continue;
            case 'r':
                *o++ = '\r';
                continue;
            case 't':
                *o++ = '\t';
                continue;
            case 'u':
                break;
            default:
                jp->p -= 2;
                free(buf);
                return wr_jp_error(jp, "bad escape in a string");
            }
            if (jp->end - jp->p < 4 || wr_jp_hex4(jp->p, &cp) != 0) {
                free(buf);
                return wr_jp_error(jp, "bad \\u escape");
            }
            jp->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buf);
                return wr_jp_error(jp, "lone low surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (jp->end - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u' ||
                    wr_jp_hex4(jp->p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return wr_jp_error(jp, "lone high surrogate");
                }
                jp->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += wr_utf8_put(o, cp);
            continue;
        }
        {
            int k = wr_utf8_seq((const unsigned char *)jp->p, (size_t)(q - jp->p));
            if (k <= 0) {
                free(buf);
                return wr_jp_error(jp, "invalid UTF-8 in a string");
            }
            memcpy(o, jp->p, (size_t)k);
            o += k;
            jp->p += k;
        }
    }
    jp->p++;
    *o = '\0';
    *out = buf;
    *outlen = (size_t)(o - buf);
    return 0;
}

static int wr_jp_number(wr_jp_t *jp, wr_json_t *j)
{
    const char *s = jp->p;
    char tmp[64];
    int integer = 1;

    if (jp->p < jp->end && *jp->p == '-')
        jp->p++;
    if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
        return wr_jp_error(jp, "bad number");
    if (*jp->p == '0')
        jp->p++;
    else
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
            jp->p++;
    if (jp->p < jp->end && *jp->p == '.') {
        integer = 0;
        jp->p++;
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
            return wr_jp_error(jp, "bad number");
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
            jp->p++;
    }
    if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
        integer = 0;
        jp->p++;
        if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
            jp->p++;
        if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
            return wr_jp_error(jp, "bad number");
        while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
            jp->p++;
    }
    if ((size_t)(jp->p - s) >= sizeof(tmp))
        return wr_jp_error(jp, "number too long");
    memcpy(tmp, s, (size_t)(jp->p - s));
    tmp[jp->p - s] = '\0';
    j->kind = WR_JSON_NUMBER;
    j->num = strtod(tmp, NULL);
    if (integer) {
        errno = 0;
        j->ival = strtoll(tmp, NULL, 10);
        j->is_int = errno == 0;
    }
    return 0;
}

static int wr_jp_push(wr_json_t *j, char *key, wr_json_t *item)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 4;
        wr_json_t **items = realloc(j->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        j->items = items;
        if (j->kind == WR_JSON_OBJECT) {
            char **keys = realloc(j->keys, cap * sizeof(*keys));
            if (keys == NULL)
                return -1;
            j->keys = keys;
        }
        j->cap = cap;
    }
    if (j->kind == WR_JSON_OBJECT)
        j->keys[j->n] = key;
    j->items[j->n++] = item;
    return 0;
}

static wr_json_t *wr_jp_value(wr_jp_t *jp, int depth);

static int wr_jp_container(wr_jp_t *jp, wr_json_t *j, int depth)
{
    int object = *jp->p == '{';
    char close = object ? '}' : ']';

    if (depth >= jp->max_depth)
        return wr_jp_error(jp, "nested deeper than %d", jp->max_depth);
    j->kind = object ? WR_JSON_OBJECT : WR_JSON_ARRAY;
    jp->p++;
    wr_jp_ws(jp);
    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        wr_json_t *item;

        wr_jp_ws(jp);
        if (object) {
            if (jp->p >= jp->end || *jp->p != '"')
                return wr_jp_error(jp, "expected a key");
            if (wr_jp_string(jp, &key, &klen) != 0)
                return -1;
            wr_jp_ws(jp);
            if (jp->p >= jp->end || *jp->p != ':') {
                free(key);
                return wr_jp_error(jp, "expected ':'");
            }
            jp->p++;
        }
        item = wr_jp_value(jp, depth + 1);
        if (item == NULL || wr_jp_push(j, key, item) != 0) {
            if (item != NULL)
                wr_jp_error(jp, "out of memory");
            free(key);
            wr_json_free(item);
            return -1;
        }
        wr_jp_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            return 0;
        }
        return wr_jp_error(jp, "expected ',' or '%c'", close);
    }
}

static int wr_jp_word(wr_jp_t *jp, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n) != 0)
        return wr_jp_error(jp, "unexpected character");
    jp->p += n;
    return 0;
}

static wr_json_t *wr_jp_value(wr_jp_t *jp, int depth)
{
    wr_json_t *j;
    int rc;

    /* Each value is a node of about 60 bytes: "[0,0,0,...]" in an 8 MiB
     * body would otherwise cost some 300 MB. */
    if (++jp->nodes > WR_JSON_MAX_NODES) {
        wr_jp_error(jp, "more than %d values", WR_JSON_MAX_NODES);
        return NULL;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        wr_jp_error(jp, "out of memory");
        return NULL;
    }
    wr_jp_ws(jp);
    if (jp->p >= jp->end) {
        free(j);
        wr_jp_error(jp, "unexpected end");
        return NULL;
    }
    switch (*jp->p) {
    case '{':
    case '[':
        rc = wr_jp_container(jp, j, depth);
        break;
    case '"':
        j->kind = WR_JSON_STRING;
        rc = wr_jp_string(jp, &j->str, &j->slen);
        break;
    case 't':
        j->kind = WR_JSON_BOOL;
        j->b = 1;
        rc = wr_jp_word(jp, "true");
        break;
    case 'f':
        j->kind = WR_JSON_BOOL;
        rc = wr_jp_word(jp, "false");
        break;
    case 'n':
        j->kind = WR_JSON_NULL;
        rc = wr_jp_word(jp, "null");
        break;
    default:
        rc = wr_jp_number(jp, j);
    }
    if (rc != 0) {
        wr_json_free(j);
        return NULL;
    }
    return j;
}

wr_json_t *wr_json_parse(const char *text, size_t len, int max_depth, char *why, size_t whylen)
{
    wr_jp_t jp = {text, text + len, text, max_depth, why, whylen, 0};
    wr_json_t *j;

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    j = wr_jp_value(&jp, 0);
    if (j == NULL)
        return NULL;
    wr_jp_ws(&jp);
    if (jp.p != jp.end) {
        wr_jp_error(&jp, "text after the value");
        wr_json_free(j);
        return NULL;
    }
    return j;
}

void wr_json_free(wr_json_t *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++) {
        if (j->keys != NULL)
            free(j->keys[i]);
        wr_json_free(j->items[i]);
    }
    free(j->keys);
    free(j->items);
    free(j->str);
    free(j);
}

wr_json_kind_t wr_json_kind(const wr_json_t *j)
{
    return j != NULL ? j->kind : WR_JSON_NULL;
}

const wr_json_t *wr_json_get(const wr_json_t *j, const char *key)
{
    if (j == NULL || j->kind != WR_JSON_OBJECT)
        return NULL;
    for (size_t i = j->n; i-- > 0;) {
        if (strcmp(j->keys[i], key) == 0)
            return j->items[i];
    }
    return NULL;
}

size_t wr_json_len(const wr_json_t *j)
{
    return j != NULL && (j->kind == WR_JSON_ARRAY || j->kind == WR_JSON_OBJECT) ? j->n : 0;
}

const wr_json_t *wr_json_at(const wr_json_t *j, size_t i)
{
    return i < wr_json_len(j) ? j->items[i] : NULL;
}

const char *wr_json_key_at(const wr_json_t *j, size_t i)
{
    return j != NULL && j->kind == WR_JSON_OBJECT && i < j->n ? j->keys[i] : NULL;
}

const char *wr_json_string(const wr_json_t *j, size_t *len)
{
    if (j == NULL || j->kind != WR_JSON_STRING)
        return NULL;
    if (len != NULL)
        *len = j->slen;
    return j->str;
}

double wr_json_number(const wr_json_t *j)
{
    return j != NULL && j->kind == WR_JSON_NUMBER ? j->num : 0;
}

int wr_json_int(const wr_json_t *j, int64_t min, int64_t max, int64_t *out)
{
    if (j == NULL || j->kind != WR_JSON_NUMBER || !j->is_int || j->ival < min || j->ival > max)
        return -1;
    *out = j->ival;
    return 0;
}

int wr_json_bool(const wr_json_t *j)
{
    return j != NULL && j->kind == WR_JSON_BOOL ? j->b : -1;
}
