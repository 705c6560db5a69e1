/*
 * tcpbulk: the direct-TCP baseline for the mux benchmarks. Same shape as
 * muxpeer --drive/--echo, but one plain TCP connection per stream:
 *
 *   tcpbulk --listen ADDR                       echo every connection
 *   tcpbulk --connect ADDR --streams N --bytes B  N connections, B bytes
 *                                               each way, prints MB/s
 *   tcpbulk --connect ADDR --rtt N [--size S] [--streams C]
 *                                               C connections (1) at once,
 *                                               each N round trips of S
 *                                               bytes (64), p50/p99
 *   tcpbulk --connect ADDR --hold N             N connections, 1 byte echoed
 *                                               on each, then held open
 *   tcpbulk --connect ADDR --connrate T [--streams C]
 *                                               C workers (1) for T seconds:
 *                                               connect, 1 byte echoed,
 *                                               close; prints conn/s
 *
 * --rtt keeps every round trip (send of the message to the last byte of its
 * echo) in a log-linear histogram and prints two lines on stderr: "rtt:"
 * (p50, p99, max; the older format) and "rtt-hist:" (p50 to p99.9,
 * and round trips per second of the counted part). With C > 1 every
 * connection runs its own ping-pong in its own thread, and all of them are
 * merged into one histogram.
 *
 * --hold prints "N held" once every connection has had its byte back, then
 * keeps them all open and idle until SIGTERM or SIGINT (exit 0). Signals
 * rather than stdin EOF, so that a benchmark can run it in the background
 * without a pipe to keep open. A held connection that the peer closes is a
 * failure (exit 1): an idle tunnel must not drop it.
 *
 * --connrate prints "K passed, F failed" (completed and failed cycles) on
 * stdout and "connrate: X conn/s (...)" on stderr, and exits 1 if any
 * cycle failed. T may be fractional ("0.5").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "wr_conf.h"
#include "wr_net.h"

#define TB_CHUNK (64 * 1024)

/* --rtt and --connrate run one thread per connection or worker: more than
 * this is a typo rather than a benchmark. */
#define TB_MAX_WORKERS 1024
#define TB_MAX_SIZE (1u << 20) /* --size: an echo the path can always buffer */
#define TB_STALL_S 30          /* bulk: no byte either way for this long fails */

/* --connrate stops after this many cycles even before its time is up, so
 * that a mistyped duration cannot run for hours. */
#define TB_CONNRATE_MAX 1000000

/* A thread only runs a ping-pong loop over buffers on the heap: 256 KiB of
 * stack instead of 8 MiB keeps 1024 of them cheap (and leaves ASan room). */
#define TB_STACK (256 * 1024)

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

    if (bev == NULL) {
        /* Out of memory for this one: drop it rather than leak its fd. */
        evutil_closesocket(fd);
        return;
    }
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

/* The listener's accept failed with an error other than EAGAIN or EINTR,
 * in practice EMFILE or ENFILE. The pending connection stays in the queue,
 * so the listening socket stays readable: without a pause the loop would spin
 * on it. Paused, the echoes in progress run, end and give fds back. */
static struct event *tb_accept_retry;

static void tb_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    evconnlistener_enable(arg);
}

