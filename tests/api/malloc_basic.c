// malloc/free basics: every size 0..4096 and a geometric sweep up to 4 MiB;
// 16-byte alignment, usable size, writability, no overlap, malloc(0).
#include "../common.h"

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void one(size_t n)
{
    unsigned char *p = malloc(n);
    CHECKF(p != NULL, "malloc(%zu) returned NULL", n);
    EXPECTF(t_aligned(p, 16), "malloc(%zu) = %p not 16-byte aligned", n, (void *)p);
    size_t u = malloc_usable_size(p);
    EXPECTF(u >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, u);
    t_fill(p, n, p, n);
    size_t bad = t_check(p, n, p, n);
    EXPECTF(bad == (size_t)-1, "malloc(%zu): byte %zu did not keep its value", n, bad);
    free(p);
}

int main(void)
{
    /* every small size, one at a time */
    for (size_t n = 0; n <= 4096; n++)
        one(n);
    /* geometric sweep to 4 MiB, with neighbours of each step and of powers of two */
    for (size_t n = 4096; n <= 4 * T_MIB; n += n / 4) {
        one(n - 1);
        one(n);
        one(n + 1);
    }
    for (size_t n = 8192; n <= 4 * T_MIB; n *= 2) {
        one(n - 16);
        one(n - 8);
        one(n);
        one(n + 8);
        one(n + 16);
    }

    /* many live blocks at once: patterns must not interfere, ranges must not overlap */
    enum { LIVE = 2048 };
    static unsigned char *blk[LIVE];
    static uintptr_t sorted[LIVE];
    size_t live = (size_t)t_scale(LIVE, 600);
    t_rng r = { t_seed(12345) };
    for (size_t i = 0; i < live; i++) {
        size_t n = (i % 64 == 63) ? 100 * T_KIB + t_below(&r, 200 * T_KIB) : t_below(&r, 2049);
        blk[i] = malloc(n);
        CHECKF(blk[i] != NULL, "malloc(%zu)", n);
        EXPECT(t_aligned(blk[i], 16));
        size_t u = malloc_usable_size(blk[i]);
        EXPECTF(u >= n, "usable %zu < %zu", u, n);
        t_fill(blk[i], u, blk[i], i);
        sorted[i] = (uintptr_t)blk[i];
    }
    for (size_t i = 0; i < live; i++) {
        size_t u = malloc_usable_size(blk[i]);
        size_t bad = t_check(blk[i], u, blk[i], i);
        EXPECTF(bad == (size_t)-1, "block %zu (%p, usable %zu) clobbered at offset %zu",
                i, (void *)blk[i], u, bad);
    }
    qsort(sorted, live, sizeof sorted[0], cmp_ptr);
    for (size_t i = 0; i + 1 < live; i++) {
        size_t u = malloc_usable_size((void *)sorted[i]);
        EXPECTF(sorted[i] + u <= sorted[i + 1], "blocks %p (usable %zu) and %p overlap",
                (void *)sorted[i], u, (void *)sorted[i + 1]);
    }
    /* free in an interleaved order: even indices first, then odd, backwards */
    for (size_t i = 0; i < live; i += 2)
        free(blk[i]);
    for (size_t i = live; i-- > 0;)
        if (i % 2) {
            size_t u = malloc_usable_size(blk[i]);
            EXPECTF(t_check(blk[i], u, blk[i], i) == (size_t)-1,
                    "block %zu clobbered after freeing its neighbours", i);
            free(blk[i]);
        }

    /* malloc(0): unique, non-NULL, 16-aligned, freeable */
    enum { ZEROS = 200 };
    static void *z[ZEROS];
    for (int i = 0; i < ZEROS; i++) {
        z[i] = malloc(t_opaque_size(0));
        CHECKF(z[i] != NULL, "malloc(0) returned NULL (glibc returns a unique pointer)");
        EXPECT(t_aligned(z[i], 16));
        sorted[i] = (uintptr_t)z[i];
    }
    qsort(sorted, ZEROS, sizeof sorted[0], cmp_ptr);
    for (int i = 0; i + 1 < ZEROS; i++)
        EXPECTF(sorted[i] != sorted[i + 1], "malloc(0) returned %p twice", (void *)sorted[i]);
    for (int i = 0; i < ZEROS; i++)
        free(z[i]);

    /* free(NULL) is a no-op */
    free(t_opaque(NULL));
    free(t_opaque(NULL));

    /* recycling: the same size allocated and freed many times keeps working */
    for (int i = 0; i < t_scale(100000, 5000); i++) {
        size_t n = (size_t)(i % 7) * 24 + 1;
        char *p = malloc(n);
        CHECK(p != NULL);
        p[0] = 'a';
        p[n - 1] = 'b';
        t_escape(p);
        free(p);
    }
    return t_done();
}
