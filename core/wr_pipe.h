/*
 * wr_pipe: splice one TCP connection (a bufferevent) and one mux stream,
 * both ways, with backpressure and half-close. This is what carries every
 * tunneled connection: on the server a public connection <-> a stream to the
 * client; on the client a stream <-> a connection to the local service.
 *
 * Data moves by evbuffer chain moves, never copied by the pipe:
 *   socket -> stream: the bufferevent's input is moved into the stream's
 *     send queue; while the queue is full (wr_mux_stream_write_full) the
 *     socket is not read, so the kernel's receive window closes on the
 *     sender. Reading resumes from the stream's write callback.
 *   stream -> socket: received stream data is moved into the bufferevent's
 *     output while that holds less than WR_PIPE_OUTPUT_HIGH bytes; above it
 *     the stream is not read, so its window closes and the remote sender
 *     stops. Reading resumes when the output has drained to half the mark.
 *
 * Half-close: EOF on the socket queues FIN on the stream (after the queued
 * data) while stream -> socket goes on; FIN on the stream becomes
 * shutdown(SHUT_WR) on the socket once its output has been written, while
 * socket -> stream goes on. The pipe ends cleanly when both have happened.
 *
 * Failure: a socket error (or timeout, if the application set timeouts on
 * the bufferevent) resets the stream (WR_RST_CANCEL); a stream reset (by the
 * peer, by the mux, or the session dying) closes the socket at once. Either
 * way the socket is closed with SO_LINGER {1, 0}, so that a TCP peer sees
 * RST, never a FIN it could take for the end of a complete response.
 *
 * Writing to a socket whose peer has gone raises SIGPIPE (libevent writes
 * with writev, which cannot take MSG_NOSIGNAL): the process must ignore
 * SIGPIPE, and the pipe then sees EPIPE as a socket error.
 *
 * Threading: a pipe belongs to the worker whose event_base carries both the
 * bufferevent and the stream's session; every function here is called on
 * that thread only.
 */
#ifndef WR_PIPE_H
#define WR_PIPE_H

#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "wr_mux.h"

/* Socket output bytes above which the pipe stops reading the stream. The
 * bufferevent's write low watermark is set to half of it. */
#define WR_PIPE_OUTPUT_HIGH (256 * 1024)

typedef struct wr_pipe wr_pipe_t;

typedef struct {
    uint64_t bytes_in;  /* socket -> stream, preread bytes included */
    uint64_t bytes_out; /* stream -> socket, handed to the socket's output */
    uint32_t reset;     /* the stream's reset reason (WR_RST_*) when the peer reset it */
} wr_pipe_stats_t;

/*
 * Called once when the pipe has ended: both directions finished (reason
 * NULL), or either side failed (reason is a short text for logs, such as
 * "stream reset" or "socket error: Connection reset by peer", valid only
 * during the call). By then the pipe has released the stream and freed the
 * bufferevent (closing its socket); st holds the final counts. The pipe
 * itself is freed when the callback returns: p is valid during the call only
 * (wr_pipe_free(p) inside it is allowed and does nothing). The callback may
 * free arg, close other pipes, or free the session.
 */
typedef void (*wr_pipe_done_cb)(wr_pipe_t *p, const char *reason, const wr_pipe_stats_t *st,
                                void *arg);

/*
 * Start splicing bev and s.
 *   bev: a connected socket bufferevent (bufferevent_socket_new) created
 *     with BEV_OPT_CLOSE_ON_FREE, on the same event_base as the stream's
 *     session. Not a filtering one (TLS): the half-close is shutdown(2) on
 *     its fd. The pipe takes it over: it sets its callbacks, watermarks and
 *     enabled events, and frees it (libevent 2.1 closes the fd from the next
 *     loop iteration). Bytes already in its input are sent on the stream,
 *     after preread.
 *   s: a held stream that is not dead. The pipe takes the handle over: it
 *     sets the stream's callbacks and gives it back with
 *     wr_mux_stream_close(); the caller must not use it any more. Data and
 *     FIN already received on it are delivered.
 *   preread: bytes read from the socket before the pipe existed (e.g. a
 *     peeked header), sent first on the stream; NULL for none. Its content
 *     is moved out (left empty); the caller keeps and frees the evbuffer.
 *   done, arg: see wr_pipe_done_cb; done may be NULL. done is never called
 *     from inside wr_pipe_new().
 * Returns the pipe, or NULL on failure (out of memory, dead stream, bev on
 * another base), having freed bev and reset and closed the stream.
 */
wr_pipe_t *wr_pipe_new(struct bufferevent *bev, wr_mux_stream_t *s, struct evbuffer *preread,
                       wr_pipe_done_cb done, void *arg);

/*
 * Abort: reset the stream (WR_RST_CANCEL), close the socket with RST
 * (SO_LINGER {1, 0}) and free the pipe. done is not called. NULL is
 * ignored; inside the pipe's own done callback this does nothing.
 */
void wr_pipe_free(wr_pipe_t *p);

/* Copy the byte counts so far into st. */
void wr_pipe_get_stats(const wr_pipe_t *p, wr_pipe_stats_t *st);

#endif
