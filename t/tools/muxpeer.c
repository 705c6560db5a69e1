/*
 * muxpeer: a stand-alone end of a warren mux session, for interop tests and
 * benchmarks (docs/protocol.md, "The muxpeer tool").
 *
 *   muxpeer (--listen ADDR | --connect ADDR) [--proto smux1|smux2|warren]
 *           (--echo | --drive --streams N --bytes B) [options]
 *
 * The listening end plays the smux server. --echo echoes every byte of every
 * stream the peer opens until the peer closes it; --drive opens N streams,
 * writes B random bytes on each, reads the echo back, compares, prints
 * "N passed, M failed" and exits 0 only if every stream came back intact.
 * Scenarios (--scenario hol|prio) exercise the warren-to-warren guarantees.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "wr_conf.h"
#include "wr_log.h"
#include "wr_mux.h"
#include "wr_net.h"
#include "wr_worker.h"

#define MP_CHUNK       (64 * 1024)
#define MP_MAX_WORKERS 64
#define MP_PINGS       200
#define MP_PING_LEN    64

typedef enum { MP_ECHO, MP_DRIVE } mp_role_t;
typedef enum { MP_PLAIN, MP_HOL, MP_PRIO } mp_scenario_t;

typedef struct {
    int listen;
    const char *addr_text;
    wr_mux_config_t mux;
    mp_role_t role;
    mp_scenario_t scenario;
    uint32_t streams;
    uint64_t bytes;
    int half_close;
    int hold;
    int idle;      /* keep intact streams open (for memory per idle stream) */
    int no_verify; /* benchmarks: send zeros, count echoed bytes only */
    int workers;
    uint64_t timeout_ms;
    wr_prio_t prio;
} mp_opts_t;

/* xorshift64* byte stream: both ends of a flow regenerate the same bytes. */
typedef struct {
    uint64_t state;
    uint8_t word[8];
    unsigned left;
} mp_rng_t;

static void mp_rng_fill(mp_rng_t *r, uint8_t *out, size_t n)
{
    while (n > 0) {
        if (r->left == 0) {
            uint64_t x = r->state;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            r->state = x;
            x *= 0x2545F4914F6CDD1DULL;
            memcpy(r->word, &x, 8);
            r->left = 8;
        }
        *out++ = r->word[8 - r->left--];
        n--;
    }
}

/* Compare the next n bytes of r with data; 0 when equal. */
static int mp_rng_check(mp_rng_t *r, const uint8_t *data, size_t n)
{
    uint8_t buf[4096];

    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        mp_rng_fill(r, buf, k);
        if (memcmp(buf, data, k) != 0)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
}

struct mp_session;

typedef struct {
    struct mp_session *sess;
    wr_mux_stream_t *s;
    mp_rng_t wrng, rrng;
    uint64_t sent, recvd;
    int shut, done, ok;
    int slow; /* hol: never read */
} mp_flow_t;

typedef struct mp_session {
    struct mp_session *next, *prev;
    wr_worker_t *w;
    wr_mux_t *m;
    struct evbuffer *tmp;
    /* driver state */
    int driver;
    mp_flow_t *flows;
    uint32_t nflows, ndone, npassed;
    uint64_t start_us;
    struct event *timer;    /* scenario steps */
    struct event *deadline; /* --timeout */
    int finished;
    /* prio scenario */
    wr_mux_stream_t *ping_s, *bulk_s;
    int ping_phase; /* 0 idle, 1 loaded */
    int pings_done;
    uint64_t ping_sent_us;
    uint64_t rtt_idle[MP_PINGS], rtt_loaded[MP_PINGS];
    uint64_t bulk_bytes;
} mp_session_t;

static mp_opts_t opts;
static wr_workers_t *workers;
static struct event_base *main_base;
static struct event *exit_ev;
static int exit_code;
static mp_session_t *sessions[MP_MAX_WORKERS]; /* per worker, touched by it only */
static uint64_t run_seed;

static uint64_t mp_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void mp_exit(int code)
{
    exit_code = code;
    event_active(exit_ev, EV_TIMEOUT, 0);
}

/* --- sessions ---------------------------------------------------------- */

