/*
 * central.c — the central cache: between the thread caches and each arena's
 * bins, free chunks of one size class held as whole batches.
 *
 * A thread cache that overflows gives a chain of chunks here in O(1) (the
 * chain is kept as it is, with its count written into its first chunk); one
 * that runs dry takes a whole chain back in O(1). While chunks circulate
 * between threads this way no bin is touched, nothing coalesces and no
 * header is rewritten: that is how slab allocators make cross-thread and
 * bulk traffic cheap, kept inside the ptmalloc model. The bins stay the back
 * end: a batch that the cache has no room for, and whatever sat unused for a
 * decay period, is freed into the bins, where it coalesces and can be
 * trimmed; fresh chunks come from the arena in contiguous runs
 * (um_arena_carve).
 *
 * Capacity follows demand: it starts small, grows whenever a take finds a
 * class empty (the thread had to go to the arena), and shrinks by what stayed
 * parked untouched for a whole decay period (the low-water mark).
 *
 * Batch format: word 0 of each chunk's mem is the encrypted next chunk (link_protect),
 * word 1 the cache mark (um_cache_mark: "cached", so a double free is caught);
 * word 2 of a batch's FIRST chunk packs the chunk count (top 16 bits) with
 * the encrypted address of the next batch. Word 2 is the next chunk's
 * prev_size, which an in-use chunk lends to its user, so even a 32-byte
 * chunk has it.
 * Locks: one per class, a leaf below the arena lock (never take the arena
 * lock while holding a class lock).
 *
 * Shards: each class is split in up to CC_SHARDS (a power of two, at most
 * the number of CPUs), and a thread gives to and takes from the shard of
 * the CPU it runs on, read from the kernel's rseq area (cc_shard). A class's
 * lock, list head and the chunks that pass through it then stay in one
 * CPU's cache. With one shard, bench/threads 2 (2 CPUs, threads that share
 * nothing) took 0.54 s of CPU against 0.34 s for the same work in one
 * thread: about one in seven of its medium mallocs and frees went through
 * a shared class, and every take found lines the other CPU had written
 * (the class, the batch, half the time the other thread's chunks). With a
 * shard per CPU, 0.81-0.95x of that CPU time in direct interleaved runs
 * (the gain depends on how dear the host makes a line another core wrote).
 * A take that finds its shard empty takes another shard's batch before
 * carving, and a take that finds every shard empty makes room in all of
 * them (grow_others), so a producer on one CPU still reuses what its
 * consumer on the other parks in its own shard.
 *
 * Threads apart: but only from a shard whose class is open to other CPUs
 * (cc_open: other CPUs' frees reach it), and a grow that finds much parked
 * drains only the classes idle for an epoch, the ones other CPUs' frees
 * reach, or everything when no other CPU's shard is in use
 * (um_central_drain_idle). Threads that each allocate and free their own
 * blocks then keep their memory apart: each CPU reuses the chunks it
 * carved, and chunks of one seldom land between two of the other's.
 * Before, bench/threads 2 uniform (two threads, 4096 private blocks each
 * of 16-1024 bytes) ended with the threads' blocks alternating about 3,400
 * times in address order among its 8,192 live ones, 1,900-2,000 times in
 * a line both threads write (its "meet" count); the batches one CPU took
 * from the other's shard when its own ran dry and the grow path's drain of
 * every class of every shard (14-21 a run, 21,000-30,000 chunks coalesced
 * and carved again by whichever thread missed next) mixed them. In this
 * machine's slower spells, when a line written by one CPU costs the other
 * several times as much, that run took 0.64-0.70 s (0.25-0.29 s in the
 * faster ones), mimalloc 0.20-0.31.
 * A class learns that its frees come from elsewhere by sampling: each fresh
 * run is marked with the shard that carved it (um_central_mark_home, a byte
 * per KiB of address), and a give looks at its batch's first chunk; a
 * consumer's frees (a slot the thread never refilled) count as remote too.
 * A producer's consumer, and threads that free each other's blocks
 * (bench/xchurn, server), open their classes to the other CPUs as before.
 */
#include <string.h>

#include "bins.h"
#include "purge.h"
#include "tcache.h"

#define CC_DECAY_CHECK 64               /* ops on a class between clock reads */
#define CC_RELEASE_STEP ((size_t)4096)  /* chunks freed to the bins per call */
#define PACK_PTR_MASK (((uint64_t)1 << 48) - 1)

struct central um_main_central;
unsigned um_cc_mask; /* shards in use - 1: set once, at init */

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/* Shards in use: the CPUs rounded up to a power of two, at most CC_SHARDS;
 * one when the CPU cannot be read (no rseq area: an older glibc,
 * registration turned off, valgrind), as every thread would then use shard
 * 0 and a miss would still make room in shards nobody takes from. */
void um_central_global_init(void)
{
    size_t n = um_os_ncpus(), s = 1;
#if defined(__x86_64__)
    int rseq = &__rseq_offset && &__rseq_size && __rseq_size != 0;
#else
    int rseq = 0;
#endif
    while (rseq && s < n && s < CC_SHARDS)
        s <<= 1;
    um_cc_mask = (unsigned)s - 1;
}

/* The calling thread's CPU, as the kernel last wrote it into the thread's
 * rseq area (glibc 2.35 registers one per thread; __rseq_offset is its
 * place in the thread's TLS block, the cpu_id field 4 bytes in). Only a
 * hint: a thread may move right after, and every shard is locked anyway.
 * Without rseq there is one shard (um_central_global_init); a thread
 * whose registration failed alone reads a negative id: shard 0. */
