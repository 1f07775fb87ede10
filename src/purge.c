/*
 * purge.c — the purge layer: free pages that stay free go back to the kernel.
 *
 * Decay. A whole page inside a free chunk (in the bins, or in top above
 * M_TOP_PAD) that has stayed free for the decay time (default 1 s; mallopt
 * M_UMALLOC_PURGE_DECAY, UMALLOC_PURGE_DECAY_MS; 0 at once, -1 never) is
 * handed back with MADV_DONTNEED, so RSS drops where users and OOM killers
 * look. M_TRIM_THRESHOLD = -1 switches the automatic purge off (the seed's
 * "no page faults" setting); malloc_trim and umalloc_purge still purge.
 *
 * What is known. Every free chunk of at least a page carries a tag (purge.h):
 * freed-at time and the one interval of its pages already purged. Merges keep
 * the larger purged interval of the parts (and their age, when the fresh part
 * is no larger than they are, so split-and-refree churn cannot keep a chunk
 * young for ever); the remainder of a split keeps its part of the victim's
 * interval and its age. So a page is purged once (bar the smaller interval
 * lost in a merge) and a fault on a reused purged page is expected. Top has
 * one purged interval anchored at its end (av->purge.top_lo/hi), valid while
 * that end stays, and an age the clock reads sample (top_sample: top lower
 * than the highest it was since the last read has taken freed memory).
 *
 * Driving it. um_purge_tick() runs on the arena slow paths (um_int_malloc,
 * um_int_free of chunks outside the fast bins) with the lock held: every 6th
 * to 9th call (jittered; up to every 65th while calls are dense enough that
 * the clock does not move between reads) one coarse clock read (vDSO, ~7 ns
 * here) and a compare; so a freed-at time may be a few calls stale, which
 * only ever makes a chunk look older when calls are rare. Every decay/4 a
 * sweep starts: sort up to 64 unsorted chunks (malloc sorts the rest), walk
 * the large bins that can hold a page from a cursor (unlink_chunk clears
 * it), then top (a non-main heap shrinks, the brk heap moves its break
 * down, the rest is purged); each call then does one step of at most
 * STEP_VISITS chunks and STEP_BYTES of madvise until the sweep is done.
 * Every decay/4 a tick also looks at the
 * other arenas (trylock only): one with no malloc or free for the decay time
 * gets its parked chunks drained and is swept, a step every few ms.
 * Opt-in: a purge thread (UMALLOC_PURGE_THREAD=1 / M_UMALLOC_PURGE_THREAD) for
 * processes that stop calling malloc, and umalloc_purge() to do it all now.
 * Memory limit: cgroup v2 memory.max of our own cgroup (v1 memory.limit_in_bytes
 * as a fallback) or UMALLOC_MEMORY_LIMIT; with RSS within 10% of it the decay
 * is zero and sweeps run every few ms. The cgroup files are read once umalloc
 * holds LIMIT_PROBE_BYTES in one arena, or as many mapped chunks as make that
 * at the default mmap threshold (or when the purge thread starts), not at
 * start-up: a small process never runs that code, and
 * its pages (umalloc's and libc's open/read) stay out of its RSS.
 */
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include "bins.h"
#include "purge.h"
#include "umalloc.h"

#define DEFAULT_DECAY_MS 1000
#define STEP_BYTES ((size_t)2 << 20) /* madvise per step */
#define STEP_VISITS 128              /* chunk headers read per step */
#define PRESSURE_EVERY_MS 5          /* RSS read at most this often */
#define PRESSURE_SWEEP_MS 5

uintptr_t um_purge_key;

static _Atomic size_t mem_limit;     /* bytes; 0 = none (or not read yet) */
static _Atomic int limit_state;      /* LIMIT_UNREAD, LIMIT_READING, LIMIT_KNOWN */
enum { LIMIT_UNREAD, LIMIT_READING, LIMIT_KNOWN };
#define LIMIT_PROBE_BYTES ((size_t)1 << 20) /* read the cgroup's limit from here on */
static _Atomic int pressure;         /* RSS was within 10% of mem_limit lately */
static _Atomic uint64_t pressure_until; /* ms: ... and stays so until then */
#define PRESSURE_HOLD_MS 1000        /* once near the limit, purge all for this long */
static _Atomic uint64_t global_next; /* ms: next look at RSS and idle arenas */
static _Atomic uint64_t idle_next;   /* ms: next look at idle arenas */
static _Atomic int idle_pending;     /* an idle arena's sweep is not finished */
#define IDLE_STEP_MS 4               /* ... then a step of it this often */

struct budget {
    size_t bytes;
    unsigned visits;
    int released;
    int sort_all; /* sort the whole unsorted bin (else a few chunks a sweep) */
    size_t min_span; /* leave a chunk (or top) with fewer unpurged bytes than this */
    int split;       /* malloc_trim with huge pages: their free pieces too (purge_split) */
};
#define SORT_PER_SWEEP 64 /* malloc sorts the rest as it scans */
/* The budgets of a step, copied from the relocated data: clang builds a
 * struct initialised with constants from the read-only data, whose
 * segment no allocation path may touch (tests/programs/lib_resident). */
static const struct budget step_budget UM_HOT_CONST = {STEP_BYTES, STEP_VISITS, 0, 0, 0, 0};
static const struct budget step_budget_sorted UM_HOT_CONST = {STEP_BYTES, STEP_VISITS, 0, 1, 0, 0};
static const struct budget idle_budget UM_HOT_CONST = {4 * STEP_BYTES, 4 * STEP_VISITS, 0, 1, 0, 0};

/* How much of avail bytes (whole grains) the budget lets one madvise take:
 * whole grains too, so that a purge never breaks a huge page up, and one
 * at least while any budget is left (a huge page larger than a step's
 * STEP_BYTES: 8 MiB on some machines). */
static size_t budget_take(const struct budget *b, size_t avail)
{
    size_t n = um_grain_down(b->bytes);
    if (n == 0 && b->bytes)
        n = um_grain();
    return avail < n ? avail : n;
}

/* The decay in force: -1 off, 0 at once (also under memory pressure). The
 * central caches use it too. */
long um_purge_decay(void)
{
    if (RELAXED_LOAD(um_params.trim_threshold) == (size_t)-1)
        return -1;
    if (atomic_load_explicit(&pressure, memory_order_relaxed))
        return 0;
    return RELAXED_LOAD(um_params.purge_decay_ms);
}

static uint64_t sweep_interval(long decay)
{
    if (atomic_load_explicit(&pressure, memory_order_relaxed))
        return PRESSURE_SWEEP_MS;
    return decay / 4 > 4 ? (uint64_t)decay / 4 : 4;
}

/* madvise [lo, hi) and count it. */
static void purge_range(arena *av, uintptr_t lo, uintptr_t hi, struct budget *b)
{
    size_t n = hi - lo;
    um_os_decommit((void *)lo, n);
    av->purge.purged_bytes += n;
    av->purge.purge_calls++;
    b->bytes = b->bytes > n ? b->bytes - n : 0;
    b->released = 1;
}

/* With glibc.malloc.hugetlb=1 the purge gives back whole huge pages only
 * (um_grain), and a free chunk's pages outside them stay: a heap freed
 * block by block leaves most of its free memory in pieces of huge pages
 * that hold a live block too (tests/stress/purge_burst, 95% freed at
 * random: 339 MiB of 409 stayed after the sweeps). malloc_trim, which asks
 * for everything back, also gives back the whole small pages of [lo, hi)
 * outside the huge pages [glo, ghi) (or all of them when it holds none),
 * breaking those huge pages up, as glibc's malloc_trim does. Not recorded
 * in the purged interval, which holds whole huge pages: a later
 * malloc_trim advises them again, and neither the counts of what is purged
 * nor malloc_trim's result (1: memory went back) count them, as nothing
 * tells whether they were resident. */