static void tb_accept_error(struct evconnlistener *l, void *arg)
{
    struct timeval pause = {0, 100 * 1000};

    fprintf(stderr, "tcpbulk: accept: %s (pausing 100 ms)\n",
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    evconnlistener_disable(l);
    event_add(tb_accept_retry, &pause);
}

/* --rtt --streams 1024 or a large --hold needs over 1024 fds here and as
 * many in the echo server, and 1024 is a common soft limit: raise it to the
 * hard limit. Best effort, a failure shows later as EMFILE. */
static void tb_raise_nofile(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
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
    if (what & BEV_EVENT_TIMEOUT) {
        fprintf(stderr, "tcpbulk: no progress for %d s: the path stalled\n", TB_STALL_S);
        exit(1);
    }
}

static uint64_t tb_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * A log-linear latency histogram in the manner of HdrHistogram. Values (ns)
 * below TB_HIST_SUB have a bucket each; above, every range [2^k, 2^(k+1)) is
 * split into TB_HIST_HALF linear buckets of width 2^k / TB_HIST_HALF. A
 * bucket is thus at most 1/128 of its lowest value wide: a value read back is
 * within 0.8% of the recorded one, over the whole uint64_t range (584 years,
 * so nothing is clamped), in a fixed 58 KiB with no allocation per sample;
 * the sort it replaces kept every sample, 8 bytes each.
 */
#define TB_HIST_BITS 8
#define TB_HIST_SUB  (1 << TB_HIST_BITS)
#define TB_HIST_HALF (TB_HIST_SUB / 2)
#define TB_HIST_LEN  (TB_HIST_SUB + (64 - TB_HIST_BITS) * TB_HIST_HALF)

typedef struct {
    uint64_t count, max; /* max is exact, not a bucket's bound */
    uint64_t bucket[TB_HIST_LEN];
} tb_hist_t;

static size_t tb_hist_index(uint64_t v)
{
    unsigned shift;

    if (v < TB_HIST_SUB)
        return (size_t)v;
    /* The shift that leaves the top TB_HIST_BITS bits: v >> shift is in
     * [TB_HIST_HALF, TB_HIST_SUB), its offset there the linear sub-bucket. */
    shift = 64 - (unsigned)__builtin_clzll(v) - TB_HIST_BITS;
    return TB_HIST_SUB + (size_t)(shift - 1) * TB_HIST_HALF + (size_t)((v >> shift) - TB_HIST_HALF);
}

/* The highest value that falls into bucket i. */
static uint64_t tb_hist_top(size_t i)
{
    size_t j;
    unsigned shift;

    if (i < TB_HIST_SUB)
        return (uint64_t)i;
    j = i - TB_HIST_SUB;
    shift = (unsigned)(j / TB_HIST_HALF) + 1;
    return (((uint64_t)(j % TB_HIST_HALF) + TB_HIST_HALF) << shift) + ((UINT64_C(1) << shift) - 1);
}

static void tb_hist_add(tb_hist_t *h, uint64_t v)
{
    h->bucket[tb_hist_index(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

static void tb_hist_merge(tb_hist_t *into, const tb_hist_t *h)
{
    for (size_t i = 0; i < TB_HIST_LEN; i++)
        into->bucket[i] += h->bucket[i];
    into->count += h->count;
    if (h->max > into->max)
        into->max = h->max;
}

/* Nearest-rank percentile, p in thousandths (p99.9 is 999), reported as the
 * top of its bucket as HdrHistogram does (never below the true value, so a
 * tail is not flattered), but never above the exact max. */
static uint64_t tb_hist_pct(const tb_hist_t *h, unsigned p)
{
    uint64_t rank = (h->count * p + 999) / 1000, seen = 0;

    if (rank == 0)
        rank = 1;
    for (size_t i = 0; i < TB_HIST_LEN; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            return tb_hist_top(i) < h->max ? tb_hist_top(i) : h->max;
    }
    return h->max;
}

/*
 * --rtt and --connrate with C > 1: one thread per connection or worker, each
 * blocking in its own system calls, so that a round trip is timed from its
 * own send to its own last byte and not through a shared event loop. The
 * threads share nothing but the gate and, for --connrate, the cycle count;
 * each fills its own histogram or counters and main merges them after join.
 */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t arrived; /* a worker reached the gate: main re-counts */
    pthread_cond_t opened;  /* main opened (or aborted) it */
    uint64_t ready;         /* workers at the gate */
    int state;              /* 0 closed, 1 open, -1 aborted */
} tb_gate_t;

typedef struct {
    pthread_t thread;
    tb_gate_t *gate; /* NULL when alone: nothing to wait for */
    const wr_addr_t *addr;
    uint64_t t_start, t_end; /* ns, the counted part; 0 if not reached */
    uint64_t passed, failed; /* --rtt: 1 or 0 each; --connrate: cycles */
    tb_hist_t *hist;         /* --rtt */
} tb_worker_t;

/* Wait until every worker has arrived, so that the counted parts start
 * together and overlap: --rtt connects and warms up before it arrives. 0,
 * or -1 if main could not start every thread and the run is off. */
static int tb_gate_wait(tb_gate_t *g)
{
    int state;

    if (g == NULL)
        return 0;
    pthread_mutex_lock(&g->lock);
    g->ready++;
    pthread_cond_signal(&g->arrived);
    while (g->state == 0)
        pthread_cond_wait(&g->opened, &g->lock);
    state = g->state;
    pthread_mutex_unlock(&g->lock);
    return state == 1 ? 0 : -1;
}

/* Run fn on each of the n workers: in this thread when n is 1 (exactly the
 * single-connection tool this was), else one thread each, released at once
 * through a gate and joined. 0, or -1 with a message if a thread could not
 * be started (the others are then stopped at the gate). */
static int tb_run(tb_worker_t *w, uint64_t n, void *(*fn)(void *))
{
    tb_gate_t gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
                      0, 0};
    pthread_attr_t attr;
    uint64_t started = 0;
    int err = 0;

    if (n == 1) {
        fn(&w[0]);
        return 0;
    }
    if ((err = pthread_attr_init(&attr)) != 0) {
        fprintf(stderr, "tcpbulk: threads: %s\n", strerror(err));
        return -1;
    }
    pthread_attr_setstacksize(&attr, TB_STACK);
    for (; started < n; started++) {
        w[started].gate = &gate;
        err = pthread_create(&w[started].thread, &attr, fn, &w[started]);
        if (err != 0) {
            fprintf(stderr, "tcpbulk: thread %llu of %llu: %s\n", (unsigned long long)started + 1,
                    (unsigned long long)n, strerror(err));
            break;
        }
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&gate.lock);
    while (gate.ready < started)
        pthread_cond_wait(&gate.arrived, &gate.lock);
    gate.state = err == 0 ? 1 : -1;
    pthread_cond_broadcast(&gate.opened);
    pthread_mutex_unlock(&gate.lock);
    for (uint64_t i = 0; i < started; i++)
        pthread_join(w[i].thread, NULL);
    return err == 0 ? 0 : -1;
}

/* The wall time from the first start to the last end of the workers' counted
 * parts, in s, over those that reached the end; 0 if none did. */
static double tb_span(const tb_worker_t *w, uint64_t n)
{
    uint64_t first = UINT64_MAX, last = 0;

    for (uint64_t i = 0; i < n; i++) {
        if (w[i].t_end == 0)
            continue;
        if (w[i].t_start < first)
            first = w[i].t_start;
        if (w[i].t_end > last)
            last = w[i].t_end;
    }
    return last > first ? (double)(last - first) / 1e9 : 0;
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

/* --rtt: the number of counted round trips per connection and their size. */
static uint64_t tb_rtt_n, tb_size;

/* One round trip of the message in out on blocking fd: 0 with its time in
 * *ns, or -1 with a message printed. i counts from the first warm-up. */
static int tb_rtt_once(int fd, char *out, char *in, uint64_t i, uint64_t *ns)
{
    uint64_t t0 = tb_ns();

    if (tb_full(fd, out, tb_size, 1) != 0 || tb_full(fd, in, tb_size, 0) != 0)
        return -1;
    *ns = tb_ns() - t0;
    if (memcmp(in, out, tb_size) != 0) {
        fprintf(stderr, "tcpbulk: round trip %llu: echo differs\n", (unsigned long long)i);
        return -1;
    }
    return 0;
}

/* --rtt, one connection: ping-pong on one blocking socket, no event loop, so
 * that the figure is the path's round trip and not libevent's. The first
 * min(1000, n / 10) round trips warm up caches, the allocator and every
 * process on the path (through a tunnel, four of them) and are not counted. A
 * message is sent whole before its echo is read, so S must fit in the
 * socket buffers of the path (a few hundred KiB on loopback). */
static void *tb_rtt_worker(void *arg)
{
    tb_worker_t *w = arg;
    uint64_t warm = tb_rtt_n / 10 < 1000 ? tb_rtt_n / 10 : 1000, ns;
    char *out = malloc(tb_size), *in = malloc(tb_size);
    struct timeval tv = {10, 0}; /* a lost echo fails instead of hanging */
    int fd = -1, arrived = 0;

    if (out == NULL || in == NULL) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        goto failed;
    }
    if ((fd = wr_connect(w->addr, 5000)) == -1) {
        fprintf(stderr, "tcpbulk: connect: %s\n", strerror(errno));
        goto failed;
    }
    wr_sock_tune(fd, 0); /* TCP_NODELAY: each message leaves at once */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
        fprintf(stderr, "tcpbulk: socket setup: %s\n", strerror(errno));
        goto failed;
    }
    for (uint64_t i = 0; i < tb_size; i++)
        out[i] = (char)('a' + i % 26);
    for (uint64_t i = 0; i < warm; i++)
        if (tb_rtt_once(fd, out, in, i, &ns) != 0)
            goto failed;
    arrived = 1;
    if (tb_gate_wait(w->gate) != 0)
        goto failed;
    w->t_start = tb_ns();
    for (uint64_t i = 0; i < tb_rtt_n; i++) {
        if (tb_rtt_once(fd, out, in, warm + i, &ns) != 0)
            goto failed;
        tb_hist_add(w->hist, ns);
    }
    w->t_end = tb_ns();
    w->passed = 1;
    close(fd);
    free(out);
    free(in);
    return NULL;

failed:
    /* Arrive anyway: main waits for every thread before it opens the gate. */
    if (!arrived)
        tb_gate_wait(w->gate);
    w->failed = 1;
    if (fd != -1)
        close(fd);
    free(out);
    free(in);
    return NULL;
}

/* --rtt with conns connections at once. Only the connections that passed
 * are reported: a failed one's partial run would skew the rate. With one
 * connection, a failure prints nothing on stdout, as this tool always did. */
static int tb_rtt(const wr_addr_t *addr, uint64_t n, uint64_t size, uint64_t conns)
{
    tb_worker_t *w = calloc(conns, sizeof(*w));
    tb_hist_t *h = calloc(conns + 1, sizeof(*h)), *all;
    uint64_t failed = 0;
    double secs;
    int rc = 1;

    if (w == NULL || h == NULL) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        goto done;
    }
    tb_rtt_n = n;
    tb_size = size;
    all = &h[conns];
    for (uint64_t i = 0; i < conns; i++) {
        w[i].addr = addr;
        w[i].hist = &h[i];
    }
    if (tb_run(w, conns, tb_rtt_worker) != 0)
        goto done;
    for (uint64_t i = 0; i < conns; i++) {
        failed += w[i].failed;
        if (w[i].passed)
            tb_hist_merge(all, w[i].hist);
    }
    if (conns == 1 && failed > 0)
        goto done;
    secs = tb_span(w, conns);
    printf("%llu passed, %llu failed\n", (unsigned long long)(conns - failed),
           (unsigned long long)failed);
    if (all->count > 0) {
        fprintf(stderr,
                "rtt: p50 %.1f us, p99 %.1f us, max %.1f us (%llu round trips of %llu bytes)\n",
                (double)tb_hist_pct(all, 500) / 1e3, (double)tb_hist_pct(all, 990) / 1e3,
                (double)all->max / 1e3, (unsigned long long)all->count, (unsigned long long)size);
        fprintf(stderr,
                "rtt-hist: p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us, "
                "%llu round trips, %.1f round trips/s\n",
                (double)tb_hist_pct(all, 500) / 1e3, (double)tb_hist_pct(all, 900) / 1e3,
                (double)tb_hist_pct(all, 990) / 1e3, (double)tb_hist_pct(all, 999) / 1e3,
                (double)all->max / 1e3, (unsigned long long)all->count,
                secs > 0 ? (double)all->count / secs : 0.0);
    }
    rc = failed > 0 ? 1 : 0;

done:
    free(w);
    free(h);
    return rc;
}

