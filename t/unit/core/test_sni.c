/*
 * Unit tests for core/wr_sni.c: ClientHellos written by OpenSSL's own
 * client into a memory BIO (TLS 1.2 and 1.3, with and without SNI), the
 * same bytes re-framed, cut and corrupted, hand-made ClientHellos for the
 * names OpenSSL will not send, and wr_sni_peek over real sockets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "wr_sni.h"
#include "wr_test.h"

#define HELLO_CAP 4096

/* The first flight of an OpenSSL client (one record holding the whole
 * ClientHello) with at most max_version, and sni when not NULL. */
static size_t openssl_hello(uint8_t *out, int max_version, const char *sni)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    BIO *rb, *wb;
    int n;

    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    ssl = SSL_new(ctx);
    rb = BIO_new(BIO_s_mem());
    wb = BIO_new(BIO_s_mem());
    ck_assert(ssl != NULL && rb != NULL && wb != NULL);
    SSL_set_bio(ssl, rb, wb);
    if (sni != NULL)
        ck_assert_int_eq(SSL_set_tlsext_host_name(ssl, sni), 1);
    ck_assert_int_eq(SSL_connect(ssl), -1);
    ck_assert_int_eq(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
    n = BIO_read(wb, out, HELLO_CAP);
    ck_assert_int_gt(n, 9);
    ck_assert_int_lt(n, HELLO_CAP);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return (size_t)n;
}

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

/* The lengths of a crafted ClientHello's variable fields; tail is bytes
 * after the extensions (inside the handshake message). */
typedef struct {
    size_t sid, suites, comp, tail;
} shape_t;

/* A ClientHello in one record, shaped by sh: a 7-byte unknown extension,
 * then server_name with one entry (type, name) when name is not NULL. The
 * offset of the server_name extension (its type) goes to *sni_off. */
static size_t craft_shape(uint8_t *out, const shape_t *sh, uint8_t type, const char *name,
                          size_t name_len, size_t *sni_off)
{
    size_t p = 9, ext_len_at, ext_start;

    out[p++] = 3; /* legacy_version 1.2 */
    out[p++] = 3;
    memset(out + p, 0xab, 32); /* random */
    p += 32;
    out[p++] = (uint8_t)sh->sid;
    memset(out + p, 0x5e, sh->sid);
    p += sh->sid;
    put16(out + p, sh->suites);
    for (size_t i = 0; i < sh->suites; i++)
        out[p + 2 + i] = i % 2 ? 0x01 : 0x13; /* TLS_AES_128_GCM_SHA256 */
    p += 2 + sh->suites;
    out[p++] = (uint8_t)sh->comp; /* compression: null */
    memset(out + p, 0, sh->comp);
    p += sh->comp;
    ext_len_at = p;
    p += 2;
    ext_start = p;
    put16(out + p, 0xfafa); /* GREASE, 3 bytes of data */
    put16(out + p + 2, 3);
    memset(out + p + 4, 0, 3);
    p += 7;
    if (sni_off)
        *sni_off = p;
    if (name != NULL) {
        put16(out + p, 0);                /* server_name */
        put16(out + p + 2, name_len + 5); /* extension data */
        put16(out + p + 4, name_len + 3); /* server_name_list */
        out[p + 6] = type;                /* name_type */
        put16(out + p + 7, name_len);     /* HostName */
        memcpy(out + p + 9, name, name_len);
        p += 9 + name_len;
    }
    put16(out + ext_len_at, p - ext_start);
    memset(out + p, 0, sh->tail);
    p += sh->tail;
    out[0] = 22;
    out[1] = 3;
    out[2] = 1;
    put16(out + 3, p - 5);
    out[5] = 1;
    put24(out + 6, p - 9);
    return p;
}

/* The usual shape: no session_id, one cipher suite, null compression. */
static size_t craft(uint8_t *out, uint8_t type, const char *name, size_t name_len, size_t *sni_off)
{
    static const shape_t usual = {0, 2, 1, 0};
    return craft_shape(out, &usual, type, name, name_len, sni_off);
}

/* Append an extension (type, length and data already in ext) to a hello
 * of the usual shape, fixing the lengths that enclose it. */
