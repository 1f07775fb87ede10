/*
 * trim.c — the trim layer: giving memory back to the kernel.
 *  - systrim: the main arena's free top above M_TRIM_THRESHOLD moves the
 *    break back down (sbrk with a negative increment), as the seeds show;
 *  - heap trim: an aligned heap whose top is free shrinks in place, and a
 *    heap that became entirely free is unmapped;
 *  - malloc_trim: also returns the whole pages inside free chunks anywhere
 *    in the heap (madvise), which the break alone can never reach; it runs
 *    the decay purge's sweep (purge.c) with no decay, which also calls the
 *    two above for top once top has stayed free for the decay time.
 * All run with the arena lock held.
 */
#include "bins.h"
#include "purge.h"

/* Bytes of top beyond pad that whole pages could give back: the new end a
 * page boundary (with glibc.malloc.hugetlb=1 a huge page's, so that the
 * break or heap end stays where the growth put it: um_grain). */
static size_t top_excess(arena *av, chunk *top, size_t pad)
{
    size_t tsize = top_size(av, top);
    if (tsize <= MINSIZE + 1 || tsize - MINSIZE - 1 <= pad) /* (pad may be any size_t: malloc_trim's) */
        return 0;
    uintptr_t end = (uintptr_t)top + tsize, keep = um_grain_up(end - (tsize - MINSIZE - pad - 1));
    return keep < end ? end - keep : 0;
}

/* Main arena: shrink the brk heap (or release a mapped segment's tail pages). */
int um_systrim(arena *av, size_t pad)
{
    chunk *top = av->top;
    heap *h = av->last_heap;
    if (!top || !h)
        return 0;
    size_t extra = top_excess(av, top, pad);
    if (extra == 0)
        return 0;
    char *end = (char *)top + chunksize(top);
    if (h->kind != HEAP_BRK)
        return um_seg_release_top(h, top, extra);
    if (end != (char *)um_os_brk_end())
        return 0; /* someone else moved the break: leave it */
    if (!um_os_sbrk(-(intptr_t)extra))
        return 0;
    char *now = um_os_brk_end();
    size_t released = (size_t)(end - now);
    if (released == 0)
        return 0;
    set_head(top, (chunksize(top) - released) | PREV_INUSE | CHUNK_FREE);
    RELAXED_STORE(h->size, h->size - released); /* read without a lock by owner.c */
    um_owner_seg_resized();
    av->system_mem -= released;
    return 1;
}

/* An aligned heap: drop emptied newer heaps, then shrink the newest. */
int um_heap_trim(arena *av, heap *h, size_t pad, int force)
{
    int did = 0;
    while (h->prev && av->top == chunk_at(h, HEAP_HDR)) {
        heap *ph = h->prev;
        chunk *top = chunk_at(ph, ph->fence);
        if (!prev_inuse(top)) {
            top = prev_chunk(top);
            av->binned -= chunksize(top);
            unlink_chunk(av, top);
        }
        set_head(top, (size_t)((char *)ph + ph->size - (char *)top) | PREV_INUSE | NON_MAIN_ARENA |
                          CHUNK_FREE);
        set_top(av, top);
        av->last_heap = ph;
        av->system_mem -= h->size;
        ph->fence = 0;
        um_heap_delete(h);
        h = ph;
        did = 1;
    }
    if (did)
        um_purge_top_moved(av);
    size_t extra = top_excess(av, av->top, pad);
    if (extra < um_pagesize || (!force && chunksize(av->top) < RELAXED_LOAD(um_params.trim_threshold)))
        return did;
    char *end = (char *)h + h->size;
    um_os_shrink(end - extra, extra);
    RELAXED_STORE(h->size, h->size - extra);
    h->committed = h->size;
    set_head(av->top, (chunksize(av->top) - extra) | PREV_INUSE | NON_MAIN_ARENA | CHUNK_FREE);
    av->system_mem -= extra;
    return 1;
}

/* Does a free leave top's excess to the decay purge instead of trimming it
 * at once? Only once the dynamic threshold has risen: the program freed a
 * mapped block bigger than the default threshold, so it works with blocks
 * that size, and it gets them from the heap from then on. Trimming top on
 * each free of one and faulting the pages in again for the next is the
 * churn glibc's dynamic threshold exists to avoid, and the immediate trim
 * brought it back in the heap: bench/bigslots --scale=5 (mimalloc-bench's
 * malloc-large pattern: 20 slots, 5000 rounds of free one, malloc 5-25 MiB,
 * write it all) took 1,154,088 page faults and 7.6 s (glibc 1,153,408 and
 * 7.1 s, tcmalloc 839,446 and 6.4 s); with the trim left to the decay,
 * 175,237 faults and 4.4 s, peak RSS 495 MB against 483 (3 interleaved
 * runs, medians). The purge (purge_top) then moves the break back once top
 * has stayed free for the decay time. The price: a process that goes quiet
 * right after such frees keeps that top until its next arena call (or the
 * purge thread, or malloc_trim), where the free itself used to release it
 * (tests/stress/trim_decay_threads has the side with light traffic).
 * Trimming stays immediate with the default threshold (the seeds' trim
 * story), with any threshold the user set, with the decay at 0 (at once) or
 * -1 (never: then nothing else would trim top), and under memory pressure. */
