/*
 * wr_sched: strict-priority classes with round-robin inside each (wr_sched.h).
 */
#include "wr_sched.h"

#include <string.h>

void wr_sched_init(wr_sched_t *s)
{
    memset(s, 0, sizeof(*s));
}

void wr_sched_push(wr_sched_t *s, wr_sched_entry_t *e, int cls)
{
    if (e->queued)
        return;
    if (cls < 0 || cls >= WR_PRIO_COUNT)
        cls = WR_PRIO_NORMAL;
    e->cls = (unsigned char)cls;
    e->queued = 1;
    e->next = NULL;
    e->prev = s->tail[cls];
    if (s->tail[cls])
        s->tail[cls]->next = e;
    else
        s->head[cls] = e;
    s->tail[cls] = e;
    s->count[cls]++;
}

void wr_sched_remove(wr_sched_t *s, wr_sched_entry_t *e)
{
    int cls = e->cls;

    if (!e->queued)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head[cls] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail[cls] = e->prev;
    e->next = e->prev = NULL;
    e->queued = 0;
    s->count[cls]--;
}

wr_sched_entry_t *wr_sched_peek(const wr_sched_t *s)
{
    for (int c = 0; c < WR_PRIO_COUNT; c++) {
        if (s->head[c])
            return s->head[c];
    }
    return NULL;
}

void wr_sched_rotate(wr_sched_t *s, wr_sched_entry_t *e)
{
    int cls = e->cls;

    if (!e->queued || s->tail[cls] == e)
        return;
    wr_sched_remove(s, e);
    wr_sched_push(s, e, cls);
}

static const char *const wr_prio_names[WR_PRIO_COUNT] = {"critical", "high", "normal", "low"};

int wr_prio_parse(const char *name, wr_prio_t *out)
{
    for (int i = 0; i < WR_PRIO_COUNT; i++) {
        if (strcmp(name, wr_prio_names[i]) == 0) {
            *out = (wr_prio_t)i;
            return 0;
        }
    }
    return -1;
}

const char *wr_prio_name(wr_prio_t p)
{
    return (p >= 0 && p < WR_PRIO_COUNT) ? wr_prio_names[p] : "?";
}
