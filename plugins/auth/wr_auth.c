/*
 * auth: who may open which tunnels (tokens with rights, in session_auth),
 * and who may reach them (HTTP basic or bearer credentials and IP allow/deny
 * lists, in request_headers and stream_open). See docs/plugins/auth.md.
 *
 * Secrets are never kept in clear: tokens, passwords and bearer tokens are
 * configured as SHA-256 digests (or bcrypt hashes) and compared in constant
 * time against every entry. Nothing secret is logged.
 *
 * Built only against <warren/plugin.h>; link with -lcrypt (bcrypt).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strncasecmp, inet_pton and crypt_r under -std=c11 */
#endif

#include <arpa/inet.h>
#include <crypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <warren/plugin.h>

#define WR_AUTH_PATH_MAX  128  /* a config node's name, in messages */
#define WR_AUTH_CRED_MAX  1024 /* longest decoded "user:password" accepted */
#define WR_AUTH_CACHE     16   /* bcrypt successes remembered per worker */
#define WR_AUTH_REASON    256  /* a reject reason */
#define WR_AUTH_BCRYPT    60   /* length of a bcrypt hash */
#define WR_AUTH_ID_MAX    63   /* warren keeps a session's token id in 64 bytes */
#define WR_AUTH_NO_MEMORY "out of memory"

/* A list of names; "*" in the config sets any. Names are kept lower case. */
typedef struct {
    char **names;
    size_t n;
    int any;
} wr_auth_names_t;

typedef struct {
    unsigned lo, hi;
} wr_auth_range_t;

typedef struct {
    char *id;
    unsigned char sha256[32];
    wr_auth_names_t hostnames, subdomains;
    wr_auth_range_t *ports;
    size_t nports;
    int any_port;
} wr_auth_token_t;

/* An address block; IPv4 (and IPv4-mapped IPv6) in the first 4 bytes. */
typedef struct {
    int family;
    unsigned bits;
    unsigned char addr[16];
} wr_auth_cidr_t;

typedef struct {
    wr_auth_cidr_t *v;
    size_t n;
    int present; /* allow: an empty list still means "nobody" */
} wr_auth_cidrs_t;

typedef struct {
    char *user;
    char *bcrypt; /* NULL: sha256 holds the password's digest */
    unsigned char sha256[32];
} wr_auth_user_t;

enum { WR_AUTH_BY_HOSTNAME, WR_AUTH_BY_TUNNEL, WR_AUTH_BY_PORT };

typedef struct {
    int by;
    char *name; /* hostname (lower case) or tunnel name */
    int64_t port;
    wr_auth_user_t *users;
    size_t nusers;
    unsigned char (*bearer)[32];
    size_t nbearer;
    char *challenge; /* the WWW-Authenticate value sent with a 401 */
    wr_auth_cidrs_t allow, deny;
} wr_auth_protect_t;

typedef struct {
    int has_tokens;
    wr_auth_token_t *tokens;
    size_t ntokens;
    wr_auth_protect_t *protect;
    size_t nprotect;
} wr_auth_conf_t;

/*
 * A worker's memory of bcrypt checks that succeeded: bcrypt is slow on
 * purpose (tens of milliseconds) and hooks must not block, so a client that
 * sends the same right credentials again costs one SHA-256. Failures are not
 * remembered. The crypt_r work area (about 32 KiB) lives here too, rather
 * than on a worker's stack.
 */
typedef struct {
    const void *conf; /* the instance the entries belong to */
    const wr_auth_user_t *user[WR_AUTH_CACHE];
    unsigned char digest[WR_AUTH_CACHE][32];
    size_t next;
    struct crypt_data cd;
} wr_auth_worker_t;

/* ---- small helpers ------------------------------------------------------ */

/* Clear a buffer that held a secret, in a way the compiler keeps. */
static void wr_auth_wipe(void *p, size_t len)
{
    volatile unsigned char *b = p;

    while (len-- > 0)
        *b++ = 0;
}

/* Name a config node in buf for messages ("tokens[0].sha256"); a name too
 * long is cut, which still says where the error is. */