static void purge_split(uintptr_t lo, uintptr_t hi, uintptr_t glo, uintptr_t ghi)
{
    if (glo >= ghi)
        glo = ghi = hi;
    if (lo < glo)
        um_os_decommit((void *)lo, glo - lo);
    if (ghi < hi)
        um_os_decommit((void *)ghi, hi - ghi);
}
static uintptr_t page_up(uintptr_t a) { return (a + um_pagesize - 1) & ~(uintptr_t)(um_pagesize - 1); }
static uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)(um_pagesize - 1); }

/* Purge the unpurged whole pages of free chunk c if it is old enough, within
 * the budget. The purged interval only grows (down to the first page, then up
 * to the last), so it stays one interval. 1 when done with c. */
static int purge_chunk(arena *av, chunk *c, uint64_t cutoff, struct budget *b)
{
    /* a free chunk's header: ours, with F, and the chunk inside the heap,
     * before its size becomes madvise ranges (an overflow from the block
     * below, which a small block's free no longer notices, may have left a
     * word that decodes) */
    size_t head = hdr_load(c), size = head & ~(size_t)SIZE_BITS;
    if (unlikely(!hdr_valid(head) || !(head & CHUNK_FREE) || size < MINSIZE ||
                 !um_owner_holds(av, c, size)))
        um_fatal("purge", "corrupted free chunk header at", chunk_to_mem(c), 0);
    if (size < um_pagesize)
        return 1;
    uintptr_t *w = (uintptr_t *)c;
    if (!ptag_valid(c, size)) { /* a chunk some path did not tag: its age starts now */
        um_purge_mark(c, size, UM_PIV_NONE, av->purge.now);
        return 1;
    }
    if (w[PTAG_WORD + 1] > cutoff)
        return 1;
    uintptr_t lo = um_grain_up((uintptr_t)c + PTAG_END), hi = um_grain_down((uintptr_t)c + size);
    if (unlikely(b->split))
        purge_split(page_up((uintptr_t)c + PTAG_END), page_down((uintptr_t)c + size), lo, hi);
    if (lo >= hi)
        return 1;
    uintptr_t ilo = w[PTAG_WORD + 2], ihi = w[PTAG_WORD + 3];
    /* (a write after free that left the tag alone but not these would have
     * the madvise below reach past the chunk, into live blocks) */
    if (unlikely(!ptag_interval_ok(ilo, ihi, lo, hi)))
        um_fatal("purge", "corrupted free chunk (a write after free?) at", chunk_to_mem(c), 0);
    if (ilo == ihi)
        ilo = ihi = hi;
    if ((hi - lo) - (ihi - ilo) < b->min_span)
        return 1;
    size_t n;
    if (ilo > lo && (n = budget_take(b, ilo - lo)) != 0) {
        purge_range(av, ilo - n, ilo, b);
        ilo -= n;
    }
    if (ilo == lo && ihi < hi && (n = budget_take(b, hi - ihi)) != 0) {
        purge_range(av, ihi, ihi + n, b);
        ihi += n;
    }
    if (ilo == ihi) /* (nothing purged: the empty interval is 0, 0) */
        ilo = ihi = 0;
    w[PTAG_WORD + 2] = ilo;
    w[PTAG_WORD + 3] = ihi;
    return ilo == lo && ihi == hi;
}

static void emptied_reuse(arena *av, size_t bytes);

/* Cut top's purged interval where mallocs took top up since the last
 * sample (um_purge_top_lo). In the emptied state the pages cut were
 * handed out again, if the interval is top's own (anchored at its end:
 * after top moved to another heap or its end moved, it is stale until
 * purge_top starts it again): counted as reuse here, at the samples, and
 * not in um_purge_top_rose, where a test cost bench pairs-1m 13
 * instructions a pair (cachegrind). */
static void top_cut(arena *av)
{
    uintptr_t lo = um_purge_top_lo(av), old = av->purge.top_lo;
    chunk *top = av->top;
    if (unlikely(av->purge.emptied) && lo > old && top &&
        av->purge.top_hi == um_grain_down((uintptr_t)top + top_size(av, top)))
        emptied_reuse(av, lo - old); /* (lo is at most top_hi) */
    av->purge.top_lo = lo;
}

/* Top: give back what lies above pad, once top has not been seen grown by
 * frees (top_sample) since cutoff. The break moves down or a non-main heap
 * shrinks where possible; the rest is purged from the end downwards. 1 when
 * done. */
static int purge_top(arena *av, uint64_t cutoff, size_t pad, struct budget *b)
{
    chunk *top = av->top;
    if (!top)
        return 1;
    uintptr_t end = (uintptr_t)top + top_size(av, top);
    if (end != av->purge.top_end) { /* the heap grew (or shrank) since: young */
        av->purge.top_end = end;
        if (av->purge.top_stamp < av->purge.now)
            av->purge.top_stamp = av->purge.now;
    }
    if (av->purge.top_stamp > cutoff)
        return 1;
    size_t before = av->system_mem;
    if (av == &um_main_arena) {
        if (av->last_heap && av->last_heap->kind == HEAP_BRK && um_systrim(av, pad))
            b->released = 1;
    } else if (av->last_heap && um_heap_trim(av, av->last_heap, pad, 1)) {
        b->released = 1;
    }
    av->purge.trimmed_bytes += before - av->system_mem;
    top = av->top;
    size_t tsize = top_size(av, top);
    av->purge.top_end = (uintptr_t)top + tsize;
    if (tsize <= PTAG_END || tsize - PTAG_END <= pad) /* (pad may be any size_t: malloc_trim's) */
        return 1;
    uintptr_t lo = um_grain_up((uintptr_t)top + PTAG_END + pad), hi = um_grain_down((uintptr_t)top + tsize);
    if (unlikely(b->split)) /* (top's end is on a huge page's boundary: heap.c) */
        purge_split(page_up((uintptr_t)top + PTAG_END + pad), page_down((uintptr_t)top + tsize), lo, hi);
    if (lo >= hi)
        return 1;
    top_cut(av);
    if (av->purge.top_hi != hi || av->purge.top_lo > hi)
        av->purge.top_lo = av->purge.top_hi = hi; /* top's end moved: start again */
    uintptr_t plo = av->purge.top_lo;
    if (plo > lo && plo - lo < b->min_span)
        return 1;
    size_t n;
    if (plo > lo && (n = budget_take(b, plo - lo)) != 0) {
        purge_range(av, plo - n, plo, b);
        av->purge.top_lo = plo - n;
    }
    return av->purge.top_lo <= lo;
}

static unsigned first_purge_bin(void) { return largebin_index(um_pagesize); }

