/*
 * tcache.h — the per-thread cache the inline fast paths in malloc.c use.
 *
 * One LIFO stack of free chunks per chunk size 32..1040, indexed by
 * size >> 4 (2..65). The stacks live in freed memory: word 0 holds the
 * safe-linked next pointer, word 1 the process key (marks "in a tcache", so
 * a second free of the same block is caught). To the arenas a cached chunk is
 * in use. room[i] == 0 means "full, not set up or disabled": every free then takes
 * the slow path, which is how a fresh, exiting or perturbing thread opts out
 * without a flag test on the fast path.
 */
#ifndef UM_TCACHE_H
#define UM_TCACHE_H

#include "internal.h"

#define TC_SLOTS (TC_NBINS + 2)

struct tcache {
    void *head[TC_SLOTS];
    uint16_t room[TC_SLOTS];   /* free slots: limit - count */
    uint16_t limit[TC_SLOTS];
    uint16_t events[TC_SLOTS]; /* refills + flushes since the last scavenge */
    unsigned slow_calls;       /* slow-path calls since the last scavenge */
    int state;                 /* TC_FRESH, TC_LIVE, TC_DEAD */
    struct tcache *next, *prev; /* all live caches, for stats */
};
enum { TC_FRESH = 0, TC_LIVE = 1, TC_DEAD = 2 };

#pragma GCC visibility push(hidden)
extern __thread struct tcache um_tc __attribute__((tls_model("initial-exec")));
extern uintptr_t um_tc_key;
#pragma GCC visibility pop

/* Bin of a request that fits the cache: chunk size >> 4. */
static inline size_t tc_req_index(size_t n) { return ((n < 9 ? 9 : n) + SIZE_SZ + ALIGN_MASK) >> 4; }

/* Pop a cached chunk of bin i, or NULL. */
static inline void *tc_pop(struct tcache *tc, size_t i)
{
    void **e = tc->head[i];
    if (!e)
        return NULL;
    void *next = reveal_ptr(e, e[0]);
    if (unlikely(!aligned_ok(next)))
        um_fatal("malloc", "corrupted tcache entry at", e, 0);
    tc->head[i] = next;
    tc->room[i]++;
    e[1] = NULL;
    return e;
}

/* Push mem (a chunk of bin i) onto the cache. */
static inline void tc_push(struct tcache *tc, size_t i, void *mem)
{
    void **e = mem;
    e[0] = protect_ptr(e, tc->head[i]);
    e[1] = (void *)um_tc_key;
    tc->head[i] = e;
    tc->room[i]--;
}

static inline size_t tc_count(const struct tcache *tc, size_t i)
{
    return (size_t)tc->limit[i] - tc->room[i];
}

#endif
