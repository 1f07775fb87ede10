// calloc: zeroed memory (all of malloc_usable_size) for fresh and *reused*
// blocks of every size class,
// calloc(0, n) / calloc(n, 0), and nmemb*size overflow -> NULL + ENOMEM.
#include "../common.h"

static void dirty_then_calloc(size_t n)
{
    unsigned char *p = malloc(n);
    CHECKF(p != NULL, "malloc(%zu)", n);
    unsigned char *volatile dirty = p; /* (gcc drops a memset just before free) */
    memset(dirty, 0xff, malloc_usable_size(p));
    free(dirty);
    unsigned char *q = calloc(1, n);
    CHECKF(q != NULL, "calloc(1, %zu)", n);
    /* every usable byte, as glibc clears them: a program may grow into
     * what malloc_usable_size reports */
    size_t u = malloc_usable_size(q);
    size_t bad = t_first_not(q, u, 0);
    EXPECTF(bad == (size_t)-1, "calloc(1, %zu) after free of a dirty block: byte %zu of %zu usable = %#x",
            n, bad, u, bad == (size_t)-1 ? 0 : q[bad]);
    memset(q, 0xee, n);
    free(q);
}

static void expect_overflow(size_t a, size_t b)
{
    errno = 0;
    void *p = calloc(t_opaque_size(a), t_opaque_size(b));
    int e = errno;
    EXPECTF(p == NULL, "calloc(%#zx, %#zx) overflows but returned %p", a, b, p);
    EXPECTF(e == ENOMEM, "calloc(%#zx, %#zx): errno %d, expected ENOMEM", a, b, e);
    if (p)
        free(p);
}

int main(void)
{
    /* fresh calloc of many sizes */
    for (size_t n = 0; n <= 3000; n += 7) {
        unsigned char *p = calloc(n, 1);
        CHECKF(p != NULL, "calloc(%zu, 1)", n);
        EXPECTF(t_first_not(p, n, 0) == (size_t)-1, "calloc(%zu, 1) not zeroed", n);
        memset(p, 0xaa, n);
        free(p);
    }

    /* reused memory, every size class: tiny, small, large, mmapped */
    const size_t sizes[] = { 1, 8, 16, 24, 32, 48, 64, 100, 128, 160, 200, 512, 1000,
                             1024, 1040, 4000, 5000, 65536, 70000, 127 * 1024,
                             128 * 1024, 200 * 1024, 1024 * 1024, 2 * 1024 * 1024 + 5 };
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            dirty_then_calloc(sizes[i]);

    /* pieces carved out of a freed dirty chunk (kept away from the top) */
    {
        unsigned char *big = malloc(64 * T_KIB);
        void *guard = malloc(32);
        CHECK(big && guard);
        memset(big, 0xff, 64 * T_KIB);
        free(big);
        enum { N = 100 };
        unsigned char *pc[N];
        for (int i = 0; i < N; i++) {
            size_t n = 24 + (size_t)i * 5;
            pc[i] = calloc(n, 1);
            CHECK(pc[i] != NULL);
            EXPECTF(t_first_not(pc[i], n, 0) == (size_t)-1,
                    "calloc(%zu) carved from a freed dirty chunk not zeroed", n);
        }
        for (int i = 0; i < N; i++)
            free(pc[i]);
        free(guard);
    }
    /* a dirty chunk that merged back into the top */
    {
        unsigned char *big = malloc(100 * T_KIB);
        CHECK(big != NULL);
        memset(big, 0xff, 100 * T_KIB);
        free(big);
        unsigned char *q = calloc(100, T_KIB);
        CHECK(q != NULL);
        EXPECTF(t_first_not(q, 100 * T_KIB, 0) == (size_t)-1,
                "calloc from a top chunk that held dirty data not zeroed");
        free(q);
    }

    /* random mix of dirty mallocs and callocs */
    {
        enum { SLOTS = 256 };
        unsigned char *p[SLOTS] = { 0 };
        size_t sz[SLOTS] = { 0 };
        bool zeroed[SLOTS] = { 0 };
        t_rng r = { t_seed(777) };
        long ops = t_scale(60000, 4000);
        for (long k = 0; k < ops; k++) {
            int i = (int)t_below(&r, SLOTS);
            if (p[i]) {
                if (zeroed[i])
                    EXPECTF(t_first_not(p[i], sz[i], 0) == (size_t)-1,
                            "calloc'd block of %zu changed", sz[i]);
                free(p[i]);
                p[i] = NULL;
                continue;
            }
            size_t n = t_below(&r, 8) == 0 ? t_below(&r, 300000) : t_below(&r, 2000);
            if (t_below(&r, 2)) {
                p[i] = malloc(n);
                CHECK(p[i] != NULL);
                memset(p[i], 0xff, n);
                zeroed[i] = false;
            } else {
                size_t m = 1 + t_below(&r, 16);
                n = n / m + 1;
                p[i] = calloc(m, n);
                CHECK(p[i] != NULL);
                n *= m;
                size_t bad = t_first_not(p[i], n, 0);
                EXPECTF(bad == (size_t)-1, "calloc(%zu, %zu): byte %zu not zero", m, n / m, bad);
                zeroed[i] = true;
            }
            sz[i] = n;
        }
        for (int i = 0; i < SLOTS; i++)
            free(p[i]);
    }

    /* calloc(0, n) and calloc(n, 0): glibc returns a unique freeable pointer */
    {
        void *a = calloc(t_opaque_size(0), 10), *b = calloc(10, t_opaque_size(0));
        void *c = calloc(t_opaque_size(0), t_opaque_size(0));
        EXPECT(a != NULL && b != NULL && c != NULL);
        EXPECT(a != b && b != c && a != c);
        free(a);
        free(b);
        free(c);
    }

    /* overflow of nmemb * size */
    expect_overflow(SIZE_MAX, 2);
    expect_overflow(2, SIZE_MAX);
    expect_overflow(SIZE_MAX / 2 + 1, 2);
    expect_overflow((size_t)1 << 32, (size_t)1 << 32);
    expect_overflow(((size_t)1 << 33) + 1, ((size_t)1 << 31) + 1);
    expect_overflow(SIZE_MAX, SIZE_MAX);
    expect_overflow(SIZE_MAX / 16 + 1, 16);
    /* no overflow but impossible */
    expect_overflow(SIZE_MAX / 2, 1);
    expect_overflow(1, SIZE_MAX);
    return t_done();
}
