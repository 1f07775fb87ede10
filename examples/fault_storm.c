/*
 * fault_storm.c - the seed's "2 MiB per request" server loop, standalone.
 *
 *   fault_storm [iterations] [--size BYTES] [--pages N] [--pin] [--fix]
 *
 * Each request does malloc(size), writes N pages of it (the seed: ~6), and
 * frees it; the program prints minor page faults and time per request.
 *
 *   --pin  mallopt(M_MMAP_THRESHOLD, 128 KiB): fixed threshold, no dynamic
 *          adjustment, so every 2 MiB block is mmapped and munmapped (the
 *          seed's storm)
 *   --fix  the seed's cure: mallopt(M_MMAP_MAX, 0); mallopt(M_TRIM_THRESHOLD, -1)
 *
 * Without flags the allocator's defaults (or the MALLOC_*_ environment, e.g.
 * tools/umrun -o mmap_max=0 -o trim_threshold=-1) apply.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static char outbuf[1 << 14];
static void *volatile sink;

struct sample {
    long minflt;
    double wall_us, sys_us;
};

static struct sample take(void)
{
    struct rusage ru;
    struct timespec ts;
    struct sample s;
    getrusage(RUSAGE_SELF, &ru);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s.minflt = ru.ru_minflt;
    s.wall_us = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
    s.sys_us = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
    return s;
}

static void row(const char *label, long n, struct sample a, struct sample b)
{
    if (n <= 0)
        return;
    long f = b.minflt - a.minflt;
    printf("  %-16s %9ld %10ld %11.2f %9.2f %11.2f\n", label, n, f, (double)f / (double)n,
           (b.wall_us - a.wall_us) / (double)n, (b.sys_us - a.sys_us) / (double)n);
}

static int one_request(size_t size, long pages, size_t pagesz)
{
    volatile char *p = malloc(size);
    if (!p)
        return -1;
    for (long i = 0; i < pages && (size_t)i * pagesz < size; i++)
        p[(size_t)i * pagesz] = (char)i;
    sink = (void *)p;
    free((void *)p);
    return 0;
}

static void usage(const char *argv0)
{
    printf("usage: %s [iterations] [--size BYTES] [--pages N] [--pin] [--fix]\n"
           "  default: 10000 iterations of malloc(2 MiB) + write 6 pages + free\n"
           "  --pin  mallopt(M_MMAP_THRESHOLD, 128 KiB) (no dynamic threshold)\n"
           "  --fix  mallopt(M_MMAP_MAX, 0) + mallopt(M_TRIM_THRESHOLD, -1)\n",
           argv0);
}

int main(int argc, char **argv)
{
    long iters = 10000, pages = 6;
    size_t size = 2u << 20;
    int pin = 0, fix = 0;
    setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pin") == 0) {
            pin = 1;
        } else if (strcmp(argv[i], "--fix") == 0) {
            fix = 1;
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = strtoul(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--pages") == 0 && i + 1 < argc) {
            pages = strtol(argv[++i], NULL, 0);
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9') {
            iters = strtol(argv[i], NULL, 0);
        } else {
            usage(argv[0]);
            return strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ? 0 : 2;
        }
    }
    if (iters < 1 || size == 0 || pages < 0) {
        usage(argv[0]);
        return 2;
    }
    if (pin && mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
        printf("warning: mallopt(M_MMAP_THRESHOLD) failed\n");
    if (fix && (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, -1) != 1))
        printf("warning: mallopt(M_MMAP_MAX / M_TRIM_THRESHOLD) failed\n");

    size_t pagesz = (size_t)sysconf(_SC_PAGESIZE);
    printf("fault_storm: %ld requests x [malloc(%zu) + write %ld pages + free]; settings:%s%s%s\n",
           iters, size, pages, pin ? " pinned M_MMAP_THRESHOLD=128K" : "",
           fix ? " M_MMAP_MAX=0 M_TRIM_THRESHOLD=-1" : "", pin || fix ? "" : " defaults");
    printf("  %-16s %9s %10s %11s %9s %11s\n", "requests", "count", "minflt", "faults/req",
           "us/req", "sys us/req");

    struct sample s0 = take(), s1 = s0, s2 = s0, s3;
    for (long r = 0; r < iters; r++) {
        if (r == 1)
            s1 = take();
        if (r == 10)
            s2 = take();
        if (one_request(size, pages, pagesz) != 0) {
            printf("malloc(%zu) failed at request %ld\n", size, r + 1);
            return 1;
        }
    }
    s3 = take();
    if (iters < 2)
        s1 = s3;
    if (iters < 11)
        s2 = s3;
    row("1", 1, s0, s1);
    row("2..10", (iters < 10 ? iters : 10) - 1, s1, s2);
    if (iters > 10) {
        char label[32];
        snprintf(label, sizeof label, "11..%ld", iters);
        row(label, iters - 10, s2, s3);
    }
    row("all", iters, s0, s3);

    long steady_n = iters > 10 ? iters - 10 : iters;
    long steady_f = iters > 10 ? s3.minflt - s2.minflt : s3.minflt - s0.minflt;
    double per = (double)steady_f / (double)steady_n;
    struct mallinfo2 mi = mallinfo2();
    printf("  steady state: %.2f faults/request -> %.0f minor faults/s at the seed's 2000 requests/s\n",
           per, per * 2000.0);
    printf("  heap now: arena=%zu bytes, top (keepcost)=%zu, mmapped regions=%zu\n", mi.arena,
           mi.keepcost, mi.hblks);
    return 0;
}
