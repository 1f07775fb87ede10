/*
 * types.h — every constant and struct of umalloc, and the map of its layers.
 *
 * umalloc is the ptmalloc model (the seeds' system) with a per-thread cache:
 *
 *   api      malloc.c    public entry points; inline tcache fast paths
 *   tcache   tcache.c    per-thread size-classed stacks, batch refill/flush,
 *                        a byte budget; reached through one TLS pointer
 *   central  central.c   per arena and class: free chunks as whole batches
 *                        between the thread caches and the bins (O(1) moves)
 *   large    large.c     mmapped chunks (registry: base + length), mremap
 *   owner    owner.c     whose is a pointer: segment table, heaps, registry
 *   arena    arena.c     bins + top + lock: the seeds' malloc/free algorithm
 *            heap.c      main-arena segments (brk) and aligned mmap'd heaps
 *   trim     trim.c      giving memory back: brk shrink, heap shrink, madvise
 *   purge    purge.c     decay purge: free pages back after a while (purge.h)
 *   bins     bins.h      bin index math, bin lists, binmap
 *   chunk    chunk.h     boundary tags and the checks every path uses
 *   os       os.c        the only file that calls brk/mmap/munmap/mremap/madvise
 *   options  options.c   mallopt, MALLOC_*_ and GLIBC_TUNABLES
 *   stats    stats.c     mallinfo(2), malloc_stats, malloc_info, heap map,
 *                        the RSS account
 *   walk     walk.c      the one heap walk and chunk classification of the
 *                        reports; heapsvg.c (picture), report.c, timeline.c
 *   check    check.c     full heap-invariant walk (DEBUG=1 runs it every call)
 *   print    print.c     a tiny malloc-free formatter and the fatal-error path
 *
 * Each layer only uses the ones listed below it.
 */
#ifndef UM_TYPES_H
#define UM_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifndef UM_DEBUG
#define UM_DEBUG 0
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define UM_INTERNAL __attribute__((visibility("hidden")))
/* A constant table the allocation paths read: kept with the relocated data
 * (written once by the loader, then read-only), whose page every process
 * has resident anyway, rather than in .rodata, whose 8 pages of strings and
 * unwind data the kernel maps together on the first read of any of them
 * (fault-around): a program that never prints, reports or fails then maps
 * none of them (options.c, um_env, for the other half). */
#define UM_HOT_CONST __attribute__((section(".data.rel.ro.um_tables")))
#define UM_NOINLINE __attribute__((noinline))
#define UM_COLD __attribute__((noinline, cold))

/* ---- chunk geometry (64-bit) ---- */
#define SIZE_SZ 8u
#define MALLOC_ALIGNMENT 16u
#define ALIGN_MASK (MALLOC_ALIGNMENT - 1)
#define MINSIZE 32u           /* smallest chunk: header + fd/bk */
#define CHUNK_HDR 16u         /* prev_size + size, before mem */
#define PREV_INUSE 0x1u       /* P: the chunk below is in use */
#define IS_MMAPPED 0x2u       /* M: chunk has its own mapping */
#define NON_MAIN_ARENA 0x4u   /* A: chunk lives in a non-main arena heap */
#define CHUNK_FREE 0x8u       /* F: this chunk is free in a bin, or is top (chunk.h) */
#define SIZE_BITS (PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA | CHUNK_FREE)
/* Largest request we accept: keeps every size computation free of overflow. */
#define MAX_REQUEST (((size_t)1 << 47) - 2 * 1024 * 1024) /* sizes stay below 2^48: see chunk.h */

/* ---- bins ---- */
#define NBINS 128
#define NSMALLBINS 64
#define SMALLBIN_WIDTH MALLOC_ALIGNMENT
#define MIN_LARGE_SIZE ((size_t)NSMALLBINS * SMALLBIN_WIDTH) /* 1024 */
#define BINMAPSHIFT 5
#define BITSPERMAP (1u << BINMAPSHIFT)
#define BINMAPSIZE (NBINS / BITSPERMAP)
#define MAX_FAST_SIZE 160u /* largest M_MXFAST a user may set (request) */
#define NFASTBINS 10       /* chunk sizes 32 .. 176 */
#define DEFAULT_MXFAST 128u
#define FASTBIN_CONSOLIDATION_THRESHOLD (64u * 1024)

