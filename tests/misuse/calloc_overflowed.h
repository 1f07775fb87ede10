/* calloc_overflowed.h — the body the calloc overflow tests share: a
 * one-byte overflow of an n-byte block a changes the size word of the freed
 * block b just above it (cached); calloc then hands b out again. calloc
 * clears the whole usable size (src/malloc.c), but takes that length from
 * the slot or bounds it by the request, not from b's header alone: a memset
 * of what the changed header decodes to ran off the heap (SIGSEGV). Now the
 * free of b names the overflow (the debug build's heap check, after the
 * calloc, names the header first). */
#ifndef UM_TEST_CALLOC_OVERFLOWED_H
#define UM_TEST_CALLOC_OVERFLOWED_H

#include "adjacent.h"

static int calloc_overflowed(size_t n)
{
    struct adjacent p = adjacent_pair(n, 16);
    free(p.b);
    char *volatile end = p.a + p.ua; /* hides the overflow from the compiler */
    end[0] = 0x41;
    char *c = calloc(1, n);
    if (!c)
        return 4;
    free(c);
    puts("survived");
    return 0;
}

#endif
