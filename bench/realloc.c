/* realloc - growth by realloc: string builders and vectors up to tens of MiB.
 *
 *   realloc [--quick|--scale=X]
 *
 * Per round:
 *  - two string builders grow side by side by appending 1-64 byte pieces;
 *    one reallocs to the exact new length on every append (the naive
 *    pattern), the other doubles its capacity; both reach 4 MiB;
 *  - three vectors of 8-byte elements grow by x1.5 capacity steps to
 *    2, 8 and 32 MiB, interleaved with small allocations (so growing in
 *    place is not always possible);
 *  - contents are regenerated from the same random stream and compared.
 */
#include "bench.h"

#define STR_TARGET ((size_t)4 << 20)

static uint64_t piece_byte(uint64_t n) { return (n * 2654435761u) >> 7; }

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long rounds = bench_scaled(12, 1);
    size_t str_target = bench_scale_value < 0.1 ? STR_TARGET / 16 : STR_TARGET;
    size_t vec_mul = bench_scale_value < 0.1 ? 1 : 16;   /* vectors: 2/8/32 MiB */
    long reallocs = 0;

    for (long round = 0; round < rounds; round++) {
        /* ---- string builders ---- */
        rng_t r;
        rng_seed(&r, 9 + (uint64_t)round);
        char *exact = NULL, *dbl = NULL;
        size_t len = 0, cap = 0;
        void *junk[64] = {0};
        uint64_t n = 0;
        while (len < str_target) {
            size_t piece = 1 + (size_t)rng_below(&r, 64);
            exact = realloc(exact, len + piece + 1);
            CHECK_ALLOC(exact, len + piece + 1);
            if (len + piece + 1 > cap) {
                cap = cap ? cap * 2 : 64;
                dbl = realloc(dbl, cap);
                CHECK_ALLOC(dbl, cap);
            }
            for (size_t i = 0; i < piece; i++, n++)
                exact[len + i] = dbl[len + i] = (char)('a' + piece_byte(n) % 26);
            len += piece;
            exact[len] = dbl[len] = 0;
            reallocs += 2;
            /* some unrelated small allocations in between */
            if ((n & 15) == 0) {
                int j = (int)rng_below(&r, 64);
                free(junk[j]);
                junk[j] = malloc(16 + rng_below(&r, 200));
                CHECK_ALLOC(junk[j], 216);
            }
        }
        CHECK(strlen(exact) == len && memcmp(exact, dbl, len + 1) == 0, "builders differ");
        for (size_t i = 0; i < len; i += 997)
            CHECK(exact[i] == (char)('a' + piece_byte(i) % 26), "builder byte %zu", i);
        free(exact);
        free(dbl);
        for (int j = 0; j < 64; j++) free(junk[j]);

        /* ---- vectors ---- */
        size_t target[3] = {vec_mul << 14, vec_mul << 16, vec_mul << 18};  /* elements */
        uint64_t *v[3] = {0};
        size_t vlen[3] = {0}, vcap[3] = {0};
        void *small[256] = {0};
        int done = 0;
        for (uint64_t step = 0; done < 3; step++) {
            done = 0;
            for (int k = 0; k < 3; k++) {
                if (vlen[k] >= target[k]) { done++; continue; }
                if (vlen[k] == vcap[k]) {
                    vcap[k] = vcap[k] ? vcap[k] + vcap[k] / 2 : 16;
                    v[k] = realloc(v[k], vcap[k] * sizeof(uint64_t));
                    CHECK_ALLOC(v[k], vcap[k] * sizeof(uint64_t));
                    reallocs++;
                    int j = (int)(step % 256);
                    free(small[j]);
                    small[j] = malloc(32 + step % 512);
                    CHECK_ALLOC(small[j], 32 + step % 512);
                }
                v[k][vlen[k]] = vlen[k] * 3 + (uint64_t)k;
                vlen[k]++;
            }
        }
        for (int k = 0; k < 3; k++) {
            for (size_t i = 0; i < vlen[k]; i += 61)
                CHECK(v[k][i] == i * 3 + (uint64_t)k, "vector %d element %zu", k, i);
            CHECK(v[k][vlen[k] - 1] == (vlen[k] - 1) * 3 + (uint64_t)k, "vector %d last", k);
            free(v[k]);
        }
        for (int j = 0; j < 256; j++) free(small[j]);
    }
    printf("rounds=%ld string=%zu B vectors up to %zu B\n", rounds, str_target,
           (vec_mul << 18) * sizeof(uint64_t));
    bench_ok("realloc", reallocs);
    return 0;
}
