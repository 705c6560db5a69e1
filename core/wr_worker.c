/*
 * wr_worker: see wr_worker.h.
 *
 * Worker ids start at 0 and match wr_workers_get()'s index; a worker's
 * thread logs as "w<id>" ("w0", "w1", ...).
 *
 * Mailbox. Each worker has a mutex-protected FIFO of messages and one
 * `wake` event with no fd. A sender appends under the mutex and, when the
 * queue was empty, makes `wake` active with event_active(), which libevent
 * makes thread-safe (it wakes the loop through the base's notify fd) once
 * evthread_use_pthreads() has run; wr_workers_new() does that once. The
 * worker's wake callback takes the whole queue in one go and runs it, so a
 * burst of messages costs one wake-up.
 *
 * Stopping. The stop message is a flag in the mailbox rather than a queued
 * node, so that posting it cannot fail for want of memory. Setting it closes
 * the mailbox: later sends fail (and a failed handoff still closes its fd and
 * frees its buffer). On its own thread the worker first runs every message
 * accepted before the stop (their senders were told 0, so ownership already
 * moved to the callback), then its at_stop callbacks newest first, then
 * discards anything left without calling it, then leaves its loop.
 *
 * A worker that was never started (wr_workers_free() without start, or a
 * failed start) has no thread: its at_stop callbacks run on the stopping
 * thread, with wr_worker_current() returning that worker meanwhile, and its
 * queued messages are discarded without being called (a wr_worker_call()'s
 * arg is then the caller's to reclaim).
 */
#include "wr_worker.h"

#include "wr_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/thread.h>

#define WR_WORKERS_MAX 64

typedef enum {
    WR_MSG_HANDOFF,
    WR_MSG_CALL,
} wr_msg_kind_t;

typedef struct wr_msg {
    struct wr_msg *next;
    wr_msg_kind_t kind;
    int fd;
    /* Created without locking by whoever read the first bytes. An evbuffer
     * without evbuffer_enable_locking() is not tied to a thread in libevent,
     * so after the mailbox mutex has passed it over, the target thread may
     * use it freely; the sender must not touch it again. */
    struct evbuffer *preread;
    wr_handoff_cb handoff;
    wr_worker_fn fn;
    void *arg;
} wr_msg_t;

typedef struct wr_at_stop {
    struct wr_at_stop *next;
    wr_worker_fn fn;
    void *arg;
} wr_at_stop_t;

struct wr_worker {
    int id;
    struct event_base *base;
    struct event *wake;
    pthread_t thread;
    /* Thread created and not yet joined. Written by the main thread only, and
     * before pthread_create(), so the worker may read it too. */
    bool running;
    /* Stop sequence done. Worker thread while running, main thread after. */
    bool stopped;
    /* Newest first, so running the list in order is reverse registration.
     * Only touched on the worker's thread, or while it has no thread. */
    wr_at_stop_t *at_stop;

    pthread_mutex_t lock;
    /* Under lock. */
    wr_msg_t *head;
    wr_msg_t **tail;
    bool stopping;
};

struct wr_workers {
    int n;
    bool started;
    bool stopped;
    atomic_uint next;
    wr_worker_t *w;
};

static _Thread_local wr_worker_t *wr_worker_self;

static pthread_once_t wr_worker_evthread_once = PTHREAD_ONCE_INIT;
static int wr_worker_evthread_rc;

static void wr_worker_evthread_init(void)
{
    wr_worker_evthread_rc = evthread_use_pthreads();
}

int wr_workers_default_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n == -1)
        return 1;
    if (n < 1)
        n = 1;
    return n > WR_WORKERS_MAX ? WR_WORKERS_MAX : (int)n;
}

/* Free a message that will never be delivered, honouring the ownership its
 * sender gave away. */
static void wr_msg_discard(wr_msg_t *m)
{
    if (m->kind == WR_MSG_HANDOFF) {
        close(m->fd);
        evbuffer_free(m->preread);
    }
    free(m);
}