static inline size_t cc_shard(void)
{
    unsigned mask = RELAXED_LOAD(um_cc_mask);
    if (!mask)
        return 0;
#if defined(__x86_64__)
    if (&__rseq_offset) {
        char *tp;
        __asm__("mov %%fs:0, %0" : "=r"(tp));
        uint32_t cpu = *(volatile const uint32_t *)(tp + __rseq_offset + 4);
        if (cpu < 0x80000000u) /* not RSEQ_CPU_ID_UNINITIALIZED or _FAILED */
            return cpu & mask;
    }
#endif
    return 0;
}

/* The shard the calling thread would use now (arena.c's spans, the tests). */
size_t um_central_shard(void) { return cc_shard(); }

/* Which CPU's shard carved the memory at an address: shard + 1, or 0 when
 * unknown, a byte per KiB ("grain") of address, in a table of 64 Ki bytes:
 * the grain's place in its 64 MiB region, offset by a hash of the region
 * (the arenas' heaps are 64 MiB-aligned: without the offset, the same
 * place in every arena shared a byte). Grains 64 MiB apart may still share
 * one. A hint only: a wrong byte costs a batch's placement, never
 * correctness. Written only with several shards; the pages of the table a
 * heap never reaches are never touched. */
#define HOME_SHIFT 10
#define HOME_SLOTS ((size_t)1 << 16)
#define HOME_REGION_SHIFT 26 /* HOME_SLOTS grains */
static _Atomic uint8_t cc_home[HOME_SLOTS];
static inline _Atomic uint8_t *home_of(uintptr_t a)
{
    uintptr_t region = a >> HOME_REGION_SHIFT;
    return &cc_home[((a >> HOME_SHIFT) + region * 0x9e3779b1u) & (HOME_SLOTS - 1)];
}

/* Only the grains the range covers whole are marked: a grain that a run
 * shares with another's keeps the mark it had (marking every grain touched
 * gave the chunks of one CPU's run the other CPU's mark wherever the two
 * CPUs carved runs side by side, and their frees looked remote). */
void um_central_mark_home(const void *p, size_t bytes)
{
    if (!RELAXED_LOAD(um_cc_mask))
        return;
    const uintptr_t g = (uintptr_t)1 << HOME_SHIFT;
    uint8_t v = (uint8_t)(cc_shard() + 1);
    uintptr_t a = ((uintptr_t)p + g - 1) & ~(g - 1), end = ((uintptr_t)p + bytes) & ~(g - 1);
    for (; a < end; a += g) {
        _Atomic uint8_t *h = home_of(a);
        if (atomic_load_explicit(h, memory_order_relaxed) != v) /* (no write to a line that holds it) */
            atomic_store_explicit(h, v, memory_order_relaxed);
    }
}

/* The shard marked for address p (arena.c's spans, the tests): shard + 1, 0 unknown. */
unsigned um_central_home(const void *p) { return atomic_load_explicit(home_of((uintptr_t)p), memory_order_relaxed); }

/* A give of a batch starting at head into class k of shard s, or a take
 * from it (head NULL): the class and its shard are in use now (their
 * epochs), and a give tells whether the class's frees come from elsewhere.
 * A consumer's batch sets the count to REMOTE_MAX; one whose first chunk
 * another shard carved adds REMOTE_HIT; one of the shard's own memory takes
 * one off; one of unknown memory (a grain no run covered whole) changes
 * nothing. The class is open to other CPUs at REMOTE_OPEN: two remote
 * batches in a row, or more than a third of them for a while. (Opening at
 * the first one, with every grain a run touched marked, let chance
 * samples open classes whose batches then moved to the other CPU, whose
 * frees of them opened more: tests/stress/threads_apart ended with 6-27%
 * of its blocks alternating between the threads in 6 runs, 2-4% this way
 * on a quiet machine; counting unknown memory as the shard's own kept
 * cross-thread classes closed: bench/xchurn's peak RSS 18 MB against 15.8,
 * server 15.9 against 14.5, one run each.) Class lock held. */
#define REMOTE_HIT 2
#define REMOTE_OPEN 4
#define REMOTE_MAX 16
static inline uint32_t cc_stamp(struct central *c)
{
    return atomic_load_explicit(&c->epoch, memory_order_relaxed) + 1; /* (0: never) */
}
static inline void cc_note(struct central *c, struct cclass *k, size_t s, const void *head,
                           int consumer)
{
    uint32_t e = cc_stamp(c);
    RELAXED_STORE(k->epoch, e);
    if (atomic_load_explicit(&c->full[s].active, memory_order_relaxed) != e)
        atomic_store_explicit(&c->full[s].active, e, memory_order_relaxed);
    if (!head || !RELAXED_LOAD(um_cc_mask))
        return;
    unsigned h = atomic_load_explicit(home_of((uintptr_t)head), memory_order_relaxed);
    if (consumer)
        RELAXED_STORE(k->remote, REMOTE_MAX);
    else if (h != 0 && h != s + 1)
        RELAXED_STORE(k->remote, (uint8_t)(k->remote + REMOTE_HIT > REMOTE_MAX ? REMOTE_MAX
                                                                              : k->remote + REMOTE_HIT));
    else if (h == s + 1 && k->remote)
        RELAXED_STORE(k->remote, (uint8_t)(k->remote - 1));
}

/* Was a stamp (cc_stamp: epoch + 1, 0 never) made in epoch `now` or the
 * one before? */
static inline int cc_recent(uint32_t stamp, uint32_t now)
{
    return stamp != 0 && (uint32_t)(now + 1 - stamp) < 2;
}

