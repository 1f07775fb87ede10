// expect-abort: ^umalloc: (malloc\(\): corrupted double-linked list \(nextsize\)|check\(\): broken skip list) at 0x[0-9a-f]+$
// glibc's "large bin attack", staged as a write after free: the only chunk
// of a large bin gets, in its skip list's bk word, the chunk address of a
// live block; a smaller chunk then sorted into that bin is linked in after
// it, and the insert writes the new chunk's address through that link, 16
// bytes into the live block. The link lies in the heap, so it passes the
// link check (bins.h, bin_link); the insert now also tests that it points
// back. Before, the program went on with a heap address in its data. (The
// debug build's walk after the free finds the broken skip list first.)
#include "binned.h"

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* (binned_block sets it too, after b) */
    static char *volatile b;
    b = malloc(180000); /* smaller, same large bin (160-256 KiB); these two
                         * first, so that neither comes out of the freed one */
    char *fence = malloc(32), *live = malloc(64);
    volatile uint64_t *w = binned_block(); /* 200000 bytes, freed */
    if (!b || !fence || !live)
        return 2;
    void *big = malloc(300000); /* the first block is in its large bin now */
    if (!big)
        return 2;
    w[3] = (uint64_t)(uintptr_t)(live - 16); /* bk_nextsize: live's chunk */
    free(b);
    void *big2 = malloc(300000); /* sorts b into the bin: the insert */
    printf("survived %p %p\n", big2, (void *)((uint64_t *)live)[0]);
    return 0;
}
