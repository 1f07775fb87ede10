/*
 * check.c — the whole-heap invariant check (glibc's do_check_malloc_state,
 * made total). DEBUG=1 builds run it after every public call; umalloc_check()
 * runs it on demand. For each arena, under its lock:
 *   - every heap/segment walks chunk by chunk from its first chunk to top or
 *     its fencepost, sizes aligned and >= MINSIZE, the A bit right;
 *   - P bits agree with the chunk below; F is set exactly on the free chunks
 *     and top; a free chunk's foot equals its size;
 *     no two free chunks touch; top is the last chunk of the newest heap;
 *   - every bin is a consistent doubly linked list of free chunks of the
 *     bin's sizes (large bins sorted, skip list consistent), the binmap
 *     covers every non-empty bin, and bins hold exactly the free chunks found
 *     by the walk; fast bin chunks are in use and of their bin's size;
 *   - system_mem equals the sum of the heaps' sizes, and the arena's count of
 *     binned bytes the sum of its free chunks' sizes; the bytes trimmed by
 *     frees since the heap last grew (trim.c) are no more than it ever was;
 *   - purge state: every binned chunk of a page or more carries a valid tag
 *     whose purged pages lie inside its own interior and whose age is not in
 *     the future; the sweep's cursor is a chunk of the bin the sweep is at;
 *     top's purged interval is ordered; the bytes known purged now are no
 *     more than the bytes ever purged.
 * Mapped chunks: header, record and end canary agree with the registry; the
 * mapping cache's entries are page aligned, overlap no live mapping, and
 * its counters add up.
 * And this thread's cache: every entry is an in-use heap chunk of its size.
 */
#include "bins.h"
#include "purge.h"
#include "tcache.h"

#define FAIL(what, addr) um_fatal("check", what, (const void *)(addr), 0)


/* Walk one heap; returns the number of free (binned) chunks seen, and adds
 * their bytes to *bytes. */
static size_t check_heap(arena *av, heap *h, size_t *sys, size_t *bytes)
{
    size_t abit = av == &um_main_arena ? 0 : NON_MAIN_ARENA;
    char *end = (char *)h + h->size;
    chunk *p = chunk_at(h, um_first_chunk_off(av, h));
    size_t nfree = 0;
    int prev_free = 0;
    size_t prev_size = 0;
    *sys += h->size;
    /* a mapped segment is read/write exactly up to its size (the chunks,
     * top's tail included), inside its reservation */
    if (h->kind == HEAP_MMAP && (h->committed != h->size || h->size > h->reserved))
        FAIL("mapped segment's size, commit and reservation disagree at", h);
    if (!prev_inuse(p))
        FAIL("first chunk of a heap without P bit at", p);
    for (;;) {
        if ((char *)p >= end)
            FAIL("heap walk ran past the end at", p);
        if (!hdr_valid(hdr_load_acq(p)))
            FAIL("chunk header overwritten (not one umalloc wrote) at", p);
        size_t s = chunksize(p);
        if ((hdr_load(p) & NON_MAIN_ARENA) != abit || chunk_is_mmapped(p))
            FAIL("wrong A/M bits on chunk", p);
        if (prev_free != !prev_inuse(p))
            FAIL("P bit disagrees with the chunk below at", p);
        if (prev_free && p->prev_size != prev_size)
            FAIL("foot (prev_size) mismatch at", p);
        if (p == av->top) {
            if ((char *)p + s != end || av->last_heap != h)
                FAIL("top is not the last chunk of the newest heap", p);
            if (s < MINSIZE || (s & ALIGN_MASK))
                FAIL("bad top size at", p);
            if (prev_free)
                FAIL("free chunk before top at", p);
            if (!chunk_free_bit(p))
                FAIL("top without its F bit at", p);
            break;
        }
        if (s == 0) { /* end fencepost */
            if (chunk_free_bit(p))
                FAIL("fencepost with the F bit at", p);
            if ((char *)p + CHUNK_HDR != end || h == av->last_heap)
                FAIL("misplaced end fencepost at", p);
            break;
        }
        if (s == CHUNK_HDR) { /* fencepost */
            if (chunk_free_bit(p))
                FAIL("fencepost with the F bit at", p);
            if ((char *)p + 2 * CHUNK_HDR != end)
                FAIL("misplaced fencepost at", p);
            prev_free = 0;
            p = chunk_at(p, s);
            continue;
        }
        if (s < MINSIZE || (s & ALIGN_MASK) || (char *)p + s > end)
            FAIL("bad chunk size at", p);
        /* (the next header decoded before its P bit is believed: an
         * overflow past p's end is named as such, not as a wrong F) */
        if (!hdr_valid(hdr_load(chunk_at(p, s))))
            FAIL("chunk header overwritten (not one umalloc wrote) at", chunk_at(p, s));
        int is_free = !inuse(p);
        if (is_free != chunk_free_bit(p))
            FAIL(is_free ? "free chunk without its F bit at" : "chunk in use with the F bit at", p);
        if (is_free) {
            if (prev_free)
                FAIL("two adjacent free chunks at", p);
            nfree++;
            *bytes += s;
        }
        prev_free = is_free;
        prev_size = s;
        p = chunk_at(p, s);
    }
    return nfree;
}

