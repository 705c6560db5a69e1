/*
 * tcpbulk: the direct-TCP baseline for the mux benchmarks. Same shape as
 * muxpeer --drive/--echo, but one plain TCP connection per stream:
 *
 *   tcpbulk --listen ADDR                       echo every connection
 *   tcpbulk --connect ADDR --streams N --bytes B  N connections, B bytes
 *                                               each way, prints MB/s
 *   tcpbulk --connect ADDR --rtt N [--size S]   one connection, N round
 *                                               trips of S bytes (64), p50/p99
 *   tcpbulk --connect ADDR --hold N             N connections, 1 byte echoed
 *                                               on each, then held open
 *
 * --hold prints "N held" once every connection has had its byte back, then
 * keeps them all open and idle until SIGTERM or SIGINT (exit 0). Signals
 * rather than stdin EOF, so that a benchmark can run it in the background
 * without a pipe to keep open. A held connection that the peer closes is a
 * failure (exit 1): an idle tunnel must not drop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "wr_conf.h"
#include "wr_net.h"

#define TB_CHUNK (64 * 1024)

typedef struct {
    struct bufferevent *bev;
    uint64_t sent, recvd;
} tb_conn_t;

static uint64_t tb_bytes = 1 << 20;
static int tb_left;
static struct event_base *tb_base;
static int tb_failed; /* --hold: a connection failed or was closed */

/* The same per-call limits as a mux session's socket (libevent's default
 * is 16 KiB per read or write), so that the baseline is not the slower. */
static void tb_tune(struct bufferevent *bev)
{
    bufferevent_set_max_single_read(bev, 256 * 1024);
    bufferevent_set_max_single_write(bev, 1024 * 1024);
}

static void tb_echo_read(struct bufferevent *bev, void *arg)
{
    struct bufferevent *self = bev;
    bufferevent_write_buffer(self, bufferevent_get_input(self));
    if (evbuffer_get_length(bufferevent_get_output(self)) > 4 * 1024 * 1024)
        bufferevent_disable(self, EV_READ);
}

static void tb_echo_write(struct bufferevent *bev, void *arg)
{
    bufferevent_enable(bev, EV_READ);
}

static void tb_echo_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void tb_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(tb_base, fd, BEV_OPT_CLOSE_ON_FREE);

    /* wr_sock_tune sets TCP_NODELAY: without it, an echoed small message
     * can wait for the peer's delayed ACK (up to 40 ms on Linux) and --rtt
     * would measure that timer instead of the path. Bulk echo is unaffected:
     * its writes are far larger than a segment. */
    wr_sock_tune(fd, 128 * 1024);
    tb_tune(bev);
    bufferevent_setcb(bev, tb_echo_read, tb_echo_write, tb_echo_event, NULL);
    bufferevent_setwatermark(bev, EV_WRITE, 1024 * 1024, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void tb_fill(tb_conn_t *c)
{
    static char zero[TB_CHUNK];
    struct evbuffer *out = bufferevent_get_output(c->bev);

    while (c->sent < tb_bytes && evbuffer_get_length(out) < 1024 * 1024) {
        size_t n = tb_bytes - c->sent < TB_CHUNK ? tb_bytes - c->sent : TB_CHUNK;
        evbuffer_add(out, zero, n);
        c->sent += n;
    }
}

static void tb_read(struct bufferevent *bev, void *arg)
{
    tb_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    c->recvd += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->recvd >= tb_bytes) {
        bufferevent_free(bev);
        c->bev = NULL;
        if (--tb_left == 0)
            event_base_loopexit(tb_base, NULL);
    }
}

static void tb_write(struct bufferevent *bev, void *arg)
{
    tb_fill(arg);
}

static void tb_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fprintf(stderr, "tcpbulk: connection ended early\n");
        exit(1);
    }
}

static uint64_t tb_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int tb_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static uint64_t tb_pct(const uint64_t *v, size_t n, unsigned p)
{
    size_t rank = (n * p + 99) / 100;
    return v[rank > 0 ? rank - 1 : 0];
}

/* Send or receive exactly len bytes on a blocking socket. 0, or -1 with a
 * message printed (a timeout shows as EAGAIN, from SO_RCVTIMEO). */
static int tb_full(int fd, char *buf, size_t len, int sending)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = sending ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                            : recv(fd, buf + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        fprintf(stderr, "tcpbulk: %s: %s\n", sending ? "send" : "recv",
                n == 0 ? "connection closed by peer" : strerror(errno));
        return -1;
    }
    return 0;
}

/* --rtt: ping-pong on one blocking socket, no event loop, so that the
 * figure is the path's round trip and not libevent's. The first
 * min(1000, n / 10) round trips warm up caches, the allocator and every
 * process on the path (through a tunnel, four of them) and are not counted. A
 * message is sent whole before its echo is read, so S must fit in the
 * socket buffers of the path (a few hundred KiB on loopback). */
