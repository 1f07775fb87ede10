/*
 * stats.c — the stats layer: mallinfo/mallinfo2, malloc_stats, malloc_info
 * in glibc's formats, the heap map (umalloc_heap_map: every heap a cell per
 * character), and the RSS account (what of the process's resident memory
 * umalloc holds, and in what state).
 *
 * One account everywhere: a chunk is "in use" (the program's, or metadata),
 * "cached" (freed, held by a thread cache or a central cache for reuse) or
 * "free" (fast, unsorted, small or large bin, or top). mallinfo puts in-use
 * bytes in uordblks and cached + free in fordblks; malloc_stats, malloc_info,
 * the map and the picture print the three separately, from walk.c's one
 * classification. Each arena is read under its lock; output goes through
 * print.c, never stdio, except to a caller's FILE: malloc_info hands it its
 * finished text, as its API requires, and malloc_stats its lines when
 * stderr is a stream without a descriptor.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "bins.h"
#include "tcache.h"
#include "umalloc.h"

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
        for (chunk *p = av->fastbins[i]; p; p = fastbin_next(p, "mallinfo")) {
            ai->nfast++;
            ai->fastavail += chunksize(p);
        }
    ai->avail += ai->fastavail + um_arena_central_bytes(av); /* cached: not the program's */
    ai->nblocks += um_arena_central_count(av);
    for (unsigned i = 1; i < NBINS; i++) {
        chunk *b = bin_at(av, i);
        for (chunk *p = b->bk; p != b; p = bin_link(av, p->bk, BIN_LINK_SMALL, p, "mallinfo")) {
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
#ifndef UM_PREFIX
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* (malloc.h's mark) */
UM_LIBC_ALIAS(__libc_mallinfo, mallinfo);
#pragma GCC diagnostic pop
#endif

/* ---- the account by state, from walk.c (per arena, or all heaps) ---- */
enum { K_LIVE, K_TCACHE, K_CENTRAL, K_BINS, K_TOP, K_MAPPED, K_META, K_N };
static const char *const kind_name[K_N] = {"live blocks", "thread caches", "central caches",
                                           "free in bins", "top", "mapped chunks", "metadata"};

struct account {
    size_t bytes[K_N], count[K_N], resident[K_N];
    size_t regions, region_bytes, region_resident;
    int with_resident;
    /* the region being walked: its residency, a byte per page */
    unsigned char *vec;
    size_t vec_len;
    uintptr_t vec_lo;
    size_t vec_pages;
};

static int kind_of(const struct um_region *r, int state)
{
    switch (state) {
    case UM_CS_USED: return r->kind == UM_REGION_MAPPED ? K_MAPPED : K_LIVE;
    case UM_CS_CACHED: return K_TCACHE;
    case UM_CS_CENTRAL: return K_CENTRAL;
    case UM_CS_TOP: return K_TOP;
    case UM_CS_META: return K_META;
    default: return K_BINS;
    }
}

static void vec_release(struct account *a)
{
    if (a->vec)
        um_os_unmap(a->vec, a->vec_len);
    a->vec = NULL;
}

/* Residency of [lo, hi): one mincore call over the region's pages. */
static int account_region(void *ctx, const struct um_region *r)
{
    struct account *a = ctx;
    a->regions++;
    a->region_bytes += (size_t)(r->hi - r->lo);
    if (!a->with_resident)
        return 1;
    vec_release(a);
    uintptr_t lo = (uintptr_t)r->lo & ~(uintptr_t)(um_pagesize - 1);
    uintptr_t hi = ((uintptr_t)r->hi + um_pagesize - 1) & ~(uintptr_t)(um_pagesize - 1);
    a->vec_pages = (hi - lo) / um_pagesize;
    a->vec_len = (a->vec_pages + um_pagesize - 1) & ~(um_pagesize - 1);
    a->vec = um_os_map(a->vec_len);
    a->vec_lo = lo;
    if (a->vec && mincore((void *)lo, hi - lo, a->vec) != 0)
        vec_release(a);
    return 1;
}

/* Resident bytes of [p, p+n): each byte counts if its page is resident. */
static size_t resident_bytes(const struct account *a, const char *p, size_t n)
{
    if (!a->vec)
        return 0;
    size_t res = 0;
    uintptr_t at = (uintptr_t)p, end = at + n;
    while (at < end) {
        size_t pg = (at - a->vec_lo) / um_pagesize;
        uintptr_t pend = a->vec_lo + (pg + 1) * um_pagesize;
        size_t k = (pend < end ? pend : end) - at;
        if (pg < a->vec_pages && (a->vec[pg] & 1))
            res += k;
        at += k;
    }
    return res;
}

static void account_chunk(void *ctx, const struct um_region *r, char *p, size_t size, int state)
{
    struct account *a = ctx;
    int k = kind_of(r, state);
    a->bytes[k] += size;
    a->count[k] += state != UM_CS_META;
    if (a->with_resident) {
        size_t res = resident_bytes(a, p, size);
        a->resident[k] += res;
        a->region_resident += res;
    }
}

static void account_take(struct account *a, arena *only, int with_resident)
{
    for (size_t i = 0; i < sizeof *a; i++)
        ((char *)a)[i] = 0;
    a->with_resident = with_resident;
    struct um_walker w = {account_region, account_chunk, a};
    if (only)
        um_walk_arena(only, &w);
    else
        um_walk_all(&w);
    vec_release(a);
}

static size_t account_free(const struct account *a) { return a->bytes[K_BINS] + a->bytes[K_TOP]; }
static size_t account_cached(const struct account *a) { return a->bytes[K_TCACHE] + a->bytes[K_CENTRAL]; }

/* Where the report's lines go: descriptor fd, or stream fp when it is set.
 * A line is formatted on the stack and handed over whole. No allocator lock
 * is held between lines (each arena's account is taken and released before
 * its lines), so a stream whose writes allocate (open_memstream) may do so
 * there. */
struct stats_out {
    int fd;
    FILE *fp;
};
#define STATS_LINE 160
static void stats_line(const struct stats_out *o, const char *line, size_t n)
{
    if (n >= STATS_LINE)
        n = STATS_LINE - 1;
    if (o->fp)
        fwrite(line, 1, n, o->fp);
    else
        um_write(o->fd, line, n);
}
#define OUT(o, ...)                                                                    \
    do {                                                                               \
        char line_[STATS_LINE];                                                        \
        stats_line(o, line_, um_snprintf(line_, sizeof line_, __VA_ARGS__));           \
    } while (0)

/* glibc's lines (system, in use per arena and in total, mmap maxima), with
 * "in use" meaning the program's blocks and metadata; then what is cached
 * and free (the RSS account is um_rss_print's). */
static void stats_emit(const struct stats_out *o)
{
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    um_ensure_init();
    size_t sys = 0, used = 0, cached = 0, freeb = 0;
    for (arena *av = &um_main_arena; av; av = um_arena_next(av)) {
        struct account a;
        account_take(&a, av, 0);
        size_t u = a.bytes[K_LIVE] + a.bytes[K_META];
        OUT(o, "Arena %d:\n", av->index);
        OUT(o, "system bytes     = %10zu\n", a.region_bytes);
        OUT(o, "in use bytes     = %10zu\n", u);
        sys += a.region_bytes;
        used += u;
        cached += account_cached(&a);
        freeb += account_free(&a);
    }
    um_lock_acquire(&um_mmap_lock);
    struct um_mstats ms = um_mstats;
    um_lock_release(&um_mmap_lock);
    OUT(o, "Total (incl. mmap):\n");
    OUT(o, "system bytes     = %10zu\n", sys + ms.mmapped_mem);
    OUT(o, "in use bytes     = %10zu\n", used + ms.mmapped_mem);
    OUT(o, "max mmap regions = %10zu\n", ms.max_n_mmaps);
    OUT(o, "max mmap bytes   = %10zu\n", ms.max_mmapped_mem);
    OUT(o, "mmap cache bytes = %10zu (%zu freed mappings kept for reuse)\n", ms.mc_bytes, ms.mc_count);
    OUT(o, "cached bytes     = %10zu (freed, kept in thread and central caches)\n", cached);
    OUT(o, "free bytes       = %10zu (in bins and top)\n", freeb);
    pthread_setcancelstate(cancel_state, NULL);
}

void um_stats_print(int fd)
{
    struct stats_out o = {fd, NULL};
    stats_emit(&o);
}

/* glibc prints to the stderr stream, not to descriptor 2: a program that
 * points stderr at a file of its own (stderr = fopen(...)) finds the report
 * there. The lines go to that stream's descriptor, after what the stream
 * holds is flushed so that they keep their place among its output (fflush
 * and fileno allocate nothing). A stream with no descriptor (open_memstream,
 * fopencookie) gets them through stdio, line by line. (They were written to
 * a memfd_create file first and copied over: where that call is refused,
 * as in seccomp sandboxes, such a stream got no report at all,
 * tests/api/malloc_stats_stream.) write() is a cancellation point: with a
 * cancel pending the report would stop after its first line, so
 * cancellation waits until it is out (as in glibc), and a pending request
 * stays pending. */
PUBLIC void API(malloc_stats)(void)
{
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    int saved = errno;
    fflush(stderr);
    struct stats_out o = {fileno(stderr), NULL};
    if (o.fd < 0) {
        o.fp = stderr;
        stats_emit(&o);
        fflush(stderr);
    } else {
        stats_emit(&o);
    }
    errno = saved;
    pthread_setcancelstate(cancel_state, NULL);
}

/* ---- the RSS account ---- */

struct rss_account {
    struct account a;
    size_t rss;
    long minflt, majflt;
};

static void rss_take(struct rss_account *r)
{
    account_take(&r->a, NULL, 1);
    r->rss = um_os_rss();
    struct rusage ru;
    r->minflt = r->majflt = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        r->minflt = ru.ru_minflt;
        r->majflt = ru.ru_majflt;
    }
}

static size_t rss_umalloc(const struct rss_account *r)
{
    size_t t = 0;
    for (int k = 0; k < K_N; k++)
        t += r->a.resident[k];
    return t;
}

/* The table --stats prints at exit. */
void um_rss_print(int fd)
{
    struct rss_account r;
    rss_take(&r);
    size_t mine = rss_umalloc(&r), total = 0;
    um_printf(fd, "RSS account (resident = pages in RAM, by mincore):\n");
    um_printf(fd, "  %-24s %8s %14s %14s\n", "", "chunks", "bytes", "resident");
    for (int k = 0; k < K_N; k++) {
        total += r.a.bytes[k];
        if (k == K_META)
            um_printf(fd, "  %-24s %8s %14zu %14zu\n", kind_name[k], "", r.a.bytes[k], r.a.resident[k]);
        else
            um_printf(fd, "  %-24s %8zu %14zu %14zu\n", kind_name[k], r.a.count[k], r.a.bytes[k],
                      r.a.resident[k]);
    }
    um_printf(fd, "  %-24s %8s %14zu %14zu\n", "umalloc total", "", total, mine);
    um_printf(fd, "  %-24s %8s %14s %14zu\n", "not umalloc's", "", "",
              r.rss > mine ? r.rss - mine : 0);
    um_printf(fd, "  %-24s %8s %14s %14zu\n", "process RSS (statm)", "", "", r.rss);
    um_printf(fd, "  page faults: %ld minor, %ld major (minor: a page touched for the first time "
                  "gets its frame now; major: a page read back from disk or swap)\n",
              r.minflt, r.majflt);
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

/* Hand the text so far to the caller's FILE (no lock held: stdio may
 * allocate); 0 when it took it all. */
static int xflush(struct xbuf *b, FILE *fp)
{
    size_t len = b->len < b->cap ? b->len : b->cap - 1;
    b->len = 0;
    return fwrite(b->p, 1, len, fp) == len ? 0 : -1;
}

static void sizes_of_arena(arena *av, struct xbuf *b, size_t tot[6])
{
    size_t fastn = 0, fasts = 0, restn = 0, rests = 0;
    um_lock_acquire(&av->lock);
    xput(b, "<heap nr=\"%zu\">\n<sizes>\n", (size_t)av->index, 0, 0, 0);
    for (unsigned i = 0; i < NFASTBINS; i++) {
        size_t n = 0;
        for (chunk *p = av->fastbins[i]; p; p = fastbin_next(p, "malloc_info"))
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
        for (chunk *p = bin->bk; p != bin; p = bin_link(av, p->bk, BIN_LINK_SMALL, p, "malloc_info")) {
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
    int r = 0;
    xput(&b, "<malloc version=\"1\">\n", 0, 0, 0, 0);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        /* an arena's part is at most 137 lines (its lists), under 18 KB:
         * the buffer goes out when half full, or 1 MiB held only the first
         * 190 or so arenas with full bins, and the rest of the document
         * was cut off */
        if (b.len > b.cap / 2)
            r |= xflush(&b, fp);
        sizes_of_arena(a, &b, tot);
    }
    um_lock_acquire(&um_mmap_lock);
    struct um_mstats ms = um_mstats;
    um_lock_release(&um_mmap_lock);
    size_t ncached, cached = um_tcache_bytes(&ncached);
    xput(&b, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", tot[0], tot[1], 0, 0);
    xput(&b, "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", tot[2], tot[3], 0, 0);
    xput(&b, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", ms.n_mmaps, ms.mmapped_mem, 0, 0);
    xput(&b, "<total type=\"mmap_cache\" count=\"%zu\" size=\"%zu\"/>\n", ms.mc_count, ms.mc_bytes, 0, 0);
    xput(&b, "<total type=\"tcache\" count=\"%zu\" size=\"%zu\"/>\n", ncached, cached, 0, 0);
    size_t ncentral = 0, central = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        ncentral += um_arena_central_foreach(a, NULL, NULL);
        central += um_arena_central_bytes(a);
        um_lock_release(&a->lock);
    }
    xput(&b, "<total type=\"central\" count=\"%zu\" size=\"%zu\"/>\n", ncentral, central, 0, 0);
    xput(&b, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n", tot[4],
         tot[5], 0, 0);
    xput(&b, "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n",
         tot[4], tot[4], 0, 0);
    /* umalloc's addition: the RSS account (see um_rss_print) */
    struct rss_account ra;
    rss_take(&ra);
    static const char *const rss_type[K_N] = {"live", "tcache", "central", "bins", "top", "mapped",
                                              "metadata"};
    xput(&b, "<rss>\n", 0, 0, 0, 0);
    for (int k = 0; k < K_N; k++) {
        xput(&b, "<part type=\"", 0, 0, 0, 0);
        xput(&b, rss_type[k], 0, 0, 0, 0);
        xput(&b, "\" count=\"%zu\" size=\"%zu\" resident=\"%zu\"/>\n", ra.a.count[k], ra.a.bytes[k],
             ra.a.resident[k], 0);
    }
    size_t mine = rss_umalloc(&ra);
    xput(&b, "<part type=\"not-umalloc\" resident=\"%zu\"/>\n<statm resident=\"%zu\"/>\n",
         ra.rss > mine ? ra.rss - mine : 0, ra.rss, 0, 0);
    xput(&b, "<faults minor=\"%zu\" major=\"%zu\"/>\n</rss>\n", (size_t)ra.minflt, (size_t)ra.majflt, 0, 0);
    xput(&b, "</malloc>\n", 0, 0, 0, 0);
    r |= xflush(&b, fp);
    um_os_unmap(b.p, b.cap);
    return r;
}

/* ---- the heap map ----
 * One line of 64 cells per row; each cell is one page (or more for big
 * heaps) and shows what fills it: '#' in use, 'c' mostly cached, '+' mostly
 * in use, '-' mostly free, '.' free, 'T' top, ' ' beyond the segment. The
 * counts come from walk.c, like every other report's. */
#define MAP_CELLS (64 * 32)
struct map_ctx {
    int fd;
    int open;               /* reg holds a region whose cells are pending */
    struct um_region reg;   /* a copy: the walker's own lives on its stack */
    size_t cell, ncells;
    unsigned used[MAP_CELLS], cached[MAP_CELLS], freeb[MAP_CELLS], topb[MAP_CELLS];
    size_t n[3], b[3], top; /* in use, cached, free */
    size_t mapped;
};

static void map_flush(struct map_ctx *m)
{
    if (!m->open)
        return;
    m->open = 0;
    const struct um_region *r = &m->reg;
    if (r->kind == UM_REGION_MAPPED)
        return;
    const char *kind = r->kind == HEAP_BRK ? "brk" : r->kind == HEAP_MMAP ? "mmap" : "heap";
    size_t size = (size_t)(r->hi - r->lo);
    um_printf(m->fd, "arena %d %s %p-%p %zu KiB: %zu in use (%zu B), %zu cached (%zu B), "
                     "%zu free (%zu B), top %zu B; cell=%zu B\n",
              r->av->index, kind, (void *)r->lo, (void *)r->hi, size >> 10, m->n[0], m->b[0], m->n[1],
              m->b[1], m->n[2], m->b[2], m->top, m->cell);
    char line[80];
    for (size_t row = 0; row * 64 < m->ncells; row++) {
        size_t k = 0;
        for (size_t c = row * 64; c < row * 64 + 64 && c < m->ncells; c++) {
            unsigned u = m->used[c], ca = m->cached[c], f = m->freeb[c], t = m->topb[c];
            char ch;
            if (t > u && t > f && t > ca)
                ch = 'T';
            else if (u + f + ca == 0)
                ch = ' ';
            else if (ca > u && ca >= f)
                ch = 'c';
            else if (f == 0 && ca == 0)
                ch = '#';
            else if (u == 0 && ca == 0)
                ch = '.';
            else
                ch = u >= f ? '+' : '-';
            line[k++] = ch;
        }
        line[k++] = '\n';
        um_printf(m->fd, "  %p |", (void *)(r->lo + row * 64 * m->cell));
        um_write(m->fd, line, k);
    }
}

static int map_region(void *ctx, const struct um_region *r)
{
    struct map_ctx *m = ctx;
    map_flush(m);
    if (r->kind == UM_REGION_MAPPED) {
        if (m->mapped++ == 0)
            um_printf(m->fd, "mapped chunks (own mmap):\n");
        if (m->mapped <= 32)
            um_printf(m->fd, "  mapped chunk %p: %zu KiB\n", (void *)(r->lo + MMAP_HDR + CHUNK_HDR),
                      (size_t)(r->hi - r->lo) >> 10);
        return 0;
    }
    size_t size = (size_t)(r->hi - r->lo);
    m->reg = *r;
    m->open = 1;
    m->cell = um_pagesize;
    while ((size + m->cell - 1) / m->cell > MAP_CELLS)
        m->cell *= 2;
    m->ncells = (size + m->cell - 1) / m->cell;
    for (size_t i = 0; i < m->ncells; i++)
        m->used[i] = m->cached[i] = m->freeb[i] = m->topb[i] = 0;
    for (int i = 0; i < 3; i++)
        m->n[i] = m->b[i] = 0;
    m->top = 0;
    return 1;
}

static void map_chunk(void *ctx, const struct um_region *r, char *p, size_t size, int state)
{
    struct map_ctx *m = ctx;
    int cls = state == UM_CS_TOP ? 3 : state == UM_CS_USED || state == UM_CS_META ? 0
            : state == UM_CS_CACHED || state == UM_CS_CENTRAL ? 1 : 2;
    if (cls == 3) {
        m->top += size;
    } else {
        m->n[cls] += state != UM_CS_META; /* metadata: in-use bytes, no chunk */
        m->b[cls] += size;
    }
    unsigned *arr = cls == 0 ? m->used : cls == 1 ? m->cached : cls == 2 ? m->freeb : m->topb;
    size_t at = (size_t)(p - r->lo), lim = at + size;
    while (at < lim) {
        size_t c = at / m->cell, end = (c + 1) * m->cell;
        size_t n = (end < lim ? end : lim) - at;
        if (c < m->ncells)
            arr[c] += (unsigned)n;
        at += n;
    }
}

PUBLIC void umalloc_heap_map(int fd)
{
    static struct map_ctx m; /* one map at a time (um_map_lock): shared cell arrays */
    um_ensure_init();
    um_lock_acquire(&um_map_lock);
    m.fd = fd;
    m.open = 0;
    m.mapped = 0;
    um_printf(fd, "umalloc heap map  (# in use  + mostly in use  c mostly cached  - mostly free  . free  T top)\n");
    struct um_walker w = {map_region, map_chunk, &m};
    um_walk_all(&w);
    map_flush(&m);
    if (m.mapped > 32)
        um_printf(fd, "  ... and %zu more mapped chunks\n", m.mapped - 32);
    um_lock_release(&um_map_lock);
}
