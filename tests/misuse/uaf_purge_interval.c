// expect-abort: ^umalloc: purge\(\): corrupted free chunk \(a write after free\?\) at 0x[0-9a-f]+$
// A write after free over the seventh and eighth words of a block freed
// into the bins (the set-up of binned.h, with a live block allocated above
// it before the free, so that it does not come out of the freed one). A
// free chunk of a page or more keeps there the range of its pages already
// given back (the purge's interval), beside a tag the write left alone.
// Written with a range above the chunk, inside the live block, the purge
// (here umalloc_purge()) must name it: it turns that range into madvise
// calls. Before, umalloc_purge() never returned: its sweep kept working on
// a range that never met the chunk's own bounds.
#include "../common.h"
#include <stdint.h>

#define BINNED_SIZE 200000 /* past the cached sizes, below the threshold set here */
#include "../include/umalloc.h"
#pragma weak umalloc_purge

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    static char *volatile a; /* (volatile: the stores after free stay) */
    a = malloc(BINNED_SIZE);
    char *fence = malloc(32), *live = malloc(BINNED_SIZE);
    if (!a || !fence || !live)
        return 2;
    free(a);
    volatile uint64_t *w = (uint64_t *)a;
    memset(live, 'L', BINNED_SIZE);
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t in_live = ((uintptr_t)live + BINNED_SIZE / 2) & ~(pg - 1);
    w[6] = in_live; /* the purged range's start */
    w[7] = in_live + pg;
    int (*volatile purge)(void) = umalloc_purge;
    if (!purge)
        return 2;
    purge();
    size_t zeros = 0;
    for (size_t i = 0; i < BINNED_SIZE; i++)
        zeros += live[i] == 0;
    printf("survived: %zu bytes of the live block read back as zeros\n", zeros);
    return 0;
}