/* One bounded step of av's sweep; 1 when the sweep is complete. */
static int purge_step(arena *av, uint64_t cutoff, size_t pad, struct budget *b)
{
    struct um_purge *ps = &av->purge;
    if (ps->bin == 0) {
        ps->bin = 1;
        ps->cursor = NULL;
    }
    if (ps->bin == 1) {
        if (!b->sort_all) {
            b->visits -= um_arena_sort_unsorted(av, b->visits < SORT_PER_SWEEP ? b->visits : SORT_PER_SWEEP);
        } else {
            b->visits -= um_arena_sort_unsorted(av, b->visits);
            if (!bin_empty(av, 1))
                return 0;
        }
        ps->bin = first_purge_bin();
        ps->cursor = NULL;
    }
    while (ps->bin < NBINS) {
        chunk *head = bin_at(av, ps->bin);
        chunk *c = ps->cursor ? ps->cursor : head->fd;
        if (c == head) {
            ps->bin++;
            ps->cursor = NULL;
            continue;
        }
        if (b->visits == 0 || b->bytes == 0) {
            ps->cursor = c;
            return 0;
        }
        b->visits--;
        if (!purge_chunk(av, c, cutoff, b)) {
            ps->cursor = c;
            return 0;
        }
        chunk *fd = bin_link(av, c->fd, BIN_LINK_SMALL, c, "purge"); /* (run by malloc, free, malloc_trim, the purge thread) */
        ps->cursor = fd == head ? NULL : fd;
        if (!ps->cursor)
            ps->bin++;
    }
    if (!purge_top(av, cutoff, pad, b))
        return 0;
    ps->bin = 0;
    ps->cursor = NULL;
    ps->sweeps++;
    return 1;
}

static uint64_t cutoff_of(uint64_t now, long decay)
{
    return now > (uint64_t)decay ? now - (uint64_t)decay : 0;
}

/* ---- memory limit ---- */

/* "123", "64K", "512M", "2G" (binary units); 0 when it does not parse. */
static size_t parse_size(const char *s)
{
    if (!s)
        return 0;
    size_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > ((size_t)-1 - 9) / 10)
            return 0;
        v = v * 10 + (size_t)(*s - '0');
    }
    if (!digits)
        return 0;
    unsigned shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    case 't': case 'T': shift = 40; s++; break;
    default: break;
    }
    if (*s == 'B' || *s == 'b' || (shift && (*s == 'i' || *s == 'I') && (s[1] == 'B' || s[1] == 'b')))
        s += (*s == 'i' || *s == 'I') ? 2 : 1;
    if (*s != '\0' && *s != '\n')
        return 0;
    if (shift && v > ((size_t)-1 >> shift))
        return 0;
    return v << shift;
}

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Append src to dst (cap bytes); 0 if it does not fit. */
static int str_cat(char *dst, size_t cap, const char *src, size_t n)
{
    size_t d = str_len(dst);
    if (d + n + 1 > cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        dst[d + i] = src[i];
    dst[d + n] = '\0';
    return 1;
}

/* The limit file under root/path and each of its parents: the smallest. */
static size_t limit_along(const char *root, const char *path, size_t plen, const char *file)
{
    size_t best = 0;
    char buf[64];
    const char slash[2] = {'/', 0}; /* built in the code, not read from .rodata */
    for (;;) {
        char name[512] = {0};
        if (!str_cat(name, sizeof name, root, str_len(root)) || !str_cat(name, sizeof name, path, plen) ||
            !str_cat(name, sizeof name, slash, 1) || !str_cat(name, sizeof name, file, str_len(file)))
            return best;
        long n = um_os_read_file(name, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            size_t v = parse_size(buf); /* "max" and v1's huge "unlimited" give 0 / huge */
            if (v > 0 && v < ((size_t)1 << 60) && (best == 0 || v < best))
                best = v;
        }
        while (plen > 0 && path[plen - 1] != '/')
            plen--;
        if (plen == 0)
            return best;
        plen--; /* drop the slash: the parent */
    }
}

/* The files cgroup_limit reads, named outside .rodata (UM_HOT_CONST,
 * types.h): the limit is read in most processes that grow past a few MB. */
static const char cg_self[] UM_HOT_CONST = "/proc/self/cgroup";
static const char cg_v2_root[] UM_HOT_CONST = "/sys/fs/cgroup";
static const char cg_v2_file[] UM_HOT_CONST = "memory.max";
static const char cg_v1_root[] UM_HOT_CONST = "/sys/fs/cgroup/memory";
static const char cg_v1_file[] UM_HOT_CONST = "memory.limit_in_bytes";

/* Our cgroup's memory limit: v2 ("0::/path"), else v1's memory controller. */
static size_t cgroup_limit(void)
{
    /* read once: a page of its own for the moment, not a static buffer
     * among the hot variables of the data segment */
    const size_t cap = 4096;
    char *buf = um_os_map(cap);
    if (!buf)
        return 0;
    long n = um_os_read_file(cg_self, buf, cap - 1);
    if (n <= 0) {
        um_os_unmap(buf, cap);
        return 0;
    }
    buf[n] = '\0';
    size_t v2 = 0, v1 = 0;
    for (char *line = buf; *line;) {
        char *end = line;
        while (*end && *end != '\n')
            end++;
        /* hierarchy-id:controllers:path */
        char *c1 = line;
        while (c1 < end && *c1 != ':')
            c1++;
        char *c2 = c1 < end ? c1 + 1 : end;
        while (c2 < end && *c2 != ':')
            c2++;
        if (c2 < end) {
            const char *ctl = c1 + 1, *path = c2 + 1;
            size_t clen = (size_t)(c2 - ctl), plen = (size_t)(end - path);
            while (plen > 0 && path[plen - 1] == '/')
                plen--;
            if (clen == 0 && c1 - line == 1 && line[0] == '0')
                v2 = limit_along(cg_v2_root, path, plen, cg_v2_file);
            else if (clen == 6 && ctl[0] == 'm' && ctl[1] == 'e' && ctl[2] == 'm' && ctl[3] == 'o' &&
                     ctl[4] == 'r' && ctl[5] == 'y')
                v1 = limit_along(cg_v1_root, path, plen, cg_v1_file);
        }
        line = *end ? end + 1 : end;
    }
    um_os_unmap(buf, cap);
    return v2 ? v2 : v1;
}


static inline size_t limit_get(void) { return atomic_load_explicit(&mem_limit, memory_order_relaxed); }
size_t um_purge_memory_limit(void) { return limit_get(); }
int um_purge_limit_known(void) { return atomic_load_explicit(&limit_state, memory_order_acquire) == LIMIT_KNOWN; }

/* The state of the limit's read, set first when set >= 0 (the tests). */
int um_purge_limit_state(int set)
{
    if (set >= 0)
        atomic_store_explicit(&limit_state, set, memory_order_relaxed);
    return atomic_load_explicit(&limit_state, memory_order_relaxed);
}

/* Read the cgroup's limit, once (the first caller does it; the others go on
 * without it). A limit found makes the next tick look at RSS. */
static UM_COLD void limit_read(void)
{
    int unread = LIMIT_UNREAD;
    if (!atomic_compare_exchange_strong_explicit(&limit_state, &unread, LIMIT_READING,
                                                 memory_order_relaxed, memory_order_relaxed))
        return;
    size_t v = cgroup_limit();
    atomic_store_explicit(&mem_limit, v, memory_order_relaxed);
    atomic_store_explicit(&limit_state, LIMIT_KNOWN, memory_order_release);
    if (v)
        atomic_store_explicit(&global_next, 0, memory_order_relaxed);
}

/* RSS within 10% of the limit: pressure on, and it stays on for a while, so
 * that everything free goes back, not just enough to dip under the line. */
static int note_rss(size_t rss, uint64_t now)
{
    size_t lim = limit_get();
    int hot = rss >= lim - lim / 10;
    if (hot)
        atomic_store_explicit(&pressure_until, now + PRESSURE_HOLD_MS, memory_order_relaxed);
    else if (now >= atomic_load_explicit(&pressure_until, memory_order_relaxed))
        atomic_store_explicit(&pressure, 0, memory_order_relaxed);
    if (hot)
        atomic_store_explicit(&pressure, 1, memory_order_relaxed);
    return atomic_load_explicit(&pressure, memory_order_relaxed);
}
int um_purge_pressure(void) { return atomic_load_explicit(&pressure, memory_order_relaxed); }

/* ---- the drive ---- */

/* Top's age, sampled at each clock read rather than written by every free
 * that merges into it: frees move top's start down, mallocs move it up
 * (um_purge_top_rose keeps the highest start since the last sample), so top
 * lying lower than the highest start since the last sample, by more than a
 * quarter of its size, means that much memory entered top since (freed, or
 * old free chunks a free merged in) and is still free: top is young from
 * `now` (later than the free: up to 65 arena calls at a clock read, which
 * only delays the purge of that memory). The quarter is the rule the
 * per-free stamp had: a small block freed and taken again and again at the
 * top does not keep a large top young. A top that moved to another heap
 * lower down counts as grown, the safe side, and nothing sampled yet (hi 0)
 * too, which is how a top that moved to an older heap is seen
 * (um_purge_top_moved). Before, each free into top compared and stored the
 * stamp: 6 of the 408 instructions of a bench/pairs 1M pair, and more of
 * its time (README, pairs-1m); a malloc from top now compares its new top
 * with the highest (no store while a loop takes the same block again).
 * Seen at a read that follows the last one (last) by more than the decay
 * time, the frees may be as old as that read: the program made no arena
 * call or few since, and top is taken as young from `last`, so that this
 * sweep can purge it. Stamped `now`, a program that freed a large heap and
 * then called rarely kept it: its first call after a pause found top grown
 * and young, and the span of calls to the next read had grown while it
 * worked (tests/api/trim_after_burst: 16 MB stayed through any number of
 * 2-second pauses). The price, for a program calling that rarely: a block
 * it freed just before such a read and takes again faults its pages in.
 * av locked. */
static void top_sample(arena *av, uint64_t now, uint64_t last)
{
    top_cut(av); /* before top_high is forgotten */
    chunk *top = av->top;
    uintptr_t t = (uintptr_t)top, hi = av->purge.top_seen;
    if (av->purge.top_high > hi)
        hi = av->purge.top_high;
    long decay = um_purge_decay();
    uint64_t when = decay > 0 && last && now - last > (uint64_t)decay ? last : now;
    if (top && (hi == 0 || (t < hi && hi - t > top_size(av, top) / 4)) && av->purge.top_stamp < when)
        av->purge.top_stamp = when;
    av->purge.top_seen = t;
    av->purge.top_high = 0;
}

/* Top as it is now, taken as seen without a stamp: after an idle arena's
 * drain (chunks nobody took while the arena made no clock read for the
 * decay time), and after um_purge_arena_all (what is left was just
 * looked at). */
static void top_sample_skip(arena *av)
{
    top_cut(av);
    av->purge.top_seen = (uintptr_t)av->top;
    av->purge.top_high = 0;
}

/* An arena nobody used for the decay time: drain its parked chunks and run
 * its sweep a few steps (we hold another arena's lock: only trylock). */
static int purge_idle_arenas(arena *self, uint64_t now, long decay)
{
    int pending = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        if (a == self || !um_trylock(&a->lock))
            continue;
        if (a->purge.now + (uint64_t)decay <= now && (um_arena_central_bytes(a) || a->purge.bin || a->purge.next_sweep <= now)) {
            a->purge.busy = 1; /* the drain's frees leave a's clock alone */
            top_sample(a, now, now); /* frees since its last read: young from now */
            um_central_drain(a);
            um_consolidate(a);
            top_sample_skip(a); /* what the drain merged into top was idle */
            struct budget b = idle_budget;
            if (purge_step(a, cutoff_of(now, decay), RELAXED_LOAD(um_params.top_pad), &b))
                a->purge.next_sweep = now + sweep_interval(decay);
            else
                pending = 1;
            a->purge.busy = 0;
        }
        um_lock_release(&a->lock);
    }
    return pending;
}

