/*
 * wr_registry: which session owns each public name, across workers. A name
 * is a key string: "tcp:20001" for a TCP port, "http:app.example.com" for
 * an HTTP hostname. A session claims its names before it is welcomed and
 * releases them when it ends; the HTTP ingress looks a hostname up on every
 * request, so lookups take a shared lock and claims an exclusive one.
 *
 * An owner is named by value (worker, session id, tunnel index), never by a
 * pointer: the session belongs to its worker's thread, and whoever looks it
 * up on another thread must go through that worker (wr_worker_call or
 * wr_worker_handoff) and find it there by id, or learn that it is gone.
 */
#ifndef WR_REGISTRY_H
#define WR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "wr_worker.h"

#define WR_REG_KEY_MAX 272 /* "http:" + a 253-byte hostname, NUL */

typedef struct {
    uint64_t sid;         /* 0: nobody (out of memory on a claim) */
    uint8_t instance[16]; /* the client process: same instance may take over */
    wr_worker_t *worker;
    int tunnel;  /* index in the session's tunnels */
    unsigned mx; /* the tunnel's wr_stats label, for the ingress's metrics */
} wr_reg_owner_t;

/* Claim key for *me. 0 on success (also when me->sid already holds it);
 * -1 when another session holds it (copied to *holder) or out of memory
 * (holder->sid == 0). */
int wr_reg_claim(const char *key, const wr_reg_owner_t *me, wr_reg_owner_t *holder);

/* Release key if session sid holds it. */
void wr_reg_release(const char *key, uint64_t sid);

/* 0 and *out filled when key is held; -1 otherwise. */
int wr_reg_lookup(const char *key, wr_reg_owner_t *out);

/* The number of names held (for tests and the status page). */
size_t wr_reg_count(void);

/* Free every entry (at exit, after the sessions are gone). */
void wr_reg_clear(void);

#endif