static void mp_session_free(mp_session_t *ss)
{
    int id = wr_worker_id(ss->w);

    if (ss->prev)
        ss->prev->next = ss->next;
    else
        sessions[id] = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    if (ss->m)
        wr_mux_free(ss->m); /* held streams get their reset callback */
    if (ss->timer)
        event_free(ss->timer);
    if (ss->deadline)
        event_free(ss->deadline);
    evbuffer_free(ss->tmp);
    free(ss->flows);
    free(ss);
}

static void mp_worker_stop(wr_worker_t *w, void *arg)
{
    int id = wr_worker_id(w);

    while (sessions[id])
        mp_session_free(sessions[id]);
}

/* --- echo -------------------------------------------------------------- */

static void mp_echo_pump(wr_mux_stream_t *s, void *arg)
{
    mp_session_t *ss = arg;

    /* Only a warren peer has a session window to push back with; against a
     * plain smux peer pausing could push its streams past the budget. */
    if (wr_mux_proto(ss->m) == WR_MUX_WARREN && wr_mux_stream_write_full(s))
        return;
    if (wr_mux_stream_read(s, ss->tmp, SIZE_MAX) > 0 && wr_mux_stream_write_buffer(s, ss->tmp) != 0)
        evbuffer_drain(ss->tmp, evbuffer_get_length(ss->tmp));
    if (wr_mux_stream_eof(s))
        wr_mux_stream_close(s); /* FIN goes after the echoed bytes */
}

static void mp_echo_event(wr_mux_stream_t *s, int ev, void *arg)
{
    wr_mux_stream_close(s);
}

static int mp_echo_accept(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    wr_mux_stream_setcb(s, mp_echo_pump, mp_echo_pump, mp_echo_event, arg);
    return 0;
}

/* --- drive ------------------------------------------------------------- */

static void mp_finish(mp_session_t *ss);

static void mp_flow_done(mp_flow_t *f, int ok, const char *why)
{
    mp_session_t *ss = f->sess;

    if (f->done)
        return;
    f->done = 1;
    f->ok = ok;
    ss->ndone++;
    if (ok)
        ss->npassed++;
    else
        wr_log_warn("stream %u failed: %s (%llu/%llu bytes echoed)",
                    f->s ? wr_mux_stream_id(f->s) : 0, why, (unsigned long long)f->recvd,
                    (unsigned long long)opts.bytes);
    if (f->s && !(ok && opts.idle)) {
        wr_mux_stream_close(f->s);
        f->s = NULL;
    }
    if (ss->ndone == ss->nflows)
        mp_finish(ss);
}

static void mp_flow_write(wr_mux_stream_t *s, void *arg)
{
    mp_flow_t *f = arg;
    mp_session_t *ss = f->sess;

    while (f->sent < opts.bytes && !wr_mux_stream_write_full(s)) {
        struct evbuffer_iovec v;
        size_t n = opts.bytes - f->sent;
        if (n > MP_CHUNK)
            n = MP_CHUNK;
        if (evbuffer_reserve_space(ss->tmp, n, &v, 1) < 1)
            break;
        if (opts.no_verify)
            memset(v.iov_base, 0, n);
        else
            mp_rng_fill(&f->wrng, v.iov_base, n);
        v.iov_len = n;
        evbuffer_commit_space(ss->tmp, &v, 1);
        if (wr_mux_stream_write_buffer(s, ss->tmp) != 0) {
            evbuffer_drain(ss->tmp, evbuffer_get_length(ss->tmp));
            mp_flow_done(f, 0, "write refused");
            return;
        }
        f->sent += n;
    }
    if (f->sent == opts.bytes && opts.half_close && !f->shut) {
        f->shut = 1;
        wr_mux_stream_shutdown(s);
    }
}