/* ---- thresholds (glibc's defaults) ---- */
#define DEFAULT_MMAP_THRESHOLD (128u * 1024)
#define DEFAULT_MMAP_THRESHOLD_MAX ((size_t)32 * 1024 * 1024)
#define DEFAULT_TRIM_THRESHOLD (128u * 1024)
#define DEFAULT_TOP_PAD (128u * 1024)
#define DEFAULT_MMAP_MAX 65536
#define HEAP_MIN_SIZE ((size_t)32 * 1024)
#define HEAP_MAX_SIZE ((size_t)2 * DEFAULT_MMAP_THRESHOLD_MAX) /* 64 MiB */
#define MMAP_HDR 32u /* struct mmap_rec before a mapped chunk's header */
#define MMAP_TAIL 8u /* the canary word that ends every mapping */
#define MMAP_CACHE_SLACK 4 /* a cached mapping serves requests down to 1/4 of it */

/* ---- tcache ---- */
#define TC_NBINS 64                                    /* chunk sizes 32..1040 */
#define TC_MAX_CHUNK (MINSIZE + (TC_NBINS - 1) * 16u)  /* 1040 */
#define TC_MAX_REQUEST (TC_MAX_CHUNK - SIZE_SZ)        /* 1032 */

/*
 * A chunk, as the seeds draw it. Only prev_size and size are always valid;
 * fd/bk exist in free chunks, fd_nextsize/bk_nextsize in free large chunks.
 */
struct chunk {
    size_t prev_size; /* size of the chunk below, if it is free */
    size_t size;      /* this chunk's size | A | M | P */
    struct chunk *fd;
    struct chunk *bk;
    struct chunk *fd_nextsize;
    struct chunk *bk_nextsize;
};
typedef struct chunk chunk;

/* A futex lock: 0 free, 1 held, 2 held with waiters. */
typedef struct {
    _Atomic int v;
} um_lock;

/*
 * A region of memory that an arena carves chunks from: the brk heap or an
 * mmap'd fallback segment (main arena), or an aligned heap (other arenas).
 * It sits at the start of its own memory; chunks follow it.
 */
struct heap {
    struct arena *ar;
    struct heap *prev;     /* the arena's previous (older) heap */
    size_t size;           /* bytes in use from the start of this struct */
    size_t committed;      /* bytes made read/write (aligned heaps, mapped segments) */
    size_t reserved;       /* mapped segments: bytes reserved, grown into in place */
    size_t magic;          /* um_secret ^ address: tells a heap from garbage */
    size_t fence;          /* offset of the fencepost once closed, else 0 */
    int kind;              /* HEAP_BRK, HEAP_MMAP, HEAP_ALIGNED */
    int pad_;
};
typedef struct heap heap;
enum { HEAP_BRK = 1, HEAP_MMAP = 2, HEAP_ALIGNED = 3 };
#define HEAP_HDR ((sizeof(struct heap) + ALIGN_MASK) & ~(size_t)ALIGN_MASK)

/* ---- tcache size classes (see tcache.h for the index math) ---- */
#define TC_MED_PER_DOUBLING 8
#define TC_NMED (7 * TC_MED_PER_DOUBLING) /* 1 KiB .. 128 KiB */
#define TC_MED_FIRST (TC_NBINS + 2)       /* slot of the first medium class */
#define TC_MED_MAX_CHUNK ((size_t)128 * 1024)
#define TC_SLOTS (TC_MED_FIRST + TC_NMED)

/*
 * The central cache (central.c): per arena and size class, free chunks held
 * as whole batches between the thread caches and the bins. A batch is a
 * chain in tcache format (word 0 the encrypted next chunk, word 1 the
 * cache mark); its first chunk's word 2 packs the count and the next batch.
 * To the bins these chunks are in use. One lock per class (a leaf lock: taken
 * after the arena lock, never before it).
 */