/* Process-wide work, at most every few ms: RSS against the limit, idle arenas. */
static void purge_global(arena *av, uint64_t now, long decay)
{
    uint64_t next = atomic_load_explicit(&global_next, memory_order_relaxed);
    uint64_t step = limit_get() ? PRESSURE_EVERY_MS : (decay > 0 ? (uint64_t)decay / 4 : 4);
    int pending = atomic_load_explicit(&idle_pending, memory_order_relaxed);
    if (pending && step > IDLE_STEP_MS)
        step = IDLE_STEP_MS; /* an idle arena's sweep is under way: keep at it */
    if (now < next || !atomic_compare_exchange_strong_explicit(&global_next, &next, now + step,
                                                                memory_order_relaxed, memory_order_relaxed))
        return;
    if (limit_get()) {
        size_t rss = um_os_rss();
        int hot = note_rss(rss, now);
        if (hot) {
            decay = 0;
            if (av->purge.bin == 0)
                av->purge.next_sweep = now;
        }
    }
    um_mmap_cache_release(0); /* kept mappings past the decay time */
    uint64_t inext = atomic_load_explicit(&idle_next, memory_order_relaxed);
    if (decay >= 0 && (now >= inext || pending)) {
        if (!pending)
            atomic_store_explicit(&idle_next, now + (decay > 200 ? (uint64_t)decay / 4 : 50), memory_order_relaxed);
        atomic_store_explicit(&idle_pending, purge_idle_arenas(av, now, decay), memory_order_relaxed);
    }
}

static void tick_due(arena *av, uint64_t now, uint64_t gnext);

