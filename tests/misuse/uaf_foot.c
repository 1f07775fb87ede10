// expect-abort: ^umalloc: free\(\): corrupted size vs\. prev_size at 0x[0-9a-f]+$
// A write after free over the last word of a block freed into the bins (a
// block past the cached sizes, below the mmap threshold set here): that
// word is the chunk's foot, the size the free of the block above follows
// back to merge with it. Written with a size that passes the old bounds
// (aligned, under the arena's system_mem) but reaches below the heap, that
// free must name it; before, it read a header there (SIGSEGV when nothing
// is mapped below the heap).
#include "../common.h"
#include <stdint.h>

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    static char *volatile b, *volatile c; /* (volatile: stores after free stay) */
    b = malloc(200000);
    c = malloc(200000); /* right above b */
    char *fence = malloc(32);
    if (!b || !c || !fence)
        return 2;
    free(b);
    size_t sys = mallinfo2().arena & ~(size_t)15;
    volatile uint64_t *foot = (uint64_t *)(c - 16); /* b's last word: c's prev_size */
    *foot = sys;
    free(c);
    puts("survived");
    return 0;
}
