/*
 * malloc.c — the api layer: the libc entry points, their inline tcache fast
 * paths, initialisation, and the generic (noinline) paths behind them.
 *
 * Fast paths: malloc pops the thread's stack for the size (no lock, no call,
 * no atomic); free checks that the chunk lies in the main arena's range, is
 * in use and fits the cache, then pushes it. Anything else goes to a
 * *_generic function. Built with -DUM_PREFIX every public name gets the
 * prefix umalloc_ (malloc → umalloc_malloc), so the library can sit beside
 * the system malloc under ASan/TSan.
 * With DEBUG=1 every entry point ends with a full heap check (check.c).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tcache.h"
#include "umalloc.h"


#if UM_DEBUG
#define DEBUG_CHECK() um_check_all()
#else
#define DEBUG_CHECK() ((void)0)
#endif

arena um_main_arena;
struct um_params um_params = {
    .mmap_threshold = DEFAULT_MMAP_THRESHOLD,
    .trim_threshold = DEFAULT_TRIM_THRESHOLD,
    .top_pad = DEFAULT_TOP_PAD,
    .max_fast = DEFAULT_MXFAST,
    .n_mmaps_max = DEFAULT_MMAP_MAX,
    .decay_ms = DEFAULT_DECAY_MS,
};
struct um_mstats um_mstats;
um_lock um_mmap_lock, um_arenas_lock;
size_t um_pagesize = 4096;
uintptr_t um_secret;
_Atomic int um_initialized;
_Atomic int um_narenas = 1;
static _Atomic int init_running;

/* First call: settings, main arena, keys, fork handlers. Runs once; a
 * recursive call from inside (a handler registration that allocates) finds
 * the allocator already usable. */
void um_init_slow(void)
{
    um_lock_acquire(&um_arenas_lock);
    if (atomic_load_explicit(&um_initialized, memory_order_acquire) || init_running) {
        um_lock_release(&um_arenas_lock);
        return;
    }
    init_running = 1;
    um_pagesize = (size_t)getpagesize();
    um_secret = um_os_random();
    um_arena_init(&um_main_arena, 0, &um_main_central);
    atomic_store_explicit(&um_main_arena.attached, 0, memory_order_relaxed);
    um_options_init();
    um_tcache_global_init();
    atomic_store_explicit(&um_initialized, 1, memory_order_release);
    um_lock_release(&um_arenas_lock);
    pthread_atfork(um_fork_prepare, um_fork_parent, um_fork_child);
}

/* Is p (a chunk address) inside the main arena's range? One subtraction. */
static inline int in_main_box(uintptr_t c)
{
    uintptr_t lo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    return c - lo < atomic_load_explicit(&um_box_span, memory_order_relaxed);
}

/* Heap or mmap for a chunk of nb bytes, outside the cache. */
static void *alloc_uncached(size_t nb)
{
    void *m = NULL;
    int tried_mmap = 0;
    if (nb >= RELAXED_LOAD(um_params.mmap_threshold) &&
        RELAXED_LOAD(um_mstats.n_mmaps) < (size_t)RELAXED_LOAD(um_params.n_mmaps_max)) {
        tried_mmap = 1;
        if ((m = um_mmap_chunk(nb, 0)))
            return m;
    }
    arena *av = um_arena_get();
    m = um_int_malloc(av, nb);
    um_arena_release(av);
    if (!m && (av = um_arena_retry(av))) {
        m = um_int_malloc(av, nb);
        um_arena_release(av);
    }
    if (!m && !tried_mmap && RELAXED_LOAD(um_params.n_mmaps_max) > 0)
        m = um_mmap_chunk(nb, 0);
    return m;
}

