/*
 * tour.c - the seed articles' malloc scenarios, narrated with live numbers.
 *
 *   make run                                   (runs it under umalloc)
 *   LD_PRELOAD=build/libumalloc.so build/examples/tour [section ...]
 *   build/examples/tour                        (plain glibc, for comparison)
 *
 * Every section runs in its own forked child, so each one starts from the
 * same untouched allocator state (the parent never calls malloc: stdout uses
 * a static buffer) and settings changed by mallopt() in one section, or the
 * dynamic mmap threshold raised by a free() in another, cannot leak into the
 * next.  A section that crashes is reported and the tour goes on.
 *
 * The program itself never reads files through stdio (that would malloc and
 * disturb the numbers): /proc files are read with open/read into static
 * buffers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)

static char outbuf[1 << 16];        /* stdout buffer: keeps stdio off the heap */
static char filebuf[1 << 18];       /* /proc files land here */
static void *volatile sink;         /* keeps the compiler from eliding malloc/free */
static size_t pagesz;

/* ------------------------------------------------------------ helpers */

static size_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    if (fd < 0)
        return 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return len;
}

/* /proc/self/statm: field 0 = total program size, 1 = resident, 2 = resident
 * and file-backed/shared, in pages.  "RSS" below is anonymous memory only
 * (resident - shared), so libc code pages faulting in do not blur the counts. */
static long statm_field(int which)
{
    char buf[256];
    long v[3] = { -1, -1, -1 };
    if (read_small_file("/proc/self/statm", buf, sizeof buf) == 0)
        return -1;
    if (sscanf(buf, "%ld %ld %ld", &v[0], &v[1], &v[2]) != 3)
        return -1;
    return which == 1 ? v[1] - v[2] : v[which];
}
static long rss_pages(void) { return statm_field(1); }
static long vm_pages(void) { return statm_field(0); }

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uintptr_t brk_now(void) { return (uintptr_t)sbrk(0); }

/* Find the /proc/self/maps line whose range contains addr (want_heap=0) or
 * the [heap] line (want_heap=1).  Copies it into out; returns 1 if found. */
