// expect-abort: ^umalloc: free\(\): corrupted chunk header at 0x[0-9a-f]+$
// A mapped chunk whose size word an overflow enlarged by a page multiple:
// free() must notice that the header disagrees with the mapping recorded for
// the chunk and stop, not unmap the memory after it (another block's).
#include "../common.h"

int main(void)
{
    char *a = malloc(1 << 20);
    char *b = malloc(1 << 20);
    if (!a || !b)
        return 2;
    memset(a, 'a', 1 << 20);
    memset(b, 'b', 1 << 20);
    char *lo = a < b ? a : b;
    volatile size_t *size_word = (size_t *)(lo - 8); /* a store before free() is dead to gcc */
    *size_word += (size_t)16 << 12; /* claims 64 KiB more than its mapping */
    void *volatile victim = lo;
    free(victim);
    puts("survived");
    return 0;
}