/* May a thread of another CPU take class k's batches, or make room in it
 * for them? When its frees come from elsewhere, and while the process has
 * one thread, which shares no line with anybody wherever it runs. (A shard
 * that nobody uses any more, left by a thread that moved to another CPU,
 * goes to the bins with the grow path's next drain: um_central_drain_idle.) */
static inline int cc_open(const struct cclass *k)
{
    return RELAXED_LOAD(k->remote) >= REMOTE_OPEN || um_single_threaded();
}

/* Class i of shard s. */
static inline struct cclass *cc_at(arena *av, size_t s, size_t i) { return &av->central->cls[CC_AT(i, s)]; }

/* Does the calling CPU's shard keep the class of chunk size cs to itself
 * (its frees come from its own memory: not cc_open)? Racy: a hint for
 * arena.c's spans, which serve such classes only. */
int um_central_private(arena *av, size_t cs)
{
    return !cc_open(cc_at(av, cc_shard(), tc_slot_of_chunk(cs)));
}
#define SHARDS() ((size_t)RELAXED_LOAD(um_cc_mask) + 1)
/* The other shards in use than s, each once. */
#define FOR_OTHER_SHARDS(o, s) for (size_t o = ((s) + 1) % SHARDS(); o != (s); o = (o + 1) % SHARDS())
/* Every class of every shard in use: j indexes cls[], i is the class
 * (FOR_SLOTS: j alone). */
#define CC_END() CC_AT(0, SHARDS())
#define FOR_SLOTS(j) \
    for (size_t j = 2; j < CC_END(); j++) \
        if (j % TC_SLOTS >= 2)
#define FOR_CLASSES(j, i) \
    for (size_t j = 2, i = 2; j < CC_END(); i = ++j % TC_SLOTS) \
        if (i >= 2)
/* Every class of c with batches parked, by its bit in c->full (racy: a
 * caller that acts on one locks it and looks again). j and i as above; a
 * continue in the body goes on to the next class. */
#define FOR_FULL(c, j, i)                                                                    \
    for (size_t s_ = 0; s_ < SHARDS(); s_++)                                                   \
        for (size_t w_ = 0; w_ < 2; w_++)                                                      \
            for (uint64_t m_ = atomic_load_explicit(&(c)->full[s_].w[w_], memory_order_relaxed), \
                          i, j;                                                                \
                 m_ && (i = w_ * 64 + (size_t)__builtin_ctzll(m_), j = CC_AT(i, s_), 1);       \
                 m_ &= m_ - 1)

/* Class k of c now holds batches (on) or none: its bit in c->full. Class
 * lock held. */
static void cc_mark(struct central *c, struct cclass *k, int on)
{
    size_t j = (size_t)(k - c->cls), i = j % TC_SLOTS;
    _Atomic uint64_t *w = &c->full[j / TC_SLOTS].w[i / 64];
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (on)
        atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(w, ~bit, memory_order_relaxed);
}

void um_central_init(struct central *c)
{
    if (c == &um_main_central)
        return; /* static: zero until used, and set up once per process */
    /* A class at rest is all zeros (unlocked, empty, minimum capacity), and
     * so is the memory an arena starts in (the main arena's is static, the
     * others' a fresh mapping): only a class that is not gets cleared, so
     * the classes a program never uses are never written. Writing them all
     * dirtied 8 KiB per arena (122 classes of 64 bytes), the main arena's
     * two pages of the library's bss in every process. */
    for (size_t i = 0; i < CC_END(); i++) {
        const unsigned char *w = (const unsigned char *)&c->cls[i];
        unsigned nz = 0;
        for (size_t j = 0; j < sizeof c->cls[i]; j++)
            nz |= w[j];
        if (nz)
            memset(&c->cls[i], 0, sizeof c->cls[i]);
    }
    for (size_t s = 0; s < CC_SHARDS; s++)
        if (atomic_load_explicit(&c->full[s].w[0], memory_order_relaxed) |
            atomic_load_explicit(&c->full[s].w[1], memory_order_relaxed))
            memset(&c->full[s], 0, sizeof c->full[s]);
}

/* The count and next batch recorded in a batch's first chunk. */
static inline void batch_set(void **b, void *next, size_t n)
{
    b[2] = (void *)(((uint64_t)n << 48) | ((uintptr_t)link_protect(next) & PACK_PTR_MASK));
}
static inline size_t batch_count(void **b) { return (size_t)((uint64_t)b[2] >> 48); }
/* (The masked link has no high bits left for link_ok to test: a write after
 * free over word 2 decoded to a random 48-bit address, aligned one time in
 * 16, which the next pop_batch then read; so it must name a cached chunk's
 * place, tcache.h's um_cached_mem_ok.) */
static inline void **batch_next(void **b)
{
    uintptr_t n = (uintptr_t)link_reveal((void *)((uint64_t)b[2] & PACK_PTR_MASK)) & PACK_PTR_MASK;
    if (unlikely(n && !um_cached_mem_ok((void *)n))) /* a use after free wrote over word 2 */
        um_fatal("malloc", "corrupted central-cache batch at", b, 0);
    return (void **)n;
}

/* Free up to n cached chunks of a chain (all of av, size cs) into av's
 * bins, arena lock held; returns the rest of the chain. drain: merged at
 * once (um_int_free_drain), for um_central_drain. */
