/*
 * tcache.c — the tcache layer's slow side: set-up, refill, flush, give-back.
 *
 * Protocol with the arenas: a miss takes the arena lock once and leaves with
 * the chunk asked for plus up to limit/2 more of the same size (exact bins,
 * fast bins, or carved from top); a free into a full stack sends half of it
 * back to the arenas under one lock per arena met. Limits adapt: each refill
 * raises a bin's limit by half, up to a per-size cap (~16 KiB a bin), so a
 * bin that is hot gets bigger batches and one that is not stays small. Every
 * 4096 slow-path calls, a bin that saw no refill or flush gives half of what
 * it holds back (idle caches do not sit on memory). A thread's cache is
 * flushed at thread exit by a pthread key destructor.
 */
#include <pthread.h>
#include <string.h>

#include "tcache.h"

__thread struct tcache um_tc __attribute__((tls_model("initial-exec")));
uintptr_t um_tc_key;

static pthread_key_t tc_exit_key;
static int tc_exit_key_ok;
static um_lock tc_list_lock;
static struct tcache *tc_list;

#define TC_START_LIMIT 16
#define TC_SCAVENGE_EVERY 4096

/* Per-bin caps: ~16 KiB a small bin (8..256 chunks), ~32 KiB a medium one
 * (2..32 chunks): enough to keep a hot size off the arena lock, little
 * enough that a thread's cache stays small next to glibc's. */
static uint16_t tc_max_limit(size_t i)
{
    size_t cs = tc_slot_size(i);
    if (i < TC_MED_FIRST) {
        size_t m = 16384 / cs;
        return (uint16_t)(m < 8 ? 8 : m > 256 ? 256 : m);
    }
    size_t m = 32768 / cs;
    return (uint16_t)(m < 2 ? 2 : m > 32 ? 32 : m);
}

/* Called once, from um_init_slow: the exit hook for every thread's cache. */
void um_tcache_global_init(void)
{
    um_tc_key = um_os_random();
    tc_exit_key_ok = pthread_key_create(&tc_exit_key, um_tcache_thread_exit) == 0;
}

/* Start limits for every bin; the bins must be empty. */
static void tc_reset_limits(struct tcache *tc)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        uint16_t m = tc_max_limit(i);
        tc->limit[i] = tc->room[i] = TC_START_LIMIT < m ? TC_START_LIMIT : m;
    }
    tc->disabled = 0;
}

static int tc_setup(struct tcache *tc)
{
    if (RELAXED_LOAD(um_params.tcache_off))
        return 0;
    tc_reset_limits(tc);
    tc->state = TC_LIVE;
    um_lock_acquire(&tc_list_lock);
    tc->next = tc_list;
    tc->prev = NULL;
    if (tc_list)
        tc_list->prev = tc;
    tc_list = tc;
    um_lock_release(&tc_list_lock);
    if (tc_exit_key_ok)
        pthread_setspecific(tc_exit_key, tc);
    return 1;
}

/* Free a batch of in-use heap chunks, taking each arena's lock once per run. */
static void arena_free_batch(void **mem, size_t n)
{
    arena *locked = NULL;
    for (size_t k = 0; k < n; k++) {
        chunk *p = mem_to_chunk(mem[k]);
        arena *av = um_arena_of(p);
        if (unlikely(!av))
            um_fatal("free", "invalid pointer", mem[k], 0);
        if (av != locked) {
            if (locked)
                um_arena_release(locked);
            um_lock_acquire(&av->lock);
            locked = av;
        }
        size_t size = chunksize(p);
        if (unlikely(!um_owner_holds(av, p, size)))
            um_fatal("free", "invalid pointer", mem[k], 0);
        um_int_free(av, p, size, "free");
    }
    if (locked)
        um_arena_release(locked);
}

/* Free one in-use heap chunk to its arena (no tcache). */
void um_arena_free(chunk *p)
{
    void *mem = chunk_to_mem(p);
    arena_free_batch(&mem, 1);
}

/* Free a detached chain of n cached chunks to their arenas one by one. */
static void free_chain(void **e, size_t n)
{
    void *batch[256];
    while (n > 0 && e) {
        size_t k = 0;
        for (; k < n && k < 256 && e; k++) {
            void **next = reveal_ptr(e, e[0]);
            e[1] = NULL;
            batch[k] = e;
            e = next;
        }
        arena_free_batch(batch, k);
        n -= k;
    }
}

/* Park the first n chunks of small slot i in their arena's transfer cache
 * as one chain. 0 if they belong to several arenas (then nothing changed). */
