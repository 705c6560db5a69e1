/*
 * wr_worker: the worker threads. Each worker owns one libevent event_base and
 * runs it on its own thread; a session and all of its streams live on one
 * worker, so nothing on the data path takes a lock.
 *
 * Cross-thread work goes through a worker's mailbox (a mutex-protected queue
 * drained by the worker's loop after an event_active() wake-up):
 *   - wr_worker_handoff() moves a connection (its fd and the bytes already
 *     read from it) to another worker;
 *   - wr_worker_call() runs a function on a worker.
 *
 * Shutdown: wr_workers_stop() runs, on each worker's thread, the callbacks
 * registered with wr_worker_at_stop() (in reverse order of registration) so
 * that modules free what lives on that worker's base, then ends every loop
 * and joins the threads. wr_workers_free() frees the rest. After both, no
 * memory or fd owned by this unit remains.
 */
#ifndef WR_WORKER_H
#define WR_WORKER_H

#include <event2/buffer.h>
#include <event2/event.h>

typedef struct wr_worker wr_worker_t;
typedef struct wr_workers wr_workers_t;

/* Runs on the target worker's thread. Takes ownership of fd and of preread
 * (never NULL: an empty buffer when nothing was read); must close/free them. */
typedef void (*wr_handoff_cb)(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg);
typedef void (*wr_worker_fn)(wr_worker_t *w, void *arg);

#define WR_WORKERS_MAX 64

/* Create n workers (n <= 0: one per online CPU, at most WR_WORKERS_MAX). Threads are not
 * started yet. Returns NULL on failure (logged). Main thread. */
wr_workers_t *wr_workers_new(int n);

/* The count wr_workers_new(0) chooses: the CPUs online, at most
 * WR_WORKERS_MAX. */
int wr_workers_default_count(void);

/* Start the threads. 0 or -1 (logged). Main thread. */
int wr_workers_start(wr_workers_t *ws);

int wr_workers_count(const wr_workers_t *ws);
wr_worker_t *wr_workers_get(wr_workers_t *ws, int i);

/* Round-robin choice of a worker for a new connection. Any thread. */
wr_worker_t *wr_workers_next(wr_workers_t *ws);

/* Ask every worker to run its stop callbacks and leave its loop, then join
 * all threads. Idempotent. Main thread. */
void wr_workers_stop(wr_workers_t *ws);

/* Free everything (stops first if needed). Main thread. */
void wr_workers_free(wr_workers_t *ws);

struct event_base *wr_worker_base(wr_worker_t *w);
int wr_worker_id(const wr_worker_t *w);

/* The worker whose thread is calling, or NULL on any other thread. */
wr_worker_t *wr_worker_current(void);

/* Hand a connection to worker `to`: cb(to, fd, preread, arg) runs on its
 * thread. Takes ownership of fd and preread (preread may be NULL) on success
 * and on failure (then both are closed/freed). Any thread. 0 or -1.
 * The caller must not touch fd or preread after the call. Create preread
 * without evbuffer_enable_locking(): an unlocked evbuffer is not tied to a
 * thread, so the target may use it once the mailbox has passed it over. */
int wr_worker_handoff(wr_worker_t *to, int fd, struct evbuffer *preread, wr_handoff_cb cb,
                      void *arg);

/* Accept what is pending on the non-blocking listener lfd (up to 64
 * connections per call, so one busy listener cannot starve the loop) and
 * hand each, round-robin, to a worker: cb(worker, fd, preread, arg). For an
 * event callback on the listener. Any thread. */
void wr_workers_accept(wr_workers_t *ws, int lfd, wr_handoff_cb cb, void *arg);

/* Run fn(to, arg) on worker `to`'s thread. Any thread. 0 or -1 (worker
 * stopping or out of memory; fn is then not called). */
int wr_worker_call(wr_worker_t *to, wr_worker_fn fn, void *arg);

/* Register fn(w, arg) to run on w's thread when the workers stop. Call on w's
 * thread (or before start). 0 or -1. */
int wr_worker_at_stop(wr_worker_t *w, wr_worker_fn fn, void *arg);

#endif
