/*
 * Unit tests for core/wr_net.c's reading past libevent's 4 KiB cut
 * (wr_bev_read_rest, wr_bev_read_avail) and its direct writes
 * (wr_bev_send), on real loopback TCP connections: the test holds one end
 * with a plain socket, a socket bufferevent the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "wr_net.h"
#include "wr_test.h"

typedef struct {
    size_t limit;   /* passed to wr_bev_read_rest */
    size_t before;  /* input length when the first callback ran */
    size_t added;   /* what wr_bev_read_rest added then */
    size_t after;   /* input length after it */
    size_t biggest; /* the largest buffer chain in the input then */
    int calls;
    int eof;
} reader_t;

static struct event_base *base;

static void reader_read(struct bufferevent *bev, void *arg)
{
    reader_t *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_iovec v[64];
    int n;

    if (r->calls++ > 0)
        return; /* only the first callback is measured; the rest stays */
    r->before = evbuffer_get_length(in);
    r->added = wr_bev_read_rest(bev, r->limit);
    r->after = evbuffer_get_length(in);
    n = evbuffer_peek(in, -1, NULL, v, 64);
    for (int i = 0; i < n && i < 64; i++)
        r->biggest = v[i].iov_len > r->biggest ? v[i].iov_len : r->biggest;
    event_base_loopbreak(base);
}

static void reader_event(struct bufferevent *bev, short what, void *arg)
{
    reader_t *r = arg;

    if (what & BEV_EVENT_EOF)
        r->eof = 1;
    event_base_loopbreak(base);
}

/* A connected loopback pair: *tx is the test's blocking end, the returned
 * bufferevent reads the other. */
static struct bufferevent *pair(int *tx, reader_t *r)
{
    wr_addr_t a;
    char why[128];
    int lfd, rfd, sz = 1 << 20;
    struct bufferevent *bev;

    ck_assert_int_eq(wr_addr_parse("127.0.0.1:0", &a, why, sizeof(why)), 0);
    lfd = wr_listen(&a, 4);
    ck_assert_int_ge(lfd, 0);
    *tx = wr_connect(&a, 2000);
    ck_assert_int_ge(*tx, 0);
    ck_assert_int_eq(fcntl(*tx, F_SETFL, fcntl(*tx, F_GETFL) & ~O_NONBLOCK), 0);
    (void)setsockopt(*tx, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    do
        rfd = accept(lfd, NULL, NULL);
    while (rfd == -1 && (errno == EAGAIN || errno == EINTR));
    ck_assert_int_ge(rfd, 0);
    close(lfd);
    (void)setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    evutil_make_socket_nonblocking(rfd);
    bev = bufferevent_socket_new(base, rfd, BEV_OPT_CLOSE_ON_FREE);
    ck_assert_ptr_nonnull(bev);
    wr_bev_bulk(bev);
    bufferevent_setcb(bev, reader_read, NULL, reader_event, r);
    return bev;
}

static void send_all(int fd, size_t len)
{
    static char chunk[16384];
    size_t done = 0;

    memset(chunk, 'w', sizeof(chunk));
    while (done < len) {
        size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
        ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
        ck_assert_int_gt(w, 0);
        done += (size_t)w;
    }
}

/* Wait (bounded) until the receiving socket holds at least len bytes, so
 * that one read callback finds them all. */
static void settle(struct bufferevent *bev, size_t len)
{
    for (int i = 0; i < 200; i++) {
        int avail = 0;
        if (ioctl(bufferevent_getfd(bev), FIONREAD, &avail) == 0 && (size_t)avail >= len)
            return;
        usleep(5000);
    }
}

/* Send len bytes into the pair, let them all arrive, and run the loop
 * until the reader's first callback (or an event). */
static void first_read(struct bufferevent *bev, int tx, size_t len)
{
    send_all(tx, len);
    settle(bev, len);
    bufferevent_enable(bev, EV_READ);
    event_base_dispatch(base);
}

static void setup(void)
{
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
    event_base_free(base);
}

START_TEST(test_net__read_rest_takes_what_libevent_left)
{
    reader_t r = {.limit = WR_BEV_READ_REST};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);

