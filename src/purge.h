/*
 * purge.h — the decay purge's interface to the arena layer (see purge.c).
 *
 * A free chunk of at least a page carries a tag in the words after its bin
 * links (struct um_ptag, words 6..9): a check word (address ^ size ^ key),
 * the time it became free, and the one interval of its interior pages that
 * is known purged. free_coalesce and split_victim write it; the purge reads
 * and extends it. A chunk whose tag does not check is treated as "freed now,
 * nothing purged" (so a path that forgets the tag costs a delay, never a
 * wrong madvise). Everything here runs with the arena lock held.
 */
#ifndef UM_PURGE_H
#define UM_PURGE_H

#include "internal.h"

#define PTAG_WORD 6                          /* first tag word in a chunk */
#define PTAG_END ((PTAG_WORD + 4) * SIZE_SZ) /* 80: header + links + tag */

/* Pages of a free chunk known to be purged: [lo, hi), empty when lo == hi;
 * while merging, also the oldest freed-at time of the merged parts. */
struct um_piv {
    uintptr_t lo, hi;
    uint64_t oldest;
};
#define UM_PIV_NONE ((struct um_piv){0, 0, UINT64_MAX})

extern uintptr_t um_purge_key;

static inline uintptr_t ptag_check(const chunk *p, size_t size)
{
    return (uintptr_t)p ^ size ^ um_purge_key;
}

/* Does p (a free chunk of size bytes) carry a valid tag? */
static inline int ptag_valid(const chunk *p, size_t size)
{
    return size >= um_pagesize && ((const uintptr_t *)p)[PTAG_WORD] == ptag_check(p, size);
}

/* Is [lo, hi), the purged pages a tagged free chunk's block records, one
 * that um_purge_mark could have written: empty, or page aligned inside the
 * chunk's own pages [first, last)? Those words are the program's until it
 * freed the block, and the purge turns them into madvise calls (purge.c,
 * purge_chunk; check.c, check_ptag). */
static inline int ptag_interval_ok(uintptr_t lo, uintptr_t hi, uintptr_t first, uintptr_t last)
{
    return lo == hi || (lo < hi && lo >= first && hi <= last && ((lo | hi) & (um_grain() - 1)) == 0);
}

/* A free neighbour c is being merged away: keep its purged pages if they
 * are more than what *k holds (one interval survives a merge). */
static inline void um_purge_keep(struct um_piv *k, const chunk *c, size_t size)
{
    if (!ptag_valid(c, size))
        return;
    const uintptr_t *w = (const uintptr_t *)c;
    if (w[PTAG_WORD + 1] < k->oldest)
        k->oldest = w[PTAG_WORD + 1];
    if (w[PTAG_WORD + 3] - w[PTAG_WORD + 2] > k->hi - k->lo) {
        k->lo = w[PTAG_WORD + 2];
        k->hi = w[PTAG_WORD + 3];
    }
}

/* Stamp a chunk that just became free (or is what is left of one): freed at
 * `stamp`, with the purged pages of k that lie inside its own interior. */
static inline void um_purge_mark(chunk *p, size_t size, struct um_piv k, uint64_t stamp)
{
    if (size < um_pagesize)
        return;
    uintptr_t *w = (uintptr_t *)p;
    uintptr_t lo = um_grain_up((uintptr_t)p + PTAG_END), hi = um_grain_down((uintptr_t)p + size);
    if (k.lo < lo)
        k.lo = lo;
    if (k.hi > hi)
        k.hi = hi;
    if (k.lo >= k.hi)
        k.lo = k.hi = 0;
    w[PTAG_WORD] = ptag_check(p, size);
    w[PTAG_WORD + 1] = (uintptr_t)stamp;
    w[PTAG_WORD + 2] = k.lo;
    w[PTAG_WORD + 3] = k.hi;
}

/* The stamp and purged pages of victim (size bytes) before it is split. */
static inline uint64_t um_purge_read(arena *av, const chunk *victim, size_t size, struct um_piv *k)
{
    *k = UM_PIV_NONE;
    if (!ptag_valid(victim, size))
        return av->purge.now;
    um_purge_keep(k, victim, size);
    return ((const uintptr_t *)victim)[PTAG_WORD + 1];
}

/* The freed-at time of a merge of `freed` fresh bytes into a chunk of `size`
 * in all: a fresh part no larger than the old free parts takes their age, so
 * a block that is split off and freed back again and again does not keep a
 * free chunk young for ever (its own pages may then go a little early). */
static inline uint64_t um_purge_merge_stamp(arena *av, const struct um_piv *k, size_t freed, size_t size)
{
    return k->oldest != UINT64_MAX && freed <= size / 2 ? k->oldest : av->purge.now;
}

/* free_coalesce made p (size bytes) of `freed` fresh bytes, the free chunk
 * below (ps bytes, at p: its tag words are still in place) when ps != 0, and
 * the free chunk next (ns bytes) when ns != 0: tag it. */
static inline void um_purge_note_free(arena *av, chunk *p, size_t size, size_t freed, size_t ps,
                                      const chunk *next, size_t ns)
{
    struct um_piv kept = UM_PIV_NONE;
    if (ps)
        um_purge_keep(&kept, p, ps);
    if (ns)
        um_purge_keep(&kept, next, ns);
    um_purge_mark(p, size, kept, um_purge_merge_stamp(av, &kept, freed, size));
}

/* A malloc (or realloc in place) took the start of top: top is now at
 * new_top. The highest top since the last sample (purge.c, top_sample: the
 * clock reads, and the sweeps of an idle arena), so that memory taken and
 * freed again between two samples still shows as freed. */