int um_trim_waits_for_decay(void)
{
    /* (um_purge_decay() is 0 under memory pressure and -1 when
     * M_TRIM_THRESHOLD is -1: both trim at once) */
    return RELAXED_LOAD(um_params.mmap_threshold) > DEFAULT_MMAP_THRESHOLD &&
           !RELAXED_LOAD(um_params.no_dyn_threshold) && um_purge_decay() > 0;
}

/* What a free leaves in top: M_TOP_PAD, or while the trim waits for the
 * decay, twice the mmap threshold (more than the next block of the size
 * that raised it can want back), and then only from a top of twice that;
 * a free trims what lies above. A program
 * that frees a large heap at the end of a burst of work and then makes few
 * calls (a postgres backend after a query whose sorts grew blocks of 1-8
 * MiB) left all of it in top: the decay purge runs on arena calls, and the
 * first one after a pause found top grown by the frees and stamped it young
 * (purge.c, top_sample), where glibc's free trims it (its dynamic trim
 * threshold is twice the mmap threshold). tests/api/trim_after_burst frees
 * 111 MiB of such blocks: RSS +97 MB after the frees before, +16 MB now.
 * Trimming to the pad as glibc does took bench/bigslots 1.45x its time
 * and 1.88x its faults (5 interleaved runs, bench/compare.py), and to
 * twice the threshold from any top past the trim threshold 1.38x and
 * 1.59x: its 5-25 MiB blocks come and go at the top. So only a top that
 * holds half the heap or more is trimmed so (the end of a burst: nearly all
 * the heap free; bigslots' first top of 148 MB, with 300 MB of blocks
 * live, was, and the heap grew back 4 ms later: 23,000 faults more, 1.20x).
 * A program whose
 * heap grows back within the decay time of such a trim (bursts that repeat)
 * has its frees leave top to the decay purge from then on (trim_repeats,
 * um_trim_regrown). The bytes to leave, when top holds at least twice as
 * many; TRIM_WAITS: none go now. */
#define TRIM_WAITS ((size_t)-1)
/* av->trim_repeats: bits. ANY: the trims left twice the mmap threshold and
 * the heap grew back (any program). SINGLE: trims of 32 MiB or more grew
 * back while the program had one thread; it counts only until the program
 * starts its first thread (__libc_single_threaded, which glibc does not
 * set again when the threads are gone; um_trim_regrown): a program that
 * ran its rounds before starting worker threads kept the last round's heap
 * through the workers' frees, 87 MB after 8 workers' 19 MB burst against
 * 13-18 MB without the rounds (tests/stress/rounds_then_workers). */
enum { TRIM_REPEATS_ANY = 1, TRIM_REPEATS_SINGLE = 2 };
static int trim_repeats(arena *av)
{
    return (av->trim_repeats & TRIM_REPEATS_ANY) ||
           ((av->trim_repeats & TRIM_REPEATS_SINGLE) && um_single_threaded());
}
/* Do the trims follow the program (not pinned by the user, a decay to
 * give back later)? um_trim_regrown. */
static int trim_adapts(void)
{
    return !RELAXED_LOAD(um_params.no_dyn_threshold) && um_purge_decay() > 0;
}
static size_t free_keeps(arena *av, size_t top)
{
    size_t pad = RELAXED_LOAD(um_params.top_pad);
    if (trim_repeats(av) && trim_adapts())
        return TRIM_WAITS;
    if (!um_trim_waits_for_decay())
        return pad;
    /* (a mapped main segment gives its tail back with madvise, its size
     * unchanged: no growth would show the program taking it back) */
    if (av == &um_main_arena && av->last_heap && av->last_heap->kind != HEAP_BRK)
        return TRIM_WAITS;
    size_t keep = 2 * RELAXED_LOAD(um_params.mmap_threshold);
    if (keep < pad)
        keep = pad;
    return top / 2 >= keep && top >= av->system_mem / 2 ? keep : TRIM_WAITS;
}

