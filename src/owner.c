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
 *  - the brk heap (the first brk segment) is also a single range that free's
 *    inline fast path tests: lo is written once before span becomes
 *    non-zero, span is one word, and no range ever covers memory between
 *    segments.
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
static heap *box_seg; /* the segment the fast-path range covers */
/* The segment of the last lookup hit; starts at an empty dummy so readers
 * need no NULL test. Main segments are never unmapped. */
static heap seg_none = {.size = HEAP_HDR};
heap *_Atomic um_seg_hint = &seg_none;

_Atomic uintptr_t um_box_lo, um_box_span;

static uintptr_t seg_end(heap *h) { return (uintptr_t)h + RELAXED_LOAD(h->size); }

/* The fast-path range follows the first brk segment, less its last
 * BOX_GUARD bytes (internal.h). */
static void box_publish(heap *h)
{
    size_t sz = RELAXED_LOAD(h->size);
    size_t span = sz > HEAP_HDR + BOX_GUARD ? sz - HEAP_HDR - BOX_GUARD : 0;
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
    if (!box_seg && h->kind == HEAP_BRK) {
        box_seg = h;
        /* lo once, before span leaves 0: a reader that loads span (acquire)
         * and then lo never sees a range that mixes two segments */
        atomic_store_explicit(&um_box_lo, (uintptr_t)h + HEAP_HDR, memory_order_relaxed);
        box_publish(h);
    }
    return 0;
}

/* h->size changed (brk grown or trimmed). */
void um_owner_seg_resized(heap *h)
{
    if (h == box_seg)
        box_publish(h);
}

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
    if (a - blo < span) { /* the brk heap: the common case */
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

/* um_owner_holds for a chunk outside the brk heap (a mapped segment of the
 * main arena, an aligned heap), or not in any heap. */
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
    if (box_seg) {
        uintptr_t lo = atomic_load_explicit(&um_box_lo, memory_order_relaxed);
        uintptr_t span = atomic_load_explicit(&um_box_span, memory_order_relaxed);
        size_t sz = RELAXED_LOAD(box_seg->size);
        if (lo != (uintptr_t)box_seg + HEAP_HDR ||
            span != (sz > HEAP_HDR + BOX_GUARD ? sz - HEAP_HDR - BOX_GUARD : 0))
            return "the fast-path range does not match the brk heap";
    }
    return NULL;
}
