// malloc_usable_size: 0 for NULL, >= the request for every allocation
// function, and every usable byte is really the caller's (writing all of it
// disturbs neither neighbours nor the allocator).
#include "../common.h"

static void neighbours(size_t n)
{
    unsigned char *b[3];
    size_t u[3];
    for (int i = 0; i < 3; i++) {
        b[i] = malloc(n);
        CHECKF(b[i] != NULL, "malloc(%zu)", n);
        u[i] = malloc_usable_size(b[i]);
        EXPECTF(u[i] >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, u[i]);
        /* not absurdly large either: a size class may round up by a quarter
         * (umalloc's medium classes, like jemalloc's), a mapping by a page */
        EXPECTF(u[i] <= n + n / 4 + 4096 + 64 || u[i] <= 64, "malloc_usable_size(malloc(%zu)) = %zu", n, u[i]);
    }
    for (int i = 0; i < 3; i++)
        t_fill(b[i], u[i], b[i], n + (size_t)i);
    for (int i = 0; i < 3; i++) {
        size_t bad = t_check(b[i], u[i], b[i], n + (size_t)i);
        EXPECTF(bad == (size_t)-1, "size %zu: block %d (usable %zu) clobbered at %zu by a neighbour",
                n, i, u[i], bad);
    }
    free(b[1]);
    EXPECT(t_check(b[0], u[0], b[0], n) == (size_t)-1);
    EXPECT(t_check(b[2], u[2], b[2], n + 2) == (size_t)-1);
    free(b[0]);
    free(b[2]);
}

int main(void)
{
    EXPECT(malloc_usable_size(NULL) == 0);

    for (size_t n = 0; n <= 1100; n++)
        neighbours(n);
    for (size_t n = 1100; n < 8 * T_MIB; n = n * 5 / 4 + 3)
        neighbours(n);

    /* the other allocation functions */
    for (size_t n = 1; n < 400000; n = n * 3 + 7) {
        unsigned char *p = calloc(1, n);
        CHECK(p != NULL);
        size_t u = malloc_usable_size(p);
        EXPECTF(u >= n, "calloc(1, %zu): usable %zu", n, u);
        memset(p, 0xcc, u);
        free(p);

        p = memalign(256, n);
        CHECK(p != NULL);
        u = malloc_usable_size(p);
        EXPECTF(u >= n, "memalign(256, %zu): usable %zu", n, u);
        memset(p, 0xcc, u);
        free(p);

        p = malloc(n / 2 + 1);
        CHECK(p != NULL);
        p = realloc(p, n);
        CHECK(p != NULL);
        u = malloc_usable_size(p);
        EXPECTF(u >= n, "realloc(.., %zu): usable %zu", n, u);
        memset(p, 0xcc, u);
        p = realloc(p, n / 3 + 1);
        CHECK(p != NULL);
        u = malloc_usable_size(p);
        EXPECTF(u >= n / 3 + 1, "shrinking realloc(.., %zu): usable %zu", n / 3 + 1, u);
        memset(p, 0xdd, u);
        free(p);
    }
    return t_done();
}
