/*
 * tcache.h — the per-thread cache the inline fast paths in malloc.c use.
 *
 * One LIFO stack of free chunks per chunk size 32..1040, indexed by
 * size >> 4 (2..65), then 56 medium classes up to 128 KiB, eight per
 * doubling (1152, 1280, ..., 2048, 2304, ...): a medium request is rounded up
 * to its class (at most 12.5%), so its chunks can be cached and reused
 * exactly. A medium chunk that borders top is cached only when top could
 * not shrink anyway (top must be able to trim, as the seeds show). The
 * stacks live in freed memory: word 0 holds the encrypted next pointer
 * (link_protect), word 1 the cache mark (the process key mixed with the
 * block's address, um_cache_mark: "freed and cached", so a
 * second free of the block is caught in any thread). To the arenas a cached chunk is
 * in use. room[i] == 0 means "full, not set up, disabled, or never refilled":
 * every free then takes the slow path, which is how a fresh, exiting or
 * perturbing thread opts out without a flag test on the fast path, and how
 * frees into a size the thread never allocated reach its outbound list
 * (tcache.c, tc_free_only), which no malloc pops.
 */
#ifndef UM_TCACHE_H
#define UM_TCACHE_H

#include <string.h>

#include "internal.h"

#define TC_MED_MAX_REQUEST (TC_MED_MAX_CHUNK - SIZE_SZ)
_Static_assert(TC_MED_PER_DOUBLING == 8, "tc_med_index and tc_med_exact shift by e - 3");

/* Slot of the medium class for chunk size nb (TC_MAX_CHUNK < nb <= 128 KiB).
 * With x = nb - 1 and 2^e <= x < 2^(e+1), the classes of that doubling are
 * 2^e + k * 2^(e-3), k = 1..8, and the smallest one >= nb has
 * k - 1 = (x >> (e-3)) - 8: one count of leading zeros and a shift. */
static inline size_t tc_med_index(size_t nb)
{
    size_t x = nb - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(x);
    return (x >> (e - 3)) + TC_MED_PER_DOUBLING * e + (TC_MED_FIRST - 8 - 10 * TC_MED_PER_DOUBLING);
}

/* Is cs (any size above TC_MAX_CHUNK: free() passes a decoded header,
 * which may be bad) exactly a medium class size, i.e. a multiple of
 * 2^(e-3) for its doubling? Callers test cs <= TC_MED_MAX_CHUNK first. */
static inline int tc_med_exact(size_t cs)
{
    size_t x = cs - 1, m = ((size_t)1 << (60u - (unsigned)__builtin_clzll(x))) - 1;
    return (x & m) == m;
}

/* The same two indexes by table, for the inline paths: every medium class
 * is a multiple of 128 bytes, so um_med_slot[q] holds the slot of the
 * smallest class >= 128 * q (q = 9..1024), and a size is exactly a class
 * when the next 128-byte step maps to another slot ([1025] is 0). One load
 * each instead of a count of leading zeros, shifts and masks: cachegrind
 * bench/pairs 4096 and 64k went from 152 to 140 instructions a pair.
 * A constant the compiler computes (tcache.c). */
extern const uint8_t um_med_slot[TC_MED_MAX_CHUNK / 128 + 2] UM_INTERNAL;

/* Slot of a request of TC_MAX_REQUEST < bytes <= TC_MED_MAX_REQUEST bytes:
 * the chunk, request2size(bytes), rounded up to 128, is bytes + 8 too. */
static inline size_t tc_med_req_slot(size_t bytes)
{
    return um_med_slot[(bytes + SIZE_SZ + 127) >> 7];
}

/* Slot of a chunk of TC_MAX_CHUNK < cs <= TC_MED_MAX_CHUNK bytes that is
 * exactly its class's size, else 0. */
static inline size_t tc_med_exact_slot(size_t cs)
{
    size_t q = cs >> 7, i = um_med_slot[q];
    return (cs & 127) == 0 && i != um_med_slot[q + 1] ? i : 0;
}

/* Chunk size held by slot i (0 and 1: none): i * 16 for a small slot, for
 * medium slot TC_MED_FIRST + k 2^e + (k % 8 + 1) * 2^(e-3) with e = 10 + k / 8.
 * A table the compiler fills (tcache.c): every trip between a thread cache
 * and the central cache asks several times, and the arithmetic was 26
 * instructions a trip (cachegrind bench/bulk 200 1024 16384). */
