/*
 * internal.h — what the layers share: globals, the lock, cross-file calls.
 * Cross-file internals are named um_*; all are hidden from the export table.
 */
#ifndef UM_INTERNAL_H
#define UM_INTERNAL_H

/* Where umalloc runs: 64-bit Linux on x86-64 or aarch64 (futex, brk, 16-byte
 * chunks with 8-byte size words, user addresses below 2^47 or 2^48). */
#if !defined(__linux__)
#error "umalloc supports Linux only (x86-64, aarch64): this target is not Linux"
#elif defined(__x86_64__) && !defined(__ILP32__)
#define UM_VA_BITS 47
#elif defined(__aarch64__) && !defined(__ILP32__)
#define UM_VA_BITS 48
#elif defined(__x86_64__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is x32 (ILP32 x86-64)"
#elif defined(__i386__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is 32-bit x86 (i386)"
#elif defined(__arm__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is 32-bit ARM"
#elif defined(__riscv)
#error "umalloc supports x86-64 and aarch64 Linux: this target is RISC-V"
#elif defined(__powerpc__) || defined(__powerpc64__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is PowerPC"
#elif defined(__s390__) || defined(__s390x__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is s390"
#elif defined(__mips__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is MIPS"
#elif defined(__loongarch__)
#error "umalloc supports x86-64 and aarch64 Linux: this target is LoongArch"
#else
#error "umalloc supports x86-64 and aarch64 Linux: this CPU architecture is not one of them"
#endif

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"


/* Public entry points: exported, and renamed umalloc_* in the prefixed
 * (sanitizer) builds so they can sit beside the system malloc. */
#ifdef UM_PREFIX
#define API(name) umalloc_##name
#else
#define API(name) name
#endif
#define PUBLIC __attribute__((visibility("default")))

/* glibc's internal names (__libc_malloc & co.): some programs and libraries
 * call them directly (to reach "the real malloc" under a hook) and hand the
 * result to free(), so they must be this allocator, not glibc's idle one.
 * UM_LIBC_ALIAS(name, target) exports name as another name of target,
 * which must be defined in the same file. gcc's copy attribute gives the
 * alias its target's attributes; clang 14 has none and copies nothing (the
 * declarations in stdlib.h and malloc.h stand). Not in the prefixed build,
 * which sits beside glibc's allocator. */
