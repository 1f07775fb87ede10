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
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "purge.h"
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
};
struct um_mstats um_mstats;
um_lock um_mmap_lock, um_arenas_lock;
/* the reports' (stats.c, heapsvg.c), here beside the others: a fork child
 * resets them, and their own files' data lies on pages it never touches */
um_lock um_map_lock, um_svg_lock;
size_t um_pagesize = 4096;
uintptr_t um_secret;
size_t um_hdr_enc = 1, um_hdr_dec = 1; /* header multiplier and its inverse */
uintptr_t um_link_key;
_Atomic int um_initialized;
_Atomic int um_narenas = 1;

/* Does every change of one byte of a stored size word (by +-1..255 at any
 * byte) move the decoded word by an amount that lands outside [0, 2^48) for
 * every valid word? It does when the amount's top 16 bits are neither all
 * zeros nor all ones. */
static int hdr_key_catches_bytes(size_t dec)
{
    for (unsigned byte = 0; byte < 8; byte++)
        for (size_t d = 1; d < 256; d++) {
            size_t x = (d << (8 * byte)) * dec, up = x >> 48, down = (0 - x) >> 48;
            if (up == 0 || up == 0xffff || down == 0 || down == 0xffff)
                return 0;
        }
    return 1;
}

/* The header multiplier (odd, and catching every one-byte change) and the
 * free-list link key (high bits set, so a zeroed link cannot pass). Before
 * any chunk exists. */
static void keys_init(void)
{
    um_link_key = um_os_random() | ((uintptr_t)0x8000 << 48);
    size_t seed = um_os_random();
    for (;;) { /* a few multipliers in ten fail the test: draw again */
        seed += 0x9e3779b97f4a7c15ull;
        /* odd, so invertible mod 2^64; Newton's steps find the inverse
         * (correct bits: 3, 6, 12, 24, 48, 96) */
        size_t k = ((seed ^ (seed >> 29)) * 0xbf58476d1ce4e5b9ull) | 1, inv = k;
        for (int n = 0; n < 5; n++)
            inv *= 2 - k * inv;
        if (hdr_key_catches_bytes(inv)) {
            um_hdr_enc = k;
            um_hdr_dec = inv;
            return;
        }
    }
}

/* First call: settings, main arena, keys, fork handlers. Runs once, under
 * its own lock. A call from inside it (pthread_key_create or pthread_atfork
 * allocating) comes from the thread that runs it and returns at once: the
 * main arena is usable from the start, the rest is not needed to allocate.
 * Other threads wait for the lock. */
static um_lock init_lock;
static _Atomic long init_thread; /* thread id running init, else 0 */
static _Atomic int fork_registered;

/* The fork handlers hold the init lock across fork, around the arena
 * layer's (arena.c): a fork while another thread was inside the init left
 * the lock held in the child, where its holder does not exist, and the
 * child's first malloc waited for ever (tests/api/fork_during_init). */
static void fork_prepare(void)
{
    um_lock_acquire(&init_lock); /* (skipped while single-threaded) */
    um_fork_prepare();
}

static void fork_parent(void)
{
    um_fork_parent();
    um_lock_release(&init_lock);
}

static void fork_child(void)
{
    um_fork_child();
    um_lock_init(&init_lock);
}

#ifndef UM_PREFIX
/* glibc's registration, which pthread_atfork (a stub linked into every
 * caller) calls; umalloc's own of the same name stands before it. */
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void), void *);
extern void *__dso_handle __attribute__((weak, visibility("hidden")));
static _Atomic(register_atfork_fn) real_register;

/* (every program looks it up at start-up: the names live with the hot
 * tables, not in the read-only data a program that never reports keeps
 * unmapped: tests/programs/lib_resident.sh) */
static const char atfork_sym[] UM_HOT_CONST = "__register_atfork";
static const char atfork_ver[] UM_HOT_CONST = "GLIBC_2.3.2";

static register_atfork_fn libc_register_atfork(void)
{
    register_atfork_fn f = atomic_load_explicit(&real_register, memory_order_acquire);
    if (!f) {
        f = (register_atfork_fn)dlvsym(RTLD_NEXT, atfork_sym, atfork_ver);
        if (!f)
            f = (register_atfork_fn)dlsym(RTLD_NEXT, atfork_sym);
        atomic_store_explicit(&real_register, f, memory_order_release);
    }
    return f;
}
#endif

/* Once: from the constructor below, from the init when a malloc comes
 * first, or from the first registration of anyone else's fork handlers
 * (__register_atfork below). The flag is set before the registration, so a
 * second caller returns at once, possibly before umalloc's handlers are in;
 * a thread registering its own handlers through __register_atfork then
 * could get in first. No second thread exists at that moment: the first
 * pthread_create allocates the new thread's TLS vector with calloc in the
 * creating thread, which runs the init, and with it this registration, to
 * the end before the new thread starts (tests/programs/
 * fork_register_early_thread.sh: a build that left the registration to the
 * constructor and __register_atfork deadlocked there). The prefixed build
 * stands in front of nobody's registration: its constructor registers at
 * load, before any of its functions can be called. */
static void fork_register(void)
{
    if (atomic_exchange_explicit(&fork_registered, 1, memory_order_relaxed))
        return;
#ifndef UM_PREFIX
    register_atfork_fn f = libc_register_atfork();
    if (f) {
        f(fork_prepare, fork_parent, fork_child, &__dso_handle ? __dso_handle : NULL);
        return;
    }
#endif
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

#ifndef UM_PREFIX
/* Every pthread_atfork goes through here (the stub each caller links calls
 * this name, and a preloaded or linked umalloc comes before libc). glibc
 * takes its malloc locks inside fork(), after every prepare handler and
 * before every parent or child handler; umalloc's handlers get that place
 * by being registered before anyone else's (prepare handlers run in the
 * reverse order of registration, the others in order). Without it, a
 * library whose constructor ran before umalloc's (a preloaded umalloc is
 * initialised last) had its prepare handler run after umalloc's had taken
 * the locks: a handler that locks a mutex of its own, while another thread
 * holding that mutex waits in malloc, deadlocked every fork
 * (tests/programs/fork_handlers_first.sh). */
PUBLIC int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso);
PUBLIC int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso)
{
    fork_register();
    register_atfork_fn f = libc_register_atfork();
    return f ? f(prepare, parent, child, dso) : ENOMEM;
}
#endif

