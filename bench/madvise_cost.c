/* madvise_cost - what MADV_DONTNEED costs a page, by the length of the span.
 *
 *   cc -O2 -o /tmp/madvise_cost bench/madvise_cost.c
 *   for n in 1 8 33 34 64 512; do taskset -c 1 /tmp/madvise_cost $n; done
 *
 * Writes every page of a 64 MiB anonymous mapping, then advises it away in
 * equal spans of N pages, one madvise call a span; best of 3. Not a
 * workload of bench/run.py: it measures the kernel, and src/purge.c's
 * EMPTIED_MIN_SPAN (the emptied arena purges only spans of 34 pages or
 * more) rests on it. On the 2-CPU build VM, 2026-12-05, two runs: 6.1-6.2
 * us a page one page at a time, 3.8-4.2 us a page for 8 to 33 pages (the
 * kernel invalidates each page on its own up to x86's single-page flush
 * ceiling of 33, and each invalidation is a VM exit there), 1.2-1.3 at 34,
 * 0.9-1.0 at 64, 0.2 at 512.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1;
    if (pages == 0) {
        fprintf(stderr, "usage: madvise_cost PAGES_PER_CALL\n");
        return 2;
    }
    size_t span = pages * page, len = ((size_t)64 << 20) / span * span;
    if (len == 0) {
        fprintf(stderr, "a span of %zu pages is larger than 64 MiB\n", pages);
        return 2;
    }
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        memset(p, 1, len);
        double t = now();
        for (size_t o = 0; o < len; o += span)
            if (madvise(p + o, span, MADV_DONTNEED) != 0) {
                perror("madvise");
                return 1;
            }
        double d = now() - t;
        if (d < best)
            best = d;
    }
    printf("%4zu pages a call: %8.2f us a call, %6.3f us a page\n", pages, best * 1e6 / (double)(len / span),
           best * 1e6 / (double)(len / page));
    return 0;
}