static int maps_line(uintptr_t addr, int want_heap, char *out, size_t cap,
                     uintptr_t *lo_out, uintptr_t *hi_out)
{
    if (read_small_file("/proc/self/maps", filebuf, sizeof filebuf) == 0)
        return 0;
    for (char *line = filebuf; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        unsigned long lo = 0, hi = 0;
        int hit;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            break;
        if (want_heap)
            hit = len >= 6 && memcmp(line + len - 6, "[heap]", 6) == 0;
        else
            hit = addr >= lo && addr < hi;
        if (hit) {
            if (len >= cap)
                len = cap - 1;
            memcpy(out, line, len);
            out[len] = '\0';
            if (lo_out)
                *lo_out = lo;
            if (hi_out)
                *hi_out = hi;
            return 1;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return 0;
}

static void touch(void *p, size_t len, size_t step)
{
    volatile char *c = p;
    for (size_t off = 0; off < len; off += step)
        c[off] = 1;
}

static struct mallinfo2 mi2(void) { return mallinfo2(); }

/* malloc_stats() writes to stderr; send it to stdout so the tour reads as
 * one stream even when piped. */
static void stats_to_stdout(void)
{
    fflush(stdout);
    fflush(stderr);
    int saved = dup(2);
    if (saved >= 0 && dup2(1, 2) >= 0) {
        malloc_stats();
        fflush(stderr);
        dup2(saved, 2);
    } else {
        malloc_stats();
    }
    if (saved >= 0)
        close(saved);
}

static void heading(const char *num, const char *title)
{
    printf("\n== %s. %s ==\n", num, title);
}

static void seed(const char *text) { printf("  seed: %s\n", text); }

static void kib(const char *label, long long bytes)
{
    printf("%s%+lld bytes (%+.1f KiB)", label, bytes, (double)bytes / 1024.0);
}

/* ------------------------------------------------------------ 1. brk */

static void sec_brk(int variant)
{
    (void)variant;
    heading("1", "small requests move the program break (brk)");
    seed("malloc below 128 KiB pushes the heap top (_edata) up with brk;");
    seed("A=malloc(30K) then B=malloc(40K) both come from the heap.");

    uintptr_t b0 = brk_now();
    char *a = malloc(30 * KiB);
    uintptr_t b1 = brk_now();
    char *b = malloc(40 * KiB);
    uintptr_t b2 = brk_now();
    sink = a;
    sink = b;

    printf("  break before            : %#lx\n", (unsigned long)b0);
    printf("  A = malloc(30 KiB) = %#lx, break now %#lx, ", (unsigned long)(uintptr_t)a,
           (unsigned long)b1);
    kib("moved ", (long long)(b1 - b0));
    printf("\n");
    printf("  B = malloc(40 KiB) = %#lx, break now %#lx, ", (unsigned long)(uintptr_t)b,
           (unsigned long)b2);
    kib("moved ", (long long)(b2 - b1));
    printf("\n");
    if ((uintptr_t)a >= b0 && (uintptr_t)a - b0 > 16)
        printf("  -> A starts %lu bytes above the old break: the allocator's own bookkeeping\n"
               "     and alignment come first (glibc puts its per-thread cache, tcache, there).\n",
               (unsigned long)((uintptr_t)a - b0));
    if (b1 - b0 >= 158 * KiB)
        printf("  -> the heap grew by more than A: A plus M_TOP_PAD (128 KiB) of slack,\n"
               "     page-rounded; the slack became the top chunk.\n");
    else if (b1 - b0 > 30 * KiB)
        printf("  -> the heap grew by more than A: the first request plus M_TOP_PAD (128 KiB)\n"
               "     of slack, page-rounded; A was carved from that slack (the top chunk).\n");
    if (b2 == b1)
        printf("  -> B fitted into that top chunk, so no brk call was needed for it.\n");
    int below = (uintptr_t)a < b2 && (uintptr_t)b + 40 * KiB <= b2;
    long gap = (long)((uintptr_t)b - (uintptr_t)a);
    printf("  A and B lie below the break: %s; B - A = %ld bytes%s\n", below ? "yes" : "NO", gap,
           gap == 30 * 1024 + 16 ? " (30 KiB + a 16-byte chunk header)" : "");
    char line[512];
    if (maps_line(0, 1, line, sizeof line, NULL, NULL))
        printf("  maps: %s\n", line);
    else
        printf("  maps: no [heap] line (this allocator does not use brk here)\n");
    free(b);
    free(a);
}

/* ------------------------------------------------------------ 2. mmap */

static void sec_mmap(int variant)
{
    (void)variant;
    heading("2", "a 200 KiB request gets its own mmap");
    seed("above M_MMAP_THRESHOLD (128 KiB) malloc maps a private anonymous region");
    seed("between heap and stack; free() unmaps it at once.");

    char *warm = malloc(1 * KiB); /* make sure a [heap] exists to compare with */
    sink = warm;
    uintptr_t b0 = brk_now();
    char *c = malloc(200 * KiB);
    uintptr_t b1 = brk_now();
    sink = c;
    struct mallinfo2 m = mi2();
    printf("  C = malloc(200 KiB) = %#lx; break %s (%#lx)\n", (unsigned long)(uintptr_t)c,
           b1 == b0 ? "unchanged" : "MOVED", (unsigned long)b1);

    char line[512], heap[512];
    uintptr_t lo = 0, hi = 0, hlo = 0, hhi = 0;
    int have_c = maps_line((uintptr_t)c, 0, line, sizeof line, &lo, &hi);
    int have_h = maps_line(0, 1, heap, sizeof heap, &hlo, &hhi);
    if (have_c)
        printf("  maps (C)     : %s\n", line);
    else
        printf("  maps (C)     : (no mapping contains C?)\n");
    if (have_h)
        printf("  maps ([heap]): %s\n", heap);
    if (have_c) {
        int in_heap = have_h && lo == hlo && hi == hhi;
        printf("  -> C is %s: a %zu-byte region (200 KiB + header, page-rounded)\n",
               in_heap ? "INSIDE [heap]" : "in a separate mapping, not in [heap]",
               (size_t)(hi - lo));
    }
    printf("  mallinfo2: hblks=%zu hblkhd=%zu\n", m.hblks, m.hblkhd);

    uintptr_t caddr = (uintptr_t)c;
    free(c);
    m = mi2();
    printf("  free(C):\n");
    if (maps_line(caddr, 0, line, sizeof line, NULL, NULL))
        printf("  maps (old C) : %s  (still mapped)\n", line);
    else
        printf("  maps (old C) : none -> the region was unmapped, memory went back to the kernel\n");
    printf("  mallinfo2: hblks=%zu hblkhd=%zu\n", m.hblks, m.hblkhd);
    free(warm);
}

/* ------------------------------------------------------------ 3. lazy pages */

static const char *thp_mode(void)
{
    static char buf[128];
    if (read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) == 0)
        return "unknown";
    char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;
    if (!l || !r)
        return "unknown";
    *r = '\0';
    return l + 1;
}

static void sec_lazy(int variant)
{
    (void)variant;
    const size_t sz = 64 * MiB;
    const long npages = (long)(sz / pagesz);
    heading("3", "malloc hands out virtual memory; pages arrive on first touch");
    seed("brk and mmap only reserve address space; the first access to each page");
    seed("raises a (minor) page fault and only then does the kernel supply memory.");

    long v0 = vm_pages(), r0 = rss_pages(), f0 = minflt();
    char *p = malloc(sz);
    long v1 = vm_pages(), r1 = rss_pages(), f1 = minflt();
    if (!p) {
        printf("  malloc(64 MiB) failed\n");
        return;
    }
    sink = p;
    printf("  page size %zu bytes; transparent huge pages: %s; RSS = anonymous resident pages\n",
           pagesz, thp_mode());
    printf("  p = malloc(64 MiB)      : virtual %+ld pages, RSS %+ld pages, minor faults %+ld\n",
           v1 - v0, r1 - r0, f1 - f0);
    double t = now_us();
    touch(p, sz, pagesz);
    t = now_us() - t;
    long r2 = rss_pages(), f2 = minflt();
    printf("  write 1 byte per page   : RSS %+ld pages, minor faults %+ld   (%ld pages in 64 MiB)\n",
           r2 - r1, f2 - f1, npages);
    printf("  -> %.2f faults per page touched, %.0f ns per fault\n",
           (double)(f2 - f1) / (double)npages,
           f2 > f1 ? t * 1000.0 / (double)(f2 - f1) : 0.0);
    if (f2 - f1 < npages / 2)
        printf("  -> fewer faults than pages: the kernel mapped huge pages (THP) per fault\n");
    free(p);
    long r3 = rss_pages();
    printf("  free(p)                 : RSS %+ld pages (an mmapped block goes straight back)\n",
           r3 - r2);
}

/* ------------------------------------------------------------ 4. mallinfo */

#define ARRAY_SIZE 200
static size_t heap_malloc_total, heap_free_total, mmap_total, mmap_count;

static void print_info(void)
{
    struct mallinfo2 mi = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
    printf("  count by itself:\n");
    printf("\theap_malloc_total=%zu heap_free_total=%zu heap_in_use=%zu\n"
           "\tmmap_total=%zu mmap_count=%zu\n",
           heap_malloc_total * 1024, heap_free_total * 1024,
           heap_malloc_total * 1024 - heap_free_total * 1024, mmap_total * 1024, mmap_count);
    printf("  count by mallinfo2:\n");
    printf("\theap_malloc_total=%zu heap_free_total=%zu heap_in_use=%zu\n"
           "\tmmap_total=%zu mmap_count=%zu\n",
           mi.arena, mi.fordblks, mi.uordblks, mi.hblkhd, mi.hblks);
    printf("\tordblks=%zu smblks=%zu fsmblks=%zu keepcost=%zu\n", mi.ordblks, mi.smblks,
           mi.fsmblks, mi.keepcost);
    int same = (size_t)old.arena == mi.arena && (size_t)old.ordblks == mi.ordblks &&
               (size_t)old.smblks == mi.smblks && (size_t)old.hblks == mi.hblks &&
               (size_t)old.hblkhd == mi.hblkhd && (size_t)old.usmblks == mi.usmblks &&
               (size_t)old.fsmblks == mi.fsmblks && (size_t)old.uordblks == mi.uordblks &&
               (size_t)old.fordblks == mi.fordblks && (size_t)old.keepcost == mi.keepcost;
    printf("  mallinfo() (int fields) equals mallinfo2(): %s\n",
           same ? "yes, all 10 fields (every value here is below 2 GiB)"
                : "NO (an int field overflowed or differs)");
    printf("  from malloc_stats:\n");
    stats_to_stdout();
}

static void sec_mallinfo(int variant)
{
    (void)variant;
    char *ptr_arr[ARRAY_SIZE];
    heading("4", "the seed's mallinfo example");
    seed("malloc(i*1024) for i<200 -> i>=128 are mmapped: 72 mapped regions;");
    seed("free the odd ones -> 36 mapped regions left.  (Seed run: mmap_count=72, then 36.)");

    for (int i = 0; i < ARRAY_SIZE; i++) {
        ptr_arr[i] = malloc((size_t)i * 1024);
        sink = ptr_arr[i];
        if (i < 128) {
            heap_malloc_total += (size_t)i;
        } else {
            mmap_total += (size_t)i;
            mmap_count++;
        }
    }
    print_info();
    printf("  seed's run (its mallinfo): arena=8327168 fordblks=2032 uordblks=8325136\n"
           "                             hblkhd=12238848 hblks=72\n");
    size_t before = mi2().hblks;

    for (int i = 0; i < ARRAY_SIZE; i++) {
        if (i % 2 == 0)
            continue;
        free(ptr_arr[i]);
        if (i < 128) {
            heap_free_total += (size_t)i;
        } else {
            mmap_total -= (size_t)i;
            mmap_count--;
        }
    }
    printf("\n  after free\n");
    print_info();
    printf("  seed's run (its mallinfo): arena=8327168 fordblks=4197360 uordblks=4129808\n"
           "                             hblkhd=6119424 hblks=36\n");
    size_t after = mi2().hblks;
    printf("  mapped regions: %zu then %zu (seed: 72 then 36) -> %s\n", before, after,
           before == 72 && after == 36 ? "matches the seed" : "DIFFERS from the seed");
    for (int i = 0; i < ARRAY_SIZE; i += 2)
        free(ptr_arr[i]);
}

/* ------------------------------------------------------------ 5. trim */

static void story_row(const char *step, uintptr_t *last)
{
    struct mallinfo2 m = mi2();
    uintptr_t b = brk_now();
    printf("  %-16s break %#lx %+9ld   keepcost %7zu   mmapped %zu\n", step, (unsigned long)b,
           (long)(b - *last), m.keepcost, m.hblks);
    *last = b;
}

static void sec_trim(int pinned)
{
    if (!pinned) {
        heading("5", "free, coalesce, trim: the seed's A/B/C/D story");
        seed("A=30K B=40K (brk), C=200K (mmap), D=100K (brk). free(C) unmaps at once;");
        seed("free(B) cannot lower the break (D is above it); free(D) merges B+D into");
        seed("140 KiB at the top, which passes M_TRIM_THRESHOLD (128 KiB) -> brk shrinks.");
        printf("  5a. default settings (dynamic thresholds on):\n");
    } else {
        printf("  5b. again with mallopt(M_TRIM_THRESHOLD, 128 KiB), the seed's fixed value:\n");
        mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    }
    uintptr_t last = brk_now();
    story_row("start", &last);
    char *a = malloc(30 * KiB);
    story_row("A=malloc(30K)", &last);
    char *b = malloc(40 * KiB);
    story_row("B=malloc(40K)", &last);
    char *c = malloc(200 * KiB);
    story_row("C=malloc(200K)", &last);
    char *d = malloc(100 * KiB);
    story_row("D=malloc(100K)", &last);
    sink = a; sink = b; sink = c; sink = d;
    size_t cmap = mi2().hblkhd;
    free(c);
    story_row("free(C)", &last);
    free(b);
    story_row("free(B)", &last);
    uintptr_t before_d = brk_now();
    free(d);
    story_row("free(D)", &last);
    uintptr_t after_d = brk_now();
    free(a);
    story_row("free(A)", &last);

    if (after_d < before_d)
        printf("  -> free(D): B+D joined the top chunk, it passed M_TRIM_THRESHOLD and the\n"
               "     break moved back by %lu bytes (%.1f KiB); keepcost is what stays (M_TOP_PAD).\n",
               (unsigned long)(before_d - after_d), (double)(before_d - after_d) / 1024.0);
    else if (!pinned)
        printf("  -> no trim at free(D): freeing C (a %zu-byte mapping) raised the dynamic\n"
               "     M_MMAP_THRESHOLD to %zu and M_TRIM_THRESHOLD to 2x = %zu (mallopt(3)),\n"
               "     so the top chunk (keepcost above) is below the new trim threshold.\n",
               cmap, cmap, 2 * cmap);
    else
        printf("  -> no trim at free(D) although the threshold is pinned at 128 KiB\n");
}

/* ------------------------------------------------------------ 6. malloc_trim */

static void sec_malloc_trim(int variant)
{
    (void)variant;
    enum { N = 64 };
    const size_t bs = 64 * KiB;
    char *blk[N];
    heading("6", "malloc_trim: giving back the middle of the heap");
    seed("heap memory below a live block cannot be returned by moving the break;");
    seed("malloc_trim() releases the whole free pages inside free chunks anyway.");

    for (int i = 0; i < 2; i++) /* warm-up: fault in the code of free/trim */
        blk[i] = malloc(bs);
    free(blk[0]);
    free(blk[1]);
    malloc_trim(0);
    for (int i = 0; i < N; i++) {
        blk[i] = malloc(bs);
        touch(blk[i], bs, pagesz);
    }
    char *pin = malloc(1 * KiB); /* allocated last: sits at the top, pins the break */
    sink = pin;
    touch(pin, 1, 1);
    uintptr_t b0 = brk_now();
    long r0 = rss_pages();
    for (int i = 0; i < N; i++)
        free(blk[i]);
    uintptr_t b1 = brk_now();
    long r1 = rss_pages();
    struct mallinfo2 m1 = mi2();
    printf("  %d x malloc(64 KiB), touched, then pin=malloc(1 KiB) at the top\n", N);
    printf("  free all %d blocks   : break %+ld, RSS %+ld pages; fordblks=%zu ordblks=%zu\n", N,
           (long)(b1 - b0), r1 - r0, m1.fordblks, m1.ordblks);
    int rc = malloc_trim(0);
    uintptr_t b2 = brk_now();
    long r2 = rss_pages();
    struct mallinfo2 m2 = mi2();
    printf("  malloc_trim(0) = %d   : break %+ld, RSS %+ld pages (%.1f MiB returned)\n", rc,
           (long)(b2 - b1), r2 - r1, (double)(r1 - r2) * (double)pagesz / (double)MiB);
    if (b2 < b1)
        printf("  -> the break only moved by the free space above the pin (the top chunk)\n");
    printf("  after trim           : fordblks=%zu ordblks=%zu (still free in the heap; only\n"
           "                         the physical pages behind them went back, MADV_DONTNEED)\n",
           m2.fordblks, m2.ordblks);
    free(pin);
}

/* ------------------------------------------------------------ 7. fault storm */

enum { STORM_REQUESTS = 1000, STORM_PAGES = 6 };

static void storm_row(int mode)
{
    static const char *names[] = {
        "defaults (dynamic mmap threshold)",
        "M_MMAP_THRESHOLD=128K pinned",
        "pinned + M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1",
    };
    if (mode >= 1 && mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
        printf("  (mallopt(M_MMAP_THRESHOLD) failed)\n");
    if (mode >= 2 && (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, -1) != 1))
        printf("  (mallopt(M_MMAP_MAX/M_TRIM_THRESHOLD) failed)\n");

    long first = 0, f0 = 0;
    double t0 = 0;
    for (int r = 0; r < STORM_REQUESTS; r++) {
        if (r == 1) {
            first = minflt() - f0;
            f0 = minflt();
            t0 = now_us();
        } else if (r == 0) {
            f0 = minflt();
        }
        char *p = malloc(2 * MiB);
        if (!p) {
            printf("  malloc(2 MiB) failed\n");
            return;
        }
        touch(p, STORM_PAGES * pagesz, pagesz);
        sink = p;
        free(p);
    }
    long rest = minflt() - f0;
    double us = (now_us() - t0) / (STORM_REQUESTS - 1);
    printf("  %-43s %6ld %10ld %10.2f %8.2f\n", names[mode], first, rest,
           (double)rest / (STORM_REQUESTS - 1), us);
}

static void spawn(void (*fn)(int), int arg);

static void sec_storm(int variant)
{
    (void)variant;
    heading("7", "2 MiB per request: the page-fault storm");
    seed("a server did malloc(2 MiB)+free per request; each block was mmapped and");
    seed("munmapped, so every request re-faulted its ~6 pages (minflt in the 10000s/s).");
    seed("fix: mallopt(M_MMAP_MAX, 0) + mallopt(M_TRIM_THRESHOLD, -1) -> minflt ~ 0.");
    printf("  %d requests, each: malloc(2 MiB), write %d pages, free.  Minor faults:\n",
           STORM_REQUESTS, STORM_PAGES);
    printf("  %-43s %6s %10s %10s %8s\n", "setting", "req 1", "req 2..N", "per req", "us/req");
    for (int mode = 0; mode < 3; mode++)
        spawn(storm_row, mode);
    printf("  -> modern malloc raises M_MMAP_THRESHOLD after the first 2 MiB block is freed,\n"
           "     so the default row is quiet; pinning the threshold brings back the seed's\n"
           "     storm, and the seed's two mallopt calls cure it (the heap keeps the pages).\n");
}

/* ------------------------------------------------------------ 8. heap map */

static void sec_heap_map(int variant)
{
    (void)variant;
    heading("8", "the allocator's own heap map");
    void (*heap_map)(int) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "umalloc_heap_map");
    memcpy(&heap_map, &sym, sizeof sym);
    if (!heap_map) {
        printf("  umalloc_heap_map: not available (this malloc does not export it;\n"
               "  run under umalloc: make run, or tools/umrun -- build/examples/tour)\n");
        return;
    }
    void (*flush)(void) = NULL;
    sym = dlsym(RTLD_DEFAULT, "umalloc_thread_flush");
    memcpy(&flush, &sym, sizeof sym);
    char *p[8];
    /* each size asked for once first: a medium size's first block is exact
     * and not cached (section 2's A and B), its class is from the second */
    for (int i = 0; i < 8; i++) {
        sink = malloc((size_t)(i + 1) * 4 * KiB); /* (through sink: gcc drops a malloc+free pair) */
        free(sink);
    }
    for (int i = 0; i < 8; i++)
        p[i] = malloc((size_t)(i + 1) * 4 * KiB);
    char *big = malloc(256 * KiB);
    sink = big;
    for (int i = 0; i < 8; i += 2)
        free(p[i]);
    printf("  8 blocks of 4..32 KiB (each size asked for once before), every other one\n"
           "  freed, and one 256 KiB block (its own mapping). The 4 freed blocks stay in\n"
           "  this thread's cache, ready for the next malloc of their size: the map counts\n"
           "  them as cached ('c'), not in use, not free:\n");
    fflush(stdout);
    heap_map(1);
    fflush(stdout);
    if (flush) {
        flush();
        malloc_trim(0);
        printf("  umalloc_thread_flush() hands them to the arena's central cache (still 'c':\n"
               "  parked for any thread's next refill); malloc_trim(0) gives those to the\n"
               "  bins, where they coalesce with their neighbours and count as free ('.'):\n");
        fflush(stdout);
        heap_map(1);
        fflush(stdout);
    }
    for (int i = 1; i < 8; i += 2)
        free(p[i]);
    free(big);
}