/* --connrate: the length of the run per worker and the cycles begun by all
 * workers together (bounded by TB_CONNRATE_MAX). */
static uint64_t tb_connrate_ns;
static atomic_uint_fast64_t tb_cycles;
static atomic_flag tb_cycle_reported = ATOMIC_FLAG_INIT;

/* A cycle's failure: the first one is shown, the rest only counted, so that
 * a refused port does not print a million lines. Returns -1. */
static int tb_cycle_fail(const char *what, const char *why)
{
    if (!atomic_flag_test_and_set(&tb_cycle_reported))
        fprintf(stderr, "tcpbulk: connrate: %s: %s (only the first failure is shown)\n", what, why);
    return -1;
}

/* One cycle: connect, send a byte, read its echo, close. 0 or -1. */
static int tb_cycle(const wr_addr_t *addr)
{
    /* The client closes first, once the echo is in, so the TIME_WAIT of
     * every connection would be ours: at tens of thousands a second from one
     * address they would use up the ephemeral ports (about 28,000 for 60 s)
     * and connect would fail with EADDRNOTAVAIL. Linger 0 makes close send
     * RST, which leaves no TIME_WAIT; nothing is lost, as the exchange is
     * over by then. The echo server sees ECONNRESET and frees its side. */
    struct linger rst = {1, 0};
    struct pollfd pfd;
    char c = 0;
    ssize_t got;
    int fd = wr_connect(addr, 5000), n, rc = -1;

    if (fd == -1)
        return tb_cycle_fail("connect", strerror(errno));
    /* A fresh socket's send buffer is empty: one byte always fits, and Nagle
     * holds no first segment back. */
    if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
        tb_cycle_fail("send", strerror(errno));
        goto done;
    }
    pfd.fd = fd;
    pfd.events = POLLIN;
    while ((n = poll(&pfd, 1, 5000)) == -1 && errno == EINTR)
        ;
    if (n != 1) {
        tb_cycle_fail("recv", n == 0 ? "no echo within 5 s" : strerror(errno));
        goto done;
    }
    got = recv(fd, &c, 1, 0);
    if (got != 1 || c != 'x') {
        tb_cycle_fail("recv", got == 0   ? "connection closed by peer"
                              : got == 1 ? "echo differs"
                                         : strerror(errno));
        goto done;
    }
    rc = 0;