static void mp_flow_read(wr_mux_stream_t *s, void *arg)
{
    mp_flow_t *f = arg;
    mp_session_t *ss = f->sess;
    size_t n;

    if (f->slow)
        return;
    n = wr_mux_stream_read(s, ss->tmp, SIZE_MAX);
    if (n > 0) {
        struct evbuffer_iovec v[16];
        int k;
        while ((k = evbuffer_peek(ss->tmp, -1, NULL, v, 16)) > 0) {
            size_t used = 0;
            for (int i = 0; i < k && i < 16; i++) {
                if (f->recvd + v[i].iov_len > opts.bytes ||
                    (!opts.no_verify && mp_rng_check(&f->rrng, v[i].iov_base, v[i].iov_len) != 0)) {
                    evbuffer_drain(ss->tmp, evbuffer_get_length(ss->tmp));
                    mp_flow_done(f, 0, "echo differs from what was sent");
                    return;
                }
                f->recvd += v[i].iov_len;
                used += v[i].iov_len;
            }
            evbuffer_drain(ss->tmp, used);
        }
    }
    if (f->recvd == opts.bytes && (!opts.half_close || wr_mux_stream_eof(s))) {
        mp_flow_done(f, 1, NULL);
        return;
    }
    if (wr_mux_stream_eof(s))
        mp_flow_done(f, 0, "end of stream before the whole echo");
}

static void mp_flow_event(wr_mux_stream_t *s, int ev, void *arg)
{
    mp_flow_t *f = arg;

    if (f->done) { /* an --idle stream kept open after it passed */
        wr_mux_stream_close(s);
        f->s = NULL;
        return;
    }
    mp_flow_done(f, 0, "stream reset");
}

static int mp_flow_start(mp_session_t *ss, mp_flow_t *f, uint32_t index, wr_prio_t prio)
{
    f->sess = ss;
    f->wrng.state = f->rrng.state = run_seed ^ (0x9E3779B97F4A7C15ULL * (index + 1));
    f->s = wr_mux_stream_open(ss->m, prio);
    if (f->s == NULL) {
        mp_flow_done(f, 0, "open refused");
        return -1;
    }
    wr_mux_stream_setcb(f->s, mp_flow_read, mp_flow_write, mp_flow_event, f);
    mp_flow_write(f->s, f);
    return 0;
}

/* --- scenarios --------------------------------------------------------- */

static int mp_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void mp_ping_send(mp_session_t *ss)
{
    uint8_t buf[MP_PING_LEN];

    memset(buf, 'a' + ss->pings_done % 26, sizeof(buf));
    ss->ping_sent_us = mp_now_us();
    if (wr_mux_stream_write(ss->ping_s, buf, sizeof(buf)) != 0)
        mp_flow_done(&ss->flows[0], 0, "ping write refused");
}

static void mp_bulk_write(wr_mux_stream_t *s, void *arg)
{
    mp_session_t *ss = arg;
    static uint8_t zero[MP_CHUNK];

    while (ss->bulk_s && !wr_mux_stream_write_full(s)) {
        if (wr_mux_stream_write(s, zero, sizeof(zero)) != 0)
            return;
    }
}

static void mp_bulk_read(wr_mux_stream_t *s, void *arg)
{
    mp_session_t *ss = arg;

    ss->bulk_bytes += wr_mux_stream_read(s, ss->tmp, SIZE_MAX);
    evbuffer_drain(ss->tmp, evbuffer_get_length(ss->tmp));
}

static void mp_bulk_event(wr_mux_stream_t *s, int ev, void *arg)
{
    mp_session_t *ss = arg;

    wr_mux_stream_close(s);
    ss->bulk_s = NULL;
}

static void mp_bulk_start(evutil_socket_t fd, short what, void *arg)
{
    mp_session_t *ss = arg;

    ss->ping_phase = 1;
    ss->pings_done = 0;
    mp_ping_send(ss);
}