static size_t append_ext(uint8_t *b, size_t n, const void *ext, size_t len)
{
    const size_t exts = 9 + 2 + 32 + 1 + 4 + 2;

    memcpy(b + n, ext, len);
    n += len;
    put16(b + 3, n - 5);
    put24(b + 6, n - 9);
    put16(b + exts, n - exts - 2);
    return n;
}

static int parse(const uint8_t *b, size_t n, char *name)
{
    return wr_sni_parse(b, n, name, 256);
}

/* The one record's payload split into two records after k bytes. */
static size_t two_records(const uint8_t *in, size_t n, size_t k, uint8_t *out)
{
    size_t payload = n - 5;

    ck_assert_uint_eq((size_t)in[3] << 8 | in[4], payload);
    memcpy(out, in, 5);
    put16(out + 3, k);
    memcpy(out + 5, in + 5, k);
    memcpy(out + 5 + k, in, 5);
    put16(out + 5 + k + 3, payload - k);
    memcpy(out + 10 + k, in + 5 + k, payload - k);
    return n + 5;
}

START_TEST(test_sni__openssl_clients)
{
    static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    uint8_t b[HELLO_CAP];
    char name[256];

    for (size_t i = 0; i < 2; i++) {
        size_t n = openssl_hello(b, versions[i], "tunnel.example.com");
        ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
        ck_assert_str_eq(name, "tunnel.example.com");

        n = openssl_hello(b, versions[i], "API.Example.COM");
        ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
        ck_assert_str_eq(name, "api.example.com");

        strcpy(name, "stale");
        n = openssl_hello(b, versions[i], NULL);
        ck_assert_int_eq(parse(b, n, name), WR_SNI_NONE);
        ck_assert_str_eq(name, "");
    }
}
END_TEST

START_TEST(test_sni__byte_at_a_time)
{
    uint8_t b[HELLO_CAP];
    char name[256];
    size_t n = openssl_hello(b, TLS1_3_VERSION, "a.example.test");

    for (size_t k = 0; k < n; k++)
        ck_assert_msg(parse(b, k, name) == WR_SNI_NEED, "%zu of %zu bytes", k, n);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "a.example.test");

    /* Whatever follows the ClientHello changes nothing. */
    memcpy(b + n, "\x17\x03\x03\x00\x05hello", 10);
    ck_assert_int_eq(parse(b, n + 10, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "a.example.test");
}
END_TEST

START_TEST(test_sni__split_across_records)
{
    uint8_t b[HELLO_CAP], two[HELLO_CAP + 5], three[HELLO_CAP + 10];
    char name[256];
    size_t n = openssl_hello(b, TLS1_2_VERSION, "split.example.test");
    size_t cuts[] = {1, 3, 4, 40, n - 6};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t m = two_records(b, n, cuts[i], two);
        for (size_t k = 0; k < m; k++)
            ck_assert_msg(parse(two, k, name) == WR_SNI_NEED, "cut %zu: %zu bytes", cuts[i], k);
        ck_assert_int_eq(parse(two, m, name), WR_SNI_FOUND);
        ck_assert_str_eq(name, "split.example.test");

        /* A second record of another type, or of another version, is not
         * a ClientHello's continuation. */
        memcpy(three, two, m);
        three[5 + cuts[i]] = 23;
        ck_assert_int_eq(parse(three, 5 + cuts[i] + 1, name), WR_SNI_BAD);
        memcpy(three, two, m);
        three[5 + cuts[i] + 2] = 9;
        ck_assert_int_eq(parse(three, m, name), WR_SNI_BAD);
    }

    /* Three records: the middle one also cut in the header's length. */
    {
        size_t m = two_records(b, n, 2, two), k = 5 + 2 + 5 + 10;
        size_t rest = n - 5 - 2 - 10;
        memcpy(three, two, k);
        put16(three + 5 + 2 + 3, 10);
        memcpy(three + k, b, 5);
        put16(three + k + 3, rest);
        memcpy(three + k + 5, b + 5 + 2 + 10, rest);
        ck_assert_uint_eq(k + 5 + rest, m + 5);
        ck_assert_int_eq(parse(three, m + 5, name), WR_SNI_FOUND);
        ck_assert_str_eq(name, "split.example.test");
    }
}
END_TEST

