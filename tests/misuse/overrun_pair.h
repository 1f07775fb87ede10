/* overrun_pair.h — the setup the small-overflow tests share: two 8-byte
 * blocks, the process's first two of their size, side by side (the second
 * chunk starts where the first block's usable bytes end, so the byte just
 * past them is the low byte of the second chunk's size word). Exits 2 when
 * malloc fails and 3 when the blocks do not lie so (the test cannot stage
 * its overflow; the runner reports either as a failure). Returns the first
 * block; *second and *usable get the second block and the first's usable
 * size. */
#ifndef UM_TEST_OVERRUN_PAIR_H
#define UM_TEST_OVERRUN_PAIR_H

#include "../common.h"

static char *overrun_pair(char **second, size_t *usable)
{
    char *p = malloc(8), *q = malloc(8);
    if (!p || !q)
        exit(2);
    size_t n = malloc_usable_size(p);
    if (q != p + n + 8) {
        puts("the second block does not follow the first; cannot stage the overflow");
        exit(3);
    }
    *second = q;
    *usable = n;
    return p;
}

/* Write 1 over the byte just past the first block's usable bytes (the low
 * byte of the second chunk's size word). That byte as stored is random
 * (the size word is keyed): when it holds 1 already, another value is
 * written, so the word always changes. */
static inline void overrun_one_byte(char *p, size_t usable)
{
    volatile char *end = p + usable; /* a store before free() is dead to gcc otherwise */
    *end = *end == 1 ? 1 ^ 0x80 : 1;
}
#endif
