/* adjacent.h — the setup the overflow tests share: two blocks of n bytes,
 * b's header within `reach` bytes past the end of a's usable size (so a
 * write of that many bytes past a's end lands on it). Pairs that do not
 * qualify are leaked and another is tried; exits 3 when none does. */
#ifndef UM_TEST_ADJACENT_H
#define UM_TEST_ADJACENT_H

#include "../common.h"

struct adjacent {
    char *a, *b;
    size_t ua; /* malloc_usable_size(a) */
};

static struct adjacent adjacent_pair(size_t n, size_t reach)
{
    for (int tries = 0; tries < 1000; tries++) {
        char *x = malloc(n), *y = malloc(n);
        if (!x || !y)
            exit(2);
        size_t ux = malloc_usable_size(x);
        if (y > x + ux && y <= x + ux + reach)
            return (struct adjacent){x, y, ux};
    }
    printf("could not get two adjacent %zu-byte blocks; cannot stage the overflow\n", n);
    exit(3);
}

#endif