START_TEST(test_sni__not_tls)
{
    static const char *const plain[] = {
        "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n",
        "G",
        "\x16\x02",     /* not version 3.x */
        "\x16\x03\x05", /* 0x0305 */
        "\x17\x03\x03\x00\x10",
        "\x80\x2e\x01\x03\x01", /* an SSLv2-style ClientHello */
    };
    char name[256];

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        ck_assert_msg(parse((const uint8_t *)plain[i], strlen(plain[i]), name) == WR_SNI_NOT_TLS,
                      "input %zu", i);
    /* SSL 3.0 (a NUL byte: not in the list of strings above). */
    ck_assert_int_eq(parse((const uint8_t *)"\x16\x03\x00\x00\x30", 5, name), WR_SNI_NOT_TLS);
    ck_assert_int_eq(parse((const uint8_t *)"", 0, name), WR_SNI_NEED);
    ck_assert_int_eq(parse((const uint8_t *)"\x16", 1, name), WR_SNI_NEED);
    ck_assert_int_eq(parse((const uint8_t *)"\x16\x03\x01\x00", 4, name), WR_SNI_NEED);
}
END_TEST

START_TEST(test_sni__bad_lengths)
{
    uint8_t b[HELLO_CAP], c[HELLO_CAP];
    char name[256];
    size_t sni, n = craft(b, 0, "x.example.test", 14, &sni);
    /* Offsets in the crafted hello. */
    const size_t sid = 9 + 2 + 32, suites = sid + 1, comp = suites + 4, exts = comp + 2;

    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "x.example.test");

#define MUTATE(stmt, want)                                                                         \
    do {                                                                                           \
        memcpy(c, b, n);                                                                           \
        stmt;                                                                                      \
        ck_assert_msg(parse(c, n, name) == (want), "%s", #stmt);                                   \
        ck_assert_str_eq(name, (want) == WR_SNI_FOUND ? "x.example.test" : "");                    \
    } while (0)

    MUTATE(c[5] = 2, WR_SNI_BAD);                          /* a ServerHello */
    MUTATE(c[9] = 2, WR_SNI_BAD);                          /* legacy_version 2.x */
    MUTATE(c[sid] = 32, WR_SNI_BAD);                       /* past the end of its data */
    MUTATE(put16(c + suites, 0xfffe), WR_SNI_BAD);         /* past the end */
    MUTATE(put16(c + exts, n - exts - 2 + 1), WR_SNI_BAD); /* extensions overlong */
    MUTATE(put16(c + exts, n - exts - 2 - 1), WR_SNI_BAD); /* ... short: a byte left over */
    MUTATE(put16(c + exts + 4, 4), WR_SNI_BAD);            /* an extension's length overlong */
    MUTATE(put16(c + sni + 2, 20), WR_SNI_BAD);            /* server_name data overlong */
    MUTATE(put16(c + sni + 2, 18), WR_SNI_BAD);            /* ... short */
    MUTATE(put16(c + sni + 4, 18), WR_SNI_BAD);            /* server_name_list overlong */
    MUTATE(put16(c + sni + 7, 15), WR_SNI_BAD);            /* HostName overlong */
    MUTATE(put16(c + sni + 7, 13), WR_SNI_BAD);            /* ... short */
    MUTATE(c[sni + 6] = 7, WR_SNI_NONE);                   /* an unknown name type only */
    MUTATE(put16(c + sni, 0x10), WR_SNI_NONE);             /* ALPN, not server_name */
    MUTATE(c[sni + 9] = 'X', WR_SNI_FOUND);                /* upper case: lower-cased */
    /* The handshake's own length one short: the extensions are cut. */
    MUTATE(put24(c + 6, n - 9 - 1), WR_SNI_BAD);
    /* Record lengths: 0, and over 16384 + 2048. */
    MUTATE(put16(c + 3, 0), WR_SNI_BAD);
    MUTATE(put16(c + 3, 16384 + 2048 + 1), WR_SNI_BAD);
#undef MUTATE

    /* An empty record before the whole one. */
    memcpy(c, "\x16\x03\x01\x00\x00", 5);
    memcpy(c + 5, b, n);
    ck_assert_int_eq(parse(c, n + 5, name), WR_SNI_BAD);

    /* Fields well-formed but for one rule each. */
    {
        static const struct {
            shape_t sh;
            int want;
        } shapes[] = {
            {{32, 2, 1, 0}, WR_SNI_FOUND}, {{33, 2, 1, 0}, WR_SNI_BAD}, /* session_id <= 32 */
            {{0, 4, 1, 0}, WR_SNI_FOUND},  {{0, 3, 1, 0}, WR_SNI_BAD},  /* even cipher_suites */
            {{0, 0, 1, 0}, WR_SNI_BAD},                                 /* ... at least one */
            {{0, 2, 3, 0}, WR_SNI_FOUND},  {{0, 2, 0, 0}, WR_SNI_BAD},  /* a compression method */
            {{0, 2, 1, 1}, WR_SNI_BAD}, /* a byte after the extensions */
        };
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            size_t m = craft_shape(c, &shapes[i].sh, 0, "x.example.test", 14, NULL);
            ck_assert_msg(parse(c, m, name) == shapes[i].want, "shape %zu", i);
        }
    }

    /* The handshake one byte longer than its record and nothing after:
     * the rest may still come. */
    memcpy(c, b, n);
    put24(c + 6, n - 9 + 1);
    ck_assert_int_eq(parse(c, n, name), WR_SNI_NEED);

    /* A ClientHello that cannot end within 16 KiB is refused as soon as
     * its length is known. */
    memcpy(c, b, 9);
    put24(c + 6, WR_SNI_MAX);
    ck_assert_int_eq(parse(c, 9, name), WR_SNI_BAD);
    put24(c + 6, WR_SNI_MAX - 9);
    ck_assert_int_eq(parse(c, 9, name), WR_SNI_NEED);

    /* No extensions at all (an old client): complete, no SNI. */
    memcpy(c, b, exts);
    put16(c + 3, exts - 5);
    put24(c + 6, exts - 9);
    ck_assert_int_eq(parse(c, exts, name), WR_SNI_NONE);
}
END_TEST

