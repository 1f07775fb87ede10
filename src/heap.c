/*
 * heap.c — where arenas get memory: the main arena's segments (the brk heap,
 * and mmap'd segments when something blocks the break) and the aligned
 * HEAP_MAX_SIZE heaps of the other arenas, found from a chunk by masking.
 * Every segment/heap starts with a struct heap; the arena's top chunk is the
 * last chunk of its newest one. An older segment is closed with two
 * fenceposts: a 16-byte in-use chunk and a size-0 end marker.
 * Invariant: a chunk of an arena lies inside one of that arena's heaps.
 */
#include "bins.h"

/* One bit per HEAP_MAX_SIZE region of the address space: set while an aligned
 * heap lives there. Lets free() tell a heap chunk from a wild pointer. */
_Atomic uint64_t um_region_map[REGION_WORDS];
#define region_map um_region_map

static void region_mark(void *p, int on)
{
    uintptr_t r = (uintptr_t)p >> REGION_SHIFT;
    uint64_t bit = 1ull << (r & 63);
    if (on)
        atomic_fetch_or_explicit(&region_map[r >> 6], bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&region_map[r >> 6], ~bit, memory_order_relaxed);
}


/* The arena of an in-use chunk, validating the heap it claims to be in. */
arena *um_arena_of(chunk *p)
{
    if (chunk_main_arena(p))
        return &um_main_arena;
    if (!um_heap_owns(p))
        return NULL;
    heap *h = um_heap_of(p);
    if (h->magic != (um_secret ^ (uintptr_t)h))
        return NULL;
    return h->ar;
}

static size_t page_align(size_t n) { return (n + um_pagesize - 1) & ~(um_pagesize - 1); }

/* Heaps grow in whole pages, or with glibc.malloc.hugetlb=1 in whole huge
 * pages (um_grain) that are asked for as huge pages: the bytes to add to a
 * heap ending at end to make n more, and the new range's advice. A heap's
 * end stays on a huge page's boundary (from the first growth on: the
 * break is not one at the start), so its pages can be huge ones, and the
 * trim and purge keep it there (trim.c, purge.c). */
static size_t grow_incr(uintptr_t end, size_t n) { return um_grain_up(end + n) - end; }
static void grown(void *start, size_t len)
{
    if (um_params.thp)
        um_os_huge(start, len);
}

/* M_TOP_PAD as a growth adds it. The setting takes any size_t (mallopt's
 * negative ints, the environment's huge values), so it is capped here,
 * where it meets sizes: uncapped, mallopt(M_TOP_PAD, -4096) made
 * nb + pad + MINSIZE wrap to less than nb, and the growth wrote a segment
 * header past the break (SIGSEGV) or grew a non-main heap by nothing, and
 * its malloc looped. A pad too big to be had is dropped: each growth
 * below tries again without it. */
static size_t growth_pad(void)
{
    size_t pad = RELAXED_LOAD(um_params.top_pad);
    return pad < MAX_REQUEST ? pad : MAX_REQUEST;
}

/* Start a segment/heap at h of the given size and make its space the top. */
static void heap_start(arena *av, heap *h, size_t size, int kind, size_t first_off)
{
    h->ar = av;
    h->prev = av->last_heap;
    RELAXED_STORE(h->size, size); /* lock-free readers: owner.c */
    h->committed = size;
    h->magic = um_secret ^ (uintptr_t)h;
    h->kind = kind;
    h->fence = 0;
    av->last_heap = h;
    chunk *top = chunk_at(h, first_off);
    size_t tsize = size - first_off;
    set_head(top, tsize | PREV_INUSE | (av == &um_main_arena ? 0 : NON_MAIN_ARENA) | CHUNK_FREE);
    set_top(av, top);
    av->system_mem += size;
    if (av->system_mem > av->max_system_mem)
        av->max_system_mem = av->system_mem;
}

/* Close the old top before moving to a new segment: fence its end off and
 * free what is left, so the old segment's free space stays usable. */
