/*
 * stats.c — the stats layer: mallinfo/mallinfo2, malloc_stats, malloc_info
 * in glibc's formats, and the heap map (umalloc_heap_map), which draws every
 * heap of every arena a page per character so fragmentation can be *seen*.
 * mallinfo counts chunks parked in thread caches as free (glibc counts them
 * as in use, which makes a freed block look leaked); malloc_stats keeps
 * glibc's per-arena numbers and adds a line for what the caches hold. Each arena is read under
 * its lock; output is formatted by print.c, never by stdio (malloc_info alone
 * hands its finished text to the caller's FILE, which its API requires).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "bins.h"
#include "tcache.h"
#include "umalloc.h"


size_t um_tcache_bytes(size_t *count);

struct arena_info {
    size_t system, avail, nblocks, nfast, fastavail, topsize;
};

static void arena_info(arena *av, struct arena_info *ai)
{
    um_lock_acquire(&av->lock);
    ai->system = av->system_mem;
    ai->topsize = av->top ? chunksize(av->top) : 0;
    ai->avail = ai->topsize;
    ai->nblocks = av->top ? 1 : 0;
    ai->nfast = ai->fastavail = 0;
    for (unsigned i = 0; i < NFASTBINS; i++)
        for (chunk *p = av->fastbins[i]; p; p = reveal_ptr((void **)&p->fd, p->fd)) {
            ai->nfast++;
            ai->fastavail += chunksize(p);
        }
    ai->avail += ai->fastavail + av->xfer_bytes; /* parked batches are free memory */
    for (unsigned i = 1; i < NBINS; i++) {
        chunk *b = bin_at(av, i);
        for (chunk *p = b->bk; p != b; p = p->bk) {
            ai->nblocks++;
            ai->avail += chunksize(p);
        }
    }
    um_lock_release(&av->lock);
}

PUBLIC struct mallinfo2 API(mallinfo2)(void)
{
    struct mallinfo2 m = {0};
    um_ensure_init();
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        struct arena_info ai;
        arena_info(a, &ai);
        m.arena += ai.system;
        m.ordblks += ai.nblocks;
        m.smblks += ai.nfast;
        m.fsmblks += ai.fastavail;
        m.fordblks += ai.avail;
        m.uordblks += ai.system - ai.avail;
        if (a == &um_main_arena)
            m.keepcost = ai.topsize;
    }
    /* chunks parked in thread caches are free memory, not the program's */
    size_t cached = um_tcache_bytes(NULL);
    if (cached > m.uordblks)
        cached = m.uordblks;
    m.uordblks -= cached;
    m.fordblks += cached;
    um_lock_acquire(&um_mmap_lock);
    m.hblks = um_mstats.n_mmaps;
    m.hblkhd = um_mstats.mmapped_mem;
    um_lock_release(&um_mmap_lock);
    return m;
}

static int sat(size_t v) { return v > (size_t)INT32_MAX ? INT32_MAX : (int)v; }

/* The old int interface: same numbers, saturated instead of wrapped. */
PUBLIC struct mallinfo API(mallinfo)(void)
{
    struct mallinfo2 m2 = API(mallinfo2)();
    struct mallinfo m;
    m.arena = sat(m2.arena);
    m.ordblks = sat(m2.ordblks);
    m.smblks = sat(m2.smblks);
    m.hblks = sat(m2.hblks);
    m.hblkhd = sat(m2.hblkhd);
    m.usmblks = sat(m2.usmblks);
    m.fsmblks = sat(m2.fsmblks);
    m.uordblks = sat(m2.uordblks);
    m.fordblks = sat(m2.fordblks);
    m.keepcost = sat(m2.keepcost);
    return m;
}

PUBLIC void API(malloc_stats)(void) { um_stats_print(2); }

void um_stats_print(int fd)
{
    um_ensure_init();
    size_t sys = 0, used = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        struct arena_info ai;
        arena_info(a, &ai);
        um_printf(fd, "Arena %d:\n", a->index);
        um_printf(fd, "system bytes     = %10zu\n", ai.system);
        um_printf(fd, "in use bytes     = %10zu\n", ai.system - ai.avail);
        sys += ai.system;
        used += ai.system - ai.avail;
    }
    um_lock_acquire(&um_mmap_lock);
    struct um_mstats ms = um_mstats;
    um_lock_release(&um_mmap_lock);
    size_t ncached, cached = um_tcache_bytes(&ncached);
    um_printf(fd, "Total (incl. mmap):\n");
    um_printf(fd, "system bytes     = %10zu\n", sys + ms.mmapped_mem);
    um_printf(fd, "in use bytes     = %10zu\n", used + ms.mmapped_mem);
    um_printf(fd, "max mmap regions = %10zu\n", ms.max_n_mmaps);
    um_printf(fd, "max mmap bytes   = %10zu\n", ms.max_mmapped_mem);
    um_printf(fd, "thread caches    = %10zu (%zu chunks)\n", cached, ncached);
}

