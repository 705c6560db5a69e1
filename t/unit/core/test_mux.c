/*
 * Unit tests for core/wr_mux.c: two sessions over a socketpair in one event
 * loop, or one session against raw bytes written by the test.
 */
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "wr_frame.h"
#include "wr_log.h"
#include "wr_mux.h"
#include "wr_test.h"

static struct event_base *base;

typedef struct {
    wr_mux_t *m;
    int closed;
    char reason[160];
    int accepted;
    int events; /* stream events (resets) seen by accepted streams */
    int echo;   /* accepted streams echo */
    int hold;   /* accepted streams are kept but never read */
    wr_mux_stream_t *first, *last;
    int goaway;
    uint32_t goaway_code, goaway_drain;
    int free_in_read;
} side_t;

typedef struct {
    struct evbuffer *got;
    int eof, reset;
} sink_t;

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until *flag becomes non-zero or ms pass; returns *flag. */
static int run_until(volatile int *flag, int ms)
{
    struct timespec t0, t;
    struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {0, 5000};

    event_add(ev, &tv);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!*flag) {
        event_base_loop(base, EVLOOP_ONCE);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
            break;
    }
    event_free(ev);
    return *flag;
}

static void run_for(int ms)
{
    int never = 0;
    run_until(&never, ms);
}

static void echo_cb(wr_mux_stream_t *s, void *arg)
{
    struct evbuffer *tmp;

    if (wr_mux_stream_write_full(s))
        return; /* resumed from the write callback */
    tmp = evbuffer_new();
    if (wr_mux_stream_read(s, tmp, SIZE_MAX) > 0)
        wr_mux_stream_write_buffer(s, tmp);
    evbuffer_free(tmp);
    if (wr_mux_stream_eof(s))
        wr_mux_stream_close(s);
}

static void close_on_event(wr_mux_stream_t *s, int ev, void *arg)
{
    side_t *side = arg;
    if (side)
        side->events++;
    if (side && side->last == s)
        side->last = NULL;
    if (side && side->first == s)
        side->first = NULL;
    wr_mux_stream_close(s);
}

static void free_in_read_cb(wr_mux_stream_t *s, void *arg)
{
    side_t *side = arg;
    wr_mux_free(side->m);
    side->m = NULL;
    side->closed = 1;
}

static int side_accept(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    side_t *side = arg;

    side->accepted++;
    if (side->first == NULL)
        side->first = s;
    side->last = s;
    if (side->free_in_read)
        wr_mux_stream_setcb(s, free_in_read_cb, NULL, close_on_event, side);
    else if (side->echo)
        wr_mux_stream_setcb(s, echo_cb, echo_cb, close_on_event, side);
    else
        wr_mux_stream_setcb(s, NULL, NULL, close_on_event, side);
    return 0;
}

static void side_closed(wr_mux_t *m, const char *reason, void *arg)
{
    side_t *side = arg;

    side->closed = 1;
    snprintf(side->reason, sizeof(side->reason), "%s", reason);
    wr_mux_free(m);
    side->m = NULL;
}

static void side_goaway(wr_mux_t *m, uint32_t code, uint32_t drain, void *arg)
{
    side_t *side = arg;
    side->goaway = 1;
    side->goaway_code = code;
    side->goaway_drain = drain;
}

static const wr_mux_callbacks_t side_cbs = {side_accept, side_closed, side_goaway};

static void sink_read(wr_mux_stream_t *s, void *arg)
{
    sink_t *k = arg;
    wr_mux_stream_read(s, k->got, SIZE_MAX);
    if (wr_mux_stream_eof(s))
        k->eof = 1;
}

static void sink_event(wr_mux_stream_t *s, int ev, void *arg)
{
    sink_t *k = arg;
    k->reset = 1;
}