void um_heap_close_top(arena *av)
{
    chunk *old = av->top;
    if (!old)
        return;
    heap *h = av->last_heap;
    size_t s = chunksize(old);
    size_t abit = av == &um_main_arena ? 0 : NON_MAIN_ARENA;
    chunk *fp2 = chunk_at(old, s - CHUNK_HDR);
    set_head(fp2, 0 | PREV_INUSE | abit);
    if (s >= 2 * CHUNK_HDR + MINSIZE) {
        chunk *fp1 = chunk_at(old, s - 2 * CHUNK_HDR);
        set_head(fp1, CHUNK_HDR | PREV_INUSE | abit);
        /* in use (no F), to be freed */
        set_head(old, (s - 2 * CHUNK_HDR) | (hdr_load(old) & (PREV_INUSE | NON_MAIN_ARENA)));
        h->fence = (size_t)((char *)fp1 - (char *)h);
        set_top(av, NULL);
        um_int_free(av, old, s - 2 * CHUNK_HDR, "malloc");
    } else {
        /* a dead in-use chunk before fp2 */
        set_head(old, (s - CHUNK_HDR) | (hdr_load(old) & (PREV_INUSE | NON_MAIN_ARENA)));
        h->fence = (size_t)((char *)old - (char *)h);
        set_top(av, NULL);
    }
}

/* Map a new aligned heap holding at least size bytes (header included). */
heap *um_heap_new(size_t size, arena *av)
{
    size = grow_incr(0, size < HEAP_MIN_SIZE ? HEAP_MIN_SIZE : size);
    if (size > HEAP_MAX_SIZE)
        return NULL;
    heap *h = um_os_reserve_aligned(HEAP_MAX_SIZE, HEAP_MAX_SIZE);
    if (!h)
        return NULL;
    if (um_os_commit(h, size) != 0) {
        um_os_unmap(h, HEAP_MAX_SIZE);
        return NULL;
    }
    grown(h, size);
    region_mark(h, 1);
    h->ar = av;
    h->size = size;
    h->committed = size;
    h->magic = um_secret ^ (uintptr_t)h;
    return h;
}

/* Grow an aligned heap in place to new_size; 0 on success. */
static int heap_grow(heap *h, size_t new_size)
{
    new_size = grow_incr(0, new_size); /* (h is aligned to HEAP_MAX_SIZE) */
    if (new_size > HEAP_MAX_SIZE)
        return -1;
    if (new_size > h->committed) {
        if (um_os_commit((char *)h + h->committed, new_size - h->committed) != 0)
            return -1;
        grown((char *)h + h->committed, new_size - h->committed);
        h->committed = new_size;
    }
    RELAXED_STORE(h->size, new_size);
    return 0;
}

/* Move the break up by part bytes from end, where top ends: 1 when the new
 * pages follow end; 0, the break left where it was, when brk refused or
 * someone else moved the break in between. */
static int brk_claim(char *end, size_t part)
{
    char *got = um_os_sbrk((intptr_t)part);
    if (got == end)
        return 1;
    if (got)
        um_os_sbrk(-(intptr_t)part);
    return 0;
}

/* Top (old bytes, in brk segment h) grew in place by part bytes: its
 * header, the segment's size and the arena's. */
static void brk_top_grew(arena *av, heap *h, size_t old, size_t part)
{
    set_head(av->top, (old + part) | PREV_INUSE | CHUNK_FREE);
    RELAXED_STORE(h->size, h->size + part); /* read by owner.c */
    um_owner_seg_resized();
    av->system_mem += part;
    if (av->system_mem > av->max_system_mem)
        av->max_system_mem = av->system_mem;
}

/* Main arena: extend top with brk, or start a new segment (brk or mmap),
 * making room for pad bytes more than nb + MINSIZE. */