static inline void um_purge_top_rose(arena *av, chunk *new_top)
{
    if ((uintptr_t)new_top > av->purge.top_high)
        av->purge.top_high = (uintptr_t)new_top;
}

/* A malloc takes the first nb bytes of free chunk c (size bytes, still
 * binned or just off its bin, its tag in place): in the emptied state,
 * count the purged pages it hands out again (purge.c). */
void um_purge_reused(arena *av, const chunk *c, size_t nb);
static inline void um_purge_handout(arena *av, const chunk *c, size_t size, size_t nb)
{
    if (unlikely(av->purge.emptied) && ptag_valid(c, size))
        um_purge_reused(av, c, nb);
}

/* The lowest page of top's purged interval that may still be trusted:
 * pages below the highest start top has had since the last sample (and
 * below its tag there) were handed out since, and may have been written. A
 * block taken from the start of top and freed back into it brought its
 * pages back, and with the interval left as it was, later sweeps skipped
 * them as purged (tests/api/purge_top_reused: 7 MiB stayed resident after
 * umalloc_purge). Cut at the samples (top_sample) and before a sweep reads
 * the interval; readers in between ask this. */
static inline uintptr_t um_purge_top_lo(const arena *av)
{
    uintptr_t lo = av->purge.top_lo, h = av->purge.top_high;
    if (h) {
        uintptr_t cut = um_grain_up(h + PTAG_END);
        if (cut > lo)
            lo = cut < av->purge.top_hi ? cut : av->purge.top_hi;
    }
    return lo;
}

/* Top moved to another heap (um_heap_trim deleted the newest): addresses
 * of the old heap say nothing about the new top, which may hold a chunk
 * freed just now (the one before the older heap's fence, merged into it).
 * Forget them: the next sample, which comes before any sweep looks at top,
 * finds nothing seen and stamps top young with its own clock (the arena's
 * last read, which a stamp here would take, may be long past). */
static inline void um_purge_top_moved(arena *av)
{
    av->purge.top_seen = 0;
    av->purge.top_high = 0;
}

/* unlink_chunk is taking p off its bin: the sweep must not resume at p. */
static inline void um_purge_unlinked(arena *av, const chunk *p)
{
    if (unlikely(av->purge.cursor == p))
        av->purge.cursor = NULL;
}

/* What the purge has done and holds in one arena (stats; av locked). */
struct um_purge_stats {
    size_t purged_bytes;  /* bytes handed back with madvise, ever (with repeats) */
    size_t purge_calls;   /* madvise calls made by the purge */
    size_t trimmed_bytes; /* bytes of top unmapped / brk-shrunk by the purge */
    size_t sweeps;        /* sweeps completed */
    size_t purged_now;    /* free bytes known purged and not reused since */
    size_t dirty_now;     /* whole free pages not purged yet */
};

#define PURGE_TICK_EVERY 8 /* arena calls per clock read while no sweep runs */
#define PURGE_TICK_MAX 64  /* ... at most, while the clock does not move between reads */
void um_purge_tick_slow(arena *av);

/* Call from any arena slow path with av locked: every few calls (8, up to
 * 64 while the clock stands still) reads the coarse clock, and when a sweep
 * is due runs one bounded step of it (every call while a sweep is under
 * way). A decrement and a branch otherwise: the count runs below zero, not
 * to it, so gcc emits a decrement of memory and a sign test (`<= 0` took
 * a load, a subtract, a store, a test and a branch: cachegrind bench
 * pairs-1m, 421 -> 415 instructions a pair). */
static inline void um_purge_tick(arena *av)
{
    if (unlikely(--av->purge.countdown < 0))
        um_purge_tick_slow(av);
}
/* The emptied arena (purge.c): an arena holding at least UM_EMPTIED_MIN
 * bytes free in its bins, and free (bins, top, central cache) more than
 * eight times what it has handed out, purges as it frees. free_coalesce
 * calls um_purge_emptied with each binned chunk of a page or more it makes
 * while the bins hold UM_EMPTIED_MIN or the state lasts: the chunk (p, size)
 * is purged at once in the state, and the state is looked for otherwise. */
#define UM_EMPTIED_MIN ((size_t)32 << 20)
void um_purge_emptied(arena *av, chunk *p, size_t size);
/* Purge every free page of av now, whatever its age (malloc_trim,
 * umalloc_purge); top keeps pad bytes. av locked; 1 if anything went back. */
int um_purge_arena_all(arena *av, size_t pad);
void um_purge_stats(arena *av, struct um_purge_stats *st);
void um_purge_init(void);         /* settings, cgroup limit (um_options_init) */
void um_purge_sync(void);         /* after mallopt changed a purge setting; no lock held */
void um_purge_fork_child(void);
/* A fork child whose parent ran the purge thread starts it again
 * (purge.c): asked on the tcache-miss path of malloc, no lock held. */
extern _Atomic int um_purge_restart;
void um_purge_restart_slow(void);
static inline void um_purge_restart_check(void)
{
    if (unlikely(atomic_load_explicit(&um_purge_restart, memory_order_relaxed)))
        um_purge_restart_slow();
}
void um_purge_fork_prepare(arena *av); /* av locked: drain what each child would copy */
int um_purge_pressure(void);      /* RSS is near the memory limit */
long um_purge_decay(void);        /* the decay in force, ms: -1 never, 0 at once */
size_t um_purge_memory_limit(void);
int um_purge_limit_known(void);    /* the limit has been read (env at start, cgroup later) */
int um_purge_limit_state(int set); /* the tests: 0 unread, 1 being read, 2 read; set if >= 0 */

#endif