done:
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
    close(fd);
    return rc;
}

static void *tb_connrate_worker(void *arg)
{
    tb_worker_t *w = arg;
    uint64_t end;

    if (tb_gate_wait(w->gate) != 0)
        return NULL;
    w->t_start = tb_ns();
    end = w->t_start + tb_connrate_ns;
    while (tb_ns() < end &&
           atomic_fetch_add_explicit(&tb_cycles, 1, memory_order_relaxed) < TB_CONNRATE_MAX) {
        if (tb_cycle(w->addr) == 0)
            w->passed++;
        else
            w->failed++;
    }
    w->t_end = tb_ns();
    return NULL;
}

/* --connrate: new connections per second, each carrying one byte each way,
 * from `workers` workers for secs seconds (a cycle begun in time ends). */
static int tb_connrate(const wr_addr_t *addr, double secs, uint64_t workers)
{
    tb_worker_t *w = calloc(workers, sizeof(*w));
    uint64_t passed = 0, failed = 0;
    double span;

    if (w == NULL) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        return 1;
    }
    tb_connrate_ns = (uint64_t)(secs * 1e9);
    for (uint64_t i = 0; i < workers; i++)
        w[i].addr = addr;
    if (tb_run(w, workers, tb_connrate_worker) != 0) {
        free(w);
        return 1;
    }
    for (uint64_t i = 0; i < workers; i++) {
        passed += w[i].passed;
        failed += w[i].failed;
    }
    span = tb_span(w, workers);
    printf("%llu passed, %llu failed\n", (unsigned long long)passed, (unsigned long long)failed);
    fprintf(stderr,
            "connrate: %.1f conn/s (%llu connections in %.3f s, %llu failed, %llu workers)\n",
            span > 0 ? (double)passed / span : 0.0, (unsigned long long)passed, span,
            (unsigned long long)failed, (unsigned long long)workers);
    free(w);
    return failed > 0 ? 1 : 0;
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
    int have_hold = 0, have_connrate = 0, have_rtt = 0;
    double connrate = 0;
    wr_addr_t addr;
    char why[160], *end;
    struct timespec t0, t1;

    int bad = 0; /* a number that does not parse: usage, not another mode */

    /* A peer that closes while an echo or a transfer is being written must
     * cost that connection only, not the process (libevent writes with
     * writev, which raises SIGPIPE). */
    signal(SIGPIPE, SIG_IGN);
    /* Flags and values in pairs: a flag without its value, or one not
     * known (a typo), is a usage error rather than a default run. */
    bad = argc % 2 == 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            listen_addr = argv[i + 1];
        else if (strcmp(argv[i], "--connect") == 0)
            connect_addr = argv[i + 1];
        else if (strcmp(argv[i], "--streams") == 0)
            bad |= wr_parse_size(argv[i + 1], &streams) != 0;
        else if (strcmp(argv[i], "--bytes") == 0)
            bad |= wr_parse_size(argv[i + 1], &tb_bytes) != 0 || tb_bytes == 0;
        else if (strcmp(argv[i], "--rtt") == 0)
            bad |= !(have_rtt = wr_parse_size(argv[i + 1], &rtt) == 0) || rtt == 0;
        else if (strcmp(argv[i], "--size") == 0)
            bad |= wr_parse_size(argv[i + 1], &size) != 0;
        else if (strcmp(argv[i], "--hold") == 0)
            bad |= !(have_hold = wr_parse_size(argv[i + 1], &hold) == 0);
        else if (strcmp(argv[i], "--connrate") == 0) {
            /* Seconds, fractional allowed; anything else fails the range
             * check below (as does NaN) instead of falling back to a mode. */
            have_connrate = 1;
            connrate = strtod(argv[i + 1], &end);
            if (end == argv[i + 1] || *end != '\0')
                connrate = -1;
        } else {
            bad = 1;
        }
    }
    if (bad || (listen_addr == NULL) == (connect_addr == NULL) || size == 0 ||
        size > TB_MAX_SIZE || have_rtt + have_hold + have_connrate > 1 || hold > INT32_MAX ||
        (have_connrate && !(connrate > 0 && connrate <= 86400)) || streams == 0 ||
        streams > TB_MAX_WORKERS) {
        fprintf(stderr,
                "usage: tcpbulk --listen ADDR\n"
                "       tcpbulk --connect ADDR --streams N --bytes B\n"
                "       tcpbulk --connect ADDR --rtt N [--size S] [--streams N]   (S <= %u)\n"
                "       tcpbulk --connect ADDR --hold N   (until SIGTERM or SIGINT)\n"
                "       tcpbulk --connect ADDR --connrate SECONDS [--streams N]\n"
                "(N <= %d)\n",
                TB_MAX_SIZE, TB_MAX_WORKERS);
        return 2;
    }
    if (wr_addr_parse(listen_addr ? listen_addr : connect_addr, &addr, why, sizeof(why)) != 0) {
        fprintf(stderr, "tcpbulk: %s\n", why);
        return 2;
    }
    tb_raise_nofile();
    tb_base = event_base_new();
    if (listen_addr) {
        struct evconnlistener *lev;
        int fd = wr_listen(&addr, 1024);
        if (fd == -1) {
            fprintf(stderr, "tcpbulk: listen: %s\n", strerror(errno));
            return 1;
        }
        lev = evconnlistener_new(tb_base, tb_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        tb_accept_retry = lev ? evtimer_new(tb_base, tb_accept_resume, lev) : NULL;
        if (tb_accept_retry == NULL) {
            fprintf(stderr, "tcpbulk: out of memory\n");
            return 1;
        }
        evconnlistener_set_error_cb(lev, tb_accept_error);
        fprintf(stderr, "listening on %s\n", wr_addr_format(&addr, why, sizeof(why)));
        event_base_dispatch(tb_base);
        return 0;
    }
    if (have_connrate)
        return tb_connrate(&addr, connrate, streams);
    if (have_rtt)
        return tb_rtt(&addr, rtt, size, streams);
    if (have_hold)
        return tb_hold(&addr, hold);
    tb_conn_t *conns = calloc(streams, sizeof(*conns));
    struct timeval stall = {TB_STALL_S, 0}; /* a path that stops echoing fails */
    if (tb_base == NULL || conns == NULL) {
        fprintf(stderr, "tcpbulk: out of memory\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < streams; i++) {
        int fd = wr_connect(&addr, 5000);
        if (fd == -1) {
            fprintf(stderr, "tcpbulk: connect: %s\n", strerror(errno));
            return 1;
        }
        wr_sock_tune(fd, 128 * 1024);
        conns[i].bev = bufferevent_socket_new(tb_base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (conns[i].bev == NULL) {
            fprintf(stderr, "tcpbulk: out of memory\n");
            return 1;
        }
        bufferevent_set_timeouts(conns[i].bev, &stall, &stall);
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
