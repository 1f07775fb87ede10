// expect-abort: ^umalloc: free\(\): write past the end of 0x[0-9a-f]+ \(size [0-9]+\)$
// hardened_malloc's overflow_large_8_byte: a zero byte written 8 bytes past
// the usable size of a mapped (256 KiB) block (the last byte of the canary
// word that ends the mapping), then free().
#include "../common.h"

int main(void)
{
    char *p = malloc(256 * 1024);
    if (!p)
        return 2;
    size_t size = malloc_usable_size(p);
    char *volatile end = p + size + 7; /* hides the overflow from the compiler */
    *end = 0;
    free(p);
    puts("survived");
    return 0;
}
