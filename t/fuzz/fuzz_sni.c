/*
 * fuzz_sni: arbitrary bytes through wr_sni_parse() (core/wr_sni.c), either
 * as the first bytes of a connection, or as a ClientHello body that the
 * target wraps in a handshake header and frames into TLS records itself,
 * so that the fuzzer spends its time inside the ClientHello.
 *
 * Input layout (a missing header byte reads as 0):
 *   byte 0   flags, FZ_* below
 *   byte 1   record sizes for FZ_FRAME: 0 puts the message in one record;
 *            otherwise each record holds 1..byte1 bytes, drawn from a
 *            generator seeded with it
 *   bytes 2- the stream, or (FZ_FRAME) the ClientHello body
 *
 * Oracles besides the sanitizers (any violation aborts):
 *   - the result is one of the documented codes; FOUND gives a lower-case
 *     DNS name (letters, digits, '-', '.', labels 1..63, at most 253
 *     bytes, no trailing dot), anything else leaves name "";
 *   - the name buffer only decides whether the name fits: with exactly
 *     strlen+1 bytes the result and name are the same, with one byte less
 *     or none at all FOUND becomes BAD and every other result stays;
 *   - a decision never changes with more bytes: every prefix (some of
 *     them, for long inputs) is NEED or has the same result and name, and
 *     bytes appended after a decision change nothing;
 *   - FZ_FRAME: one record never gives NEED or NOT_TLS, and the same
 *     message split into several records gives the same result and name
 *     (while both framings fit within WR_SNI_MAX bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HDR_LEN 2

enum {
    FZ_FRAME = 0x01,   /* bytes 2- are a ClientHello body, framed here */
    FZ_VERSION = 0x06, /* FZ_FRAME: record version 0x0301 + this >> 1 */
};

typedef struct {
    int rc;
    char name[256];
} fz_result_t;

static void fz_die(const char *what, int a, int b)
{
    fprintf(stderr, "fuzz_sni: %s (%d, %d)\n", what, a, b);
    abort();
}

static void fz_check_name(const char *name)
{
    size_t n = strlen(name), label = 0;

    if (n == 0 || n > WR_SNI_NAME_MAX)
        fz_die("FOUND with a name of a bad length", (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                fz_die("empty label", (int)i, 0);
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (++label > 63)
                fz_die("label over 63 bytes", (int)i, 0);
        } else {
            fz_die("a byte that is not in a lower-case DNS name", c, (int)i);
        }
    }
    if (label == 0)
        fz_die("trailing dot", (int)n, 0);
}

/* Parse an exact-size heap copy (so that ASan sees any read past n) and
 * check what the name buffer may and may not change. */
static fz_result_t fz_parse(const uint8_t *b, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    fz_result_t r;
    char small[256];
    int rc;

    if (copy == NULL)
        fz_die("out of memory", 0, 0);
    if (n > 0)
        memcpy(copy, b, n);
    memset(r.name, 'x', sizeof(r.name));
    r.rc = wr_sni_parse(copy, n, r.name, sizeof(r.name));
    switch (r.rc) {
    case WR_SNI_FOUND:
        if (memchr(r.name, '\0', sizeof(r.name)) == NULL)
            fz_die("name not NUL-terminated", 0, 0);
        fz_check_name(r.name);
        break;
    case WR_SNI_NONE:
    case WR_SNI_NEED:
    case WR_SNI_NOT_TLS:
    case WR_SNI_BAD:
        if (r.name[0] != '\0')
            fz_die("a name without FOUND", r.rc, 0);
        break;
    default:
        fz_die("unknown result", r.rc, 0);
    }

    if (r.rc == WR_SNI_FOUND) {
        size_t len = strlen(r.name);
        rc = wr_sni_parse(copy, n, small, len + 1);
        if (rc != WR_SNI_FOUND || strcmp(small, r.name) != 0)
            fz_die("a name that fits exactly is not FOUND", rc, (int)len);
        memset(small, 'x', sizeof(small));
        rc = wr_sni_parse(copy, n, small, len);
        if (rc != WR_SNI_BAD || small[0] != '\0')
            fz_die("a name one byte too long for the buffer is not BAD", rc, (int)len);
    }
    rc = wr_sni_parse(copy, n, NULL, 0);
    if (rc != (r.rc == WR_SNI_FOUND ? WR_SNI_BAD : r.rc))
        fz_die("no name buffer changes the result", rc, r.rc);
    free(copy);
    return r;
}

