/*
 * walk.c — the one heap walk that every report shares (heap map, picture,
 * RSS account, mallinfo's cross-checks in the tests): every region the
 * allocator owns, every chunk in it, and the state of each chunk, decided
 * by one function, chunk_state(). A report that counts "in use", "cached"
 * or "free" asks this file, so all reports agree.
 *
 * Regions: each arena's heaps (the main arena's brk heap and mmap'd
 * segments, the other arenas' aligned heaps), oldest first, then the mapped
 * chunks. Each heap is walked under its arena's lock; the visitor must not
 * allocate. Chunks that a list holds while the bins count them as in use
 * (fast bins, the central cache) or that the P bits alone cannot place
 * (unsorted) are gathered first into a sorted scratch array.
 */
#include "bins.h"
#include "tcache.h"

const char *const um_cstate_name[UM_CS_N] = {
    "in use", "cached (thread cache)", "cached (central cache)", "free (fast bin)",
    "free (unsorted bin)", "free (small bin)", "free (large bin)", "top", "metadata",
};

/* ---- the chunks that lists hold, sorted by address, state in the low bits ---- */
struct listed {
    uintptr_t *v;
    size_t n, cap, maplen;
};

static void listed_add(struct listed *l, chunk *p, int state)
{
    if (l->n < l->cap)
        l->v[l->n++] = (uintptr_t)p | (uintptr_t)state;
}

static void listed_central(chunk *p, void *ctx) { listed_add(ctx, p, UM_CS_CENTRAL); }

static size_t count_listed(arena *av)
{
    size_t n = um_arena_central_foreach(av, NULL, NULL);
    for (unsigned i = 0; i < NFASTBINS; i++)
        for (chunk *p = av->fastbins[i]; p; p = fastbin_next(p, "malloc_stats"))
            n++;
    chunk *ub = bin_at(av, 1);
    for (chunk *p = ub->bk; p != ub; p = bin_link(av, p->bk, BIN_LINK_SMALL, p, "malloc_stats"))
        n++;
    return n;
}

static void sort_listed(uintptr_t *v, size_t n)
{
    /* heapsort: no recursion, no allocation */
    for (size_t start = n / 2; start-- > 0;)
        for (size_t root = start;;) {
            size_t c = 2 * root + 1;
            if (c >= n)
                break;
            if (c + 1 < n && v[c + 1] > v[c])
                c++;
            if (v[root] >= v[c])
                break;
            uintptr_t t = v[root]; v[root] = v[c]; v[c] = t;
            root = c;
        }
    for (size_t end = n; end-- > 1;) {
        uintptr_t t = v[0]; v[0] = v[end]; v[end] = t;
        for (size_t root = 0;;) {
            size_t c = 2 * root + 1;
            if (c >= end)
                break;
            if (c + 1 < end && v[c + 1] > v[c])
                c++;
            if (v[root] >= v[c])
                break;
            uintptr_t t2 = v[root]; v[root] = v[c]; v[c] = t2;
            root = c;
        }
    }
}

/* Gather the listed chunks of av (lock held). 0 if the scratch map failed. */
static int listed_build(arena *av, struct listed *l)
{
    size_t n = count_listed(av);
    l->n = 0;
    l->cap = n;
    l->maplen = (n * sizeof(uintptr_t) + um_pagesize - 1) & ~(um_pagesize - 1);
    l->v = NULL;
    if (n == 0)
        return 1;
    l->v = um_os_map(l->maplen);
    if (!l->v)
        return 0;
    um_arena_central_foreach(av, listed_central, l);
    for (unsigned i = 0; i < NFASTBINS; i++)
        for (chunk *p = av->fastbins[i]; p; p = fastbin_next(p, "malloc_stats"))
            listed_add(l, p, UM_CS_FAST);
    chunk *ub = bin_at(av, 1);
    for (chunk *p = ub->bk; p != ub; p = bin_link(av, p->bk, BIN_LINK_SMALL, p, "malloc_stats"))
        listed_add(l, p, UM_CS_UNSORTED);
    sort_listed(l->v, l->n);
    return 1;
}