/* A heap that breathes. A program that builds the same working memory
 * again and again (git add runs zlib's deflateInit and deflateEnd for every
 * file: about 300 KiB of 64 KiB blocks, all freed at the end) pushes top
 * past M_TRIM_THRESHOLD at the end of each round; the trim gives the pages
 * back, and the next round faults every one of them in again: the page-fault
 * storm of seed 000 (whose fix was M_MMAP_MAX 0 and M_TRIM_THRESHOLD -1),
 * from the heap rather than from mmap. glibc does the same, and its dynamic
 * threshold does not help (it follows freed mapped chunks, and these never
 * were). So the trim threshold follows the heap as the mmap threshold
 * follows mapped chunks: when the heap has to grow again within the decay
 * time of a free's trim, the trims since the last growth gave back memory
 * the program still used, and the threshold rises to twice what they
 * released (at most DYN_TRIM_MAX). The memory still goes back by itself:
 * the decay purge returns top above M_TOP_PAD once it has stayed free for
 * the decay time (purge.c). Not when the user set a threshold or the pad
 * (mallopt or the environment pin them, as in glibc), nor with the decay at
 * 0 or -1 (no purge would return it later). Measured on bench/run.py's git
 * workload (1,220 files, 5 versions; /usr/bin/time on each git command):
 * git add's 5 runs took 47,730 minor faults and 1.33 s before (glibc
 * 42,876; mimalloc 2,556), 2,153 faults and 0.65 s with this. */
#define DYN_TRIM_MAX ((size_t)2 * DEFAULT_MMAP_THRESHOLD_MAX)

/* Called after every growth of the heap (um_grow_top, um_heap_top_fit,
 * um_heap_adopt) when frees' trims released trim_bytes since the last one,
 * so that trim_bytes never counts more than the heap ever held (check.c).
 * Arena lock held. */
void um_trim_regrown(arena *av)
{
    size_t released = av->trim_bytes;
    av->trim_bytes = 0;
    if (!trim_adapts() || um_now_ms() - av->trim_at > (uint64_t)um_purge_decay())
        return;
    if (um_trim_waits_for_decay()) {
        /* the trims left twice the mmap threshold (free_keeps): this
         * program's bursts come back, and the decay serves it better */
        av->trim_repeats |= TRIM_REPEATS_ANY;
        return;
    }
    size_t bar = released < DYN_TRIM_MAX / 2 ? 2 * released : DYN_TRIM_MAX;
    if (bar > RELAXED_LOAD(um_params.trim_threshold))
        RELAXED_STORE(um_params.trim_threshold, bar);
    /* trims of more than the bar can reach: the rounds' heap is larger
     * than any threshold this leaves, and each round would give all of it
     * back and fault it in again (tests/api/burst_loop: 80 MiB rounds,
     * 20,480 faults each); from now on top waits for the decay, as when
     * the mmap threshold has risen. A single-threaded program only, as
     * the emptied state's EMPTIED_AGAIN (purge.c), and only while it
     * stays one (trim_repeats): worker threads that free a burst and wait
     * must see it go back in their frees */
    if (released >= DYN_TRIM_MAX / 2 && um_single_threaded())
        av->trim_repeats |= TRIM_REPEATS_SINGLE;
}

/* After a large free: consolidate, and trim if top has grown past the bar
 * (or leave it to the decay purge, um_trim_waits_for_decay). */
void um_trim_after_free(arena *av)
{
    if (av->have_fastchunks)
        um_consolidate(av);
    if (!av->top)
        return;
    /* (the threshold test first: most large frees leave top below it, and
     * cost no more than before; cachegrind bench pairs-1m, 453 -> 441
     * instructions a pair) */
    size_t before = av->system_mem;
    size_t keep;
    if (av == &um_main_arena) {
        if (chunksize(av->top) >= RELAXED_LOAD(um_params.trim_threshold) &&
            (keep = free_keeps(av, chunksize(av->top))) != TRIM_WAITS)
            um_systrim(av, keep);
    } else {
        keep = free_keeps(av, chunksize(av->top));
        if (keep != TRIM_WAITS)
            um_heap_trim(av, av->last_heap, keep, 0);
    }
    if (av->system_mem < before) {
        /* the end this trim left is not a change the decay purge should
         * take for a heap at work (purge_top: a moved end makes top young,
         * and the rest of a large top freed in a burst waited a decay time
         * more, on calls that may not come) */
        av->purge.top_end = (uintptr_t)av->top + chunksize(av->top);
        if (trim_adapts()) {
            /* (all the trims since the heap last grew: a round's frees
             * come top-down, and each one past the threshold trims a part) */
            av->trim_at = um_now_ms();
            av->trim_bytes += before - av->system_mem;
        }
    }
}

/* Return the whole pages inside every free chunk of av, then trim the top
 * to pad: the purge's own sweep without the decay, so what it purges is
 * recorded (purge.c) and not purged again. */
int um_trim_arena(arena *av, size_t pad)
{
    um_central_drain(av);
    um_consolidate(av);
    return um_purge_arena_all(av, pad);
}
