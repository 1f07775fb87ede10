// expect-abort: ^umalloc: free\(\): heap overflow past the end of 0x[0-9a-f]+ \(size 24\)$
// One byte written just past malloc_usable_size() of a small block (the low
// byte of the next chunk's size word), then free(): caught by that free,
// before the block reaches a cache (hardened_malloc's overflow_small_1_byte).
#include "../common.h"

int main(void)
{
    char *p = malloc(8);
    if (!p)
        return 2;
    size_t n = malloc_usable_size(p);
    volatile char *end = p + n; /* a store before free() is dead to gcc otherwise */
    /* the byte as stored is random (the size word is keyed): a write of the
     * value it already holds changes nothing, so write another one then */
    *end = *end == 1 ? 1 ^ 0x80 : 1;
    free(p);
    puts("survived");
    return 0;
}