static wr_mux_t *mux_on_fd(int fd, wr_mux_config_t *cfg, side_t *side)
{
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    wr_mux_t *m = wr_mux_new(base, bev, cfg, &side_cbs, side);

    ck_assert_ptr_nonnull(m);
    side->m = m;
    return m;
}

/* A client and a server session over a socketpair. */
static void pair(wr_mux_proto_t proto, wr_mux_config_t *ccfg, wr_mux_config_t *scfg, side_t *c,
                 side_t *s)
{
    int sv[2];
    wr_mux_config_t dc, ds;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    if (ccfg == NULL) {
        wr_mux_config_default(&dc);
        ccfg = &dc;
    }
    if (scfg == NULL) {
        wr_mux_config_default(&ds);
        scfg = &ds;
    }
    ccfg->proto = proto;
    ccfg->is_server = 0;
    scfg->proto = proto;
    scfg->is_server = 1;
    mux_on_fd(sv[0], ccfg, c);
    mux_on_fd(sv[1], scfg, s);
}

static void fill_pattern(struct evbuffer *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(i * 31 + seed);
        evbuffer_add(b, &c, 1);
    }
}

static int same_pattern(struct evbuffer *b, size_t n, unsigned seed)
{
    unsigned char *p;

    if (evbuffer_get_length(b) != n)
        return 0;
    p = evbuffer_pullup(b, -1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)(i * 31 + seed))
            return 0;
    }
    return 1;
}

static void setup(void)
{
    base = event_base_new();
    wr_log_set_level(WR_LOG_ERROR);
}

static void teardown(void)
{
    event_base_free(base);
}

static void echo_roundtrip(wr_mux_proto_t proto, size_t n)
{
    side_t c = {0}, s = {.echo = 1};
    sink_t k = {evbuffer_new(), 0, 0};
    struct evbuffer *data = evbuffer_new();
    wr_mux_stream_t *st;

    pair(proto, NULL, NULL, &c, &s);
    st = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    ck_assert_ptr_nonnull(st);
    wr_mux_stream_setcb(st, sink_read, NULL, sink_event, &k);
    fill_pattern(data, n, 7);
    ck_assert_int_eq(wr_mux_stream_write_buffer(st, data), 0);
    ck_assert_uint_eq(evbuffer_get_length(data), 0); /* moved, not copied */
    ck_assert_int_eq(wr_mux_stream_shutdown(st), 0);
    ck_assert_int_eq(run_until(&k.eof, 5000), 1);
    ck_assert(same_pattern(k.got, n, 7));
    ck_assert_int_eq(k.reset, 0);
    ck_assert_int_eq(wr_mux_proto(c.m), (int)proto);
    ck_assert_int_eq(wr_mux_proto(s.m), (int)proto);
    wr_mux_stream_close(st);
    run_for(20);
    ck_assert_uint_eq(wr_mux_stream_count(s.m), 0);
    ck_assert_uint_eq(wr_mux_stream_count(c.m), 0);
    wr_mux_free(c.m);
    ck_assert_int_eq(run_until(&s.closed, 2000), 1);
    ck_assert_str_eq(s.reason, "peer closed the connection");
    evbuffer_free(k.got);
    evbuffer_free(data);
}

START_TEST(test_mux__echo_warren)
{
    echo_roundtrip(WR_MUX_WARREN, 1 << 20);
}
END_TEST

START_TEST(test_mux__echo_smux1)
{
    echo_roundtrip(WR_MUX_SMUX1, 1 << 20);
}
END_TEST

START_TEST(test_mux__echo_smux2)
{
    echo_roundtrip(WR_MUX_SMUX2, 1 << 20);
}
END_TEST