void um_purge_tick_slow(arena *av)
{
    av->purge.countdown = PURGE_TICK_EVERY - 1;
    if (unlikely(!atomic_load_explicit(&um_initialized, memory_order_relaxed)))
        return; /* a unit test driving a private arena */
    /* a free made by the purge itself (the central cache's decay or drain
     * hands chunks to um_int_free, up to STEP_BYTES of them): no clock read.
     * Each such read found the clock where the last one left it, so the
     * span doubled with no call of the program's, and a sparse program
     * could then wait 65 calls for its next read. */
    if (unlikely(av->purge.busy))
        return;
    if (unlikely(atomic_load_explicit(&limit_state, memory_order_relaxed) == LIMIT_UNREAD) &&
        (av->system_mem >= LIMIT_PROBE_BYTES ||
         RELAXED_LOAD(um_mstats.n_mmaps) >= LIMIT_PROBE_BYTES / DEFAULT_MMAP_THRESHOLD))
        limit_read();
    uint64_t now = um_now_ms();
    /* The span to the next read: 8 calls, doubled (up to 64) each time the
     * coarse clock (4 ms steps here; the kernel's tick) has not moved since
     * the last read, so a program that makes thousands of arena calls a
     * millisecond does not read it thousands of times a step, and one whose
     * calls are sparse still reads it every 8th. Reaching 64 takes three
     * reads in a row that find the clock unmoved, at least 50 calls (56
     * without the jitter) within one step of the coarse clock (4 ms here).
     * bench/pairs 1M (two arena calls a pair, nothing due): with a cap of 16,
     * a read every 7.7 pairs, 67 instructions each, and 4.1% of the
     * cpu-clock samples in the tick and the clock (perf record, pairs 1M
     * --scale=20); with 64, 1.6%. The price: when dense calls stop, up to
     * 65 calls (17 with the cap at 16) may pass before a read notices the
     * time, so a program that drops from a dense burst to a call a second
     * starts its purge up to 65 calls, about a minute, late; one that stops
     * calling has the purge thread, and other arenas' ticks drain an idle
     * arena. jemalloc's decay ticker waits 1000 events. -2..+1 calls around
     * the span, by the clock and the count of reads: a loop with an even
     * number of arena calls per round must not always be seen at the same
     * point of it. */
    unsigned span = PURGE_TICK_EVERY;
    if (now == av->purge.now && av->purge.span >= PURGE_TICK_EVERY)
        span = 2 * av->purge.span < PURGE_TICK_MAX ? 2 * av->purge.span : PURGE_TICK_MAX;
    av->purge.span = span;
    av->purge.countdown = (int)span - 3 + (int)(((now >> 2) + ++av->purge.reads) & 3);
    uint64_t last = av->purge.now;
    av->purge.now = now;
    if (now - last > (uint64_t)um_purge_decay()) {
        av->purge.emptied_undone = 0; /* a pause (EMPTIED_AGAIN) */
        av->purge.emptied_sys0 = av->purge.emptied_sys_low = 0;
    }
    top_sample(av, now, last);
    uint64_t gnext = atomic_load_explicit(&global_next, memory_order_relaxed);
    /* the clock has not moved since the last read, and nothing asked for a
     * look before it does (mallopt, the memory limit read: a 0 below): no
     * timed step can have come due, and the central cache's check and the
     * rest are skipped */
    if (now != last || av->purge.bin != 0 || av->purge.next_sweep == 0 || gnext == 0) {
        av->purge.busy = 1;
        tick_due(av, now, gnext);
        av->purge.busy = 0;
    }
}

/* ---- the emptied arena ----
 * The decay needs calls: a program whose threads free nearly everything
 * they built and then wait (workers after a burst, a server between
 * requests) makes none, and what it freed stayed resident for good
 * (tests/stress/idle_workers_none: 8 threads free 120 MB of 1-120 KiB blocks
 * and block; 150-350 MB stayed, glibc kept 2.6-24 MB). glibc gives such
 * memory back in the free itself: the blocks coalesce into top and top
 * above M_TRIM_THRESHOLD is trimmed. Here the chunks that the thread and
 * central caches hold at that moment (a few MB, scattered over the heap)
 * split the free memory into hundreds of holes below them, and top cannot
 * move down past them. So an arena that holds at least UM_EMPTIED_MIN free
 * in its bins and more than eight times as much free (bins and top) as it
 * has handed out (to the program and to the caches) is taken to have
 * emptied: its central cache goes to the bins and parks nothing more, every
 * thread is asked to empty its cache at its next slow call (so the chunks
 * the caches hold stop splitting the free memory), each free purges the
 * chunk it makes at once (emptied_chunk) when that has EMPTIED_MIN_SPAN
 * unpurged, and the sweeps run with a decay of 0 and the same minimum, a
 * step on every arena call, until the arena again hands out a quarter of
 * what it holds free, or holds less than half the floor free (top
 * trimmed), or the state pauses (emptied_pause: the program's mallocs take
 * back what the state purged, or it is still at work a decay time later).
 * The tests read counters the arena keeps (binned, which the debug build checks
 * against the heap walk, and system_mem): no walk.
 * The floor (or M_TRIM_THRESHOLD when that is higher) keeps ordinary
 * programs out of it: their decay stands. A program that frees nearly all
 * of a large heap and builds it again (EMPTIED_AGAIN) enters it once.
 * M_TRIM_THRESHOLD -1 and a decay of -1 turn it off, as they turn off the
 * purge.
 *
 * EMPTIED_AGAIN: an arena whose program took back what the last state
 * gave the kernel (purged pages handed out again, a sixteenth of what was
 * free when it began, or the heap its trims shrank grown back by as much)
 * and that empties again with no pause of a decay time between its clock
 * reads (emptied_undone; um_purge_tick_slow clears it) is at work, not
 * about to idle: a batch job's rounds, each of which builds a heap and
 * frees all of it. The state would purge each round's heap and the next
 * round fault it all in again, as glibc's trimmed top does: bench/rounds
 * (12 rounds of 96 MiB of 4-256 KiB blocks) took 298,859 faults and 7.26 s
 * where tcmalloc took 27,195 and 0.67 s (3 interleaved runs, medians); now
 * 51,095 and 1.23 s, the first two rounds faulting. Up to a 32 MiB heap the
 * raised trim threshold (the floor above, src/trim.c) kept such rounds
 * out already. A program that builds something else after the state
 * (bench/frag's phases: the next sizes grow the heap elsewhere, no purged
 * page comes back) still has every emptying purged, and so its last one
 * before it idles. The early end of a pause for reuse stands (workers out
 * of step). What the rounds keep goes back by the decay, on later calls
 * (tests/api/burst_loop). */

static size_t emptied_floor(void)
{
    size_t t = RELAXED_LOAD(um_params.trim_threshold);
    return t > UM_EMPTIED_MIN ? t : UM_EMPTIED_MIN;
}

/* What av holds free: its bins, top and central cache (parked chunks are
 * the arena's, and an emptied arena drains them). The rest of system_mem
 * is what it has handed out (to the program and the thread caches; heaps'
 * headers and fences, a few words a heap). */
static size_t arena_free(arena *av)
{
    chunk *top = av->top;
    return av->binned + (top ? top_size(av, top) : 0) + um_arena_central_bytes(av);
}

#define EMPTIED_RECHECK ((size_t)512 << 10) /* binned bytes moved between looks */

/* The state purges a chunk (or top) only once it has EMPTIED_MIN_SPAN
 * unpurged bytes or more; smaller pieces wait until a merge makes them that
 * large, or for the decay. madvise of up to 33 pages invalidates them one by
 * one (the kernel's single-page flush ceiling on x86), and each
 * invalidation is a VM exit on a virtual machine: 3.8-4.2 us a page here,
 * 1.2-1.3 us from 34 pages, 0.2 us for 2 MiB (bench/madvise_cost.c, two
 * runs on 2026-12-05), where a fault costs 2.5. A program that
 * frees all of a big heap before it exits enters the state too, and
 * purging each of its frees cost sqlite (bench) 10% of its CPU time (7,228
 * madvise calls, median 8 KiB) and frag 10%; pieces from 34 pages up cost
 * neither anything measurable. The price: an arena whose threads then wait
 * keeps the pieces under the span. With the span alone, 8 idle workers
 * (idle_workers_none) kept 7-11 MB where purging every piece had left 5-7;
 * with the caches emptied into the bins as well (above) they keep 3.4-5.2
 * MB (glibc 24). */
#define EMPTIED_MIN_SPAN (34 * (size_t)um_pagesize)
#define EMPTIED_BACKOFF_MAX 6                 /* up to 64 decay times between states */

static void emptied_chunk(arena *av, chunk *p, size_t size);
static void emptied_try(arena *av);

