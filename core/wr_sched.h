/*
 * wr_sched: the mux send scheduler. Four priority classes, strict between
 * classes (critical before high before normal before low), round-robin
 * inside a class: the caller sends one frame from the head entry, then
 * rotates it to the tail if it still has something to send.
 *
 * Entries are intrusive (embedded in the stream), so queuing never allocates.
 * Not thread-safe: a scheduler belongs to one session on one worker.
 */
#ifndef WR_SCHED_H
#define WR_SCHED_H

#include <stddef.h>

typedef enum {
    WR_PRIO_CRITICAL = 0,
    WR_PRIO_HIGH = 1,
    WR_PRIO_NORMAL = 2,
    WR_PRIO_LOW = 3,
} wr_prio_t;

#define WR_PRIO_COUNT 4

typedef struct wr_sched_entry {
    struct wr_sched_entry *next;
    struct wr_sched_entry *prev;
    unsigned char cls;    /* class while queued */
    unsigned char queued; /* 1 while in a class list */
} wr_sched_entry_t;

typedef struct {
    wr_sched_entry_t *head[WR_PRIO_COUNT];
    wr_sched_entry_t *tail[WR_PRIO_COUNT];
    size_t count[WR_PRIO_COUNT];
} wr_sched_t;

void wr_sched_init(wr_sched_t *s);

/* Queue e at the tail of class cls (0..3). No-op if e is already queued. */
void wr_sched_push(wr_sched_t *s, wr_sched_entry_t *e, int cls);

/* Take e out of its class. No-op if e is not queued. */
void wr_sched_remove(wr_sched_t *s, wr_sched_entry_t *e);

/* The entry to serve next: head of the highest non-empty class, or NULL. */
wr_sched_entry_t *wr_sched_peek(const wr_sched_t *s);

/* Move queued entry e to the tail of its class (after it was served). */
void wr_sched_rotate(wr_sched_t *s, wr_sched_entry_t *e);

/* Parse "critical", "high", "normal", "low". 0 or -1. */
int wr_prio_parse(const char *name, wr_prio_t *out);
const char *wr_prio_name(wr_prio_t p);

#endif
