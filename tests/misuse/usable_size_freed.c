// expect-abort: ^umalloc: malloc_usable_size\(\): use after free of 0x[0-9a-f]+ \(size 24\)$
// malloc_usable_size() of a small block that was freed (it sits in the
// thread cache): hardened_malloc's invalid_malloc_usable_size_small_quarantine.
#include "../common.h"

int main(void)
{
    void *p = malloc(16);
    if (!p)
        return 2;
    free(p);
    void *volatile q = p;
    printf("survived: %zu\n", malloc_usable_size(q));
    return 0;
}
