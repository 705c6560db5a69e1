/*
 * fuzz_frames: arbitrary bytes from the peer into a wr_mux session; by
 * default a server in proto WARREN, so the first bytes pick warren, smux v1
 * or smux v2.
 *
 * The session's bufferevent is one end of a bufferevent pair on a private
 * event_base; the fuzzer writes the other end in up to three chunks, running
 * the loop (EVLOOP_NONBLOCK) after each, so frames arrive cut anywhere.
 * Accepted streams echo (read all, write back, close on EOF) and close on
 * reset. Everything is freed before returning.
 *
 * Input layout (missing header bytes read as 0):
 *   byte 0     flags, FZ_* below
 *   byte 1     more flags, FZ2_* below
 *   bytes 2-3  first cut (u16 LE, modulo the payload length + 1)
 *   bytes 4-5  second cut
 *   bytes 6-   what the peer sends
 * Stream data that starts with '!' is a command to the echo application:
 * "!R" resets the stream, "!F" half-closes it (no more echo), "!C" closes
 * it, "!X" frees the whole session, "!G" sends GOAWAY, "!O" opens a stream
 * from our side, "!Pn" sets the stream's priority to n % 4.
 *
 * The monotonic clock is the real one plus an offset the harness moves
 * (FZ2_TIME), so the session's ping/keepalive timer fires on demand and
 * runs are deterministic.
 *
 * Oracles besides the sanitizers: once wr_mux_free() returns, every stream
 * the application held must have had its last callback (and been closed by
 * it); a held stream's last callback after the session died is a read only
 * when EOF is then visible; between loop turns the session's unread input
 * stays within its budget and its stream count within max_streams. Any
 * violation aborts.
 *
 * Two API uses once found core bugs and stay checked: closing a stream
 * inside the accept callback (FZ2_ACCEPT_CLOSE), and the closed callback's
 * reason after wr_mux_close() (never empty).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "wr_frame.h"
#include "wr_log.h"
#include "wr_mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HDR_LEN 6
#define FZ_TICK_MS 1000u /* ping interval when FZ2_TIME */

enum {
    FZ_EOF = 0x01,         /* the peer closes its end after the last chunk */
    FZ_SMALL = 0x02,       /* tiny limits: frame, window, budget, streams, backlog */
    FZ_REFUSE = 0x04,      /* accept refuses stream ids with bit 2 set */
    FZ_PAUSE = 0x08,       /* accept paused until after the first chunk */
    FZ_PARTIAL = 0x10,     /* echo reads at most 100 bytes per callback */
    FZ_FREE_CLOSED = 0x20, /* wr_mux_free() from inside the closed callback */
    FZ_GOAWAY = 0x40,      /* we send GOAWAY after the first chunk */
    FZ_CLOSE = 0x80,       /* wr_mux_close() and a few loop turns before the free */
};

enum {
    FZ2_TIME = 0x01,         /* the clock moves one ping interval after each step */
    FZ2_OPEN = 0x02,         /* we open 1-4 streams (bits 2-3), write to them, FIN */
    FZ2_OPEN_N = 0x0c,       /* number of streams to open, minus one */
    FZ2_ACCEPT_CLOSE = 0x10, /* accept closes the streams whose id has bit 3 set */
    FZ2_MODE = 0x60,         /* 0: server WARREN, 0x20: server SMUX1, 0x40: server
                                SMUX2, 0x60: client WARREN */
    FZ2_HOLD = 0x80,         /* accepted streams are never read */
};

/* ---- a clock the harness can move ---------------------------------------- */

static int64_t fz_clock_offset_ns;