/* ---- malloc_info: glibc's XML, built in a scratch mapping ---- */
struct xbuf {
    char *p;
    size_t cap, len;
};

static void xput(struct xbuf *b, const char *fmt, size_t a, size_t c, size_t d, size_t e)
{
    if (b->len < b->cap)
        b->len += um_snprintf(b->p + b->len, b->cap - b->len, fmt, a, c, d, e);
}

static void sizes_of_arena(arena *av, struct xbuf *b, size_t tot[6])
{
    size_t fastn = 0, fasts = 0, restn = 0, rests = 0;
    um_lock_acquire(&av->lock);
    xput(b, "<heap nr=\"%zu\">\n<sizes>\n", (size_t)av->index, 0, 0, 0);
    for (unsigned i = 0; i < NFASTBINS; i++) {
        size_t n = 0;
        for (chunk *p = av->fastbins[i]; p; p = reveal_ptr((void **)&p->fd, p->fd))
            n++;
        if (n)
            xput(b, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
                 fastbin_size(i) - 15, fastbin_size(i), n * fastbin_size(i), n);
        fastn += n;
        fasts += n * fastbin_size(i);
    }
    for (unsigned i = 1; i < NBINS; i++) {
        chunk *bin = bin_at(av, i);
        size_t n = 0, total = 0, lo = (size_t)-1, hi = 0;
        for (chunk *p = bin->bk; p != bin; p = p->bk) {
            size_t s = chunksize(p);
            n++;
            total += s;
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
        }
        if (n)
            xput(b, i == 1 ? "  <unsorted from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n"
                           : "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
                 lo, hi, total, n);
        restn += n;
        rests += total;
    }
    size_t sys = av->system_mem, maxsys = av->max_system_mem;
    um_lock_release(&av->lock);
    xput(b, "</sizes>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", fastn, fasts, 0, 0);
    xput(b, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", restn, rests, 0, 0);
    xput(b, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n", sys,
         maxsys, 0, 0);
    xput(b, "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n",
         sys, sys, 0, 0);
    tot[0] += fastn;
    tot[1] += fasts;
    tot[2] += restn;
    tot[3] += rests;
    tot[4] += sys;
    tot[5] += maxsys;
}

PUBLIC int API(malloc_info)(int options, FILE *fp)
{
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    um_ensure_init();
    struct xbuf b = {NULL, (size_t)1 << 20, 0};
    b.p = um_os_map(b.cap);
    if (!b.p) {
        errno = ENOMEM;
        return -1;
    }
    size_t tot[6] = {0};
    xput(&b, "<malloc version=\"1\">\n", 0, 0, 0, 0);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        sizes_of_arena(a, &b, tot);
    um_lock_acquire(&um_mmap_lock);
    struct um_mstats ms = um_mstats;
    um_lock_release(&um_mmap_lock);
    size_t ncached, cached = um_tcache_bytes(&ncached);
    xput(&b, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", tot[0], tot[1], 0, 0);
    xput(&b, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", tot[2], tot[3], 0, 0);
    xput(&b, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", ms.n_mmaps, ms.mmapped_mem, 0, 0);
    xput(&b, "<total type=\"tcache\" count=\"%zu\" size=\"%zu\"/>\n", ncached, cached, 0, 0);
    xput(&b, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n", tot[4],
         tot[5], 0, 0);
    xput(&b, "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n",
         tot[4], tot[4], 0, 0);
    xput(&b, "</malloc>\n", 0, 0, 0, 0);
    size_t len = b.len < b.cap ? b.len : b.cap - 1;
    int r = fwrite(b.p, 1, len, fp) == len ? 0 : -1;
    um_os_unmap(b.p, b.cap);
    return r;
}

/* ---- the heap map ----
 * One line of 64 cells per row; each cell is one page (or more for big
 * heaps) and shows what dominates it: '#' in use, '+' mostly in use, '-'
 * mostly free, '.' free, 'T' top, ' ' beyond the segment. */
struct cellmap {
    unsigned char *used, *freeb, *topb; /* bytes per cell, in 1/255ths */
};

static void map_heap(int fd, arena *av, heap *h)
{
    char *base = (char *)h;
    size_t size = h->size;
    size_t cell = um_pagesize;
    while ((size + cell - 1) / cell > 64 * 32)
        cell *= 2;
    size_t ncells = (size + cell - 1) / cell;
    static unsigned used[64 * 32], freeb[64 * 32], topb[64 * 32];
    for (size_t i = 0; i < ncells; i++)
        used[i] = freeb[i] = topb[i] = 0;
    size_t off = HEAP_HDR;
    if ((char *)av == base + HEAP_HDR)
        off += (sizeof(arena) + ALIGN_MASK) & ~(size_t)ALIGN_MASK;
    size_t nused = 0, nfree = 0, bused = 0, bfree = 0;
    for (chunk *p = chunk_at(h, off); (char *)p < base + size;) {
        size_t s = chunksize(p);
        if (s == 0)
            break;
        int is_top = p == av->top;
        int is_free = is_top || ((char *)p + s < base + size && !inuse(p));
        if (s >= MINSIZE) {
            if (is_top) {
            } else if (is_free) {
                nfree++;
                bfree += s;
            } else {
                nused++;
                bused += s;
            }
        }
        for (size_t a = (size_t)((char *)p - base); a < (size_t)((char *)p - base) + s;) {
            size_t c = a / cell, end = (c + 1) * cell, lim = (size_t)((char *)p - base) + s;
            size_t n = (end < lim ? end : lim) - a;
            if (is_top)
                topb[c] += (unsigned)n;
            else if (is_free)
                freeb[c] += (unsigned)n;
            else
                used[c] += (unsigned)n;
            a += n;
        }
        if (is_top)
            break;
        p = chunk_at(p, s);
    }
    const char *kind = h->kind == HEAP_BRK ? "brk" : h->kind == HEAP_MMAP ? "mmap" : "heap";
    um_printf(fd, "arena %d %s %p-%p %zu KiB, %zu in use (%zu B), %zu free (%zu B), top %zu B; cell=%zu B\n",
              av->index, kind, (void *)base, (void *)(base + size), size >> 10, nused, bused, nfree,
              bfree, av->top && (char *)av->top >= base && (char *)av->top < base + size
                  ? chunksize(av->top) : (size_t)0, cell);
    char line[80];
    for (size_t row = 0; row * 64 < ncells; row++) {
        size_t k = 0;
        for (size_t c = row * 64; c < row * 64 + 64 && c < ncells; c++) {
            unsigned u = used[c], f = freeb[c], t = topb[c];
            char ch = ' ';
            if (t > u && t > f)
                ch = 'T';
            else if (u + f == 0)
                ch = ' ';
            else if (f == 0)
                ch = '#';
            else if (u == 0)
                ch = '.';
            else
                ch = u >= f ? '+' : '-';
            line[k++] = ch;
        }
        line[k++] = '\n';
        um_printf(fd, "  %p |", (void *)(base + row * 64 * cell));
        um_write(fd, line, k);
    }
}

struct mmap_ctx {
    int fd;
    size_t n;
};

static void map_mmapped(chunk *p, size_t len, void *ctx)
{
    struct mmap_ctx *m = ctx;
    if (m->n++ < 32)
        um_printf(m->fd, "  mapped chunk %p: %zu KiB\n", chunk_to_mem(p), len >> 10);
}

PUBLIC void umalloc_heap_map(int fd)
{
    static um_lock map_lock; /* map_heap's cell arrays are shared */
    um_ensure_init();
    um_lock_acquire(&map_lock);
    um_printf(fd, "umalloc heap map  (# in use  + mostly used  - mostly free  . free  T top)\n");
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        heap *hs[64];
        size_t n = 0;
        for (heap *h = a->last_heap; h && n < 64; h = h->prev)
            hs[n++] = h;
        while (n > 0)
            map_heap(fd, a, hs[--n]);
        um_lock_release(&a->lock);
    }
    struct mmap_ctx m = {fd, 0};
    um_printf(fd, "mapped chunks (own mmap):\n");
    um_mmap_foreach(map_mmapped, &m);
    if (m.n > 32)
        um_printf(fd, "  ... and %zu more\n", m.n - 32);
    um_lock_release(&map_lock);
}