static inline __attribute__((always_inline)) void **free_chain_with(arena *av, void **e, size_t n,
                                                                   size_t cs, int drain)
{
    for (; n > 0 && e; n--) {
        void **next = link_reveal(e[0]);
        if (unlikely(!link_ok(next)))
            um_fatal("free", "corrupted cache list near", e, 0);
        e[1] = NULL;
        if (drain)
            um_int_free_drain(av, mem_to_chunk(e), cs);
        else
            um_int_free(av, mem_to_chunk(e), cs, "free");
        e = next;
    }
    return e;
}
static void **free_chain_locked(arena *av, void **e, size_t n, size_t cs)
{
    return free_chain_with(av, e, n, cs, 0);
}

static void **release_chain(arena *av, void **e, size_t n, size_t cs)
{
    um_lock_acquire(&av->lock);
    e = free_chain_locked(av, e, n, cs);
    um_lock_release(&av->lock);
    return e;
}

/* Detach the oldest batches of class k holding at least want bytes (class
 * lock held). Returns them as a list linked through word 2. */
static void **detach_oldest(struct central *c, struct cclass *k, size_t cs, size_t want,
                             size_t *bytes_out)
{
    /* the list runs newest to oldest: skip the batches we keep */
    size_t keep = k->bytes > want ? k->bytes - want : 0, seen = 0;
    void **prev = NULL, **b = k->batches;
    while (b && seen + batch_count(b) * cs <= keep) {
        seen += batch_count(b) * cs;
        prev = b;
        b = batch_next(b);
    }
    if (!b)
        return NULL;
    size_t out = k->bytes - seen;
    uint32_t nb = 0;
    for (void **q = b; q; q = batch_next(q))
        nb++;
    if (prev) {
        batch_set(prev, NULL, batch_count(prev));
    } else {
        RELAXED_STORE(k->batches, NULL);
        cc_mark(c, k, 0);
    }
    k->nbatch -= nb;
    RELAXED_STORE(k->bytes, k->bytes - out);
    if (k->low > k->bytes)
        k->low = k->bytes;
    *bytes_out = out;
    return b;
}

/* Free a list of detached batches into av's bins, at most CC_RELEASE_STEP
 * chunks per lock hold so the arena lock is never held for long. */
static void release_batches(arena *av, void **b, size_t cs)
{
    while (b) {
        void **next = batch_next(b), **e = b;
        for (size_t left = batch_count(b); left > 0 && e;) {
            size_t step = left < CC_RELEASE_STEP ? left : CC_RELEASE_STEP;
            e = release_chain(av, e, step, cs);
            left -= step;
        }
        b = next;
    }
}

/* Once per decay period (checked every CC_DECAY_CHECK transfers on the
 * class, and by um_central_decay): what stayed parked the whole period (the
 * low-water mark) was not needed, goes back to the bins, and the capacity
 * shrinks by as much. A shorter, event-based window was tried and dropped:
 * it released memory between the phases of a program (a data structure
 * torn down, then rebuilt) and cost more than it saved (bench/trees).
 * Returns the batches to release (class lock held). */
static void **decay_class(struct central *c, struct cclass *k, size_t cs, uint64_t now, size_t max,
                          size_t *out)
{
    long decay = um_purge_decay();
    k->ops = 0;
    if (decay < 0 || now < k->tick_ms || now - k->tick_ms < (uint64_t)decay)
        return NULL;
    size_t idle = k->low;
    void **b = NULL;
    *out = 0;
    if (idle) {
        b = detach_oldest(c, k, cs, idle < max ? idle : max, out);
        k->grown = k->grown > *out ? k->grown - *out : 0;
        idle = *out >= idle ? 0 : idle - *out;
    }
    if (idle == 0) { /* the period's idle part is gone: a new period */
        k->tick_ms = now;
        k->misses = 0;
        k->low = k->bytes;
    } else { /* bounded: the rest goes at the next call */
        k->low = idle;
    }
    return b;
}

/* The newest batch of class k, or NULL (class lock held). */
static inline __attribute__((always_inline)) void **pop_batch(struct central *c, struct cclass *k,
                                                              size_t cs, size_t *n)
{
    void **b = k->batches;
    if (!b)
        return NULL;
    *n = batch_count(b);
    void **next = batch_next(b);
    if (unlikely(*n == 0 || *n * cs > k->bytes || (next == NULL) != (k->nbatch == 1)))
        um_fatal("malloc", "corrupted central-cache batch at", b, 0);
    RELAXED_STORE(k->batches, next);
    if (!next)
        cc_mark(c, k, 0);
    k->nbatch--;
    RELAXED_STORE(k->bytes, k->bytes - *n * cs);
    if (k->low > k->bytes)
        k->low = k->bytes;
    return b;
}

/* A batch of class i from a shard of av other than s, or NULL: only
 * shards that look non-empty and are open to other CPUs (cc_open) are
 * locked. */
static void **take_other(arena *av, size_t s, size_t i, size_t *n)
{
    struct central *c = av->central;
    size_t cs = tc_slot_size(i);
    FOR_OTHER_SHARDS(o, s) {
        struct cclass *k = cc_at(av, o, i);
        if (!RELAXED_LOAD(k->batches) || !cc_open(k))
            continue;
        um_lock_acquire(&k->lock);
        RELAXED_STORE(k->epoch, cc_stamp(c)); /* (the class is in use; its shard's CPU is not) */
        void **b = pop_batch(c, k, cs, n);
        um_lock_release(&k->lock);
        if (b)
            return b;
    }
    return NULL;
}

/* A take found every shard of class i empty: the chunks it carves will be
 * freed on whichever CPU their user runs, so every shard makes room for
 * them (a consumer on another CPU than its producer parks its frees in its
 * own shard, where the producer's next take finds them): those open to
 * other CPUs. Room that stays unused goes with the decay. */
