// Seed (e): malloc_trim(0) returns free pages from the *interior* of the heap.
// 256 x 64 KiB heap blocks (M_MMAP_THRESHOLD 1 MiB), touched; every other one
// freed while a block stays live at the top (the break cannot move); RSS must
// drop by a good part of the freed memory and malloc_trim must return 1.
#include "../common.h"

enum { N = 256, SZ = 64 * 1024 };

int main(void)
{
    static char *v[N];
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    for (int i = 0; i < N; i++) {
        v[i] = malloc(SZ);
        CHECK(v[i] != NULL);
        memset(v[i], i, SZ);
    }
    EXPECTF(t_mallinfo2().hblks == 0, "64 KiB blocks were mmapped despite M_MMAP_THRESHOLD 1 MiB");
    for (int i = 0; i < N; i += 2)       /* v[N-1] (odd) stays: the top is pinned */
        free(v[i]);
    const size_t freed = (size_t)(N / 2) * SZ;
    char *brk_before = sbrk(0);
    size_t rss_before = t_rss();
    int r = malloc_trim(0);
    size_t rss_after = t_rss();
    char *brk_after = sbrk(0);
    printf("malloc_trim(0) = %d; RSS %zu -> %zu KiB (freed %zu KiB); break %p -> %p\n", r,
           rss_before / 1024, rss_after / 1024, freed / 1024, (void *)brk_before, (void *)brk_after);
    EXPECTF(r == 1, "malloc_trim(0) returned %d, expected 1", r);
    EXPECTF(rss_after + freed / 2 <= rss_before,
            "RSS dropped by only %zd KiB of %zu KiB freed in the interior",
            ((ssize_t)rss_before - (ssize_t)rss_after) / 1024, freed / 1024);
    for (int i = 1; i < N; i += 2)
        EXPECTF(t_all_bytes(v[i], SZ, (unsigned char)i), "live block %d changed by malloc_trim", i);
    /* the released pages are still usable heap */
    for (int i = 0; i < N; i += 2) {
        v[i] = malloc(SZ);
        CHECK(v[i] != NULL);
        memset(v[i], i, SZ);
    }
    for (int i = 0; i < N; i++) {
        EXPECT(t_all_bytes(v[i], SZ, (unsigned char)i));
        free(v[i]);
    }
    return t_done();
}
