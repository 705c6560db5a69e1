/*
 * wr_sni: the SNI of a TLS ClientHello, read from the connection's first
 * bytes (see wr_sni.h).
 *
 * Two steps: the records are walked and their payloads gathered into one
 * handshake message (most ClientHellos fit in one record, but a client may
 * split it, and a large post-quantum key share makes that more likely);
 * then the ClientHello is read with a cursor that refuses any length
 * reaching past what remains.
 */
#include "wr_sni.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#define WR_SNI_REC_HDR   5
#define WR_SNI_HS_HDR    4
#define WR_SNI_REC_MAX   (16384 + 2048) /* TLSCiphertext bound; plaintext is below it */
#define WR_SNI_HANDSHAKE 22
#define WR_SNI_HELLO     1
#define WR_SNI_EXT_SNI   0
#define WR_SNI_HOST_NAME 0

/* A read cursor over a ClientHello: every take checks what remains. */
typedef struct {
    const uint8_t *p;
    size_t left;
} wr_sni_cur_t;

static int wr_sni_take(wr_sni_cur_t *c, size_t n, const uint8_t **out)
{
    if (n > c->left)
        return -1;
    if (out != NULL)
        *out = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}

/* A big-endian length of k (1..3) bytes. */
static int wr_sni_len(wr_sni_cur_t *c, size_t k, size_t *len)
{
    const uint8_t *b;

    if (wr_sni_take(c, k, &b) != 0)
        return -1;
    *len = 0;
    for (size_t i = 0; i < k; i++)
        *len = (*len << 8) | b[i];
    return 0;
}

/* A sub-cursor over the next len bytes of c, whose length field is k bytes. */
static int wr_sni_vec(wr_sni_cur_t *c, size_t k, wr_sni_cur_t *sub)
{
    size_t len;

    if (wr_sni_len(c, k, &len) != 0 || wr_sni_take(c, len, &sub->p) != 0)
        return -1;
    sub->left = len;
    return 0;
}

/* A host_name as RFC 6066 and RFC 1123 allow it, lower-cased into name. */
static int wr_sni_name(const uint8_t *s, size_t n, char *name, size_t len)
{
    size_t label = 0;

    if (n == 0 || n > WR_SNI_NAME_MAX || n >= len)
        return WR_SNI_BAD;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch == '.') {
            if (label == 0)
                return WR_SNI_BAD; /* an empty label, a leading dot or two dots */
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') {
            label++;
        } else if (ch >= 'A' && ch <= 'Z') {
            ch = (uint8_t)(ch - 'A' + 'a');
            label++;
        } else {
            return WR_SNI_BAD;
        }
        if (label > 63)
            return WR_SNI_BAD;
        name[i] = (char)ch;
    }
    if (label == 0)
        return WR_SNI_BAD; /* a trailing dot: RFC 6066 sends names without one */
    name[n] = '\0';
    return WR_SNI_FOUND;
}

/* The server_name extension's body: a non-empty list of (type, name). */
static int wr_sni_ext(wr_sni_cur_t *ext, char *name, size_t len)
{
    wr_sni_cur_t list, entry;
    int rc = WR_SNI_NONE;

    if (wr_sni_vec(ext, 2, &list) != 0 || ext->left != 0 || list.left == 0)
        return WR_SNI_BAD;
    while (list.left > 0) {
        const uint8_t *type;
        if (wr_sni_take(&list, 1, &type) != 0 || wr_sni_vec(&list, 2, &entry) != 0)
            return WR_SNI_BAD;
        /* Other name types (none is defined) are skipped, as servers do. */
        if (type[0] == WR_SNI_HOST_NAME && rc == WR_SNI_NONE) {
            rc = wr_sni_name(entry.p, entry.left, name, len);
            if (rc != WR_SNI_FOUND)
                return rc;
        }
    }
    return rc;
}

