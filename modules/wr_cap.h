/*
 * wr_cap: the client's capture of HTTP requests for the dashboard
 * (docs/dashboard.md). The proxy (wr_proxy.c) reports each request it
 * carries at four points: its head, body bytes as they are forwarded each
 * way, the response head, and its end. The store keeps a copy of what it
 * is told, within bounds:
 *
 *   - max_body: bytes kept of each body (request and response); past it
 *     the body is marked truncated and only its size is counted;
 *   - max_entries: requests kept; the oldest finished one is dropped first;
 *   - max_total: bytes held by all entries (their structs, head copies and
 *     body buffers, by allocated size); oldest finished entries are dropped
 *     to make room, and when only requests still in flight are left, new
 *     body bytes are not kept (truncated). A head that would not fit
 *     beside the requests in flight, even with every finished entry
 *     dropped, is not captured, and drops nothing.
 *
 * Capture never buffers or delays traffic: a body is copied out of the
 * evbuffer being forwarded (evbuffer_copyout, at most the room left), never
 * drained from it, and nothing here waits or fails the request. A chunked
 * body is stored decoded (chunk framing removed) and its size is that of
 * the decoded data; bytes_in/bytes_out count the bytes on the wire.
 *
 * Entries in flight ("live") are owned jointly: the store may drop them
 * from its list (clear, or an eviction that found nothing else), and then
 * frees them when the proxy calls wr_cap_end. So a live handle stays valid
 * until wr_cap_end, whatever the store does meanwhile.
 *
 * Threading: the client's one event loop; nothing here is thread-safe.
 */
#ifndef WR_CAP_H
#define WR_CAP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "wr_http.h"

typedef struct {
    uint64_t max_entries; /* requests kept (default 1000) */
    uint64_t max_body;    /* bytes kept per body (default 1 MiB) */
    uint64_t max_total;   /* bytes held in all (default 64 MiB) */
} wr_cap_conf_t;

void wr_cap_conf_default(wr_cap_conf_t *c);

enum { WR_CAP_REQ = 0, WR_CAP_RESP = 1 };

/* Entry states. */
enum {
    WR_CAP_LIVE = 0,  /* the request is in flight */
    WR_CAP_DONE = 1,  /* the response ended */
    WR_CAP_ERROR = 2, /* it failed (error says why); status may be 0 */
};

typedef struct {
    char *name, *value; /* NUL-terminated copies (a NUL inside is kept as is) */
    size_t name_len, value_len;
} wr_cap_hdr_t;

typedef struct {
    unsigned char *data; /* the bytes kept, decoded when chunked */
    size_t len;          /* bytes kept */
    size_t alloc;        /* allocated size of data (counted in the total) */
    uint64_t size;       /* bytes of the whole body seen so far */
    int truncated;       /* size > len */
    /* chunked decoding */
    int chunked, cstate;
    uint64_t cleft;
} wr_cap_body_t;

typedef struct wr_cap_entry wr_cap_entry_t;

struct wr_cap_entry {
    wr_cap_entry_t *newer, *older; /* the store's list */
    struct wr_cap *cap;
    uint64_t id;
    uint64_t replay_of; /* 0: a request from the tunnel */
    int state;
    int listed; /* in the store's list (else freed by wr_cap_end) */
    uint64_t wall_us, t0_us, ttfb_us, dur_us;
    char tunnel[64];
    char peer[64];
    const void *origin; /* opaque: what the request came on (wr_cap_request) */
    /* request */
    char *method, *host, *target; /* target: path and query as received */
    unsigned short major, minor;
    wr_cap_hdr_t *req_hdrs;
    size_t nreq_hdrs;
    /* response */
    unsigned status;
    unsigned short resp_major, resp_minor; /* its version; 0.0 while none came */
    char *reason;
    wr_cap_hdr_t *resp_hdrs;
    size_t nresp_hdrs;
    uint64_t bytes_in, bytes_out; /* body bytes on the wire: to the service, back */
    wr_cap_body_t body[2];        /* WR_CAP_REQ, WR_CAP_RESP */
    char error[160];
    size_t mem; /* bytes counted in the store's total */
};