/* End the state for a while: the program is not idle but at work in the
 * arena, where the decay does the purging. Two signs of it: its mallocs
 * have taken back purged pages worth a quarter of what the arena held free
 * when the state began (EMPTIED_REUSE; each such page faults:
 * tests/api/purge_emptied's churn, 100,000 rounds of a working set of
 * 1-120 KiB blocks beside 71 MB of free bins, made 56,074 faults in a state
 * that did not end, 2,322 now); or the arena is still called a decay time
 * after the state began (a program whose threads free and then wait does it
 * all in the frees; one that goes on would otherwise keep the state, and
 * its cross-thread frees would skip the central cache, for good). The
 * arena is left to the decay for one decay time, doubled with each such end
 * in a row (up to 64 times): the state stops purging what such a program
 * takes back once a quarter of what was free has been taken back.
 * A pause for reuse ends early (once a pause) when the program has freed
 * half of what it held at the pause (held; um_purge_emptied looks at it,
 * and the state's other conditions must hold again): threads that were
 * still at work when the others had emptied the arena, done now. 8
 * workers whose rounds are not in step (tests/stress/idle_workers_none)
 * took 18-25 MB of purged pages back within 20 ms of the state's start
 * (5 of 12 runs of a build that logged each pause), then freed it all with
 * the state paused: 21-41 MB stayed where 4 did otherwise (7 of 20 runs);
 * with the early end, 3.5-5.1 MB in 72 runs of 72.
 * The reuse is counted where a malloc takes memory out of the bins
 * (um_purge_handout), from the purged pages their tags record, and for top
 * at the clock's samples (top_cut). It was counted as the pages the state
 * purged (twice what was free being the sign): but a merge keeps one
 * purged interval of its parts, and the pages of the other part are
 * advised again, so frees alone passed that (the same workers: 16-36 ms
 * after the start, in 7 of 20 logged runs). */
#define EMPTIED_REUSE 4 /* a pause once a 1/4 of what was free is reused */

/* The state ends: did the program's mallocs take back a sixteenth or more
 * of what was free when it began, purged pages that faulted in again
 * (EMPTIED_AGAIN)? */
static void emptied_ended(arena *av)
{
    RELAXED_STORE(av->purge.emptied, 0);
    if (av->purge.emptied_reused >= av->purge.emptied_stop / 4)
        av->purge.emptied_undone = 1;
    if (av->system_mem < av->purge.emptied_sys_low)
        av->purge.emptied_sys_low = av->system_mem; /* what its trims left */
}

static void emptied_pause(arena *av, uint64_t now, size_t held)
{
    unsigned n = av->purge.emptied_backoff;
    av->purge.emptied_held = held;
    long decay = um_purge_decay();
    emptied_ended(av);
    av->purge.emptied_backoff = n < EMPTIED_BACKOFF_MAX ? n + 1 : n;
    av->purge.emptied_until = now + ((uint64_t)(decay > 0 ? decay : 0) << n);
}

/* bytes of purged pages handed out again: pause once they pass the stop */
static void emptied_reuse(arena *av, size_t bytes)
{
    av->purge.emptied_reused += bytes;
    if (av->purge.emptied_reused > av->purge.emptied_stop) {
        size_t fr = arena_free(av);
        emptied_pause(av, um_now_ms(), fr < av->system_mem ? av->system_mem - fr : 0);
    }
}

void um_purge_emptied(arena *av, chunk *p, size_t size)
{
    if (av->purge.emptied) {
        emptied_chunk(av, p, size);
        return;
    }
    if (av->purge.busy || um_purge_decay() <= 0)
        return; /* the purge's own frees; never purged, or at once anyway */
    /* int_free calls on every free while the bins hold the floor: look
     * again (the central cache's classes are summed) only once the bins
     * moved by EMPTIED_RECHECK */
    size_t b = av->binned, m = av->purge.emptied_mark;
    if (b < m + EMPTIED_RECHECK && b + EMPTIED_RECHECK > m)
        return;
    av->purge.emptied_mark = b;
    emptied_try(av);
}

/* Enter the state if av now qualifies (um_purge_emptied, fork). */
static void emptied_try(arena *av)
{
    size_t b = av->binned, fr = arena_free(av);
    if (b < emptied_floor() || fr > av->system_mem || av->system_mem - fr > fr / 8)
        return;
    /* the last state was paused: the decay does it a while, unless that
     * was for reuse and the program has since freed half of what it held
     * then (see EMPTIED_REUSE) */
    size_t held = av->purge.emptied_held;
    uint64_t now = um_now_ms();
    int early = held && av->system_mem - fr < held / 2;
    if (now < av->purge.emptied_until && !early)
        return;
    /* the program took back what the last state purged (its pages, or
     * the heap it trimmed: grown back), and has not paused since
     * (EMPTIED_AGAIN) */
    size_t sys = av->system_mem < av->purge.emptied_sys0 ? av->system_mem : av->purge.emptied_sys0;
    if (sys > av->purge.emptied_sys_low + av->purge.emptied_stop / 4)
        av->purge.emptied_undone = 1;
    /* Only a single-threaded program is taken at its word: worker threads
     * that each build and free in rounds of their own, then all wait (issue
     * 8's idle workers, tests/stress/idle_workers_none: 10 unsynchronised
     * rounds of 8 x 300 blocks) show the same evidence during the burst,
     * and skipping the state kept 35-98 MB after it in some runs (98 MB,
     * over the bound of 3x glibc's 24 MB, in 1 of 4 CI runs, and 1 of 12
     * runs two at a time) where the state gives back all but 4 MB (12 of
     * 12 now). Rounds of several threads fault their heap in again, as
     * before EMPTIED_AGAIN. */
    if (av->purge.emptied_undone && !early && um_single_threaded())
        return;
    size_t sys0 = av->system_mem;
    av->purge.emptied_held = 0; /* (one early end a pause) */
    av->purge.top_lo = um_purge_top_lo(av); /* top taken before the state is not its reuse */
    RELAXED_STORE(av->purge.emptied, 1);
    av->purge.emptied_since = now;
    av->purge.emptied_reused = 0;
    av->purge.emptied_stop = fr / EMPTIED_REUSE;
    av->purge.next_sweep = 0;
    um_tcache_request_flush(1); /* every cache, at its next slow call */
    um_purge_tick_slow(av); /* now: drain the central cache, start a sweep */
    /* the heap marks after that tick, whose clock read, when it finds a
     * pause before this emptying, clears them: set before it, they were
     * lost, and the state gave no evidence of a heap grown back (the next
     * emptying purged again) */
    av->purge.emptied_sys0 = sys0;
    av->purge.emptied_sys_low = av->system_mem < sys0 ? av->system_mem : sys0;
}

/* In the state: purge the free chunk p (size bytes) that a free just made,
 * whole, when EMPTIED_MIN_SPAN of it is unpurged (a merge keeps one purged
 * interval of its parts, so pages of the other part may be advised again:
 * no fault, a walk of their page table). */
static void emptied_chunk(arena *av, chunk *p, size_t size)
{
    if (um_purge_decay() <= 0) { /* set since (mallopt): -1 never purges, 0 sweeps */
        RELAXED_STORE(av->purge.emptied, 0);
        return;
    }
    struct budget b; /* (set field by field: see step_budget) */
    b.bytes = size;
    b.visits = 1;
    b.released = 0;
    b.sort_all = 0;
    b.min_span = EMPTIED_MIN_SPAN;
    b.split = 0;
    purge_chunk(av, p, UINT64_MAX, &b);
}

/* um_purge_handout, in the state: the pages of c's purged interval that
 * lie in the nb bytes handed out. */
