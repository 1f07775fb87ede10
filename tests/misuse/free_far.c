// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
// free() of a pointer 1 GiB past a small block: nothing umalloc owns is
// there, and nothing is read from it (hardened_malloc's
// invalid_free_small_region_far).
#include "../common.h"

int main(void)
{
    char *p = malloc(16);
    if (!p)
        return 2;
    void *volatile q = p + ((size_t)1 << 30);
    free(q);
    puts("survived");
    return 0;
}
