/*
 * Unit tests for core/wr_worker.c. Results computed on worker threads come
 * back through wr_test_waiter_t (mutex + condition variable) with a bounded
 * wait, so a broken mailbox fails a test instead of hanging it.
 */
#include "wr_worker.h"
#include "wr_log.h"
#include "wr_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#define WR_TEST_TIMEOUT_MS 5000

/* Check's assertions longjmp into the test and must not run on a worker
 * thread: callbacks count their problems here, and the tests check it. */
static atomic_int wr_test_bad;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
} wr_test_waiter_t;

static void wr_test_waiter_init(wr_test_waiter_t *wt)
{
    pthread_condattr_t attr;

    ck_assert_int_eq(pthread_mutex_init(&wt->lock, NULL), 0);
    ck_assert_int_eq(pthread_condattr_init(&attr), 0);
    ck_assert_int_eq(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
    ck_assert_int_eq(pthread_cond_init(&wt->cond, &attr), 0);
    pthread_condattr_destroy(&attr);
    wt->count = 0;
}

static void wr_test_waiter_fini(wr_test_waiter_t *wt)
{
    pthread_cond_destroy(&wt->cond);
    pthread_mutex_destroy(&wt->lock);
}

static void wr_test_waiter_add(wr_test_waiter_t *wt, int n)
{
    pthread_mutex_lock(&wt->lock);
    wt->count += n;
    pthread_cond_broadcast(&wt->cond);
    pthread_mutex_unlock(&wt->lock);
}

/* Wait until count >= target; 0, or -1 after WR_TEST_TIMEOUT_MS. */
static int wr_test_waiter_wait(wr_test_waiter_t *wt, int target)
{
    struct timespec deadline;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WR_TEST_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&wt->lock);
    while (wt->count < target && rc == 0)
        rc = pthread_cond_timedwait(&wt->cond, &wt->lock, &deadline);
    rc = wt->count >= target ? 0 : -1;
    pthread_mutex_unlock(&wt->lock);
    return rc;
}

static int wr_test_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* The peer of a closed socket sees EOF (within the timeout). */
static void wr_test_assert_eof(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    ck_assert_int_eq(poll(&p, 1, WR_TEST_TIMEOUT_MS), 1);
    ck_assert_int_eq(read(fd, &c, 1), 0);
}

static void wr_test_socketpair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void wr_test_lifecycle(int n)
{
    int fds = wr_test_count_fds(), i;
    wr_workers_t *ws = wr_workers_new(n);

    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(wr_workers_count(ws), n);
    for (i = 0; i < n; i++) {
        wr_worker_t *w = wr_workers_get(ws, i);

        ck_assert_ptr_nonnull(w);
        ck_assert_int_eq(wr_worker_id(w), i);
        ck_assert_ptr_nonnull(wr_worker_base(w));
    }
    ck_assert_ptr_null(wr_workers_get(ws, -1));
    ck_assert_ptr_null(wr_workers_get(ws, n));
    ck_assert_int_eq(wr_workers_start(ws), 0);
    ck_assert_int_eq(wr_workers_start(ws), -1);
    /* Round robin over all workers, twice around. */
    for (i = 0; i < 2 * n; i++)
        ck_assert_ptr_eq(wr_workers_next(ws), wr_workers_get(ws, i % n));
    ck_assert_ptr_null(wr_worker_current());
    wr_workers_stop(ws);
    wr_workers_free(ws);
    ck_assert_int_eq(wr_test_count_fds(), fds);
}

START_TEST(test_worker__lifecycle_1)
{
    wr_test_lifecycle(1);
}
END_TEST

START_TEST(test_worker__lifecycle_4)
{
    wr_test_lifecycle(4);
}
END_TEST

START_TEST(test_worker__default_count)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    wr_workers_t *ws = wr_workers_new(0);

    ck_assert_ptr_nonnull(ws);
    if (cpus < 1)
        cpus = 1;
    ck_assert_int_eq(wr_workers_count(ws), cpus > 64 ? 64 : cpus);
    wr_workers_free(ws);
    wr_workers_free(NULL);
}
END_TEST

typedef struct {
    wr_test_waiter_t *done;
    wr_worker_t *seen;
    pthread_t thread;
} wr_test_call_t;

static void wr_test_record_call(wr_worker_t *w, void *arg)
{
    wr_test_call_t *c = arg;

    if (w != wr_worker_current())
        atomic_fetch_add(&wr_test_bad, 1);
    c->seen = wr_worker_current();
    c->thread = pthread_self();
    wr_test_waiter_add(c->done, 1);
}

