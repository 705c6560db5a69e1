/*
 * fuzz_json: arbitrary bytes through wr_json_parse() and the writer
 * (core/wr_json.c).
 *
 * Oracles besides the sanitizers (any violation aborts):
 *   - a parse either fails with a reason or gives a tree; writing the tree
 *     back (strings with wr_json_str) gives JSON that parses again, and
 *     writing that second tree gives the same bytes (a fixed point);
 *   - the input as a string (wr_json_str) is a JSON string literal that
 *     parses, and gives the input back when the input is UTF-8 text;
 *   - base64 of the input decodes to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_DEPTH 16

static void fz_write(struct evbuffer *out, const wr_json_t *j)
{
    size_t len;
    const char *s;

    switch (wr_json_kind(j)) {
    case WR_JSON_NULL:
        wr_json_lit(out, "null");
        break;
    case WR_JSON_BOOL:
        wr_json_cstr_raw(out, wr_json_bool(j) ? "true" : "false");
        break;
    case WR_JSON_NUMBER:
        evbuffer_add_printf(out, "%.17g", wr_json_number(j));
        break;
    case WR_JSON_STRING:
        s = wr_json_string(j, &len);
        wr_json_str(out, s, len);
        break;
    case WR_JSON_ARRAY:
    case WR_JSON_OBJECT:
        wr_json_cstr_raw(out, wr_json_kind(j) == WR_JSON_ARRAY ? "[" : "{");
        for (size_t i = 0; i < wr_json_len(j); i++) {
            if (i > 0)
                wr_json_lit(out, ",");
            if (wr_json_kind(j) == WR_JSON_OBJECT) {
                wr_json_cstr(out, wr_json_key_at(j, i));
                wr_json_lit(out, ":");
            }
            fz_write(out, wr_json_at(j, i));
        }
        wr_json_cstr_raw(out, wr_json_kind(j) == WR_JSON_ARRAY ? "]" : "}");
        break;
    }
}

static int fz_finite(const struct evbuffer *b)
{
    /* %.17g of an overflowing number is inf, which JSON has no word for */
    return evbuffer_search((struct evbuffer *)b, "inf", 3, NULL).pos < 0 &&
           evbuffer_search((struct evbuffer *)b, "nan", 3, NULL).pos < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    wr_json_t *j = wr_json_parse((const char *)data, size, FZ_DEPTH, why, sizeof(why));
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
    unsigned char *dec;
    char *enc;
    long n;

    if (a == NULL || b == NULL)
        abort();
    if (j == NULL && why[0] == '\0')
        abort();
    if (j != NULL) {
        wr_json_t *j2;
        fz_write(a, j);
        if (fz_finite(a)) {
            j2 = wr_json_parse((const char *)evbuffer_pullup(a, -1), evbuffer_get_length(a),
                               FZ_DEPTH, why, sizeof(why));
            if (j2 == NULL) {
                fprintf(stderr, "written tree does not parse: %s\n", why);
                abort();
            }
            fz_write(b, j2);
            if (evbuffer_get_length(a) != evbuffer_get_length(b) ||
                memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), evbuffer_get_length(a)) != 0)
                abort();
            wr_json_free(j2);
        }
        wr_json_free(j);
    }
    evbuffer_drain(a, evbuffer_get_length(a));
    wr_json_str(a, data, size);
    j = wr_json_parse((const char *)evbuffer_pullup(a, -1), evbuffer_get_length(a), 1, why,
                      sizeof(why));
    if (j == NULL || wr_json_kind(j) != WR_JSON_STRING)
        abort();
    if (wr_json_is_text(data, size, 0)) {
        size_t len;
        const char *s = wr_json_string(j, &len);
        if (len != size || memcmp(s, data, size) != 0)
            abort();
    }
    wr_json_free(j);
    enc = malloc(4 * ((size + 2) / 3) + 1);
    dec = malloc(3 * (size / 3 + 2) + 3);
    if (enc == NULL || dec == NULL)
        abort();
    n = wr_base64_decode(dec, enc, wr_base64_encode(enc, data, size));
    if (n != (long)size || memcmp(dec, data, size) != 0)
        abort();
    free(enc);
    free(dec);
    evbuffer_free(a);
    evbuffer_free(b);
    return 0;
}