#define CC_MIN_CAP ((size_t)64 * 1024) /* a class's capacity before any demand */
struct cclass {
    um_lock lock;
    uint32_t nbatch;      /* batches parked */
    void *batches;        /* newest batch (its first chunk's mem) */
    size_t bytes;         /* bytes parked */
    size_t grown;         /* soft capacity above the minimum: grows when takes find
                           * it empty (zero at start: see um_central_init) */
    size_t low;           /* fewest bytes parked since the last decay tick */
    uint32_t misses;      /* takes that found nothing since the last tick */
    uint32_t ops;         /* takes + gives since the last clock read */
    uint64_t tick_ms;     /* time of the last decay tick */
    uint32_t epoch;       /* the central's epoch + 1 at the last take or give (0: never) */
    uint8_t remote;       /* frees of other CPUs' memory seen lately (central.c, cc_note) */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct cclass) == 64, "a class is one line");
/* A class is split into up to CC_SHARDS shards, chosen by the CPU the
 * calling thread runs on (central.c, cc_shard): cls[CC_AT(i, s)] is class i
 * of shard s. Each shard is a whole table of classes, so two CPUs' classes
 * never share a line, nor a pair of lines (side by side, a line each, the
 * shards of a class were fetched together by the adjacent-line prefetch:
 * bench/threads 2 lost all the sharding gained, 5 runs of
 * `bench/run.py --alloc`). The shards not in use stay unread (their pages
 * unmapped): the scans go by the maps below. */
#define CC_SHARDS 4
#define CC_AT(i, s) ((size_t)(s) * TC_SLOTS + (size_t)(i))
/* Per shard, the classes holding batches (bit i of w[i / 64]): the scans
 * (drain, decay, totals) visit those alone, so a program that parks in a
 * few classes never reads the lines, nor maps the pages, of the rest. Set
 * and cleared under the class's lock as its list turns non-empty or empty;
 * atomic because a word covers 64 classes and their locks. */
struct cc_full {
    _Atomic uint64_t w[2];
    _Atomic uint32_t active; /* the central's epoch + 1 at the shard's last take or give */
    char pad[108]; /* a pair of lines each (the adjacent-line prefetch) */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct cc_full) == 128, "a shard's map is a pair of lines");
_Static_assert(TC_SLOTS <= 128, "cc_full holds a bit per class");
struct central {
    struct cclass cls[CC_SHARDS * TC_SLOTS];
    struct cc_full full[CC_SHARDS];
    uint64_t scan_ms;     /* last full decay scan from the purge tick */
    _Atomic uint32_t epoch; /* epochs of the grow path's drain (um_central_drain_idle) */
    uint64_t epoch_ms;      /* when the current one began (arena lock) */
};

/*
 * Per-arena state of the decay purge (purge.c; all under the arena lock).
 * A sweep walks the large bins from bin `bin`, chunk `cursor` (NULL: the
 * bin's head); unlink_chunk clears the cursor when it takes that chunk.
 */
struct um_purge {
    struct chunk *cursor;
    unsigned bin;          /* bin of the sweep in progress; 0: no sweep */
    int countdown;         /* the clock is read on arena call countdown + 1 (0: the next) */
    unsigned span;         /* arena calls between clock reads now (purge.c) */
    unsigned reads;        /* clock reads, ever (jitters the span) */
    int busy;              /* the purge is working on this arena: its own
                            * frees (a drain) do not tick */
    uint64_t now;          /* ms, last clock read on this arena */
    uint64_t next_sweep;   /* ms: start a sweep at or after this */
    uint64_t top_stamp;    /* ms: when top was last seen grown by frees (or
                            * its end moved: purge_top) */
    uintptr_t top_seen;    /* top's address at the last sample (top_sample;
                            * 0: none yet) */
    uintptr_t top_high;    /* highest top address since then (mallocs) */
    uintptr_t top_lo, top_hi; /* pages of top known purged, anchored at its end */
    uintptr_t top_end;     /* top's end at the last sweep (moved: top is young) */
    size_t purged_bytes;   /* bytes handed back with madvise, ever */
    size_t purge_calls;    /* madvise calls */
    size_t sweeps;         /* sweeps completed */
    size_t trimmed_bytes;  /* bytes unmapped or given back with brk by the purge */
    int emptied;           /* the arena emptied (purge.c, um_purge_emptied): 1 just
                            * now, 2 its central cache drained; 0 otherwise */
    size_t emptied_mark;   /* binned bytes at the last look (um_purge_emptied) */
    size_t emptied_reused; /* purged bytes handed out again in the state (purge.h,
                            * um_purge_handout; purge.c, top_cut) */
    size_t emptied_stop;   /* emptied_reused at which the program is taken to reuse */
    size_t emptied_held;   /* handed out when the state paused for reuse; 0 once
                            * used to begin again, or after a pause for time */
    uint64_t emptied_since; /* ms: the state began */
    uint64_t emptied_until; /* ms: no new state before (a state that was paused) */
    int emptied_undone;     /* the program took back what the last state purged,
                             * and no clock read since found a pause (purge.c) */
    size_t emptied_sys0;    /* system_mem when the last state began */
    size_t emptied_sys_low; /* and when it ended, if lower (its trims) */
    unsigned emptied_backoff; /* states in a row that were paused (purge.c) */
};

