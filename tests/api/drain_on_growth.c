// Freed blocks of one size parked in the central cache serve other sizes
// before the heap grows, once they are an eighth of it: 48-byte chunks
// making a sixth of the heap are freed, then as many bytes of 32-byte
// chunks are asked for. The heap must not grow by their size (it did while
// the rule was a quarter: bench/trees' heap grew by the tree nodes parked
// during its list phase).
#include "../common.h"

int main(void)
{
    size_t big = t_scale(6, 2) << 20, parked = big / 5; /* a sixth of the heap */
    size_t na = parked / 48, nb = parked / 32;
    CHECK(mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1); /* the big block stays in the heap */
    char *keep = malloc(big);
    CHECK(keep != NULL);
    memset(keep, 0x11, big);
    void **a = malloc(na * sizeof *a), **b = malloc(nb * sizeof *b);
    CHECK(a && b);
    for (size_t i = 0; i < na; i++) {
        a[i] = malloc(40);
        CHECK(a[i] != NULL);
        memset(a[i], 0x22, 40);
    }
    for (size_t i = 0; i < na; i++)
        free(a[i]);
    size_t before = t_mallinfo2().arena;
    for (size_t i = 0; i < nb; i++) {
        b[i] = malloc(24);
        CHECK(b[i] != NULL);
        memset(b[i], (int)(i & 0xff), 24);
    }
    size_t grown = t_mallinfo2().arena - before;
    printf("%zu KiB of 48-byte chunks freed, then %zu KiB of 32-byte ones: "
           "the heap grew by %zu KiB\n", na * 48 >> 10, nb * 32 >> 10, grown >> 10);
    EXPECTF(grown < parked / 4, "the heap grew by %zu bytes for %zu parked", grown, na * 48);
    for (size_t i = 0; i < nb; i++) {
        EXPECTF(t_first_not(b[i], 24, (unsigned char)(i & 0xff)) == (size_t)-1,
                "block %zu changed", i);
        free(b[i]);
    }
    free(a);
    free(b);
    free(keep);
    return t_done();
}