static void listed_free(struct listed *l)
{
    if (l->v)
        um_os_unmap(l->v, l->maplen);
}

static int listed_find(const struct listed *l, chunk *p)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uintptr_t a = l->v[mid] & ~(uintptr_t)ALIGN_MASK;
        if (a == (uintptr_t)p)
            return (int)(l->v[mid] & ALIGN_MASK);
        if (a < (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/*
 * THE classification: what chunk p (size s, not top, not a fencepost) of
 * arena av is. A chunk a list holds is what the list says; a chunk whose
 * P bit (in the next chunk) says free is in a small or large bin; an in-use
 * chunk whose second word is its cache mark sits in a thread cache; the
 * rest belongs to the program. The lead extends this for the central cache.
 */
static int chunk_state(const struct listed *l, chunk *p, size_t s)
{
    int st = listed_find(l, p);
    if (st >= 0)
        return st;
    if (!inuse(p))
        return s < MIN_LARGE_SIZE ? UM_CS_SMALL : UM_CS_LARGE;
    if (um_cache_marked(chunk_to_mem(p)))
        return UM_CS_CACHED;
    return UM_CS_USED;
}


static void walk_heap(arena *av, heap *h, const struct listed *l, const struct um_walker *w)
{
    struct um_region r = {av, h, (char *)h, (char *)h + h->size, h->kind};
    char *end = r.hi;
    if (w->region && !w->region(w->ctx, &r))
        return;
    if (!w->chunk)
        return;
    size_t off = um_first_chunk_off(av, h);
    w->chunk(w->ctx, &r, r.lo, off, UM_CS_META);
    for (chunk *p = chunk_at(h, off); (char *)p < end;) {
        size_t s = hdr_load_acq(p) & ~(size_t)SIZE_BITS;
        if (p == av->top) {
            w->chunk(w->ctx, &r, (char *)p, (size_t)(end - (char *)p), UM_CS_TOP);
            break;
        }
        if (s < MINSIZE || (char *)p + s > end) { /* fenceposts: the heap's end */
            w->chunk(w->ctx, &r, (char *)p, (size_t)(end - (char *)p), UM_CS_META);
            break;
        }
        w->chunk(w->ctx, &r, (char *)p, s, chunk_state(l, p, s));
        p = chunk_at(p, s);
    }
}

void um_walk_arena(arena *av, const struct um_walker *w)
{
    um_lock_acquire(&av->lock);
    struct listed l;
    if (listed_build(av, &l)) {
        /* oldest first (the order they were made), from a small array; an
         * arena with more heaps than that is walked newest first */
        heap *hs[256];
        size_t n = 0;
        heap *h = av->last_heap;
        for (; h && n < 256; h = h->prev)
            hs[n++] = h;
        if (h) {
            for (h = av->last_heap; h; h = h->prev)
                walk_heap(av, h, &l, w);
        } else {
            while (n > 0)
                walk_heap(av, hs[--n], &l, w);
        }
        listed_free(&l);
    }
    um_lock_release(&av->lock);
}

struct mapped_ctx {
    const struct um_walker *w;
};

static void walk_mapped(chunk *p, size_t maplen, void *ctx)
{
    const struct um_walker *w = ((struct mapped_ctx *)ctx)->w;
    char *base = (char *)p - p->prev_size;
    struct um_region r = {NULL, NULL, base, base + maplen, UM_REGION_MAPPED};
    if (w->region && !w->region(w->ctx, &r))
        return;
    if (!w->chunk)
        return;
    if ((char *)p > base)
        w->chunk(w->ctx, &r, base, (size_t)((char *)p - base), UM_CS_META);
    w->chunk(w->ctx, &r, (char *)p, chunksize(p), UM_CS_USED);
}

void um_walk_all(const struct um_walker *w)
{
    um_ensure_init();
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        um_walk_arena(a, w);
    struct mapped_ctx m = {w};
    um_mmap_foreach(walk_mapped, &m);
}
