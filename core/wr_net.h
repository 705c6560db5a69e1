/*
 * wr_net: small socket helpers shared by the server, the client and tools.
 * All functions are thread-safe (they keep no state).
 */
#ifndef WR_NET_H
#define WR_NET_H

#include <stddef.h>
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

/* Let a bufferevent that carries bulk data read 256 KiB and write 1 MiB
 * per call (libevent's default is 16 KiB: four times the system calls and
 * wake-ups for the same bytes). */
struct bufferevent;
void wr_bev_bulk(struct bufferevent *bev);

#endif