/* Registered at load, not in the init: a fork while the init ran in
 * another thread (possible wherever threads exist before umalloc's first
 * call: the prefixed library) found no handler of umalloc's to wait for
 * it, and the child inherited the held init lock. */
__attribute__((constructor)) static void fork_register_ctor(void) { fork_register(); }

void um_init_slow(void)
{
    long me = um_sys(SYS_gettid);
    if (atomic_load_explicit(&init_thread, memory_order_relaxed) == me)
        return; /* recursive: this thread is inside the init below */
    um_lock_acquire(&init_lock);
    if (atomic_load_explicit(&um_initialized, memory_order_acquire)) {
        um_lock_release(&init_lock);
        return;
    }
    atomic_store_explicit(&init_thread, me, memory_order_relaxed);
    /* getpagesize() stays a libc call: it sits 2 KB from sbrk in Debian
     * 12's libc, and the init calls sbrk anyway (um_sys says why that
     * matters); tests/api/fork_during_init holds the init inside it */
    um_pagesize = (size_t)getpagesize();
    um_os_clock_init();
    um_secret = um_os_random();
    keys_init();
    um_central_global_init();
    um_arena_init(&um_main_arena, 0, &um_main_central);
    atomic_store_explicit(&um_main_arena.attached, 0, memory_order_relaxed);
    um_options_init();
    um_tcache_global_init();
    fork_register();
    atomic_store_explicit(&um_initialized, 1, memory_order_release);
    atomic_store_explicit(&init_thread, 0, memory_order_relaxed);
    um_lock_release(&init_lock);
}

/* Is p (a chunk address) inside the box, the fast-path range of one main
 * segment (usually the brk heap; owner.c)? One subtraction. Not its last
 * BOX_GUARD bytes (internal.h). Main-arena chunks in other segments take
 * the generic path, which asks the segment table. span is loaded first,
 * then lo (see owner.c, box_consider). */
static inline int in_main_box(uintptr_t c)
{
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_acquire);
    return c - atomic_load_explicit(&um_box_lo, memory_order_relaxed) < span;
}

/* May one more chunk get its own mapping under M_MMAP_MAX? The limit is an
 * int compared as one, as glibc does: a negative limit allows none (cast
 * to size_t it had allowed any number). */
static inline int mmap_room(void)
{
    int max = RELAXED_LOAD(um_params.n_mmaps_max);
    return max > 0 && RELAXED_LOAD(um_mstats.n_mmaps) < (size_t)max;
}

/* Heap or mmap for a chunk of nb bytes, outside the cache; zeroed: the
 * caller clears a heap chunk (calloc), so a big one is better mapped. */