static void grow_others(arena *av, size_t s, size_t i, size_t bytes)
{
    FOR_OTHER_SHARDS(o, s) {
        struct cclass *k = cc_at(av, o, i);
        if (!cc_open(k))
            continue; /* (its parked chunks stay with its own CPU) */
        um_lock_acquire(&k->lock);
        k->grown += bytes;
        um_lock_release(&k->lock);
    }
}

/* A batch of class i from av's central cache, or NULL (then *n is 0): the
 * caller then carves `want` fresh chunks, which will come back here. */
void *um_central_take(arena *av, size_t i, size_t *n, size_t want)
{
    struct central *c = av->central;
    size_t s = cc_shard();
    struct cclass *k = cc_at(av, s, i);
    size_t cs = tc_slot_size(i), out = 0;
    void **rel = NULL;
    if (!RELAXED_LOAD(k->batches) && SHARDS() > 1) {
        /* this CPU's shard is empty: another's batch before fresh memory */
        void **b = take_other(av, s, i, n);
        if (b)
            return b;
    }
    um_lock_acquire(&k->lock);
    cc_note(c, k, s, NULL, 0);
    void **b = pop_batch(c, k, cs, n);
    if (!b) {
        *n = 0;
        /* demand: the thread must carve from the arena; make room for what
         * the threads will give back */
        k->misses++;
        k->grown += want * cs;
    }
    if (unlikely(++k->ops >= CC_DECAY_CHECK))
        rel = decay_class(av->central, k, cs, um_now_ms(), (size_t)-1, &out);
    um_lock_release(&k->lock);
    if (!b && SHARDS() > 1)
        grow_others(av, s, i, want * cs);
    if (rel)
        release_batches(av, rel, cs);
    return b;
}

/* An aligned request of class i that the central cache could not serve
 * (no batch, or none with an aligned chunk near its top) was served by
 * av's arena: demand, as an empty take's, so that the class makes room
 * for the chunk when it comes back. um_tcache_aligned_take does not take
 * from an empty class (that would lock it, and with several shards all of
 * them, for every request), so nothing counted these: a program with more
 * aligned blocks of a class live than its thread's stack holds had the
 * overflow of every flush freed into the bins, and split a chunk in the
 * arena for every request after (a batch of 10,000 aligned_alloc(64, 64-512)
 * then freed: 1,500 instructions a request, glibc's 1,000). */
void um_central_aligned_miss(arena *av, size_t i)
{
    size_t s = cc_shard(), cs = tc_slot_size(i);
    struct cclass *k = cc_at(av, s, i);
    um_lock_acquire(&k->lock);
    cc_note(av->central, k, s, NULL, 0);
    k->misses++;
    k->grown += cs;
    um_lock_release(&k->lock);
    if (SHARDS() > 1)
        grow_others(av, s, i, cs);
}

/* A batch of class i parked in another arena's central cache, or NULL:
 * asked when the thread's own arena has none, before carving fresh memory.
 * A chunk goes back to the central cache of the arena it belongs to, which
 * need not be the arena of the thread that will want it next: a producer
 * that moved to another arena (lock contention) or a consumer freeing a
 * producer's blocks leave batches where the allocating thread no longer
 * looks, and without this it carved new memory while they sat until the
 * decay. The chunks keep their arena; free() finds it from the address.
 * Only trylock: a busy class is skipped, never waited for. */
void *um_central_steal(arena *self, size_t i, size_t *n, arena **from)
{
    size_t cs = tc_slot_size(i);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        for (size_t s = 0; a != self && s < SHARDS(); s++) {
            struct cclass *k = cc_at(a, s, i);
            if (!RELAXED_LOAD(k->batches) || !um_trylock(&k->lock))
                continue;
            void **b = pop_batch(a->central, k, cs, n);
            um_lock_release(&k->lock);
            if (b) {
                *from = a;
                return b;
            }
        }
    }
    *n = 0;
    return NULL;
}

/* Put batch b (n chunks, bytes in all) on top of class k (class lock held). */
static inline __attribute__((always_inline)) void push_batch(struct central *c, struct cclass *k,
                                                            void **b, size_t n, size_t bytes)
{
    if (!k->batches)
        cc_mark(c, k, 1);
    batch_set(b, k->batches, n);
    RELAXED_STORE(k->batches, b);
    k->nbatch++;
    RELAXED_STORE(k->bytes, k->bytes + bytes);
}

/* Park a chain of n chunks of class i, all belonging to av, in av's central
 * cache; when there is no room and no demand, free them into the bins.
 * consumer: the chain comes from a slot its thread never refilled (it only
 * frees that size: another thread's blocks), see cc_note. */
void um_central_give(arena *av, size_t i, void *head, size_t n, int consumer)
{
    size_t s = cc_shard();
    struct cclass *k = cc_at(av, s, i);
    size_t cs = tc_slot_size(i), bytes = n * cs, out = 0;
    void **rel = NULL, **b = head;
    int parked = 0;
    um_lock_acquire(&k->lock);
    cc_note(av->central, k, s, head, consumer);
    /* (an emptied arena, purge.c, parks nothing: its chunks go to the bins,
     * where they coalesce and are purged, instead of splitting the free
     * memory into holes for a decay time) */
    if (k->bytes + bytes <= CC_MIN_CAP + k->grown && !RELAXED_LOAD(av->purge.emptied)) {
        push_batch(av->central, k, b, n, bytes);
        parked = 1;
    }
    if (unlikely(++k->ops >= CC_DECAY_CHECK))
        rel = decay_class(av->central, k, cs, um_now_ms(), (size_t)-1, &out);
    um_lock_release(&k->lock);
    if (!parked)
        release_chain(av, b, n, cs);
    if (rel)
        release_batches(av, rel, cs);
}

