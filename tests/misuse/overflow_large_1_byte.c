// expect-abort: ^umalloc: free\(\): write past the end of 0x[0-9a-f]+ \(size [0-9]+\)$
// hardened_malloc's overflow_large_1_byte: one byte written just past the
// usable size of a mapped (256 KiB) block, then free(). The byte lands on the
// canary that ends the mapping, and free() stops.
#include "../common.h"

int main(void)
{
    char *p = malloc(256 * 1024);
    if (!p)
        return 2;
    size_t size = malloc_usable_size(p);
    char *volatile end = p + size; /* hides the overflow from the compiler */
    *end = 1;
    free(p);
    puts("survived");
    return 0;
}