static int grow_main_by(arena *av, size_t nb, size_t pad)
{
    heap *h = av->last_heap;
    size_t old_size = av->top ? top_size(av, av->top) : 0;
    char *old_end = av->top ? (char *)av->top + old_size : NULL;
    size_t want = nb + pad + MINSIZE;

    if (h && h->kind == HEAP_BRK && old_end == (char *)um_os_brk_end()) {
        size_t incr = grow_incr((uintptr_t)old_end, want - (old_size < want ? old_size : want));
        if (incr < um_pagesize)
            incr = um_pagesize;
        if (brk_claim(old_end, incr)) {
            grown(old_end, incr);
            brk_top_grew(av, h, old_size, incr);
            return 0;
        }
    } else {
        /* First use, or someone else moved the break: a new brk segment. */
        char *cur = um_os_brk_end();
        size_t lead = (size_t)(-(uintptr_t)cur & ALIGN_MASK);
        size_t incr = grow_incr((uintptr_t)cur, lead + HEAP_HDR + want);
        char *base = cur != (void *)-1 ? um_os_sbrk((intptr_t)incr) : NULL;
        if (base) {
            if (base != cur) { /* raced with a foreign sbrk: give up on brk */
                um_os_sbrk(-(intptr_t)incr);
            } else {
                grown(base, incr);
                heap *nh = (heap *)(base + lead);
                RELAXED_STORE(nh->size, incr - lead); /* read by owner.c */
                nh->kind = HEAP_BRK;
                if (um_owner_add_segment(nh) == 0) {
                    um_heap_close_top(av);
                    heap_start(av, nh, incr - lead, HEAP_BRK, HEAP_HDR);
                    return 0;
                }
                um_os_sbrk(-(intptr_t)incr);
                return -1;
            }
        }
    }
    /* brk is blocked: mapped segments, as glibc has, each a reservation of
     * at least HEAP_MAX_SIZE (no access, no commit charge) whose front is
     * made read/write as the heap grows, as brk would move: top grows in
     * place, so a heap of any size up to the reservation is one segment.
     * The free fast path classifies a chunk outside its range (owner.c's
     * box) by the segment it found last (um_owner_seg_hint); with a new
     * mapping of an eighth of the heap at each growth, a 38 MB heap was 22
     * segments (tests/api/brk_blocked_grow), most frees missed the hint and searched
     * the segment table, and with brk blocked from the start (a preloaded
     * library mapping a page past the break) bench/heap_random took 2.0x
     * its time, bulk 1.4x, trees 1.14x (5 interleaved runs each). So did
     * every run under valgrind, which caps the break at 8 MB: its
     * instruction counts for the bigger workloads were those of this path.
     * The segment, once larger than the brk heap, also becomes free()'s
     * fast-path range (owner.c, box_consider). */
    if (h && h->kind == HEAP_MMAP && old_end == (char *)h + h->size) {
        size_t need = want - (old_size < want ? old_size : want);
        size_t incr = grow_incr((uintptr_t)old_end, need);
        if (incr > h->reserved - h->size) /* (the last huge page may not fit) */
            incr = page_align(need);
        if (incr < um_pagesize)
            incr = um_pagesize;
        if (incr <= h->reserved - h->size && um_os_commit((char *)h + h->size, incr) == 0) {
            grown((char *)h + h->size, incr);
            set_head(av->top, (old_size + incr) | PREV_INUSE | CHUNK_FREE);
            RELAXED_STORE(h->size, h->size + incr); /* read by owner.c */
            um_owner_seg_resized();
            h->committed = h->size;
            av->system_mem += incr;
            if (av->system_mem > av->max_system_mem)
                av->max_system_mem = av->system_mem;
            return 0;
        }
    }
    /* A segment larger than a heap holds one block that no mapping of its
     * own served (past M_MMAP_MAX, or refused by the kernel): its pages are
     * charged to the commit limit as they are made writable, so a request
     * the kernel refuses fails here, with ENOMEM, as glibc's does. Without
     * the charge, malloc(64 GiB) on a 24 GiB machine with no swap returned
     * a block (the kernel would kill the program as it wrote it), and the
     * segment's address space stayed mapped after free and malloc_trim (a
     * reviewer's reproducer). Segments of a heap's size keep MAP_NORESERVE,
     * as glibc's heaps: they are committed a piece at a time. */
    size_t len = grow_incr(0, HEAP_HDR + want);
    size_t res = len > HEAP_MAX_SIZE ? len : HEAP_MAX_SIZE;
    heap *nh = len > HEAP_MAX_SIZE ? um_os_reserve_accounted(res, um_grain())
                                   : um_os_reserve_aligned(res, um_grain());
    if (!nh)
        return -1;
    if (um_os_commit(nh, len) != 0) {
        um_os_unmap(nh, res);
        return -1;
    }
    grown(nh, len);
    RELAXED_STORE(nh->size, len); /* read by owner.c */
    nh->kind = HEAP_MMAP;
    nh->reserved = res;
    if (um_owner_add_segment(nh) != 0) {
        um_os_unmap(nh, res);
        return -1;
    }
    um_heap_close_top(av);
    heap_start(av, nh, len, HEAP_MMAP, HEAP_HDR);
    return 0;
}