static int tb_rtt(const wr_addr_t *addr, uint64_t n, uint64_t size)
{
    uint64_t warm = n / 10 < 1000 ? n / 10 : 1000;
    uint64_t *rtt = calloc(n, sizeof(*rtt));
    char *out = malloc(size), *in = malloc(size);
    struct timeval tv = {10, 0}; /* a lost echo fails instead of hanging */
    int fd = wr_connect(addr, 5000);

    if (rtt == NULL || out == NULL || in == NULL) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        return 1;
    }
    if (fd == -1) {
        fprintf(stderr, "tcpbulk: connect: %s\n", strerror(errno));
        return 1;
    }
    wr_sock_tune(fd, 0); /* TCP_NODELAY: each message leaves at once */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
        fprintf(stderr, "tcpbulk: socket setup: %s\n", strerror(errno));
        return 1;
    }
    for (uint64_t i = 0; i < size; i++)
        out[i] = (char)('a' + i % 26);
    for (uint64_t i = 0; i < warm + n; i++) {
        uint64_t t0 = tb_ns();
        if (tb_full(fd, out, size, 1) != 0 || tb_full(fd, in, size, 0) != 0)
            return 1;
        if (i >= warm)
            rtt[i - warm] = tb_ns() - t0;
        if (memcmp(in, out, size) != 0) {
            fprintf(stderr, "tcpbulk: round trip %llu: echo differs\n", (unsigned long long)i);
            return 1;
        }
    }
    close(fd);
    qsort(rtt, n, sizeof(*rtt), tb_cmp_u64);
    printf("1 passed, 0 failed\n");
    fprintf(stderr, "rtt: p50 %.1f us, p99 %.1f us, max %.1f us (%llu round trips of %llu bytes)\n",
            (double)tb_pct(rtt, n, 50) / 1e3, (double)tb_pct(rtt, n, 99) / 1e3,
            (double)rtt[n - 1] / 1e3, (unsigned long long)n, (unsigned long long)size);
    free(rtt);
    free(out);
    free(in);
    return 0;
}

/* --hold: the connections, their count and the number still to echo. */
static tb_conn_t *tb_conns;
static uint64_t tb_hold_n;

static void tb_hold_read(struct bufferevent *bev, void *arg)
{
    tb_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);

    evbuffer_drain(in, len);
    if (c->recvd == 0 && len > 0 && --tb_left == 0) {
        /* fflush: the script reading this waits on the line, not on exit. */
        printf("%llu held\n", (unsigned long long)tb_hold_n);
        fflush(stdout);
    }
    c->recvd += len;
}

static void tb_hold_event(struct bufferevent *bev, short what, void *arg)
{
    tb_conn_t *c = arg;

    /* Once: the loop still runs the other callbacks of this iteration. */
    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && !tb_failed) {
        fprintf(stderr, "tcpbulk: held connection %llu of %llu %s\n",
                (unsigned long long)(c - tb_conns) + 1, (unsigned long long)tb_hold_n,
                (what & BEV_EVENT_EOF) ? "closed by the peer" : "failed");
        tb_failed = 1;
        event_base_loopexit(tb_base, NULL);
    }
}

static void tb_hold_deadline(evutil_socket_t fd, short what, void *arg)
{
    if (tb_left > 0) {
        fprintf(stderr, "tcpbulk: %llu of %llu connections echoed no byte within 60 s\n",
                (unsigned long long)tb_left, (unsigned long long)tb_hold_n);
        tb_failed = 1;
        event_base_loopexit(tb_base, NULL);
    }
}

static void tb_stop(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(tb_base, NULL);
}

/* --hold: connect one after another (blocking, as the other modes do), send
 * each one byte at once, and let libevent collect the echoes. The loop runs
 * without blocking after every connect so that echoes are read as they
 * come instead of piling up in n receive queues. */
