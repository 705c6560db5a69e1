/*
 * wr_trace: traceparent values (see wr_trace.h).
 */
#include "wr_trace.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int wr_trace_hex_run(const char *p, size_t n, int *nonzero)
{
    *nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        if (c != '0')
            *nonzero = 1;
    }
    return 1;
}

int wr_trace_valid(const char *v, size_t len)
{
    int nz;

    if (v == NULL || len != WR_TRACEPARENT_LEN || v[0] != '0' || v[1] != '0' || v[2] != '-' ||
        v[35] != '-' || v[52] != '-')
        return 0;
    if (!wr_trace_hex_run(v + 3, 32, &nz) || !nz)
        return 0;
    if (!wr_trace_hex_run(v + 36, 16, &nz) || !nz)
        return 0;
    return wr_trace_hex_run(v + 53, 2, &nz);
}

/* --- the generator ------------------------------------------------------- */

static _Thread_local uint64_t wr_rand_s[4];
static _Thread_local int wr_rand_seeded;

static uint64_t wr_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void wr_rand_seed(void)
{
    uint8_t *p = (uint8_t *)wr_rand_s;
    size_t got = 0;

    while (got < sizeof(wr_rand_s)) {
        ssize_t n = getrandom(p + got, sizeof(wr_rand_s) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EINTR)
            break;
    }
    if (got < sizeof(wr_rand_s)) {
        /* No getrandom (an old kernel): distinct per thread and process,
         * which is all trace ids need. */
        struct timespec ts;
        uint64_t x;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&wr_rand_seeded;
        for (int i = 0; i < 4; i++)
            wr_rand_s[i] = wr_splitmix64(&x);
    }
    if ((wr_rand_s[0] | wr_rand_s[1] | wr_rand_s[2] | wr_rand_s[3]) == 0)
        wr_rand_s[0] = 1; /* the one state xoshiro cannot leave */
    wr_rand_seeded = 1;
}

static uint64_t wr_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* 64 random bits from this thread's generator: fast, not for secrets. */
static uint64_t wr_rand64(void)
{
    uint64_t *s = wr_rand_s, r, t;

    if (!wr_rand_seeded)
        wr_rand_seed();
    r = wr_rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = wr_rotl(s[3], 45);
    return r;
}

static void wr_trace_hex(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--) {
        out[i] = hex[v & 15];
        v >>= 4;
    }
}

void wr_trace_new(char out[WR_TRACEPARENT_LEN + 1])
{
    uint64_t hi, lo, span;

    do {
        hi = wr_rand64();
        lo = wr_rand64();
    } while ((hi | lo) == 0);
    do {
        span = wr_rand64();
    } while (span == 0);
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    wr_trace_hex(out + 3, hi);
    wr_trace_hex(out + 19, lo);
    out[35] = '-';
    wr_trace_hex(out + 36, span);
    out[52] = '-';
    out[53] = '0';
    out[54] = '1';
    out[55] = '\0';
}
