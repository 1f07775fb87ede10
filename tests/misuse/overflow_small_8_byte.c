// expect-abort: ^umalloc: (malloc\(\): corrupted top size at 0x[0-9a-f]+|check\(\): chunk header overwritten \(not one umalloc wrote\) at 0x[0-9a-f]+)$
// The eighth byte past malloc_usable_size() of a small block (the top byte
// of the next chunk's size word) zeroed, then free() (hardened_malloc's
// overflow_small_8_byte). The block is the process's first of its size, cut
// from top alone, so the word it overran is top's: free() reads only the
// block's own header (malloc.c, free_body), and the next malloc that cuts
// top, puts()'s buffer, names it (the debug build's heap check, right after
// the free, first). overflow_small_1_byte is the case of a live neighbour.
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