/* A complete ClientHello body (after the 4-byte handshake header). */
static int wr_sni_hello(const uint8_t *body, size_t n, char *name, size_t len)
{
    wr_sni_cur_t c = {body, n}, v, exts, ext;
    const uint8_t *version;
    int rc = WR_SNI_NONE, seen = 0;

    if (wr_sni_take(&c, 2, &version) != 0 || version[0] != 3 || wr_sni_take(&c, 32, NULL) != 0)
        return WR_SNI_BAD;
    if (wr_sni_vec(&c, 1, &v) != 0 || v.left > 32)
        return WR_SNI_BAD; /* session_id */
    if (wr_sni_vec(&c, 2, &v) != 0 || v.left == 0 || v.left % 2 != 0)
        return WR_SNI_BAD; /* cipher_suites */
    if (wr_sni_vec(&c, 1, &v) != 0 || v.left == 0)
        return WR_SNI_BAD; /* compression methods */
    if (c.left == 0)
        return WR_SNI_NONE; /* no extensions at all (an old client) */
    if (wr_sni_vec(&c, 2, &exts) != 0 || c.left != 0)
        return WR_SNI_BAD;
    while (exts.left > 0) {
        size_t type;
        if (wr_sni_len(&exts, 2, &type) != 0 || wr_sni_vec(&exts, 2, &ext) != 0)
            return WR_SNI_BAD;
        if (type != WR_SNI_EXT_SNI)
            continue;
        /* RFC 8446 4.2: no extension type twice; two names would be two
         * answers to "which host". */
        if (seen++)
            return WR_SNI_BAD;
        rc = wr_sni_ext(&ext, name, len);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Check a record header's first k (1..5) bytes; the first record decides
 * whether this is TLS at all, a later one can only be wrong. */
static int wr_sni_record(const uint8_t *h, size_t k, int first)
{
    int bad = first ? WR_SNI_NOT_TLS : WR_SNI_BAD;

    if (h[0] != WR_SNI_HANDSHAKE)
        return bad;
    if (k >= 2 && h[1] != 3)
        return bad;
    if (k >= 3 && (h[2] < 1 || h[2] > 4))
        return bad;
    if (k >= 5) {
        size_t reclen = (size_t)h[3] << 8 | h[4];
        /* Zero-length handshake fragments are forbidden (RFC 8446 5.1). */
        if (reclen == 0 || reclen > WR_SNI_REC_MAX)
            return WR_SNI_BAD;
    }
    return 0;
}

static int wr_sni_parse_raw(const uint8_t *buf, size_t n, char *name, size_t len)
{
    /* The handshake message gathered from the records' payloads. */
    uint8_t hs[WR_SNI_MAX];
    size_t have = 0, need = 0, pos = 0;

    for (;;) {
        size_t avail, reclen, take;
        int rc;

        if (n - pos == 0)
            return WR_SNI_NEED;
        avail = n - pos < WR_SNI_REC_HDR ? n - pos : WR_SNI_REC_HDR;
        if ((rc = wr_sni_record(buf + pos, avail, pos == 0)) != 0)
            return rc;
        if (avail < WR_SNI_REC_HDR)
            return WR_SNI_NEED;
        reclen = (size_t)buf[pos + 3] << 8 | buf[pos + 4];
        pos += WR_SNI_REC_HDR;
        take = n - pos < reclen ? n - pos : reclen;
        for (size_t i = 0; i < take;) {
            /* Up to the handshake header, then up to the message's end. */
            size_t want = (need ? need : WR_SNI_HS_HDR) - have;
            size_t k = take - i < want ? take - i : want;

            memcpy(hs + have, buf + pos + i, k);
            have += k;
            i += k;
            if (need == 0 && have == WR_SNI_HS_HDR) {
                size_t body = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
                if (hs[0] != WR_SNI_HELLO)
                    return WR_SNI_BAD;
                /* It could never end within WR_SNI_MAX bytes: say so now
                 * rather than wait for bytes that cannot help. */
                if (body > WR_SNI_MAX - WR_SNI_REC_HDR - WR_SNI_HS_HDR)
                    return WR_SNI_BAD;
                need = WR_SNI_HS_HDR + body;
            }
            if (need != 0 && have == need)
                return wr_sni_hello(hs + WR_SNI_HS_HDR, need - WR_SNI_HS_HDR, name, len);
        }
        if (take < reclen)
            return WR_SNI_NEED;
        pos += reclen;
    }
}

int wr_sni_parse(const uint8_t *buf, size_t n, char *name, size_t len)
{
    int rc;

    if (len > 0)
        name[0] = '\0';
    /* Only the first WR_SNI_MAX bytes count: a ClientHello still
     * incomplete there is too long (the cap in wr_sni.h). */
    rc = wr_sni_parse_raw(buf, n < WR_SNI_MAX ? n : WR_SNI_MAX, name, len);
    if (rc == WR_SNI_NEED && n >= WR_SNI_MAX)
        rc = WR_SNI_BAD;
    if (rc != WR_SNI_FOUND && len > 0)
        name[0] = '\0';
    return rc;
}

int wr_sni_peek(int fd, char *name, size_t len)
{
    uint8_t buf[WR_SNI_MAX];
    struct pollfd pfd;
    ssize_t got;
    int rc;

    if (len > 0)
        name[0] = '\0';
    do {
        got = recv(fd, buf, sizeof(buf), MSG_PEEK);
    } while (got == -1 && errno == EINTR);
    if (got == -1)
        return errno == EAGAIN || errno == EWOULDBLOCK ? WR_SNI_NEED : WR_SNI_CLOSED;
    if (got == 0)
        return WR_SNI_CLOSED;
    rc = wr_sni_parse(buf, (size_t)got, name, len);
    if (rc != WR_SNI_NEED)
        return rc;
    /* A peek does not see past the bytes it returns, so a peer that sent
     * half a ClientHello and then closed would look like one still
     * sending: ask the kernel whether the other side has shut down. */
    pfd.fd = fd;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
        return WR_SNI_CLOSED;
    return WR_SNI_NEED;
}
