/* heap_random - a random working set with sizes skewed small, like the heap
 * of a compiler or an interpreter: many small objects of mixed sizes with
 * random lifetimes, and the occasional big one.
 *
 *   heap_random [--quick|--scale=X]
 *
 * A table of 200k slots; each step picks a random slot, checks and frees the
 * block in it (if any) and puts a freshly allocated, tagged block there.
 * Half the sizes are 16-31 B, a quarter 32-63 B, ..., up to 64 KiB; one step
 * in 64 uses calloc, one in 64 grows the block with realloc.
 */
#include "bench.h"

#define SLOTS (200 * 1000)

typedef struct { void *p; size_t size; uint64_t tag; } slot_t;

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long steps = bench_scaled(8e6, 20000);
    long slots = SLOTS;
    if (slots > steps / 4) slots = steps / 4;
    slot_t *tab = calloc((size_t)slots, sizeof *tab);
    CHECK_ALLOC(tab, slots * sizeof *tab);
    rng_t r;
    rng_seed(&r, 42);
    long frees = 0, allocs = 0;

    for (long i = 0; i < steps; i++) {
        slot_t *s = &tab[rng_below(&r, (uint64_t)slots)];
        if (s->p) {
            CHECK(block_ok(s->p, s->size, s->tag), "step %ld: block %p corrupted", i, s->p);
            free(s->p);
            frees++;
        }
        size_t size = rng_small_size(&r, 11);
        uint64_t kind = rng_next(&r) & 63;
        void *p;
        if (kind == 0) {
            p = calloc(1, size);
            CHECK_ALLOC(p, size);
            for (size_t j = 0; j < size; j += 64)
                CHECK(((unsigned char *)p)[j] == 0, "calloc memory not zero");
        } else {
            p = malloc(size);
            CHECK_ALLOC(p, size);
        }
        block_fill(p, size, (uint64_t)i);
        if (kind == 1) {
            size_t nsize = size * 2 + 8;
            p = realloc(p, nsize);
            CHECK_ALLOC(p, nsize);
            CHECK(block_ok(p, size, (uint64_t)i), "realloc lost contents");
            size = nsize;
            block_fill(p, size, (uint64_t)i);
        }
        allocs++;
        s->p = p;
        s->size = size;
        s->tag = (uint64_t)i;
    }
    for (long i = 0; i < slots; i++) {
        if (tab[i].p) {
            CHECK(block_ok(tab[i].p, tab[i].size, tab[i].tag), "final check: slot %ld corrupted", i);
            free(tab[i].p);
            frees++;
        }
    }
    free(tab);
    CHECK(frees == allocs, "frees %ld != allocs %ld", frees, allocs);
    printf("steps=%ld slots=%ld\n", steps, slots);
    bench_ok("heap_random", steps);
    return 0;
}
