// mallopt(M_TOP_PAD, v) with a negative v: the pad is a size_t, so -4096
// is 2^64 - 4096, as in glibc, and a growth of the heap added it to the
// request: nb + pad + MINSIZE wrapped to a few bytes less than nb. The
// first growth then started a brk segment of no size and wrote its header
// past the break (SIGSEGV; glibc serves these requests). Now a pad that
// large is capped, found unobtainable, and dropped: the heap grows by what
// the request needs. tests/unit/top_pad_wraps_arena has the other arenas.
#include "../common.h"

static void rounds(int pad)
{
    CHECK(mallopt(M_TOP_PAD, pad) == 1);
    static char *p[400];
    for (int i = 0; i < 400; i++) {
        size_t n = 2000 + 40 * (size_t)(i % 50);
        p[i] = malloc(n);
        CHECKF(p[i] != NULL, "M_TOP_PAD %d: malloc(%zu) #%d failed", pad, n, i);
        t_fill(p[i], n, p[i], 1);
    }
    for (int i = 0; i < 400; i++) {
        EXPECTF(t_check(p[i], 2000 + 40 * (size_t)(i % 50), p[i], 1) == (size_t)-1, "M_TOP_PAD %d: block %d changed", pad, i);
        free(p[i]);
    }
    char *big = malloc(900000); /* below the threshold set in main: from the heap */
    CHECKF(big != NULL, "M_TOP_PAD %d: malloc(900000) failed", pad);
    t_fill(big, 900000, big, 2);
    EXPECT(t_check(big, 900000, big, 2) == (size_t)-1);
    free(big);
}

int main(void)
{
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    rounds(-4096);
    rounds(-100000);
    rounds(-1);
    rounds(INT_MAX);
    rounds(0);
    return t_done();
}
