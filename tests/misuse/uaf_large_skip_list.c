// expect-abort: ^umalloc: malloc\(\): corrupted bin link \(a write after free\?\) in 0x[0-9a-f]+$
// A write after free over the third and fourth words of a large free block
// that sits sorted in its large bin (binned.h): its fd and bk are intact,
// its skip-list links (fd_nextsize, bk_nextsize) are not. The best-fit
// search for a block of its size follows the skip list from the bin's first
// chunk; the link is checked before it is followed.
#include "binned.h"

int main(void)
{
    volatile uint64_t *w = binned_block();
    void *big = malloc(300000); /* the block is in its large bin now (sorted there by
                                 * the free's purge step, or by this malloc's walk of
                                 * the unsorted bin) */
    if (!big)
        return 2;
    w[2] = 0x4141414141414140ull; /* aligned, far from any heap */
    w[3] = 0x4141414141414140ull;
    void *b = malloc(BINNED_SIZE);
    printf("survived %p\n", b);
    return 0;
}
