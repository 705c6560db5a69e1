/*
 * wr_cap: the bounded store of captured HTTP requests (see wr_cap.h).
 */
#include "wr_cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wr_papi.h"

#define WR_CAP_BODY_MIN 256 /* smallest allocation of a body buffer */

struct wr_cap {
    wr_cap_conf_t conf;
    wr_cap_entry_t *newest, *oldest;
    uint64_t nlisted;
    uint64_t bytes;      /* every entry alive, listed or not */
    uint64_t live_bytes; /* the part of bytes held by entries in flight */
    uint64_t next_id;
    uint64_t captured, dropped, truncated;
    int enabled;
    wr_cap_listener_t listener;
    void *listener_arg;
    int nlive; /* entries still in flight: the store is freed after them */
    int freeing;
};

void wr_cap_conf_default(wr_cap_conf_t *c)
{
    c->max_entries = 1000;
    c->max_body = 1024 * 1024;
    c->max_total = 64 * 1024 * 1024;
}

wr_cap_t *wr_cap_new(const wr_cap_conf_t *conf)
{
    wr_cap_t *cap = calloc(1, sizeof(*cap));

    if (cap == NULL)
        return NULL;
    if (conf != NULL)
        cap->conf = *conf;
    else
        wr_cap_conf_default(&cap->conf);
    cap->next_id = 1;
    cap->enabled = 1;
    return cap;
}

void wr_cap_set_listener(wr_cap_t *cap, wr_cap_listener_t fn, void *arg)
{
    cap->listener = fn;
    cap->listener_arg = arg;
}

void wr_cap_enable(wr_cap_t *cap, int on)
{
    cap->enabled = on != 0;
}

int wr_cap_enabled(const wr_cap_t *cap)
{
    return cap != NULL && cap->enabled;
}

static void wr_cap_notify(wr_cap_t *cap, wr_cap_entry_t *e, int what)
{
    if (cap->listener != NULL && !cap->freeing)
        cap->listener(cap->listener_arg, e, what);
}

static void wr_cap_entry_free(wr_cap_entry_t *e)
{
    wr_cap_t *cap = e->cap;

    cap->bytes -= e->mem;
    free(e->req_hdrs); /* one block with method, host, target and the fields */
    free(e->resp_hdrs);
    free(e->body[0].data);
    free(e->body[1].data);
    free(e);
}

static void wr_cap_unlist(wr_cap_entry_t *e)
{
    wr_cap_t *cap = e->cap;

    if (e->newer)
        e->newer->older = e->older;
    else
        cap->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cap->oldest = e->newer;
    e->newer = e->older = NULL;
    e->listed = 0;
    cap->nlisted--;
}

/* Drop e from the list; a finished entry is freed now, a live one at its
 * wr_cap_end. */
static void wr_cap_drop(wr_cap_entry_t *e)
{
    wr_cap_unlist(e);
    if (e->state != WR_CAP_LIVE)
        wr_cap_entry_free(e);
}

/* Make room for `need` more bytes and, with one_more, one more entry, by
 * dropping the oldest finished entries (and, for the entry count only, the
 * oldest live ones). 0 when the room is there; -1, with nothing dropped,
 * when the bytes would not fit even with every finished entry gone: the
 * rest is held by requests in flight, and emptying the store would gain
 * nothing. */
static int wr_cap_trim(wr_cap_t *cap, uint64_t need, int one_more)
{
    wr_cap_entry_t *e = cap->oldest;

    if (cap->live_bytes + need > cap->conf.max_total)
        return -1;
    while (e != NULL && (cap->bytes + need > cap->conf.max_total ||
                         cap->nlisted + (one_more ? 1 : 0) > cap->conf.max_entries)) {
        wr_cap_entry_t *next = e->newer;
        if (e->state != WR_CAP_LIVE) {
            wr_cap_drop(e);
            cap->dropped++;
        }
        e = next;
    }
    /* Only live entries left in the way of the entry count: unlist the
     * oldest (they are freed when they end). */
    while (one_more && cap->oldest != NULL && cap->nlisted + 1 > cap->conf.max_entries) {
        wr_cap_drop(cap->oldest);
        cap->dropped++;
    }
    return 0;
}

/* Count n more bytes held by e, which is in flight. */
static void wr_cap_hold(wr_cap_entry_t *e, size_t n)
{
    e->mem += n;
    e->cap->bytes += n;
    e->cap->live_bytes += n;
}

/* A copy of n header fields (and the extra strings) in one block: the
 * wr_cap_hdr_t array first, then the strings. */