static void wr_msg_deliver(wr_worker_t *w, wr_msg_t *m)
{
    wr_msg_t copy = *m;

    /* Freed before the call: the callback may block or end the loop, and
     * nothing in the node is needed once its fields are copied. */
    free(m);
    if (copy.kind == WR_MSG_HANDOFF)
        copy.handoff(w, copy.fd, copy.preread, copy.arg);
    else
        copy.fn(w, copy.arg);
}

/* Take the whole queue. */
static wr_msg_t *wr_worker_take(wr_worker_t *w, bool *stopping)
{
    wr_msg_t *batch;

    pthread_mutex_lock(&w->lock);
    batch = w->head;
    w->head = NULL;
    w->tail = &w->head;
    if (stopping != NULL)
        *stopping = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return batch;
}

/* at_stop callbacks, then whatever is left in the (closed) mailbox. Runs on
 * the worker's thread, or on the stopping thread for a never-started one. */
static void wr_worker_run_stop(wr_worker_t *w)
{
    wr_at_stop_t *a;
    wr_msg_t *m;

    /* Popped one at a time so that a callback registering another one
     * (on this thread, as allowed) still gets it run. */
    while ((a = w->at_stop) != NULL) {
        w->at_stop = a->next;
        a->fn(w, a->arg);
        free(a);
    }
    m = wr_worker_take(w, NULL);
    while (m != NULL) {
        wr_msg_t *next = m->next;

        wr_msg_discard(m);
        m = next;
    }
    w->stopped = true;
}

static void wr_worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    wr_worker_t *w = arg;
    bool stopping;
    wr_msg_t *m = wr_worker_take(w, &stopping);

    /* Everything taken here was accepted before the stop flag was read in
     * the same critical section, so it runs even when stopping. */
    while (m != NULL) {
        wr_msg_t *next = m->next;

        wr_msg_deliver(w, m);
        m = next;
    }
    if (stopping && !w->stopped) {
        wr_worker_run_stop(w);
        event_base_loopexit(w->base, NULL);
    }
}

/* Append m, or return -1 if the mailbox is closed (m stays the caller's). */
static int wr_worker_post(wr_worker_t *to, wr_msg_t *m)
{
    bool was_empty;

    m->next = NULL;
    pthread_mutex_lock(&to->lock);
    if (to->stopping) {
        pthread_mutex_unlock(&to->lock);
        errno = ESHUTDOWN;
        return -1;
    }
    was_empty = to->head == NULL;
    *to->tail = m;
    to->tail = &m->next;
    /* A non-empty queue already has a wake-up pending. Activating under the
     * mutex means no sender touches `wake` once the mailbox is closed, which
     * is what lets wr_workers_free() free it after the stop. (Lock order is
     * mailbox, then base: libevent runs our callbacks without its lock.) */
    if (was_empty)
        event_active(to->wake, EV_READ, 0);
    pthread_mutex_unlock(&to->lock);
    return 0;
}

