/*
 * owner.c — the ownership layer: one answer to "is this pointer ours, and
 * whose?", given without reading memory umalloc does not own.
 *
 *  - main arena: a table of its segments (the brk heap, later brk segments,
 *    and the mmap'd segments made while brk is blocked), sorted by address
 *    and searched in O(log n). A new segment publishes a new copy of the
 *    table with one atomic store, so a reader sees the old table or the new
 *    one, never a mix. Old copies are never unmapped (a reader may still be
 *    in one); segments grow geometrically, so there are few of them. Main
 *    segments are never unmapped either (brk segments only shrink).
 *  - one main segment is also a single range, "the box", that free's
 *    inline fast path tests (box_consider): usually the brk heap; with brk
 *    blocked, the mapped segment the heap grows in, once it outgrows every
 *    range the box had. The range never covers memory between segments.
 *  - other arenas: aligned heaps, found by the region bitmap (heap.c) and
 *    checked by the magic in their header.
 *  - mapped chunks: the registry in large.c, which records base and length.
 * Segments are added and resized with the main arena lock held.
 */
#include "bins.h"

/* A copy of the main arena's segment table. Immutable once published. */
struct seg_table {
    size_t n, cap;
    heap *seg[]; /* sorted by address */
};

/* The first table (one segment: the brk heap, usually the only one) needs
 * no mapping; later tables are mapped copies. */
static struct {
    size_t n, cap;
    heap *seg[1];
} seg_first = {0, 1, {0}};

static struct seg_table *_Atomic seg_tab;
static heap *box_seg; /* the segment the fast-path range covers (box_consider) */
/* The segment of the last lookup hit; starts at an empty dummy so readers
 * need no NULL test. Main segments are never unmapped. */
static heap seg_none = {.size = HEAP_HDR};
heap *_Atomic um_seg_hint = &seg_none;

_Atomic uintptr_t um_box_lo, um_box_span;

static uintptr_t seg_end(heap *h) { return (uintptr_t)h + RELAXED_LOAD(h->size); }

/* The fast-path range of main segment h: all of it but its header and its
 * last BOX_GUARD bytes (internal.h). */
static size_t box_span_of(heap *h)
{
    size_t sz = RELAXED_LOAD(h->size);
    return sz > HEAP_HDR + BOX_GUARD ? sz - HEAP_HDR - BOX_GUARD : 0;
}

/*
 * A main segment was added or resized (main arena lock held): the range
 * follows its own segment's size, and moves to a segment whose range has
 * outgrown every range the box ever had (box_max). The box was the brk
 * heap alone: with brk blocked (a mapping placed past the break, or
 * valgrind, which caps the break near 8 MB) the heap grows in a mapped
 * segment, and every free there took the region-map and segment-hint
 * tests and a bound test: with brk blocked from the start (a preloaded
 * library mapping a page past the break), bench/trees took 0.37 s of CPU
 * against 0.34 and heap_random 0.63 against 0.57 (medians of 9
 * interleaved runs pinned to one CPU), and under cachegrind those tests
 * were about 16 instructions of every free in trees.
 *
 * A reader loads span (acquire), then lo. A move stores lo, then span
 * (release): a reader that sees the new span sees the new lo, and one that
 * loads an older span and then the new lo tests [new lo, new lo + older
 * span). Every span ever published is at most box_max, and the box moves
 * only to a segment whose range is larger, so that range lies inside the
 * new segment. (Moving to the larger segment at every resize would let a
 * reader that loaded a brk box's span before a trim apply it to another
 * segment, past that segment's end.) Within one segment, a reader that
 * loaded the span before a trim of the box can still test the old length:
 * the race every trim of the box has (a stale or foreign pointer freed
 * while the heap shrinks). So after a brk box shrinks, a mapped segment
 * gets the box only once it outgrows the old brk heap. Segments are few
 * (they grow geometrically), so the scan is short, and it runs only when
 * one grows or shrinks.
 */
static size_t box_max;

static void box_consider(void)
{
    struct seg_table *t = atomic_load_explicit(&seg_tab, memory_order_relaxed);
    heap *best = box_seg;
    size_t span = best ? box_span_of(best) : 0;
    for (size_t k = 0; t && k < t->n; k++) {
        size_t s = box_span_of(t->seg[k]);
        if (s > box_max && s > span) {
            best = t->seg[k];
            span = s;
        }
    }
    if (!best)
        return;
    if (best != box_seg) {
        box_seg = best;
        atomic_store_explicit(&um_box_lo, (uintptr_t)best + HEAP_HDR, memory_order_relaxed);
    }
    if (span > box_max)
        box_max = span;
    /* (only a change is stored: every free reads this line) */
    if (span != atomic_load_explicit(&um_box_span, memory_order_relaxed))
        atomic_store_explicit(&um_box_span, span, memory_order_release);
}

/* Publish a new main-arena segment h (its kind and size already written).
 * 0 on success, -1 if no memory for the new table. */
int um_owner_add_segment(heap *h)
{
    struct seg_table *old = atomic_load_explicit(&seg_tab, memory_order_relaxed);
    size_t n = old ? old->n : 0;
    struct seg_table *t;
    if (!old) {
        t = (struct seg_table *)&seg_first;
    } else {
        size_t bytes = (sizeof *t + (n + 1) * sizeof(heap *) + um_pagesize - 1) & ~(um_pagesize - 1);
        t = um_os_map(bytes);
        if (!t)
            return -1;
        t->cap = (bytes - sizeof *t) / sizeof(heap *);
    }
    size_t k = 0;
    for (; k < n && old->seg[k] < h; k++)
        t->seg[k] = old->seg[k];
    t->seg[k] = h;
    for (; k < n; k++)
        t->seg[k + 1] = old->seg[k];
    t->n = n + 1;
    atomic_store_explicit(&seg_tab, t, memory_order_release);
    box_consider();
    return 0;
}