/* ------------------------------------------------------------ driver */

static void spawn(void (*fn)(int), int arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        printf("  (fork failed: %s; running in-process)\n", strerror(errno));
        fn(arg);
        return;
    }
    if (pid == 0) {
        fn(arg);
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st))
        printf("  !! this part died with signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        printf("  !! this part exited with status %d\n", WEXITSTATUS(st));
}

static void intro(int variant)
{
    (void)variant;
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    const char *from = m && dladdr(m, &info) && info.dli_fname ? info.dli_fname : "?";
    printf("umalloc tour: the seed articles' malloc scenarios, measured live\n");
    printf("malloc comes from: %s\n", from);
    printf("pid %ld, page size %zu\n", (long)getpid(), pagesz);
}

static void section(int n)
{
    switch (n) {
    case 1: spawn(sec_brk, 0); break;
    case 2: spawn(sec_mmap, 0); break;
    case 3: spawn(sec_lazy, 0); break;
    case 4: spawn(sec_mallinfo, 0); break;
    case 5: spawn(sec_trim, 0); spawn(sec_trim, 1); break;
    case 6: spawn(sec_malloc_trim, 0); break;
    case 7: sec_storm(0); break;
    case 8: spawn(sec_heap_map, 0); break;
    default: printf("\n(no section %d; sections are 1..8)\n", n); break;
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
    pagesz = (size_t)sysconf(_SC_PAGESIZE);
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s [section ...]   (sections 1..8; default: all)\n", argv[0]);
        return 0;
    }
    spawn(intro, 0);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            section(atoi(argv[i]));
    } else {
        for (int n = 1; n <= 8; n++)
            section(n);
    }
    printf("\nend of tour\n");
    return 0;
}