START_TEST(test_mux__window_limits_sender)
{
    side_t c = {0}, s = {0};
    wr_mux_config_t cc, sc;
    struct evbuffer *data = evbuffer_new(), *got = evbuffer_new();
    wr_mux_stream_t *st;
    int accepted;

    wr_mux_config_default(&cc);
    wr_mux_config_default(&sc);
    sc.stream_window = 64 * 1024;
    pair(WR_MUX_WARREN, &cc, &sc, &c, &s);
    st = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    fill_pattern(data, 1 << 20, 3);
    ck_assert_int_eq(wr_mux_stream_write_buffer(st, data), 0);
    ck_assert_int_eq(wr_mux_stream_write_full(st), 1); /* 1 MiB > 256 KiB send buffer */
    run_for(200);
    accepted = s.accepted;
    ck_assert_int_eq(accepted, 1);
    /* The receiver read nothing: exactly one window is buffered there. */
    ck_assert_uint_eq(wr_mux_stream_readable(s.last), 64 * 1024);
    ck_assert_uint_eq(wr_mux_stream_queued(st), (1 << 20) - 64 * 1024);
    ck_assert_uint_eq(wr_mux_buffered(s.m), 64 * 1024);
    /* Reading opens the window again, until everything has come. */
    for (int i = 0; i < 400 && evbuffer_get_length(got) < (1 << 20); i++) {
        wr_mux_stream_read(s.last, got, SIZE_MAX);
        run_for(5);
    }
    ck_assert(same_pattern(got, 1 << 20, 3));
    ck_assert_uint_eq(wr_mux_buffered(s.m), 0);
    wr_mux_stream_close(st);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
    evbuffer_free(data);
    evbuffer_free(got);
}
END_TEST

START_TEST(test_mux__slow_stream_does_not_block_fast)
{
    side_t c = {0}, s = {.echo = 1};
    sink_t fast = {evbuffer_new(), 0, 0};
    struct evbuffer *data = evbuffer_new();
    wr_mux_stream_t *slow, *f;

    pair(WR_MUX_WARREN, NULL, NULL, &c, &s);
    /* The slow stream's echo is never read by the client. */
    slow = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    fill_pattern(data, 2 << 20, 1);
    wr_mux_stream_write_buffer(slow, data);
    run_for(100);
    f = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    wr_mux_stream_setcb(f, sink_read, NULL, sink_event, &fast);
    fill_pattern(data, 4 << 20, 2);
    wr_mux_stream_write_buffer(f, data);
    wr_mux_stream_shutdown(f);
    ck_assert_int_eq(run_until(&fast.eof, 10000), 1);
    ck_assert(same_pattern(fast.got, 4 << 20, 2));
    /* The slow stream is stalled on its window, not reset. */
    ck_assert_int_eq(wr_mux_stream_dead(slow), 0);
    ck_assert_uint_eq(wr_mux_stream_readable(slow), 256 * 1024);
    ck_assert_uint_gt(wr_mux_stream_queued(slow), 0);
    wr_mux_stream_close(slow);
    wr_mux_stream_close(f);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
    evbuffer_free(fast.got);
    evbuffer_free(data);
}
END_TEST

/* Run the loop until side s has accepted n streams and holds `buffered`
 * unread bytes, 2 s at most. */
static void run_until_held(side_t *s, int n, uint64_t buffered)
{
    for (int i = 0; i < 400 && (s->accepted < n || wr_mux_buffered(s->m) < buffered); i++)
        run_for(5);
    ck_assert_int_eq(s->accepted, n);
    ck_assert_uint_eq(wr_mux_buffered(s->m), buffered);
}

/* Two streams, 64 KiB each, into a session budget of 100 KiB. A's bytes are
 * all at the server, unread, before B is opened; B is accepted by the
 * server's application before any of its bytes are written, so what its
 * bytes meet does not depend on how the server's reads happen to cut them. */