    first_read(bev, tx, 200 * 1024);
    ck_assert_int_eq(r.calls, 1);
    /* libevent 2.1 stops at 4 KiB; one more read brought everything else. */
    ck_assert_uint_eq(r.before, 4096);
    ck_assert_uint_eq(r.after, 200 * 1024);
    ck_assert_uint_eq(r.added, 200 * 1024 - 4096);
    /* Read in pieces that a 64 KiB mux frame carries whole. */
    ck_assert_uint_le(r.biggest, 65535);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__read_rest_stops_at_the_limit)
{
    reader_t r = {.limit = 64 * 1024};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);

    first_read(bev, tx, 200 * 1024);
    ck_assert_uint_eq(r.after, 64 * 1024);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__read_rest_leaves_small_reads_alone)
{
    reader_t r = {.limit = WR_BEV_READ_REST};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);

    first_read(bev, tx, 1000);
    ck_assert_uint_eq(r.before, 1000);
    ck_assert_uint_eq(r.added, 0);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__read_rest_leaves_eof_to_libevent)
{
    reader_t r = {.limit = WR_BEV_READ_REST};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);

    send_all(tx, 50 * 1024);
    ck_assert_int_eq(shutdown(tx, SHUT_WR), 0);
    settle(bev, 50 * 1024);
    bufferevent_enable(bev, EV_READ);
    event_base_dispatch(base);
    ck_assert_uint_eq(r.after, 50 * 1024);
    ck_assert_int_eq(r.eof, 0);
    /* The end of the stream is still reported, by libevent's next read. */
    event_base_dispatch(base);
    ck_assert_int_eq(r.eof, 1);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__read_rest_does_nothing_when_reading_is_off)
{
    reader_t r = {.limit = WR_BEV_READ_REST};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);
    struct evbuffer *in = bufferevent_get_input(bev);

    send_all(tx, 20 * 1024);
    settle(bev, 20 * 1024);
    /* Flow control turned reading off: nothing may be read behind its back,
     * even with 4 KiB or more already in the input. */
    evbuffer_unfreeze(in, 0);
    evbuffer_add(in, memset((char[8192]){0}, 'x', 8192), 8192);
    evbuffer_freeze(in, 0);
    ck_assert_uint_eq(wr_bev_read_rest(bev, WR_BEV_READ_REST), 0);
    ck_assert_uint_eq(evbuffer_get_length(in), 8192);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

/* What the test's end has received so far, without waiting long. */
static size_t recv_now(int fd, char *buf, size_t len)
{
    size_t got = 0;

    for (int idle = 0; idle < 20 && got < len;) {
        ssize_t n =
            recv(fd, buf ? buf + got : (char[65536]){0}, buf ? len - got : 65536, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
        } else {
            idle++;
            usleep(2000);
        }
    }
    return got;
}

START_TEST(test_net__send_writes_an_idle_socket_at_once)
{
    reader_t r = {0};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);
    struct evbuffer *src = evbuffer_new();
    char got[1000];

    evbuffer_add(src, memset((char[1000]){0}, 'a', 1000), 1000);
    ck_assert_int_eq(wr_bev_send(bev, src), 0);
    ck_assert_uint_eq(evbuffer_get_length(src), 0);
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(bev)), 0);
    /* On the wire without the event loop running. */
    ck_assert_uint_eq(recv_now(tx, got, sizeof(got)), sizeof(got));
    ck_assert_int_eq(got[0], 'a');
    ck_assert_int_eq(got[999], 'a');
    evbuffer_free(src);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

static void writer_drained(struct bufferevent *bev, void *arg)
{
    event_base_loopbreak(base);
}