static inline __attribute__((always_inline)) void *alloc_uncached(size_t nb, int zeroed)
{
    void *m = NULL;
    int tried_mmap = 0;
    if (nb >= RELAXED_LOAD(um_params.mmap_threshold) && mmap_room() &&
        (zeroed || !um_big_from_heap(nb))) {
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

/* alloc_uncached failed: once more if address space was short and the
 * rooms of grown mapped blocks gave some back (large.c). */
static UM_COLD void *alloc_uncached_retry(size_t nb, int zeroed)
{
    return um_mmap_rooms_release() ? alloc_uncached(nb, zeroed) : NULL;
}

/* slot: the cache slot of bytes when the caller has it (malloc's inline
 * path, whose stack was empty), else 0 */
static inline __attribute__((always_inline)) void *malloc_generic(size_t bytes, int zeroed, size_t slot)
{
    um_ensure_init();
    um_purge_restart_check();
    if (unlikely(bytes > MAX_REQUEST)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t nb = request2size(bytes);
    void *m = NULL;
    if (nb <= TC_MAX_CHUNK)
        m = um_tcache_get(nb >> 4);
    else if (nb <= TC_MED_MAX_CHUNK) {
        size_t i = slot ? slot : tc_med_index(nb); /* cached only below the mmap threshold */
        if (tc_slot_size(i) < RELAXED_LOAD(um_params.mmap_threshold))
            m = um_tcache_get(i);
    }
    if (!m && !(m = alloc_uncached(nb, zeroed)))
        m = alloc_uncached_retry(nb, zeroed);
    if (unlikely(!m)) {
        errno = ENOMEM;
        return NULL;
    }
    /* (not for calloc, which clears the block: it read M_PERTURB again to
     * decide whether a mapped block needed clearing, and a mallopt between
     * the two reads returned the fill, 0xff and 0x5a bytes seen in a
     * two-thread run) */
    int perturb = RELAXED_LOAD(um_params.perturb);
    if (unlikely(perturb) && !zeroed)
        memset(m, perturb ^ 0xff, bytes);
    return m;
}

UM_NOINLINE void *um_malloc_generic(size_t bytes) { return malloc_generic(bytes, 0, 0); }
static UM_NOINLINE void *calloc_generic(size_t bytes) { return malloc_generic(bytes, 1, 0); }
/* malloc's inline path: slot i's stack (i, the slot of bytes) is empty. A
 * medium refill's slot is not computed twice (cachegrind bench/bulk 200
 * 1024 16384: 12 instructions a refill) */
static UM_NOINLINE void *malloc_miss(size_t bytes, size_t i) { return malloc_generic(bytes, 0, i); }

/* What a call on an already freed block is: freeing it again (free,
 * realloc), or using it (malloc_usable_size, free_sized's size check). */
static const char *freed_what(const char *fn)
{
    return strcmp(fn, "free") == 0 || strcmp(fn, "realloc") == 0 ? "double free of" : "use after free of";
}

/* classify() found a word that is no header of ours where mem's header
 * would be: an interior or stale pointer (user data there), or the header
 * of a real chunk that a write overran. A walk of mem's segment from its
 * first chunk tells them apart: when the chunk before mem, in use, ends
 * exactly where mem's header is, mem is a block whose header was written
 * over, by a run past the end of the block below (that block is named, as
 * the exit check and a medium block's own free name an overflow) or by a
 * write before mem's start (mimalloc-bench's one_byte_underflow: a byte
 * before the block, its header's top byte); both are said. Before the F
 * bit, free() of the block below read this header and named the overflow;
 * it now reads only its own (free_body). Only on the way to abort: the
 * walk takes the arena's lock if it is free (else the plain message), and
 * stops at the first header that does not decode, at top or at mem. */
static UM_COLD _Noreturn void bad_header(const char *fn, void *mem, arena *av)
{
    uintptr_t p = (uintptr_t)mem_to_chunk(mem), q, prev = 0;
    size_t w = 0;
    if (av && um_trylock(&av->lock)) {
        /* Under the lock, the segment looked up again (a trim or a heap
         * deleted since classify() looked would leave its bounds stale:
         * the walk would read unmapped memory), and mem's header read
         * again (a split may have written one there since). The walk
         * stops at top: nothing lies past it in its segment. */
        struct um_owner now;
        int same = um_owner_heap_slow((const void *)p, &now) == OWN_HEAP && now.ar == av &&
                   !hdr_valid(hdr_load((chunk *)p));
        q = same ? (uintptr_t)now.h + um_first_chunk_off(av, now.h) : p + 1;
        while (q < p && (chunk *)q != av->top) {
            w = hdr_load_acq((chunk *)q);
            size_t cs = w & ~(size_t)SIZE_BITS;
            if (!hdr_valid(w) || cs < MINSIZE || (cs & ALIGN_MASK) || cs > now.hi - q)
                break;
            prev = q;
            q += cs;
        }
        /* the block below in use: not free in a bin (F) nor freed into a
         * cache or a fast bin (its cache mark in word 1, internal.h) */
        int named = q == p && prev && (w & CHUNK_FREE) == 0 &&
                    !um_cache_marked(chunk_to_mem((chunk *)prev));
        um_lock_release(&av->lock);
        if (named) {
            um_printf(2,
                      "umalloc: %s(): corrupted header of %p: heap overflow past the end of "
                      "%p (size %zu), or underflow of %p\n",
                      fn, mem, chunk_to_mem((chunk *)prev), (w & ~(size_t)SIZE_BITS) - SIZE_SZ,
                      mem);
            abort();
        }
    }
    um_fatal(fn, "invalid pointer", mem, 0);
}

/* Classify a pointer handed to free/realloc/malloc_usable_size without
 * trusting it (owner.c): OWN_HEAP for an in-use heap chunk whose size stays
 * inside its heap, OWN_MAPPED for anything outside every heap (the mapped
 * chunk registry decides, reading no memory); aborts for anything else. */
static inline __attribute__((always_inline)) int classify(void *mem, const char *fn,
                                                         struct um_owner *o, size_t *csp)
{
    chunk *p = mem_to_chunk(mem);
    if (unlikely(!aligned_ok(mem)))
        um_fatal(fn, "invalid pointer", mem, 0);
    heap *h = um_owner_seg_hint(p);
    if (h) { /* most frees of segment chunks: no search */
        o->ar = &um_main_arena;
        o->hi = (uintptr_t)h + RELAXED_LOAD(h->size);
    } else if (um_owner_heap(p, o) != OWN_HEAP) {
        return OWN_MAPPED;
    }
    size_t size = hdr_load(p), cs = size & ~(size_t)SIZE_BITS;
    int main = o->ar == &um_main_arena;
    /* a word we did not write: an interior or stale pointer (user data where
     * a header would be), or a header an overflow rewrote */
    if (unlikely(!hdr_valid(size)))
        bad_header(fn, mem, o->ar);
    if (unlikely((size & IS_MMAPPED) || ((size & NON_MAIN_ARENA) == 0) != main))
        um_fatal(fn, "invalid pointer", mem, 0);
    uintptr_t room = o->hi - (uintptr_t)p;
    if (unlikely(cs < MINSIZE || room < CHUNK_HDR || cs > room - CHUNK_HDR)) {
        /* top, the last chunk, runs to the region's end: its start is a
         * block freed and merged into top (as um_int_free calls it) */
        if (p == peek_top(o->ar))
            um_fatal(fn, freed_what(fn), mem, 0);
        um_fatal(fn, "invalid pointer", mem, 0);
    }
    /* free in a bin, or the header of a chunk merged into the one below
     * (chunk.h): a block freed before */
    if (unlikely(size & CHUNK_FREE))
        um_fatal(fn, freed_what(fn), mem, cs - SIZE_SZ);
    size_t next = hdr_load(chunk_at(p, cs));
    if (unlikely(!hdr_valid(next))) /* the block ran past its end */
        um_fatal(fn, "heap overflow past the end of", mem, cs - SIZE_SZ);
    if (unlikely(!(next & PREV_INUSE))) /* free in the bins */
        um_fatal(fn, freed_what(fn), mem, cs - SIZE_SZ);
    *csp = cs;
    return OWN_HEAP;
}

UM_NOINLINE void um_free_generic(void *mem)
{
    if (!mem)
        return;
    chunk *p = mem_to_chunk(mem);
    /* the common miss: a small main-arena chunk whose stack is full. The
     * inline path's checks, repeated here rather than there (any extra
     * branch in free() costs every hit), spare it the full classification:
     * inside the box, aligned, its own header a small in-use chunk's (no F:
     * not in a bin, not top), not cached. */
    if (in_main_box((uintptr_t)p) && aligned_ok(mem) && um_tc_state == TC_LIVE) {
        size_t size = hdr_load(p), i = size >> 4;
        if ((size & (IS_MMAPPED | NON_MAIN_ARENA | CHUNK_FREE)) == 0 && i - 2 < TC_NBINS &&
            um_tcp->room[i] == 0 && !um_cache_marked(mem)) {
            um_tcache_free_full(i, mem);
            return;
        }
    }
    struct um_owner o;
    size_t cs;
    if (classify(mem, "free", &o, &cs) == OWN_MAPPED) {
        um_munmap_chunk(p, "free", 1);
        return;
    }
    /* a checked heap chunk outside the box (another main-arena segment,
     * e.g. the brk heap once brk was blocked and the mapped segment
     * outgrew it): cache it as the inline path would */
    size_t i = tc_slot_of_chunk(cs);
    struct tcache *tc = um_tcp;
    if (i && tc->room[i] != 0 && !um_cache_marked(mem) &&
        (i < TC_MED_FIRST || chunk_at(p, cs) != peek_top(o.ar))) {
        tc_push(tc, i, mem);
        return;
    }
    um_tcache_free_slow(mem);
}

/* malloc's body, also realloc's when a block moves: the debug build checks
 * the heap once per public call, after the body. */
static inline __attribute__((always_inline)) void *malloc_body(size_t bytes)
{
    size_t i;
    if (likely(bytes <= TC_MAX_REQUEST))
        i = tc_req_index(bytes);
    else if (bytes <= TC_MED_MAX_REQUEST)
        i = tc_med_req_slot(bytes);
    else
        goto generic;
    struct tcache *tc = um_tcp;
    void **e = tc->head[i];
    if (likely(e != NULL)) {
        void *next = link_reveal(e[0]);
        if (unlikely(!link_ok(next)))
            um_fatal("malloc", "corrupted tcache entry at", e, 0);
        tc->head[i] = next;
        tc->room[i]++;
        e[1] = NULL;
        return e;
    }
    return malloc_miss(bytes, i);
generic:
    return um_malloc_generic(bytes);
}

PUBLIC void *API(malloc)(size_t bytes)
{
    void *m = malloc_body(bytes);
    DEBUG_CHECK();
    return m;
}

/* free of a chunk above TC_MED_MAX_CHUNK (or a header that decodes to less
 * than MINSIZE): the checks classify() makes, bounded by the region's end
 * (which may lie below p if the segment shrank since free() looked), then
 * straight to its arena, which no cache stands in front of (um_arena_free
 * looked the region up again: cachegrind bench pairs-1m, 498 -> 450
 * instructions a pair). */
static UM_NOINLINE void free_large(void *mem, size_t size, arena *av, uintptr_t end)
{
    chunk *p = mem_to_chunk(mem);
    size_t cs = (size >> 4) << 4;
    if (unlikely(!aligned_ok(mem) || cs < MINSIZE || end <= (uintptr_t)p + CHUNK_HDR ||
                 cs > end - (uintptr_t)p - CHUNK_HDR)) {
        um_free_generic(mem); /* names what is wrong */
        return;
    }
    size_t nw = hdr_flipped(chunk_at(p, cs));
    if (unlikely((nw & (HDR_HIGH | PREV_INUSE)) != 0 || um_cache_marked(mem))) {
        um_free_generic(mem);
        return;
    }
    um_lock_acquire(&av->lock);
    um_int_free_bounded(av, p, cs);
    um_lock_release(&av->lock);
}

/* free of a chunk above the small classes whose owner region free() found:
 * size is its header as free() decoded it, av its arena and end the end of
 * that region (the brk heap's, the aligned heap's or the mapped segment's),
 * which free() had at hand (recomputing them here cost bench pairs-4k and
 * 64k 9 instructions a pair of 131, cachegrind).
 * A medium class is cached unless it borders top and top could shrink (the
 * seeds' trim story); everything else that passed the checks goes straight
 * to the tcache's slow path, which needs no classification. Out of line so
 * the small path keeps its registers. Every call out of it is a tail call
 * with mem (not the chunk) as its first argument, and a size above the
 * medium classes goes on to free_large, so that gcc keeps the path's values
 * in scratch registers: with the arena's lock path inline it pushed and
 * popped three registers on every medium free, and with the lock path out
 * of line but the chunk pointer kept for the tail calls, two (cachegrind,
 * bench/run.py --runs 0: pairs-4k and pairs-64k 122 -> 108 instructions a
 * pair, pairs-1m 287 -> 290 for the extra jump). One register is still
 * saved: gcc 12 gives the mark and the slot byte a callee-saved one. */
static UM_NOINLINE void free_medium(void *mem, size_t size, arena *av, uintptr_t end)
{
    size_t cs = (size >> 4) << 4;
    /* MINSIZE <= cs <= TC_MED_MAX_CHUNK in one test (free() sends sizes
     * that decode below MINSIZE here too) */
    if (unlikely(cs - MINSIZE > TC_MED_MAX_CHUNK - MINSIZE)) {
        free_large(mem, size, av, end);
        return;
    }
    /* as classify(): aligned (the small path skips it: a misaligned pointer
     * there is word-aligned user data that decodes with odds of 2^-54, but
     * a medium chunk from here may go to the slow path, which trusts it),
     * the next header inside the region (no overflow: cs is at most 128 KiB;
     * end may lie below mem if the segment shrank since free() looked), the
     * next chunk in use, not cached already */
    chunk *next = chunk_at(mem_to_chunk(mem), cs);
    if (unlikely(!aligned_ok(mem) || (uintptr_t)next + CHUNK_HDR > end)) {
        um_free_generic(mem); /* names what is wrong */
        return;
    }
    /* the next header, decoded once: in use (P set, flipped to 0) and ours;
     * below, it is top's header or gives the chunk above */
    size_t nw = hdr_flipped(next);
    /* (the whole word 1, not tc_key_maybe: gcc then kept the mark in a
     * callee-saved register for the push, one more push and pop) */
    if (unlikely((nw & (HDR_HIGH | PREV_INUSE)) != 0 || um_cache_marked(mem))) {
        um_free_generic(mem);
        return;
    }
    struct tcache *tc = um_tcp;
    size_t i;
    if ((i = tc_med_exact_slot(cs)) != 0 && tc->room[i] != 0) {
        chunk *top = peek_top(av);
        if (next == top) {
            if (likely(!tc_would_trim_w(av, nw ^ PREV_INUSE, cs, i, tc_count(tc, i)))) {
                tc_push(tc, i, mem);
                return;
            }
        } else {
            /* just below chunks this thread cached last at the top of the
             * heap that must go back first (um_tc_top_down; the slow path
             * lets top grow back)? Only when the chunk above borders top, or
             * is the one a free like this one (or the slow path's, for a
             * full stack) cached last without handing anything back
             * (top_mark). Only our own cache is looked at: the
             * next chunk's words may be another thread's live data. */
            chunk *above = chunk_at(next, nw & ~(size_t)SIZE_BITS);
            if (above != top && next != tc->top_mark) {
                tc_push(tc, i, mem);
                return;
            }
            um_tcache_free_below_top(tc, i, mem, next, top, above == top);
            return;
        }
    }
    if (i) /* its stack full, or top could shrink: checked above, slot and arena known */
        um_tcache_free_medium(mem, i, av);
    else
        um_tcache_free_slow(mem); /* (not a class's size: the arena's) */
}

/* free's fast path: the chunk lies in the main arena's range (no A bit) or in
 * an aligned heap (A bit), its header decodes to a small size (a forged or
 * overflowed header decodes to a huge one and takes the slow path, which
 * names it) without F (not in a bin, not top: chunk.h), it is not already
 * cached, and its stack has room. Only the block's own first line is read:
 * not the next chunk's header, whose line the neighbour's owner may be
 * writing (bench/relay: docs/performance.md). An overflow past a small
 * block's end is caught later: by the free or split of the chunk it
 * overran, when the block leaves the caches for the arena, by the heap
 * check, or at exit if the block is still in the exiting thread's cache
 * or a central batch (tcache.h, um_cached_end_check_at_exit); the malloc
 * that pops it checks nothing there. */
static inline __attribute__((always_inline)) void free_body(void *mem)
{
    chunk *p = mem_to_chunk(mem);
    size_t size; /* decoded, P flipped: only the size and M/A/F bits are used */
    /* No alignment test: a misaligned pointer's "header" is part of two
     * words of user data, and decodes to a small in-use chunk with odds of
     * about 2^-54; otherwise the slow path names the pointer. */
    /* Is p inside the box (the brk heap, or with brk blocked the mapped
     * segment the heap grows in)? One subtraction, with the bounds kept for
     * free_medium: span (acquire) first, then lo (owner.c, box_consider).
     * Main-arena chunks in other segments ask the segment hint or take the
     * generic path, which asks the segment table.
     * A stale pointer to top (a small block freed twice, merged into top in
     * between: tests/misuse/double_free_small_top_warm) reads top's header,
     * whose F sends it to the generic path, which names the double free. */
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_acquire);
    uintptr_t lo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    heap *h;
    if (likely((uintptr_t)p - lo < span)) { /* NULL is never in the box */
        size = hdr_flipped(p);
        if (unlikely((size & (IS_MMAPPED | NON_MAIN_ARENA | CHUNK_FREE)) != 0))
            goto generic;
        if (unlikely((size >> 4) - 2 >= TC_NBINS)) {
            free_medium(mem, size, &um_main_arena, lo + span + BOX_GUARD);
            return;
        }
    } else if (um_heap_owns(p)) {
        /* an aligned heap holds the region; the header is read only inside
         * the heap's size, the rest of the region may be PROT_NONE (never
         * committed, or trimmed): a pointer there is named by the generic
         * path, not a SIGSEGV (tests/unit/free_far_arena; the box's range
         * and the segment hint below are bounded the same way) */
        h = um_heap_of(p);
        uintptr_t end = (uintptr_t)h + RELAXED_LOAD(h->size);
        if (unlikely((uintptr_t)p > end - CHUNK_HDR))
            goto generic;
        size = hdr_flipped(p);
        if (unlikely((size & (IS_MMAPPED | NON_MAIN_ARENA | CHUNK_FREE)) != NON_MAIN_ARENA))
            goto generic;
        if (unlikely((size >> 4) - 2 >= TC_NBINS)) {
            free_medium(mem, size, h->ar, end);
            return;
        }
    } else if ((h = um_owner_seg_hint(p)) != NULL) {
        /* a main-arena segment outside the box (the brk heap while brk
         * was blocked and the mapped segment is the smaller, or older
         * segments): the one looked up last */
        size = hdr_flipped(p);
        if (unlikely((size & (IS_MMAPPED | NON_MAIN_ARENA | CHUNK_FREE)) != 0))
            goto generic;
        if (unlikely((size >> 4) - 2 >= TC_NBINS)) {
            free_medium(mem, size, &um_main_arena, (uintptr_t)h + RELAXED_LOAD(h->size));
            return;
        }
    } else {
        goto generic;
    }
    {
        size_t i = size >> 4;
        struct tcache *tc = um_tcp;
        if (likely(tc->room[i] != 0 && !tc_key_maybe(mem))) {
            tc_push(tc, i, mem);
            return;
        }
    }
generic:
    um_free_generic(mem);
}

PUBLIC void API(free)(void *mem)
{
    free_body(mem);
    DEBUG_CHECK();
}

/* calloc's length to clear in heap chunk m from its slow path: its usable
 * size when its header gives a size that chunk can have (its class's, or
 * the request's with a remainder too small to split, or a carved run's
 * first chunk, which takes what does not divide: under twice the class),
 * else the request alone (a header an overflow changed: free names it). */
static size_t calloc_heap_len(void *m, size_t bytes)
{
    size_t nb = request2size(bytes), cls = nb;
    if (nb > TC_MAX_CHUNK && nb <= TC_MED_MAX_CHUNK)
        cls = tc_slot_size(tc_med_index(nb));
    size_t cs = chunksize(mem_to_chunk(m));
    return cs >= nb && cs < 2 * cls + MINSIZE ? cs - SIZE_SZ : bytes;
}

/* calloc of a mapped chunk that the mapping cache handed out again (up to
 * a few times the request: large.c): the request is cleared, and the rest
 * of what malloc_usable_size reports is given back to the kernel (its
 * whole pages come back as zeros) and the two partial pages cleared.
 * Clearing all of it kept every page of the mapping resident, and faulted
 * in those the last owner never touched (tests/api/mmap_cache, a 16 MiB
 * calloc served by a dirty kept 40 MiB mapping: RSS 42.5 MB after it with
 * all cleared, 18.1 MB now). Pages the kernel keeps (locked: mlockall)
 * are cleared instead. */
static void calloc_clear_recycled(void *m, size_t bytes)
{
    uintptr_t lo = (uintptr_t)m + bytes, end = (uintptr_t)m + API(malloc_usable_size)(m);
    memset(m, 0, bytes);
    uintptr_t plo = (lo + um_pagesize - 1) & ~(uintptr_t)(um_pagesize - 1);
    uintptr_t phi = end & ~(uintptr_t)(um_pagesize - 1);
    if (plo >= phi) {
        memset((void *)lo, 0, end - lo);
        return;
    }
    memset((void *)lo, 0, plo - lo);
    if (um_os_decommit((void *)plo, phi - plo) != 0) /* locked pages (mlockall) */
        memset((void *)plo, 0, phi - plo);
    memset((void *)phi, 0, end - phi); /* (the canary follows end) */
}

PUBLIC void *API(calloc)(size_t n, size_t size)
{
    size_t bytes;
    if (unlikely(__builtin_mul_overflow(n, size, &bytes))) {
        errno = ENOMEM;
        return NULL;
    }
    /* The whole usable size is cleared, not only the bytes asked for, as
     * glibc, jemalloc and mimalloc do: a program may use what
     * malloc_usable_size reports (a string buffer growing into its slack),
     * and before, calloc(1, 20) left bytes 20..23 as the block's last user
     * had written them (tests/api/calloc). The length comes from the slot
     * or is bounded by the request, never from a cached chunk's header
     * alone: an overflow of the block below can change that header, and a
     * memset of what it decodes to ran off the heap (SIGSEGV) where free()
     * names the overflow (tests/misuse/calloc_overflowed_header). */
    void *m;
    size_t i = tc_req_index(bytes);
    if (likely(bytes <= TC_MAX_REQUEST) && (m = tc_pop(um_tcp, i))) {
        memset(m, 0, (i << 4) - SIZE_SZ); /* a small slot's chunks are its size */
        DEBUG_CHECK();
        return m;
    }
    m = calloc_generic(bytes);
    if (m && !chunk_is_mmapped(mem_to_chunk(m)))
        memset(m, 0, calloc_heap_len(m, bytes));
    else if (m && um_mmap_recycled(mem_to_chunk(m)))
        calloc_clear_recycled(m, bytes); /* not the kernel's zeros */
    DEBUG_CHECK();
    return m;
}

/* realloc for a heap chunk (classified): in place when the arena allows,
 * else move. */
static void *realloc_heap(void *mem, size_t bytes, arena *av)
{
    chunk *p = mem_to_chunk(mem);
    size_t oldsize = chunksize(p), nb = request2size(bytes);
    if (unlikely(um_cache_marked(mem))) /* freed, in some cache (internal.h) */
        um_fatal("realloc", "double free of", mem, oldsize - SIZE_SZ);
    /* (a shrink by less than the headroom a growth in place leaves,
     * um_realloc_headroom, keeps the block as it is) */
    if (nb <= oldsize && oldsize - nb < MINSIZE + um_realloc_headroom(nb))
        return mem;
    size_t i, j;
    if (nb < oldsize / 2 && (i = tc_slot_of_chunk(oldsize)) != 0 && (j = tc_req_slot(bytes)) != 0 &&
        (um_tcp->head[j] || (i >= TC_MED_FIRST && um_tcache_on()))) {
        /* shrunk to under half a block the cache holds, with a block of the
         * new size cached: that block, and the old one back on its stack
         * (as tcmalloc and jemalloc do) rather than a split in the arena
         * and a carve for the next request of the old size. A block read
         * into a big buffer and cut to its length, in a loop
         * (examples/alloc_loops shrink 5000 1000): 1,350 instructions a
         * round under cachegrind, now 497; glibc 571, tcmalloc 359.
         * A medium class's block moves even when no block of the new size
         * is cached (a malloc then refills): split in place, its class lost
         * it, and the next request of that size carved another from top.
         * 2,000 buffers of 64 KiB a round, each cut to 100-4,100 bytes
         * right after its malloc and kept to the round's end, 20 rounds:
         * 0.28 s and 20,000 page faults, glibc 0.13 s, tcmalloc 0.03; now
         * 0.03 and 1,450 (tests/api/realloc_shrink_batch) */
        int e = errno;
        void *nm = malloc_body(bytes);
        if (nm) {
            memcpy(nm, mem, bytes);
            free_body(mem);
            return nm;
        }
        errno = e; /* (out of memory for the new block: split in place below) */
    }
    /* In place (into top or a free neighbour) unless the block is to move
     * into a mapping of its own, which mremap then grows without copying:
     * a block below the mmap threshold, a shrink, or one that malloc would
     * not map either (mmap off with M_MMAP_MAX = 0, the seeds' setting, or
     * at its limit; or a big block top serves) stays in the heap anyway,
     * and moving it would copy it on every growth. (Tried only below the
     * threshold before: with M_MMAP_MAX = 0, bench/realloc's string builder
     * ran over a minute, against glibc's 0.7 s.) */
    if (nb < RELAXED_LOAD(um_params.mmap_threshold) || nb <= oldsize ||
        !mmap_room() || um_big_from_heap(nb)) {
        um_lock_acquire(&av->lock);
        int done = um_int_realloc_inplace(av, p, oldsize, nb);
        um_arena_release(av);
        if (done)
            return mem;
    }
    /* a new block and the old one's free, through the inline paths: a
     * cached block of the new size and room for the old one need no more */
    void *nm = malloc_body(bytes);
    if (!nm)
        return NULL;
    memcpy(nm, mem, oldsize - SIZE_SZ < bytes ? oldsize - SIZE_SZ : bytes);
    free_body(mem);
    return nm;
}

/* realloc for a mapped chunk: keep it when the size still fits (a request
 * for its own usable size never moves it, as glibc >= 2.37), mremap, or
 * move when a mapping no longer pays. Sizes come from the registry. */
static void *realloc_mapped(void *mem, size_t bytes)
{
    chunk *p = mem_to_chunk(mem);
    size_t nb = request2size(bytes), len;
    uintptr_t base;
    if (!um_mmap_lookup(p, &base, &len))
        um_fatal("realloc", "invalid pointer", mem, 0);
    size_t usable = base + len - MMAP_TAIL - (uintptr_t)mem;
    if (bytes <= usable && usable - bytes < um_pagesize)
        return mem;
    /* a mapping from the mapping cache was handed out whole, for requests
     * down to 1/MMAP_CACHE_SLACK of it: a block growing back into it (a
     * vector, freed and built again) stays put, no copy, no page fault */
    if (bytes <= usable && bytes >= usable / MMAP_CACHE_SLACK && um_mmap_recycled(p))
        return mem;
    if (nb >= RELAXED_LOAD(um_params.mmap_threshold) / 2 || bytes > usable) {
        chunk *np = um_mremap_chunk(p, nb);
        if (np)
            return chunk_to_mem(np);
        if (usable >= bytes)
            return mem;
    }
    void *nm = um_malloc_generic(bytes);
    if (!nm)
        return NULL;
    memcpy(nm, mem, usable < bytes ? usable : bytes);
    um_munmap_chunk(p, "realloc", 0);
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
    struct um_owner o;
    size_t cs;
    int kind = classify(mem, "realloc", &o, &cs);
    if (unlikely(bytes > MAX_REQUEST)) {
        if (kind == OWN_MAPPED && !um_mmap_valid(mem_to_chunk(mem)))
            um_fatal("realloc", "invalid pointer", mem, 0);
        errno = ENOMEM;
        return NULL;
    }
    void *r = kind == OWN_HEAP ? realloc_heap(mem, bytes, o.ar) : realloc_mapped(mem, bytes);
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

/* aligned_generic's miss: class i's stack (0: no class) had no aligned
 * block; bytes already rounded to the class. Out of line, so that the hit
 * keeps few registers (cachegrind, alloc_loops aligned 32 64: 131 -> 125
 * instructions a round). */
static UM_NOINLINE void *aligned_miss(size_t align, size_t bytes, size_t i)
{
    size_t nb = request2size(bytes);
    void *m = NULL;
    /* an aligned chunk of the class parked in the central cache first: the
     * stack holds only a few medium chunks (tcache.c, tc_caps_init), so a
     * program with more page-aligned buffers of one size live at once than
     * that sent every extra one through the arena's aligned path, and freed
     * it to the central cache, where no aligned request looked (bench/aligned:
     * 23,909 of 55,797 requests for 4 KiB at 4 KiB alignment split a chunk
     * in the arena at --scale=0.1, counted with a throwaway build) */
    if (i && (m = um_tcache_aligned_take(i, align)) != NULL) {
        um_tcache_aligned_miss(i);
        goto done;
    }
    if ((nb + align >= RELAXED_LOAD(um_params.mmap_threshold) || align >= um_pagesize * 64) &&
        mmap_room())
        m = um_mmap_chunk(nb, align);
    if (!m) {
        arena *av = um_arena_get();
        m = um_int_memalign(av, align, bytes);
        um_arena_release(av);
        if (i && m && um_tcache_on())
            um_central_aligned_miss(av, i);
    }
    if (!m && RELAXED_LOAD(um_params.n_mmaps_max) > 0)
        m = um_mmap_chunk(nb, align);
    if (!m) {
        errno = ENOMEM;
        DEBUG_CHECK();
        return NULL;
    }
    if (i && !chunk_is_mmapped(mem_to_chunk(m)))
        um_tcache_aligned_miss(i);
done:;
    /* M_PERTURB's fill, as malloc_generic's: an aligned block reused from
     * the bins or the central cache kept the free fill (the thread cache
     * is bypassed while perturbing, so every such request comes here) */
    int perturb = RELAXED_LOAD(um_params.perturb);
    if (unlikely(perturb))
        memset(m, perturb ^ 0xff, bytes);
    DEBUG_CHECK();
    return m;
}

/* Aligned allocation behind memalign & co.; align is a power of two.
 * A request that fits the thread cache is served by an aligned block among
 * the first few on its class's stack (tc_pop_aligned): an aligned block
 * freed goes back onto that stack, so a loop of aligned_alloc/free (or C++'s
 * aligned new and delete) takes it back at the next call; a miss sets the
 * class's slot up as a refill would (um_tcache_aligned_miss), so that
 * several such blocks live at once come back too. The chunks the
 * arena aligns for the cache's sizes have their class's size (a medium
 * request is rounded up to its class, as malloc's are), or they could not be
 * cached when freed. Before, every aligned request split a larger chunk in
 * the arena and freed the two ends into the bins: examples/alloc_loops
 * aligned 32 64 took 893 instructions a round under cachegrind (now 125;
 * glibc 574, tcmalloc 115), posix 4096 4096 1,212 (now 203; glibc 697).
 * An alignment that every block has (16 or less: posix_memalign(8),
 * memalign(16), as rptest asks, and Rust's allocator for a block smaller
 * than its alignment) is a malloc, fast path included; it took the generic
 * path, whose refill function pops the stack too, at twice malloc's cost
 * (cachegrind, a memalign(16, 100)/free loop: 155 instructions a round,
 * malloc's 77; posix_memalign(8): 169). */
static inline __attribute__((always_inline)) void *aligned_generic(size_t align, size_t bytes)
{
    if (align <= MALLOC_ALIGNMENT) {
        void *m = malloc_body(bytes);
        DEBUG_CHECK();
        return m;
    }
    um_ensure_init();
    if (bytes > MAX_REQUEST || align > MAX_REQUEST / 2) {
        errno = ENOMEM;
        return NULL;
    }
    size_t i = tc_req_slot(bytes);
    if (i) {
        if (i >= TC_MED_FIRST)
            bytes = tc_slot_size(i) - SIZE_SZ; /* (the class's size: see above) */
        void *m = tc_pop_aligned(um_tcp, i, align);
        if (m) {
            DEBUG_CHECK();
            return m;
        }
    }
    return aligned_miss(align, bytes, i);
}

static size_t next_pow2(size_t a)
{
    if (a & (a - 1))
        a = (size_t)1 << (64 - __builtin_clzll(a));
    return a;
}

/* glibc: an alignment above 2^63 cannot be rounded to a power of two
 * (EINVAL); any power of two up to 2^63 is valid, and an impossible size
 * then fails with ENOMEM. */
PUBLIC void *API(memalign)(size_t align, size_t bytes)
{
    if (align > ((size_t)1 << 63)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_generic(next_pow2(align ? align : 1), bytes);
}

/* Returns the error and, as glibc does, also sets errno = ENOMEM when out of
 * memory (programs test either). */
PUBLIC int API(posix_memalign)(void **out, size_t align, size_t bytes)
{
    if (align % sizeof(void *) != 0 || (align & (align - 1)) || align == 0)
        return EINVAL;
    void *m = aligned_generic(align, bytes);
    if (!m)
        return ENOMEM; /* errno is ENOMEM */
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

/* malloc_usable_size for fn: checks the pointer as free would. */
static size_t usable_size(void *mem, const char *fn)
{
    struct um_owner o;
    size_t cs;
    if (classify(mem, fn, &o, &cs) == OWN_HEAP) {
        if (unlikely(um_cache_marked(mem))) /* freed, in some cache (internal.h) */
            um_fatal(fn, "use after free of", mem, cs - SIZE_SZ);
        return chunk_usable(mem_to_chunk(mem));
    }
    if (um_owner_of(mem_to_chunk(mem), &o) != OWN_MAPPED)
        um_fatal(fn, "invalid pointer", mem, 0);
    return o.hi - MMAP_TAIL - (uintptr_t)mem; /* the recorded mapping, not the header; its
                                               * last word is the canary */
}

PUBLIC size_t API(malloc_usable_size)(void *mem)
{
    return mem ? usable_size(mem, "malloc_usable_size") : 0;
}

/* C23: free with the size the caller asked for; a size that cannot belong
 * to this block is a bug worth stopping at. */
PUBLIC void API(free_sized)(void *mem, size_t size)
{
    if (mem && size > usable_size(mem, "free_sized"))
        um_fatal("free_sized", "size mismatch for", mem, size);
    API(free)(mem);
}

PUBLIC void API(free_aligned_sized)(void *mem, size_t align, size_t size)
{
    if (mem && ((align && ((uintptr_t)mem & (align - 1))) || size > usable_size(mem, "free_aligned_sized")))
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
    um_tcache_request_flush(0);
    int released = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        released |= um_trim_arena(a, pad);
        um_lock_release(&a->lock);
    }
    released |= um_mmap_cache_release(1);
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

/* ---- glibc's internal names (internal.h, UM_LIBC_ALIAS) ----
 * cfree is the old name of free (glibc keeps it for binaries linked before
 * 2.26, which no longer declares it). */
#ifndef UM_PREFIX
void cfree(void *);
UM_LIBC_ALIAS(__libc_malloc, malloc);
UM_LIBC_ALIAS(__libc_free, free);
UM_LIBC_ALIAS(cfree, free);
UM_LIBC_ALIAS(__libc_calloc, calloc);
UM_LIBC_ALIAS(__libc_realloc, realloc);
UM_LIBC_ALIAS(__libc_memalign, memalign);
UM_LIBC_ALIAS(__libc_valloc, valloc);
UM_LIBC_ALIAS(__libc_pvalloc, pvalloc);
UM_LIBC_ALIAS(__libc_mallopt, mallopt);
#endif
