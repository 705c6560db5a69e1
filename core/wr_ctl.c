/*
 * wr_ctl: encode and decode tunnel control messages (see wr_ctl.h).
 */
#include "wr_ctl.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wr_frame.h"

/* Field tags. Tunnel entries nest their own fields inside WR_F_TUNNEL. */
enum {
    WR_F_VERSIONS = 1,     /* u16 min | u16 max */
    WR_F_CAPS = 2,         /* u32 */
    WR_F_TOKEN = 3,        /* bytes */
    WR_F_INSTANCE = 4,     /* 16 bytes */
    WR_F_CLIENT_NAME = 5,  /* string */
    WR_F_TUNNEL = 6,       /* nested: WR_T_* */
    WR_F_VERSION = 7,      /* u16 */
    WR_F_HEARTBEAT = 8,    /* u32 ms */
    WR_F_CODE = 9,         /* u32 */
    WR_F_RETRY_AFTER = 10, /* u32 ms */
    WR_F_TEXT = 11,        /* string */
    WR_F_SEQ = 12,         /* u64 */
    WR_F_OPEN_TUNNEL = 13, /* name */
    WR_F_PEER = 14,        /* string */
};

enum {
    WR_T_NAME = 1,
    WR_T_TYPE = 2,      /* u8 */
    WR_T_PRIORITY = 3,  /* u8 */
    WR_T_PORT = 4,      /* u16 */
    WR_T_ADDRESS = 5,   /* string */
    WR_T_SUBDOMAIN = 6, /* hostname label(s) */
    WR_T_HOSTNAME = 7,  /* hostname */
};

/* --- writing ----------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int overflow;
} wr_ctl_writer_t;

static uint8_t *wr_ctl_put(wr_ctl_writer_t *w, uint8_t tag, size_t len)
{
    uint8_t *p;

    if (len > 0xffff || w->len + 3 + len > w->cap) {
        w->overflow = 1;
        return NULL;
    }
    p = w->buf + w->len;
    p[0] = tag;
    wr_put_u16(p + 1, (uint16_t)len);
    w->len += 3 + len;
    return p + 3;
}

static void wr_ctl_put_bytes(wr_ctl_writer_t *w, uint8_t tag, const void *v, size_t len)
{
    uint8_t *p = wr_ctl_put(w, tag, len);

    if (p != NULL && len > 0)
        memcpy(p, v, len);
}

static void wr_ctl_put_str(wr_ctl_writer_t *w, uint8_t tag, const char *s)
{
    wr_ctl_put_bytes(w, tag, s, strnlen(s, WR_CTL_TEXT_MAX));
}

static void wr_ctl_put_u8(wr_ctl_writer_t *w, uint8_t tag, uint8_t v)
{
    wr_ctl_put_bytes(w, tag, &v, 1);
}

static void wr_ctl_put_u16(wr_ctl_writer_t *w, uint8_t tag, uint16_t v)
{
    uint8_t *p = wr_ctl_put(w, tag, 2);

    if (p != NULL)
        wr_put_u16(p, v);
}

static void wr_ctl_put_u32(wr_ctl_writer_t *w, uint8_t tag, uint32_t v)
{
    uint8_t *p = wr_ctl_put(w, tag, 4);

    if (p != NULL)
        wr_put_u32(p, v);
}

static void wr_ctl_put_tunnel(wr_ctl_writer_t *w, const wr_ctl_tunnel_t *t)
{
    wr_ctl_writer_t sub;
    uint8_t buf[3 + WR_CTL_NAME_MAX + 3 + 1 + 3 + 1 + 3 + 2 + 3 + WR_CTL_TEXT_MAX + 3 +
                WR_CTL_NAME_MAX + 3 + WR_CTL_TEXT_MAX];

    sub.buf = buf;
    sub.len = 0;
    sub.cap = sizeof(buf);
    sub.overflow = 0;
    wr_ctl_put_str(&sub, WR_T_NAME, t->name);
    if (t->type != 0)
        wr_ctl_put_u8(&sub, WR_T_TYPE, t->type);
    wr_ctl_put_u8(&sub, WR_T_PRIORITY, t->priority);
    wr_ctl_put_u16(&sub, WR_T_PORT, t->port);
    if (t->address[0])
        wr_ctl_put_str(&sub, WR_T_ADDRESS, t->address);
    if (t->subdomain[0])
        wr_ctl_put_str(&sub, WR_T_SUBDOMAIN, t->subdomain);
    if (t->hostname[0])
        wr_ctl_put_str(&sub, WR_T_HOSTNAME, t->hostname);
    wr_ctl_put_bytes(w, WR_F_TUNNEL, buf, sub.len);
}

static void wr_ctl_put_open(wr_ctl_writer_t *w, const char *tunnel, const char *peer)
{
    wr_ctl_put_str(w, WR_F_OPEN_TUNNEL, tunnel);
    wr_ctl_put_str(w, WR_F_PEER, peer);
}

/* The header of a message of type whose body w wrote WR_CTL_HDR_LEN bytes
 * into buf; the message's length. */