/* Park one cached-format chunk of class i (av's) if the class holds less
 * than its minimum capacity; 0 when it does not (the caller then frees it
 * to the arena). For frees that no thread cache has room for: enough to
 * carry a steady flow between threads, never the whole of a burst, whose
 * frees would otherwise all wait here (up to two decay periods) instead of
 * going to the bins, where they coalesce and the purge returns them.
 * The class's grown capacity (demand), bounded at 256 KiB a medium class,
 * was tried (2026-12-07): 4 threads replacing 64 blocks of 1 B-64 KiB
 * each ran 1.44 -> 0.49 s, but after 8 workers' burst of 1-120 KiB blocks
 * with light traffic in main (tests/stress/idle_workers_traffic, debug
 * build) 4 of 8 runs kept 20-43 MB where 8 of 8 had kept 3.9-5.7: the
 * burst's frees stayed parked. Not kept. */
int um_central_park_one(arena *av, size_t i, void *mem)
{
    size_t s = cc_shard();
    struct cclass *k = cc_at(av, s, i);
    size_t cs = tc_slot_size(i);
    void **b = mem;
    if (RELAXED_LOAD(k->bytes) + cs > CC_MIN_CAP || RELAXED_LOAD(av->purge.emptied))
        return 0;
    um_lock_acquire(&k->lock);
    int parked = k->bytes + cs <= CC_MIN_CAP;
    if (parked) {
        cc_note(av->central, k, s, b, 0);
        push_batch(av->central, k, b, 1, cs);
    }
    um_lock_release(&k->lock);
    return parked;
}

/* Every batch of class k, detached (class lock held; detach_all takes it). */
static void **detach_locked(struct central *c, struct cclass *k)
{
    void **b = k->batches;
    if (b)
        cc_mark(c, k, 0);
    RELAXED_STORE(k->batches, NULL);
    k->nbatch = 0;
    RELAXED_STORE(k->bytes, 0);
    k->low = 0;
    return b;
}
static void **detach_all(struct central *c, struct cclass *k)
{
    um_lock_acquire(&k->lock);
    void **b = detach_locked(c, k);
    um_lock_release(&k->lock);
    return b;
}

/* Class i of av's central cache, all of it, into the bins (arena lock not
 * held): a chunk about to let top shrink brings its parked neighbours. */
void um_central_drain_class(arena *av, size_t i)
{
    for (size_t s = 0; s < SHARDS(); s++) {
        struct cclass *k = cc_at(av, s, i);
        if (RELAXED_LOAD(k->batches))
            release_batches(av, detach_all(av->central, k), tc_slot_size(i));
    }
}

/* Detached batches b of chunk size cs into av's bins, merged now (arena
 * lock held). */
static void drain_batches(arena *av, void **b, size_t cs)
{
    while (b) {
        void **next = batch_next(b);
        free_chain_with(av, b, batch_count(b), cs, 1);
        b = next;
    }
}

/* Everything parked in av's central cache, into the bins, with the arena
 * lock held (the grow path and malloc_trim); the shards' spans too. */
void um_central_drain(arena *av)
{
    FOR_FULL(av->central, j, i) {
        struct cclass *k = &av->central->cls[j];
        if (!RELAXED_LOAD(k->batches))
            continue;
        drain_batches(av, detach_all(av->central, k), tc_slot_size(i));
    }
    um_arena_spans_release(av, ~0u);
}

/* The grow path's drain while the process has threads (arena lock held):
 * into the bins the classes no take or give touched for a whole epoch
 * (epochs start at these calls, CC_EPOCH_MS apart at least) and those that
 * other CPUs' frees reach (any remote count), whose memory moves between
 * the threads anyway; every class when no other shard was used for an
 * epoch (one CPU allocates: bench/frag, whose second thread only samples
 * its RSS). Returns the bytes drained. The busy classes one CPU keeps for
 * itself stay: draining them coalesced their chunks with their neighbours
 * and handed them to whichever thread missed next, and the threads' memory
 * mixed (see the top of this file). Their parked chunks are bounded by
 * their capacity, and the decay returns what stays parked. Measured: with
 * the remote ones kept too, bench/oneway's peak RSS was 1.4-1.5x the
 * default's in one set of runs; with idle meaning "untouched since the
 * last call", two grows close together drained busy classes (800 KB in one
 * run of tests/stress/threads_apart, whose blocks then alternated between
 * the threads in 7.6% of places, 3-4% in the runs without); with epochs of
 * 100 ms, busy-looking classes stayed too long: bench/frag 128 MB of peak
 * RSS, xchurn 23 MB, where 10 ms gave 78 and 18 (single runs, while
 * unknown memory still counted as the shard's own; now 79 and 16, the
 * build before 78 and 15.7). */
