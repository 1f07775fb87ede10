// mallopt(M_MMAP_MAX, n) with n < 0 allows no mapped chunks, as in glibc
// (its limit is an int, compared as one): big malloc, calloc and memalign
// requests all come from the heap. The limit used to be compared as a
// size_t, so -1 allowed any number of mappings.
#include "../common.h"

int main(void)
{
    const int neg[] = {-1, -2, INT_MIN};
    for (size_t k = 0; k < sizeof neg / sizeof neg[0]; k++) {
        CHECK(mallopt(M_MMAP_MAX, neg[k]) == 1);
        size_t c = t_count_mmapped(2 << 20, 4);
        EXPECTF(c == 0, "M_MMAP_MAX %d: %zu of 4 x 2 MiB mallocs mmapped", neg[k], c);
        size_t before = mallinfo2().hblks;
        void *z = calloc(1, 3 << 20);
        void *a = memalign(4096, 3 << 20);
        void *b = memalign(1 << 20, 1 << 20); /* a big alignment is mapped when allowed */
        CHECK(z && a && b);
        EXPECT(((uintptr_t)a & 4095) == 0 && ((uintptr_t)b & ((1 << 20) - 1)) == 0);
        EXPECT(((unsigned char *)z)[(3 << 20) - 1] == 0);
        size_t after = mallinfo2().hblks;
        EXPECTF(after == before, "M_MMAP_MAX %d: calloc/memalign made %zu mappings", neg[k],
                after - before);
        free(z);
        free(a);
        free(b);
    }
    /* and a positive limit still maps (a block bigger than the free top,
     * which glibc would use first) */
    CHECK(mallopt(M_MMAP_MAX, 65536) == 1);
    size_t c = t_count_mmapped(40 << 20, 2);
    EXPECTF(c == 2, "M_MMAP_MAX 65536: only %zu of 2 x 40 MiB mallocs mmapped", c);
    return t_done();
}
