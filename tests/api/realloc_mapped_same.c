// realloc of a mapped block to its own usable size (or a little less) does
// not move it (glibc >= 2.37), also after the dynamic mmap threshold rose
// above the block's size; the contents stay.
#include "../common.h"

static void check_same(size_t req, const char *when)
{
    char *p = malloc(req);
    CHECK(p != NULL);
    size_t u = malloc_usable_size(p);
    memset(p, 0x5a, u);
    char *q = realloc(p, u);
    EXPECTF(q == p, "%s: realloc(%p, usable %zu) moved to %p", when, (void *)p, u, (void *)q);
    CHECK(q != NULL);
    char *r = realloc(q, u - 100);
    EXPECTF(r == q, "%s: realloc to usable - 100 moved the block", when);
    CHECK(r != NULL);
    for (size_t k = 0; k < u - 100; k += 4093)
        CHECKF((unsigned char)r[k] == 0x5a, "%s: byte %zu", when, k);
    free(r);
}

int main(void)
{
    check_same(200000, "default threshold");
    check_same(3 << 20, "default threshold, 3 MiB");
    /* a freed 8 MiB mapped block lifts the dynamic threshold to 8 MiB */
    free(malloc(8 << 20));
    check_same(9 << 20, "after the threshold rose");
    /* and a block mapped because of its alignment */
    void *a = NULL;
    CHECK(posix_memalign(&a, 1 << 20, 300000) == 0);
    size_t u = malloc_usable_size(a);
    EXPECT(realloc(a, u) == a);
    free(a);
    return t_done();
}