START_TEST(test_net__send_queues_behind_pending_output)
{
    reader_t r = {0};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);
    struct evbuffer *src = evbuffer_new();
    struct timeval limit = {5, 0};
    char got[8];

    bufferevent_setcb(bev, NULL, writer_drained, reader_event, &r);
    bufferevent_write(bev, "abc", 3);
    evbuffer_add(src, "defg", 4);
    ck_assert_int_eq(wr_bev_send(bev, src), 0);
    ck_assert_uint_eq(evbuffer_get_length(src), 0);
    /* Nothing may overtake "abc": all of it waits for libevent's write. */
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(bev)), 7);
    ck_assert_uint_eq(recv_now(tx, got, sizeof(got)), 0);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    ck_assert_uint_eq(recv_now(tx, got, 7), 7);
    ck_assert_mem_eq(got, "abcdefg", 7);
    evbuffer_free(src);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__send_leaves_what_the_socket_refuses_in_the_output)
{
    reader_t r = {0};
    int tx, small = 4096;
    struct bufferevent *bev = pair(&tx, &r);
    struct evbuffer *src = evbuffer_new();
    size_t total = 8u << 20, queued, got;
    char *big = malloc(total);

    ck_assert_ptr_nonnull(big);
    memset(big, 'z', total);
    (void)setsockopt(tx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    (void)setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    evbuffer_add(src, big, total);
    ck_assert_int_eq(wr_bev_send(bev, src), 0);
    ck_assert_uint_eq(evbuffer_get_length(src), 0);
    queued = evbuffer_get_length(bufferevent_get_output(bev));
    ck_assert_uint_gt(queued, 0);
    ck_assert_uint_lt(queued, total);
    got = recv_now(tx, NULL, total);
    /* What was written at once, and nothing of the rest. */
    ck_assert_uint_eq(got + queued, total);
    free(big);
    evbuffer_free(src);
    bufferevent_free(bev);
    close(tx);
}
END_TEST

START_TEST(test_net__send_only_queues_without_a_plain_socket)
{
    struct bufferevent *p[2];
    struct evbuffer *src = evbuffer_new(), *scratch = wr_net_scratch();

    ck_assert_int_eq(bufferevent_pair_new(base, 0, p), 0);
    /* Gathered in the scratch buffer while the output is empty. */
    ck_assert_ptr_eq(wr_bev_gather(p[0]), scratch);
    evbuffer_add(src, "xyz", 3);
    ck_assert_int_eq(wr_bev_plain_fd(p[0]), -1);
    ck_assert_int_eq(wr_bev_send(p[0], src), 0);
    ck_assert_uint_eq(evbuffer_get_length(src), 0);
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(p[0])), 3);
    /* Behind queued bytes, in the output itself, so nothing overtakes
     * them; as a source that is nothing to do. */
    ck_assert_ptr_eq(wr_bev_gather(p[0]), bufferevent_get_output(p[0]));
    ck_assert_int_eq(wr_bev_send(p[0], bufferevent_get_output(p[0])), 0);
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(p[0])), 3);
    /* One scratch buffer per thread, left empty by a send that could
     * only queue. */
    ck_assert_ptr_nonnull(scratch);
    ck_assert_ptr_eq(wr_net_scratch(), scratch);
    ck_assert_ptr_eq(wr_bev_gather(p[1]), scratch);
    evbuffer_add(scratch, "uvw", 3);
    ck_assert_int_eq(wr_bev_send(p[1], scratch), 0);
    ck_assert_uint_eq(evbuffer_get_length(scratch), 0);
    ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(p[1])), 3);
    evbuffer_free(src);
    bufferevent_free(p[0]);
    bufferevent_free(p[1]);
}
END_TEST

typedef struct {
    int calls;
    short what;
    int err; /* errno when the event callback ran */
} events_t;

static void count_event(struct bufferevent *bev, short what, void *arg)
{
    events_t *e = arg;

    e->calls++;
    e->what = what;
    e->err = EVUTIL_SOCKET_ERROR();
}

START_TEST(test_net__send_reports_the_peers_reset)
{
    events_t e = {0};
    struct linger lg = {1, 0};
    struct pollfd pfd = {.events = POLLIN};
    struct timeval limit = {0, 200000};
    reader_t r = {0};
    int tx;
    struct bufferevent *bev = pair(&tx, &r);
    struct evbuffer *src = evbuffer_new();

    /* As warren does: a write to a dead socket fails with EPIPE instead of
     * ending the process. */
    signal(SIGPIPE, SIG_IGN);
    bufferevent_setcb(bev, NULL, NULL, count_event, &e);
    /* The peer resets the connection, and the RST is in before the write. */
    ck_assert_int_eq(setsockopt(tx, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(tx);
    pfd.fd = bufferevent_getfd(bev);
    ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    evbuffer_add(src, "too late", 8);
    ck_assert_int_eq(wr_bev_send(bev, src), 0);
    ck_assert_uint_eq(evbuffer_get_length(src), 0);
    /* Told from the loop, not from inside wr_bev_send. */
    ck_assert_int_eq(e.calls, 0);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    /* Once, with the peer's reset: not the EPIPE that writing to the
     * socket again would get. */
    ck_assert_int_eq(e.calls, 1);
    ck_assert_int_eq(e.what, BEV_EVENT_WRITING | BEV_EVENT_ERROR);
    ck_assert_msg(e.err == ECONNRESET, "the event callback got errno %d (%s), not ECONNRESET",
                  e.err, strerror(e.err));
    evbuffer_free(src);
    bufferevent_free(bev);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_net__read_rest_takes_what_libevent_left);
    tcase_add_test(tc, test_net__read_rest_stops_at_the_limit);
    tcase_add_test(tc, test_net__read_rest_leaves_small_reads_alone);
    tcase_add_test(tc, test_net__read_rest_leaves_eof_to_libevent);
    tcase_add_test(tc, test_net__read_rest_does_nothing_when_reading_is_off);
    tcase_add_test(tc, test_net__send_writes_an_idle_socket_at_once);
    tcase_add_test(tc, test_net__send_queues_behind_pending_output);
    tcase_add_test(tc, test_net__send_leaves_what_the_socket_refuses_in_the_output);
    tcase_add_test(tc, test_net__send_only_queues_without_a_plain_socket);
    tcase_add_test(tc, test_net__send_reports_the_peers_reset);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(net_suite)