static void mp_ping_read(wr_mux_stream_t *s, void *arg)
{
    mp_session_t *ss = arg;
    uint8_t buf[MP_PING_LEN];

    while (wr_mux_stream_readable(s) >= MP_PING_LEN) {
        uint64_t rtt = mp_now_us() - ss->ping_sent_us;
        wr_mux_stream_read(s, ss->tmp, MP_PING_LEN);
        evbuffer_remove(ss->tmp, buf, sizeof(buf));
        if (buf[0] != 'a' + ss->pings_done % 26 || buf[MP_PING_LEN - 1] != buf[0]) {
            mp_flow_done(&ss->flows[0], 0, "ping echo differs");
            return;
        }
        (ss->ping_phase ? ss->rtt_loaded : ss->rtt_idle)[ss->pings_done++] = rtt;
        if (ss->pings_done < MP_PINGS) {
            mp_ping_send(ss);
            continue;
        }
        if (ss->ping_phase == 0) {
            /* Idle round trips done: saturate the session with a
             * low-priority bulk stream, then measure again. */
            struct timeval tv = {0, 300 * 1000};
            ss->bulk_s = wr_mux_stream_open(ss->m, WR_PRIO_LOW);
            if (ss->bulk_s == NULL) {
                mp_flow_done(&ss->flows[0], 0, "bulk open refused");
                return;
            }
            wr_mux_stream_setcb(ss->bulk_s, mp_bulk_read, mp_bulk_write, mp_bulk_event, ss);
            mp_bulk_write(ss->bulk_s, ss);
            event_assign(ss->timer, wr_worker_base(ss->w), -1, 0, mp_bulk_start, ss);
            event_add(ss->timer, &tv);
            return;
        }
        qsort(ss->rtt_idle, MP_PINGS, sizeof(uint64_t), mp_cmp_u64);
        qsort(ss->rtt_loaded, MP_PINGS, sizeof(uint64_t), mp_cmp_u64);
        printf("prio: high-priority 64 B echo p50 %llu us idle, p50 %llu us / p99 %llu us "
               "under low-priority load (ratio %.1f); low-priority stream echoed %llu bytes\n",
               (unsigned long long)ss->rtt_idle[MP_PINGS / 2],
               (unsigned long long)ss->rtt_loaded[MP_PINGS / 2],
               (unsigned long long)ss->rtt_loaded[MP_PINGS * 99 / 100],
               (double)ss->rtt_loaded[MP_PINGS / 2] /
                   (double)(ss->rtt_idle[MP_PINGS / 2] ? ss->rtt_idle[MP_PINGS / 2] : 1),
               (unsigned long long)ss->bulk_bytes);
        if (ss->bulk_s) {
            wr_mux_stream_close(ss->bulk_s);
            ss->bulk_s = NULL;
        }
        ss->flows[0].s = NULL;
        wr_mux_stream_close(s);
        mp_flow_done(&ss->flows[0], 1, NULL);
        return;
    }
}

static void mp_ping_event(wr_mux_stream_t *s, int ev, void *arg)
{
    mp_session_t *ss = arg;

    mp_flow_done(&ss->flows[0], 0, "ping stream reset");
}

static void mp_slow_event(wr_mux_stream_t *s, int ev, void *arg)
{
    mp_flow_t *f = arg;

    wr_mux_stream_close(s);
    f->s = NULL;
}

static void mp_hol_fast(evutil_socket_t fd, short what, void *arg)
{
    mp_session_t *ss = arg;

    ss->start_us = mp_now_us();
    mp_flow_start(ss, &ss->flows[0], 0, WR_PRIO_NORMAL);
}

/* --- driver lifecycle -------------------------------------------------- */

static void mp_finish(mp_session_t *ss)
{
    double secs = (double)(mp_now_us() - ss->start_us) / 1e6;

    if (ss->finished)
        return;
    ss->finished = 1;
    if (ss->timer)
        event_del(ss->timer);
    if (ss->deadline)
        event_del(ss->deadline);
    if (opts.scenario == MP_HOL) {
        mp_flow_t *slow = &ss->flows[1];
        size_t held = slow->s ? wr_mux_stream_readable(slow->s) : 0;
        int slow_ok = slow->s && !wr_mux_stream_dead(slow->s) && held > 0;
        if (slow->s) {
            wr_mux_stream_close(slow->s);
            slow->s = NULL;
        }
        printf("hol: fast stream %llu bytes %s in %.0f ms while the slow stream held %zu bytes "
               "unread\n",
               (unsigned long long)opts.bytes, ss->flows[0].ok ? "intact" : "NOT intact",
               secs * 1000, held);
        if (!slow_ok)
            ss->npassed -= ss->flows[0].ok ? 1 : 0;
        ss->nflows = 1;
    }
    printf("%u passed, %u failed\n", ss->npassed, ss->nflows - ss->npassed);
    fflush(stdout);
    if (opts.scenario == MP_PLAIN && secs > 0 && ss->npassed == ss->nflows)
        fprintf(stderr, "throughput: %.1f MB/s (%u streams x %llu bytes each way in %.3f s)\n",
                (double)opts.bytes * ss->nflows / 1e6 / secs, ss->nflows,
                (unsigned long long)opts.bytes, secs);
    if (opts.idle)
        malloc_trim(0); /* so that RSS shows what the idle streams hold, not the burst */
    if (!opts.hold)
        mp_exit(ss->npassed == ss->nflows ? 0 : 1);
}