START_TEST(test_sni__long_sni_over_many_records)
{
    /* Within the cap as raw bytes, a hello in 1-byte records is fine;
     * the cap counts record headers too. */
    uint8_t b[HELLO_CAP], *many = malloc(WR_SNI_MAX + 16);
    char name[256];
    size_t n = craft(b, 0, "x.example.test", 14, NULL), m = 0;

    ck_assert_ptr_nonnull(many);
    for (size_t i = 5; i < n; i++) {
        memcpy(many + m, "\x16\x03\x03\x00\x01", 5);
        many[m + 5] = b[i];
        m += 6;
    }
    ck_assert_int_eq(parse(many, m, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "x.example.test");
    ck_assert_int_eq(parse(many, m - 1, name), WR_SNI_NEED);

    /* Padded with extra 1-byte records of another extension until the
     * hello ends past WR_SNI_MAX: BAD, not NEED, once 16 KiB are there. */
    m = 0;
    for (size_t i = 0; m + 6 <= WR_SNI_MAX + 16; i++) {
        static const uint8_t hs[4] = {1, 0, 0x10, 0}; /* a ClientHello of 4096 bytes */
        memcpy(many + m, "\x16\x03\x03\x00\x01", 5);
        many[m + 5] = i < 4 ? hs[i] : 0;
        m += 6;
    }
    memcpy(many + m, "\x16\x03\x03\x00\x01", WR_SNI_MAX + 16 - m);
    ck_assert_int_eq(parse(many, WR_SNI_MAX - 1, name), WR_SNI_NEED);
    ck_assert_int_eq(parse(many, WR_SNI_MAX, name), WR_SNI_BAD);
    ck_assert_int_eq(parse(many, WR_SNI_MAX + 16, name), WR_SNI_BAD);
    free(many);
}
END_TEST

START_TEST(test_sni__names)
{
    static const struct {
        const char *name;
        int want;
    } cases[] = {
        {"a", WR_SNI_FOUND},
        {"xn--bcher-kva.example", WR_SNI_FOUND},
        {"0-9.A-Z.test", WR_SNI_FOUND},
        {"", WR_SNI_BAD},
        {"a..b", WR_SNI_BAD},
        {".a", WR_SNI_BAD},
        {"a.", WR_SNI_BAD},
        {"under_score.test", WR_SNI_BAD},
        {"sp ace.test", WR_SNI_BAD},
        {"127.0.0.1:443", WR_SNI_BAD},
        {"caf\xc3\xa9.test", WR_SNI_BAD},
    };
    uint8_t b[HELLO_CAP];
    char name[256], label[80], big[300];
    size_t n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = craft(b, 0, cases[i].name, strlen(cases[i].name), NULL);
        ck_assert_msg(parse(b, n, name) == cases[i].want, "'%s'", cases[i].name);
    }
    n = craft(b, 0, "a\0b.test", 8, NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);

    /* Labels up to 63 bytes, names up to 253. */
    memset(label, 'l', 63);
    strcpy(label + 63, ".test");
    n = craft(b, 0, label, strlen(label), NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, label);
    memset(label, 'l', 64);
    strcpy(label + 64, ".test");
    n = craft(b, 0, label, strlen(label), NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = i % 10 == 9 ? '.' : 'a';
    big[252] = 'z';
    n = craft(b, 0, big, 253, NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_uint_eq(strlen(name), 253);
    n = craft(b, 0, big, 254, NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);
    n = craft(b, 0, big, 300, NULL); /* the 300-byte name */
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);
    ck_assert_str_eq(name, "");

    /* The caller's buffer: room for the name and its NUL, or BAD. */
    n = craft(b, 0, "abc.test", 8, NULL);
    ck_assert_int_eq(wr_sni_parse(b, n, name, 9), WR_SNI_FOUND);
    ck_assert_str_eq(name, "abc.test");
    ck_assert_int_eq(wr_sni_parse(b, n, name, 8), WR_SNI_BAD);
    ck_assert_str_eq(name, "");
    ck_assert_int_eq(wr_sni_parse(b, n, NULL, 0), WR_SNI_BAD);
}
END_TEST

START_TEST(test_sni__server_name_extension)
{
    uint8_t b[HELLO_CAP];
    char name[256];
    size_t sni, n = craft(b, 0, "one.test", 8, &sni), ext = n - sni;

    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    /* The same extension twice is malformed (RFC 8446 4.2). */
    n = append_ext(b, n, b + sni, ext);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);

    /* An empty server_name_list. */
    n = craft(b, 0, NULL, 0, NULL);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_NONE);
    n = append_ext(b, n, "\x00\x00\x00\x02\x00\x00", 6);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);

    /* A byte in the extension after its list; without it, fine. */
    n = craft(b, 0, NULL, 0, NULL);
    n = append_ext(b, n, "\x00\x00\x00\x07\x00\x04\x00\x00\x01\x61\x00", 11);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_BAD);
    n = craft(b, 0, NULL, 0, NULL);
    n = append_ext(b, n, "\x00\x00\x00\x06\x00\x04\x00\x00\x01\x61", 10);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "a");

    /* Two entries: an unknown type first, then the host_name; a second
     * host_name is not looked at. */
    n = craft(b, 0, NULL, 0, NULL);
    n = append_ext(b, n,
                   "\x00\x00\x00\x0f\x00\x0d"
                   "\x05\x00\x02zz"
                   "\x00\x00\x01\x62"
                   "\x00\x00\x01_",
                   19);
    ck_assert_int_eq(parse(b, n, name), WR_SNI_FOUND);
    ck_assert_str_eq(name, "b");
}
END_TEST

