/*
 * wr_pipe: a TCP connection spliced to a mux stream. See wr_pipe.h.
 *
 * Shape of the code:
 *   - wr_pipe_push moves socket input into the stream (socket -> stream);
 *     wr_pipe_pull moves stream input into the socket output and turns the
 *     stream's EOF into shutdown(SHUT_WR) once that output is written
 *     (stream -> socket). Every callback of both sides just calls one of
 *     them, so each direction's rules live in one place.
 *   - wr_pipe_finish is the single way out: it releases the stream, frees
 *     the bufferevent, calls done and frees the pipe. The helpers that may
 *     end the pipe return -1 when they did, and their callers return at once
 *     without touching p again.
 *   - No call the pipe makes into the mux or libevent calls the pipe back
 *     synchronously (the mux defers write and reset callbacks; wr_bev_send
 *     writes or queues without callbacks), so there is no nesting
 *     to guard against beyond done itself; p->ending covers that.
 */
#include "wr_pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>

#include "wr_frame.h"
#include "wr_log.h"
#include "wr_net.h"

/* How wr_pipe_finish treats each side. */
enum {
    WR_PIPE_RESET_STREAM = 1, /* RST the stream, dropping its queue */
    WR_PIPE_ABORT_SOCKET = 2, /* close the socket with RST, dropping its output */
};

struct wr_pipe {
    struct bufferevent *bev;
    wr_mux_stream_t *s;
    wr_pipe_done_cb done;
    void *arg;
    wr_pipe_stats_t st;
    uint32_t sid;             /* the stream's id, for logs */
    unsigned sock_eof : 1;    /* EOF read on the socket; FIN queued on the stream */
    unsigned stream_eof : 1;  /* FIN read on the stream */
    unsigned sock_shut : 1;   /* shutdown(SHUT_WR) done on the socket */
    unsigned sock_paused : 1; /* socket reading off while the stream's queue is full */
    unsigned ending : 1;      /* inside wr_pipe_finish / wr_pipe_free */
};

static void wr_pipe_sock_read_cb(struct bufferevent *bev, void *arg);
static void wr_pipe_sock_write_cb(struct bufferevent *bev, void *arg);
static void wr_pipe_sock_event_cb(struct bufferevent *bev, short what, void *arg);
static void wr_pipe_stream_read_cb(wr_mux_stream_t *s, void *arg);
static void wr_pipe_stream_write_cb(wr_mux_stream_t *s, void *arg);
static void wr_pipe_stream_event_cb(wr_mux_stream_t *s, int event, void *arg);

/* Make close() send RST instead of FIN: the far end must not mistake an
 * aborted tunnel for a complete response. Harmless on non-TCP sockets. */
