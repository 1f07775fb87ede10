/* pairs - malloc/free pairs of one fixed size: the allocator's fast path.
 *
 *   pairs SIZE [--quick|--scale=X]      SIZE like 16, 64, 4K, 1M
 *
 * Each iteration allocates one block, writes its first and last byte, reads
 * them back and frees it.  The iteration count shrinks for large sizes so a
 * full-scale run stays near half a second on allocators that do not cache
 * large blocks.
 */
#include "bench.h"
#include <math.h>

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: pairs SIZE [--quick|--scale=X]\n");
        return 2;
    }
    size_t size = bench_parse_size(argv[1]);
    if (size < 1) { fprintf(stderr, "bad size\n"); return 2; }

    /* 25M pairs up to 4 KiB, then fewer: x (4096/size)^0.6, so 64 KiB does
     * 4.7M and 1 MiB 900k pairs. */
    double base = 25e6;
    if (size > 4096) base = 25e6 * pow(4096.0 / (double)size, 0.6);
    long iters = bench_scaled(base, 1000);

    uint64_t sum = 0, expect = 0;
    for (long i = 0; i < iters; i++) {
        unsigned char *p = malloc(size);
        CHECK_ALLOC(p, size);
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)(i >> 8) ^ 0x5a;
        bench_escape(p);
        sum += (uint64_t)p[0] + p[size - 1];
        free(p);
    }
    for (long i = 0; i < iters; i++)
        expect += (uint64_t)(unsigned char)i + (unsigned char)((unsigned char)(i >> 8) ^ 0x5a);
    if (size == 1) expect = 0, sum = 0; /* first and last byte are the same byte */
    CHECK(sum == expect, "checksum %llu != %llu", (unsigned long long)sum,
          (unsigned long long)expect);
    printf("size=%zu iters=%ld\n", size, iters);
    bench_ok("pairs", iters);
    return 0;
}
