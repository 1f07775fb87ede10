/* bulk - the bulk micro case: a batch of blocks of random size (16-1024 B
 * unless asked otherwise) is allocated, then freed in shuffled order;
 * repeated.  Single-threaded.
 *
 *   bulk [BATCH [MIN MAX]] [--quick|--scale=X]
 *
 * BATCH defaults to 10000, the sizes to MIN=16 .. MAX=1024 bytes (16 <= MIN
 * <= MAX <= 1 GiB, in bytes). The suite also runs it with medium blocks
 * (bulk-med: 200 blocks of 1-16 KiB, the buffers and strings of a program
 * that reads, formats or copies data): a thread cache keeps only a few
 * blocks of each such size, so most of their traffic is the back end's.
 * The total is 10 million blocks at full scale whatever the batch (rounds
 * = 10 million / BATCH).
 *
 * A program that holds more blocks of one size than a thread cache keeps
 * (10,000 blocks over ~1000 sizes is ~10 per size, ~5 MiB in all), so
 * refills and flushes reach the allocator's back end in bursts, and the
 * frees come back in an order unrelated to the allocation order.  Every
 * block gets a tag (its sequence number) and its size written into it; each
 * is checked before it is freed.  All of the benchmark's own work (RNG, fill,
 * shuffle, check) is inlined into main(), so that the harness's cachegrind
 * run can subtract it and report the allocator's instructions per
 * malloc+free pair (like pairs-*).
 */
#include "bench.h"

#define MAX_BATCH 1000000

typedef struct {
    void *p;
    uint32_t size;
    uint32_t idx;       /* position in allocation order: the tag's low part */
} entry;

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    long batch = argc > 1 ? atol(argv[1]) : 10000;
    long lo = argc > 3 ? atol(argv[2]) : 16, hi = argc > 3 ? atol(argv[3]) : 1024;
    if (batch < 1 || batch > MAX_BATCH || argc == 3 || argc > 4 || lo < 16 || hi < lo ||
        hi > (1L << 30)) {
        fprintf(stderr,
                "usage: bulk [BATCH (1..%d) [MIN MAX (bytes, 16 <= MIN <= MAX <= 2^30)]] "
                "[--quick|--scale=X]\n",
                MAX_BATCH);
        return 2;
    }
    long rounds = bench_scaled(1000.0 * 10000 / (double)batch, 4);
    entry *e = malloc((size_t)batch * sizeof *e);
    CHECK_ALLOC(e, (size_t)batch * sizeof *e);

    rng_t r;
    rng_seed(&r, 4242);
    uint64_t bytes = 0;
    long checked = 0;
    for (long round = 0; round < rounds; round++) {
        uint64_t base = (uint64_t)round * (uint64_t)batch;
        for (long i = 0; i < batch; i++) {
            size_t size = (size_t)lo + (size_t)rng_below(&r, (uint64_t)(hi - lo + 1));
            void *p = malloc(size);
            CHECK_ALLOC(p, size);
            block_fill(p, size, base + (uint64_t)i);
            e[i].p = p;
            e[i].size = (uint32_t)size;
            e[i].idx = (uint32_t)i;
            bytes += size;
        }
        for (long i = batch - 1; i > 0; i--) {          /* Fisher-Yates */
            long j = (long)rng_below(&r, (uint64_t)i + 1);
            entry t = e[i];
            e[i] = e[j];
            e[j] = t;
        }
        for (long i = 0; i < batch; i++) {
            CHECK(block_ok(e[i].p, e[i].size, base + e[i].idx),
                  "round %ld: block %u (%u B) at %p corrupted", round, e[i].idx,
                  e[i].size, e[i].p);
            free(e[i].p);
            checked++;
        }
    }
    free(e);
    long pairs = rounds * batch;
    CHECK(checked == pairs, "checked %ld blocks, expected %ld", checked, pairs);
    printf("batch=%ld rounds=%ld mean_size=%.0f\n", batch, rounds,
           (double)bytes / (double)pairs);
    bench_ok("bulk", pairs);
    return 0;
}
