/*
 * wr_ptable: a bounded table of string keys that forgets the least
 * recently used first, for the shipped plugins that keep state per client
 * or per tunnel (ratelimit, circuit_breaker). Header only: a plugin links
 * nothing of warren's, so each compiles its own copy.
 *
 * Entries are the plugin's own structs, with a wr_pt_node_t as their first
 * member; the table links them and never allocates or frees one. Keys are
 * hashed with SipHash-2-4 under a random key per table, so that clients
 * cannot choose keys that pile up in one chain. Not thread-safe: the
 * plugin holds its lock around every call.
 */
#ifndef WR_PTABLE_H
#define WR_PTABLE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wr_pt_node {
    struct wr_pt_node *hnext;       /* next in its hash chain */
    struct wr_pt_node *prev, *next; /* order of use, most recent first */
    uint64_t hash;
    const char *key; /* in the entry's own storage */
} wr_pt_node_t;

typedef struct {
    wr_pt_node_t **slots; /* a power of two, at least max; NULL before init */
    size_t mask;
    wr_pt_node_t *head, *tail;
    size_t count, max;
    uint64_t seed[2];
} wr_ptable_t;

/* Room for max entries (max >= 1). 0, or -1 when out of memory. */
static inline int wr_pt_init(wr_ptable_t *t, size_t max, const uint64_t seed[2])
{
    size_t slots = 1;

    while (slots < max)
        slots <<= 1;
    memset(t, 0, sizeof(*t));
    t->slots = calloc(slots, sizeof(*t->slots));
    if (t->slots == NULL)
        return -1;
    t->mask = slots - 1;
    t->max = max;
    t->seed[0] = seed[0];
    t->seed[1] = seed[1];
    return 0;
}

/* Every entry to free_entry (most recent first), then the table's own
 * memory. */
static inline void wr_pt_destroy(wr_ptable_t *t, void (*free_entry)(wr_pt_node_t *))
{
    wr_pt_node_t *n = t->head, *next;

    for (; n != NULL; n = next) {
        next = n->next;
        free_entry(n);
    }
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

#define WR_PT_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define WR_PT_SIPROUND                                                                             \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = WR_PT_ROTL(v1, 13);                                                                   \
        v1 ^= v0;                                                                                  \
        v0 = WR_PT_ROTL(v0, 32);                                                                   \
        v2 += v3;                                                                                  \
        v3 = WR_PT_ROTL(v3, 16);                                                                   \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = WR_PT_ROTL(v3, 21);                                                                   \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = WR_PT_ROTL(v1, 17);                                                                   \
        v1 ^= v2;                                                                                  \
        v2 = WR_PT_ROTL(v2, 32);                                                                   \
    } while (0)

/* SipHash-2-4 (Aumasson and Bernstein) of the len bytes at data, under
 * key (a table's seed). */
static inline uint64_t wr_pt_hash(const uint64_t key[2], const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
    uint64_t m, b = (uint64_t)len << 56;
    size_t i, left = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        m = 0;
        for (int j = 7; j >= 0; j--)
            m = m << 8 | p[i + (size_t)j];
        v3 ^= m;
        WR_PT_SIPROUND;
        WR_PT_SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; j < left; j++)
        b |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= b;
    WR_PT_SIPROUND;
    WR_PT_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    WR_PT_SIPROUND;
    WR_PT_SIPROUND;
    WR_PT_SIPROUND;
    WR_PT_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The entry of key (hash: wr_pt_hash of it under t->seed), or NULL. */
static inline wr_pt_node_t *wr_pt_find(const wr_ptable_t *t, const char *key, uint64_t hash)
{
    wr_pt_node_t *n;

    for (n = t->slots[hash & t->mask]; n != NULL; n = n->hnext)
        if (n->hash == hash && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

static inline void wr_pt_unlink_(wr_ptable_t *t, wr_pt_node_t *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        t->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        t->tail = n->prev;
    n->prev = n->next = NULL;
}

static inline void wr_pt_push_(wr_ptable_t *t, wr_pt_node_t *n)
{
    n->prev = NULL;
    n->next = t->head;
    if (t->head != NULL)
        t->head->prev = n;
    else
        t->tail = n;
    t->head = n;
}

/* n becomes the most recently used. */
static inline void wr_pt_touch(wr_ptable_t *t, wr_pt_node_t *n)
{
    if (t->head == n)
        return;
    wr_pt_unlink_(t, n);
    wr_pt_push_(t, n);
}

/* Take n out of the table (the caller frees it). */
static inline void wr_pt_remove(wr_ptable_t *t, wr_pt_node_t *n)
{
    wr_pt_node_t **pp = &t->slots[n->hash & t->mask];

    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    wr_pt_unlink_(t, n);
    t->count--;
}

/* Add n, keyed by key (stored in n's entry) and hash, as the most recently
 * used. The caller has made room: count < max (wr_pt_remove of t->tail,
 * the least recently used). */
static inline void wr_pt_add(wr_ptable_t *t, wr_pt_node_t *n, const char *key, uint64_t hash)
{
    n->key = key;
    n->hash = hash;
    n->hnext = t->slots[hash & t->mask];
    t->slots[hash & t->mask] = n;
    t->count++;
    wr_pt_push_(t, n);
}

#endif