static int tb_hold(const wr_addr_t *addr, uint64_t n)
{
    struct timeval limit = {60, 0};
    struct event *term = evsignal_new(tb_base, SIGTERM, tb_stop, NULL);
    struct event *intr = evsignal_new(tb_base, SIGINT, tb_stop, NULL);
    struct event *deadline = evtimer_new(tb_base, tb_hold_deadline, NULL);

    tb_conns = calloc(n, sizeof(*tb_conns));
    if (tb_conns == NULL || term == NULL || intr == NULL || deadline == NULL ||
        event_add(term, NULL) != 0 || event_add(intr, NULL) != 0 ||
        event_add(deadline, &limit) != 0) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        return 1;
    }
    tb_hold_n = n;
    tb_left = (int)n;
    for (uint64_t i = 0; i < n; i++) {
        int fd = wr_connect(addr, 5000);
        if (fd == -1) {
            fprintf(stderr, "tcpbulk: connect %llu of %llu: %s\n", (unsigned long long)i + 1,
                    (unsigned long long)n, strerror(errno));
            return 1;
        }
        /* A fresh socket's send buffer is empty: one byte always fits. */
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
            fprintf(stderr, "tcpbulk: send on connection %llu: %s\n", (unsigned long long)i + 1,
                    strerror(errno));
            return 1;
        }
        tb_conns[i].bev = bufferevent_socket_new(tb_base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (tb_conns[i].bev == NULL) {
            fprintf(stderr, "tcpbulk: out of memory\n");
            return 1;
        }
        bufferevent_setcb(tb_conns[i].bev, tb_hold_read, NULL, tb_hold_event, &tb_conns[i]);
        bufferevent_enable(tb_conns[i].bev, EV_READ);
        event_base_loop(tb_base, EVLOOP_NONBLOCK);
        if (tb_failed)
            return 1;
    }
    if (n == 0) {
        printf("0 held\n");
        fflush(stdout);
    }
    event_base_dispatch(tb_base);
    for (uint64_t i = 0; i < n; i++)
        bufferevent_free(tb_conns[i].bev);
    event_free(term);
    event_free(intr);
    event_free(deadline);
    free(tb_conns);
    return tb_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *listen_addr = NULL, *connect_addr = NULL;
    uint64_t streams = 1, rtt = 0, size = 64, hold = 0;
    int have_hold = 0;
    wr_addr_t addr;
    char why[160];
    struct timespec t0, t1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            listen_addr = argv[i + 1];
        else if (strcmp(argv[i], "--connect") == 0)
            connect_addr = argv[i + 1];
        else if (strcmp(argv[i], "--streams") == 0)
            wr_parse_size(argv[i + 1], &streams);
        else if (strcmp(argv[i], "--bytes") == 0)
            wr_parse_size(argv[i + 1], &tb_bytes);
        else if (strcmp(argv[i], "--rtt") == 0)
            wr_parse_size(argv[i + 1], &rtt);
        else if (strcmp(argv[i], "--size") == 0)
            wr_parse_size(argv[i + 1], &size);
        else if (strcmp(argv[i], "--hold") == 0)
            have_hold = wr_parse_size(argv[i + 1], &hold) == 0;
    }
    if ((listen_addr == NULL) == (connect_addr == NULL) || size == 0 || (rtt > 0 && have_hold) ||
        hold > INT32_MAX) {
        fprintf(stderr, "usage: tcpbulk --listen ADDR\n"
                        "       tcpbulk --connect ADDR --streams N --bytes B\n"
                        "       tcpbulk --connect ADDR --rtt N [--size S]\n"
                        "       tcpbulk --connect ADDR --hold N   (until SIGTERM or SIGINT)\n");
        return 2;
    }
    if (wr_addr_parse(listen_addr ? listen_addr : connect_addr, &addr, why, sizeof(why)) != 0) {
        fprintf(stderr, "tcpbulk: %s\n", why);
        return 2;
    }
    tb_base = event_base_new();
    if (listen_addr) {
        int fd = wr_listen(&addr, 1024);
        if (fd == -1) {
            fprintf(stderr, "tcpbulk: listen: %s\n", strerror(errno));
            return 1;
        }
        evconnlistener_new(tb_base, tb_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        fprintf(stderr, "listening on %s\n", wr_addr_format(&addr, why, sizeof(why)));
        event_base_dispatch(tb_base);
        return 0;
    }
    if (rtt > 0)
        return tb_rtt(&addr, rtt, size);
    if (have_hold)
        return tb_hold(&addr, hold);
    tb_conn_t *conns = calloc(streams, sizeof(*conns));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < streams; i++) {
        int fd = wr_connect(&addr, 5000);
        if (fd == -1) {
            fprintf(stderr, "tcpbulk: connect: %s\n", strerror(errno));
            return 1;
        }
        wr_sock_tune(fd, 128 * 1024);
        conns[i].bev = bufferevent_socket_new(tb_base, fd, BEV_OPT_CLOSE_ON_FREE);
        tb_tune(conns[i].bev);
        bufferevent_setcb(conns[i].bev, tb_read, tb_write, tb_event, &conns[i]);
        bufferevent_setwatermark(conns[i].bev, EV_WRITE, 512 * 1024, 0);
        bufferevent_enable(conns[i].bev, EV_READ | EV_WRITE);
        tb_fill(&conns[i]);
    }
    tb_left = (int)streams;
    event_base_dispatch(tb_base);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu passed, 0 failed\n", (unsigned long long)streams);
    fprintf(stderr, "throughput: %.1f MB/s (%llu streams x %llu bytes each way in %.3f s)\n",
            (double)tb_bytes * (double)streams / 1e6 / secs, (unsigned long long)streams,
            (unsigned long long)tb_bytes, secs);
    free(conns);
    event_base_free(tb_base);
    return 0;
}