static void mp_timeout(evutil_socket_t fd, short what, void *arg)
{
    mp_session_t *ss = arg;

    for (uint32_t i = 0; i < ss->nflows; i++)
        mp_flow_done(&ss->flows[i], 0, "timed out");
    mp_finish(ss);
}

static void mp_drive_start(mp_session_t *ss)
{
    struct timeval tv = {(time_t)(opts.timeout_ms / 1000), (opts.timeout_ms % 1000) * 1000};

    ss->driver = 1;
    ss->start_us = mp_now_us();
    if (opts.scenario == MP_PRIO) {
        ss->nflows = 1;
        ss->flows = calloc(1, sizeof(mp_flow_t));
        ss->flows[0].sess = ss;
        ss->timer = event_new(wr_worker_base(ss->w), -1, 0, mp_bulk_start, ss);
        ss->ping_s = wr_mux_stream_open(ss->m, WR_PRIO_HIGH);
        if (ss->ping_s == NULL) {
            mp_flow_done(&ss->flows[0], 0, "open refused");
            return;
        }
        ss->flows[0].s = ss->ping_s;
        wr_mux_stream_setcb(ss->ping_s, mp_ping_read, NULL, mp_ping_event, ss);
        mp_ping_send(ss);
    } else if (opts.scenario == MP_HOL) {
        struct timeval later = {0, 200 * 1000};
        ss->nflows = 2;
        ss->flows = calloc(2, sizeof(mp_flow_t));
        ss->flows[1].slow = 1;
        ss->timer = event_new(wr_worker_base(ss->w), -1, 0, mp_hol_fast, ss);
        event_add(ss->timer, &later);
        /* The slow flow never completes; it is judged when the fast one is. */
        ss->flows[1].sess = ss;
        ss->flows[1].wrng.state = run_seed;
        ss->flows[1].s = wr_mux_stream_open(ss->m, WR_PRIO_NORMAL);
        if (ss->flows[1].s)
            wr_mux_stream_setcb(ss->flows[1].s, mp_flow_read, mp_flow_write, mp_slow_event,
                                &ss->flows[1]);
        if (ss->flows[1].s)
            mp_flow_write(ss->flows[1].s, &ss->flows[1]);
        ss->nflows = 1; /* completion counts the fast flow only */
    } else {
        ss->nflows = opts.streams;
        ss->flows = calloc(opts.streams, sizeof(mp_flow_t));
        if (ss->flows == NULL) {
            mp_exit(2);
            return;
        }
        for (uint32_t i = 0; i < opts.streams && !ss->finished; i++)
            mp_flow_start(ss, &ss->flows[i], i, opts.prio);
    }
    ss->deadline = event_new(wr_worker_base(ss->w), -1, 0, mp_timeout, ss);
    if (!ss->finished && ss->deadline)
        event_add(ss->deadline, &tv);
}

static void mp_session_closed(wr_mux_t *m, const char *reason, void *arg)
{
    mp_session_t *ss = arg;

    wr_log_info("session %u closed: %s", wr_mux_id(m), reason);
    if (ss->driver) {
        for (uint32_t i = 0; i < ss->nflows; i++)
            mp_flow_done(&ss->flows[i], 0, reason);
        mp_finish(ss);
        mp_exit(ss->npassed == ss->nflows ? 0 : 1);
    } else if (!opts.listen) {
        mp_exit(0);
    }
    mp_session_free(ss);
}