/* Interposes libc's for this program (libevent's loop and wr_mux alike). */
int clock_gettime(clockid_t clk, struct timespec *ts)
{
    if (syscall(SYS_clock_gettime, clk, ts) != 0)
        return -1;
    if (clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_COARSE || clk == CLOCK_MONOTONIC_RAW ||
        clk == CLOCK_BOOTTIME) {
        int64_t ns = (int64_t)ts->tv_nsec + fz_clock_offset_ns % 1000000000;
        ts->tv_sec += (time_t)(fz_clock_offset_ns / 1000000000 + ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
    }
    return 0;
}

/* ---- the application ------------------------------------------------------- */

typedef struct fz_stream {
    struct fz_stream *prev, *next;
    wr_mux_stream_t *s;
    struct fz_ctx *ctx;
    int ours; /* opened by us: read and discard */
    int shut; /* half-closed by us: no more echo */
} fz_stream_t;

typedef struct fz_ctx {
    wr_mux_t *m;
    wr_mux_config_t cfg;
    unsigned flags, flags2;
    int closed;
    unsigned opened;
    fz_stream_t *streams; /* held by the application */
    struct evbuffer *tmp;
} fz_ctx_t;

static void fz_die(const char *what, const wr_mux_stream_t *s)
{
    if (s != NULL)
        fprintf(stderr, "fuzz_frames: %s (stream %u)\n", what, wr_mux_stream_id(s));
    else
        fprintf(stderr, "fuzz_frames: %s\n", what);
    abort();
}

static void fz_read(wr_mux_stream_t *s, void *arg);
static void fz_event(wr_mux_stream_t *s, int event, void *arg);

static fz_stream_t *fz_hold(fz_ctx_t *ctx, wr_mux_stream_t *s, int ours)
{
    fz_stream_t *fs = calloc(1, sizeof(*fs));

    if (fs == NULL)
        return NULL;
    fs->s = s;
    fs->ctx = ctx;
    fs->ours = ours;
    fs->next = ctx->streams;
    if (ctx->streams)
        ctx->streams->prev = fs;
    ctx->streams = fs;
    wr_mux_stream_setcb(s, fz_read, fz_read, fz_event, fs);
    return fs;
}

static void fz_release(fz_stream_t *fs)
{
    fz_ctx_t *ctx = fs->ctx;

    if (fs->prev)
        fs->prev->next = fs->next;
    else
        ctx->streams = fs->next;
    if (fs->next)
        fs->next->prev = fs->prev;
    wr_mux_stream_close(fs->s);
    free(fs);
}

/* Open a stream from our side, queue some bytes (more than a small send
 * buffer) and half-close it. */
static void fz_open(fz_ctx_t *ctx)
{
    static const uint8_t pattern[2500] = {1, 2, 3};
    wr_mux_stream_t *s;
    fz_stream_t *fs;

    if (ctx->m == NULL)
        return;
    s = wr_mux_stream_open(ctx->m, (wr_prio_t)(ctx->opened % 4));
    if (s == NULL)
        return;
    ctx->opened++;
    fs = fz_hold(ctx, s, 1);
    if (fs == NULL) {
        wr_mux_stream_close(s);
        return;
    }
    (void)wr_mux_stream_write(s, pattern, 100 + (ctx->opened * 797) % (sizeof(pattern) - 100));
    (void)wr_mux_stream_write_full(s);
    (void)wr_mux_stream_queued(s);
    (void)wr_mux_stream_shutdown(s);
}

/* "!..." at the start of what was just read. Returns 1 when the stream (or
 * the whole session) is gone and nothing may be touched any more. */
static int fz_command(fz_stream_t *fs, const uint8_t *cmd, size_t n)
{
    fz_ctx_t *ctx = fs->ctx;

    if (n < 2 || cmd[0] != '!')
        return 0;
    switch (cmd[1]) {
    case 'R':
        wr_mux_stream_reset(fs->s, WR_RST_CANCEL);
        fz_release(fs);
        return 1;
    case 'F':
        fs->shut = 1;
        (void)wr_mux_stream_shutdown(fs->s);
        return 0;
    case 'C':
        fz_release(fs);
        return 1;
    case 'X':
        /* Every held stream, this one included, gets its reset from inside
         * wr_mux_free() and is released by fz_event. */
        if (ctx->m != NULL) {
            wr_mux_t *m = ctx->m;
            ctx->m = NULL;
            wr_mux_free(m);
            return 1;
        }
        return 0;
    case 'G':
        if (ctx->m != NULL)
            (void)wr_mux_goaway(ctx->m, WR_GOAWAY_NORMAL, 100);
        return 0;
    case 'O':
        fz_open(ctx);
        return 0;
    case 'P':
        if (n >= 3)
            wr_mux_stream_set_prio(fs->s, (wr_prio_t)(cmd[2] % 4));
        return 0;
    }
    return 0;
}

static void fz_read(wr_mux_stream_t *s, void *arg)
{
    fz_stream_t *fs = arg;
    fz_ctx_t *ctx = fs->ctx;
    size_t max = (ctx->flags & FZ_PARTIAL) ? 100 : SIZE_MAX;
    uint8_t cmd[3];
    size_t n;

    if (wr_mux_stream_session(s) == NULL) {
        /* Last callback of a detached stream: only for one that ended
         * cleanly, so once the rest is read, EOF must show. */
        while (wr_mux_stream_read(s, ctx->tmp, SIZE_MAX) > 0)
            ;
        evbuffer_drain(ctx->tmp, evbuffer_get_length(ctx->tmp));
        if (!wr_mux_stream_eof(s))
            fz_die("read callback on teardown without EOF", s);
        fz_release(fs);
        return;
    }
    if (wr_mux_stream_dead(s))
        return; /* the reset event follows */
    if (!fs->ours && (ctx->flags2 & FZ2_HOLD) && !wr_mux_stream_eof(s))
        return;
    if (fs->ours || fs->shut) {
        wr_mux_stream_read(s, ctx->tmp, max);
        evbuffer_drain(ctx->tmp, evbuffer_get_length(ctx->tmp));
    } else if (!wr_mux_stream_write_full(s)) {
        n = wr_mux_stream_read(s, ctx->tmp, max);
        if (n > 0) {
            size_t k = evbuffer_copyout(ctx->tmp, cmd, sizeof(cmd));
            if (fz_command(fs, cmd, k)) {
                evbuffer_drain(ctx->tmp, evbuffer_get_length(ctx->tmp));
                return;
            }
            if (fs->shut || wr_mux_stream_write_buffer(s, ctx->tmp) != 0)
                evbuffer_drain(ctx->tmp, evbuffer_get_length(ctx->tmp));
        }
    }
    if (wr_mux_stream_eof(s))
        fz_release(fs);
}

static void fz_event(wr_mux_stream_t *s, int event, void *arg)
{
    if (event != WR_STREAM_RESET)
        fz_die("unknown stream event", s);
    fz_release(arg);
}

static int fz_accept(wr_mux_t *m, wr_mux_stream_t *s, void *arg)
{
    fz_ctx_t *ctx = arg;
    uint32_t id = wr_mux_stream_id(s);

    if (wr_mux_stream_session(s) != m)
        fz_die("accepted stream of another session", s);
    if ((ctx->flags & FZ_REFUSE) && (id & 4))
        return -1;
    if ((ctx->flags2 & FZ2_ACCEPT_CLOSE) && (id & 8)) {
        wr_mux_stream_close(s);
        return 0;
    }
    (void)wr_mux_stream_readable(s);
    (void)wr_mux_stream_prio(s);
    return fz_hold(ctx, s, 0) != NULL ? 0 : -1;
}

static void fz_closed(wr_mux_t *m, const char *reason, void *arg)
{
    fz_ctx_t *ctx = arg;

    if (reason == NULL || ctx->closed)
        fz_die("closed callback without a reason, or twice", NULL);
    /* Every end has a reason (after wr_mux_close(m, NULL): "closed
     * locally"). */
    if (reason[0] == '\0')
        fz_die("closed callback with an empty reason", NULL);
    ctx->closed = 1;
    if (ctx->flags & FZ_FREE_CLOSED) {
        ctx->m = NULL;
        wr_mux_free(m);
    }
}

static void fz_goaway(wr_mux_t *m, uint32_t code, uint32_t drain_ms, void *arg)
{
    (void)wr_goaway_code_name(code);
}

/* What the session sends back is only drained. */
static void fz_peer_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);

    evbuffer_drain(in, evbuffer_get_length(in));
}