/* The bytes wr_cap_hdrs_copy allocates for these fields and strings: what
 * the store is trimmed by first, so that max_total holds exactly. */
static size_t wr_cap_block_len(const wr_http_header_t *hs, size_t n, const size_t *lens,
                               size_t nstrs)
{
    size_t len = n * sizeof(wr_cap_hdr_t);

    for (size_t i = 0; i < n; i++)
        len += hs[i].name_len + hs[i].value_len + 2;
    for (size_t i = 0; i < nstrs; i++)
        len += lens[i] + 1;
    return len;
}

static wr_cap_hdr_t *wr_cap_hdrs_copy(const wr_http_header_t *hs, size_t n, const char **strs,
                                      const size_t *lens, char **outs, size_t nstrs,
                                      size_t *blocklen)
{
    size_t len = wr_cap_block_len(hs, n, lens, nstrs);
    wr_cap_hdr_t *out;
    char *p;

    out = malloc(len > 0 ? len : 1);
    if (out == NULL)
        return NULL;
    p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        out[i].name = p;
        memcpy(p, hs[i].name, hs[i].name_len);
        p[hs[i].name_len] = '\0';
        out[i].name_len = hs[i].name_len;
        p += hs[i].name_len + 1;
        out[i].value = p;
        memcpy(p, hs[i].value, hs[i].value_len);
        p[hs[i].value_len] = '\0';
        out[i].value_len = hs[i].value_len;
        p += hs[i].value_len + 1;
    }
    for (size_t i = 0; i < nstrs; i++) {
        outs[i] = p;
        memcpy(p, strs[i], lens[i]);
        p[lens[i]] = '\0';
        p += lens[i] + 1;
    }
    *blocklen = len;
    return out;
}

