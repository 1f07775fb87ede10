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
 * word 1 the cache key (um_tc_key: "cached", so a double free is caught);
 * word 2 of a batch's FIRST chunk packs the chunk count (top 16 bits) with
 * the encrypted address of the next batch. Word 2 is the next chunk's
 * prev_size, which an in-use chunk lends to its user, so even a 32-byte
 * chunk has it.
 * Locks: one per class, a leaf below the arena lock (never take the arena
 * lock while holding a class lock).
 */
#include <string.h>

#include "bins.h"
#include "purge.h"
#include "tcache.h"

#define CC_DECAY_CHECK 64               /* ops on a class between clock reads */
#define CC_RELEASE_STEP ((size_t)4096)  /* chunks freed to the bins per call */
#define PACK_PTR_MASK (((uint64_t)1 << 48) - 1)

struct central um_main_central;

void um_central_init(struct central *c)
{
    /* A class at rest is all zeros (unlocked, empty, minimum capacity), and
     * so is the memory an arena starts in (the main arena's is static, the
     * others' a fresh mapping): only a class that is not gets cleared, so
     * the classes a program never uses are never written. Writing them all
     * dirtied 8 KiB per arena (122 classes of 64 bytes), the main arena's
     * two pages of the library's bss in every process. */
    for (size_t i = 0; i < TC_SLOTS; i++) {
        const unsigned char *w = (const unsigned char *)&c->cls[i];
        unsigned nz = 0;
        for (size_t j = 0; j < sizeof c->cls[i]; j++)
            nz |= w[j];
        if (nz)
            memset(&c->cls[i], 0, sizeof c->cls[i]);
    }
}

/* The count and next batch recorded in a batch's first chunk. */
static inline void batch_set(void **b, void *next, size_t n)
{
    b[2] = (void *)(((uint64_t)n << 48) | ((uintptr_t)link_protect(next) & PACK_PTR_MASK));
}
static inline size_t batch_count(void **b) { return (size_t)((uint64_t)b[2] >> 48); }
static inline void **batch_next(void **b)
{
    uintptr_t n = (uintptr_t)link_reveal((void *)((uint64_t)b[2] & PACK_PTR_MASK)) & PACK_PTR_MASK;
    if (unlikely(n & ALIGN_MASK)) /* a use after free wrote over word 2 */
        um_fatal("malloc", "corrupted central-cache batch at", b, 0);
    return (void **)n;
}

/* Free up to n cached chunks of a chain (all of av, size cs) into av's
 * bins, arena lock held; returns the rest of the chain. */
