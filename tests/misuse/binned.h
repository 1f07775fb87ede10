/* binned.h — the setup the write-after-free tests of binned blocks share:
 * a block of 200000 bytes (past the cached sizes; below the mmap threshold
 * set here, so it comes from top) freed into the arena's bins, with a live
 * block above it so that it does not merge into top. Returns the freed
 * block's address, whose first words are now its chunk's bin links (fd, bk,
 * then the large bins' skip-list links). */
#ifndef UM_TEST_BINNED_H
#define UM_TEST_BINNED_H

#include <stdint.h>

#include "../common.h"

#define BINNED_SIZE 200000

static volatile uint64_t *binned_block(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    static char *volatile a; /* (volatile: gcc neither warns about nor drops the stores after free) */
    a = malloc(BINNED_SIZE);
    char *fence = malloc(32);
    if (!a || !fence)
        exit(2);
    free(a);
    return (volatile uint64_t *)a;
}
#endif
