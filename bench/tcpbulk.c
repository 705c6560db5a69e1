/*
 * tcpbulk: the direct-TCP baseline for the mux benchmarks. Same shape as
 * muxpeer --drive/--echo, but one plain TCP connection per stream:
 *
 *   tcpbulk --listen ADDR                       echo every connection
 *   tcpbulk --connect ADDR --streams N --bytes B  N connections, B bytes
 *                                               each way, prints MB/s
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
    const char *listen_addr = NULL, *connect_addr = NULL;
    uint64_t streams = 1;
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
    }
    if ((listen_addr == NULL) == (connect_addr == NULL)) {
        fprintf(stderr, "usage: tcpbulk --listen ADDR | --connect ADDR --streams N --bytes B\n");
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