static int tc_flush_to_xfer(struct tcache *tc, size_t i, size_t n)
{
    void **first = tc->head[i], **last = first;
    arena *av = um_arena_of(mem_to_chunk(first));
    size_t bytes = n * tc_slot_size(i);
    /* a peek without the lock: do not walk the chain when it cannot fit */
    if (!av || RELAXED_LOAD(av->xfer[i].bytes) + bytes > XFER_MAX_BYTES)
        return 0;
    for (size_t k = 1; k < n; k++) {
        last = reveal_ptr(last, last[0]);
        if (unlikely(!aligned_ok(last) || !last))
            um_fatal("free", "corrupted tcache list near", first, 0);
        if (um_arena_of(mem_to_chunk(last)) != av)
            return 0;
    }
    /* detach first, publish second: once parked, another thread owns it */
    tc->head[i] = reveal_ptr(last, last[0]);
    last[0] = protect_ptr(last, NULL);
    tc->room[i] = (uint16_t)(tc->room[i] + n);
    um_lock_acquire(&av->lock);
    struct xfer *x = &av->xfer[i];
    if (x->depth < XFER_DEPTH && x->bytes + bytes <= XFER_MAX_BYTES) {
        x->head[x->depth] = first;
        x->n[x->depth] = (uint16_t)n;
        x->depth++;
        RELAXED_STORE(x->bytes, x->bytes + bytes);
        av->xfer_bytes += bytes;
        um_lock_release(&av->lock);
        return 1;
    }
    um_lock_release(&av->lock);
    free_chain(first, n);
    return 1;
}

/* Send n chunks of bin i back to the arenas. */
static void tc_flush(struct tcache *tc, size_t i, size_t n)
{
    if (n > tc_count(tc, i))
        n = tc_count(tc, i);
    /* an exiting thread's chunks go to the bins, where they can coalesce and
     * be trimmed; parking them would keep them for threads that may not come */
    if (i < XFER_SLOTS && n >= 4 && tc->state != TC_DEAD && tc_flush_to_xfer(tc, i, n)) {
        tc->events[i]++;
        return;
    }
    void *batch[256];
    while (n > 0) {
        size_t k = 0;
        while (k < n && k < 256 && tc->head[i])
            batch[k++] = tc_pop(tc, i);
        if (k == 0)
            break;
        arena_free_batch(batch, k);
        n -= k;
    }
    tc->events[i]++;
}

/* Give every cached chunk back; the cache stays usable unless disabled. */
static void tc_flush_all(struct tcache *tc)
{
    for (size_t i = 2; i < TC_SLOTS; i++)
        if (tc_count(tc, i))
            tc_flush(tc, i, tc_count(tc, i));
}

static void tc_disable(struct tcache *tc)
{
    tc_flush_all(tc);
    for (size_t i = 2; i < TC_SLOTS; i++)
        tc->limit[i] = tc->room[i] = 0;
    tc->disabled = 1;
}

/* Bins that were quiet since the last look give half their chunks back. */
static void tc_tick(struct tcache *tc)
{
    if (++tc->slow_calls < TC_SCAVENGE_EVERY)
        return;
    tc->slow_calls = 0;
    for (size_t i = 2; i < TC_SLOTS; i++) {
        if (tc->events[i] == 0 && tc_count(tc, i) > 1)
            tc_flush(tc, i, tc_count(tc, i) / 2);
        tc->events[i] = 0;
    }
}

/* Is this thread's cache usable? Sets it up on first use. */
static struct tcache *tc_usable(void)
{
    struct tcache *tc = &um_tc;
    if (unlikely(tc->state != TC_LIVE)) {
        if (tc->state == TC_DEAD || !tc_setup(tc))
            return NULL;
    }
    if (unlikely(RELAXED_LOAD(um_params.tcache_off))) {
        if (!tc->disabled)
            tc_disable(tc);
        return NULL;
    }
    if (unlikely(tc->disabled)) /* M_PERTURB was switched off again */
        tc_reset_limits(tc);
    return tc;
}

/* A chunk of slot i from the cache, refilling it from the arena.
 * NULL when the cache is unusable or the arena is out of memory. */
void *um_tcache_get(size_t i)
{
    struct tcache *tc = tc_usable();
    if (!tc)
        return NULL;
    void *m = tc_pop(tc, i);
    if (m)
        return m;
    tc_tick(tc);
    size_t nb = tc_slot_size(i);
    arena *av = um_arena_get();
    if (i < XFER_SLOTS && av->xfer[i].depth) {
        /* a parked chain: the whole batch in O(1); this stack is empty now */
        struct xfer *x = &av->xfer[i];
        x->depth--;
        void **h = x->head[x->depth];
        size_t n = x->n[x->depth], bytes = n * nb;
        RELAXED_STORE(x->bytes, x->bytes - bytes);
        av->xfer_bytes -= bytes;
        um_arena_release(av);
        if (n > tc->room[i]) {
            tc->limit[i] = (uint16_t)(tc->limit[i] + (n - tc->room[i]));
            tc->room[i] = (uint16_t)n;
        }
        tc->head[i] = h;
        tc->room[i] = (uint16_t)(tc->room[i] - n);
        tc->events[i]++;
        return tc_pop(tc, i);
    }
    m = um_int_malloc(av, nb);
    if (m) {
        for (unsigned want = tc->limit[i] / 2; want > 0; want--) {
            chunk *p = um_take_cached(av, nb);
            if (!p)
                break;
            tc_push(tc, i, chunk_to_mem(p));
        }
    }
    um_arena_release(av);
    uint16_t cap = tc_max_limit(i);
    if (tc->limit[i] < cap) {
        unsigned l = tc->limit[i] + tc->limit[i] / 2 + 1;
        l = l > cap ? cap : l;
        tc->room[i] = (uint16_t)(tc->room[i] + (l - tc->limit[i]));
        tc->limit[i] = (uint16_t)l;
    }
    tc->events[i]++;
    return m;
}