static WR_PRINTF(3, 4) void wr_auth_name(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static char *wr_auth_strdup_lower(const char *s)
{
    char *d = strdup(s);

    for (char *c = d; c != NULL && *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return d;
}

static int wr_auth_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 64 hex digits (either case) into 32 bytes. 0, or -1. */
static int wr_auth_hex32(const char *s, unsigned char out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = wr_auth_hexval(s[2 * i]), lo = wr_auth_hexval(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int wr_auth_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 (RFC 4648), padding optional but right when present, into
 * at most max bytes. 0 with *outlen set, or -1. */
static int wr_auth_b64_decode(const char *s, size_t len, unsigned char *out, size_t max,
                              size_t *outlen)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0, data = 0, pad = 0;

    for (size_t i = 0; i < len; i++) {
        int v;

        if (s[i] == '=') {
            pad++;
            continue;
        }
        if (pad > 0)
            return -1; /* data after padding */
        v = wr_auth_b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        data++;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == max)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (data % 4 == 1 || (pad > 0 && pad != (4 - data % 4) % 4) || pad > 2)
        return -1;
    *outlen = n;
    return 0;
}

/* A decimal port, 1 to 65535, with nothing else. 0, or -1. */
static int wr_auth_port(const char *s, size_t len, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 one: a client
 * reaching a dual-stack socket over IPv4 appears that way. */
static void wr_auth_unmap(int *family, unsigned char addr[16], unsigned *bits)
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (*family != AF_INET6 || memcmp(addr, prefix, 12) != 0 || (bits != NULL && *bits < 96))
        return;
    memmove(addr, addr + 12, 4);
    memset(addr + 4, 0, 12);
    *family = AF_INET;
    if (bits != NULL)
        *bits -= 96;
}

/* "10.0.0.0/8", "::1/128", "127.0.0.1" (a single address). Host bits are
 * cleared. 0, or -1. */
static int wr_auth_parse_cidr(const char *s, wr_auth_cidr_t *out)
{
    const char *slash = strchr(s, '/');
    size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
    unsigned max, bits;
    char buf[INET6_ADDRSTRLEN];

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    bits = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        size_t dl = strlen(d);

        if (dl == 0 || dl > 3)
            return -1;
        bits = 0;
        for (size_t i = 0; i < dl; i++) {
            if (d[i] < '0' || d[i] > '9')
                return -1;
            bits = bits * 10 + (unsigned)(d[i] - '0');
        }
        if (bits > max)
            return -1;
    }
    wr_auth_unmap(&out->family, out->addr, &bits);
    out->bits = bits;
    for (unsigned i = bits; i < 128; i++)
        out->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    return 0;
}

static int wr_auth_cidr_match(const wr_auth_cidr_t *c, int family, const unsigned char *addr)
{
    unsigned full = c->bits / 8, rest = c->bits % 8;

    if (c->family != family || memcmp(c->addr, addr, full) != 0)
        return 0;
    return rest == 0 || ((c->addr[full] ^ addr[full]) & (0xff00u >> rest) & 0xffu) == 0;
}

static int wr_auth_cidrs_match(const wr_auth_cidrs_t *l, int family, const unsigned char *addr)
{
    for (size_t i = 0; i < l->n; i++)
        if (wr_auth_cidr_match(&l->v[i], family, addr))
            return 1;
    return 0;
}

/* May the client at ip pass the entry's lists? An address that cannot be
 * read fails any list (fail closed). */
static int wr_auth_ip_ok(const wr_auth_protect_t *p, const char *ip)
{
    unsigned char addr[16] = {0};
    char buf[INET6_ADDRSTRLEN];
    const char *zone;
    size_t len;
    int family;

    if (!p->allow.present && !p->deny.present)
        return 1;
    if (ip == NULL)
        return 0;
    zone = strchr(ip, '%'); /* fe80::1%eth0: the zone is not part of the address */
    len = zone != NULL ? (size_t)(zone - ip) : strlen(ip);
    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, ip, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, buf, addr) == 1)
        family = AF_INET6;
    else
        return 0;
    wr_auth_unmap(&family, addr, NULL);
    if (wr_auth_cidrs_match(&p->deny, family, addr))
        return 0;
    return !p->allow.present || wr_auth_cidrs_match(&p->allow, family, addr);
}

