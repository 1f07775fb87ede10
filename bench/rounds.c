/* rounds - a batch job's rounds: build a large heap, free all of it, again.
 *
 *   rounds [--quick|--scale=X]
 *
 * Each round allocates blocks of 4 KiB-256 KiB (log-uniform) until they
 * hold 96 MiB, writes one byte in every 4 KiB page of each and its last
 * byte, checks them, and frees every block in the order it was allocated
 * (a job that processes one input file after another, a compiler's
 * translation units, a request that builds a large response). The rounds
 * are back to back. An allocator that gives the freed heap back to the
 * kernel at the end of a round (a trimmed top, a purge of an emptied heap)
 * faults every page in again in the next; one that keeps it mapped does
 * not, and holds the same peak RSS either way.
 */
#include "bench.h"
#include <math.h>

#define PAGE 4096
#define ROUND_BYTES ((size_t)96 << 20)
#define MAXBLK (ROUND_BYTES / 4096)

static unsigned char *blk[MAXBLK];
static size_t len[MAXBLK];

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long rounds = bench_scaled(12, 2);
    rng_t r;
    rng_seed(&r, 77);
    double lo = log(4096.0), hi = log(256.0 * 1024);
    long blocks = 0;
    for (long k = 0; k < rounds; k++) {
        size_t n = 0, held = 0;
        while (held < ROUND_BYTES && n < MAXBLK) {
            double u = (double)(rng_next(&r) >> 11) / (double)(1ull << 53);
            size_t size = (size_t)exp(lo + u * (hi - lo));
            unsigned char *p = malloc(size);
            CHECK_ALLOC(p, size);
            unsigned char v = (unsigned char)(n * 7 + k);
            for (size_t off = 0; off < size; off += PAGE) p[off] = v;
            p[size - 1] = v;
            blk[n] = p;
            len[n++] = size;
            held += size;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char v = (unsigned char)(i * 7 + k);
            size_t bad = 0;
            for (size_t off = 0; off < len[i]; off += PAGE) bad += blk[i][off] != v;
            CHECK(bad == 0 && blk[i][len[i] - 1] == v, "round %ld block %zu: %zu pages lost",
                  k, i, bad);
            free(blk[i]);
        }
        blocks += (long)n;
    }
    printf("rounds=%ld blocks=%ld\n", rounds, blocks);
    bench_ok("rounds", blocks);
    return 0;
}