static void budget_case(wr_mux_proto_t proto, sink_t *ka, sink_t *kb, side_t *c, side_t *s,
                        wr_mux_stream_t **a, wr_mux_stream_t **b)
{
    wr_mux_config_t cc, sc;
    struct evbuffer *data = evbuffer_new();

    wr_mux_config_default(&cc);
    wr_mux_config_default(&sc);
    sc.stream_window = 64 * 1024;
    sc.session_budget = 100 * 1024;
    pair(proto, &cc, &sc, c, s);
    *a = wr_mux_stream_open(c->m, WR_PRIO_NORMAL);
    wr_mux_stream_setcb(*a, sink_read, NULL, sink_event, ka);
    fill_pattern(data, 64 * 1024, 1);
    wr_mux_stream_write_buffer(*a, data);
    run_until_held(s, 1, 64 * 1024);
    *b = wr_mux_stream_open(c->m, WR_PRIO_NORMAL);
    wr_mux_stream_setcb(*b, sink_read, NULL, sink_event, kb);
    run_until_held(s, 2, 64 * 1024);
    fill_pattern(data, 64 * 1024, 2);
    wr_mux_stream_write_buffer(*b, data);
    evbuffer_free(data);
}

START_TEST(test_mux__budget_resets_smux_stream_over_it)
{
    side_t c = {0}, s = {0};
    sink_t ka = {evbuffer_new(), 0, 0}, kb = {evbuffer_new(), 0, 0};
    wr_mux_stream_t *a, *b;

    /* A plain smux peer has no session window: the stream that pushes the
     * session over its budget is reset, the others and the session live. */
    budget_case(WR_MUX_SMUX2, &ka, &kb, &c, &s, &a, &b);
    /* smux has no RST: the peer sees the reset stream end with FIN. */
    ck_assert_int_eq(run_until(&kb.eof, 2000), 1);
    ck_assert_int_eq(ka.reset + ka.eof, 0);
    /* The server's application accepted B before B's bytes came, and may
     * have tied something to it (a client connects to its local service
     * on accept): the reset must reach it, once, through B's event
     * callback, which closed B here. (Had the SYN and the overflowing
     * bytes come in one read, B would have died in the accept backlog,
     * never handed over; budget_case orders the bytes so that they do
     * not.) */
    ck_assert_int_eq(s.accepted, 2);
    ck_assert_int_eq(s.events, 1);
    ck_assert_ptr_null(s.last);
    ck_assert_ptr_nonnull(s.first);
    ck_assert_int_eq(wr_mux_stream_dead(s.first), 0);
    ck_assert_uint_eq(wr_mux_buffered(s.m), 64 * 1024);
    ck_assert_int_eq(s.closed, 0);
    wr_mux_stream_close(a);
    wr_mux_stream_close(b);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
    evbuffer_free(ka.got);
    evbuffer_free(kb.got);
}
END_TEST

START_TEST(test_mux__budget_is_a_session_window_for_warren)
{
    side_t c = {0}, s = {0};
    sink_t ka = {evbuffer_new(), 0, 0}, kb = {evbuffer_new(), 0, 0};
    wr_mux_stream_t *a, *b, *sb;
    struct evbuffer *got = evbuffer_new();

    /* A warren sender respects the session window: nothing is reset, the
     * second stream waits until the first one's bytes are read. */
    budget_case(WR_MUX_WARREN, &ka, &kb, &c, &s, &a, &b);
    run_for(100);
    ck_assert_int_eq(kb.reset + ka.reset, 0);
    ck_assert_uint_eq(wr_mux_buffered(s.m), 100 * 1024);
    ck_assert_uint_eq(wr_mux_stream_queued(b), 28 * 1024);
    sb = s.last;
    ck_assert_ptr_nonnull(sb);
    ck_assert_ptr_ne(s.first, sb);
    ck_assert_uint_eq(wr_mux_stream_readable(sb), 36 * 1024);
    /* Reading A's 64 KiB at the server returns session credit: B's rest
     * arrives. */
    ck_assert_uint_eq(wr_mux_stream_read(s.first, got, SIZE_MAX), 64 * 1024);
    run_for(50);
    ck_assert_uint_eq(wr_mux_stream_readable(sb), 64 * 1024);
    ck_assert_uint_eq(wr_mux_stream_queued(b), 0);
    ck_assert_int_eq(kb.reset + ka.reset, 0);
    wr_mux_stream_close(a);
    wr_mux_stream_close(b);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
    evbuffer_free(ka.got);
    evbuffer_free(kb.got);
    evbuffer_free(got);
}
END_TEST