static void fz_invariants(const fz_ctx_t *ctx)
{
    if (ctx->m == NULL)
        return;
    if (wr_mux_buffered(ctx->m) > ctx->cfg.session_budget)
        fz_die("unread input above the session budget", NULL);
    if (wr_mux_stream_count(ctx->m) > ctx->cfg.max_streams)
        fz_die("more streams than max_streams", NULL);
    (void)wr_mux_proto_name(wr_mux_proto(ctx->m));
    (void)wr_mux_rtt_us(ctx->m);
}

static void fz_run(fz_ctx_t *ctx, struct event_base *base, int turns)
{
    while (turns-- > 0) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        fz_invariants(ctx);
    }
}

static void fz_step(fz_ctx_t *ctx, struct event_base *base)
{
    fz_run(ctx, base, 3);
    if (ctx->flags2 & FZ2_TIME) {
        fz_clock_offset_ns += (int64_t)FZ_TICK_MS * 1000000;
        fz_run(ctx, base, 2);
    }
    if ((ctx->flags2 & FZ2_OPEN) && ctx->opened < 1 + ((ctx->flags2 & FZ2_OPEN_N) >> 2)) {
        fz_open(ctx);
        fz_run(ctx, base, 2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const wr_mux_callbacks_t cbs = {fz_accept, fz_closed, fz_goaway};
    uint8_t hdr[FZ_HDR_LEN] = {0};
    const uint8_t *body;
    size_t len, cut[4];
    struct event_base *base;
    struct bufferevent *pair[2];
    fz_ctx_t ctx;

    {
        /* Quiet, unless WR_FUZZ_LOG=debug (or another level) asks. */
        static int level = -1;
        if (level < 0) {
            wr_log_level_t l = WR_LOG_ERROR;
            const char *env = getenv("WR_FUZZ_LOG");
            if (env != NULL)
                (void)wr_log_level_parse(env, &l);
            level = (int)l;
        }
        wr_log_set_level((wr_log_level_t)level);
    }
    memcpy(hdr, data, size < FZ_HDR_LEN ? size : FZ_HDR_LEN);
    body = size > FZ_HDR_LEN ? data + FZ_HDR_LEN : data;
    len = size > FZ_HDR_LEN ? size - FZ_HDR_LEN : 0;
    cut[0] = 0;
    cut[1] = (size_t)(hdr[2] | hdr[3] << 8) % (len + 1);
    cut[2] = (size_t)(hdr[4] | hdr[5] << 8) % (len + 1);
    cut[3] = len;
    if (cut[1] > cut[2]) {
        size_t t = cut[1];
        cut[1] = cut[2];
        cut[2] = t;
    }

    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = hdr[0];
    ctx.flags2 = hdr[1];
    base = event_base_new();
    if (base == NULL)
        return 0;
    ctx.tmp = evbuffer_new();
    if (ctx.tmp == NULL || bufferevent_pair_new(base, BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
        if (ctx.tmp)
            evbuffer_free(ctx.tmp);
        event_base_free(base);
        return 0;
    }
    bufferevent_setcb(pair[0], fz_peer_read, NULL, NULL, &ctx);
    bufferevent_enable(pair[0], EV_READ | EV_WRITE);

    wr_mux_config_default(&ctx.cfg);
    switch (ctx.flags2 & FZ2_MODE) {
    case 0x00:
        ctx.cfg.proto = WR_MUX_WARREN;
        ctx.cfg.is_server = 1;
        break;
    case 0x20:
        ctx.cfg.proto = WR_MUX_SMUX1;
        ctx.cfg.is_server = 1;
        break;
    case 0x40:
        ctx.cfg.proto = WR_MUX_SMUX2;
        ctx.cfg.is_server = 1;
        break;
    default:
        ctx.cfg.proto = WR_MUX_WARREN;
        ctx.cfg.is_server = 0;
        break;
    }
    if (ctx.flags & FZ_SMALL) {
        ctx.cfg.max_frame = 1024;
        ctx.cfg.stream_window = 1024;
        ctx.cfg.session_budget = 2048;
        ctx.cfg.max_streams = 4;
        ctx.cfg.accept_backlog = 2;
        ctx.cfg.send_buffer = 1024;
        ctx.cfg.output_high = 1024;
    }
    if (ctx.flags2 & FZ2_TIME) {
        ctx.cfg.ping_interval_ms = FZ_TICK_MS;
        ctx.cfg.keepalive_timeout_ms = 5 * FZ_TICK_MS / 2;
    }
    ctx.m = wr_mux_new(base, pair[1], &ctx.cfg, &cbs, &ctx);
    if (ctx.m == NULL)
        fz_die("wr_mux_new failed on a valid config", NULL);
    if (ctx.flags & FZ_PAUSE)
        wr_mux_accept_pause(ctx.m, 1);
    if (!ctx.cfg.is_server && (ctx.flags2 & FZ2_OPEN))
        fz_open(&ctx); /* before the peer's preface */

    for (int i = 0; i < 3; i++) {
        if (cut[i + 1] > cut[i])
            bufferevent_write(pair[0], body + cut[i], cut[i + 1] - cut[i]);
        fz_step(&ctx, base);
        if (i == 0 && ctx.m != NULL) {
            if (ctx.flags & FZ_PAUSE)
                wr_mux_accept_pause(ctx.m, 0);
            if (ctx.flags & FZ_GOAWAY)
                wr_mux_goaway(ctx.m, WR_GOAWAY_NORMAL, 1000);
            fz_run(&ctx, base, 1);
        }
    }
    if (ctx.flags & FZ_EOF) {
        bufferevent_flush(pair[0], EV_WRITE, BEV_FINISHED);
        fz_step(&ctx, base);
    }
    if ((ctx.flags & FZ_CLOSE) && ctx.m != NULL) {
        wr_mux_close(ctx.m, NULL);
        fz_step(&ctx, base);
    }
    if (ctx.m != NULL)
        wr_mux_free(ctx.m);
    if (ctx.streams != NULL)
        fz_die("stream still held after wr_mux_free", ctx.streams->s);
    bufferevent_free(pair[0]);
    evbuffer_free(ctx.tmp);
    event_base_free(base);
    return 0;
}
