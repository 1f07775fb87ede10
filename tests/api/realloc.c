// realloc: NULL acts as malloc, shrink, grow, content kept across heap <-> mmap
// sizes, failure keeps the old block (errno ENOMEM), realloc(p, 0) frees.
#include "../common.h"

/* Reallocates p (holding `have` bytes of the pattern of `base`/salt) to n,
 * checks the kept prefix, refills everything with the new block's pattern. */
static unsigned char *step(unsigned char *p, size_t have, size_t n, uint64_t salt)
{
    volatile uintptr_t vbase = (uintptr_t)p;          /* a number from now on */
    unsigned char *q = realloc(p, n);
    const void *base = (const void *)vbase;
    CHECKF(q != NULL, "realloc(%p, %zu) failed", (void *)p, n);
    EXPECTF(t_aligned(q, 16), "realloc -> %p not 16-aligned", (void *)q);
    EXPECTF(malloc_usable_size(q) >= n, "usable %zu < %zu", malloc_usable_size(q), n);
    size_t keep = have < n ? have : n;
    size_t bad = t_check(q, keep, base, salt);
    EXPECTF(bad == (size_t)-1, "realloc %zu -> %zu (%p -> %p): byte %zu of the old content lost",
            have, n, base, (void *)q, bad);
    t_fill(q, n, q, salt + 1);
    return q;
}

static void chain(const size_t *sizes, size_t count)
{
    unsigned char *p = malloc(sizes[0]);
    CHECK(p != NULL);
    t_fill(p, sizes[0], p, 1000);
    uint64_t salt = 1000;
    for (size_t i = 1; i < count; i++) {
        p = step(p, sizes[i - 1], sizes[i], salt);
        salt++;
    }
    EXPECT(t_check(p, sizes[count - 1], p, salt) == (size_t)-1);
    free(p);
}

int main(void)
{
    /* realloc(NULL, n) == malloc(n) */
    for (size_t n = 0; n < 5000; n += 333) {
        unsigned char *p = realloc(NULL, n);
        CHECKF(p != NULL, "realloc(NULL, %zu)", n);
        EXPECT(malloc_usable_size(p) >= n);
        memset(p, 1, n);
        free(p);
    }

    /* the chains from the brief and more: heap <-> mmap in both directions */
    static const size_t c1[] = { 100, 200 * 1024, 8 * 1024 * 1024, 50 };
    static const size_t c2[] = { 24, 1000, 130000, 131072, 140000, 4 << 20, 1 << 20,
                                 100 * 1024, 16, 1, 300 };
    static const size_t c3[] = { 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610,
                                 987, 1597, 2584, 4181, 6765, 10946, 17711, 28657, 46368,
                                 75025, 121393, 196418, 317811, 514229, 832040, 1346269,
                                 832040, 100, 1346269, 8 };
    static const size_t c4[] = { 4 << 20, 4 << 20, (4 << 20) - 1, (4 << 20) + 4096, 3 << 20,
                                 (3 << 20) + 1, 10 << 20, 200 * 1024, 100 * 1024, 64 };
    chain(c1, sizeof c1 / sizeof c1[0]);
    chain(c2, sizeof c2 / sizeof c2[0]);
    chain(c3, sizeof c3 / sizeof c3[0]);
    chain(c4, sizeof c4 / sizeof c4[0]);

    /* shrink in place and grow again, with a neighbour on each side */
    {
        void *before = malloc(100);
        unsigned char *p = malloc(1000);
        void *after = malloc(100);
        CHECK(before && p && after);
        memset(before, 0x11, 100);
        memset(after, 0x22, 100);
        t_fill(p, 1000, p, 5);
        p = step(p, 1000, 100, 5);
        p = step(p, 100, 150, 6);     /* grows into what the shrink released */
        p = step(p, 150, 3000, 7);
        p = step(p, 3000, 1, 8);
        EXPECT(t_all_bytes(before, 100, 0x11));
        EXPECT(t_all_bytes(after, 100, 0x22));
        free(p);
        free(before);
        free(after);
    }
    /* grow into a freed neighbour */
    {
        unsigned char *a = malloc(200);
        void *b = malloc(200);
        void *c = malloc(200);
        CHECK(a && b && c);
        memset(c, 0x33, 200);
        t_fill(a, 200, a, 9);
        free(b);
        a = step(a, 200, 380, 9);
        a = step(a, 380, 1000, 10);
        EXPECT(t_all_bytes(c, 200, 0x33));
        free(a);
        free(c);
    }
    /* string-builder pattern: grow by small steps */
    {
        size_t top = (size_t)t_scale(200000, 20000);
        unsigned char *p = NULL;
        size_t have = 0;
        for (size_t n = 1; n <= top; n += 1 + n / 8) {
            unsigned char *q = realloc(p, n);
            CHECK(q != NULL);
            for (size_t i = 0; i < have; i++)
                if (q[i] != (unsigned char)(i * 7 + 3)) {
                    EXPECTF(0, "growing realloc to %zu lost byte %zu", n, i);
                    break;
                }
            for (size_t i = have; i < n; i++)
                q[i] = (unsigned char)(i * 7 + 3);
            p = q;
            have = n;
        }
        free(p);
    }
    /* realloc of an aligned block keeps content */
    {
        unsigned char *p = memalign(4096, 5000);
        CHECK(p != NULL);
        t_fill(p, 5000, p, 11);
        p = step(p, 5000, 9000, 11);
        p = step(p, 9000, 700, 12);
        free(p);
    }

    /* failure: NULL, errno ENOMEM, old block untouched and still owned */
    {
        const size_t olds[] = { 200, 5000, 1 << 20 };
        const size_t huge[] = { SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX,
                                (size_t)1 << 62 };
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < sizeof huge / sizeof huge[0]; j++) {
                unsigned char *p = malloc(olds[i]);
                CHECK(p != NULL);
                t_fill(p, olds[i], p, 20);
                errno = 0;
                void *q = realloc(p, t_opaque_size(huge[j]));
                int e = errno;
                EXPECTF(q == NULL, "realloc(%zu-byte block, %#zx) returned %p", olds[i], huge[j], q);
                EXPECTF(e == ENOMEM, "realloc(.., %#zx): errno %d, expected ENOMEM", huge[j], e);
                if (q) {
                    free(q);
                    continue;
                }
                EXPECTF(t_check(p, olds[i], p, 20) == (size_t)-1,
                        "failed realloc changed the old %zu-byte block", olds[i]);
                p = step(p, olds[i], olds[i] + 1, 20);   /* still a valid block */
                free(p);
            }
    }

    /* realloc(p, 0) frees p and returns NULL (glibc behaviour) */
    {
        const size_t sizes[] = { 1, 100, 5000, 200 * 1024, 2 << 20 };
        for (size_t i = 0; i < 5; i++) {
            void *p = malloc(sizes[i]);
            CHECK(p != NULL);
            memset(p, 7, sizes[i]);
            void *q = realloc(p, t_opaque_size(0));
            EXPECTF(q == NULL, "realloc(%zu-byte block, 0) returned %p, glibc frees and returns NULL",
                    sizes[i], q);
            if (q)
                free(q);
        }
        /* and the freed memory is reusable */
        for (int i = 0; i < 100; i++) {
            void *p = malloc(100);
            CHECK(p != NULL);
            free(realloc(p, t_opaque_size(0)));
        }
    }
    return t_done();
}