START_TEST(test_mux__stream_limit_and_backlog)
{
    side_t c = {0}, s = {.echo = 1};
    wr_mux_config_t cc, sc;
    sink_t k[4] = {{0}};
    wr_mux_stream_t *st[4];

    wr_mux_config_default(&cc);
    wr_mux_config_default(&sc);
    sc.max_streams = 2;
    sc.accept_backlog = 2;
    pair(WR_MUX_WARREN, &cc, &sc, &c, &s);
    run_for(20);
    for (int i = 0; i < 3; i++) {
        st[i] = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
        ck_assert_ptr_nonnull(st[i]);
        wr_mux_stream_setcb(st[i], sink_read, NULL, sink_event, &k[i]);
    }
    ck_assert_int_eq(run_until(&k[2].reset, 2000), 1);
    ck_assert_int_eq(s.accepted, 2);
    ck_assert_int_eq(k[0].reset + k[1].reset, 0);
    for (int i = 0; i < 3; i++)
        wr_mux_stream_close(st[i]);
    run_for(20);

    /* While accept is paused, streams wait in a backlog of two. */
    s.accepted = 0;
    wr_mux_accept_pause(s.m, 1);
    for (int i = 0; i < 3; i++) {
        memset(&k[i], 0, sizeof(k[i]));
        st[i] = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
        wr_mux_stream_setcb(st[i], sink_read, NULL, sink_event, &k[i]);
    }
    ck_assert_int_eq(run_until(&k[2].reset, 2000), 1);
    ck_assert_int_eq(s.accepted, 0);
    ck_assert_int_eq(k[0].reset + k[1].reset, 0);
    wr_mux_accept_pause(s.m, 0);
    run_for(50);
    ck_assert_int_eq(s.accepted, 2);
    for (int i = 0; i < 3; i++)
        wr_mux_stream_close(st[i]);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
}
END_TEST

START_TEST(test_mux__goaway_and_ping)
{
    side_t c = {0}, s = {0};
    wr_mux_config_t cc, sc;

    wr_mux_config_default(&cc);
    wr_mux_config_default(&sc);
    cc.ping_interval_ms = 20;
    cc.keepalive_timeout_ms = 1000;
    pair(WR_MUX_WARREN, &cc, &sc, &c, &s);
    run_for(100);
    ck_assert_int_ge(wr_mux_rtt_us(c.m), 0);
    ck_assert_int_eq(wr_mux_goaway(s.m, WR_GOAWAY_NORMAL, 1500), 0);
    ck_assert_int_eq(run_until(&c.goaway, 2000), 1);
    ck_assert_uint_eq(c.goaway_code, WR_GOAWAY_NORMAL);
    ck_assert_uint_eq(c.goaway_drain, 1500);
    ck_assert_ptr_null(wr_mux_stream_open(c.m, WR_PRIO_NORMAL));
    ck_assert_ptr_null(wr_mux_stream_open(s.m, WR_PRIO_NORMAL));
    ck_assert_int_eq(c.closed + s.closed, 0);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
}
END_TEST

