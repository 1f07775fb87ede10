// expect-abort: ^umalloc: free\(\): heap overflow past the end of 0x[0-9a-f]+ \(size 24\)$
// The eighth byte past malloc_usable_size() of a small block (the top byte
// of the next chunk's size word) zeroed, then free() (hardened_malloc's
// overflow_small_8_byte).
#include "../common.h"

int main(void)
{
    char *p = malloc(8);
    if (!p)
        return 2;
    size_t n = malloc_usable_size(p);
    volatile char *end = p + n + 7; /* a store before free() is dead to gcc otherwise */
    /* the byte as stored is random (the size word is keyed): a write of the
     * value it already holds changes nothing, so write another one then */
    *end = *end == 0 ? 0 ^ 0x80 : 0;
    free(p);
    puts("survived");
    return 0;
}