/* A connected pair: AF_UNIX, or TCP over 127.0.0.1. */
static void pair(int tcp, int sv[2])
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int l;

    if (!tcp) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        return;
    }
    l = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(sv[1], (struct sockaddr *)&sa, sizeof(sa)), 0);
    sv[0] = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    ck_assert_int_ge(sv[0], 0);
    close(l);
}

/* Peek until something other than NEED, or give up after a second (TCP
 * delivers on loopback at once, but not within the same instant). */
static int peek_settled(int fd, char *name, size_t len)
{
    int rc = WR_SNI_NEED;

    for (int i = 0; i < 1000 && rc == WR_SNI_NEED; i++) {
        rc = wr_sni_peek(fd, name, len);
        if (rc == WR_SNI_NEED)
            usleep(1000);
    }
    return rc;
}

START_TEST(test_sni__peek_leaves_the_bytes)
{
    uint8_t b[HELLO_CAP], back[HELLO_CAP];
    char name[256];
    size_t n = openssl_hello(b, TLS1_3_VERSION, "Peek.Example.Test");

    for (int tcp = 0; tcp <= 1; tcp++) {
        int sv[2];
        ssize_t got;
        size_t total = 0;

        pair(tcp, sv);
        ck_assert_int_eq(wr_sni_peek(sv[0], name, sizeof(name)), WR_SNI_NEED); /* EAGAIN */
        ck_assert_int_eq(write(sv[1], b, 50), 50);
        usleep(20000);
        ck_assert_int_eq(wr_sni_peek(sv[0], name, sizeof(name)), WR_SNI_NEED); /* partial */
        ck_assert_int_eq(write(sv[1], b + 50, n - 50), (ssize_t)(n - 50));
        ck_assert_int_eq(peek_settled(sv[0], name, sizeof(name)), WR_SNI_FOUND);
        ck_assert_str_eq(name, "peek.example.test");
        /* Again: nothing was consumed. */
        ck_assert_int_eq(wr_sni_peek(sv[0], name, sizeof(name)), WR_SNI_FOUND);
        while (total < n && (got = read(sv[0], back + total, sizeof(back) - total)) > 0)
            total += (size_t)got;
        ck_assert_uint_eq(total, n);
        ck_assert_mem_eq(back, b, n);
        close(sv[0]);
        close(sv[1]);
    }
}
END_TEST