/* (a failed growth changes nothing, so the second try starts afresh) */
static int grow_main(arena *av, size_t nb)
{
    size_t pad = growth_pad();
    return grow_main_by(av, nb, pad) == 0 || (pad && grow_main_by(av, nb, 0) == 0) ? 0 : -1;
}

/* Other arenas: grow the newest heap in place, else map a new heap. */
static int grow_other(arena *av, size_t nb)
{
    heap *h = av->last_heap;
    size_t tsize = top_size(av, av->top);
    size_t need = nb + MINSIZE - tsize;
    size_t old = h->size;
    size_t pad = growth_pad();
    if (heap_grow(h, old + need + pad) == 0 || heap_grow(h, old + need) == 0) {
        size_t diff = h->size - old;
        set_head(av->top, (tsize + diff) | PREV_INUSE | NON_MAIN_ARENA | CHUNK_FREE);
        av->system_mem += diff;
        if (av->system_mem > av->max_system_mem)
            av->max_system_mem = av->system_mem;
        return 0;
    }
    heap *nh = um_heap_new(HEAP_HDR + nb + MINSIZE + pad, av);
    if (!nh)
        nh = um_heap_new(HEAP_HDR + nb + MINSIZE, av);
    if (!nh)
        return -1;
    um_heap_close_top(av);
    size_t sz = nh->size;
    heap_start(av, nh, sz, HEAP_ALIGNED, HEAP_HDR);
    return 0;
}

/* Make top hold at least nb + MINSIZE bytes; 0 on success, -1 out of memory. */
int um_grow_top(arena *av, size_t nb)
{
    if (nb > MAX_REQUEST)
        return -1;
    int r = av == &um_main_arena ? grow_main(av, nb) : grow_other(av, nb);
    if (r == 0 && unlikely(av->trim_bytes != 0))
        um_trim_regrown(av);
    return r;
}

/* A new arena lives at the start of its first heap, after the heap header,
 * followed by its central cache. */
arena *um_heap_new_arena(int index)
{
    size_t off = HEAP_HDR + ARENA_META_SIZE;
    heap *h = um_heap_new(off + MINSIZE + growth_pad(), NULL);
    if (!h)
        h = um_heap_new(off + MINSIZE, NULL);
    if (!h)
        return NULL;
    arena *av = (arena *)((char *)h + HEAP_HDR);
    um_arena_init(av, index, (struct central *)((char *)av + ARENA_SIZE));
    size_t sz = h->size;
    heap_start(av, h, sz, HEAP_ALIGNED, off);
    return av;
}

/* The free bytes a growth of the main arena's heap would add to: top's
 * size when top ends at the break and no one else moved it (brk then
 * extends top in place), else 0 (a growth would start a new segment).
 * Main arena locked. */
size_t um_heap_top_extensible(arena *av)
{
    heap *h = av->last_heap;
    chunk *top = av->top;
    if (av != &um_main_arena || !h || h->kind != HEAP_BRK || !top)
        return 0;
    size_t size = top_size(av, top);
    return (char *)top + size == (char *)um_os_brk_end() ? size : 0;
}