START_TEST(test_worker__call_runs_on_target_thread)
{
    wr_test_call_t calls[4];
    wr_test_waiter_t done;
    wr_workers_t *ws = wr_workers_new(4);
    int i, j;

    wr_test_waiter_init(&done);
    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    for (i = 0; i < 4; i++) {
        calls[i] = (wr_test_call_t){.done = &done};
        ck_assert_int_eq(wr_worker_call(wr_workers_get(ws, i), wr_test_record_call, &calls[i]), 0);
    }
    ck_assert_int_eq(wr_test_waiter_wait(&done, 4), 0);
    for (i = 0; i < 4; i++) {
        ck_assert_ptr_eq(calls[i].seen, wr_workers_get(ws, i));
        ck_assert(!pthread_equal(calls[i].thread, pthread_self()));
        for (j = 0; j < i; j++)
            ck_assert(!pthread_equal(calls[i].thread, calls[j].thread));
    }
    wr_workers_free(ws);
    wr_test_waiter_fini(&done);
}
END_TEST

START_TEST(test_worker__call_queued_before_start)
{
    wr_test_call_t call;
    wr_test_waiter_t done;
    wr_workers_t *ws = wr_workers_new(2);

    wr_test_waiter_init(&done);
    ck_assert_ptr_nonnull(ws);
    call = (wr_test_call_t){.done = &done};
    ck_assert_int_eq(wr_worker_call(wr_workers_get(ws, 1), wr_test_record_call, &call), 0);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    ck_assert_int_eq(wr_test_waiter_wait(&done, 1), 0);
    ck_assert_ptr_eq(call.seen, wr_workers_get(ws, 1));
    wr_workers_free(ws);
    wr_test_waiter_fini(&done);
}
END_TEST

/* Handoff: the state of one connection moved to a worker. */
typedef struct {
    wr_test_waiter_t ready;
    wr_test_waiter_t done;
    wr_worker_t *target;
    wr_worker_t *seen;
    pthread_t thread;
    struct bufferevent *bev;
    char pre[8];
    size_t pre_len;
    char later[8];
    size_t later_len;
    int wrong_base;
} wr_test_conn_t;

static void wr_test_conn_at_stop(wr_worker_t *w, void *arg)
{
    wr_test_conn_t *c = arg;

    /* Only reached with a live bufferevent when the test failed midway. */
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
}

static void wr_test_conn_read(struct bufferevent *bev, void *arg)
{
    wr_test_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (evbuffer_get_length(in) < 5)
        return;
    c->later_len = evbuffer_remove(in, c->later, sizeof(c->later) - 1);
    c->later[c->later_len] = '\0';
    bufferevent_free(bev);
    c->bev = NULL;
    wr_test_waiter_add(&c->done, 1);
}

static void wr_test_conn_handoff(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg)
{
    wr_test_conn_t *c = arg;

    c->seen = wr_worker_current();
    c->thread = pthread_self();
    c->pre_len = evbuffer_remove(preread, c->pre, sizeof(c->pre) - 1);
    c->pre[c->pre_len] = '\0';
    evbuffer_free(preread);

    c->bev = bufferevent_socket_new(wr_worker_base(w), fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        atomic_fetch_add(&wr_test_bad, 1);
        close(fd);
        return;
    }
    c->wrong_base = bufferevent_get_base(c->bev) != wr_worker_base(c->target);
    if (wr_worker_at_stop(w, wr_test_conn_at_stop, c) != 0)
        atomic_fetch_add(&wr_test_bad, 1);
    bufferevent_setcb(c->bev, wr_test_conn_read, NULL, NULL, c);
    if (bufferevent_enable(c->bev, EV_READ) != 0)
        atomic_fetch_add(&wr_test_bad, 1);
    wr_test_waiter_add(&c->ready, 1);
}