wr_cap_entry_t *wr_cap_request(wr_cap_t *cap, const char *tunnel, const char *peer,
                               const wr_http_head_t *h, const void *origin)
{
    const wr_http_header_t *host;
    wr_cap_entry_t *e;
    const char *strs[3];
    size_t lens[3], blocklen = 0;
    char *outs[3];

    if (cap == NULL || !cap->enabled || cap->freeing)
        return NULL;
    host = wr_http_find(h, "host");
    strs[0] = h->method_name ? h->method_name : "";
    lens[0] = strlen(strs[0]);
    strs[1] = host ? host->value : "";
    lens[1] = host ? host->value_len : 0;
    strs[2] = h->url;
    lens[2] = h->url_len;
    if (wr_cap_trim(cap, sizeof(*e) + wr_cap_block_len(h->headers, h->nheaders, lens, 3), 1) != 0) {
        cap->dropped++; /* only requests in flight hold the memory */
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->req_hdrs = wr_cap_hdrs_copy(h->headers, h->nheaders, strs, lens, outs, 3, &blocklen);
    if (e->req_hdrs == NULL) {
        free(e);
        return NULL;
    }
    e->nreq_hdrs = h->nheaders;
    e->method = outs[0];
    e->host = outs[1];
    e->target = outs[2];
    e->major = h->major;
    e->minor = h->minor;
    e->cap = cap;
    e->id = cap->next_id++;
    e->origin = origin;
    e->state = WR_CAP_LIVE;
    e->wall_us = wr_papi_time_us();
    e->t0_us = wr_papi_now_us();
    e->body[WR_CAP_REQ].chunked = h->chunked;
    snprintf(e->tunnel, sizeof(e->tunnel), "%s", tunnel ? tunnel : "");
    snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
    wr_cap_hold(e, sizeof(*e) + blocklen);
    cap->nlive++;
    cap->captured++;
    /* newest first */
    e->listed = 1;
    e->older = cap->newest;
    if (cap->newest)
        cap->newest->newer = e;
    else
        cap->oldest = e;
    cap->newest = e;
    cap->nlisted++;
    wr_cap_notify(cap, e, WR_CAP_EV_NEW);
    return e;
}

/* Keep up to len more bytes of a body, within max_body and max_total. */
static void wr_cap_keep(wr_cap_entry_t *e, wr_cap_body_t *b, const unsigned char *src,
                        struct evbuffer *buf, size_t len)
{
    wr_cap_t *cap = e->cap;
    uint64_t room = cap->conf.max_body > b->len ? cap->conf.max_body - b->len : 0;
    size_t take = len < room ? len : (size_t)room;

    b->size += len;
    if (take > 0 && b->len + take > b->alloc) {
        /* The first piece is often the whole body: exactly its size, then
         * doubling for bodies that come in many pieces. */
        size_t want = b->alloc ? b->alloc * 2 : WR_CAP_BODY_MIN;
        unsigned char *d;

        if (want < b->len + take)
            want = b->len + take;
        if (want > cap->conf.max_body)
            want = (size_t)cap->conf.max_body; /* still >= len + take */
        if (wr_cap_trim(cap, want - b->alloc, 0) != 0) {
            /* Requests in flight hold the rest: grow by what dropping every
             * finished entry makes room for, if anything. */
            uint64_t avail =
                cap->conf.max_total > cap->live_bytes ? cap->conf.max_total - cap->live_bytes : 0;
            size_t short_by = b->len + take - b->alloc;
            size_t grow = (size_t)(avail < short_by ? avail : short_by);
            want = b->alloc + (grow > 0 && wr_cap_trim(cap, grow, 0) == 0 ? grow : 0);
        }
        if (want > b->alloc && (d = realloc(b->data, want)) != NULL) {
            wr_cap_hold(e, want - b->alloc);
            b->data = d;
            b->alloc = want;
        }
        if (b->len + take > b->alloc)
            take = b->alloc - b->len;
    }
    if (take > 0) {
        if (src != NULL)
            memcpy(b->data + b->len, src, take);
        else
            evbuffer_copyout(buf, b->data + b->len, take);
        b->len += take;
    }
    if (b->size > b->len && !b->truncated) {
        b->truncated = 1;
        cap->truncated++;
    }
}

/* Chunked framing, removed as the bytes go by (lenient: the proxy's parser
 * has already refused anything malformed). */
enum { WR_CS_SIZE, WR_CS_EXT, WR_CS_DATA, WR_CS_DATA_END, WR_CS_TRAILER, WR_CS_TLINE, WR_CS_DONE };

static void wr_cap_dechunk(wr_cap_entry_t *e, wr_cap_body_t *b, const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        switch (b->cstate) {
        case WR_CS_SIZE:
            i++;
            if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
                unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
                if (b->cleft < ((uint64_t)1 << 59))
                    b->cleft = b->cleft * 16 + d;
            } else if (c == '\n') {
                b->cstate = b->cleft > 0 ? WR_CS_DATA : WR_CS_TRAILER;
            } else if (c != '\r') {
                b->cstate = WR_CS_EXT;
            }
            break;
        case WR_CS_EXT:
            i++;
            if (c == '\n')
                b->cstate = b->cleft > 0 ? WR_CS_DATA : WR_CS_TRAILER;
            break;
        case WR_CS_DATA: {
            size_t k = n - i < b->cleft ? n - i : (size_t)b->cleft;
            wr_cap_keep(e, b, p + i, NULL, k);
            i += k;
            b->cleft -= k;
            if (b->cleft == 0)
                b->cstate = WR_CS_DATA_END;
            break;
        }
        case WR_CS_DATA_END:
            i++;
            if (c == '\n') {
                b->cstate = WR_CS_SIZE;
                b->cleft = 0;
            }
            break;
        case WR_CS_TRAILER:
            i++;
            if (c == '\n')
                b->cstate = WR_CS_DONE;
            else if (c != '\r')
                b->cstate = WR_CS_TLINE;
            break;
        case WR_CS_TLINE:
            i++;
            if (c == '\n')
                b->cstate = WR_CS_TRAILER;
            break;
        default:
            return;
        }
    }
}

void wr_cap_body(wr_cap_entry_t *e, int dir, struct evbuffer *buf, size_t n)
{
    wr_cap_body_t *b;
    size_t off = 0;

    if (e == NULL || n == 0)
        return;
    b = &e->body[dir == WR_CAP_REQ ? 0 : 1];
    if (dir == WR_CAP_REQ)
        e->bytes_in += n;
    else
        e->bytes_out += n;
    if (!b->chunked) {
        wr_cap_keep(e, b, NULL, buf, n);
        return;
    }
    while (off < n) {
        struct evbuffer_ptr pos;
        struct evbuffer_iovec v[8];
        int k;

        if (evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET) != 0)
            return;
        k = evbuffer_peek(buf, (ev_ssize_t)(n - off), &pos, v, 8);
        if (k <= 0)
            return;
        for (int i = 0; i < k && i < 8 && off < n; i++) {
            size_t len = v[i].iov_len < n - off ? v[i].iov_len : n - off;
            wr_cap_dechunk(e, b, v[i].iov_base, len);
            off += len;
        }
    }
}

