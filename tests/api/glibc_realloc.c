// Mirrors glibc's tst-realloc and tst-reallocarray: realloc(NULL, -1) is
// NULL/ENOMEM; realloc(NULL, n) is malloc; growing and shrinking keep the
// contents; a failed realloc (or an overflowing reallocarray) leaves the
// block as it was; realloc(p, 0) frees and returns NULL; realloc(NULL, 0)
// returns a block; reallocarray detects n * size overflow both ways.
#include "../common.h"

int main(void)
{
    size_t max = t_opaque_size(SIZE_MAX);
    errno = 0;
    EXPECT(realloc(NULL, max) == NULL && errno == ENOMEM);
    void *p = realloc(NULL, 10);
    EXPECT(p != NULL);
    free(p);
    unsigned char *c = calloc(20, 1);
    CHECK(c != NULL);
    c = realloc(c, 200);
    CHECK(c != NULL);
    for (int i = 0; i < 20; i++)
        EXPECTF(c[i] == 0, "byte %d after growing", i);
    free(c);
    c = realloc(NULL, 100);
    CHECK(c != NULL);
    memset(c, 0xff, 100);
    c = realloc(c, 16);
    CHECK(c != NULL);
    for (int i = 0; i < 16; i++)
        EXPECTF(c[i] == 0xff, "byte %d after shrinking", i);
    errno = 0;
    EXPECT(realloc(c, max) == NULL && errno == ENOMEM);
    for (int i = 0; i < 16; i++)
        EXPECTF(c[i] == 0xff, "byte %d after a failed realloc", i);
    EXPECT(realloc(c, 0) == NULL);
    p = realloc(NULL, 0);
    EXPECT(p != NULL);
    free(p);

    /* reallocarray */
    size_t a = 65537, b = max / 65537 + 1;
    size_t bad[4][2] = {{max, 2}, {2, max}, {a, b}, {b, a}};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        EXPECTF(reallocarray(NULL, bad[i][0], bad[i][1]) == NULL && errno == ENOMEM, "case %d", i);
    }
    c = reallocarray(NULL, 10, 2);
    CHECK(c != NULL && malloc_usable_size(c) >= 20);
    memset(c, 0xaf, 20);
    c = reallocarray(c, 20, 2);
    CHECK(c != NULL && malloc_usable_size(c) >= 40);
    for (int i = 0; i < 20; i++)
        EXPECT(c[i] == 0xaf);
    c = reallocarray(c, 5, 3);
    CHECK(c != NULL && malloc_usable_size(c) >= 15);
    errno = 0;
    EXPECT(reallocarray(c, 2, max) == NULL && errno == ENOMEM);
    for (int i = 0; i < 15; i++)
        EXPECT(c[i] == 0xaf);
    free(c);
    return t_done();
}
