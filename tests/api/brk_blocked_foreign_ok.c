// variants: release debug
// With brk blocked, blocks in mmap'd main-arena segments and own-mapping
// blocks are all recognised by every entry point (free, realloc,
// malloc_usable_size, free_sized), and malloc_usable_size of a mapped block
// reports its real mapping.
#include "../common.h"

int main(void)
{
    void *keep = malloc(100);
    CHECK(keep != NULL);
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    long n = t_scale(60000, 3000);
    char **p = calloc((size_t)n, sizeof *p);
    CHECK(p != NULL);
    for (long i = 0; i < n; i++) {
        size_t sz = (size_t)(i % 700) + 1;
        p[i] = malloc(sz);
        CHECK(p[i] != NULL);
        EXPECT(malloc_usable_size(p[i]) >= sz);
        memset(p[i], (int)(i & 0xff), sz);
    }
    for (long i = 0; i < n; i += 3) {
        p[i] = realloc(p[i], (size_t)(i % 700) + 40);
        CHECK(p[i] != NULL);
        EXPECT((unsigned char)p[i][0] == (i & 0xff));
    }
    for (long i = 0; i < n; i++) {
        if (i % 5 == 1 && T_HAVE_FREE_SIZED())
            free_sized(p[i], (size_t)(i % 700) + 1);
        else
            free(p[i]);
    }
    char *big = malloc(300000);
    CHECK(big != NULL);
    size_t u = malloc_usable_size(big);
    EXPECT(u >= 300000 && u < 300000 + 8192);
    free(big);
    free(p);
    free(keep);
    EXPECT(sbrk(0) <= blk);
    munmap(blk, 1 << 20);
    return t_done();
}