/* A binned free chunk's purge tag (chunks of a page or more); returns the
 * bytes it says are purged. */
static size_t check_ptag(arena *av, chunk *p, size_t s)
{
    if (s < um_pagesize)
        return 0;
    if (!ptag_valid(p, s))
        FAIL("free chunk without a purge tag at", p);
    const uintptr_t *w = (const uintptr_t *)p;
    uintptr_t lo = w[PTAG_WORD + 2], hi = w[PTAG_WORD + 3];
    uintptr_t ilo = um_grain_up((uintptr_t)p + PTAG_END), ihi = um_grain_down((uintptr_t)p + s);
    if (!ptag_interval_ok(lo, hi, ilo, ihi))
        FAIL("purged pages outside their free chunk at", p);
    if (lo == hi && lo != 0)
        FAIL("empty purged interval not cleared at", p);
    if (w[PTAG_WORD + 1] > av->purge.now)
        FAIL("free chunk stamped in the future at", p);
    return hi - lo;
}

static void check_purge(arena *av, int cursor_seen, size_t purged_now)
{
    struct um_purge *ps = &av->purge;
    unsigned first = largebin_index(um_pagesize);
    if (ps->bin != 0 && ps->bin != 1 && (ps->bin < first || ps->bin > NBINS))
        FAIL("purge sweep at an impossible bin in arena", av);
    if (ps->cursor && !cursor_seen)
        FAIL("purge cursor is not a chunk of the swept bin", ps->cursor);
    if (ps->top_lo > ps->top_hi)
        FAIL("top's purged interval reversed in arena", av);
    chunk *top = av->top;
    if (top) {
        uintptr_t lo = um_grain_up((uintptr_t)top + PTAG_END);
        uintptr_t hi = um_grain_down((uintptr_t)top + chunksize(top));
        uintptr_t plo = um_purge_top_lo(av);
        if (ps->top_hi == hi && lo < hi && plo < hi)
            purged_now += hi - (plo > lo ? plo : lo);
    }
    if (purged_now > ps->purged_bytes)
        FAIL("more bytes purged now than ever purged in arena", av);
}