static void mp_session_start(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg)
{
    mp_session_t *ss = calloc(1, sizeof(*ss));
    struct bufferevent *bev;
    wr_mux_config_t cfg = opts.mux;
    wr_mux_callbacks_t cbs = {
        .accept = opts.role == MP_ECHO ? mp_echo_accept : NULL,
        .closed = mp_session_closed,
    };
    int id = wr_worker_id(w);

    evbuffer_free(preread);
    if (ss == NULL || (ss->tmp = evbuffer_new()) == NULL) {
        free(ss);
        close(fd);
        return;
    }
    ss->w = w;
    ss->next = sessions[id];
    if (ss->next)
        ss->next->prev = ss;
    sessions[id] = ss;
    wr_sock_tune(fd, 128 * 1024);
    bev = bufferevent_socket_new(wr_worker_base(w), fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        close(fd);
        mp_session_free(ss);
        return;
    }
    cfg.is_server = opts.listen;
    ss->m = wr_mux_new(wr_worker_base(w), bev, &cfg, &cbs, ss);
    if (ss->m == NULL) {
        mp_session_free(ss);
        return;
    }
    wr_log_info("session %u started (%s)", wr_mux_id(ss->m),
                opts.listen ? "accepted" : "connected");
    if (opts.role == MP_DRIVE)
        mp_drive_start(ss);
}

/* --- main thread ------------------------------------------------------- */

static void mp_on_accept(evutil_socket_t lfd, short what, void *arg)
{
    wr_workers_accept(workers, lfd, mp_session_start, NULL);
}

static void mp_on_signal(evutil_socket_t sig, short what, void *arg)
{
    wr_log_info("signal %d: stopping", (int)sig);
    exit_code = 0;
    event_base_loopexit(main_base, NULL);
}

static void mp_on_exit(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopexit(main_base, NULL);
}

static void mp_usage(FILE *f)
{
    fprintf(f, "usage: muxpeer (--listen ADDR | --connect ADDR) [--proto smux1|smux2|warren]\n"
               "               (--echo | --drive --streams N --bytes B) [options]\n"
               "options:\n"
               "  --half-close            driver: FIN after writing, then expect echo + EOF\n"
               "  --scenario hol|prio     driver: slow-reader or priority scenario (warren)\n"
               "  --prio P                driver: stream priority (critical|high|normal|low)\n"
               "  --ping-interval DUR     PING/NOP period (default 10s; 0 = off)\n"
               "  --keepalive-timeout DUR silence that ends a plain smux session (default 30s)\n"
               "  --max-frame N           largest frame payload (default 65535)\n"
               "  --window SIZE           per-stream receive window (default 256k)\n"
               "  --budget SIZE           per-session receive budget (default 16m)\n"
               "  --max-streams N         streams per session (default 4096)\n"
               "  --workers N             worker threads (default: cores)\n"
               "  --timeout DUR           driver gives up after DUR (default 60s)\n"
               "  --hold                  driver: keep the session open after the drive\n"
               "  --idle                  driver: --hold, and keep the intact streams open\n"
               "  --no-verify             driver: send zeros and only count the echo (benchmarks)\n"
               "  --log-level L           error|warn|info|debug (default info)\n");
}