#define TC_MED_K(i) ((i) < TC_MED_FIRST ? 0 : (i) - TC_MED_FIRST) /* (>= 0: clang checks shifts) */
#define TC_SLOT_SIZE(i)                                                                          \
    ((i) < TC_MED_FIRST ? (size_t)(i) << 4                                                       \
                        : ((size_t)1 << (10 + TC_MED_K(i) / TC_MED_PER_DOUBLING)) +               \
                              (TC_MED_K(i) % TC_MED_PER_DOUBLING + 1) *                            \
                                  ((size_t)1 << (7 + TC_MED_K(i) / TC_MED_PER_DOUBLING)))
extern const uint32_t um_slot_size[128] UM_INTERNAL; /* (TC_SLOTS used) */
static inline size_t tc_slot_size(size_t i) { return um_slot_size[i]; }

/* Slot for a chunk of size cs being freed, or 0 if cs is no cached size. */
static inline size_t tc_slot_of_chunk(size_t cs)
{
    if (cs <= TC_MAX_CHUNK)
        return cs >> 4;
    if (cs <= TC_MED_MAX_CHUNK && tc_med_exact(cs))
        return tc_med_index(cs);
    return 0;
}

struct tcache {
    void *head[TC_SLOTS];
    uint16_t room[TC_SLOTS];   /* free slots: limit - count */
    uint16_t limit[TC_SLOTS];
    uint16_t events[TC_SLOTS]; /* refills + flushes since the last scavenge */
    uint16_t fills[TC_SLOTS];  /* refills ever (saturating): sizes the next one */
    void *out[TC_SLOTS];       /* slot never refilled: its frees, bound for the central cache */
    uint8_t out_n[TC_SLOTS];   /* chunks on out[i] (under one flush batch) */
    size_t limit_bytes;        /* sum of limit * size: kept within the budget */
    size_t med_limit_bytes;    /* ... of the medium slots alone (tc_med_budget) */
    unsigned slow_calls;       /* slow-path calls since the last scavenge */
    int disabled;              /* limits zeroed while M_PERTURB is on */
    _Atomic int flush_req;     /* another thread asks this one to flush */
    uint64_t active_ms;        /* last slow-path call (coarse clock) */
    void *top_mark;            /* chunk cached just below one cached at the top (free_medium, tc_free_checked) */
    struct tcache *next, *prev; /* all live caches */
    void *mem;                 /* the heap block it sits in, on lines of its own (tc_setup) */
};
enum { TC_FRESH = 0, TC_LIVE = 1, TC_DEAD = 2 };

/*
 * The thread's cache is reached through ONE initial-exec TLS pointer (8 bytes
 * of static TLS, so the library can be dlopen'ed): it starts out pointing at a
 * shared, always-empty cache whose stacks are NULL and whose room is 0, so a
 * fresh or finished thread falls through both fast paths with no flag test.
 * The real cache is a heap chunk allocated on the thread's first slow call.
 */
#pragma GCC visibility push(hidden)
extern __thread struct tcache *um_tcp __attribute__((tls_model("initial-exec")));
extern __thread int um_tc_state __attribute__((tls_model("initial-exec")));
/* Is this thread's cache live and in use (not dead, not turned off by
 * the user or by M_PERTURB)? For paths outside tcache.c that only pay off
 * with a cache: realloc's move of a cut medium block, the aligned path's
 * demand. */
static inline int um_tcache_on(void)
{
    return um_tc_state == TC_LIVE && !RELAXED_LOAD(um_params.tcache_off);
}
extern struct tcache um_tc_empty;
#pragma GCC visibility pop

/* Would freeing top-bordering chunk p (size cs of slot i, with ncached
 * chunks of that size in the freeing thread's cache) let top shrink? Yes
 * when top plus p plus the cached chunks of its size (in this cache and
 * parked in the central cache: blocks freed in allocation order sit just
 * below it, and go back with it) reach the trim threshold AND leave at
 * least a page above M_TOP_PAD, which is what the trim then releases
 * (trim.c, top_excess); a threshold of -1 never trims, as the sum stays
 * below it. Only then does p skip the cache: otherwise merging it changes
 * nothing the seeds' trim story can see, and caching it keeps a
 * malloc/free loop at the top of the heap (bench pairs-4k, 64k) off the
 * arena lock. (Without the page test, a top between the threshold and pad
 * plus a page, where every trim leaves it with the default settings, sent
 * each free of a malloc(4096)/free loop through the arena to release
 * nothing: examples/alloc_loops top 4096, 1,050 instructions a round under
 * cachegrind, now 171.) A corrupted top says
 * yes: the locked path reports it. free_medium's inline path and the slow
 * path both ask this. */