START_TEST(test_mux__close_flushes_then_fin)
{
    side_t c = {0}, s = {0};
    wr_mux_config_t cc, sc;
    struct evbuffer *data = evbuffer_new(), *got = evbuffer_new();
    wr_mux_stream_t *st;

    wr_mux_config_default(&cc);
    wr_mux_config_default(&sc);
    pair(WR_MUX_SMUX2, &cc, &sc, &c, &s);
    st = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    fill_pattern(data, 600 * 1024, 9);
    wr_mux_stream_write_buffer(st, data);
    wr_mux_stream_close(st); /* handle gone; data and FIN still owed */
    for (int i = 0; i < 400; i++) {
        run_for(5);
        if (s.last) {
            wr_mux_stream_read(s.last, got, SIZE_MAX);
            if (wr_mux_stream_eof(s.last))
                break;
        }
    }
    ck_assert_ptr_nonnull(s.last);
    ck_assert_int_eq(wr_mux_stream_eof(s.last), 1);
    ck_assert(same_pattern(got, 600 * 1024, 9));
    ck_assert_uint_eq(wr_mux_stream_count(c.m), 0); /* freed after its FIN */
    wr_mux_stream_close(s.last);
    wr_mux_free(c.m);
    wr_mux_free(s.m);
    evbuffer_free(data);
    evbuffer_free(got);
}
END_TEST

START_TEST(test_mux__free_inside_read_callback)
{
    side_t c = {0}, s = {.free_in_read = 1};
    wr_mux_stream_t *st;

    pair(WR_MUX_WARREN, NULL, NULL, &c, &s);
    st = wr_mux_stream_open(c.m, WR_PRIO_NORMAL);
    wr_mux_stream_setcb(st, NULL, NULL, close_on_event, NULL);
    wr_mux_stream_write(st, "hello", 5);
    ck_assert_int_eq(run_until(&s.closed, 2000), 1);
    ck_assert_ptr_null(s.m);
    ck_assert_int_eq(run_until(&c.closed, 2000), 1);
    ck_assert_str_eq(c.reason, "peer closed the connection");
}
END_TEST

/* --- raw peers ---------------------------------------------------------- */

static int raw_server(wr_mux_proto_t proto, uint32_t max_frame, side_t *s)
{
    int sv[2];
    wr_mux_config_t cfg;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    wr_mux_config_default(&cfg);
    cfg.proto = proto;
    cfg.is_server = 1;
    cfg.max_frame = max_frame;
    cfg.stream_window = 64 * 1024;
    cfg.ping_interval_ms = 100;
    cfg.keepalive_timeout_ms = 1000;
    s->echo = 0;
    mux_on_fd(sv[1], &cfg, s);
    return sv[0];
}

static void raw_send(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
}

static void raw_frame(int fd, uint8_t ver, uint8_t cmd, uint16_t len, uint32_t sid,
                      const void *payload, size_t plen)
{
    uint8_t h[8];
    wr_frame_hdr_encode(h, ver, cmd, len, sid);
    raw_send(fd, h, 8);
    if (plen)
        raw_send(fd, payload, plen);
}

static void raw_preface(int fd)
{
    uint8_t p[WR_PREFACE_LEN];
    wr_preface_t pf = {WR_PREFACE_VERSION, 0, 65535, 65536, 1 << 24};
    wr_preface_encode(p, &pf);
    raw_send(fd, p, sizeof(p));
}

static void expect_close(int fd, side_t *s, const char *reason)
{
    ck_assert_int_eq(run_until(&s->closed, 3000), 1);
    ck_assert_str_eq(s->reason, reason);
    close(fd);
}

