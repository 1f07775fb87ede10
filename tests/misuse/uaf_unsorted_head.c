// expect-abort: ^umalloc: malloc\(\): corrupted bin link \(a write after free\?\) in 0x[0-9a-f]+$
// A write after free zeroes the forward link of the unsorted bin's first
// chunk, and the block just below it is freed next. The merge puts the
// merged chunk in the first chunk's place through that chunk's links
// (bins.h, unsorted_head_replace, which free_coalesce uses instead of an
// unlink and a push): it must name the corruption as the unlink does, not
// write through the zeroed link.
#include <stdint.h>

#include "../common.h"

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* 200000 bytes: from top, past the caches */
    static char *volatile below, *volatile a; /* (volatile: the stores after free stay) */
    below = malloc(200000);
    a = malloc(200000);
    char *fence = malloc(32); /* a does not merge into top */
    if (!below || !a || !fence)
        exit(2);
    free(a); /* the unsorted bin's first chunk */
    ((volatile uint64_t *)a)[0] = 0;
    free(below);
    printf("survived\n");
    return 0;
}