static int fz_same(const fz_result_t *a, const fz_result_t *b)
{
    return a->rc == b->rc && (a->rc != WR_SNI_FOUND || strcmp(a->name, b->name) == 0);
}

/* A decision does not depend on bytes after it, nor on how many came. */
static void fz_stream(const uint8_t *b, size_t n, unsigned seed)
{
    fz_result_t full = fz_parse(b, n), part;
    uint32_t rng = seed * 2654435761u + 7;

    if (n <= 512) {
        for (size_t k = 0; k < n; k++) {
            part = fz_parse(b, k);
            if (part.rc != WR_SNI_NEED && !fz_same(&part, &full))
                fz_die("a prefix decided otherwise", part.rc, full.rc);
        }
    } else {
        for (int i = 0; i < 8; i++) {
            rng = rng * 1103515245u + 12345u;
            part = fz_parse(b, (rng >> 8) % n);
            if (part.rc != WR_SNI_NEED && !fz_same(&part, &full))
                fz_die("a prefix decided otherwise", part.rc, full.rc);
        }
    }
    if (full.rc != WR_SNI_NEED && n < WR_SNI_MAX) {
        uint8_t *more = malloc(n + 32);
        if (more == NULL)
            fz_die("out of memory", 0, 0);
        memcpy(more, b, n);
        for (size_t i = 0; i < 32; i++)
            more[n + i] = (uint8_t)(i % 3 == 0 ? 0x16 : i);
        part = fz_parse(more, n + 32);
        if (!fz_same(&part, &full))
            fz_die("bytes after a decision changed it", part.rc, full.rc);
        free(more);
    }
}

/* The body as a ClientHello in records of 1..max bytes (0: one record);
 * the stream's length. */
static size_t fz_frame(const uint8_t *body, size_t len, unsigned flags, unsigned max, uint8_t *out)
{
    uint8_t msg[4];
    uint32_t rng = max * 2246822519u + 3;
    size_t total = len + 4, done = 0, o = 0;

    msg[0] = 1;
    msg[1] = (uint8_t)(len >> 16);
    msg[2] = (uint8_t)(len >> 8);
    msg[3] = (uint8_t)len;
    while (done < total) {
        size_t k = total - done;
        if (max != 0) {
            rng = rng * 1103515245u + 12345u;
            k = 1 + (rng >> 16) % max;
            if (k > total - done)
                k = total - done;
        }
        out[o++] = 22;
        out[o++] = 3;
        out[o++] = (uint8_t)(1 + ((flags & FZ_VERSION) >> 1));
        out[o++] = (uint8_t)(k >> 8);
        out[o++] = (uint8_t)k;
        for (size_t i = 0; i < k; i++, done++)
            out[o++] = done < 4 ? msg[done] : body[done - 4];
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[FZ_HDR_LEN] = {0};
    const uint8_t *body = size > FZ_HDR_LEN ? data + FZ_HDR_LEN : data;
    size_t len = size > FZ_HDR_LEN ? size - FZ_HDR_LEN : 0;
    uint8_t *one, *many;
    size_t n1, nm;
    fz_result_t r1, rm;

    memcpy(hdr, data, size < FZ_HDR_LEN ? size : FZ_HDR_LEN);
    if (!(hdr[0] & FZ_FRAME)) {
        fz_stream(body, len, hdr[1]);
        return 0;
    }
    /* A record holds at most 16384 + 2048 bytes: longer bodies are the
     * raw mode's business. */
    if (len + 4 > 16384 + 2048)
        return 0;
    one = malloc(len + 4 + 5);
    many = malloc((len + 4) * 6);
    if (one == NULL || many == NULL)
        fz_die("out of memory", 0, 0);
    n1 = fz_frame(body, len, hdr[0], 0, one);
    nm = fz_frame(body, len, hdr[0], hdr[1], many);
    fz_stream(one, n1, hdr[1]);
    fz_stream(many, nm, hdr[1]);
    r1 = fz_parse(one, n1);
    rm = fz_parse(many, nm);
    if (n1 <= WR_SNI_MAX && nm <= WR_SNI_MAX) {
        if (r1.rc == WR_SNI_NEED || r1.rc == WR_SNI_NOT_TLS)
            fz_die("a whole ClientHello record is NEED or NOT_TLS", r1.rc, (int)n1);
        if (!fz_same(&r1, &rm))
            fz_die("the framing changed the result", r1.rc, rm.rc);
    }
    free(one);
    free(many);
    return 0;
}