/* Is e on this thread's stack for bin i? (It carries the key: check for real.) */
static int tc_holds(struct tcache *tc, size_t i, void *e)
{
    size_t n = 0;
    for (void **q = tc->head[i]; q; q = reveal_ptr(q, q[0])) {
        if (q == e)
            return 1;
        if (++n > 65535 || !aligned_ok(reveal_ptr(q, q[0])))
            um_fatal("free", "corrupted tcache list near", q, 0);
    }
    return 0;
}

/* Free of a validated in-use heap chunk that missed the inline fast path. */
void um_tcache_free_slow(chunk *p)
{
    size_t size = chunksize(p);
    void *mem = chunk_to_mem(p);
    struct tcache *tc;
    size_t i = tc_slot_of_chunk(size);
    arena *av = um_arena_of(p);
    if (unlikely(!av))
        um_fatal("free", "invalid pointer", mem, 0);
    if (i >= TC_MED_FIRST && chunk_at(p, size) == peek_top(av)) {
        /* a medium chunk on top of the heap goes back, and so do the cached
         * chunks of its size (blocks freed in allocation order sit just
         * below it), so top can grow back and trim */
        if (um_tc.state == TC_LIVE && tc_count(&um_tc, i))
            tc_flush(&um_tc, i, tc_count(&um_tc, i));
        i = 0;
    }
    if (i && (tc = tc_usable()) != NULL) {
        if (((void **)mem)[1] == (void *)um_tc_key && tc_holds(tc, i, mem))
            um_fatal("free", "double free of", mem, size - SIZE_SZ);
        if (unlikely(!inuse(p)))
            um_fatal("free", "double free of", mem, size - SIZE_SZ);
        tc_tick(tc);
        if (tc->room[i] == 0)
            tc_flush(tc, i, tc_count(tc, i) / 2 + 1);
        if (tc->room[i] != 0) {
            tc_push(tc, i, mem);
            return;
        }
    }
    um_arena_free(p);
}

/* pthread key destructor: the thread is ending; hand everything back. */
void um_tcache_thread_exit(void *arg)
{
    struct tcache *tc = arg ? arg : &um_tc;
    if (tc->state == TC_LIVE) {
        tc->state = TC_DEAD; /* flush to the bins, not the transfer cache */
        tc_disable(tc);
        um_lock_acquire(&tc_list_lock);
        if (tc->prev)
            tc->prev->next = tc->next;
        else
            tc_list = tc->next;
        if (tc->next)
            tc->next->prev = tc->prev;
        um_lock_release(&tc_list_lock);
    }
    tc->state = TC_DEAD;
    um_arena_thread_detach();
}

/* This thread's cache, all of it, back to the arenas (malloc_trim, mallopt). */
void um_tcache_flush_all(void)
{
    if (um_tc.state == TC_LIVE)
        tc_flush_all(&um_tc);
}

/* mallopt changed something the caches depend on. */
void um_tcache_refresh_settings(void)
{
    if (um_tc.state != TC_LIVE)
        return;
    if (RELAXED_LOAD(um_params.tcache_off)) {
        if (!um_tc.disabled)
            tc_disable(&um_tc);
    } else if (um_tc.disabled) {
        tc_reset_limits(&um_tc);
    }
}

/* Chunks and bytes sitting in all threads' caches (racy reads: stats only). */
size_t um_tcache_bytes(size_t *count)
{
    size_t bytes = 0, n = 0;
    um_lock_acquire(&tc_list_lock);
    for (struct tcache *tc = tc_list; tc; tc = tc->next)
        for (size_t i = 2; i < TC_SLOTS; i++) {
            size_t c = (size_t)__atomic_load_n(&tc->limit[i], __ATOMIC_RELAXED) -
                       __atomic_load_n(&tc->room[i], __ATOMIC_RELAXED);
            n += c;
            bytes += c * tc_slot_size(i);
        }
    um_lock_release(&tc_list_lock);
    if (count)
        *count = n;
    return bytes;
}

/* In the child of fork only this thread exists: forget the other caches. */
void um_tcache_reset_after_fork(void)
{
    um_lock_init(&tc_list_lock);
    tc_list = NULL;
    if (um_tc.state == TC_LIVE) {
        um_tc.next = um_tc.prev = NULL;
        tc_list = &um_tc;
    }
}