static void *wr_worker_main(void *arg)
{
    wr_worker_t *w = arg;
    char name[16];

    wr_worker_self = w;
    snprintf(name, sizeof(name), "w%d", w->id);
    wr_log_set_thread_name(name);
    snprintf(name, sizeof(name), "warren-w%d", w->id);
    pthread_setname_np(pthread_self(), name);

    if (event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
        wr_log_error("worker loop failed");

    if (!w->stopped) {
        /* Left the loop without a stop (someone broke it): close the mailbox
         * and still run the stop sequence, so nothing queued is lost. */
        wr_log_warn("worker loop ended before stop");
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_mutex_unlock(&w->lock);
        wr_worker_run_stop(w);
    }
    wr_log_set_thread_name(NULL);
    wr_worker_self = NULL;
    return NULL;
}

static int wr_worker_init(wr_worker_t *w, int id)
{
    struct event_config *cfg;
    int rc;

    w->id = id;
    w->tail = &w->head;
    rc = pthread_mutex_init(&w->lock, NULL);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    cfg = event_config_new();
    if (cfg == NULL)
        goto failed;
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (w->base == NULL)
        goto failed;
    w->wake = event_new(w->base, -1, 0, wr_worker_wake_cb, w);
    if (w->wake == NULL)
        goto failed;
    return 0;

failed:
    /* Not a NULL-tolerant free: event_base_free(NULL) warns, or frees
     * libevent's global current_base when event_init() made one. */
    if (w->base != NULL)
        event_base_free(w->base);
    w->base = NULL;
    pthread_mutex_destroy(&w->lock);
    return -1;
}

static void wr_worker_fini(wr_worker_t *w)
{
    wr_at_stop_t *a;
    wr_msg_t *m = wr_worker_take(w, NULL);

    while (m != NULL) {
        wr_msg_t *next = m->next;

        wr_msg_discard(m);
        m = next;
    }
    while ((a = w->at_stop) != NULL) {
        w->at_stop = a->next;
        free(a);
    }
    event_free(w->wake);
    event_base_free(w->base);
    pthread_mutex_destroy(&w->lock);
}

static void wr_workers_destroy(wr_workers_t *ws)
{
    int i;

    for (i = 0; i < ws->n; i++)
        wr_worker_fini(&ws->w[i]);
    free(ws->w);
    free(ws);
}

wr_workers_t *wr_workers_new(int n)
{
    wr_workers_t *ws = NULL;
    int i;

    if (n <= 0)
        n = wr_workers_default_count();
    if (n > WR_WORKERS_MAX) {
        wr_log_warn("%d workers asked for, using %d", n, WR_WORKERS_MAX);
        n = WR_WORKERS_MAX;
    }
    pthread_once(&wr_worker_evthread_once, wr_worker_evthread_init);
    if (wr_worker_evthread_rc != 0) {
        wr_log_error("workers: libevent thread support unavailable");
        return NULL;
    }
    ws = calloc(1, sizeof(*ws));
    if (ws == NULL) {
        wr_log_error("workers: out of memory");
        return NULL;
    }
    ws->w = calloc((size_t)n, sizeof(*ws->w));
    if (ws->w == NULL)
        goto failed;
    for (i = 0; i < n; i++) {
        if (wr_worker_init(&ws->w[i], i) == -1)
            goto failed;
        ws->n = i + 1;
    }
    return ws;

failed:
    wr_log_error("workers: cannot create %d workers: %s", n, strerror(errno));
    wr_workers_destroy(ws);
    return NULL;
}

int wr_workers_start(wr_workers_t *ws)
{
    int i, rc;

    if (ws->started || ws->stopped) {
        wr_log_error("workers: already started or stopped");
        return -1;
    }
    ws->started = true;
    for (i = 0; i < ws->n; i++) {
        wr_worker_t *w = &ws->w[i];

        w->running = true;
        rc = pthread_create(&w->thread, NULL, wr_worker_main, w);
        if (rc != 0) {
            w->running = false;
            wr_log_error("workers: cannot start worker %d: %s", i, strerror(rc));
            wr_workers_stop(ws);
            return -1;
        }
    }
    return 0;
}

int wr_workers_count(const wr_workers_t *ws)
{
    return ws->n;
}

wr_worker_t *wr_workers_get(wr_workers_t *ws, int i)
{
    if (i < 0 || i >= ws->n)
        return NULL;
    return &ws->w[i];
}

wr_worker_t *wr_workers_next(wr_workers_t *ws)
{
    unsigned k = atomic_fetch_add_explicit(&ws->next, 1, memory_order_relaxed);

    return &ws->w[k % (unsigned)ws->n];
}

void wr_workers_stop(wr_workers_t *ws)
{
    int i;

    if (ws->stopped)
        return;
    if (wr_worker_self != NULL) {
        /* Joining would wait for ourselves. */
        wr_log_error("workers: stop called on a worker thread; ignored");
        return;
    }
    ws->stopped = true;

    /* Close every mailbox first so that all workers wind down in parallel. */
    for (i = 0; i < ws->n; i++) {
        wr_worker_t *w = &ws->w[i];

        pthread_mutex_lock(&w->lock);
        if (!w->stopping) {
            w->stopping = true;
            if (w->running)
                event_active(w->wake, EV_READ, 0);
        }
        pthread_mutex_unlock(&w->lock);
    }
    for (i = 0; i < ws->n; i++) {
        wr_worker_t *w = &ws->w[i];

        if (w->running) {
            pthread_join(w->thread, NULL);
            w->running = false;
        } else if (!w->stopped) {
            wr_worker_self = w;
            wr_worker_run_stop(w);
            wr_worker_self = NULL;
        }
    }
}

void wr_workers_free(wr_workers_t *ws)
{
    if (ws == NULL)
        return;
    if (wr_worker_self != NULL) {
        wr_log_error("workers: free called on a worker thread; ignored");
        return;
    }
    wr_workers_stop(ws);
    wr_workers_destroy(ws);
}

struct event_base *wr_worker_base(wr_worker_t *w)
{
    return w->base;
}

int wr_worker_id(const wr_worker_t *w)
{
    return w->id;
}

wr_worker_t *wr_worker_current(void)
{
    return wr_worker_self;
}

int wr_worker_handoff(wr_worker_t *to, int fd, struct evbuffer *preread, wr_handoff_cb cb,
                      void *arg)
{
    wr_msg_t *m = NULL;
    int err;

    if (fd < 0 || cb == NULL) {
        errno = fd < 0 ? EBADF : EINVAL;
        goto failed;
    }
    if (preread == NULL) {
        preread = evbuffer_new();
        if (preread == NULL)
            goto failed;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto failed;
    m->kind = WR_MSG_HANDOFF;
    m->fd = fd;
    m->preread = preread;
    m->handoff = cb;
    m->arg = arg;
    if (wr_worker_post(to, m) == -1)
        goto failed;
    return 0;

failed:
    err = errno;
    wr_log_debug("handoff of fd %d to worker %d failed: %s", fd, to->id, strerror(err));
    free(m);
    if (fd >= 0)
        close(fd);
    if (preread != NULL)
        evbuffer_free(preread);
    errno = err;
    return -1;
}

int wr_worker_call(wr_worker_t *to, wr_worker_fn fn, void *arg)
{
    wr_msg_t *m = NULL;

    if (fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -1;
    m->kind = WR_MSG_CALL;
    m->fd = -1;
    m->fn = fn;
    m->arg = arg;
    if (wr_worker_post(to, m) == -1) {
        free(m);
        return -1;
    }
    return 0;
}

int wr_worker_at_stop(wr_worker_t *w, wr_worker_fn fn, void *arg)
{
    wr_at_stop_t *a;

    /* `running` first: on a foreign thread it is stable (main wrote it before
     * creating the thread) while `stopped` may be changing. */
    if (fn == NULL || (w->running && wr_worker_self != w) || w->stopped) {
        wr_log_error("worker %d: at_stop from the wrong thread or after stop", w->id);
        errno = EINVAL;
        return -1;
    }
    a = malloc(sizeof(*a));
    if (a == NULL)
        return -1;
    a->fn = fn;
    a->arg = arg;
    a->next = w->at_stop;
    w->at_stop = a;
    return 0;
}

void wr_workers_accept(wr_workers_t *ws, int lfd, wr_handoff_cb cb, void *arg)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            /* EMFILE and friends leave the connection queued: logged, and
             * retried on the next readiness. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                wr_log_warn("accept: %s", strerror(errno));
            return;
        }
        wr_worker_handoff(wr_workers_next(ws), fd, NULL, cb, arg);
    }
}
