/*
 * wr_json: a small JSON writer and reader, for warren's own HTTP APIs (the
 * client's dashboard). Written here rather than taken from a library
 * because what the dashboard writes is mostly bytes a stranger sent
 * (header values, bodies) that need not be UTF-8, which JSON libraries
 * refuse; and what it reads is one small object per request.
 *
 * Writing appends to an evbuffer. Strings are written byte for byte where
 * they are valid UTF-8, with ", \, control bytes, and <, >, & (so that the
 * text can never close a <script> or be read as markup by a confused
 * client) as \uXXXX escapes; a byte that is not part of valid UTF-8 is
 * written as \u00XX, i.e. read as Latin-1, which keeps header values
 * readable. Bodies that are not text go as base64 (wr_json_base64).
 *
 * Reading builds a read-only tree from a complete document (RFC 8259,
 * strict: no comments, no trailing commas, no leading zeros, no lone
 * surrogates, nothing after the value), with limits on depth and size set
 * by the caller. Strings are decoded to UTF-8 and may hold NUL bytes, so
 * they come with a length.
 *
 * Thread safety: no shared state; a tree belongs to its caller.
 */
#ifndef WR_JSON_H
#define WR_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

/* ---- writing ------------------------------------------------------------ */

/* Append a string literal (its length known at compile time; "" makes
 * anything but a literal a compile error). */
#define wr_json_lit(out, lit) evbuffer_add((out), "" lit, sizeof(lit) - 1)
/* Append a NUL-terminated string as it is (JSON syntax, not a value). */
#define wr_json_cstr_raw(out, s) evbuffer_add((out), (s), strlen(s))

/* Append the len bytes at s as a JSON string literal, quotes included
 * (escaping as above). 0, or -1 when out of memory. */
int wr_json_str(struct evbuffer *out, const void *s, size_t len);

/* The same for a NUL-terminated string; NULL is written as null. */
int wr_json_cstr(struct evbuffer *out, const char *s);

/* Append the len bytes at data, base64-encoded (RFC 4648, padded), as a
 * JSON string literal. 0, or -1 when out of memory. */
int wr_json_base64(struct evbuffer *out, const void *data, size_t len);

/* A wall-clock time (microseconds since the epoch) in UTC, RFC 3339 with
 * milliseconds ("2026-11-30T23:20:34.123Z"), into buf (32 bytes are
 * enough); or appended to out as a JSON string. */
void wr_json_time_text(char *buf, size_t len, uint64_t wall_us);
void wr_json_time(struct evbuffer *out, uint64_t wall_us);

/* 1 when the len bytes at p are valid UTF-8 text: well-formed sequences, no
 * overlong forms or surrogates, and no control byte other than TAB, LF, CR
 * and FF. A sequence cut off by the end counts as valid when cut_ok (the
 * bytes are the first part of a longer text). 0 otherwise. */
int wr_json_is_text(const void *p, size_t len, int cut_ok);

/* Base64 (RFC 4648, '=' padding, no line breaks) of len bytes into out,
 * which must hold 4 * ((len + 2) / 3) + 1 bytes; NUL-terminated. Returns
 * the length written. */
size_t wr_base64_encode(char *out, const void *data, size_t len);

/* Decode base64 text (len bytes; padding optional; no other characters
 * allowed) into out, which must hold 3 * (len / 4) + 3 bytes. Returns the
 * decoded length, or -1 when the text is not base64. */
long wr_base64_decode(unsigned char *out, const char *text, size_t len);

/* ---- reading ------------------------------------------------------------ */

typedef enum {
    WR_JSON_NULL = 0,
    WR_JSON_BOOL,
    WR_JSON_NUMBER,
    WR_JSON_STRING,
    WR_JSON_ARRAY,
    WR_JSON_OBJECT,
} wr_json_kind_t;

typedef struct wr_json wr_json_t;

/* Values one parse makes at most (a replay's edits need a few dozen). */
#define WR_JSON_MAX_NODES 65536

/* Parse the len bytes at text as one JSON value. max_depth bounds the
 * nesting of arrays and objects (1: no nesting inside the top value), and
 * WR_JSON_MAX_NODES the number of values. Returns the tree (free with
 * wr_json_free), or NULL with a reason in why ("expected ':' at offset 12",
 * "nested deeper than 8", "more than 65536 values", "out of memory"). */
wr_json_t *wr_json_parse(const char *text, size_t len, int max_depth, char *why, size_t whylen);

/* Free a tree returned by wr_json_parse; NULL is ignored. */
void wr_json_free(wr_json_t *j);

/* Every accessor accepts NULL for j and then answers as for a value of
 * another kind. */
wr_json_kind_t wr_json_kind(const wr_json_t *j);

/* An object's member (the last one when a key is repeated), or NULL. */
const wr_json_t *wr_json_get(const wr_json_t *j, const char *key);

/* Items of an array, members of an object (in document order), 0 else. */
size_t wr_json_len(const wr_json_t *j);
/* The i-th item of an array or member value of an object, or NULL. */
const wr_json_t *wr_json_at(const wr_json_t *j, size_t i);
/* The i-th member's key of an object (NUL-terminated), or NULL. */
const char *wr_json_key_at(const wr_json_t *j, size_t i);

/* A string's bytes (NUL-terminated; *len, when not NULL, is its length,
 * which may include NUL bytes), or NULL when j is not a string. Valid as
 * long as the tree. */
const char *wr_json_string(const wr_json_t *j, size_t *len);

/* A number's value (0 when j is not a number), and whether it is an
 * integer in [min, max]: 0 with *out set, or -1. */
double wr_json_number(const wr_json_t *j);
int wr_json_int(const wr_json_t *j, int64_t min, int64_t max, int64_t *out);

/* A boolean's value: 1 or 0, -1 when j is not a boolean. */
int wr_json_bool(const wr_json_t *j);

#endif