START_TEST(test_worker__handoff_socketpair)
{
    int fds = wr_test_count_fds(), sv[2];
    wr_test_conn_t c = {0};
    struct evbuffer *pre = evbuffer_new();
    wr_workers_t *ws = wr_workers_new(4);

    ck_assert_ptr_nonnull(ws);
    ck_assert_ptr_nonnull(pre);
    wr_test_waiter_init(&c.ready);
    wr_test_waiter_init(&c.done);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    wr_test_socketpair(sv);

    /* The main thread reads the first bytes, as an acceptor sniffing a
     * protocol would, then passes the connection on. */
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    ck_assert_int_eq(evbuffer_read(pre, sv[0], 3), 3);
    c.target = wr_workers_get(ws, 2);
    ck_assert_int_eq(wr_worker_handoff(c.target, sv[0], pre, wr_test_conn_handoff, &c), 0);
    ck_assert_int_eq(wr_test_waiter_wait(&c.ready, 1), 0);

    ck_assert_int_eq(write(sv[1], "defgh", 5), 5);
    ck_assert_int_eq(wr_test_waiter_wait(&c.done, 1), 0);
    ck_assert_ptr_eq(c.seen, c.target);
    ck_assert(!pthread_equal(c.thread, pthread_self()));
    ck_assert_int_eq(c.wrong_base, 0);
    ck_assert_str_eq(c.pre, "abc");
    ck_assert_str_eq(c.later, "defgh");
    /* The callback owned the fd: freeing its bufferevent closed it. */
    wr_test_assert_eof(sv[1]);
    close(sv[1]);

    wr_workers_free(ws);
    ck_assert_int_eq(wr_test_count_fds(), fds);
    wr_test_waiter_fini(&c.ready);
    wr_test_waiter_fini(&c.done);
}
END_TEST

static void wr_test_never_called(wr_worker_t *w, int fd, struct evbuffer *preread, void *arg)
{
    atomic_fetch_add(&wr_test_bad, 1);
}

static void wr_test_never_called_fn(wr_worker_t *w, void *arg)
{
    atomic_fetch_add(&wr_test_bad, 1);
}

START_TEST(test_worker__handoff_without_preread)
{
    wr_test_conn_t c = {0};
    wr_workers_t *ws = wr_workers_new(1);
    int sv[2];

    ck_assert_ptr_nonnull(ws);
    wr_test_waiter_init(&c.ready);
    wr_test_waiter_init(&c.done);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    wr_test_socketpair(sv);
    c.target = wr_workers_get(ws, 0);
    /* NULL preread reaches the callback as an empty buffer. */
    ck_assert_int_eq(wr_worker_handoff(c.target, sv[0], NULL, wr_test_conn_handoff, &c), 0);
    ck_assert_int_eq(wr_test_waiter_wait(&c.ready, 1), 0);
    ck_assert_uint_eq(c.pre_len, 0);
    ck_assert_int_eq(write(sv[1], "12345", 5), 5);
    ck_assert_int_eq(wr_test_waiter_wait(&c.done, 1), 0);
    ck_assert_str_eq(c.later, "12345");
    wr_test_assert_eof(sv[1]);
    close(sv[1]);

    /* Bad arguments still consume what was handed over. */
    wr_test_socketpair(sv);
    ck_assert_int_eq(wr_worker_handoff(c.target, -1, evbuffer_new(), wr_test_never_called, NULL),
                     -1);
    ck_assert_int_eq(wr_worker_handoff(c.target, sv[0], evbuffer_new(), NULL, NULL), -1);
    wr_test_assert_eof(sv[1]);
    close(sv[1]);
    ck_assert_int_eq(wr_worker_call(c.target, NULL, NULL), -1);

    wr_workers_free(ws);
    wr_test_waiter_fini(&c.ready);
    wr_test_waiter_fini(&c.done);
}
END_TEST

#define WR_TEST_CALLS 10000

typedef struct {
    wr_workers_t *ws;
    atomic_int *hits;
    wr_test_waiter_t *done;
    int first;
    int failures;
} wr_test_producer_t;

static void wr_test_hit(wr_worker_t *w, void *arg)
{
    atomic_int *hit = arg;

    if (wr_worker_current() != w)
        atomic_fetch_add(&wr_test_bad, 1);
    atomic_fetch_add(hit, 1);
}

static void *wr_test_produce(void *arg)
{
    wr_test_producer_t *p = arg;
    int i;

    for (i = p->first; i < p->first + WR_TEST_CALLS / 2; i++) {
        if (wr_worker_call(wr_workers_next(p->ws), wr_test_hit, &p->hits[i]) != 0)
            p->failures++;
    }
    return NULL;
}

static void wr_test_count_done(wr_worker_t *w, void *arg)
{
    wr_test_waiter_add(arg, 1);
}

