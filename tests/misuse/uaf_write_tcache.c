// expect-abort: ^umalloc: malloc\(\): corrupted tcache entry at 0x[0-9a-f]+$
// A write into a freed small block's first words (its free-list link), then
// malloc of the same size: the link no longer reveals to a pointer and the
// pop stops there instead of handing out a wild address (hardened_malloc's
// write_after_free_small, plus the malloc that would follow it). Zeros and
// a plausible pointer: api/misuse_matrix.
#include "../common.h"

int main(void)
{
    char *keep = malloc(16), *p = malloc(16);
    if (!keep || !p)
        return 2;
    free(keep); /* the freed block links to another one: a non-NULL link */
    free(p);
    volatile char *q = p; /* stores to freed memory are dead to gcc otherwise */
    for (int i = 0; i < 16; i++)
        q[i] = 'a';
    void *r = malloc(16);
    printf("survived: %p\n", r);
    return 0;
}