static size_t wr_ctl_seal(uint8_t *buf, uint8_t type, const wr_ctl_writer_t *w)
{
    buf[0] = type;
    buf[1] = WR_CTL_VERSION;
    wr_put_u16(buf + 2, (uint16_t)w->len);
    return WR_CTL_HDR_LEN + w->len;
}

int wr_ctl_encode_open(uint8_t *buf, size_t cap, const char *tunnel, const char *peer)
{
    wr_ctl_writer_t w = {buf + WR_CTL_HDR_LEN, 0, 0, 0};

    if (cap < WR_CTL_HDR_LEN)
        return -1;
    w.cap = cap - WR_CTL_HDR_LEN;
    wr_ctl_put_open(&w, tunnel, peer);
    if (w.overflow)
        return -1;
    return (int)wr_ctl_seal(buf, WR_CTL_OPEN, &w);
}

int wr_ctl_encode(struct evbuffer *out, const wr_ctl_msg_t *msg)
{
    uint8_t buf[WR_CTL_HDR_LEN + WR_CTL_MAX_BODY];
    wr_ctl_writer_t w = {buf + WR_CTL_HDR_LEN, 0, WR_CTL_MAX_BODY, 0};
    uint8_t v[8];

    switch (msg->type) {
    case WR_CTL_HELLO:
        wr_put_u16(v, msg->version_min);
        wr_put_u16(v + 2, msg->version_max);
        wr_ctl_put_bytes(&w, WR_F_VERSIONS, v, 4);
        wr_ctl_put_u32(&w, WR_F_CAPS, msg->capabilities);
        if (msg->token_len > 0)
            wr_ctl_put_bytes(&w, WR_F_TOKEN, msg->token, msg->token_len);
        wr_ctl_put_bytes(&w, WR_F_INSTANCE, msg->instance, sizeof(msg->instance));
        if (msg->client_name[0])
            wr_ctl_put_str(&w, WR_F_CLIENT_NAME, msg->client_name);
        for (size_t i = 0; i < msg->ntunnels && i < WR_CTL_MAX_TUNNELS; i++)
            wr_ctl_put_tunnel(&w, &msg->tunnels[i]);
        break;
    case WR_CTL_WELCOME:
        wr_ctl_put_u16(&w, WR_F_VERSION, msg->version);
        wr_ctl_put_u32(&w, WR_F_HEARTBEAT, msg->heartbeat_ms);
        for (size_t i = 0; i < msg->ntunnels && i < WR_CTL_MAX_TUNNELS; i++)
            wr_ctl_put_tunnel(&w, &msg->tunnels[i]);
        break;
    case WR_CTL_REFUSE:
    case WR_CTL_NOTICE:
        wr_ctl_put_u32(&w, WR_F_CODE, msg->code);
        wr_ctl_put_u32(&w, WR_F_RETRY_AFTER, msg->retry_after_ms);
        wr_ctl_put_str(&w, WR_F_TEXT, msg->text);
        break;
    case WR_CTL_HEARTBEAT:
    case WR_CTL_HEARTBEAT_ACK:
        wr_put_u32(v, (uint32_t)msg->seq);
        wr_put_u32(v + 4, (uint32_t)(msg->seq >> 32));
        wr_ctl_put_bytes(&w, WR_F_SEQ, v, 8);
        break;
    case WR_CTL_OPEN:
        wr_ctl_put_open(&w, msg->tunnel, msg->peer);
        break;
    default:
        return -1;
    }
    if (w.overflow || msg->ntunnels > WR_CTL_MAX_TUNNELS)
        return -1;
    return evbuffer_add(out, buf, wr_ctl_seal(buf, msg->type, &w));
}