void um_purge_reused(arena *av, const chunk *c, size_t nb)
{
    const uintptr_t *w = (const uintptr_t *)c;
    uintptr_t lo = w[PTAG_WORD + 2], hi = w[PTAG_WORD + 3], end = (uintptr_t)c + nb;
    if (hi > end)
        hi = end;
    if (hi > lo)
        emptied_reuse(av, hi - lo);
}

/* Has an emptied arena filled again (or given its memory back)? */
static int emptied_over(arena *av)
{
    size_t fr = arena_free(av);
    return fr < emptied_floor() / 2 || fr > av->system_mem || av->system_mem - fr > fr / 4;
}

/* The rest of a clock tick, out of line: the early return above saves no
 * registers. */
/* In the state: the central cache and the fast bins into the bins, where
 * the frees purge their chunks (free_coalesce); tick_due and fork. */
static void emptied_drain(arena *av)
{
    RELAXED_STORE(av->purge.emptied, 2);
    um_central_drain(av);
    um_consolidate(av);
}

static UM_NOINLINE void tick_due(arena *av, uint64_t now, uint64_t gnext)
{
    if (now >= gnext)
        purge_global(av, now, um_purge_decay());
    if (unlikely(av->purge.emptied)) {
        long decay = um_purge_decay();
        if (emptied_over(av)) {
            emptied_ended(av);
            av->purge.emptied_backoff = 0;
        } else if (decay <= 0) {
            /* set since (mallopt, or memory pressure): -1 never purges, 0
             * sweeps at once anyway (as in emptied_chunk) */
            RELAXED_STORE(av->purge.emptied, 0);
        } else if (now >= av->purge.emptied_since + (uint64_t)decay) {
            emptied_pause(av, now, 0);
        } else if (av->purge.emptied == 1 || um_arena_central_bytes(av)) {
            /* (a give that read the state unset just before it began may
             * have parked after the first drain) */
            emptied_drain(av);
        }
    }
    /* chunks parked in the central cache that nobody took for the decay
     * time go to the bins first, where this sweep can purge their pages */
    um_central_decay_locked(av, now, STEP_BYTES);
    if (likely(av->purge.bin == 0 && now < av->purge.next_sweep))
        return;
    long decay = um_purge_decay();
    if (decay < 0) {
        av->purge.bin = 0;
        av->purge.cursor = NULL;
        av->purge.next_sweep = now + 1000; /* look at the settings again later */
        return;
    }
    struct budget b = step_budget;
    if (av->purge.emptied) {
        decay = 0;
        b = idle_budget;
        b.min_span = EMPTIED_MIN_SPAN;
    }
    if (purge_step(av, cutoff_of(now, decay), RELAXED_LOAD(um_params.top_pad), &b))
        av->purge.next_sweep = now + sweep_interval(decay);
    else {
        av->purge.countdown = 0; /* a sweep is under way: a step every call */
        av->purge.span = 0;      /* and 8 calls between reads after it */
    }
}

/* Before fork, av locked (um_fork_prepare). Threads that freed a large
 * heap and exited leave most of it parked in the central cache, and a
 * process that then forks without a free of its own left its drain to each
 * child: the child's first malloc that found no fitting free chunk drained
 * the whole cache before growing the heap (and its first free into the bins
 * began the emptied state, which drains it too), writing a header into
 * nearly every page it shared with its parent, each of which the kernel
 * then copied. A perl program whose 3 threads had built and freed a 150 MB
 * heap, then forked 20 children that each allocated 3,000 strings, took
 * 37,000 copy-on-write faults a child and 5.8x glibc's time; after this,
 * 0.58-0.62 s against glibc's 0.52-0.65 (five interleaved runs each;
 * tests/api/fork_after_threads: 8,017 faults a child before, 404 after).
 * When nearly all the arena holds is free and at least FORK_DRAIN_MIN of
 * it is parked, more than half of what is free (so that a large top left
 * by the last such drain does not bring on another at every fork), the
 * parent drains it here, once, and looks for the emptied state as a free
 * would. A process still using its heap (handing out more than an eighth
 * of what it holds free) keeps its cache: a fork followed by exec costs it
 * nothing more. */
#define FORK_DRAIN_MIN ((size_t)4 << 20) /* up to 1,024 pages a child would copy */
void um_purge_fork_prepare(arena *av)
{
    if (RELAXED_LOAD(av->purge.emptied)) {
        if (um_arena_central_bytes(av)) /* parked since the state began */
            emptied_drain(av);
        return;
    }
    /* nearly all of it free, most of that parked (threads that freed their
     * blocks and exited), and enough of it to matter: the drain a child's
     * first carve would do before growing the heap, done here */
    size_t fr = arena_free(av), parked = um_arena_central_bytes(av);
    if (parked >= FORK_DRAIN_MIN && parked > fr / 2 && fr <= av->system_mem &&
        av->system_mem - fr <= fr / 8) {
        um_central_drain(av);
        um_consolidate(av);
    } else if (av->have_fastchunks) {
        /* the fast bins' chunks too: the first malloc that walks past them
         * merges them all, a write beside each, in every child that gets
         * there (the first child of tests/api/fork_after_threads took
         * 2,000-3,000 faults, about 400 of them its own, in 6 runs of 15
         * before this and none of 15 after: the exiting threads had left
         * chunks in the fast bins, which the parent merged itself only
         * after that fork); here once, in pages the parent owns alone */
        um_consolidate(av);
    }
    /* (the drain's frees may have begun the state already) */
    if (!RELAXED_LOAD(av->purge.emptied) && um_purge_decay() > 0)
        emptied_try(av);
}

int um_purge_arena_all(arena *av, size_t pad)
{
    struct budget b = {(size_t)-1 & ~(size_t)(um_pagesize - 1), ~0u, 0, 1, 0, um_params.thp != 0};
    uint64_t now = um_now_ms();
    av->purge.now = now;
    av->purge.span = 0; /* the next read's span: 8 calls */
    av->purge.top_stamp = 0;
    av->purge.bin = 0; /* a complete sweep of its own, from the start */
    av->purge.cursor = NULL;
    while (!purge_step(av, now, pad, &b)) {
        b.visits = ~0u;
    }
    top_sample_skip(av); /* what is left of top was just looked at */
    return b.released;
}

void um_purge_stats(arena *av, struct um_purge_stats *st)
{
    st->purged_bytes = av->purge.purged_bytes;
    st->purge_calls = av->purge.purge_calls;
    st->trimmed_bytes = av->purge.trimmed_bytes;
    st->sweeps = av->purge.sweeps;
    st->purged_now = st->dirty_now = 0;
    for (unsigned i = 1; i < NBINS; i = i == 1 ? first_purge_bin() : i + 1) {
        chunk *head = bin_at(av, i);
        for (chunk *c = head->fd; c != head; c = bin_link(av, c->fd, BIN_LINK_SMALL, c, "check")) {
            size_t size = chunksize(c);
            uintptr_t lo = um_grain_up((uintptr_t)c + PTAG_END), hi = um_grain_down((uintptr_t)c + size);
            if (size < um_pagesize || lo >= hi)
                continue;
            size_t p = 0;
            if (ptag_valid(c, size))
                p = ((uintptr_t *)c)[PTAG_WORD + 3] - ((uintptr_t *)c)[PTAG_WORD + 2];
            st->purged_now += p;
            st->dirty_now += hi - lo - p;
        }
    }
    chunk *top = av->top;
    if (top) {
        uintptr_t lo = um_grain_up((uintptr_t)top + PTAG_END), hi = um_grain_down((uintptr_t)top + top_size(av, top));
        uintptr_t plo = um_purge_top_lo(av);
        if (av->purge.top_hi == hi && lo < hi && plo < hi)
            st->purged_now += hi - (plo > lo ? plo : lo);
    }
}