UM_NOINLINE void *um_malloc_generic(size_t bytes)
{
    um_ensure_init();
    if (unlikely(bytes > MAX_REQUEST)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t nb = request2size(bytes);
    void *m = NULL;
    if (nb <= TC_MAX_CHUNK)
        m = um_tcache_get(nb >> 4);
    else if (nb <= TC_MED_MAX_CHUNK) {
        size_t i = tc_med_index(nb); /* cached only below the mmap threshold */
        if (tc_slot_size(i) < RELAXED_LOAD(um_params.mmap_threshold))
            m = um_tcache_get(i);
    }
    if (!m)
        m = alloc_uncached(nb);
    if (unlikely(!m)) {
        errno = ENOMEM;
        return NULL;
    }
    int perturb = RELAXED_LOAD(um_params.perturb);
    if (unlikely(perturb))
        memset(m, perturb ^ 0xff, bytes);
    return m;
}

/* Classify a pointer handed to free/realloc without trusting it: returns
 * 1 for a heap chunk, 2 for a mapped chunk; aborts for anything else. The
 * size is bounded by the memory the chunk claims to be in before the next
 * chunk's header is read. */
static int classify(void *mem, const char *fn)
{
    chunk *p = mem_to_chunk(mem);
    if (unlikely(!aligned_ok(mem)))
        um_fatal(fn, "invalid pointer", mem, 0);
    int in_heap = um_heap_owns(p);
    int main = !in_heap && in_main_box((uintptr_t)p);
    if (!main && !in_heap)
        return 2;
    size_t size = hdr_load(p), cs = size & ~(size_t)SIZE_BITS;
    uintptr_t room;
    if (main) {
        room = atomic_load_explicit(&um_box_span, memory_order_relaxed) -
               ((uintptr_t)p - atomic_load_explicit(&um_box_lo, memory_order_relaxed));
    } else {
        heap *h = um_heap_of(p);
        uintptr_t end = (uintptr_t)h + RELAXED_LOAD(h->size); /* grows under the arena lock */
        room = end > (uintptr_t)p ? end - (uintptr_t)p : 0;
    }
    /* the main range spans every main segment, so when brk was blocked and a
     * segment was mapped far away it also covers mapped chunks: those are
     * told apart by the registry, which reads no memory */
    if (main && (size & IS_MMAPPED))
        return 2;
    if (unlikely((size & IS_MMAPPED) || ((size & NON_MAIN_ARENA) == 0) != main))
        um_fatal(fn, "invalid pointer", mem, 0);
    /* a size that runs out of its heap: an interior or stale pointer, or a
     * header overwritten by an overflow — we cannot tell which */
    if (unlikely(cs < MINSIZE || cs > room - CHUNK_HDR || room < CHUNK_HDR))
        um_fatal(fn, "invalid pointer", mem, 0);
    if (unlikely(!inuse(p)))
        um_fatal(fn, "double free of", mem, cs - SIZE_SZ);
    return 1;
}

UM_NOINLINE void um_free_generic(void *mem)
{
    if (!mem)
        return;
    chunk *p = mem_to_chunk(mem);
    /* the common miss: a small main-arena chunk whose stack is full. The
     * inline path's checks, repeated here rather than there (any extra
     * branch in free() costs every hit), spare it the full classification. */
    if (in_main_box((uintptr_t)p) && aligned_ok(mem) && um_tc_state == TC_LIVE) {
        size_t size = hdr_load(p), i = size >> 4;
        if ((size & (IS_MMAPPED | NON_MAIN_ARENA)) == 0 && i - 2 < TC_NBINS &&
            um_tcp->room[i] == 0 && prev_inuse(chunk_at(p, i << 4)) &&
            ((void **)mem)[1] != (void *)um_tc_key) {
            um_tcache_free_full(i, mem);
            return;
        }
    }
    if (classify(mem, "free") == 2) {
        um_munmap_chunk(p, "free");
        return;
    }
    um_tcache_free_slow(p);
}

PUBLIC void *API(malloc)(size_t bytes)
{
    size_t i;
    if (likely(bytes <= TC_MAX_REQUEST))
        i = tc_req_index(bytes);
    else if (bytes <= TC_MED_MAX_REQUEST)
        i = tc_med_index(request2size(bytes));
    else
        goto generic;
    struct tcache *tc = um_tcp;
    void **e = tc->head[i];
    if (likely(e != NULL)) {
        void *next = reveal_ptr(e, e[0]);
        if (unlikely(!aligned_ok(next)))
            um_fatal("malloc", "corrupted tcache entry at", e, 0);
        tc->head[i] = next;
        tc->room[i]++;
        e[1] = NULL;
        DEBUG_CHECK();
        return e;
    }
generic:;
    void *m = um_malloc_generic(bytes);
    DEBUG_CHECK();
    return m;
}

/* free of a medium chunk whose header passed free()'s checks: cache it
 * unless it borders top (so top can grow back and trim). Out of line so the
 * small path keeps its registers. */
static UM_NOINLINE void free_medium(void *mem, chunk *p, size_t cs)
{
    size_t i = cs <= TC_MED_MAX_CHUNK ? tc_slot_of_chunk(cs) : 0; /* slot 0 has no room */
    /* bound the size by the heap the chunk claims before reading past it: a
     * wild header may claim up to 128 KiB (classify() reports it properly) */
    uintptr_t end;
    if (chunk_main_arena(p))
        end = atomic_load_explicit(&um_box_lo, memory_order_relaxed) +
              atomic_load_explicit(&um_box_span, memory_order_relaxed);
    else
        end = (uintptr_t)um_heap_of(p) + RELAXED_LOAD(um_heap_of(p)->size);
    struct tcache *tc = um_tcp;
    if (i && cs + CHUNK_HDR <= end - (uintptr_t)p && tc->room[i] != 0 &&
        prev_inuse(chunk_at(p, cs)) &&
        ((void **)mem)[1] != (void *)um_tc_key &&
        chunk_at(p, cs) != peek_top(chunk_main_arena(p) ? &um_main_arena : um_heap_of(p)->ar)) {
        tc_push(tc, i, mem);
        return;
    }
    um_free_generic(mem);
}

/* free's fast path: the chunk lies in the main arena's range (no A bit) or in
 * an aligned heap (A bit), its header is sane, its next chunk says it is in
 * use, it is not already cached, and its stack has room. */
PUBLIC void API(free)(void *mem)
{
    chunk *p = mem_to_chunk(mem);
    size_t size;
    if (likely(in_main_box((uintptr_t)p))) { /* NULL is never in the box */
        size = hdr_load(p);
        if (unlikely(((size & (IS_MMAPPED | NON_MAIN_ARENA)) | ((uintptr_t)mem & ALIGN_MASK)) != 0))
            goto generic;
    } else if (um_heap_owns(p)) {
        size = hdr_load(p);
        if (unlikely(((size & (IS_MMAPPED | NON_MAIN_ARENA)) ^ NON_MAIN_ARENA) |
                     ((uintptr_t)mem & ALIGN_MASK)))
            goto generic;
    } else {
        goto generic;
    }
    {
        size_t i = size >> 4, cs = i << 4;
        if (unlikely(i - 2 >= TC_NBINS)) {
            free_medium(mem, p, cs);
            DEBUG_CHECK();
            return;
        }
        struct tcache *tc = um_tcp;
        if (likely(tc->room[i] != 0 && prev_inuse(chunk_at(p, cs)) &&
                   ((void **)mem)[1] != (void *)um_tc_key)) {
            tc_push(tc, i, mem);
            DEBUG_CHECK();
            return;
        }

    }
generic:
    um_free_generic(mem);
    DEBUG_CHECK();
}

PUBLIC void *API(calloc)(size_t n, size_t size)
{
    size_t bytes;
    if (unlikely(__builtin_mul_overflow(n, size, &bytes))) {
        errno = ENOMEM;
        return NULL;
    }
    void *m;
    if (likely(bytes <= TC_MAX_REQUEST) && (m = tc_pop(um_tcp, tc_req_index(bytes)))) {
        memset(m, 0, bytes);
        DEBUG_CHECK();
        return m;
    }
    m = um_malloc_generic(bytes);
    if (m && !chunk_is_mmapped(mem_to_chunk(m)))
        memset(m, 0, bytes);
    else if (m && RELAXED_LOAD(um_params.perturb))
        memset(m, 0, bytes);
    DEBUG_CHECK();
    return m;
}

/* realloc for a heap chunk: in place when the arena allows, else move. */
static void *realloc_heap(void *mem, size_t bytes)
{
    chunk *p = mem_to_chunk(mem);
    size_t oldsize = chunksize(p), nb = request2size(bytes);
    if (nb <= oldsize && oldsize - nb < MINSIZE)
        return mem;
    if (nb < RELAXED_LOAD(um_params.mmap_threshold) || nb <= oldsize) {
        arena *av = um_arena_of(p);
        if (unlikely(!av))
            um_fatal("realloc", "invalid pointer", mem, 0);
        um_lock_acquire(&av->lock);
        if (unlikely(av == &um_main_arena && !um_main_owns(p, oldsize))) {
            um_arena_release(av);
            um_fatal("realloc", "invalid pointer", mem, 0);
        }
        int done = um_int_realloc_inplace(av, p, oldsize, nb);
        um_arena_release(av);
        if (done)
            return mem;
    }
    void *nm = um_malloc_generic(bytes);
    if (!nm)
        return NULL;
    memcpy(nm, mem, oldsize - SIZE_SZ < bytes ? oldsize - SIZE_SZ : bytes);
    um_tcache_free_slow(p);
    return nm;
}

/* realloc for a mapped chunk: mremap, or move when it no longer pays. */
static void *realloc_mapped(void *mem, size_t bytes)
{
    chunk *p = mem_to_chunk(mem);
    size_t nb = request2size(bytes);
    if (!um_mmap_valid(p))
        um_fatal("realloc", "invalid pointer", mem, 0);
    if (nb >= RELAXED_LOAD(um_params.mmap_threshold) / 2 || nb + CHUNK_HDR > chunksize(p)) {
        chunk *np = um_mremap_chunk(p, nb);
        if (np)
            return chunk_to_mem(np);
        if (chunksize(p) - CHUNK_HDR >= bytes)
            return mem;
    }
    void *nm = um_malloc_generic(bytes);
    if (!nm)
        return NULL;
    size_t old = chunksize(p) - CHUNK_HDR;
    memcpy(nm, mem, old < bytes ? old : bytes);
    um_munmap_chunk(p, "realloc");
    return nm;
}

PUBLIC void *API(realloc)(void *mem, size_t bytes)
{
    if (!mem)
        return API(malloc)(bytes);
    if (bytes == 0) {
        API(free)(mem);
        return NULL;
    }
    if (unlikely(bytes > MAX_REQUEST)) {
        classify(mem, "realloc");
        errno = ENOMEM;
        return NULL;
    }
    void *r = classify(mem, "realloc") == 1 ? realloc_heap(mem, bytes) : realloc_mapped(mem, bytes);
    DEBUG_CHECK();
    return r;
}

PUBLIC void *API(reallocarray)(void *mem, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return API(realloc)(mem, bytes);
}

/* Aligned allocation behind memalign & co.; align is a power of two. */
static void *aligned_generic(size_t align, size_t bytes)
{
    um_ensure_init();
    if (align <= MALLOC_ALIGNMENT)
        return um_malloc_generic(bytes);
    if (bytes > MAX_REQUEST || align > MAX_REQUEST / 2) {
        errno = ENOMEM;
        return NULL;
    }
    size_t nb = request2size(bytes);
    void *m = NULL;
    if ((nb + align >= RELAXED_LOAD(um_params.mmap_threshold) || align >= um_pagesize * 64) &&
        RELAXED_LOAD(um_mstats.n_mmaps) < (size_t)RELAXED_LOAD(um_params.n_mmaps_max))
        m = um_mmap_chunk(nb, align);
    if (!m) {
        arena *av = um_arena_get();
        m = um_int_memalign(av, align, bytes);
        um_arena_release(av);
    }
    if (!m && RELAXED_LOAD(um_params.n_mmaps_max) > 0)
        m = um_mmap_chunk(nb, align);
    if (!m)
        errno = ENOMEM;
    DEBUG_CHECK();
    return m;
}

static size_t next_pow2(size_t a)
{
    if (a & (a - 1))
        a = (size_t)1 << (64 - __builtin_clzll(a));
    return a;
}

PUBLIC void *API(memalign)(size_t align, size_t bytes)
{
    if (align > ((size_t)1 << 62)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_generic(next_pow2(align ? align : 1), bytes);
}

PUBLIC int API(posix_memalign)(void **out, size_t align, size_t bytes)
{
    if (align % sizeof(void *) != 0 || (align & (align - 1)) || align == 0)
        return EINVAL;
    int saved = errno;
    void *m = aligned_generic(align, bytes);
    if (!m) {
        errno = saved;
        return ENOMEM;
    }
    *out = m;
    return 0;
}

PUBLIC void *API(aligned_alloc)(size_t align, size_t bytes)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_generic(align, bytes);
}

PUBLIC void *API(valloc)(size_t bytes)
{
    um_ensure_init();
    return aligned_generic(um_pagesize, bytes);
}

PUBLIC void *API(pvalloc)(size_t bytes)
{
    um_ensure_init();
    size_t ps = um_pagesize;
    if (bytes > MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    size_t r = (bytes + ps - 1) & ~(ps - 1);
    return aligned_generic(ps, r ? r : ps);
}

PUBLIC size_t API(malloc_usable_size)(void *mem)
{
    if (!mem)
        return 0;
    chunk *p = mem_to_chunk(mem);
    if (classify(mem, "malloc_usable_size") == 2 && !um_mmap_valid(p))
        um_fatal("malloc_usable_size", "invalid pointer", mem, 0);
    return chunk_usable(p);
}

/* C23: free with the size the caller asked for; a size that cannot belong
 * to this block is a bug worth stopping at. */
PUBLIC void API(free_sized)(void *mem, size_t size)
{
    if (mem && size > API(malloc_usable_size)(mem))
        um_fatal("free_sized", "size mismatch for", mem, size);
    API(free)(mem);
}

PUBLIC void API(free_aligned_sized)(void *mem, size_t align, size_t size)
{
    if (mem && ((align && ((uintptr_t)mem & (align - 1))) || size > API(malloc_usable_size)(mem)))
        um_fatal("free_aligned_sized", "size or alignment mismatch for", mem, size);
    API(free)(mem);
}

PUBLIC int API(mallopt)(int param, int value)
{
    um_ensure_init();
    int r = um_mallopt(param, value);
    DEBUG_CHECK();
    return r;
}

PUBLIC int API(malloc_trim)(size_t pad)
{
    um_ensure_init();
    um_tcache_flush_all();
    um_tcache_request_flush();
    int released = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        released |= um_trim_arena(a, pad);
        um_lock_release(&a->lock);
    }
    DEBUG_CHECK();
    return released;
}

/* ---- umalloc extensions ---- */
PUBLIC const char *umalloc_version(void) { return UMALLOC_VERSION; }

PUBLIC void umalloc_check(void)
{
    um_ensure_init();
    um_check_all();
}

PUBLIC void umalloc_thread_flush(void)
{
    um_ensure_init();
    um_tcache_flush_all();
}
