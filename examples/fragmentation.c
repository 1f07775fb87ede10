/*
 * fragmentation.c - heap fragmentation as mallinfo2() sees it, and what
 * malloc_trim() can and cannot do about it.
 *
 *   fragmentation [small_count]
 *
 * Stages (one table row each):
 *   1. interleave small (40-byte) and medium (10000-byte) blocks
 *   2. free all small ones     -> fastbins fill up: smblks / fsmblks grow
 *   3. free every other medium -> holes: ordblks / fordblks grow, the break
 *                                 cannot move (live blocks sit above them)
 *   4. 2 x malloc(100 KiB)     -> fordblks is large, but no single hole fits:
 *                                 they come from the top chunk, and once that
 *                                 is used up the heap grows (arena) anyway
 *   5. malloc_trim(0)          -> fastbins are consolidated (fsmblks -> 0) and
 *                                 whole free pages inside holes are released:
 *                                 RSS drops, arena/fordblks do not
 *   6. free everything, malloc_trim(0)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char outbuf[1 << 14];
static void *volatile sink;

/* anonymous resident pages: statm resident - shared */
static long rss_kib(void)
{
    char buf[256];
    long size = 0, res = 0, shr = 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (sscanf(buf, "%ld %ld %ld", &size, &res, &shr) != 3)
        return -1;
    return (res - shr) * (sysconf(_SC_PAGESIZE) / 1024);
}

static void row(const char *stage)
{
    struct mallinfo2 m = mallinfo2();
    double frag = m.arena ? 100.0 * (double)m.fordblks / (double)m.arena : 0.0;
    printf("  %-24s %9zu %9zu %9zu %7zu %6zu %8zu %8zu %5.1f%% %8ld\n", stage, m.arena,
           m.uordblks, m.fordblks, m.ordblks, m.smblks, m.fsmblks, m.keepcost, frag, rss_kib());
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 0) : 2000;
    if (n < 2 || n > 1000000) {
        printf("usage: %s [pairs (2..1000000, default 2000)]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
    const size_t small_sz = 40, medium_sz = 10000;
    char **small = calloc((size_t)n, sizeof *small);
    char **medium = calloc((size_t)n, sizeof *medium);
    if (!small || !medium)
        return 1;

    printf("fragmentation: %ld pairs of malloc(%zu) + malloc(%zu)\n", n, small_sz, medium_sz);
    printf("  %-24s %9s %9s %9s %7s %6s %8s %8s %6s %8s\n", "stage", "arena", "uordblks",
           "fordblks", "ordblks", "smblks", "fsmblks", "keepcost", "free%", "RSS KiB");
    row("start");
    for (long i = 0; i < n; i++) {
        small[i] = malloc(small_sz);
        medium[i] = malloc(medium_sz);
        if (!small[i] || !medium[i])
            return 1;
        memset(small[i], 1, small_sz);
        memset(medium[i], 1, medium_sz);
    }
    row("1 allocated");
    for (long i = 0; i < n; i++)
        free(small[i]);
    row("2 small ones freed");
    for (long i = 0; i < n; i += 2)
        free(medium[i]);
    row("3 every other medium");
    struct mallinfo2 m3 = mallinfo2();
    size_t arena3 = m3.arena, holes = m3.fordblks, hblks3 = m3.hblks;
    char *big = malloc(100 * 1024), *big2 = malloc(100 * 1024);
    sink = big;
    sink = big2;
    row("4 2 x malloc(100 KiB)");
    struct mallinfo2 m4 = mallinfo2();
    size_t arena4 = m4.arena, hblks4 = m4.hblks;
    int rc = malloc_trim(0);
    row("5 malloc_trim(0)");
    free(big);
    free(big2);
    for (long i = 1; i < n; i += 2)
        free(medium[i]);
    free(small);
    free(medium);
    malloc_trim(0);
    row("6 all freed + trim");
    if (arena4 > arena3)
        printf("  stage 4: %zu bytes were free in holes, yet the heap grew by %zu bytes\n"
               "  (a request needs one contiguous free chunk; the holes are ~10 KiB each)\n",
               holes, arena4 - arena3);
    else if (hblks4 > hblks3)
        printf("  stage 4: the 100 KiB blocks were mmapped (M_MMAP_THRESHOLD is below 100 KiB)\n");
    else
        printf("  stage 4: the 100 KiB blocks fitted into the top chunk; none of the ~10 KiB\n"
               "  holes (%zu bytes in all) could have held one\n", holes);
    printf("  stage 5: malloc_trim(0) returned %d (1 = memory was given back)\n", rc);
    printf("  free%% = fordblks / arena.  smblks/fsmblks: fastbin chunks and their bytes;\n"
           "  ordblks: free chunks in the other bins; keepcost: the releasable top chunk.\n"
           "  The first 7 frees of each small size go to the per-thread cache (tcache),\n"
           "  which mallinfo2 counts as in use.  RSS: anonymous resident memory.\n");
    return 0;
}
