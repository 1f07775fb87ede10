/* aligned - aligned allocations, the way C++'s aligned new (alignas(64)
 * types), SIMD buffers and page-aligned I/O buffers make them: batches of
 * 32 blocks from posix_memalign and aligned_alloc, alignments 32 B to
 * 4 KiB (mostly a cache line), sizes 16 B to 8 KiB skewed small (page
 * multiples for 4 KiB alignment), freed in shuffled order; repeated.
 * Single-threaded.
 *
 *   aligned [BATCH] [--quick|--scale=X]
 *
 * BATCH (default 32) blocks are live at once; the number of batches is
 * such that every BATCH allocates the same number of blocks. A batch of
 * thousands holds more blocks of a size than a thread cache keeps, so the
 * blocks travel through the allocator's shared structures between batches.
 *
 * Every block is checked for its alignment, gets a tag and its size
 * written into it, and is checked before it is freed.
 */
#include "bench.h"

#define DEFAULT_BATCH 32

typedef struct {
    void *p;
    size_t size;
    uint64_t tag;
} entry;

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    long batch = argc > 1 ? atol(argv[1]) : DEFAULT_BATCH;
    if (batch < 1 || batch > 1000000) {
        fprintf(stderr, "usage: aligned [BATCH] [--quick|--scale=X]\n");
        return 2;
    }
    /* 8 million blocks at full scale, whatever the batch */
    long lo = 100 * DEFAULT_BATCH / batch; /* at least 3,200 blocks */
    long rounds = bench_scaled(250000.0 * DEFAULT_BATCH / (double)batch, lo > 2 ? lo : 2);
    entry *e = malloc((size_t)batch * sizeof *e);
    CHECK_ALLOC(e, (size_t)batch * sizeof *e);
    rng_t r;
    rng_seed(&r, 6464);
    long ops = 0;
    for (long round = 0; round < rounds; round++) {
        for (long i = 0; i < batch; i++) {
            uint64_t x = rng_below(&r, 100);
            size_t align = x < 55 ? 64 : x < 70 ? 32 : x < 85 ? 128 : x < 93 ? 256 : 4096;
            size_t size = rng_small_size(&r, 8);
            if (align == 4096)
                size = (size + 4095) & ~(size_t)4095;
            void *p = NULL;
            if (x & 1) {
                size = (size + align - 1) & ~(align - 1); /* C11: a multiple of the alignment */
                p = aligned_alloc(align, size);
            } else if (posix_memalign(&p, align, size) != 0) {
                p = NULL;
            }
            CHECK_ALLOC(p, size);
            CHECK(((uintptr_t)p & (align - 1)) == 0, "block %p of %zu bytes not aligned to %zu", p, size, align);
            e[i].p = p;
            e[i].size = size;
            e[i].tag = (uint64_t)round * (uint64_t)batch + (uint64_t)i;
            block_fill(p, size, e[i].tag);
        }
        for (long i = batch - 1; i > 0; i--) { /* Fisher-Yates */
            long j = (long)rng_below(&r, (uint64_t)i + 1);
            entry t = e[i];
            e[i] = e[j];
            e[j] = t;
        }
        for (long i = 0; i < batch; i++) {
            CHECK(block_ok(e[i].p, e[i].size, e[i].tag), "block %p corrupted", e[i].p);
            free(e[i].p);
        }
        ops += batch;
    }
    free(e);
    printf("aligned batch=%ld blocks=%ld\n", batch, ops);
    bench_ok("aligned", ops);
    return 0;
}