struct arena {
    um_lock lock;
    int have_fastchunks;
    int index;                 /* 0 for the main arena */
    _Atomic int attached;      /* threads using this arena */
    chunk *fastbins[NFASTBINS];
    chunk *top;
    size_t abit;               /* NON_MAIN_ARENA, or 0 for the main arena: the A bit of its chunks */
    chunk *last_remainder;
    chunk *bins[NBINS * 2 - 2];
    unsigned binmap[BINMAPSIZE];
    heap *last_heap;           /* the heap holding top */
    struct arena *next;        /* all arenas, main first */
    size_t system_mem;         /* bytes obtained from the OS for heaps */
    size_t max_system_mem;
    size_t contended;          /* lock acquisitions that had to wait */
    struct central *central;   /* batches of free chunks by size class */
    struct um_purge purge;
    uint64_t trim_at;          /* ms: the last free's trim that gave memory back */
    size_t trim_bytes;         /* given back by frees' trims since the heap last grew (trim.c) */
    int trim_repeats;          /* TRIM_REPEATS_*: the heap grew back within the decay
                                * time of such a trim while the threshold had risen
                                * (from then on), or of trims of 32 MiB or more in a
                                * program with one thread (until it starts one):
                                * frees leave top to the decay purge (trim.c) */
    size_t binned;             /* bytes in the free chunks of the bins (not top, not
                                * the fast bins): with top, what the arena holds free
                                * (the emptied-arena purge, purge.c; checked by check.c) */
    /* Each CPU shard's span (arena.c, "Spans"): a chunk in use, marked
     * cached, that the shard's carves cut their runs from while the process
     * has threads; NULL when it has none. Arena lock. */
    chunk *span[CC_SHARDS];
    uint64_t span_ms[CC_SHARDS]; /* the purge clock (ms) at its last cut */
    size_t span_bytes;           /* their sizes, summed (the totals read it relaxed, unlocked) */
};
typedef struct arena arena;

/* A mapped chunk's record, at the start of its mapping. */
struct mmap_rec {
    struct mmap_rec *next, *prev;
    size_t magic;
    size_t pad_;
};

/* Process-wide settings (mallopt and the environment). */
struct um_params {
    size_t mmap_threshold;
    size_t trim_threshold;
    size_t top_pad;
    size_t max_fast;        /* chunk size bound of fast bins */
    int n_mmaps_max;
    int arena_test;
    int arena_max;
    int perturb;
    int no_dyn_threshold;   /* the user pinned a threshold */
    int tcache_off;         /* tcache bypassed (perturb needs every call, or
                             * the user turned the caches off) */
    int tcache_none;        /* glibc.malloc.tcache_count=0 (or tcache_max=0) */
    size_t tcache_max;      /* byte budget of one thread's cache; 0 = default */
    int purge_decay_ms;     /* free pages and idle cached chunks go back after
                             * this; 0 at once, -1 never */
    int purge_thread;       /* the opt-in purge thread is wanted */
    size_t thp;             /* glibc.malloc.hugetlb=1: the transparent huge
                             * page size, else 0 (set once, at the init) */
};

/* Process-wide counters for mapped chunks (under um_mmap_lock). */
struct um_mstats {
    size_t n_mmaps, max_n_mmaps;
    size_t mmapped_mem, max_mmapped_mem;
    size_t mc_count, mc_bytes;      /* freed mappings kept for reuse (large.c) */
    size_t mc_reused, mc_released;  /* ... taken again / given back, ever */
};

#endif
