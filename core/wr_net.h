/*
 * wr_net: small socket helpers shared by the server, the client and tools.
 * All functions are thread-safe (they keep no state).
 */
#ifndef WR_NET_H
#define WR_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    struct sockaddr_storage ss;
    socklen_t len;
} wr_addr_t;

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT" (all addresses) into addr,
 * resolving HOST numerically or through getaddrinfo. 0, or -1 with a reason
 * in why ("expected HOST:PORT", "bad port '99999'", resolver message). */
int wr_addr_parse(const char *text, wr_addr_t *addr, char *why, size_t whylen);

/* "127.0.0.1:8080" / "[::1]:8080" into buf. Returns buf. */
const char *wr_addr_format(const wr_addr_t *addr, char *buf, size_t len);

/* The port of an IPv4 or IPv6 address, and setting it (host order). */
uint16_t wr_addr_port(const wr_addr_t *addr);
void wr_addr_set_port(wr_addr_t *addr, uint16_t port);

/* The address part of a formatted "ip:port" or "[v6]:port" into ip ("::1",
 * "127.0.0.1"); peer itself when it has no port. */
void wr_peer_ip(const char *peer, char *ip, size_t len);

/* A non-blocking, close-on-exec listening socket with SO_REUSEADDR, bound to
 * addr (whose port is filled in when it was 0). fd, or -1 with errno set. */
int wr_listen(wr_addr_t *addr, int backlog);

/* A blocking connect with a timeout in ms; the fd is returned non-blocking
 * and close-on-exec. fd, or -1 with errno set. */
int wr_connect(const wr_addr_t *addr, int timeout_ms);

/* Tune a TCP socket that carries a session: no Nagle delay, and at most
 * notsent_lowat unsent bytes queued in the kernel (0: leave the default) so
 * that priorities decided in user space are not undone by a deep kernel
 * queue. Best effort: failures are ignored. */
void wr_sock_tune(int fd, int notsent_lowat);

/* Let a bufferevent that carries bulk data write 1 MiB per call (libevent's
 * default is 16 KiB). Its read setting (256 KiB) only matters from libevent
 * 2.2 on: 2.1 reads at most 4 KiB per call whatever it says, see
 * wr_bev_read_rest. */
struct bufferevent;
struct evbuffer;
void wr_bev_bulk(struct bufferevent *bev);

/* libevent 2.1 reads a socket at most 4096 bytes per wake-up
 * (EVBUFFER_MAX_READ, whatever bufferevent_set_max_single_read says), so a
 * 100 KiB response costs 25 rounds of epoll_wait, FIONREAD and readv at each
 * end. Called first thing in a plain socket bufferevent's read callback:
 * when the input holds 4 KiB or more, the read that brought it was probably
 * cut short, so the rest is read now (FIONREAD, then one readv), up to
 * `limit` bytes in the input in all. Small messages never reach 4 KiB and
 * cost nothing more.
 * Does nothing for a TLS bufferevent, one whose reading is off, or a filter.
 * End of file and errors are left for libevent's next read to report.
 * Returns the bytes added. */
size_t wr_bev_read_rest(struct bufferevent *bev, size_t limit);

/* The same without the 4 KiB test: read what the socket holds now, up to
 * `limit` bytes in the input, for a caller that knows more is due (the rest
 * of a large frame). */
size_t wr_bev_read_avail(struct bufferevent *bev, size_t limit);

/* What wr_bev_read_avail reads per readv: with a response head of up to
 * 4 KiB, still inside one 64 KiB mux frame. */
#define WR_BEV_READ_PIECE (60 * 1024)

/* The read limit for wr_bev_read_rest on bulk connections. */
#define WR_BEV_READ_REST (256 * 1024)

/* The socket of a plain socket bufferevent; -1 for TLS, a filter or a
 * pair. */
int wr_bev_plain_fd(struct bufferevent *bev);

/* Append src to bev's output, writing first what the socket takes at once
 * when that output is empty. A bufferevent arms its write event
 * (epoll_ctl) as data is added and disarms it once written, so each small
 * message forwarded used to cost two epoll_ctl calls and a second turn of
 * the event loop; written here, it costs one writev. What the socket does
 * not take (and everything, for TLS, filters, a non-empty output or writing
 * turned off) goes to the output as before. When that write fails for good
 * (ECONNRESET, EPIPE...), bev is treated as after a failed write of
 * libevent's: writing is turned off (the rest stays in the output) and the
 * event callback gets BEV_EVENT_WRITING | BEV_EVENT_ERROR with that errno,
 * from the loop, never from inside this call. src is empty on return (src
 * may be the output itself: nothing to do). Only for a connected socket: a
 * write would consume a pending connect error.
 * Returns 0, or -1 when the output could not take the rest (dropped). */
int wr_bev_send(struct bufferevent *bev, struct evbuffer *src);

/* An empty buffer of the calling thread, for a caller that gathers output
 * to hand to wr_bev_send before it returns (and must leave it empty); NULL
 * when out of memory. */
struct evbuffer *wr_net_scratch(void);

/* Where to gather what is to be sent on bev: the thread's scratch buffer
 * while bev's output is empty (wr_bev_send may then write it at once),
 * else, or without a scratch buffer, bev's output itself (wr_bev_send then
 * has nothing to do), so that nothing overtakes bytes already queued. */
struct evbuffer *wr_bev_gather(struct bufferevent *bev);

/* What libevent 2.1 reads per call at most (EVBUFFER_MAX_READ): a read
 * that brought this much was probably cut short. */
#define WR_BEV_READ_LARGE 4096

#endif
