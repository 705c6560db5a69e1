/*
 * wr_registry: public names and their owning sessions (see wr_registry.h).
 * A chained hash table under a read-write lock; it doubles its buckets
 * when it holds more than two entries per bucket.
 */
#include "wr_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct wr_reg_entry {
    struct wr_reg_entry *next;
    uint64_t hash;
    wr_reg_owner_t owner;
    char key[];
} wr_reg_entry_t;

static pthread_rwlock_t wr_reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static wr_reg_entry_t **wr_reg_buckets;
static size_t wr_reg_nbuckets, wr_reg_n;

/* FNV-1a: keys are short and not chosen by strangers in bulk (a client
 * needs a token to claim one), and lookups of absent keys stop at a chain
 * of at most a few entries. */
static uint64_t wr_reg_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *key; key++) {
        h ^= (uint8_t)*key;
        h *= 1099511628211ULL;
    }
    return h;
}

static wr_reg_entry_t **wr_reg_slot(const char *key, uint64_t h)
{
    wr_reg_entry_t **pp;

    if (wr_reg_nbuckets == 0)
        return NULL;
    for (pp = &wr_reg_buckets[h & (wr_reg_nbuckets - 1)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
            break;
    }
    return pp;
}

/* Called with the write lock. A failed resize keeps the old table. */
static void wr_reg_grow(void)
{
    size_t n = wr_reg_nbuckets ? wr_reg_nbuckets * 2 : 64;
    wr_reg_entry_t **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return;
    for (size_t i = 0; i < wr_reg_nbuckets; i++) {
        wr_reg_entry_t *e = wr_reg_buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(wr_reg_buckets);
    wr_reg_buckets = b;
    wr_reg_nbuckets = n;
}

int wr_reg_claim(const char *key, const wr_reg_owner_t *me, wr_reg_owner_t *holder)
{
    uint64_t h = wr_reg_hash(key);
    wr_reg_entry_t **pp, *e;
    size_t len = strlen(key);
    int rc = 0;

    memset(holder, 0, sizeof(*holder));
    pthread_rwlock_wrlock(&wr_reg_lock);
    if (wr_reg_n >= 2 * wr_reg_nbuckets)
        wr_reg_grow();
    pp = wr_reg_slot(key, h);
    if (pp != NULL && *pp != NULL) {
        if ((*pp)->owner.sid == me->sid) {
            (*pp)->owner = *me;
        } else {
            *holder = (*pp)->owner;
            rc = -1;
        }
    } else if (pp == NULL || (e = malloc(sizeof(*e) + len + 1)) == NULL) {
        rc = -1;
    } else {
        e->next = NULL;
        e->hash = h;
        e->owner = *me;
        memcpy(e->key, key, len + 1);
        *pp = e;
        wr_reg_n++;
    }
    pthread_rwlock_unlock(&wr_reg_lock);
    return rc;
}

void wr_reg_release(const char *key, uint64_t sid)
{
    wr_reg_entry_t **pp, *e;

    pthread_rwlock_wrlock(&wr_reg_lock);
    pp = wr_reg_slot(key, wr_reg_hash(key));
    if (pp != NULL && (e = *pp) != NULL && e->owner.sid == sid) {
        *pp = e->next;
        free(e);
        wr_reg_n--;
    }
    pthread_rwlock_unlock(&wr_reg_lock);
}

int wr_reg_lookup(const char *key, wr_reg_owner_t *out)
{
    wr_reg_entry_t **pp;
    int rc = -1;

    pthread_rwlock_rdlock(&wr_reg_lock);
    pp = wr_reg_slot(key, wr_reg_hash(key));
    if (pp != NULL && *pp != NULL) {
        *out = (*pp)->owner;
        rc = 0;
    }
    pthread_rwlock_unlock(&wr_reg_lock);
    return rc;
}

size_t wr_reg_count(void)
{
    size_t n;

    pthread_rwlock_rdlock(&wr_reg_lock);
    n = wr_reg_n;
    pthread_rwlock_unlock(&wr_reg_lock);
    return n;
}

void wr_reg_clear(void)
{
    pthread_rwlock_wrlock(&wr_reg_lock);
    for (size_t i = 0; i < wr_reg_nbuckets; i++) {
        wr_reg_entry_t *e = wr_reg_buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(wr_reg_buckets);
    wr_reg_buckets = NULL;
    wr_reg_nbuckets = wr_reg_n = 0;
    pthread_rwlock_unlock(&wr_reg_lock);
}