#define CC_EPOCH_MS 10
static inline int cc_drainable(const struct cclass *k, uint32_t now)
{
    return !cc_recent(RELAXED_LOAD(k->epoch), now) || RELAXED_LOAD(k->remote) != 0;
}
size_t um_central_drain_idle(arena *av)
{
    struct central *c = av->central;
    uint32_t now = atomic_load_explicit(&c->epoch, memory_order_relaxed);
    uint64_t t = um_now_ms();
    if (t - c->epoch_ms >= CC_EPOCH_MS || t < c->epoch_ms) {
        c->epoch_ms = t;
        atomic_store_explicit(&c->epoch, ++now, memory_order_relaxed);
    }
    /* no other shard used for an epoch: one CPU allocates, and everything
     * goes, as with one thread */
    size_t s = cc_shard(), out = 0;
    int solo = 1;
    FOR_OTHER_SHARDS(o, s)
        solo &= !cc_recent(atomic_load_explicit(&c->full[o].active, memory_order_relaxed), now);
    FOR_FULL(c, j, i) {
        struct cclass *k = &c->cls[j];
        if (!RELAXED_LOAD(k->batches) || (!solo && !cc_drainable(k, now)))
            continue;
        size_t cs = tc_slot_size(i);
        um_lock_acquire(&k->lock);
        void **b = NULL;
        if (solo || cc_drainable(k, now)) { /* (a take or give may have come meanwhile) */
            out += k->bytes;
            b = detach_locked(c, k);
        }
        um_lock_release(&k->lock);
        drain_batches(av, b, cs);
    }
    /* the spans (arena.c) of the shards idle for an epoch (all of them
     * when one CPU allocates): a busy shard's span stays, as its busy
     * classes do (releasing every span here put threads 2 uniform's
     * `own` count back from 93,000 to 1,170,000: the rests were carved
     * by the other CPU) */
    unsigned idle = 0;
    for (size_t o = 0; o < SHARDS(); o++)
        if (solo || !cc_recent(atomic_load_explicit(&c->full[o].active, memory_order_relaxed), now))
            idle |= 1u << o;
    out += um_arena_spans_release(av, idle);
    return out;
}

/* Decay every class of av now (the purge tick and idle paths call it). */
void um_central_decay(arena *av, uint64_t now)
{
    FOR_FULL(av->central, j, i) {
        struct cclass *k = &av->central->cls[j];
        if (!RELAXED_LOAD(k->bytes))
            continue;
        size_t cs = tc_slot_size(i), out = 0;
        um_lock_acquire(&k->lock);
        void **rel = decay_class(av->central, k, cs, now, (size_t)-1, &out);
        um_lock_release(&k->lock);
        if (rel)
            release_batches(av, rel, cs);
    }
}

/* Decay with av's lock held (the purge tick, every few arena calls): at most
 * about max bytes go to the bins per call, the rest of an idle part at the
 * next; the classes are looked at every decay/4. */
void um_central_decay_locked(arena *av, uint64_t now, size_t max)
{
    struct central *c = av->central;
    long decay = um_purge_decay();
    if (decay < 0 || now - c->scan_ms < (uint64_t)decay / 4)
        return;
    um_arena_spans_decay(av, now, decay);
    int pending = 0;
    FOR_FULL(c, j, i) {
        struct cclass *k = &c->cls[j];
        if (!max)
            continue; /* (FOR_FULL: a break would leave one word's loop) */
        if (!RELAXED_LOAD(k->bytes))
            continue;
        size_t cs = tc_slot_size(i), out = 0;
        um_lock_acquire(&k->lock);
        void **b = decay_class(c, k, cs, now, max, &out);
        pending |= k->low && now >= k->tick_ms && now - k->tick_ms >= (uint64_t)decay;
        um_lock_release(&k->lock);
        while (b) {
            void **next = batch_next(b);
            free_chain_locked(av, b, batch_count(b), cs);
            b = next;
        }
        max = out < max ? max - out : 0;
    }
    if (!pending && max)
        c->scan_ms = now;
}

/* Chunks parked in av's central cache, its shards' spans (arena.c) among
 * them (racy: for statistics). */
size_t um_arena_central_count(arena *av)
{
    size_t n = 0;
    FOR_FULL(av->central, j, i)
        n += RELAXED_LOAD(av->central->cls[j].bytes) / tc_slot_size(i);
    for (size_t s = 0; s < CC_SHARDS; s++)
        n += RELAXED_LOAD(av->span[s]) != NULL;
    return n;
}

/* Bytes parked in av's central cache, spans included (racy: for
 * statistics, and for the drains' decisions: what a drain would free). */
size_t um_arena_central_bytes(arena *av)
{
    size_t sum = RELAXED_LOAD(av->span_bytes);
    FOR_FULL(av->central, j, i)
        sum += RELAXED_LOAD(av->central->cls[j].bytes);
    return sum;
}

/* Visit every parked chunk of av, spans included (the reports; arena lock
 * held, and class locks are below it). */
size_t um_arena_central_foreach(arena *av, um_central_visit fn, void *ctx)
{
    size_t n = 0;
    for (size_t s = 0; s < CC_SHARDS; s++)
        if (av->span[s]) {
            if (fn)
                fn(av->span[s], ctx);
            n++;
        }
    FOR_FULL(av->central, j, i) {
        struct cclass *k = &av->central->cls[j];
        if (!RELAXED_LOAD(k->batches))
            continue;
        um_lock_acquire(&k->lock);
        for (void **b = k->batches; b; b = batch_next(b)) {
            void **e = b;
            for (size_t c = batch_count(b); c > 0 && e; c--) {
                if (fn)
                    fn(mem_to_chunk(e), ctx);
                n++;
                e = link_reveal(e[0]);
                if (unlikely(!link_ok(e)))
                    um_fatal("malloc_stats", "corrupted central-cache batch near", b, 0);
            }
        }
        um_lock_release(&k->lock);
    }
    return n;
}

/* Fork: every class lock is taken before fork and released (or reset) after. */
void um_central_lock_all(arena *av)
{
    FOR_SLOTS(j)
        um_lock_acquire(&av->central->cls[j].lock);
}
void um_central_unlock_all(arena *av, int reset)
{
    FOR_SLOTS(j) {
        if (reset)
            um_lock_init(&av->central->cls[j].lock);
        else
            um_lock_release(&av->central->cls[j].lock);
    }
}

