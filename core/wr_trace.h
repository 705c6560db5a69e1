/*
 * wr_trace: W3C Trace Context (https://www.w3.org/TR/trace-context/)
 * traceparent values, for the HTTP ingress: a request that arrives with a
 * valid one keeps it, any other gets a new one, so that the service behind
 * the tunnel and the access log see the same trace.
 *
 *   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 *                version-trace id (16 bytes)-parent id (8 bytes)-flags
 *
 * Thread-safe: the random generator is per thread (xoshiro256**, seeded
 * from getrandom(2) on first use), so making a value takes no lock and no
 * system call.
 */
#ifndef WR_TRACE_H
#define WR_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define WR_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */

/* 1 when the len bytes at v are a valid version-00 traceparent: exactly
 * 55 bytes, lower-case hex, a trace id and a parent id that are not all
 * zeros, any flags. Other versions, upper case, or anything around the
 * value (the caller trims blanks) are 0. */
int wr_trace_valid(const char *v, size_t len);

/* A new traceparent into out (NUL-terminated): version 00, a random trace
 * id and parent id (never all zeros), flags 01 (sampled). */
void wr_trace_new(char out[WR_TRACEPARENT_LEN + 1]);

#endif
