// M_PERTURB covers the aligned family too: memalign, posix_memalign,
// aligned_alloc, valloc and pvalloc return blocks filled with the perturb
// byte's complement, also when the block is one freed (and so filled with
// the perturb byte) a moment before.
#include "../common.h"

static void check(const char *fn, size_t align, size_t n, unsigned char *p, unsigned char want)
{
    size_t bad = t_first_not(p, n, want);
    EXPECTF(bad == (size_t)-1, "M_PERTURB: %s(%zu, %zu) byte %zu is %#x, expected %#x", fn, align,
            n, bad, bad == (size_t)-1 ? 0 : p[bad], want);
}

/* One block from each function at this alignment and size. */
static void one_round(size_t align, size_t n, unsigned char want)
{
    unsigned char *p;
    CHECK((p = memalign(align, n)) != NULL);
    EXPECT(((uintptr_t)p & (align - 1)) == 0);
    check("memalign", align, n, p, want);
    free(p);
    void *v = NULL;
    CHECK(posix_memalign(&v, align, n) == 0);
    EXPECT(((uintptr_t)v & (align - 1)) == 0);
    check("posix_memalign", align, n, v, want);
    free(v);
    CHECK((p = aligned_alloc(align, n)) != NULL);
    EXPECT(((uintptr_t)p & (align - 1)) == 0);
    check("aligned_alloc", align, n, p, want);
    free(p);
}

int main(void)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    const size_t aligns[] = { 32, 64, 256, 4096, 65536 };
    const size_t sizes[] = { 1, 24, 100, 1000, 4096, 20000, 100000, 300000 };

    /* aligned blocks freed before perturbing: they wait in the caches and
     * bins for the requests below */
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *p = aligned_alloc(aligns[a], sizes[s]);
            CHECK(p != NULL);
            memset(p, 0x11, sizes[s]);
            free(p);
        }

    CHECK(mallopt(M_PERTURB, 0xAB) == 1);
    const unsigned char want = 0xAB ^ 0xFF;
    /* twice: the second round reuses the blocks the first freed, which
     * M_PERTURB filled with 0xAB on free */
    for (int round = 0; round < 2; round++)
        for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                one_round(aligns[a], sizes[s], want);

    /* several live at once, so that they do not all come from one chunk */
    enum { LIVE = 40 };
    static unsigned char *keep[LIVE];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < LIVE; i++) {
            CHECK((keep[i] = aligned_alloc(64, 48 + 16 * (size_t)(i % 5))) != NULL);
            check("aligned_alloc", 64, 48 + 16 * (size_t)(i % 5), keep[i], want);
        }
        for (int i = 0; i < LIVE; i++)
            free(keep[i]);
    }

    unsigned char *p;
    for (int round = 0; round < 2; round++) {
        CHECK((p = valloc(3000)) != NULL);
        EXPECT(((uintptr_t)p & (ps - 1)) == 0);
        check("valloc", ps, 3000, p, want);
        free(p);
        CHECK((p = pvalloc(3000)) != NULL); /* a whole page, all of it filled */
        EXPECT(((uintptr_t)p & (ps - 1)) == 0);
        check("pvalloc", ps, ps, p, want);
        free(p);
    }

    /* calloc still zeroes; an aligned block is not cleared by anything */
    CHECK((p = calloc(1, 5000)) != NULL);
    EXPECT(t_first_not(p, 5000, 0) == (size_t)-1);
    free(p);

    CHECK(mallopt(M_PERTURB, 0) == 1);
    return t_done();
}