START_TEST(test_sni__peek_closed_and_not_tls)
{
    uint8_t b[HELLO_CAP];
    char name[256];
    size_t n = openssl_hello(b, TLS1_2_VERSION, "closed.test");

    for (int tcp = 0; tcp <= 1; tcp++) {
        int sv[2];

        /* Closed before anything. */
        pair(tcp, sv);
        close(sv[1]);
        ck_assert_int_eq(peek_settled(sv[0], name, sizeof(name)), WR_SNI_CLOSED);
        close(sv[0]);

        /* Closed after half a ClientHello: not NEED for ever. */
        pair(tcp, sv);
        ck_assert_int_eq(write(sv[1], b, n / 2), (ssize_t)(n / 2));
        close(sv[1]);
        ck_assert_int_eq(peek_settled(sv[0], name, sizeof(name)), WR_SNI_CLOSED);
        close(sv[0]);

        /* Half-closed after a whole one: the answer is in the bytes. */
        pair(tcp, sv);
        ck_assert_int_eq(write(sv[1], b, n), (ssize_t)n);
        shutdown(sv[1], SHUT_WR);
        ck_assert_int_eq(peek_settled(sv[0], name, sizeof(name)), WR_SNI_FOUND);
        ck_assert_str_eq(name, "closed.test");
        close(sv[0]);
        close(sv[1]);

        /* Plain HTTP on the TLS port. */
        pair(tcp, sv);
        ck_assert_int_eq(write(sv[1], "GET / HTTP/1.1\r\n", 16), 16);
        ck_assert_int_eq(peek_settled(sv[0], name, sizeof(name)), WR_SNI_NOT_TLS);
        close(sv[0]);
        close(sv[1]);
    }
}
END_TEST

static Suite *sni_suite(void)
{
    Suite *s = suite_create("sni");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sni__openssl_clients);
    tcase_add_test(tc, test_sni__byte_at_a_time);
    tcase_add_test(tc, test_sni__split_across_records);
    tcase_add_test(tc, test_sni__not_tls);
    tcase_add_test(tc, test_sni__bad_lengths);
    tcase_add_test(tc, test_sni__long_sni_over_many_records);
    tcase_add_test(tc, test_sni__names);
    tcase_add_test(tc, test_sni__server_name_extension);
    tcase_add_test(tc, test_sni__peek_leaves_the_bytes);
    tcase_add_test(tc, test_sni__peek_closed_and_not_tls);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(sni_suite)