/* ---- settings ---- */

static void purge_thread_sync(void);

/* mallopt changed a purge setting (called with no arena lock held): every
 * arena looks again at its next tick; the thread starts or stops. */
void um_purge_sync(void)
{
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        a->purge.next_sweep = 0;
        um_lock_release(&a->lock);
    }
    atomic_store_explicit(&global_next, 0, memory_order_relaxed);
    atomic_store_explicit(&idle_next, 0, memory_order_relaxed);
    purge_thread_sync();
}

static long parse_int(const char *s, int *ok)
{
    *ok = 0;
    if (!s)
        return 0;
    int neg = *s == '-';
    s += neg;
    long v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && v < 1000000000; s++, digits++)
        v = v * 10 + (*s - '0');
    if (!digits || *s)
        return 0;
    *ok = 1;
    return neg ? -v : v;
}

void um_purge_init(void)
{
    um_purge_key = (um_secret * 0x9e3779b97f4a7c15ull) ^ 0x5055524745ull;
    um_params.purge_decay_ms = DEFAULT_DECAY_MS;
    int ok;
    long v = parse_int(um_env("UMALLOC_PURGE_DECAY_MS"), &ok);
    if (ok && v >= -1 && v <= 0x7fffffff)
        um_params.purge_decay_ms = (int)v;
    v = parse_int(um_env("UMALLOC_PURGE_THREAD"), &ok);
    if (ok)
        um_params.purge_thread = v != 0;
    const char *lim = um_env("UMALLOC_MEMORY_LIMIT");
    if (lim) {
        atomic_store_explicit(&mem_limit, parse_size(lim), memory_order_relaxed);
        atomic_store_explicit(&limit_state, LIMIT_KNOWN, memory_order_relaxed);
    }
}

/* ---- the purge thread ---- */

static um_lock thread_lock;
static int thread_running;   /* a thread of generation thread_gen exists */
static _Atomic unsigned thread_gen;

/* Sleep for ms milliseconds (nanosleep: no allocation, restarts on EINTR). */
static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sweep one arena to the end, letting go of its lock between steps. */
static void purge_arena_sweep(arena *a, uint64_t now, long decay)
{
    for (int steps = 0; steps < 100000; steps++) {
        um_lock_acquire(&a->lock);
        top_sample(a, now, now); /* (as in purge_idle_arenas) */
        if (a->purge.now + (uint64_t)(decay > 0 ? decay : 0) <= now && um_arena_central_bytes(a)) {
            a->purge.busy = 1;
            um_central_drain(a); /* nobody used it for the decay time */
            um_consolidate(a);
            top_sample_skip(a);
            a->purge.busy = 0;
        }
        struct budget b = step_budget_sorted;
        int done = purge_step(a, cutoff_of(now, decay), RELAXED_LOAD(um_params.top_pad), &b);
        if (done)
            a->purge.next_sweep = now + sweep_interval(decay);
        um_lock_release(&a->lock);
        if (done)
            return;
    }
}

static void *purge_thread_main(void *arg)
{
    unsigned gen = (unsigned)(uintptr_t)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    limit_read(); /* it may be the only one to look at RSS */
    while (atomic_load_explicit(&thread_gen, memory_order_acquire) == gen) {
        long decay = um_purge_decay();
        uint64_t period = decay < 0 ? 1000 : sweep_interval(decay);
        sleep_ms(period < 10 ? 10 : period);
        if (atomic_load_explicit(&thread_gen, memory_order_acquire) != gen)
            break;
        uint64_t now = um_now_ms();
        if (limit_get())
            note_rss(um_os_rss(), now);
        decay = um_purge_decay();
        if (decay < 0)
            continue;
        for (arena *a = &um_main_arena; a; a = um_arena_next(a))
            purge_arena_sweep(a, now, decay);
        um_mmap_cache_release(0);
    }
    return NULL;
}

/* Start or stop the thread to match um_params.purge_thread. Called with no
 * arena lock held (pthread_create may allocate). */
static void purge_thread_sync(void)
{
    um_lock_acquire(&thread_lock);
    int want = RELAXED_LOAD(um_params.purge_thread);
    if (want && !thread_running) {
        unsigned gen = atomic_fetch_add_explicit(&thread_gen, 1, memory_order_acq_rel) + 1;
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        thread_running = pthread_create(&t, &attr, purge_thread_main, (void *)(uintptr_t)gen) == 0;
        pthread_attr_destroy(&attr);
        if (!thread_running)
            RELAXED_STORE(um_params.purge_thread, 0);
    } else if (!want && thread_running) {
        atomic_fetch_add_explicit(&thread_gen, 1, memory_order_acq_rel); /* it exits on waking */
        thread_running = 0;
    }
    um_lock_release(&thread_lock);
}

/* In the child of fork the thread does not exist. A child that goes on
 * allocating for a while (a prefork server's worker, a postgres backend)
 * has it started again, from its first tcache miss at least a decay time
 * (and a second) after the fork: not from the handler, where a child that
 * calls exec next has no use for a thread and may not start one, and not
 * with a lock held (pthread_create allocates). Before, the thread asked
 * for with UMALLOC_PURGE_THREAD=1 was gone for good in every child, and a
 * backend that went quiet after a query kept its freed heap resident
 * (tests/api/purge_thread_fork). */
_Atomic int um_purge_restart;       /* the child's thread is to be started again */
static uint64_t restart_after;      /* ms: not before */

void um_purge_restart_slow(void)
{
    long decay = um_purge_decay();
    if (um_now_ms() < restart_after + (decay > 0 ? (uint64_t)decay : 0))
        return;
    if (!atomic_exchange_explicit(&um_purge_restart, 0, memory_order_relaxed))
        return; /* (another thread of the child's is starting it) */
    RELAXED_STORE(um_params.purge_thread, 1);
    purge_thread_sync();
}

void um_purge_fork_child(void)
{
    /* (a child that forks again before its own restart passes it on: a
     * daemon's double fork) */
    int wanted = RELAXED_LOAD(um_params.purge_thread) ||
                 atomic_load_explicit(&um_purge_restart, memory_order_relaxed);
    /* a read of the limit that the fork cut in half (the purge thread reads
     * it with no lock held, so fork does not wait for it): the thread that
     * would finish it is not in the child, which reads it again */
    int reading = LIMIT_READING;
    atomic_compare_exchange_strong_explicit(&limit_state, &reading, LIMIT_UNREAD, memory_order_relaxed,
                                            memory_order_relaxed);
    um_lock_init(&thread_lock);
    thread_running = 0;
    RELAXED_STORE(um_params.purge_thread, 0);
    atomic_fetch_add_explicit(&thread_gen, 1, memory_order_relaxed);
    restart_after = um_now_ms() + 1000;
    atomic_store_explicit(&um_purge_restart, wanted, memory_order_relaxed);
}

/* UMALLOC_PURGE_THREAD=1: start the thread when the library is loaded. */
__attribute__((constructor)) static void purge_thread_ctor(void)
{
    if (!um_env("UMALLOC_PURGE_THREAD"))
        return;
    um_ensure_init();
    if (RELAXED_LOAD(um_params.purge_thread))
        purge_thread_sync();
}

/* ---- public ---- */

PUBLIC int umalloc_purge(void)
{
    return API(malloc_trim)(0); /* every cache flushed, every free page back */
}