void wr_cap_response(wr_cap_entry_t *e, const wr_http_head_t *h)
{
    wr_cap_t *cap;
    const char *strs[1];
    size_t lens[1], blocklen = 0;
    char *outs[1];

    if (e == NULL || e->resp_hdrs != NULL)
        return;
    cap = e->cap;
    e->status = h->status;
    e->resp_major = h->major;
    e->resp_minor = h->minor;
    e->ttfb_us = wr_papi_now_us() - e->t0_us;
    e->body[WR_CAP_RESP].chunked = h->chunked;
    strs[0] = h->reason ? h->reason : "";
    lens[0] = h->reason ? h->reason_len : 0;
    if (wr_cap_trim(cap, wr_cap_block_len(h->headers, h->nheaders, lens, 1), 0) == 0) {
        e->resp_hdrs = wr_cap_hdrs_copy(h->headers, h->nheaders, strs, lens, outs, 1, &blocklen);
    }
    if (e->resp_hdrs != NULL) {
        e->nresp_hdrs = h->nheaders;
        e->reason = outs[0];
        wr_cap_hold(e, blocklen);
    }
    if (e->listed)
        wr_cap_notify(cap, e, WR_CAP_EV_UPDATE);
}

void wr_cap_error(wr_cap_entry_t *e, const char *why)
{
    if (e == NULL || e->error[0] != '\0')
        return;
    snprintf(e->error, sizeof(e->error), "%s", why && why[0] ? why : "failed");
}

void wr_cap_end(wr_cap_entry_t *e, unsigned status)
{
    wr_cap_t *cap;

    if (e == NULL || e->state != WR_CAP_LIVE)
        return;
    cap = e->cap;
    if (status != 0)
        e->status = status;
    e->dur_us = wr_papi_now_us() - e->t0_us;
    e->state = e->error[0] != '\0' ? WR_CAP_ERROR : WR_CAP_DONE;
    cap->nlive--;
    cap->live_bytes -= e->mem;
    if (!e->listed) {
        wr_cap_entry_free(e);
        if (cap->freeing && cap->nlive == 0)
            free(cap);
        return;
    }
    wr_cap_notify(cap, e, WR_CAP_EV_END);
}

void wr_cap_clear(wr_cap_t *cap)
{
    while (cap->oldest != NULL)
        wr_cap_drop(cap->oldest);
    wr_cap_notify(cap, NULL, WR_CAP_EV_CLEAR);
}

void wr_cap_free(wr_cap_t *cap)
{
    if (cap == NULL)
        return;
    /* Entries still in flight stay with their requests: the last
     * wr_cap_end frees the store. */
    cap->freeing = 1;
    while (cap->oldest != NULL)
        wr_cap_drop(cap->oldest);
    if (cap->nlive == 0)
        free(cap);
}

wr_cap_entry_t *wr_cap_newest(const wr_cap_t *cap)
{
    return cap->newest;
}

wr_cap_entry_t *wr_cap_oldest(const wr_cap_t *cap)
{
    return cap->oldest;
}

wr_cap_entry_t *wr_cap_older(const wr_cap_entry_t *e)
{
    return e->older;
}

wr_cap_entry_t *wr_cap_newer(const wr_cap_entry_t *e)
{
    return e->newer;
}

wr_cap_entry_t *wr_cap_find(const wr_cap_t *cap, uint64_t id)
{
    /* Newest first: what a person clicks on is recent. */
    for (wr_cap_entry_t *e = cap->newest; e != NULL; e = e->older) {
        if (e->id == id)
            return e;
        if (e->id < id)
            break; /* ids decrease along the list */
    }
    return NULL;
}

void wr_cap_stats(const wr_cap_t *cap, wr_cap_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->entries = cap->nlisted;
    out->bytes = cap->bytes;
    out->captured = cap->captured;
    out->dropped = cap->dropped;
    out->last_id = cap->next_id - 1;
    out->truncated = cap->truncated;
}

const wr_cap_conf_t *wr_cap_conf(const wr_cap_t *cap)
{
    return &cap->conf;
}

const wr_cap_hdr_t *wr_cap_header(const wr_cap_entry_t *e, int dir, const char *name)
{
    const wr_cap_hdr_t *hs = dir == WR_CAP_REQ ? e->req_hdrs : e->resp_hdrs;
    size_t n = dir == WR_CAP_REQ ? e->nreq_hdrs : e->nresp_hdrs;

    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(hs[i].name, name) == 0)
            return &hs[i];
    }
    return NULL;
}