/* What changed, for the store's listener. */
enum {
    WR_CAP_EV_NEW = 1,    /* a request's head was captured */
    WR_CAP_EV_UPDATE = 2, /* its response head came */
    WR_CAP_EV_END = 3,    /* it ended (done or failed) */
    WR_CAP_EV_CLEAR = 4,  /* the store was cleared (entry NULL) */
};

typedef void (*wr_cap_listener_t)(void *arg, wr_cap_entry_t *e, int what);

typedef struct wr_cap wr_cap_t;

/* A store (free with wr_cap_free); NULL when out of memory. */
wr_cap_t *wr_cap_new(const wr_cap_conf_t *conf);

/* Drop every entry (live ones are freed at their wr_cap_end), then free. */
void wr_cap_free(wr_cap_t *cap);

/* Called synchronously on every event above; one listener (NULL: none). */
void wr_cap_set_listener(wr_cap_t *cap, wr_cap_listener_t fn, void *arg);

/* Turn capture off (0: wr_cap_request returns NULL) or on (1, the
 * default). This is dashboard.capture: wr_dash_new sets it once, and a
 * store that is off still answers the dashboard (empty, "enabled": false)
 * while its tunnels panel runs. wr_cap_enabled: 1 when on (0 for NULL). */
void wr_cap_enable(wr_cap_t *cap, int on);
int wr_cap_enabled(const wr_cap_t *cap);

/* ---- the proxy's calls ----------------------------------------------------
 * Each accepts a NULL entry and does nothing then, so the call sites stay
 * one line.
 */

/* A request's head arrived (h, a request head). tunnel and peer are copied
 * (cut to fit); origin is an opaque tag passed to the listener (the proxy
 * gives its stream, so that whoever opened it can recognise the entry).
 * Returns the live entry, or NULL when capture is off or out of memory (the
 * request then goes on uncaptured). */
wr_cap_entry_t *wr_cap_request(wr_cap_t *cap, const char *tunnel, const char *peer,
                               const wr_http_head_t *h, const void *origin);

/* n body bytes at the front of buf are being forwarded in direction dir
 * (WR_CAP_REQ: to the service; WR_CAP_RESP: back). They are copied (up to
 * the room left), not drained. */
void wr_cap_body(wr_cap_entry_t *e, int dir, struct evbuffer *buf, size_t n);

/* The final response head (not a 1xx, except 101). */
void wr_cap_response(wr_cap_entry_t *e, const wr_http_head_t *h);

/* Why the request failed (the first reason is kept); its state becomes
 * WR_CAP_ERROR. */
void wr_cap_error(wr_cap_entry_t *e, const char *why);

/* The request is over, with the status sent to the public client (0: none).
 * The handle is invalid afterwards. */
void wr_cap_end(wr_cap_entry_t *e, unsigned status);

/* ---- reading (the dashboard) --------------------------------------------- */

/* The newest entry, and the next older one (NULL at the end). */
wr_cap_entry_t *wr_cap_newest(const wr_cap_t *cap);
wr_cap_entry_t *wr_cap_older(const wr_cap_entry_t *e);
wr_cap_entry_t *wr_cap_newer(const wr_cap_entry_t *e);
/* The oldest entry (the start of a chronological walk with wr_cap_newer). */
wr_cap_entry_t *wr_cap_oldest(const wr_cap_t *cap);

/* The entry with this id, or NULL (dropped, or never was). */
wr_cap_entry_t *wr_cap_find(const wr_cap_t *cap, uint64_t id);

/* Drop every entry. */
void wr_cap_clear(wr_cap_t *cap);

typedef struct {
    uint64_t entries;   /* in the list */
    uint64_t bytes;     /* counted against max_total, live entries included */
    uint64_t captured;  /* requests captured since start */
    uint64_t dropped;   /* entries dropped to stay within the caps */
    uint64_t last_id;   /* the id of the newest request captured (0: none) */
    uint64_t truncated; /* bodies cut short by max_body or max_total */
} wr_cap_stats_t;

void wr_cap_stats(const wr_cap_t *cap, wr_cap_stats_t *out);
const wr_cap_conf_t *wr_cap_conf(const wr_cap_t *cap);

/* The first header of entry e's request (dir WR_CAP_REQ) or response named
 * name (ASCII case-insensitive), or NULL. */
const wr_cap_hdr_t *wr_cap_header(const wr_cap_entry_t *e, int dir, const char *name);

#endif