static inline int tc_would_trim_w(arena *av, size_t tw, size_t cs, size_t i, size_t ncached)
{
    size_t after = (tw & ~(size_t)SIZE_BITS) + cs * (ncached + 1) +
                   um_central_class_bytes(av, i);
    return (int)(after >= RELAXED_LOAD(um_params.trim_threshold) &&
                 after >= RELAXED_LOAD(um_params.top_pad) + MINSIZE + 1 + um_pagesize) |
           (int)!hdr_valid(tw);
}
/* The same, reading top's header (tw above: the decoded word, hdr_load). */
static inline int tc_would_trim(arena *av, chunk *top, size_t cs, size_t i, size_t ncached)
{
    return tc_would_trim_w(av, hdr_load(top), cs, i, ncached);
}

/* Blocks freed from the top of the heap down (the seeds' reverse order, a
 * stack of buffers unwound): should the chunks this thread cached last just
 * above p go back to the arena before p is freed, so that top grows and
 * trims in turn? One chunk between p and top (slot *j1) goes back only when
 * the heap from p up could be trimmed (its size reaches the trim threshold
 * and a page above M_TOP_PAD); two (*j1 below *j2, the last two cached in
 * their slots, or the last two of one slot) always, so that the run
 * of cached chunks at the top never hides top from the frees below it (a
 * program that frees 1000 blocks top-down gives its heap back, as the seeds
 * show). Before, the one chunk above always went back: malloc(4096),
 * malloc(8192), free of the 8192 then of the 4096 block sent the 8192 one
 * through the arena on every round, to be carved again by the next malloc
 * (examples/alloc_loops nested 4096 8192: 2,225 instructions a round under
 * cachegrind, now 400; glibc 638). A corrupted top says yes: the locked
 * path reports it. */
int um_tc_top_down(const struct tcache *tc, chunk *top, chunk *p, chunk *next, size_t *j1,
                   size_t *j2) UM_INTERNAL;
void um_tcache_free_below_top(struct tcache *tc, size_t i, void *mem, chunk *next, chunk *top,
                              int top_next) UM_INTERNAL;
/* An aligned request of slot i's class missed the cache and went to the
 * arena: the slot is set up and grows as a refill's would, so the block,
 * freed, is cached where the next aligned request finds it. */
void um_tcache_aligned_miss(size_t i) UM_INTERNAL;
/* An aligned request of slot i's class that its stack could not serve: an
 * aligned chunk of the class from a batch the central cache holds (the
 * blocks of earlier aligned requests, freed past the stack's limit, wait
 * there), the rest of that batch kept as a refill would keep it; NULL when
 * the batch has none or there is no batch. */
void *um_tcache_aligned_take(size_t i, size_t align) UM_INTERNAL;

/* Might mem be cached already (its word 1 its cache mark, um_cache_mark)?
 * free's small inline path compares only the word's first four bytes. A
 * load whose bytes are not all in one store still in flight waits until
 * the stores it overlaps reach the cache, and programs write a block
 * just before freeing it (a temporary; bench/pairs 16 writes byte 15
 * last, the bench.h block header a 4-byte size at bytes 8..11): the
 * whole-word load waited on those narrower stores. The four bytes miss
 * bytes 12..15, and a 4-byte store at byte 8 holds them all. A chance
 * match sends the free to the slow path, which compares the whole word.
 * (15 interleaved runs of `pairs 16 --scale=2`: 8% less CPU than the
 * whole-word compare; no instruction more, cachegrind.) */
static inline int tc_key_maybe(const void *mem)
{
    uint32_t head;
    memcpy(&head, (const char *)mem + SIZE_SZ, sizeof head);
    /* the mark's first four bytes in memory; taken from the whole mark, so
     * that the push below reuses it */
    uintptr_t mark = (uintptr_t)um_cache_mark(mem);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return head == (uint32_t)mark;
#else
    return head == (uint32_t)(mark >> 32);
#endif
}