/* A main segment's size changed (brk grown or trimmed, a mapped segment
 * grown). */
void um_owner_seg_resized(void) { box_consider(); }

/* The main-arena segment holding address c, or NULL. A branch-free binary
 * search: frees in address order would mispredict every other step. */
static heap *seg_find(uintptr_t c)
{
    /* the segment of the last hit: consecutive frees are usually in one
     * (written only on a miss, so threads share it read-only) */
    heap *h = atomic_load_explicit(&um_seg_hint, memory_order_acquire);
    if (c - (uintptr_t)h < RELAXED_LOAD(h->size))
        return h;
    struct seg_table *t = atomic_load_explicit(&seg_tab, memory_order_acquire);
    if (!t)
        return NULL;
    heap *const *base = t->seg;
    for (size_t n = t->n; n > 1;) {
        size_t half = n / 2;
        base = (uintptr_t)base[half] <= c ? base + half : base;
        n -= half;
    }
    h = base[0];
    if (c - (uintptr_t)h >= RELAXED_LOAD(h->size))
        return NULL;
    atomic_store_explicit(&um_seg_hint, h, memory_order_release);
    return h;
}

/* Where chunks may lie in an aligned heap: after its header (and, in an
 * arena's first heap, after the arena). */
static uintptr_t aligned_first(heap *h)
{
    uintptr_t lo = (uintptr_t)h + HEAP_HDR;
    if ((uintptr_t)h->ar == lo)
        lo += (sizeof(arena) + ALIGN_MASK) & ~(uintptr_t)ALIGN_MASK;
    return lo;
}

/* um_owner_heap, whole: also aligned heaps and the main arena's other
 * segments. */
int um_owner_heap_slow(const void *c, struct um_owner *o)
{
    uintptr_t a = (uintptr_t)c;
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_acquire);
    uintptr_t blo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    heap *h;
    if (a - blo < span) { /* the box: the common case */
        h = (heap *)(blo - HEAP_HDR);
        o->ar = &um_main_arena;
        o->lo = blo;
    } else if (um_heap_owns(c)) {
        h = um_heap_of((chunk *)c);
        if (RELAXED_LOAD(h->magic) != (um_secret ^ (uintptr_t)h))
            return o->kind = OWN_NONE;
        o->ar = RELAXED_LOAD(h->ar);
        o->lo = aligned_first(h);
    } else if ((h = seg_find(a)) != NULL) {
        o->ar = &um_main_arena;
        o->lo = (uintptr_t)h + HEAP_HDR;
    } else {
        return o->kind = OWN_NONE;
    }
    o->h = h;
    o->hi = seg_end(h);
    if (a < o->lo || a >= o->hi)
        return o->kind = OWN_NONE;
    return o->kind = OWN_HEAP;
}

/* The full answer: a heap chunk, a mapped chunk (c is its exact chunk
 * address), or not ours. */
int um_owner_of(const void *c, struct um_owner *o)
{
    if (um_owner_heap(c, o) == OWN_HEAP)
        return OWN_HEAP;
    uintptr_t base;
    size_t len;
    o->ar = NULL;
    o->h = NULL;
    if (um_mmap_lookup((chunk *)c, &base, &len)) {
        o->lo = base;
        o->hi = base + len;
        return o->kind = OWN_MAPPED;
    }
    return o->kind = OWN_NONE;
}

/* um_owner_holds for a chunk outside the box (another segment of the main
 * arena, an aligned heap), or not in any heap. */
int um_owner_holds_slow(arena *av, chunk *p, size_t size)
{
    struct um_owner o;
    if (um_owner_heap_slow(p, &o) != OWN_HEAP || o.ar != av)
        return 0;
    return size <= o.hi - (uintptr_t)p && o.hi - (uintptr_t)p - size >= CHUNK_HDR;
}

/* check.c: the table is sorted, disjoint, and lists exactly the main
 * arena's segments. Returns a message, or NULL when all is well. */
const char *um_owner_check(void)
{
    struct seg_table *t = atomic_load_explicit(&seg_tab, memory_order_acquire);
    size_t nseg = 0;
    for (heap *h = um_main_arena.last_heap; h; h = h->prev) {
        nseg++;
        if (seg_find((uintptr_t)h + HEAP_HDR) != h)
            return "a main-arena segment is missing from the segment table";
    }
    if ((t ? t->n : 0) != nseg)
        return "the segment table has segments the main arena does not";
    for (size_t k = 1; t && k < t->n; k++)
        if (seg_end(t->seg[k - 1]) > (uintptr_t)t->seg[k])
            return "segment table entries overlap or are unsorted";
    uintptr_t lo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
    uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_relaxed);
    if (!box_seg && (lo || span))
        return "a fast-path range with no segment";
    if (box_seg && seg_find((uintptr_t)box_seg + HEAP_HDR) != box_seg)
        return "the fast-path range's segment is not a main-arena segment";
    if (box_seg && (lo != (uintptr_t)box_seg + HEAP_HDR || span != box_span_of(box_seg)))
        return "the fast-path range does not match its segment";
    if (span > box_max)
        return "the fast-path range is past its high-water mark";
    /* a range past the mark: a segment's growth not reported (with no box
     * yet, a segment with any range) */
    for (size_t k = 0; t && k < t->n; k++)
        if (box_span_of(t->seg[k]) > box_max)
            return "a main segment is larger than the fast-path range ever was";
    return NULL;
}