static void wr_pipe_linger0(struct bufferevent *bev)
{
    struct linger lg = {1, 0};
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd >= 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Give back the stream and free the bufferevent, according to how
 * (WR_PIPE_*). Either may be NULL. */
static void wr_pipe_drop(struct bufferevent *bev, wr_mux_stream_t *s, int how)
{
    if (s != NULL) {
        wr_mux_stream_setcb(s, NULL, NULL, NULL, NULL);
        if (how & WR_PIPE_RESET_STREAM)
            wr_mux_stream_reset(s, WR_RST_CANCEL);
        wr_mux_stream_close(s);
    }
    if (bev != NULL) {
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        if (how & WR_PIPE_ABORT_SOCKET)
            wr_pipe_linger0(bev);
        bufferevent_free(bev);
    }
}

/* End the pipe: release both sides, tell the application, free. The pipe
 * must not be touched after this returns. */
static void wr_pipe_finish(wr_pipe_t *p, const char *reason, int how)
{
    p->ending = 1;
    wr_pipe_drop(p->bev, p->s, how);
    p->bev = NULL;
    p->s = NULL;
    if (reason != NULL)
        wr_log_debug("pipe on stream %u: ended: %s (in %llu, out %llu bytes)", p->sid, reason,
                     (unsigned long long)p->st.bytes_in, (unsigned long long)p->st.bytes_out);
    if (p->done != NULL)
        p->done(p, reason, &p->st, p->arg);
    free(p);
}

/* The socket failed (err: errno-style code, 0 if unknown): reset the stream,
 * and close the socket with RST too, since it may still be open (timeout,
 * failed shutdown) and its peer must not take the end for a clean one. */
static void wr_pipe_sock_failed(wr_pipe_t *p, const char *what, int err)
{
    char reason[128]; /* on the stack: an idle pipe carries no text */

    if (err != 0)
        snprintf(reason, sizeof(reason), "%s: %s", what, evutil_socket_error_to_string(err));
    else
        snprintf(reason, sizeof(reason), "%s", what);
    wr_pipe_finish(p, reason, WR_PIPE_RESET_STREAM | WR_PIPE_ABORT_SOCKET);
}

/* The stream went away under us: close the socket with RST. */
static void wr_pipe_stream_failed(wr_pipe_t *p)
{
    const char *why = wr_mux_stream_session(p->s) == NULL ? "tunnel session ended" : "stream reset";

    p->st.reset = wr_mux_stream_reset_reason(p->s);
    wr_pipe_finish(p, why, WR_PIPE_ABORT_SOCKET);
}

/* Clean end once both directions are finished. -1 when the pipe ended. */
static int wr_pipe_check_done(wr_pipe_t *p)
{
    if (!p->sock_eof || !p->sock_shut)
        return 0;
    wr_pipe_finish(p, NULL, 0);
    return -1;
}

/* socket -> stream: move everything read so far. -1 when the pipe ended. */
static int wr_pipe_push(wr_pipe_t *p)
{
    struct evbuffer *in = bufferevent_get_input(p->bev);
    size_t n = evbuffer_get_length(in);

    if (n == 0)
        return 0;
    if (wr_mux_stream_write_buffer(p->s, in) != 0) {
        /* Dead stream (its reset event is on its way) or dead session. */
        wr_pipe_stream_failed(p);
        return -1;
    }
    p->st.bytes_in += n;
    if (!p->sock_paused && wr_mux_stream_write_full(p->s)) {
        /* Stop reading: the kernel buffer then fills and TCP flow control
         * slows the sender. Resumed from the stream's write callback. */
        p->sock_paused = 1;
        bufferevent_disable(p->bev, EV_READ);
    }
    return 0;
}

/* stream -> socket: move what the socket output has room for, and pass the
 * stream's EOF on once everything before it is written. -1 when the pipe
 * ended. */
static int wr_pipe_pull(wr_pipe_t *p)
{
    struct evbuffer *out = bufferevent_get_output(p->bev);
    size_t len = evbuffer_get_length(out);
    evutil_socket_t fd;

    if (p->sock_shut)
        return 0;
    if (!p->stream_eof) {
        /* Read no further than the high mark: what stays unread keeps the
         * stream's window closed, which is what stops the remote sender. */
        while (len < WR_PIPE_OUTPUT_HIGH) {
            /* Into an empty output through the scratch buffer, which
             * wr_bev_send writes straight to the socket. What the socket
             * took raises no write callback, so go on while it takes. */
            struct evbuffer *to = wr_bev_gather(p->bev);
            size_t n = wr_mux_stream_read(p->s, to, WR_PIPE_OUTPUT_HIGH - len);
            if (n == 0)
                break;
            p->st.bytes_out += n;
            if (wr_bev_send(p->bev, to) != 0) {
                wr_pipe_sock_failed(p, "socket output", ENOMEM);
                return -1;
            }
            len = evbuffer_get_length(out);
        }
        if (wr_mux_stream_eof(p->s))
            p->stream_eof = 1;
    }
    if (!p->stream_eof || evbuffer_get_length(out) > 0)
        return 0; /* the write callback calls again as the output drains */
    fd = bufferevent_getfd(p->bev);
    if (shutdown(fd, SHUT_WR) != 0) {
        wr_pipe_sock_failed(p, "socket shutdown", errno);
        return -1;
    }
    p->sock_shut = 1;
    return wr_pipe_check_done(p);
}

static void wr_pipe_sock_read_cb(struct bufferevent *bev, void *arg)
{
    wr_bev_read_rest(bev, WR_BEV_READ_REST);
    wr_pipe_push(arg);
}

static void wr_pipe_sock_write_cb(struct bufferevent *bev, void *arg)
{
    wr_pipe_pull(arg);
}

static void wr_pipe_sock_event_cb(struct bufferevent *bev, short what, void *arg)
{
    wr_pipe_t *p = arg;
    int err = EVUTIL_SOCKET_ERROR();

    if (what & BEV_EVENT_EOF) {
        /* Half-close: whatever came before EOF goes first, then FIN after
         * it; the other direction keeps going. */
        if (wr_pipe_push(p) != 0)
            return;
        if (wr_mux_stream_shutdown(p->s) != 0) {
            wr_pipe_stream_failed(p);
            return;
        }
        p->sock_eof = 1;
        wr_pipe_check_done(p);
    } else if (what & BEV_EVENT_ERROR) {
        wr_pipe_sock_failed(p, "socket error", err);
    } else if (what & BEV_EVENT_TIMEOUT) {
        /* Only if the application set timeouts on bev before handing it
         * over: an idle connection is then aborted. */
        wr_pipe_sock_failed(p, "socket timeout", 0);
    }
}

static void wr_pipe_stream_read_cb(wr_mux_stream_t *s, void *arg)
{
    wr_pipe_pull(arg);
}

static void wr_pipe_stream_write_cb(wr_mux_stream_t *s, void *arg)
{
    wr_pipe_t *p = arg;

    /* The stream's queue fell below half: read the socket again (unless it
     * reached EOF, after which libevent keeps reading off). */
    if (p->sock_paused) {
        p->sock_paused = 0;
        if (!p->sock_eof)
            bufferevent_enable(p->bev, EV_READ);
    }
}

static void wr_pipe_stream_event_cb(wr_mux_stream_t *s, int event, void *arg)
{
    if (event == WR_STREAM_RESET)
        wr_pipe_stream_failed(arg);
}

wr_pipe_t *wr_pipe_new(struct bufferevent *bev, wr_mux_stream_t *s, struct evbuffer *preread,
                       wr_pipe_done_cb done, void *arg)
{
    wr_pipe_t *p = NULL;
    wr_mux_t *m = wr_mux_stream_session(s);

    if (wr_mux_stream_dead(s))
        goto failed;
    if (m != NULL && bufferevent_get_base(wr_mux_bufferevent(m)) != bufferevent_get_base(bev)) {
        wr_log_error("pipe: the socket and the stream are on different event loops");
        goto failed;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto failed;
    p->bev = bev;
    p->s = s;
    p->sid = wr_mux_stream_id(s);
    p->done = done;
    p->arg = arg;
    if (preread != NULL && evbuffer_get_length(preread) > 0) {
        size_t n = evbuffer_get_length(preread);
        if (wr_mux_stream_write_buffer(s, preread) != 0)
            goto failed;
        p->st.bytes_in += n;
    }
    wr_mux_stream_setcb(s, wr_pipe_stream_read_cb, wr_pipe_stream_write_cb, wr_pipe_stream_event_cb,
                        p);
    bufferevent_setcb(bev, wr_pipe_sock_read_cb, wr_pipe_sock_write_cb, wr_pipe_sock_event_cb, p);
    /* The write callback runs as the output drains to half the high mark:
     * that is where a paused stream is read again. No read watermarks: the
     * socket is paused by disabling EV_READ, see wr_pipe_push. */
    bufferevent_setwatermark(bev, EV_WRITE, WR_PIPE_OUTPUT_HIGH / 2, 0);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    wr_bev_bulk(bev);
    /* A socket bufferevent starts with writing on: enabling it again would
     * arm the write event (two epoll_ctl calls and a wake-up) with nothing
     * to write, on every connection. */
    if (bufferevent_enable(
            bev, (bufferevent_get_enabled(bev) & EV_WRITE) ? EV_READ : EV_READ | EV_WRITE) != 0)
        goto failed;
    if (wr_mux_stream_write_full(s)) {
        p->sock_paused = 1;
        bufferevent_disable(bev, EV_READ);
    }
    /* Bytes already in the socket's input, or data and FIN already received
     * on the stream, raise no new callback: run both once, deferred, so that
     * done is never called from inside wr_pipe_new. */
    bufferevent_trigger(bev, EV_READ | EV_WRITE,
                        BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return p;

failed:
    /* The stream callbacks may point at p: they are cleared before it goes. */
    wr_pipe_drop(bev, s, WR_PIPE_RESET_STREAM | WR_PIPE_ABORT_SOCKET);
    free(p);
    return NULL;
}

void wr_pipe_free(wr_pipe_t *p)
{
    if (p == NULL || p->ending)
        return;
    p->ending = 1;
    wr_pipe_drop(p->bev, p->s, WR_PIPE_RESET_STREAM | WR_PIPE_ABORT_SOCKET);
    free(p);
}

void wr_pipe_get_stats(const wr_pipe_t *p, wr_pipe_stats_t *st)
{
    *st = p->st;
}