static void check_bins(arena *av, size_t expect_free)
{
    size_t binned = 0, purged_now = 0;
    int cursor_seen = 0;
    for (unsigned i = 1; i < NBINS; i++) {
        chunk *b = bin_at(av, i);
        size_t prev = (size_t)-1;
        if (b->fd != b && i > 1 && !(av->binmap[idx2block(i)] & idx2bit(i)))
            FAIL("non-empty bin not marked in binmap", b);
        for (chunk *p = b->fd; p != b; p = p->fd) {
            /* p is the head's fd or a link checked below; its own links
             * are checked before they are followed (bins.h, bin_link_ok) */
            if (!bin_link_ok(av, p->fd, BIN_LINK_SMALL) || !bin_link_ok(av, p->bk, BIN_LINK_SMALL))
                FAIL("bin link points outside the heap (a write after free?) in", chunk_to_mem(p));
            size_t s = chunksize(p);
            if (p->fd->bk != p || p->bk->fd != p)
                FAIL("broken bin links at", p);
            if (inuse(p))
                FAIL("in-use chunk in a bin at", p);
            if (i > 1 && bin_index(s) != i)
                FAIL("chunk in the wrong bin at", p);
            if (i > 1 && !in_smallbin_range(s)) {
                if (s > prev)
                    FAIL("large bin out of order at", p);
                if (p->fd_nextsize) {
                    if (!bin_link_ok(av, p->fd_nextsize, BIN_LINK_LARGE) ||
                        !bin_link_ok(av, p->bk_nextsize, BIN_LINK_LARGE))
                        FAIL("skip-list link points outside the heap (a write after free?) in",
                             chunk_to_mem(p));
                    if (p->fd_nextsize->bk_nextsize != p || p->bk_nextsize->fd_nextsize != p)
                        FAIL("broken skip list at", p);
                }
                prev = s;
            }
            if (++binned > expect_free)
                FAIL("bins hold more chunks than the heap has free", p);
            purged_now += check_ptag(av, p, s);
            if (p == av->purge.cursor && i == av->purge.bin)
                cursor_seen = 1;
        }
    }
    if (binned != expect_free)
        FAIL("free chunk missing from every bin in arena", av);
    check_purge(av, cursor_seen, purged_now);
    for (unsigned i = 0; i < NFASTBINS; i++) {
        size_t n = 0;
        for (chunk *p = av->fastbins[i]; p; p = link_reveal(p->fd)) {
            if (!link_ok(p) || !um_owner_holds(av, p, MINSIZE) || fastbin_index(chunksize(p)) != i)
                FAIL("bad fast bin chunk at", p);
            if (!inuse(p) || chunk_free_bit(p))
                FAIL("fast bin chunk not marked in use at", p);
            if (!um_cache_marked(chunk_to_mem(p)))
                FAIL("fast bin chunk without its cache mark at", p);
            if (++n > (av->system_mem >> 5))
                FAIL("cycle in fast bin", p);
        }
    }
}

/* The shards' spans (arena.c, "Spans"): chunks in use of av inside its
 * heaps, marked cached, one per shard in use at most, their sizes summing
 * to span_bytes (arena lock held). */
static void check_spans(arena *av)
{
    size_t sum = 0;
    for (size_t s = 0; s < CC_SHARDS; s++) {
        chunk *p = av->span[s];
        if (!p)
            continue;
        size_t size = chunksize(p);
        if (s > RELAXED_LOAD(um_cc_mask) || size < MINSIZE || !um_owner_holds(av, p, size) ||
            chunk_is_mmapped(p) || !inuse(p) || chunk_free_bit(p) ||
            !um_cache_marked(chunk_to_mem(p)) || um_arena_of(p) != av)
            FAIL("bad span at", p);
        for (size_t o = 0; o < s; o++)
            if (av->span[o] == p)
                FAIL("one span for two shards at", p);
        sum += size;
    }
    if (sum != av->span_bytes)
        FAIL("span bytes disagree with the spans of arena", av);
}