static int wr_auth_names_match(const wr_auth_names_t *l, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    if (l->any)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

static int wr_auth_port_allowed(const wr_auth_token_t *t, int64_t port)
{
    if (port < 1 || port > 65535)
        return 0;
    if (t->any_port)
        return 1;
    for (size_t i = 0; i < t->nports; i++)
        if (port >= t->ports[i].lo && port <= t->ports[i].hi)
            return 1;
    return 0;
}

/* ---- config ------------------------------------------------------------- */

/* List options take a sequence, or one scalar standing for a list of one
 * (hostnames: "*"). */
static size_t wr_auth_list_len(const wr_config_t *node)
{
    return wr_config_kind(node) == WR_CONFIG_SEQ ? wr_config_len(node) : 1;
}

static const wr_config_t *wr_auth_list_at(const wr_config_t *node, size_t i)
{
    return wr_config_kind(node) == WR_CONFIG_SEQ ? wr_config_at(node, i) : node;
}

static int wr_auth_expect_list(const wr_config_t *node, const char *path)
{
    if (wr_config_kind(node) == WR_CONFIG_MAP)
        return wr_config_error(node, "'%s' expects a list, got a map", path);
    return WR_OK;
}

/* A list of maps (tokens, protect, basic): a scalar is not one. */
static int wr_auth_expect_seq(const wr_config_t *node, const char *path)
{
    if (wr_config_kind(node) != WR_CONFIG_SEQ)
        return wr_config_error(node, "'%s' expects a list of maps", path);
    return WR_OK;
}

/* The array for a list option of strings (one element per item, zeroed),
 * or NULL with the error reported. The caller owns it from then on, even
 * when an item turns out bad. */
static void *wr_auth_list_new(const wr_config_t *node, const char *path, size_t elem)
{
    size_t n = wr_auth_list_len(node);
    void *v;

    if (wr_auth_expect_list(node, path) != WR_OK)
        return NULL;
    v = calloc(n > 0 ? n : 1, elem);
    if (v == NULL)
        wr_config_error(node, WR_AUTH_NO_MEMORY);
    return v;
}

/* Each string item of a list option to fn(item, its text, index, path,
 * arg), in order; the first error stops. */
typedef int (*wr_auth_item_fn)(const wr_config_t *item, const char *s, size_t i, const char *path,
                               void *arg);

static int wr_auth_each(const wr_config_t *node, const char *path, wr_auth_item_fn fn, void *arg)
{
    for (size_t i = 0; i < wr_auth_list_len(node); i++) {
        const wr_config_t *item = wr_auth_list_at(node, i);
        const char *s;

        if (wr_config_str(item, &s) != WR_OK || fn(item, s, i, path, arg) != WR_OK)
            return WR_ERROR;
    }
    return WR_OK;
}

static int wr_auth_name_item(const wr_config_t *item, const char *s, size_t i, const char *path,
                             void *arg)
{
    wr_auth_names_t *out = arg;

    if (strcmp(s, "*") == 0) {
        out->any = 1;
        return WR_OK;
    }
    if (s[0] == '\0' || strchr(s, '*') != NULL)
        return wr_config_error(item, "'%s[%zu]' expects a name or \"*\" (any), got \"%s\"", path, i,
                               s);
    out->names[out->n] = wr_auth_strdup_lower(s);
    if (out->names[out->n] == NULL)
        return wr_config_error(item, WR_AUTH_NO_MEMORY);
    out->n++;
    return WR_OK;
}

static int wr_auth_conf_names(const wr_config_t *node, const char *path, wr_auth_names_t *out)
{
    if ((out->names = wr_auth_list_new(node, path, sizeof(*out->names))) == NULL)
        return WR_ERROR;
    return wr_auth_each(node, path, wr_auth_name_item, out);
}

/* "20001", "20010-20020". 0, or -1. */
static int wr_auth_parse_range(const char *s, wr_auth_range_t *r)
{
    const char *dash = strchr(s, '-');

    if (dash == NULL) {
        if (wr_auth_port(s, strlen(s), &r->lo) != 0)
            return -1;
        r->hi = r->lo;
        return 0;
    }
    if (wr_auth_port(s, (size_t)(dash - s), &r->lo) != 0 ||
        wr_auth_port(dash + 1, strlen(dash + 1), &r->hi) != 0 || r->lo > r->hi)
        return -1;
    return 0;
}

static int wr_auth_port_item(const wr_config_t *item, const char *s, size_t i, const char *path,
                             void *arg)
{
    wr_auth_token_t *t = arg;

    if (strcmp(s, "*") == 0) {
        t->any_port = 1;
        return WR_OK;
    }
    if (wr_auth_parse_range(s, &t->ports[t->nports]) != 0)
        return wr_config_error(item,
                               "'%s[%zu]' expects a port (1-65535), a range LOW-HIGH such as "
                               "20010-20020, or \"*\", got \"%s\"",
                               path, i, s);
    t->nports++;
    return WR_OK;
}

static int wr_auth_conf_ports(const wr_config_t *node, const char *path, wr_auth_token_t *t)
{
    if ((t->ports = wr_auth_list_new(node, path, sizeof(*t->ports))) == NULL)
        return WR_ERROR;
    return wr_auth_each(node, path, wr_auth_port_item, t);
}

/* A digest option: 64 hex digits. The value is not echoed: it may be a
 * secret pasted into the wrong place. */
static int wr_auth_conf_hex(const wr_config_t *node, const char *path, unsigned char out[32])
{
    const char *s;

    if (wr_config_str(node, &s) != WR_OK)
        return WR_ERROR;
    if (wr_auth_hex32(s, out) != 0)
        return wr_config_error(node,
                               "'%s' expects a SHA-256 in 64 hex digits (printf %%s \"$SECRET\" "
                               "| sha256sum), got %zu characters that are not one",
                               path, strlen(s));
    return WR_OK;
}

static int wr_auth_cidr_item(const wr_config_t *item, const char *s, size_t i, const char *path,
                             void *arg)
{
    wr_auth_cidrs_t *out = arg;

    if (wr_auth_parse_cidr(s, &out->v[out->n]) != 0)
        return wr_config_error(item,
                               "'%s[%zu]' expects an IP address or a CIDR block such as "
                               "10.0.0.0/8 or fd00::/8, got \"%s\"",
                               path, i, s);
    out->n++;
    return WR_OK;
}

static int wr_auth_conf_cidrs(const wr_config_t *node, const char *path, wr_auth_cidrs_t *out)
{
    out->present = 1;
    if ((out->v = wr_auth_list_new(node, path, sizeof(*out->v))) == NULL)
        return WR_ERROR;
    return wr_auth_each(node, path, wr_auth_cidr_item, out);
}

/* A token id goes into logs and the session (wr_set_str): printable, no
 * blanks, short enough for warren to keep. */
static int wr_auth_is_id(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > WR_AUTH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

static const char *const wr_auth_token_keys[] = {"id",         "sha256", "hostnames",
                                                 "subdomains", "ports",  NULL};

static int wr_auth_conf_token(const wr_config_t *node, const char *path, wr_auth_conf_t *conf)
{
    wr_auth_token_t *t = &conf->tokens[conf->ntokens];
    const wr_config_t *v;
    char sub[WR_AUTH_PATH_MAX];
    const char *id;

    if (wr_config_kind(node) != WR_CONFIG_MAP)
        return wr_config_error(node, "'%s' expects a map (id, sha256, hostnames, ...)", path);
    if (wr_config_keys(node, wr_auth_token_keys) != WR_OK)
        return WR_ERROR;
    conf->ntokens++; /* counted now, so that destroy_conf frees what follows */
    v = wr_config_get(node, "id");
    if (v == NULL)
        return wr_config_error(node, "'%s' needs an id (its name in logs)", path);
    if (wr_config_str(v, &id) != WR_OK)
        return WR_ERROR;
    if (!wr_auth_is_id(id))
        return wr_config_error(v,
                               "'%s.id' expects a name of 1 to %d visible characters (no "
                               "blanks), got \"%s\"",
                               path, WR_AUTH_ID_MAX, id);
    for (size_t i = 0; i + 1 < conf->ntokens; i++)
        if (strcmp(conf->tokens[i].id, id) == 0)
            return wr_config_error(v, "'%s.id' \"%s\" is already the id of tokens[%zu]", path, id,
                                   i);
    t->id = strdup(id);
    if (t->id == NULL)
        return wr_config_error(v, WR_AUTH_NO_MEMORY);

    v = wr_config_get(node, "sha256");
    if (v == NULL)
        return wr_config_error(node, "'%s' needs a sha256 (of the token)", path);
    wr_auth_name(sub, sizeof(sub), "%s.sha256", path);
    if (wr_auth_conf_hex(v, sub, t->sha256) != WR_OK)
        return WR_ERROR;
    for (size_t i = 0; i + 1 < conf->ntokens; i++)
        if (memcmp(conf->tokens[i].sha256, t->sha256, 32) == 0)
            return wr_config_error(v, "'%s' is the same token as tokens[%zu]", sub, i);

    if ((v = wr_config_get(node, "hostnames")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.hostnames", path);
        if (wr_auth_conf_names(v, sub, &t->hostnames) != WR_OK)
            return WR_ERROR;
    }
    if ((v = wr_config_get(node, "subdomains")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.subdomains", path);
        if (wr_auth_conf_names(v, sub, &t->subdomains) != WR_OK)
            return WR_ERROR;
    }
    if ((v = wr_config_get(node, "ports")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.ports", path);
        if (wr_auth_conf_ports(v, sub, t) != WR_OK)
            return WR_ERROR;
    }
    return WR_OK;
}

/* "$2a$", "$2b$" or "$2y$", a two-digit cost from 04 to 31, "$", then 53
 * characters of bcrypt's base64 (22 of salt, 31 of hash). */
static int wr_auth_is_bcrypt(const char *s)
{
    static const char alphabet[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int cost;

    if (strlen(s) != WR_AUTH_BCRYPT || s[0] != '$' || s[1] != '2' ||
        (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$' || s[6] != '$')
        return 0;
    if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9')
        return 0;
    cost = (s[4] - '0') * 10 + (s[5] - '0');
    if (cost < 4 || cost > 31)
        return 0;
    for (size_t i = 7; i < WR_AUTH_BCRYPT; i++)
        if (strchr(alphabet, s[i]) == NULL)
            return 0;
    return 1;
}

static const char *const wr_auth_user_keys[] = {"user", "sha256", "bcrypt", NULL};

static int wr_auth_conf_users(const wr_config_t *node, const char *path, wr_auth_protect_t *p)
{
    size_t n;

    if (wr_auth_expect_seq(node, path) != WR_OK)
        return WR_ERROR;
    n = wr_config_len(node);
    p->users = calloc(n > 0 ? n : 1, sizeof(*p->users));
    if (p->users == NULL)
        return wr_config_error(node, WR_AUTH_NO_MEMORY);
    for (size_t i = 0; i < n; i++) {
        const wr_config_t *item = wr_config_at(node, i), *v, *sha, *bc;
        wr_auth_user_t *u = &p->users[p->nusers];
        char sub[WR_AUTH_PATH_MAX];
        const char *s;

        if (wr_config_kind(item) != WR_CONFIG_MAP)
            return wr_config_error(item, "'%s[%zu]' expects a map (user, sha256 or bcrypt)", path,
                                   i);
        if (wr_config_keys(item, wr_auth_user_keys) != WR_OK)
            return WR_ERROR;
        p->nusers++;
        v = wr_config_get(item, "user");
        if (v == NULL)
            return wr_config_error(item, "'%s[%zu]' needs a user", path, i);
        if (wr_config_str(v, &s) != WR_OK)
            return WR_ERROR;
        if (s[0] == '\0' || strchr(s, ':') != NULL)
            return wr_config_error(v, "'%s[%zu].user' expects a name without ':', got \"%s\"", path,
                                   i, s);
        for (size_t j = 0; j + 1 < p->nusers; j++)
            if (strcmp(p->users[j].user, s) == 0)
                return wr_config_error(v, "'%s[%zu].user' \"%s\" is already %s[%zu]", path, i, s,
                                       path, j);
        u->user = strdup(s);
        if (u->user == NULL)
            return wr_config_error(v, WR_AUTH_NO_MEMORY);
        sha = wr_config_get(item, "sha256");
        bc = wr_config_get(item, "bcrypt");
        if ((sha == NULL) == (bc == NULL))
            return wr_config_error(item, "'%s[%zu]' needs one of sha256 and bcrypt", path, i);
        if (sha != NULL) {
            wr_auth_name(sub, sizeof(sub), "%s[%zu].sha256", path, i);
            if (wr_auth_conf_hex(sha, sub, u->sha256) != WR_OK)
                return WR_ERROR;
            continue;
        }
        if (wr_config_str(bc, &s) != WR_OK)
            return WR_ERROR;
        if (!wr_auth_is_bcrypt(s))
            return wr_config_error(bc,
                                   "'%s[%zu].bcrypt' expects a bcrypt hash ($2b$, a cost, then "
                                   "53 characters; 60 in all), got %zu characters that are not one",
                                   path, i, strlen(s));
        u->bcrypt = strdup(s);
        if (u->bcrypt == NULL)
            return wr_config_error(bc, WR_AUTH_NO_MEMORY);
    }
    return WR_OK;
}

static int wr_auth_bearer_item(const wr_config_t *item, const char *s, size_t i, const char *path,
                               void *arg)
{
    wr_auth_protect_t *p = arg;
    char sub[WR_AUTH_PATH_MAX];

    (void)s;
    wr_auth_name(sub, sizeof(sub), "%s[%zu]", path, i);
    if (wr_auth_conf_hex(item, sub, p->bearer[p->nbearer]) != WR_OK)
        return WR_ERROR;
    p->nbearer++;
    return WR_OK;
}

static int wr_auth_conf_bearer(const wr_config_t *node, const char *path, wr_auth_protect_t *p)
{
    if ((p->bearer = wr_auth_list_new(node, path, sizeof(*p->bearer))) == NULL)
        return WR_ERROR;
    return wr_auth_each(node, path, wr_auth_bearer_item, p);
}

static const char *const wr_auth_protect_keys[] = {"hostname", "tunnel", "port", "basic", "bearer",
                                                   "realm",    "allow",  "deny", NULL};

/* What a port entry may not hold. */
static const char *const wr_auth_http_only[] = {"basic", "bearer", "realm", NULL};

static int wr_auth_conf_protect(const wr_config_t *node, const char *path, wr_auth_protect_t *p)
{
    const wr_config_t *host, *tunnel, *port, *v;
    const char *s, *realm = "warren";
    char sub[WR_AUTH_PATH_MAX];
    size_t len;

    if (wr_config_kind(node) != WR_CONFIG_MAP)
        return wr_config_error(node, "'%s' expects a map (hostname, tunnel or port, ...)", path);
    if (wr_config_keys(node, wr_auth_protect_keys) != WR_OK)
        return WR_ERROR;
    host = wr_config_get(node, "hostname");
    tunnel = wr_config_get(node, "tunnel");
    port = wr_config_get(node, "port");
    if ((host != NULL) + (tunnel != NULL) + (port != NULL) != 1)
        return wr_config_error(node, "'%s' needs exactly one of hostname, tunnel and port", path);
    if (port != NULL) {
        p->by = WR_AUTH_BY_PORT;
        if (wr_config_int(port, 1, 65535, &p->port) != WR_OK)
            return WR_ERROR;
        /* a TCP stream carries no HTTP header to hold credentials */
        for (size_t i = 0; wr_auth_http_only[i] != NULL; i++)
            if ((v = wr_config_get(node, wr_auth_http_only[i])) != NULL)
                return wr_config_error(v,
                                       "'%s.%s' cannot protect a port (a tcp tunnel): only allow "
                                       "and deny apply there",
                                       path, wr_auth_http_only[i]);
    } else {
        v = host != NULL ? host : tunnel;
        p->by = host != NULL ? WR_AUTH_BY_HOSTNAME : WR_AUTH_BY_TUNNEL;
        if (wr_config_str(v, &s) != WR_OK)
            return WR_ERROR;
        if (s[0] == '\0')
            return wr_config_error(v, "'%s.%s' is empty", path,
                                   host != NULL ? "hostname" : "tunnel");
        p->name = host != NULL ? wr_auth_strdup_lower(s) : strdup(s);
        if (p->name == NULL)
            return wr_config_error(v, WR_AUTH_NO_MEMORY);
    }
    if ((v = wr_config_get(node, "basic")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.basic", path);
        if (wr_auth_conf_users(v, sub, p) != WR_OK)
            return WR_ERROR;
    }
    if ((v = wr_config_get(node, "bearer")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.bearer", path);
        if (wr_auth_conf_bearer(v, sub, p) != WR_OK)
            return WR_ERROR;
    }
    if ((v = wr_config_get(node, "realm")) != NULL) {
        if (wr_config_str(v, &realm) != WR_OK)
            return WR_ERROR;
        /* it goes inside a quoted string of a response header */
        for (s = realm; *s != '\0'; s++)
            if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
                return wr_config_error(v,
                                       "'%s.realm' may not hold quotes, backslashes or "
                                       "control characters",
                                       path);
    }
    if ((v = wr_config_get(node, "allow")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.allow", path);
        if (wr_auth_conf_cidrs(v, sub, &p->allow) != WR_OK)
            return WR_ERROR;
    }
    if ((v = wr_config_get(node, "deny")) != NULL) {
        wr_auth_name(sub, sizeof(sub), "%s.deny", path);
        if (wr_auth_conf_cidrs(v, sub, &p->deny) != WR_OK)
            return WR_ERROR;
    }
    if (p->nusers == 0 && p->nbearer == 0 && !p->allow.present && !p->deny.present)
        return wr_config_error(node, "'%s' protects nothing: give basic, bearer, allow or deny",
                               path);
    len = strlen(realm) + sizeof("Bearer realm=\"\"");
    p->challenge = malloc(len);
    if (p->challenge == NULL)
        return wr_config_error(node, WR_AUTH_NO_MEMORY);
    /* Basic when there are users: a browser can then ask for them */
    snprintf(p->challenge, len, "%s realm=\"%s\"", p->nusers > 0 ? "Basic" : "Bearer", realm);
    return WR_OK;
}

static void wr_auth_names_free(wr_auth_names_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

static void wr_auth_destroy_conf(void *data)
{
    wr_auth_conf_t *conf = data;

    if (conf == NULL)
        return;
    for (size_t i = 0; i < conf->ntokens; i++) {
        wr_auth_token_t *t = &conf->tokens[i];

        free(t->id);
        wr_auth_names_free(&t->hostnames);
        wr_auth_names_free(&t->subdomains);
        free(t->ports);
    }
    free(conf->tokens);
    for (size_t i = 0; i < conf->nprotect; i++) {
        wr_auth_protect_t *p = &conf->protect[i];

        free(p->name);
        for (size_t j = 0; j < p->nusers; j++) {
            free(p->users[j].user);
            free(p->users[j].bcrypt);
        }
        free(p->users);
        free(p->bearer);
        free(p->challenge);
        free(p->allow.v);
        free(p->deny.v);
    }
    free(conf->protect);
    free(conf);
}

static const char *const wr_auth_keys[] = {"tokens", "protect", NULL};

static void *wr_auth_create_conf(wr_ctx_t *ctx, const wr_config_t *config)
{
    wr_auth_conf_t *conf = calloc(1, sizeof(*conf));
    const wr_config_t *v;
    char path[WR_AUTH_PATH_MAX];
    size_t n;

    (void)ctx;
    if (conf == NULL) {
        if (config != NULL)
            wr_config_error(config, WR_AUTH_NO_MEMORY);
        return NULL;
    }
    if (config == NULL) /* no config: the plugin does nothing */
        return conf;
    if (wr_config_keys(config, wr_auth_keys) != WR_OK)
        goto failed;
    if ((v = wr_config_get(config, "tokens")) != NULL) {
        if (wr_auth_expect_seq(v, "tokens") != WR_OK)
            goto failed;
        n = wr_config_len(v);
        conf->has_tokens = 1;
        conf->tokens = calloc(n > 0 ? n : 1, sizeof(*conf->tokens));
        if (conf->tokens == NULL) {
            wr_config_error(v, WR_AUTH_NO_MEMORY);
            goto failed;
        }
        for (size_t i = 0; i < n; i++) {
            wr_auth_name(path, sizeof(path), "tokens[%zu]", i);
            if (wr_auth_conf_token(wr_config_at(v, i), path, conf) != WR_OK)
                goto failed;
        }
    }
    if ((v = wr_config_get(config, "protect")) != NULL) {
        if (wr_auth_expect_seq(v, "protect") != WR_OK)
            goto failed;
        n = wr_config_len(v);
        conf->protect = calloc(n > 0 ? n : 1, sizeof(*conf->protect));
        if (conf->protect == NULL) {
            wr_config_error(v, WR_AUTH_NO_MEMORY);
            goto failed;
        }
        for (size_t i = 0; i < n; i++) {
            wr_auth_name(path, sizeof(path), "protect[%zu]", i);
            conf->nprotect++; /* counted first, so that destroy_conf frees a half-read one */
            if (wr_auth_conf_protect(wr_config_at(v, i), path, &conf->protect[i]) != WR_OK)
                goto failed;
        }
    }
    return conf;

failed:
    wr_auth_destroy_conf(conf);
    return NULL;
}

/* ---- session_auth: tokens and their rights ------------------------------ */

/* Why token t may not open tunnel i, into reason; 0 when it may. */
static int wr_auth_tunnel_denied(wr_ctx_t *ctx, const wr_auth_token_t *t, int i, char *reason,
                                 size_t size)
{
    const char *type = wr_str(ctx, WR_KEY_TUNNEL_TYPE, i);
    const char *name = wr_str(ctx, WR_KEY_TUNNEL, i);

    if (type != NULL && strcmp(type, "tcp") == 0) {
        int64_t port = wr_num(ctx, WR_KEY_PORT, i);

        if (wr_auth_port_allowed(t, port))
            return 0;
        snprintf(reason, size, "token %s may not use port %lld", t->id, (long long)port);
        return 1;
    }
    if (type != NULL && strcmp(type, "http") == 0) {
        const char *host = wr_str(ctx, WR_KEY_HOSTNAME, i);
        const char *sub = wr_str(ctx, WR_KEY_SUBDOMAIN, i);

        if (wr_auth_names_match(&t->hostnames, host) || wr_auth_names_match(&t->subdomains, sub))
            return 0;
        if (sub != NULL && sub[0] != '\0')
            snprintf(reason, size, "token %s may not use subdomain %s", t->id, sub);
        else if (host != NULL && host[0] != '\0')
            snprintf(reason, size, "token %s may not use hostname %s", t->id, host);
        else
            snprintf(reason, size, "token %s may not use tunnel %s", t->id,
                     name != NULL ? name : "?");
        return 1;
    }
    /* a kind of tunnel this version does not know: no right covers it */
    snprintf(reason, size, "token %s may not use tunnel %s (type %s)", t->id,
             name != NULL ? name : "?", type != NULL ? type : "?");
    return 1;
}

static int wr_auth_session_auth(wr_ctx_t *ctx)
{
    const wr_auth_conf_t *conf = wr_conf(ctx);
    const wr_auth_token_t *found = NULL;
    const char *token;
    unsigned char digest[32];
    char reason[WR_AUTH_REASON];
    int64_t count;

    if (!conf->has_tokens || wr_num(ctx, WR_KEY_SIDE, 0) != WR_SIDE_SERVER)
        return WR_DECLINED;
    token = wr_str(ctx, WR_KEY_TOKEN, 0);
    if (token == NULL)
        token = "";
    wr_sha256(token, strlen(token), digest);
    /* every entry is compared, so the time taken does not say which matched */
    for (size_t i = 0; i < conf->ntokens; i++) {
        int eq = wr_equal_ct(digest, conf->tokens[i].sha256, sizeof(digest));

        if (eq && found == NULL)
            found = &conf->tokens[i];
    }
    wr_auth_wipe(digest, sizeof(digest));
    if (found == NULL) {
        const char *peer = wr_str(ctx, WR_KEY_PEER, 0);

        wr_log(ctx, WR_LEVEL_WARN, "session from %s refused: unknown token",
               peer != NULL ? peer : "?");
        wr_reject(ctx, 401, "unknown token");
        return WR_REJECT;
    }
    count = wr_num(ctx, WR_KEY_TUNNEL_COUNT, 0);
    for (int64_t i = 0; i < count && i < INT32_MAX; i++) {
        if (wr_auth_tunnel_denied(ctx, found, (int)i, reason, sizeof(reason))) {
            wr_log(ctx, WR_LEVEL_WARN, "session refused: %s", reason);
            wr_reject(ctx, 403, reason);
            return WR_REJECT;
        }
    }
    if (wr_set_str(ctx, WR_KEY_TOKEN_ID, found->id) != WR_OK) {
        wr_log(ctx, WR_LEVEL_ERROR, "cannot set the token id of the session");
        return WR_ERROR;
    }
    return WR_DONE;
}

/* ---- request_headers and stream_open: protection of public traffic ------ */

/* The first protect entry for this request (http) or TCP stream, or NULL. */
static const wr_auth_protect_t *wr_auth_find(wr_ctx_t *ctx, const wr_auth_conf_t *conf, int http)
{
    const char *tunnel = wr_str(ctx, WR_KEY_TUNNEL, 0);
    const char *hostname = http ? wr_str(ctx, WR_KEY_HOSTNAME, 0) : NULL;
    const char *host = http ? wr_str(ctx, WR_KEY_HOST, 0) : NULL;
    int64_t port = http ? -1 : wr_num(ctx, WR_KEY_PORT, 0);

    for (size_t i = 0; i < conf->nprotect; i++) {
        const wr_auth_protect_t *p = &conf->protect[i];

        switch (p->by) {
        case WR_AUTH_BY_HOSTNAME:
            if ((hostname != NULL && strcasecmp(hostname, p->name) == 0) ||
                (host != NULL && strcasecmp(host, p->name) == 0))
                return p;
            break;
        case WR_AUTH_BY_TUNNEL:
            if (tunnel != NULL && strcmp(tunnel, p->name) == 0)
                return p;
            break;
        default:
            if (port > 0 && port == p->port)
                return p;
            break;
        }
    }
    return NULL;
}

static wr_auth_worker_t *wr_auth_worker(wr_ctx_t *ctx, const wr_auth_conf_t *conf)
{
    wr_auth_worker_t *w = wr_data_get(ctx, WR_SCOPE_WORKER);

    if (w != NULL && w->conf == conf)
        return w;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->conf = conf;
    if (wr_data_set(ctx, WR_SCOPE_WORKER, w, free) != WR_OK) {
        free(w);
        return NULL;
    }
    return w;
}

static int wr_auth_bcrypt_ok(wr_ctx_t *ctx, const wr_auth_conf_t *conf, const wr_auth_user_t *u,
                             const char *pass, size_t passlen)
{
    unsigned char buf[WR_AUTH_BCRYPT + 1 + WR_AUTH_CRED_MAX], digest[32];
    wr_auth_worker_t *w = wr_auth_worker(ctx, conf);
    const char *out;
    int ok = 0;

    if (w == NULL) {
        wr_log(ctx, WR_LEVEL_ERROR, "basic auth: out of memory");
        return 0;
    }
    /* the cache key binds the password to the hash it was checked against */
    memcpy(buf, u->bcrypt, WR_AUTH_BCRYPT);
    buf[WR_AUTH_BCRYPT] = '\0';
    memcpy(buf + WR_AUTH_BCRYPT + 1, pass, passlen);
    wr_sha256(buf, WR_AUTH_BCRYPT + 1 + passlen, digest);
    wr_auth_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < WR_AUTH_CACHE; i++)
        if (w->user[i] == u && wr_equal_ct(w->digest[i], digest, sizeof(digest)))
            ok = 1;
    if (!ok) {
        out = crypt_r(pass, u->bcrypt, &w->cd);
        ok = out != NULL && strlen(out) == WR_AUTH_BCRYPT &&
             wr_equal_ct(out, u->bcrypt, WR_AUTH_BCRYPT);
        if (out == NULL || out[0] == '*')
            wr_log(ctx, WR_LEVEL_ERROR, "basic auth: this libcrypt cannot check bcrypt hashes");
        if (ok) {
            w->user[w->next] = u;
            memcpy(w->digest[w->next], digest, sizeof(digest));
            w->next = (w->next + 1) % WR_AUTH_CACHE;
        }
    }
    wr_auth_wipe(digest, sizeof(digest));
    return ok;
}

/* Credentials of "Basic <base64(user:password)>", against p's users. */
static int wr_auth_basic_ok(wr_ctx_t *ctx, const wr_auth_conf_t *conf, const wr_auth_protect_t *p,
                            const char *b64, size_t len)
{
    unsigned char cred[WR_AUTH_CRED_MAX + 1], digest[32];
    const wr_auth_user_t *u = NULL;
    char *colon, *pass;
    size_t n, passlen;
    int ok = 0;

    if (wr_auth_b64_decode(b64, len, cred, WR_AUTH_CRED_MAX, &n) != 0 || memchr(cred, 0, n))
        goto done;
    cred[n] = '\0';
    colon = strchr((char *)cred, ':');
    if (colon == NULL)
        goto done;
    *colon = '\0';
    pass = colon + 1;
    passlen = n - (size_t)(pass - (char *)cred);
    for (size_t i = 0; i < p->nusers && u == NULL; i++)
        if (strcmp(p->users[i].user, (char *)cred) == 0)
            u = &p->users[i];
    if (u == NULL)
        goto done;
    if (u->bcrypt != NULL) {
        ok = wr_auth_bcrypt_ok(ctx, conf, u, pass, passlen);
    } else {
        wr_sha256(pass, passlen, digest);
        ok = wr_equal_ct(digest, u->sha256, sizeof(digest));
        wr_auth_wipe(digest, sizeof(digest));
    }

done:
    wr_auth_wipe(cred, sizeof(cred));
    return ok;
}

static int wr_auth_bearer_ok(const wr_auth_protect_t *p, const char *token, size_t len)
{
    unsigned char digest[32];
    int ok = 0;

    if (len == 0)
        return 0;
    wr_sha256(token, len, digest);
    for (size_t i = 0; i < p->nbearer; i++)
        ok |= wr_equal_ct(digest, p->bearer[i], sizeof(digest));
    wr_auth_wipe(digest, sizeof(digest));
    return ok;
}

/* The credentials after "<scheme> " (scheme in any case), or NULL. */
static const char *wr_auth_scheme(const char *h, const char *scheme)
{
    size_t n = strlen(scheme);

    if (strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
        return NULL;
    for (h += n; *h == ' ' || *h == '\t';)
        h++;
    return h;
}

/* Length of s without trailing blanks. */
static size_t wr_auth_trimmed(const char *s)
{
    size_t len = strlen(s);

    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len;
}

static int wr_auth_credentials_ok(wr_ctx_t *ctx, const wr_auth_conf_t *conf,
                                  const wr_auth_protect_t *p)
{
    const char *h = wr_header_get(ctx, WR_REQUEST, "Authorization"), *cred;

    if (h == NULL)
        return 0;
    if ((cred = wr_auth_scheme(h, "Basic")) != NULL)
        return p->nusers > 0 && wr_auth_basic_ok(ctx, conf, p, cred, wr_auth_trimmed(cred));
    if ((cred = wr_auth_scheme(h, "Bearer")) != NULL)
        return p->nbearer > 0 && wr_auth_bearer_ok(p, cred, wr_auth_trimmed(cred));
    return 0;
}

static int wr_auth_request_headers(wr_ctx_t *ctx)
{
    const wr_auth_conf_t *conf = wr_conf(ctx);
    const wr_auth_protect_t *p;

    if (conf->nprotect == 0 || wr_num(ctx, WR_KEY_SIDE, 0) != WR_SIDE_SERVER)
        return WR_DECLINED;
    p = wr_auth_find(ctx, conf, 1);
    if (p == NULL)
        return WR_DECLINED;
    if (!wr_auth_ip_ok(p, wr_str(ctx, WR_KEY_CLIENT_IP, 0))) {
        wr_reject(ctx, 403, "forbidden");
        return WR_REJECT;
    }
    if (p->nusers == 0 && p->nbearer == 0)
        return WR_OK;
    if (!wr_auth_credentials_ok(ctx, conf, p)) {
        wr_header_set(ctx, WR_RESPONSE, "WWW-Authenticate", p->challenge);
        wr_reject(ctx, 401, "authentication required");
        return WR_REJECT;
    }
    /* the credentials are ours: the local service must not see them */
    if (wr_header_remove(ctx, WR_REQUEST, "Authorization") == WR_EINVAL) {
        wr_log(ctx, WR_LEVEL_ERROR, "cannot remove the Authorization header");
        return WR_ERROR;
    }
    return WR_OK;
}

static int wr_auth_stream_open(wr_ctx_t *ctx)
{
    const wr_auth_conf_t *conf = wr_conf(ctx);
    const wr_auth_protect_t *p;

    if (conf->nprotect == 0 || wr_num(ctx, WR_KEY_SIDE, 0) != WR_SIDE_SERVER)
        return WR_DECLINED;
    p = wr_auth_find(ctx, conf, 0);
    if (p == NULL)
        return WR_DECLINED;
    if (!wr_auth_ip_ok(p, wr_str(ctx, WR_KEY_CLIENT_IP, 0))) {
        wr_reject(ctx, 403, "forbidden");
        return WR_REJECT;
    }
    return WR_OK;
}

WR_PLUGIN_DEFINE(auth, "1.0.0", .create_conf = wr_auth_create_conf,
                 .destroy_conf = wr_auth_destroy_conf, .session_auth = wr_auth_session_auth,
                 .stream_open = wr_auth_stream_open, .request_headers = wr_auth_request_headers);