#define UM_COPY(f)
#ifdef __has_attribute
#if __has_attribute(copy)
#undef UM_COPY
#define UM_COPY(f) copy(f),
#endif
#endif
#define UM_LIBC_ALIAS(name, target)                                                                \
    extern __typeof(target) name __attribute__((alias(#target), UM_COPY(target) visibility("default")))

#pragma GCC visibility push(hidden)

/* ---- globals ---- */
extern arena um_main_arena;
extern struct um_params um_params;
extern struct um_mstats um_mstats;
extern um_lock um_mmap_lock;    /* mapped-chunk list and counters */
extern um_lock um_arenas_lock;  /* arena list, arena creation */
extern size_t um_pagesize;
extern uintptr_t um_secret;     /* per-process random: keys and magics */
extern uintptr_t um_tc_key;     /* the cache key: see um_cache_mark */
extern _Atomic int um_initialized;
extern _Atomic int um_narenas;

/* Word 1 of a chunk that a thread cache, a central batch or a fast bin holds
 * (the arena counts it in use): the process key mixed with the block's own
 * address. Every chunk handed to the program has that word cleared, so the
 * mark there means the block was freed already, in whichever thread's cache
 * it now sits. Mixed with the address so that a live block holding a copy
 * of another block's words does not pass for a cached one: a program that
 * copied a freed block (glibc's tst-tcfree3 does), or a slice of
 * uninitialised memory holding a stale mark, carries the other address's
 * mark, and its free is a free. (glibc takes its plain key as a hint and
 * confirms it by searching its own thread's cache, which cannot see the
 * other threads' caches; one xor here sees them all.) */
static inline void *um_cache_mark(const void *mem) { return (void *)(um_tc_key ^ (uintptr_t)mem); }
static inline int um_cache_marked(const void *mem)
{
    return ((void *const *)mem)[1] == um_cache_mark(mem);
}

/* Settings and counters that threads read without a lock (mallopt, the
 * dynamic threshold and the mmap counters change them under other locks). */
#define RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* av->top changes under the arena lock; free() peeks at it without one (to
 * keep chunks that border top out of the thread cache). */
static inline void set_top(arena *av, chunk *t) { __atomic_store_n(&av->top, t, __ATOMIC_RELAXED); }
static inline chunk *peek_top(arena *av) { return __atomic_load_n(&av->top, __ATOMIC_RELAXED); }

/* The unit in which heaps grow and free pages go back to the kernel: the
 * page, or with glibc.malloc.hugetlb=1 the transparent huge page, so that
 * a purge or a trim never breaks one up and the break and each heap grow
 * to a huge page's boundary (heap.c, trim.c, purge.c). Set at the init,
 * before any heap exists. */
static inline size_t um_grain(void) { return um_params.thp ? um_params.thp : um_pagesize; }
static inline uintptr_t um_grain_up(uintptr_t a) { return (a + um_grain() - 1) & ~(uintptr_t)(um_grain() - 1); }
static inline uintptr_t um_grain_down(uintptr_t a) { return a & ~(uintptr_t)(um_grain() - 1); }

/* The arena list only grows; walkers take no lock. */
static inline arena *um_arena_next(arena *a) { return __atomic_load_n(&a->next, __ATOMIC_ACQUIRE); }

/* One pause in a spin loop: tells the core (and its SMT sibling) we wait. */
static inline void um_spin_hint(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- system calls ---- */
/* A system call made here, not through libc's syscall(): the result is the
 * kernel's (-errno on failure) and errno is never touched. A preloaded
 * library's calls into libc cost resident memory: the kernel maps up to 16
 * pages of libc's code around each function first called (fault-around),
 * and syscall() and sched_getaffinity() sit in pages that a small program
 * under glibc's malloc never touches. Resident libc code of bench/pairs 16
 * --quick, 40 interleaved runs each (addresses vary with ASLR), from
 * /proc/self/smaps at exit: 1,300 KB on average with those calls, 1,260 KB
 * without; 1,233 KB under glibc's malloc. */
static inline long um_sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else /* aarch64 (internal.h's first lines allow no other) */
    register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b,
                  x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e,
                  x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#endif
}
#define UM_SYS_(n, a, b, c, d, e, f, ...) \
    um_sys6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* um_sys(SYS_x, args...): up to six arguments, the missing ones zero (one
 * zero more than needed: C11 wants an argument for UM_SYS_'s `...`) */
#define um_sys(...) UM_SYS_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

/* ---- lock (futex, 3-state) ---- */
/* While the process has one thread, a lock is not taken at all, as glibc's
 * malloc skips its arena lock (SINGLE_THREAD_P): the locked instruction is
 * most of the cost of a slow path that serves one chunk. glibc sets
 * __libc_single_threaded to false in pthread_create, before the new thread
 * exists, so no other thread can hold or want a lock this thread skipped.
 * A skipped lock's word stays 0, and release acts only on a word that is
 * not: a lock taken for real is released for real even if the flag changed
 * in between. The one rule this needs: umalloc itself never creates a
 * thread while it holds a lock (purge.c, report.c, timeline.c). */
extern char __libc_single_threaded __attribute__((weak, visibility("default")));
static inline int um_single_threaded(void)
{
    return &__libc_single_threaded != NULL && __libc_single_threaded;
}
static inline int um_trylock(um_lock *l)
{
    if (um_single_threaded())
        return 1;
    int z = 0;
    return atomic_compare_exchange_strong_explicit(&l->v, &z, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}
void um_lock_slow(um_lock *l);
static inline void um_lock_acquire(um_lock *l)
{
    if (likely(um_trylock(l)))
        return;
    um_lock_slow(l);
}
static inline void um_lock_release(um_lock *l)
{
    if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0)
        return; /* skipped while single-threaded */
    if (unlikely(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2))
        um_sys(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1);
}
static inline void um_lock_init(um_lock *l) { atomic_store_explicit(&l->v, 0, memory_order_relaxed); }

/* ---- os.c ---- */
void *um_os_sbrk(intptr_t incr);           /* NULL on failure */
void *um_os_brk_end(void);
int um_os_thread_exiting(void);             /* in glibc's last stage of thread exit */
void *um_os_map(size_t len);               /* read/write anonymous; NULL on failure */
void *um_os_map_aligned(size_t len, size_t align); /* the same, at a multiple of align */
void *um_os_reserve_aligned(size_t len, size_t align); /* PROT_NONE, aligned */
void *um_os_reserve_accounted(size_t len, size_t align); /* the same; committing is charged */
int um_os_commit(void *p, size_t len);     /* make read/write; 0 ok */
int um_os_unmap(void *p, size_t len);        /* 0 ok; -1 (errno kept): mapping stays */
void *um_os_remap(void *p, size_t old, size_t len); /* may move; NULL on failure */
int um_os_move_grow(void *p, size_t old, size_t len, void *dst); /* into a reservation; -1 on failure */
int um_os_grow_inplace(void *p, size_t old, size_t len); /* no move; -1 on failure */
int um_os_move(void *p, size_t len, void *dst); /* pages to dst (MREMAP_FIXED); 0 ok, <0 not */
int um_os_decommit(void *p, size_t len);   /* drop pages, keep the range usable; 0 ok */
long um_os_read_file(const char *path, char *buf, size_t cap); /* bytes read, -1 on error */
void um_os_shrink(void *p, size_t len);    /* drop pages and make PROT_NONE */
size_t um_os_thp_size(void);               /* the kernel's huge page size; 0: THP off */
void um_os_huge(void *p, size_t len);      /* ask for huge pages (glibc.malloc.hugetlb=1) */
size_t um_os_ncpus(void);
size_t um_os_rss(void);                   /* resident bytes (statm) */
uintptr_t um_os_random(void);
void um_os_clock_init(void);
int um_os_clock_in_vdso(void);
int um_os_gettime(clockid_t clk, struct timespec *ts); /* 0 ok, -1 (errno kept) */
uint64_t um_now_ms(void);                 /* coarse monotonic milliseconds */

/* ---- print.c ---- */
void um_write(int fd, const char *s, size_t n);
void um_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t um_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t um_cmdline(char *buf, size_t cap);  /* /proc/self/cmdline, spaces between args */
_Noreturn void um_fatal(const char *fn, const char *what, const void *addr, size_t size);

/* The size of av's top chunk (arena lock held), checked before anything
 * follows it: the trim, the purge and the carver turn it into lengths for
 * sbrk and madvise, and an overflow into top's header decodes to a huge
 * size (chunk.h), which must stop here, not reach the kernel. Top is never
 * smaller than MINSIZE (every split leaves that much), and a zeroed word,
 * what a memcpy or memset past the block below writes, is the one that
 * decodes to a small size: to 0. Before, a malloc that found top "empty"
 * took its end for a break moved by someone else and started a new
 * segment, leaving the old heap behind (hardened_malloc's
 * 32_byte_memcpy_overflow, 8- and 4096-byte blocks; glibc aborts). */
static inline size_t top_size(const arena *av, const chunk *top)
{
    size_t w = hdr_load(top), s = w & ~(size_t)SIZE_BITS;
    if (unlikely(!hdr_valid(w) || s - MINSIZE > av->system_mem - MINSIZE))
        um_fatal("malloc", "corrupted top size at", top, 0);
    return s;
}

/* ---- heap.c ---- */
/* Aligned heap of a non-main chunk: its address masked (no validation). */
static inline heap *um_heap_of(chunk *p) { return (heap *)((uintptr_t)p & ~(uintptr_t)(HEAP_MAX_SIZE - 1)); }
arena *um_arena_of(chunk *p);
#define REGION_SHIFT 26 /* log2(HEAP_MAX_SIZE) */
#define REGION_WORDS ((1ull << (UM_VA_BITS - REGION_SHIFT)) / 64)
extern _Atomic uint64_t um_region_map[REGION_WORDS];
/* p lies in some aligned heap (one bit per 64 MiB region of the address space) */
static inline int um_heap_owns(const void *p)
{
    uintptr_t r = (uintptr_t)p >> REGION_SHIFT;
    if (r >= REGION_WORDS * 64)
        return 0;
    return (atomic_load_explicit(&um_region_map[r >> 6], memory_order_relaxed) >> (r & 63)) & 1;
}
int um_grow_top(arena *av, size_t nb);      /* 0 on success */
heap *um_heap_new(size_t size, arena *av);
void um_heap_close_top(arena *av);
arena *um_heap_new_arena(int index);
void um_heap_delete(heap *h);
int um_seg_release_top(heap *h, chunk *top, size_t extra); /* 1 if pages went back */
size_t um_heap_adopt(arena *av, uintptr_t src, size_t max, size_t need); /* bytes moved */
size_t um_heap_top_extensible(arena *av);  /* top's size if brk extends it, else 0 */
int um_heap_top_fit(arena *av, size_t nb, size_t min); /* top (>= min) made to hold nb: 1 */

/* ---- owner.c ---- */
enum { OWN_NONE = 0, OWN_HEAP = 1, OWN_MAPPED = 2 };
struct um_owner {
    int kind;          /* OWN_* */
    arena *ar;         /* OWN_HEAP: the arena */
    heap *h;           /* OWN_HEAP: the segment or aligned heap */
    uintptr_t lo, hi;  /* OWN_HEAP: where its chunks lie; OWN_MAPPED: the mapping */
};
/* The box: the chunk range [lo, lo + span) of one main segment (the brk
 * heap; with brk blocked, the mapped segment the heap grows in, once it
 * outgrows the brk heap: owner.c, box_consider), for free()'s fast path:
 * load span (acquire) first, then lo. Never covers anything but that
 * segment, and stops BOX_GUARD bytes short of its end (span 0 while the
 * segment is smaller):
 * a chunk that starts inside the range and whose header says it is small
 * has its next header inside the segment (free's inline path no longer
 * reads that header; the paths that do test its bound, but um_owner_holds
 * below finds the segment's end from span). Chunks in the
 * last bytes and in the other segments take the paths that ask the
 * segment table. */
#define BOX_GUARD (TC_MAX_CHUNK + CHUNK_HDR)
extern _Atomic uintptr_t um_box_lo, um_box_span;
/* The main-arena segment of the last lookup: a chunk address c inside it
 * needs no search (inline, for free's generic path). */
extern heap *_Atomic um_seg_hint;
static inline heap *um_owner_seg_hint(const void *c)
{
    heap *h = atomic_load_explicit(&um_seg_hint, memory_order_acquire);
    return (uintptr_t)c - (uintptr_t)h - HEAP_HDR < RELAXED_LOAD(h->size) - HEAP_HDR ? h : NULL;
}
int um_owner_add_segment(heap *h);          /* main arena lock held; -1: no memory */
void um_owner_seg_resized(void);            /* after a main segment's size changed */
int um_owner_heap_slow(const void *c, struct um_owner *o);
/* Is chunk address c inside a heap of some arena? Fills o; takes no lock.
 * OWN_HEAP or OWN_NONE. Inline for the box, the common case. */
static inline int um_owner_heap(const void *c, struct um_owner *o)
{
    uintptr_t a = (uintptr_t)c;
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_acquire);
    uintptr_t blo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    if (likely(a - blo < span)) {
        heap *h = (heap *)(blo - HEAP_HDR);
        o->ar = &um_main_arena;
        o->h = h;
        o->lo = blo;
        o->hi = (uintptr_t)h + RELAXED_LOAD(h->size);
        return o->kind = a < o->hi ? OWN_HEAP : OWN_NONE;
    }
    return um_owner_heap_slow(c, o);
}
int um_owner_of(const void *c, struct um_owner *o);   /* also mapped chunks (mmap lock) */
int um_owner_holds_slow(arena *av, chunk *p, size_t size);
/* [p, p + size) plus the next chunk's header lies in one heap of av. Inline
 * for a chunk in the box (every chunk of a flushed batch asks). */
static inline int um_owner_holds(arena *av, chunk *p, size_t size)
{
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_acquire);
    uintptr_t off = (uintptr_t)p - atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    if (likely(off < span)) { /* p in [lo, lo + span); the heap ends BOX_GUARD further */
        uintptr_t room = span + BOX_GUARD - off;
        return av == &um_main_arena && size <= room && room - size >= CHUNK_HDR;
    }
    return um_owner_holds_slow(av, p, size);
}
const char *um_owner_check(void);           /* check.c: NULL if consistent */

/* ---- arena.c ---- */
/* A non-main arena sits after its first heap's header, its central cache
 * right after it; chunks start after both. */
#define ARENA_SIZE ((sizeof(arena) + 63) & ~(size_t)63)
#define ARENA_META_SIZE (ARENA_SIZE + sizeof(struct central))
/* Offset of the first chunk of heap h of arena av (the check, the walks). */
static inline size_t um_first_chunk_off(const arena *av, const heap *h)
{
    return (const char *)av == (const char *)h + HEAP_HDR ? HEAP_HDR + ARENA_META_SIZE : HEAP_HDR;
}
void um_arena_init(arena *av, int index, struct central *c);
void *um_int_malloc(arena *av, size_t nb);
void um_int_free(arena *av, chunk *p, size_t size, const char *fn);
void um_int_free_drain(arena *av, chunk *p, size_t size); /* merged now, no fast bin */
void um_arena_check_top_at_exit(arena *av); /* aborts on an overflow into top */
void um_int_free_bounded(arena *av, chunk *p, size_t size); /* free_large's checks made */
void um_consolidate(arena *av);
void *um_int_memalign(arena *av, size_t align, size_t bytes);
int um_int_realloc_inplace(arena *av, chunk *p, size_t oldsize, size_t nb);
/* The room a block that realloc grows in place takes beyond its request
 * (an eighth, when top or the free chunk after it has that much), and the
 * slack realloc leaves a block before it shrinks it: a block grown a few
 * bytes at a time (a string built by appends) then grows without the
 * arena's lock for the next eighth of its size, as a size class's
 * rounding gives other allocators. Before, every append past the chunk's
 * last 16-byte step took the lock and rewrote the headers of the block
 * and top (arena.c, um_int_realloc_inplace). Not bounded: a block cut
 * by less than an eighth keeps it (a 256 MiB heap block, with mmap off,
 * up to 32 MiB), the price of a room that stays with the block. A bound
 * of 64 KiB was tried: bench/realloc (strings to 4 MiB, vectors to 32
 * MiB) peaked at 91.8 MB against 69.3 (3 interleaved runs). */
static inline size_t um_realloc_headroom(size_t nb) { return (nb >> 3) & ~(size_t)ALIGN_MASK; }
void *um_arena_carve(arena *av, size_t nb, size_t want, void **chain, size_t *n, size_t *piece);
void um_arena_cut(arena *av, void *m, size_t size, size_t nb, void **chain, size_t *n); /* no lock */
size_t um_arena_spans_release(arena *av, unsigned mask);    /* shards in mask; arena lock held */
void um_arena_spans_decay(arena *av, uint64_t now, long decay); /* arena lock held */
arena *um_arena_current(void);              /* this thread's arena, not locked */
arena *um_arena_peek(void);                 /* the same, NULL if it has none yet */
unsigned um_arena_sort_unsorted(arena *av, unsigned max); /* unsorted bin into bins */
arena *um_arena_get(void);                  /* this thread's arena, locked */
void um_arena_release(arena *av);
arena *um_arena_retry(arena *av);
void um_arena_thread_detach(void);
void um_fork_prepare(void);
void um_fork_parent(void);
void um_fork_child(void);
void um_arena_note_contention(arena *av);

/* ---- central.c ---- */
extern struct central um_main_central;
void um_central_init(struct central *c);
void um_central_global_init(void); /* shards: once, before any arena but the main one */
extern unsigned um_cc_mask;          /* shards in use - 1 */
size_t um_central_shard(void);      /* the caller's shard now (spans, the tests) */
int um_central_private(arena *av, size_t cs); /* this shard keeps that class to itself (a hint) */
void *um_central_take(arena *av, size_t i, size_t *n, size_t want);
void um_central_give(arena *av, size_t i, void *head, size_t n, int consumer);
void um_central_aligned_miss(arena *av, size_t i);
void um_central_mark_home(const void *p, size_t bytes); /* carved by this CPU's shard */
unsigned um_central_home(const void *p);   /* its mark: shard + 1, 0 unknown (spans, the tests) */
size_t um_central_drain_idle(arena *av);   /* arena lock held: idle and remote classes to the bins */
int um_central_park_one(arena *av, size_t i, void *mem); /* 0: no room, free it */
void *um_central_steal(arena *self, size_t i, size_t *n, arena **from); /* another arena's batch */
void um_central_drain(arena *av);          /* arena lock held */
void um_central_drain_class(arena *av, size_t i); /* arena lock not held */
void um_central_check_at_exit(arena *av);  /* aborts on a write after free */
void um_central_decay(arena *av, uint64_t now);
void um_central_decay_locked(arena *av, uint64_t now, size_t max);
size_t um_arena_central_bytes(arena *av);
size_t um_arena_central_count(arena *av);
/* Bytes parked in class i of av's central cache, all shards (racy peek). */
static inline size_t um_central_class_bytes(arena *av, size_t i)
{
    /* unrolled for the masks there are (0, 1, 3): free_medium asks this of
     * every chunk freed next to top, and a loop over the shards cost bench
     * pairs-64k 22 instructions a pair, this 7 (cachegrind). Shards not in
     * use are not read: a first read of the main cache's page maps it. */
    _Static_assert(CC_SHARDS == 4, "one term per shard below");
    unsigned mask = RELAXED_LOAD(um_cc_mask);
    const struct cclass *k = &av->central->cls[CC_AT(i, 0)];
    size_t sum = RELAXED_LOAD(k[0].bytes);
    if (mask) {
        sum += RELAXED_LOAD(k[TC_SLOTS].bytes);
        if (mask > 1)
            sum += RELAXED_LOAD(k[2 * TC_SLOTS].bytes) + RELAXED_LOAD(k[3 * TC_SLOTS].bytes);
    }
    return sum;
}
void um_central_lock_all(arena *av);
void um_central_unlock_all(arena *av, int reset);
void um_central_check(arena *av);

/* ---- large.c ---- */
void *um_mmap_chunk(size_t nb, size_t align);
void um_munmap_chunk(chunk *p, const char *fn, int from_free); /* from_free: may go to the heap */
chunk *um_mremap_chunk(chunk *p, size_t nb);
int um_mmap_rooms_release(void); /* address space short: rooms back; 1 if any */
int um_mmap_valid(chunk *p);
int um_mmap_lookup(chunk *p, uintptr_t *base, size_t *len); /* 1: live mapped chunk */
int um_mmap_recycled(chunk *p);   /* its memory came from the mapping cache (not zeroed) */
int um_mmap_cache_release(int all); /* expired (or all) kept mappings back; 1 if any */
const char *um_mmap_check(const void **where); /* check.c: NULL if consistent */
void um_dyn_threshold_update(size_t size);
int um_big_from_heap(size_t nb); /* a request past the mmap threshold: heap? */
typedef void (*um_mmap_visit)(chunk *p, size_t maplen, void *ctx);
void um_mmap_foreach(um_mmap_visit fn, void *ctx);

/* ---- trim.c ---- */
int um_systrim(arena *av, size_t pad);
int um_heap_trim(arena *av, heap *h, size_t pad, int force);
int um_trim_arena(arena *av, size_t pad);
void um_trim_after_free(arena *av);
int um_trim_waits_for_decay(void); /* a free leaves top's trim to the decay purge */
void um_trim_regrown(arena *av);   /* the heap grew after a free's trim (heap.c) */

/* ---- tcache.c ---- */
void *um_tcache_get(size_t i);
void um_tcache_global_init(void);
void um_arena_free(chunk *p);
void um_tcache_free_slow(void *mem); /* a checked in-use heap chunk's mem */
void um_tcache_free_full(size_t i, void *mem);
/* free_medium's block mem, of medium slot i and arena av (checked: in
 * use, not cached), when its stack is full (or the cache unusable) or it
 * borders top and top could shrink */
void um_tcache_free_medium(void *mem, size_t i, arena *av);
void um_tcache_flush_all(void);
void um_tcache_give(size_t i, void *chain, size_t n); /* n cached chunks of slot i, linked */
void um_tcache_request_flush(int self);
void um_tcache_thread_exit(void *arg);
void um_tcache_arm_exit(void);   /* the thread attached to an arena: detach it at exit */
void um_tcache_refresh_settings(void);
size_t um_tcache_bytes(size_t *count);
size_t um_tcache_med_total(void); /* medium limits of all caches */
size_t um_tcache_out_batch(size_t i); /* a slot's outbound list stays below it */
void um_tcache_reset_after_fork(void);

/* ---- options.c ---- */
void um_options_init(void);
int um_mallopt(int param, int value);
const char *um_env(const char *name);      /* getenv for MALLOC_*, UMALLOC_*, GLIBC_TUNABLES */
int um_report_target(void);                 /* not excluded by UMALLOC_REPORT_PID */
void um_options_print(int fd);              /* settings and their origins */

/* ---- the central cache, as the reports see it (arena lock held) ----
 * The reports read it only through um_arena_central_bytes and this. */
typedef void (*um_central_visit)(chunk *p, void *ctx);
/* Visit every chunk parked in av's central cache (fn may be NULL; it must
 * not allocate); returns how many there are. */
size_t um_arena_central_foreach(arena *av, um_central_visit fn, void *ctx);

/* ---- walk.c: the one heap walk every report shares ---- */
enum { UM_CS_USED, UM_CS_CACHED, UM_CS_CENTRAL, UM_CS_FAST, UM_CS_UNSORTED, UM_CS_SMALL,
       UM_CS_LARGE, UM_CS_TOP, UM_CS_META, UM_CS_N };
extern const char *const um_cstate_name[UM_CS_N];
enum { UM_REGION_MAPPED = 4 }; /* after HEAP_BRK, HEAP_MMAP, HEAP_ALIGNED */
struct um_region {
    arena *av;      /* NULL for a mapped chunk */
    heap *h;        /* NULL for a mapped chunk */
    char *lo, *hi;  /* the bytes it covers */
    int kind;       /* HEAP_BRK, HEAP_MMAP, HEAP_ALIGNED, UM_REGION_MAPPED */
};
struct um_walker {
    /* called before a region's chunks; return 0 to skip them */
    int (*region)(void *ctx, const struct um_region *r);
    /* one span of a region: a chunk, top, or metadata (headers, fenceposts) */
    void (*chunk)(void *ctx, const struct um_region *r, char *p, size_t size, int state);
    void *ctx;
};
void um_walk_arena(arena *av, const struct um_walker *w); /* takes av's lock */
void um_walk_all(const struct um_walker *w);

/* ---- stats.c ---- */
void um_stats_print(int fd);                /* malloc_stats' report, on fd */
void um_rss_print(int fd);                  /* the RSS account table */
/* One heap map (stats.c) and one picture (heapsvg.c) at a time: reset in a
 * fork child, as a thread that drew one at the fork is not there. */
extern um_lock um_map_lock, um_svg_lock;

/* ---- timeline.c ---- */
void um_timeline_start(unsigned ms);        /* the sampler thread */
int um_timeline_finish(const char *path);   /* stop it, draw the chart */

/* ---- check.c ---- */
void um_check_all(void);
void um_check_arena(arena *av); /* takes av's lock */

/* ---- malloc.c ---- */
void um_init_slow(void);
static inline void um_ensure_init(void)
{
    if (unlikely(!atomic_load_explicit(&um_initialized, memory_order_acquire)))
        um_init_slow();
}
void *um_malloc_generic(size_t bytes);
void um_free_generic(void *mem);


#pragma GCC visibility pop

#endif