/* The pages of a mapped chunk just freed by the program, whose free raised
 * the dynamic mmap threshold to its size: the next request of that size
 * comes from the heap, and if top is too small for it the heap grows and
 * the program faults every page in again, one by one, where the mapping
 * had them resident a moment before (glibc unmaps it). Instead the break
 * moves by the part top lacks (need bytes in all: the freed chunk's size
 * and a minimum chunk) and that many of the mapping's pages, from src (at
 * most max bytes there), are moved over it with mremap, frames and all.
 * The kernel treats the moved range as part of the brk area: the break
 * grows and shrinks across it (the trim, the purge).
 * bench/bigblocks (blocks of 256 KiB-32 MiB, a byte written in every
 * page; 9 interleaved runs): 37,758 page faults -> 29,772 and 0.106 ->
 * 0.082 s; bigslots --scale=0.3 155,180 -> 124,163 faults; realloc peak
 * RSS 73.9 -> 70.2 MB and python's 200.4 -> 202.9 MB (3 and 5 runs, of
 * the version before the fixes from review; python's 8 MiB strings' pages
 * stay in top until the decay purge instead of going back at their free).
 * Only when top ends at
 * the break, which no one else moved. Main arena locked; returns the bytes
 * moved from src (0: none; the caller unmaps what is left). */
size_t um_heap_adopt(arena *av, uintptr_t src, size_t max, size_t need)
{
    size_t old_size = um_heap_top_extensible(av);
    if (!old_size || old_size >= need)
        return 0;
    char *end = (char *)av->top + old_size;
    size_t part = page_align(need - old_size);
    if (((uintptr_t)end & (um_pagesize - 1)) != 0 || part > max || !brk_claim(end, part))
        return 0;
    int r = um_os_move((void *)src, part, end);
    if (r == -2) /* a hole past top: the next growth starts a new segment */
        return 0;
    /* top grows by part: the mapping's pages, or fresh ones as a growth of
     * the heap would have given it (r == -1) */
    brk_top_grew(av, av->last_heap, old_size, part);
    if (unlikely(av->trim_bytes != 0)) /* a growth as any other (trim.c) */
        um_trim_regrown(av);
    return r == 0 ? part : 0;
}

/* Make the main arena's top hold nb + MINSIZE bytes by moving the break,
 * top extended in place (M_TOP_PAD added, as a growth adds it), if top
 * holds at least min bytes already; else, or when brk refuses or someone
 * else took the break, say it cannot: 1 when top holds them. Main arena
 * locked; nb is at most 32 MiB. */
int um_heap_top_fit(arena *av, size_t nb, size_t min)
{
    size_t have = um_heap_top_extensible(av);
    if (!have || have < min)
        return 0;
    if (have >= nb + MINSIZE)
        return 1;
    size_t part = grow_incr((uintptr_t)av->top + have, nb + MINSIZE + growth_pad() - have);
    if (!brk_claim((char *)av->top + have, part))
        return 0;
    grown((char *)av->top + have, part);
    brk_top_grew(av, av->last_heap, have, part);
    if (unlikely(av->trim_bytes != 0))
        um_trim_regrown(av);
    return 1;
}

/* Hand back the free tail [end - extra, end) of top in a mapped main-arena
 * segment (brk is blocked; the segment itself stays). Every large free
 * asks; the pages go back only when top changed since the last time, or a
 * heap freed block by block would madvise the same pages thousands of
 * times. Returns 1 if pages were released. Main arena lock held. */
int um_seg_release_top(heap *h, chunk *top, size_t extra)
{
    static chunk *last_top;
    static size_t last_size;
    size_t size = chunksize(top);
    if (h->kind != HEAP_MMAP || (top == last_top && size == last_size))
        return 0;
    last_top = top;
    last_size = size;
    um_os_decommit((char *)top + size - extra, extra);
    return 1;
}

/* Unmap an emptied aligned heap (its whole reservation). */
void um_heap_delete(heap *h)
{
    region_mark(h, 0);
    h->magic = 0;
    um_os_unmap(h, HEAP_MAX_SIZE);
}