static int mp_parse_dur(const char *flag, const char *v, uint64_t *out)
{
    if (strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (wr_parse_duration_ms(v, out) == 0)
        return 0;
    fprintf(stderr, "muxpeer: %s expects a duration like 250ms or 10s, got '%s'\n", flag, v);
    return -1;
}

static int mp_parse_num(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (wr_parse_size(v, out) == 0 && *out >= min && *out <= max)
        return 0;
    fprintf(stderr, "muxpeer: %s expects a number from %llu to %llu, got '%s'\n", flag,
            (unsigned long long)min, (unsigned long long)max, v);
    return -1;
}

static int mp_parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, 0, 'l'},
        {"connect", required_argument, 0, 'c'},
        {"proto", required_argument, 0, 'p'},
        {"echo", no_argument, 0, 'e'},
        {"drive", no_argument, 0, 'd'},
        {"streams", required_argument, 0, 'n'},
        {"bytes", required_argument, 0, 'b'},
        {"half-close", no_argument, 0, 'H'},
        {"scenario", required_argument, 0, 's'},
        {"prio", required_argument, 0, 'P'},
        {"ping-interval", required_argument, 0, 'i'},
        {"keepalive-timeout", required_argument, 0, 'k'},
        {"max-frame", required_argument, 0, 'f'},
        {"window", required_argument, 0, 'w'},
        {"budget", required_argument, 0, 'B'},
        {"max-streams", required_argument, 0, 'M'},
        {"workers", required_argument, 0, 'W'},
        {"timeout", required_argument, 0, 't'},
        {"hold", no_argument, 0, 'o'},
        {"idle", no_argument, 0, 'I'},
        {"no-verify", no_argument, 0, 'V'},
        {"log-level", required_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c, have_role = 0;
    uint64_t v;
    wr_log_level_t level;

    wr_mux_config_default(&opts.mux);
    opts.streams = 1;
    opts.bytes = 1024 * 1024;
    opts.timeout_ms = 60000;
    opts.prio = WR_PRIO_NORMAL;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
        case 'c':
            if (opts.addr_text) {
                fprintf(stderr, "muxpeer: give one of --listen or --connect\n");
                return -1;
            }
            opts.listen = c == 'l';
            opts.addr_text = optarg;
            break;
        case 'p':
            if (strcmp(optarg, "smux1") == 0)
                opts.mux.proto = WR_MUX_SMUX1;
            else if (strcmp(optarg, "smux2") == 0)
                opts.mux.proto = WR_MUX_SMUX2;
            else if (strcmp(optarg, "warren") == 0)
                opts.mux.proto = WR_MUX_WARREN;
            else {
                fprintf(stderr, "muxpeer: --proto expects smux1, smux2 or warren, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'e':
        case 'd':
            if (have_role++) {
                fprintf(stderr, "muxpeer: give one of --echo or --drive\n");
                return -1;
            }
            opts.role = c == 'e' ? MP_ECHO : MP_DRIVE;
            break;
        case 'n':
            if (mp_parse_num("--streams", optarg, 1, 100000, &v) != 0)
                return -1;
            opts.streams = (uint32_t)v;
            break;
        case 'b':
            if (mp_parse_num("--bytes", optarg, 1, UINT64_C(1) << 40, &opts.bytes) != 0)
                return -1;
            break;
        case 'H':
            opts.half_close = 1;
            break;
        case 's':
            if (strcmp(optarg, "hol") == 0)
                opts.scenario = MP_HOL;
            else if (strcmp(optarg, "prio") == 0)
                opts.scenario = MP_PRIO;
            else {
                fprintf(stderr, "muxpeer: --scenario expects hol or prio, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'P':
            if (wr_prio_parse(optarg, &opts.prio) != 0) {
                fprintf(stderr, "muxpeer: --prio expects critical, high, normal or low\n");
                return -1;
            }
            break;
        case 'i':
            if (mp_parse_dur("--ping-interval", optarg, &v) != 0)
                return -1;
            opts.mux.ping_interval_ms = (uint32_t)v;
            break;
        case 'k':
            if (mp_parse_dur("--keepalive-timeout", optarg, &v) != 0)
                return -1;
            opts.mux.keepalive_timeout_ms = (uint32_t)v;
            break;
        case 'f':
            if (mp_parse_num("--max-frame", optarg, 1024, 65535, &v) != 0)
                return -1;
            opts.mux.max_frame = (uint32_t)v;
            break;
        case 'w':
            if (mp_parse_num("--window", optarg, 1024, 0x7fffffff, &v) != 0)
                return -1;
            opts.mux.stream_window = (uint32_t)v;
            break;
        case 'B':
            if (mp_parse_num("--budget", optarg, 1024, UINT64_C(1) << 40, &v) != 0)
                return -1;
            opts.mux.session_budget = v;
            break;
        case 'M':
            if (mp_parse_num("--max-streams", optarg, 1, 1000000, &v) != 0)
                return -1;
            opts.mux.max_streams = (uint32_t)v;
            break;
        case 'W':
            if (mp_parse_num("--workers", optarg, 1, MP_MAX_WORKERS, &v) != 0)
                return -1;
            opts.workers = (int)v;
            break;
        case 't':
            if (mp_parse_dur("--timeout", optarg, &opts.timeout_ms) != 0)
                return -1;
            break;
        case 'o':
            opts.hold = 1;
            break;
        case 'I':
            opts.hold = opts.idle = 1;
            break;
        case 'V':
            opts.no_verify = 1;
            break;
        case 'L':
            if (wr_log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "muxpeer: --log-level expects error, warn, info or debug\n");
                return -1;
            }
            wr_log_set_level(level);
            break;
        case 'h':
            mp_usage(stdout);
            exit(0);
        default:
            mp_usage(stderr);
            return -1;
        }
    }
    if (optind != argc || opts.addr_text == NULL || !have_role) {
        mp_usage(stderr);
        return -1;
    }
    if (opts.role == MP_DRIVE && opts.listen) {
        fprintf(stderr, "muxpeer: --drive goes with --connect (the listener plays the server)\n");
        return -1;
    }
    if (opts.mux.ping_interval_ms > 0 && opts.mux.keepalive_timeout_ms < opts.mux.ping_interval_ms)
        opts.mux.keepalive_timeout_ms = opts.mux.ping_interval_ms;
    if (opts.scenario == MP_PRIO)
        opts.mux.output_high = 16 * 1024; /* keep the queue ahead of priority short */
    return 0;
}

int main(int argc, char **argv)
{
    wr_addr_t addr;
    char why[256], buf[64];
    struct event *sigint = NULL, *sigterm = NULL, *accept_ev = NULL;
    int fd = -1, urandom;

    signal(SIGPIPE, SIG_IGN);
    if (mp_parse_args(argc, argv) != 0)
        return 2;
    if (wr_mux_config_check(&opts.mux, why, sizeof(why)) != 0) {
        fprintf(stderr, "muxpeer: %s\n", why);
        return 2;
    }
    if (wr_addr_parse(opts.addr_text, &addr, why, sizeof(why)) != 0) {
        fprintf(stderr, "muxpeer: %s\n", why);
        return 2;
    }
    urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (urandom == -1 || read(urandom, &run_seed, sizeof(run_seed)) != sizeof(run_seed))
        run_seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    if (urandom != -1)
        close(urandom);
    run_seed |= 1;

    workers = wr_workers_new(opts.workers);
    if (workers == NULL)
        return 1;
    main_base = event_base_new();
    exit_ev = event_new(main_base, -1, 0, mp_on_exit, NULL);
    sigint = evsignal_new(main_base, SIGINT, mp_on_signal, NULL);
    sigterm = evsignal_new(main_base, SIGTERM, mp_on_signal, NULL);
    if (main_base == NULL || exit_ev == NULL || sigint == NULL || sigterm == NULL ||
        event_add(sigint, NULL) != 0 || event_add(sigterm, NULL) != 0)
        goto failed;
    for (int i = 0; i < wr_workers_count(workers); i++)
        wr_worker_at_stop(wr_workers_get(workers, i), mp_worker_stop, NULL);
    if (wr_workers_start(workers) != 0)
        goto failed;

    if (opts.listen) {
        fd = wr_listen(&addr, 1024);
        if (fd == -1) {
            wr_log_error("cannot listen on %s: %s", opts.addr_text, strerror(errno));
            goto failed;
        }
        accept_ev = event_new(main_base, fd, EV_READ | EV_PERSIST, mp_on_accept, NULL);
        if (accept_ev == NULL || event_add(accept_ev, NULL) != 0)
            goto failed;
        wr_log_info("listening on %s (%s)", wr_addr_format(&addr, buf, sizeof(buf)),
                    wr_mux_proto_name(opts.mux.proto));
    } else {
        int cfd = wr_connect(&addr, 5000);
        if (cfd == -1) {
            wr_log_error("cannot connect to %s: %s", opts.addr_text, strerror(errno));
            goto failed;
        }
        wr_worker_handoff(wr_workers_next(workers), cfd, NULL, mp_session_start, NULL);
    }

    exit_code = 0;
    event_base_dispatch(main_base);
    wr_workers_stop(workers);
    wr_workers_free(workers);
    if (accept_ev)
        event_free(accept_ev);
    if (fd != -1)
        close(fd);
    event_free(sigint);
    event_free(sigterm);
    event_free(exit_ev);
    event_base_free(main_base);
    libevent_global_shutdown();
    return exit_code;

failed:
    wr_workers_free(workers);
    if (accept_ev)
        event_free(accept_ev);
    if (fd != -1)
        close(fd);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (exit_ev)
        event_free(exit_ev);
    if (main_base)
        event_base_free(main_base);
    return 1;
}