static void **free_chain_locked(arena *av, void **e, size_t n, size_t cs)
{
    for (; n > 0 && e; n--) {
        void **next = link_reveal(e[0]);
        if (unlikely(!link_ok(next)))
            um_fatal("free", "corrupted cache list near", e, 0);
        e[1] = NULL;
        um_int_free(av, mem_to_chunk(e), cs, "free");
        e = next;
    }
    return e;
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
static void **detach_oldest(struct cclass *k, size_t cs, size_t want, size_t *bytes_out)
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
    if (prev)
        batch_set(prev, NULL, batch_count(prev));
    else
        RELAXED_STORE(k->batches, NULL);
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
static void **decay_class(struct cclass *k, size_t cs, uint64_t now, size_t max, size_t *out)
{
    long decay = um_purge_decay();
    k->ops = 0;
    if (decay < 0 || now < k->tick_ms || now - k->tick_ms < (uint64_t)decay)
        return NULL;
    size_t idle = k->low;
    void **b = NULL;
    *out = 0;
    if (idle) {
        b = detach_oldest(k, cs, idle < max ? idle : max, out);
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
static void **pop_batch(struct cclass *k, size_t cs, size_t *n)
{
    void **b = k->batches;
    if (!b)
        return NULL;
    *n = batch_count(b);
    void **next = batch_next(b);
    if (unlikely(*n == 0 || *n * cs > k->bytes || (next == NULL) != (k->nbatch == 1)))
        um_fatal("malloc", "corrupted central-cache batch at", b, 0);
    RELAXED_STORE(k->batches, next);
    k->nbatch--;
    RELAXED_STORE(k->bytes, k->bytes - *n * cs);
    if (k->low > k->bytes)
        k->low = k->bytes;
    return b;
}

/* A batch of class i from av's central cache, or NULL (then *n is 0): the
 * caller then carves `want` fresh chunks, which will come back here. */
void *um_central_take(arena *av, size_t i, size_t *n, size_t want)
{
    struct cclass *k = &av->central->cls[i];
    size_t cs = tc_slot_size(i), out = 0;
    void **rel = NULL;
    um_lock_acquire(&k->lock);
    void **b = pop_batch(k, cs, n);
    if (!b) {
        *n = 0;
        /* demand: the thread must carve from the arena; make room for what
         * the threads will give back */
        k->misses++;
        k->grown += want * cs;
    }
    if (unlikely(++k->ops >= CC_DECAY_CHECK))
        rel = decay_class(k, cs, um_now_ms(), (size_t)-1, &out);
    um_lock_release(&k->lock);
    if (rel)
        release_batches(av, rel, cs);
    return b;
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
        struct cclass *k = &a->central->cls[i];
        if (a == self || !RELAXED_LOAD(k->batches) || !um_trylock(&k->lock))
            continue;
        void **b = pop_batch(k, cs, n);
        um_lock_release(&k->lock);
        if (b) {
            *from = a;
            return b;
        }
    }
    *n = 0;
    return NULL;
}

/* Put batch b (n chunks, bytes in all) on top of class k (class lock held). */
static void push_batch(struct cclass *k, void **b, size_t n, size_t bytes)
{
    batch_set(b, k->batches, n);
    RELAXED_STORE(k->batches, b);
    k->nbatch++;
    RELAXED_STORE(k->bytes, k->bytes + bytes);
}

/* Park a chain of n chunks of class i, all belonging to av, in av's central
 * cache; when there is no room and no demand, free them into the bins. */
void um_central_give(arena *av, size_t i, void *head, size_t n)
{
    struct cclass *k = &av->central->cls[i];
    size_t cs = tc_slot_size(i), bytes = n * cs, out = 0;
    void **rel = NULL, **b = head;
    int parked = 0;
    um_lock_acquire(&k->lock);
    if (k->bytes + bytes <= CC_MIN_CAP + k->grown) {
        push_batch(k, b, n, bytes);
        parked = 1;
    }
    if (unlikely(++k->ops >= CC_DECAY_CHECK))
        rel = decay_class(k, cs, um_now_ms(), (size_t)-1, &out);
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
 * going to the bins, where they coalesce and the purge returns them. */
int um_central_park_one(arena *av, size_t i, void *mem)
{
    struct cclass *k = &av->central->cls[i];
    size_t cs = tc_slot_size(i);
    void **b = mem;
    if (RELAXED_LOAD(k->bytes) + cs > CC_MIN_CAP)
        return 0;
    um_lock_acquire(&k->lock);
    int parked = k->bytes + cs <= CC_MIN_CAP;
    if (parked)
        push_batch(k, b, 1, cs);
    um_lock_release(&k->lock);
    return parked;
}

/* Class i of av's central cache, all of it, into the bins (arena lock not
 * held): a chunk about to let top shrink brings its parked neighbours. */
/* Every batch of class k, detached (takes the class lock). */
static void **detach_all(struct cclass *k)
{
    um_lock_acquire(&k->lock);
    void **b = k->batches;
    RELAXED_STORE(k->batches, NULL);
    k->nbatch = 0;
    RELAXED_STORE(k->bytes, 0);
    k->low = 0;
    um_lock_release(&k->lock);
    return b;
}

void um_central_drain_class(arena *av, size_t i)
{
    struct cclass *k = &av->central->cls[i];
    if (RELAXED_LOAD(k->batches))
        release_batches(av, detach_all(k), tc_slot_size(i));
}

/* Everything parked in av's central cache, into the bins, with the arena
 * lock held (the grow path and malloc_trim). */
void um_central_drain(arena *av)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        struct cclass *k = &av->central->cls[i];
        if (!RELAXED_LOAD(k->batches))
            continue;
        void **b = detach_all(k);
        while (b) {
            void **next = batch_next(b);
            free_chain_locked(av, b, batch_count(b), tc_slot_size(i));
            b = next;
        }
    }
}

/* Decay every class of av now (the purge tick and idle paths call it). */
void um_central_decay(arena *av, uint64_t now)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        struct cclass *k = &av->central->cls[i];
        if (!RELAXED_LOAD(k->bytes))
            continue;
        size_t cs = tc_slot_size(i), out = 0;
        um_lock_acquire(&k->lock);
        void **rel = decay_class(k, cs, now, (size_t)-1, &out);
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
    int pending = 0;
    for (size_t i = 2; i < TC_SLOTS && max; i++) {
        struct cclass *k = &c->cls[i];
        if (!RELAXED_LOAD(k->bytes))
            continue;
        size_t cs = tc_slot_size(i), out = 0;
        um_lock_acquire(&k->lock);
        void **b = decay_class(k, cs, now, max, &out);
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

/* Bytes parked in class i of av's central cache (racy peek). */
size_t um_central_class_bytes(arena *av, size_t i) { return RELAXED_LOAD(av->central->cls[i].bytes); }

/* Chunks parked in av's central cache (racy: for statistics). */
size_t um_arena_central_count(arena *av)
{
    size_t n = 0;
    for (size_t i = 2; i < TC_SLOTS; i++)
        n += RELAXED_LOAD(av->central->cls[i].bytes) / tc_slot_size(i);
    return n;
}

/* Bytes parked in av's central cache (racy: for statistics). */
size_t um_arena_central_bytes(arena *av)
{
    size_t sum = 0;
    for (size_t i = 2; i < TC_SLOTS; i++)
        sum += RELAXED_LOAD(av->central->cls[i].bytes);
    return sum;
}

/* Visit every parked chunk of av (the reports; arena lock held, and class
 * locks are below it). */
size_t um_arena_central_foreach(arena *av, um_central_visit fn, void *ctx)
{
    size_t n = 0;
    for (size_t i = 2; i < TC_SLOTS; i++) {
        struct cclass *k = &av->central->cls[i];
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
    for (size_t i = 2; i < TC_SLOTS; i++)
        um_lock_acquire(&av->central->cls[i].lock);
}
void um_central_unlock_all(arena *av, int reset)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        if (reset)
            um_lock_init(&av->central->cls[i].lock);
        else
            um_lock_release(&av->central->cls[i].lock);
    }
}

/* Debug check: every parked chunk is an in-use chunk of av of its class,
 * marked cached; counts and byte totals agree. */
/* At exit: every chunk parked in av's central cache still holds what the
 * cache wrote (a valid link and the key), else the program wrote into a
 * block after freeing it. A flush parks the oldest part of a thread's stack
 * without walking it, so a write into a block that was never reused would
 * otherwise go unseen. Bounded by the recorded counts, and per class by
 * CENTRAL_EXIT_CHECK_MAX chunks of the batches parked last: walking all of
 * them read every freed block of a big heap once more at exit, cache miss
 * by cache miss (bench/trees parks about 600,000: 2% of its run time in
 * perf record -e cpu-clock). */
#define CENTRAL_EXIT_CHECK_MAX 4096
void um_central_check_at_exit(arena *av)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        struct cclass *k = &av->central->cls[i];
        if (!RELAXED_LOAD(k->bytes))
            continue;
        um_lock_acquire(&k->lock);
        size_t nb = k->nbatch, left = CENTRAL_EXIT_CHECK_MAX;
        for (void **b = k->batches; b && nb > 0 && left > 0; b = batch_next(b), nb--) {
            void **e = b;
            for (size_t n = batch_count(b); n > 0 && e && left > 0; n--, left--) {
                void **next = link_reveal(e[0]);
                if (e[1] != (void *)um_tc_key || !link_ok(next))
                    um_fatal("exit", "write after free into", e, tc_slot_size(i) - SIZE_SZ);
                e = next;
            }
        }
        um_lock_release(&k->lock);
    }
}

void um_central_check(arena *av)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        struct cclass *k = &av->central->cls[i];
        size_t cs = tc_slot_size(i), bytes = 0;
        uint32_t nb = 0;
        um_lock_acquire(&k->lock);
        for (void **b = k->batches; b; b = batch_next(b)) {
            size_t n = 0;
            if (++nb > k->nbatch)
                um_fatal("check", "central cache holds more batches than counted at", b, nb);
            for (void **e = b; e; e = link_reveal(e[0])) {
                chunk *p = mem_to_chunk(e);
                if (!link_ok(e) || chunksize(p) != cs || chunk_is_mmapped(p) || !inuse(p) ||
                    e[1] != (void *)um_tc_key || um_arena_of(p) != av)
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
        um_lock_release(&k->lock);
    }
}