/* At exit: every chunk parked in av's central cache still holds what the
 * cache wrote (a valid link and its cache mark), else the program wrote into a
 * block after freeing it, and the header after it still decodes (else the
 * block ran past its end: um_cached_end_check_at_exit). A flush parks the
 * oldest part of a thread's stack without walking it, so a write into a
 * block that was never reused would otherwise go unseen. Bounded by the
 * recorded counts and by CENTRAL_EXIT_CHECK_TOTAL chunks, shared by the
 * classes that hold any (each walks that share of the batches parked
 * last, at most CENTRAL_EXIT_CHECK_MAX, at least CENTRAL_EXIT_CHECK_MIN):
 * walking all of them read every freed block of a big heap once more at
 * exit, cache miss by cache miss (bench/trees parks about 600,000: 2% of
 * its run time in perf record -e cpu-clock); with 4096 a class and no
 * total, bench/frag's exit walk was 1% of its samples (about 15 ms: some
 * hundred classes hold parked chunks at its end). */
#define CENTRAL_EXIT_CHECK_MAX 4096
#define CENTRAL_EXIT_CHECK_MIN 256
#define CENTRAL_EXIT_CHECK_TOTAL 32768
void um_central_check_at_exit(arena *av)
{
    size_t classes = 0;
    FOR_FULL(av->central, j, i) {
        (void)i;
        classes += RELAXED_LOAD(av->central->cls[j].bytes) != 0;
    }
    size_t share = classes ? CENTRAL_EXIT_CHECK_TOTAL / classes : 0;
    share = share < CENTRAL_EXIT_CHECK_MIN   ? CENTRAL_EXIT_CHECK_MIN
            : share > CENTRAL_EXIT_CHECK_MAX ? CENTRAL_EXIT_CHECK_MAX
                                             : share;
    FOR_FULL(av->central, j, i) {
        struct cclass *k = &av->central->cls[j];
        if (!RELAXED_LOAD(k->bytes))
            continue;
        um_lock_acquire(&k->lock);
        size_t nb = k->nbatch, left = share;
        for (void **b = k->batches; b && nb > 0 && left > 0; b = batch_next(b), nb--) {
            void **e = b;
            for (size_t n = batch_count(b); n > 0 && e && left > 0; n--, left--) {
                void **next = link_reveal(e[0]);
                if (!um_cache_marked(e) || !link_ok(next))
                    um_fatal("exit", "write after free into", e, tc_slot_size(i) - SIZE_SZ);
                um_cached_end_check_at_exit(e, tc_slot_size(i));
                e = next;
            }
        }
        um_lock_release(&k->lock);
    }
}

/* Debug check: every parked chunk is an in-use chunk of av of its class,
 * marked cached; counts and byte totals agree. */
void um_central_check(arena *av)
{
    FOR_CLASSES(j, i) {
        struct cclass *k = &av->central->cls[j];
        size_t cs = tc_slot_size(i), bytes = 0;
        uint32_t nb = 0;
        um_lock_acquire(&k->lock);
        for (void **b = k->batches; b; b = batch_next(b)) {
            size_t n = 0;
            if (++nb > k->nbatch)
                um_fatal("check", "central cache holds more batches than counted at", b, nb);
            for (void **e = b; e; e = link_reveal(e[0])) {
                chunk *p = mem_to_chunk(e);
                /* (where e lies before its words are read) */
                if (!link_ok(e) || !um_owner_holds(av, p, MINSIZE) || chunksize(p) != cs ||
                    chunk_is_mmapped(p) || !inuse(p) || chunk_free_bit(p) ||
                    !um_cache_marked(e) || um_arena_of(p) != av)
                    um_fatal("check", "bad central-cache entry", e, cs);
                if (++n > batch_count(b))
                    um_fatal("check", "central batch longer than recorded at", b, n);
            }
            if (n != batch_count(b) || n == 0)
                um_fatal("check", "central batch shorter than recorded at", b, n);
            bytes += n * cs;
        }
        if (nb != k->nbatch || bytes != k->bytes)
            um_fatal("check", "central cache totals wrong in arena", av, bytes);
        if (k->low > k->bytes)
            um_fatal("check", "central low-water mark above its bytes in arena", av, k->low);
        if (k->remote > REMOTE_MAX)
            um_fatal("check", "central class's remote count out of range in arena", av, k->remote);
        uint64_t w = atomic_load_explicit(&av->central->full[j / TC_SLOTS].w[i / 64], memory_order_relaxed);
        if (((w >> (i % 64)) & 1) != (k->batches != NULL))
            um_fatal("check", "central class's bit in the shard's map wrong in arena", av, i);
        um_lock_release(&k->lock);
    }
    /* shards not in use hold nothing, and no bit is set past the classes */
    for (size_t j = CC_END(); j < CC_SHARDS * TC_SLOTS; j++)
        if (RELAXED_LOAD(av->central->cls[j].batches))
            um_fatal("check", "central batch in a shard not in use in arena", av, j);
    for (size_t sh = 0; sh < CC_SHARDS; sh++) {
        uint64_t w0 = atomic_load_explicit(&av->central->full[sh].w[0], memory_order_relaxed);
        uint64_t w1 = atomic_load_explicit(&av->central->full[sh].w[1], memory_order_relaxed);
        if ((w0 & 3) != 0 || (TC_SLOTS < 128 && (w1 >> (TC_SLOTS - 64)) != 0) || (sh >= SHARDS() && (w0 | w1)))
            um_fatal("check", "central shard map has a bit for no class in arena", av, sh);
    }
}