START_TEST(test_mux__malformed_frames_end_the_session)
{
    static const uint8_t zeros[32];
    struct {
        wr_mux_proto_t proto;
        uint8_t ver, cmd;
        uint16_t len;
        uint32_t sid;
        size_t plen;
        const char *reason;
    } cases[] = {
        {WR_MUX_SMUX2, 7, WR_CMD_PSH, 1, 3, 1, "protocol error: bad version 7 (expected 2)"},
        {WR_MUX_SMUX2, 2, 9, 0, 3, 0, "protocol error: unknown command 9"},
        {WR_MUX_SMUX2, 2, WR_CMD_NOP, 4, 0, 4, "protocol error: bad length 4 for NOP (expected 0)"},
        {WR_MUX_SMUX2, 2, WR_CMD_SYN, 1, 3, 1, "protocol error: bad length 1 for SYN (expected 0)"},
        {WR_MUX_SMUX2, 2, WR_CMD_FIN, 2, 3, 2, "protocol error: bad length 2 for FIN (expected 0)"},
        {WR_MUX_SMUX2, 2, WR_CMD_UPD, 3, 3, 3, "protocol error: bad length 3 for UPD (expected 8)"},
        {WR_MUX_SMUX1, 1, WR_CMD_UPD, 8, 3, 8, "protocol error: unknown command 4"},
        {WR_MUX_SMUX2, 2, WR_CMD_PSH, 20000, 3, 0,
         "protocol error: oversize frame: length 20000 > max frame 16384"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        side_t s = {0};
        int fd = raw_server(cases[i].proto, 16384, &s);
        raw_frame(fd, cases[i].ver, cases[i].cmd, cases[i].len, cases[i].sid, zeros, cases[i].plen);
        expect_close(fd, &s, cases[i].reason);
    }
}
END_TEST

START_TEST(test_mux__truncated_frame_and_garbage)
{
    side_t s1 = {0}, s2 = {0}, s3 = {0};
    int fd;

    fd = raw_server(WR_MUX_SMUX2, 65535, &s1);
    raw_frame(fd, 2, WR_CMD_PSH, 100, 3, "0123456789", 10);
    shutdown(fd, SHUT_WR);
    expect_close(fd, &s1, "truncated frame: connection closed with 18 bytes of a frame");

    fd = raw_server(WR_MUX_WARREN, 65535, &s2);
    raw_send(fd, "GET / HTTP/1.1\r\n\r\n", 18);
    expect_close(fd, &s2, "protocol error: first byte 0x47 is neither smux nor warren");

    fd = raw_server(WR_MUX_WARREN, 65535, &s3);
    raw_send(fd, "WRNX\x09", 5);
    raw_send(fd, "\0\0\0\0\0\0\0\0\0\0\0", 11);
    expect_close(fd, &s3, "protocol error: unsupported warren mux version 9 (this end speaks 1)");
}
END_TEST

/* Read frames from the raw side until one with cmd arrives; its payload
 * (up to 8 bytes) goes to out. Returns 0 when found. */
static int raw_expect(int fd, uint8_t cmd, uint32_t sid, uint8_t out[8], int skip_preface)
{
    uint8_t buf[1 << 16];
    size_t have = 0, off = 0;

    for (int i = 0; i < 400; i++) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        if (n > 0)
            have += (size_t)n;
        run_for(5);
        if (skip_preface && have >= WR_PREFACE_LEN && off == 0)
            off = WR_PREFACE_LEN;
        while (have - off >= 8) {
            wr_frame_hdr_t h;
            wr_frame_hdr_decode(buf + off, &h);
            if (have - off < 8u + h.length)
                break;
            if (h.cmd == cmd && h.sid == sid) {
                memcpy(out, buf + off + 8, h.length < 8 ? h.length : 8);
                return 0;
            }
            off += 8u + h.length;
        }
    }
    return -1;
}

START_TEST(test_mux__window_overrun_resets_stream)
{
    side_t s = {0};
    int fd = raw_server(WR_MUX_WARREN, 65535, &s);
    uint8_t syn[8] = {0}, chunk[16384], got[8];

    memset(chunk, 'x', sizeof(chunk));
    raw_preface(fd);
    wr_put_u32(syn, 65536);
    raw_frame(fd, 2, WR_CMD_SYN, 8, 1, syn, 8);
    run_for(20);
    ck_assert_int_eq(s.accepted, 1);
    /* 5 x 16 KiB = 80 KiB into a 64 KiB window the stream never reads. */
    for (int i = 0; i < 5; i++)
        raw_frame(fd, 2, WR_CMD_PSH, sizeof(chunk), 1, chunk, sizeof(chunk));
    ck_assert_int_eq(raw_expect(fd, WR_CMD_RST, 1, got, 1), 0);
    ck_assert_uint_eq(wr_get_u32(got), WR_RST_FLOW_CONTROL);
    ck_assert_int_eq(s.closed, 0);
    ck_assert_uint_eq(wr_mux_buffered(s.m), 0);
    wr_mux_free(s.m);
    close(fd);
}
END_TEST