START_TEST(test_worker__calls_from_two_producers)
{
    static atomic_int hits[WR_TEST_CALLS];
    wr_test_producer_t prod[2];
    pthread_t th[2];
    wr_test_waiter_t done;
    wr_workers_t *ws = wr_workers_new(4);
    int i;

    ck_assert_ptr_nonnull(ws);
    wr_test_waiter_init(&done);
    for (i = 0; i < WR_TEST_CALLS; i++)
        atomic_init(&hits[i], 0);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    for (i = 0; i < 2; i++) {
        prod[i] = (wr_test_producer_t){
            .ws = ws, .hits = hits, .done = &done, .first = i * (WR_TEST_CALLS / 2)};
        ck_assert_int_eq(pthread_create(&th[i], NULL, wr_test_produce, &prod[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(prod[i].failures, 0);
    }
    /* A marker call per worker, queued after all the others: once every
     * marker ran, so did everything before it (mailboxes are FIFO). */
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(wr_worker_call(wr_workers_get(ws, i), wr_test_count_done, &done), 0);
    ck_assert_int_eq(wr_test_waiter_wait(&done, 4), 0);
    wr_workers_stop(ws);
    for (i = 0; i < WR_TEST_CALLS; i++)
        ck_assert_msg(atomic_load(&hits[i]) == 1, "call %d ran %d times", i, atomic_load(&hits[i]));
    wr_workers_free(ws);
    wr_test_waiter_fini(&done);
}
END_TEST

/* at_stop: each worker records the order in which its callbacks ran. */
typedef struct {
    wr_worker_t *w;
    int order[8];
    int n;
    int wrong_thread;
    pthread_t main_thread;
} wr_test_stop_log_t;

static wr_test_stop_log_t wr_test_stop_logs[3];

static void wr_test_stop_cb(wr_worker_t *w, void *arg)
{
    wr_test_stop_log_t *l = &wr_test_stop_logs[wr_worker_id(w)];

    if (wr_worker_current() != w || l->w != w || pthread_equal(pthread_self(), l->main_thread))
        l->wrong_thread++;
    l->order[l->n++] = (int)(long)arg;
}

static void wr_test_register_late(wr_worker_t *w, void *arg)
{
    /* After start, registration happens on the worker's own thread. */
    if (wr_worker_at_stop(w, wr_test_stop_cb, (void *)4L) != 0)
        atomic_fetch_add(&wr_test_bad, 1);
    wr_test_waiter_add(arg, 1);
}

START_TEST(test_worker__at_stop_reverse_order)
{
    wr_test_waiter_t done;
    wr_workers_t *ws = wr_workers_new(3);
    int i;
    long k;

    ck_assert_ptr_nonnull(ws);
    wr_test_waiter_init(&done);
    memset(wr_test_stop_logs, 0, sizeof(wr_test_stop_logs));
    for (i = 0; i < 3; i++) {
        wr_worker_t *w = wr_workers_get(ws, i);

        wr_test_stop_logs[i].w = w;
        wr_test_stop_logs[i].main_thread = pthread_self();
        for (k = 1; k <= 3; k++)
            ck_assert_int_eq(wr_worker_at_stop(w, wr_test_stop_cb, (void *)k), 0);
    }
    ck_assert_int_eq(wr_workers_start(ws), 0);
    /* From the main thread, once running, registration is refused. */
    ck_assert_int_eq(wr_worker_at_stop(wr_workers_get(ws, 0), wr_test_stop_cb, NULL), -1);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(wr_worker_call(wr_workers_get(ws, i), wr_test_register_late, &done), 0);
    ck_assert_int_eq(wr_test_waiter_wait(&done, 3), 0);
    wr_workers_stop(ws);
    for (i = 0; i < 3; i++) {
        wr_test_stop_log_t *l = &wr_test_stop_logs[i];

        ck_assert_int_eq(l->n, 4);
        ck_assert_int_eq(l->wrong_thread, 0);
        ck_assert_int_eq(l->order[0], 4);
        ck_assert_int_eq(l->order[1], 3);
        ck_assert_int_eq(l->order[2], 2);
        ck_assert_int_eq(l->order[3], 1);
    }
    ck_assert_int_eq(wr_worker_at_stop(wr_workers_get(ws, 0), wr_test_stop_cb, NULL), -1);
    wr_workers_free(ws);
    wr_test_waiter_fini(&done);
}
END_TEST

/* Handoffs tried while the target is stopping. */
typedef struct {
    int fd;
    int rc_self;
    int rc_call;
} wr_test_late_t;

static void wr_test_handoff_while_stopping(wr_worker_t *w, void *arg)
{
    wr_test_late_t *late = arg;
    struct evbuffer *pre = evbuffer_new();

    if (pre == NULL || evbuffer_add(pre, "xyz", 3) != 0)
        atomic_fetch_add(&wr_test_bad, 1);
    late->rc_self = wr_worker_handoff(w, late->fd, pre, wr_test_never_called, NULL);
    late->rc_call = wr_worker_call(w, wr_test_never_called_fn, NULL);
}

START_TEST(test_worker__handoff_to_stopping_worker)
{
    wr_test_late_t late = {.rc_self = 1, .rc_call = 1};
    struct evbuffer *pre;
    wr_workers_t *ws = wr_workers_new(2);
    int sv[2], sv2[2];

    ck_assert_ptr_nonnull(ws);
    wr_test_socketpair(sv);
    late.fd = sv[0];
    /* Runs on worker 1 while it stops: its own mailbox is already closed. */
    ck_assert_int_eq(
        wr_worker_at_stop(wr_workers_get(ws, 1), wr_test_handoff_while_stopping, &late), 0);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    wr_workers_stop(ws);
    ck_assert_int_eq(late.rc_self, -1);
    ck_assert_int_eq(late.rc_call, -1);
    errno = 0;
    ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
    wr_test_assert_eof(sv[1]);
    close(sv[1]);

    /* After the stop, from the main thread: refused, fd closed, buffer freed
     * (ASan would report it otherwise). */
    wr_test_socketpair(sv2);
    pre = evbuffer_new();
    ck_assert_ptr_nonnull(pre);
    ck_assert_int_eq(evbuffer_add(pre, "abc", 3), 0);
    ck_assert_int_eq(
        wr_worker_handoff(wr_workers_get(ws, 0), sv2[0], pre, wr_test_never_called, NULL), -1);
    wr_test_assert_eof(sv2[1]);
    close(sv2[1]);
    ck_assert_int_eq(wr_worker_call(wr_workers_get(ws, 0), wr_test_never_called_fn, NULL), -1);
    wr_workers_free(ws);
}
END_TEST

START_TEST(test_worker__stop_idempotent)
{
    wr_workers_t *ws = wr_workers_new(2);

    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(wr_workers_start(ws), 0);
    wr_workers_stop(ws);
    wr_workers_stop(ws);
    ck_assert_int_eq(wr_workers_start(ws), -1);
    wr_workers_stop(ws);
    wr_workers_free(ws);
}
END_TEST

static int wr_test_unstarted_stop_ran;

static void wr_test_unstarted_stop(wr_worker_t *w, void *arg)
{
    /* No thread ever ran: the stopping thread stands in for the worker. */
    ck_assert_ptr_eq(wr_worker_current(), w);
    ck_assert_ptr_eq(w, arg);
    wr_test_unstarted_stop_ran++;
}

START_TEST(test_worker__free_without_start)
{
    int fds = wr_test_count_fds(), sv[2];
    wr_workers_t *ws = wr_workers_new(2);
    wr_worker_t *w;

    ck_assert_ptr_nonnull(ws);
    w = wr_workers_get(ws, 1);
    wr_test_unstarted_stop_ran = 0;
    ck_assert_int_eq(wr_worker_at_stop(w, wr_test_unstarted_stop, w), 0);
    /* Queued before a start that never comes: dropped, never called, but the
     * handed-off fd and buffer are still released. */
    ck_assert_int_eq(wr_worker_call(w, wr_test_never_called_fn, NULL), 0);
    wr_test_socketpair(sv);
    ck_assert_int_eq(wr_worker_handoff(w, sv[0], evbuffer_new(), wr_test_never_called, NULL), 0);
    wr_workers_free(ws);
    ck_assert_int_eq(wr_test_unstarted_stop_ran, 1);
    ck_assert_ptr_null(wr_worker_current());
    wr_test_assert_eof(sv[1]);
    close(sv[1]);
    ck_assert_int_eq(wr_test_count_fds(), fds);
}
END_TEST

static void wr_test_setup(void)
{
    atomic_store(&wr_test_bad, 0);
}

static void wr_test_teardown(void)
{
    int bad = atomic_load(&wr_test_bad);

    ck_assert_msg(bad == 0, "%d problem(s) seen on worker threads", bad);
}

static Suite *wr_worker_suite(void)
{
    Suite *s = suite_create("wr_worker");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, wr_test_setup, wr_test_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_worker__lifecycle_1);
    tcase_add_test(tc, test_worker__lifecycle_4);
    tcase_add_test(tc, test_worker__default_count);
    tcase_add_test(tc, test_worker__call_runs_on_target_thread);
    tcase_add_test(tc, test_worker__call_queued_before_start);
    tcase_add_test(tc, test_worker__handoff_socketpair);
    tcase_add_test(tc, test_worker__handoff_without_preread);
    tcase_add_test(tc, test_worker__calls_from_two_producers);
    tcase_add_test(tc, test_worker__at_stop_reverse_order);
    tcase_add_test(tc, test_worker__handoff_to_stopping_worker);
    tcase_add_test(tc, test_worker__stop_idempotent);
    tcase_add_test(tc, test_worker__free_without_start);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_worker_suite)
