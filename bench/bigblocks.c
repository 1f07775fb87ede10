/* bigblocks - large blocks touched a page at a time: the page-fault
 * scenario (image buffers, I/O buffers, per-request scratch arenas).
 *
 *   bigblocks [--quick|--scale=X]
 *
 * Repeat: malloc a block of 256 KiB-32 MiB (log-uniform), write one byte in
 * every 4 KiB page, read them all back, free it.  An allocator that returns
 * every block to the kernel pays a page fault per page each time; one that
 * keeps freed memory mapped does not (but then holds more RSS).
 */
#include "bench.h"
#include <math.h>

#define PAGE 4096

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long iters = bench_scaled(800, 10);
    rng_t r;
    rng_seed(&r, 2024);
    double lo = log(256.0 * 1024), hi = log(32.0 * 1024 * 1024);
    long pages_touched = 0;
    for (long it = 0; it < iters; it++) {
        double u = (double)(rng_next(&r) >> 11) / (double)(1ull << 53);
        size_t size = (size_t)exp(lo + u * (hi - lo));
        unsigned char *p = malloc(size);
        CHECK_ALLOC(p, size);
        unsigned char v = (unsigned char)(it * 13 + 1);
        for (size_t off = 0; off < size; off += PAGE) p[off] = v;
        p[size - 1] = v;
        size_t bad = 0;
        for (size_t off = 0; off < size; off += PAGE) bad += p[off] != v;
        CHECK(bad == 0 && p[size - 1] == v, "iteration %ld: %zu pages lost their byte", it, bad);
        pages_touched += (long)((size + PAGE - 1) / PAGE);
        free(p);
    }
    printf("blocks=%ld pages=%ld\n", iters, pages_touched);
    bench_ok("bigblocks", iters);
    return 0;
}