static void check_arena(arena *av)
{
    um_lock_acquire(&av->lock);
    if (av->abit != (av == &um_main_arena ? 0 : NON_MAIN_ARENA))
        FAIL("wrong A bit recorded in arena", av);
    size_t sys = 0, nfree = 0, free_bytes = 0;
    for (heap *h = av->last_heap; h; h = h->prev) {
        if (h->magic != (um_secret ^ (uintptr_t)h) || h->ar != av)
            FAIL("corrupted heap header at", h);
        nfree += check_heap(av, h, &sys, &free_bytes);
    }
    if (sys != av->system_mem)
        FAIL("system_mem disagrees with the heaps of arena", av);
    if (free_bytes != av->binned)
        FAIL("binned bytes disagree with the free chunks of arena", av);
    if (av->purge.emptied < 0 || av->purge.emptied > 2)
        FAIL("impossible emptied state in arena", av);
    if (av->purge.emptied && (av->purge.emptied_since == 0 || av->purge.emptied_since > um_now_ms()))
        FAIL("emptied state with no start time in arena", av);
    if (av->purge.emptied && av->purge.emptied_reused > av->purge.emptied_stop)
        FAIL("emptied state past its reuse stop in arena", av); /* (emptied_reuse pauses it) */
    /* (EMPTIED_AGAIN: set equal when a state begins, the low only lowered,
     * both cleared together at a pause) */
    if (av->purge.emptied_sys_low > av->purge.emptied_sys0)
        FAIL("emptied state's heap marks out of order in arena", av);
    if ((unsigned)av->purge.emptied_undone > 1)
        FAIL("impossible emptied_undone in arena", av);
    /* what frees' trims gave back since the heap last grew came out of it */
    if (av->trim_bytes > av->max_system_mem || (av->trim_bytes && !av->trim_at))
        FAIL("trim record out of range in arena", av);
    /* trim.c's two TRIM_REPEATS_* bits and nothing else */
    if ((unsigned)av->trim_repeats > 3)
        FAIL("impossible trim_repeats in arena", av);
    const char *own = av == &um_main_arena ? um_owner_check() : NULL;
    if (own)
        FAIL(own, av);
    check_bins(av, nfree);
    check_spans(av);
    um_lock_release(&av->lock);
    um_central_check(av);
}

/* Length of a cache list of slot i (its stack or its outbound list), each
 * entry checked; fails past max entries. */
static size_t tc_list_len(void **e, size_t i, size_t max)
{
    size_t n = 0;
    for (; e; e = link_reveal(e[0])) {
        chunk *p = mem_to_chunk(e);
        /* (any arena's chunk: where it lies before its words are read) */
        if (!link_ok(e) || !um_cached_mem_ok(e) || chunksize(p) != tc_slot_size(i) || chunk_is_mmapped(p))
            FAIL("bad tcache entry", e);
        if (!um_cache_marked(e) || !inuse(p) || chunk_free_bit(p))
            FAIL("tcache entry not marked", e);
        if (++n > max)
            FAIL("tcache list longer than its count", e);
    }
    return n;
}

static void check_tcache(void)
{
    struct tcache *tc = um_tcp;
    if (um_tc_state != TC_LIVE || tc == &um_tc_empty)
        return;
    size_t bytes = 0, med = 0;
    for (size_t i = 2; i < TC_SLOTS; i++) {
        bytes += (size_t)tc->limit[i] * tc_slot_size(i);
        if (i >= TC_MED_FIRST)
            med += (size_t)tc->limit[i] * tc_slot_size(i);
    }
    /* the budget's running sums (tcache.c keeps them in step with the limits) */
    if (bytes != tc->limit_bytes || med != tc->med_limit_bytes)
        FAIL("tcache limit totals disagree with its limits", tc);
    /* the process-wide sum of medium limits includes this cache's */
    if (um_tcache_med_total() < med)
        FAIL("medium limit total of all caches below this cache's", tc);
    for (size_t i = 2; i < TC_SLOTS; i++) {
        if (tc_list_len(tc->head[i], i, tc_count(tc, i)) != tc_count(tc, i))
            FAIL("tcache count disagrees with its list", tc->head[i]);
        if (tc->room[i] > tc->limit[i])
            FAIL("tcache bin over its limit", tc->head[i]);
        /* the outbound list: only a slot never refilled and with no stack
         * has one, shorter than its flush batch */
        size_t n = tc_list_len(tc->out[i], i, 64);
        if (n != tc->out_n[i] || n >= um_tcache_out_batch(i) ||
            (n && (tc->fills[i] || tc->limit[i])))
            FAIL("tcache outbound list disagrees with its slot", tc->out[i]);
    }
}

/* One arena, listed or not (the unit tests' private arenas are not). */
void um_check_arena(arena *av) { check_arena(av); }

void um_check_all(void)
{
    if (!atomic_load_explicit(&um_initialized, memory_order_acquire))
        return;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        check_arena(a);
    const void *where = NULL;
    const char *bad = um_mmap_check(&where);
    if (bad)
        FAIL(bad, where);
    check_tcache();
}