START_TEST(test_mux__writes_in_one_turn_leave_as_one_frame)
{
    side_t s = {0};
    int fd = raw_server(WR_MUX_WARREN, 65535, &s);
    uint8_t syn[8] = {0}, got[8] = {0};

    raw_preface(fd);
    wr_put_u32(syn, 65536);
    raw_frame(fd, 2, WR_CMD_SYN, 8, 1, syn, 8);
    run_for(20);
    ck_assert_int_eq(s.accepted, 1);
    /* A response head, then its body, in two writes of one callback: the
     * peer gets them in one PSH frame, not two. */
    ck_assert_int_eq(wr_mux_stream_write(s.first, "head", 4), 0);
    ck_assert_int_eq(wr_mux_stream_write(s.first, "body", 4), 0);
    ck_assert_int_eq(raw_expect(fd, WR_CMD_PSH, 1, got, 1), 0);
    ck_assert_mem_eq(got, "headbody", 8);
    wr_mux_free(s.m);
    close(fd);
}
END_TEST

START_TEST(test_mux__dead_peer_detected_within_two_intervals)
{
    side_t s = {0};
    int fd = raw_server(WR_MUX_WARREN, 65535, &s);
    struct timespec t0, t1;
    long ms;

    raw_preface(fd); /* then silence: PINGs go unanswered */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(run_until(&s.closed, 3000), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_str_eq(s.reason, "peer dead: no answer to PING within 100 ms");
    ck_assert_int_le(ms, 2 * 100 + 50);
    close(fd);
}
END_TEST

START_TEST(test_mux__smux_peer_silence_timeout)
{
    side_t s = {0};
    int fd = raw_server(WR_MUX_SMUX1, 65535, &s);

    raw_frame(fd, 1, WR_CMD_NOP, 0, 0, NULL, 0);
    ck_assert_int_eq(run_until(&s.closed, 3000), 1);
    ck_assert_str_eq(s.reason, "peer dead: nothing received for 1000 ms");
    close(fd);
}
END_TEST

static Suite *mux_suite(void)
{
    Suite *s = suite_create("mux");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_mux__echo_warren);
    tcase_add_test(tc, test_mux__echo_smux1);
    tcase_add_test(tc, test_mux__echo_smux2);
    tcase_add_test(tc, test_mux__window_limits_sender);
    tcase_add_test(tc, test_mux__slow_stream_does_not_block_fast);
    tcase_add_test(tc, test_mux__budget_resets_smux_stream_over_it);
    tcase_add_test(tc, test_mux__budget_is_a_session_window_for_warren);
    tcase_add_test(tc, test_mux__stream_limit_and_backlog);
    tcase_add_test(tc, test_mux__goaway_and_ping);
    tcase_add_test(tc, test_mux__close_flushes_then_fin);
    tcase_add_test(tc, test_mux__free_inside_read_callback);
    tcase_add_test(tc, test_mux__malformed_frames_end_the_session);
    tcase_add_test(tc, test_mux__truncated_frame_and_garbage);
    tcase_add_test(tc, test_mux__window_overrun_resets_stream);
    tcase_add_test(tc, test_mux__writes_in_one_turn_leave_as_one_frame);
    tcase_add_test(tc, test_mux__dead_peer_detected_within_two_intervals);
    tcase_add_test(tc, test_mux__smux_peer_silence_timeout);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(mux_suite)