/* Bin of a request that fits the cache: chunk size >> 4. */
static inline size_t tc_req_index(size_t n) { return ((n < 9 ? 9 : n) + SIZE_SZ + ALIGN_MASK) >> 4; }

/* Slot of any request the cache serves (bytes <= TC_MED_MAX_REQUEST), else
 * 0: the stack a malloc(bytes) pops (malloc's inline path spells it out). */
static inline size_t tc_req_slot(size_t bytes)
{
    return bytes <= TC_MAX_REQUEST ? tc_req_index(bytes)
           : bytes <= TC_MED_MAX_REQUEST ? tc_med_req_slot(bytes) : 0;
}

/* The entry after e on a cache list (a stack or an outbound list), checked:
 * a link a use after free overwrote ends in abort. */
static inline void *tc_next(void **e)
{
    void *next = link_reveal(e[0]);
    if (unlikely(!link_ok(next)))
        um_fatal("malloc", "corrupted tcache entry at", e, 0);
    return next;
}

/* Pop a cached chunk of bin i, or NULL. */
static inline void *tc_pop(struct tcache *tc, size_t i)
{
    void **e = tc->head[i];
    if (!e)
        return NULL;
    tc->head[i] = tc_next(e);
    tc->room[i]++;
    e[1] = NULL;
    return e;
}

/* Push mem (a chunk of bin i) onto the cache. */
static inline void tc_push(struct tcache *tc, size_t i, void *mem)
{
    void **e = mem;
    e[0] = link_protect(tc->head[i]);
    e[1] = um_cache_mark(e);
    tc->head[i] = e;
    tc->room[i]--;
}

static inline size_t tc_count(const struct tcache *tc, size_t i)
{
    return (size_t)tc->limit[i] - tc->room[i];
}

/* Aligned requests (malloc.c, aligned_generic) look this deep into their
 * class's stack for a block on their boundary. */
#define TC_ALIGN_SCAN 8

/* Pop a chunk of slot i whose block is align-aligned (a power of two) from
 * the first TC_ALIGN_SCAN entries of its stack, or NULL: an aligned block
 * freed goes back onto its class's stack, and other blocks of the class
 * freed after it (the program's plain mallocs of that size) lie above it.
 * The top entry is looked at inline; the rest out of line (tcache.c). */
void *um_tc_pop_aligned_below(struct tcache *tc, size_t i, size_t align) UM_INTERNAL;
static inline void *tc_pop_aligned(struct tcache *tc, size_t i, size_t align)
{
    void **e = tc->head[i];
    if (!e)
        return NULL;
    if (((uintptr_t)e & (align - 1)) == 0)
        return tc_pop(tc, i);
    return um_tc_pop_aligned_below(tc, i, align);
}

/* Is mem, a block address read from freed memory (a cache's or a batch's
 * link: a write after free may have replaced it), the block of a chunk that
 * lies in some heap with its first words and the next header, so that they
 * can be read? No lock (owner.c). central.c's batch links, check.c's walks
 * of the thread cache. */
static inline int um_cached_mem_ok(const void *mem)
{
    struct um_owner o;
    uintptr_t p = (uintptr_t)mem - CHUNK_HDR;
    return ((uintptr_t)mem & ALIGN_MASK) == 0 && um_owner_heap((const void *)p, &o) == OWN_HEAP &&
           o.hi - p >= MINSIZE + CHUNK_HDR;
}

/* At exit, for a block of cs bytes that a cache holds (the exiting thread's,
 * or a central batch: tcache.c and central.c walk them): the next chunk's
 * header still decodes and says the block is in use. free() does not read
 * it (malloc.c, free_body), so a small block that ran past its end and was
 * freed into a cache is named here if nothing named it before (the free or
 * split of the chunk it overran, or the block's way back to the arena). */
static inline void um_cached_end_check_at_exit(void *mem, size_t cs)
{
    struct um_owner o;
    chunk *p = mem_to_chunk(mem);
    if (um_owner_heap(p, &o) != OWN_HEAP || o.hi - (uintptr_t)p < cs + CHUNK_HDR)
        um_fatal("exit", "bad cache entry", mem, cs - SIZE_SZ);
    chunk *n = chunk_at(p, cs);
    if (!hdr_valid(hdr_load(n)) || !prev_inuse(n))
        um_fatal("exit", "heap overflow past the end of", mem, cs - SIZE_SZ);
}

#endif