/* --- reading ----------------------------------------------------------- */

typedef struct {
    char *why;
    size_t whylen;
} wr_ctl_err_t;

static int wr_ctl_fail(wr_ctl_err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int wr_ctl_fail(wr_ctl_err_t *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->why, e->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copy a string field: printable ASCII, shorter than max, and for names only
 * letters, digits, '.', '_' and '-'. */
static int wr_ctl_get_str(const uint8_t *v, size_t len, char *dst, size_t max, int name,
                          const char *what, wr_ctl_err_t *e)
{
    if (len >= max)
        return wr_ctl_fail(e, "%s longer than %zu bytes", what, max - 1);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        int ok = name ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
                      : (c >= 0x20 && c < 0x7f);
        if (!ok)
            return wr_ctl_fail(e, "%s has a forbidden byte 0x%02x", what, c);
    }
    if (name && len == 0)
        return wr_ctl_fail(e, "%s is empty", what);
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

/* A hostname or labels of one, lower-cased: letters, digits, '-' and dots
 * between non-empty labels of at most 63 bytes. */
static int wr_ctl_get_host(const uint8_t *v, size_t len, char *dst, size_t max, const char *what,
                           wr_ctl_err_t *e)
{
    size_t label = 0;

    if (len == 0 || len >= max || len > 253)
        return wr_ctl_fail(e, "%s of %zu bytes (1..%zu)", what, len, max - 1 < 253 ? max - 1 : 253);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        if (c == '.') {
            if (label == 0 || i + 1 == len)
                return wr_ctl_fail(e, "%s has an empty label", what);
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if (++label > 63)
                return wr_ctl_fail(e, "%s has a label over 63 bytes", what);
        } else {
            return wr_ctl_fail(e, "%s has a forbidden byte 0x%02x", what, c);
        }
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    dst[len] = '\0';
    return 0;
}

static int wr_ctl_want_len(size_t got, size_t want, const char *what, wr_ctl_err_t *e)
{
    if (got != want)
        return wr_ctl_fail(e, "%s field of %zu bytes (expected %zu)", what, got, want);
    return 0;
}

static int wr_ctl_get_tunnel(const uint8_t *p, size_t len, wr_ctl_tunnel_t *t, wr_ctl_err_t *e)
{
    int have_name = 0;

    memset(t, 0, sizeof(*t));
    while (len > 0) {
        uint8_t tag;
        size_t flen;
        if (len < 3)
            return wr_ctl_fail(e, "truncated tunnel field (%zu bytes left)", len);
        tag = p[0];
        flen = wr_get_u16(p + 1);
        if (flen > len - 3)
            return wr_ctl_fail(e, "tunnel field runs past its message (%zu bytes)", flen);
        p += 3;
        len -= 3;
        switch (tag) {
        case WR_T_NAME:
            if (wr_ctl_get_str(p, flen, t->name, sizeof(t->name), 1, "tunnel name", e) != 0)
                return -1;
            have_name = 1;
            break;
        case WR_T_TYPE:
            if (wr_ctl_want_len(flen, 1, "tunnel type", e) != 0)
                return -1;
            t->type = p[0];
            if (t->type != WR_TUNNEL_TCP && t->type != WR_TUNNEL_HTTP)
                return wr_ctl_fail(e, "unknown tunnel type %u", t->type);
            break;
        case WR_T_PRIORITY:
            if (wr_ctl_want_len(flen, 1, "tunnel priority", e) != 0)
                return -1;
            t->priority = p[0];
            if (t->priority > 3)
                return wr_ctl_fail(e, "unknown tunnel priority %u", t->priority);
            break;
        case WR_T_PORT:
            if (wr_ctl_want_len(flen, 2, "tunnel port", e) != 0)
                return -1;
            t->port = wr_get_u16(p);
            break;
        case WR_T_ADDRESS:
            if (wr_ctl_get_str(p, flen, t->address, sizeof(t->address), 0, "tunnel address", e) !=
                0)
                return -1;
            break;
        case WR_T_SUBDOMAIN:
            if (wr_ctl_get_host(p, flen, t->subdomain, sizeof(t->subdomain), "subdomain", e) != 0)
                return -1;
            break;
        case WR_T_HOSTNAME:
            if (wr_ctl_get_host(p, flen, t->hostname, sizeof(t->hostname), "hostname", e) != 0)
                return -1;
            break;
        default:
            break; /* a newer peer's field */
        }
        p += flen;
        len -= flen;
    }
    if (!have_name)
        return wr_ctl_fail(e, "tunnel without a name");
    if (t->type == 0)
        t->type = WR_TUNNEL_TCP;
    return 0;
}

static int wr_ctl_get_field(uint8_t type, uint8_t tag, const uint8_t *p, size_t flen,
                            wr_ctl_msg_t *m, unsigned *seen, wr_ctl_err_t *e)
{
    switch (tag) {
    case WR_F_VERSIONS:
        if (wr_ctl_want_len(flen, 4, "versions", e) != 0)
            return -1;
        m->version_min = wr_get_u16(p);
        m->version_max = wr_get_u16(p + 2);
        if (m->version_min > m->version_max)
            return wr_ctl_fail(e, "empty version range %u..%u", m->version_min, m->version_max);
        break;
    case WR_F_CAPS:
        if (wr_ctl_want_len(flen, 4, "capabilities", e) != 0)
            return -1;
        m->capabilities = wr_get_u32(p);
        break;
    case WR_F_TOKEN:
        if (flen == 0 || flen > WR_CTL_TOKEN_MAX)
            return wr_ctl_fail(e, "token field of %zu bytes (1..256)", flen);
        memcpy(m->token, p, flen);
        m->token_len = flen;
        break;
    case WR_F_INSTANCE:
        if (wr_ctl_want_len(flen, 16, "instance", e) != 0)
            return -1;
        memcpy(m->instance, p, 16);
        break;
    case WR_F_CLIENT_NAME:
        if (wr_ctl_get_str(p, flen, m->client_name, sizeof(m->client_name), 0, "client name", e) !=
            0)
            return -1;
        break;
    case WR_F_TUNNEL:
        if (m->ntunnels >= WR_CTL_MAX_TUNNELS)
            return wr_ctl_fail(e, "more than %d tunnels", WR_CTL_MAX_TUNNELS);
        if (wr_ctl_get_tunnel(p, flen, &m->tunnels[m->ntunnels], e) != 0)
            return -1;
        m->ntunnels++;
        break;
    case WR_F_VERSION:
        if (wr_ctl_want_len(flen, 2, "version", e) != 0)
            return -1;
        m->version = wr_get_u16(p);
        break;
    case WR_F_HEARTBEAT:
        if (wr_ctl_want_len(flen, 4, "heartbeat", e) != 0)
            return -1;
        m->heartbeat_ms = wr_get_u32(p);
        break;
    case WR_F_CODE:
        if (wr_ctl_want_len(flen, 4, "code", e) != 0)
            return -1;
        m->code = wr_get_u32(p);
        break;
    case WR_F_RETRY_AFTER:
        if (wr_ctl_want_len(flen, 4, "retry-after", e) != 0)
            return -1;
        m->retry_after_ms = wr_get_u32(p);
        break;
    case WR_F_TEXT:
        if (wr_ctl_get_str(p, flen, m->text, sizeof(m->text), 0, "text", e) != 0)
            return -1;
        break;
    case WR_F_SEQ:
        if (wr_ctl_want_len(flen, 8, "sequence", e) != 0)
            return -1;
        m->seq = (uint64_t)wr_get_u32(p) | ((uint64_t)wr_get_u32(p + 4) << 32);
        break;
    case WR_F_OPEN_TUNNEL:
        if (wr_ctl_get_str(p, flen, m->tunnel, sizeof(m->tunnel), 1, "tunnel name", e) != 0)
            return -1;
        break;
    case WR_F_PEER:
        if (wr_ctl_get_str(p, flen, m->peer, sizeof(m->peer), 0, "peer address", e) != 0)
            return -1;
        break;
    default:
        return 0; /* unknown: skipped */
    }
    (void)type;
    *seen |= 1u << tag;
    return 0;
}

int wr_ctl_decode_mem(const uint8_t *buf, size_t len, wr_ctl_msg_t *msg, size_t *used, char *why,
                      size_t whylen)
{
    wr_ctl_err_t e = {why, whylen};
    size_t body;
    const uint8_t *p;
    unsigned seen = 0;

    if (len < WR_CTL_HDR_LEN)
        return 1;
    body = wr_get_u16(buf + 2);
    if (buf[0] < WR_CTL_HELLO || buf[0] > WR_CTL_OPEN)
        return wr_ctl_fail(&e, "unknown control message type %u", buf[0]);
    if (buf[1] != WR_CTL_VERSION)
        return wr_ctl_fail(&e, "control message version %u (expected %d)", buf[1], WR_CTL_VERSION);
    if (len < WR_CTL_HDR_LEN + body)
        return 1;
    /* All but the tunnel entries, which are cleared as they are filled. */
    memset(msg, 0, offsetof(wr_ctl_msg_t, tunnels));
    memset(&msg->ntunnels, 0, sizeof(*msg) - offsetof(wr_ctl_msg_t, ntunnels));
    msg->type = buf[0];
    p = buf + WR_CTL_HDR_LEN;
    while (body > 0) {
        uint8_t tag;
        size_t flen;
        if (body < 3)
            return wr_ctl_fail(&e, "truncated field in %s (%zu bytes left)",
                               wr_ctl_type_name(msg->type), body);
        tag = p[0];
        flen = wr_get_u16(p + 1);
        if (flen > body - 3)
            return wr_ctl_fail(&e, "field in %s runs past the message (%zu bytes)",
                               wr_ctl_type_name(msg->type), flen);
        if (wr_ctl_get_field(msg->type, tag, p + 3, flen, msg, &seen, &e) != 0)
            return -1;
        p += 3 + flen;
        body -= 3 + flen;
    }
    switch (msg->type) {
    case WR_CTL_HELLO:
        if (!(seen & (1u << WR_F_VERSIONS)))
            return wr_ctl_fail(&e, "HELLO without versions");
        break;
    case WR_CTL_WELCOME:
        if (!(seen & (1u << WR_F_VERSION)))
            return wr_ctl_fail(&e, "WELCOME without a version");
        break;
    case WR_CTL_OPEN:
        if (!(seen & (1u << WR_F_OPEN_TUNNEL)))
            return wr_ctl_fail(&e, "OPEN without a tunnel name");
        break;
    }
    *used = WR_CTL_HDR_LEN + wr_get_u16(buf + 2);
    return 0;
}

int wr_ctl_decode(struct evbuffer *in, wr_ctl_msg_t *msg, char *why, size_t whylen)
{
    uint8_t hdr[WR_CTL_HDR_LEN];
    size_t total, used = 0;
    unsigned char *flat;
    int rc;

    if (evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
        return 1;
    total = WR_CTL_HDR_LEN + wr_get_u16(hdr + 2);
    if (evbuffer_get_length(in) < total) {
        /* Judge the header now: garbage need not wait for 64 KiB. */
        rc = wr_ctl_decode_mem(hdr, sizeof(hdr), msg, &used, why, whylen);
        return rc < 0 ? -1 : 1;
    }
    flat = evbuffer_pullup(in, (ev_ssize_t)total);
    if (flat == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    rc = wr_ctl_decode_mem(flat, total, msg, &used, why, whylen);
    if (rc == 0)
        evbuffer_drain(in, used);
    return rc;
}

const char *wr_ctl_type_name(uint8_t type)
{
    static const char *const names[] = {"?",         "HELLO",         "WELCOME", "REFUSE",
                                        "HEARTBEAT", "HEARTBEAT_ACK", "NOTICE",  "OPEN"};

    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const char *wr_refuse_name(uint32_t code)
{
    switch (code) {
    case WR_REFUSE_VERSION:
        return "no common protocol version";
    case WR_REFUSE_AUTH:
        return "authentication failed";
    case WR_REFUSE_PORT_DENIED:
        return "not allowed";
    case WR_REFUSE_PORT_TAKEN:
        return "already taken";
    case WR_REFUSE_BAD_REQUEST:
        return "bad request";
    case WR_REFUSE_UNAVAILABLE:
        return "server unavailable";
    }
    return "refused";
}

int wr_refuse_retryable(uint32_t code)
{
    return code == WR_REFUSE_PORT_TAKEN || code == WR_REFUSE_UNAVAILABLE;
}
