// variants: release debug
// A mapping placed right after the program break blocks brk: the main arena
// must fall back to mmap'd segments (as glibc does) and every block — heap,
// fallback segment and own-mapping — must still be usable and freeable.
#include "../common.h"

int main(void)
{
    void *keep = malloc(100); /* the brk segment exists */
    CHECK(keep != NULL);
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    enum { N = 3000 };
    static char *p[N];
    static size_t sz[N];
    unsigned seed = 7;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245 + 12345;
            sz[i] = (seed >> 8) % 7 == 0 ? (seed >> 4) % (3 << 20) : (seed >> 12) % 5000;
            p[i] = malloc(sz[i]);
            CHECKF(p[i] != NULL, "malloc(%zu) with brk blocked", sz[i]);
            memset(p[i], i & 0xff, sz[i]);
            EXPECT(malloc_usable_size(p[i]) >= sz[i]);
        }
        for (int i = 0; i < N; i++) {
            for (size_t k = 0; k < sz[i]; k += 997)
                CHECKF((unsigned char)p[i][k] == (i & 0xff), "block %d byte %zu", i, k);
            if (i % 3 == 0)
                p[i] = realloc(p[i], sz[i] / 2 + 1);
            free(p[i]);
        }
    }
    EXPECT(sbrk(0) <= blk); /* the break never crossed the mapping */
    free(keep);
    munmap(blk, 1 << 20);
    return t_done();
}
