// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
// A 200 KiB block (mmapped with the default threshold) freed twice: after the
// first free its pages are gone, so the allocator must recognise the pointer
// without dereferencing it.
#include "../common.h"

int main(void)
{
    char *p = malloc(200 * 1024);
    if (!p)
        return 2;
    memset(p, 'x', 200 * 1024);
    void *volatile again = p;
    free(p);
    free(again);
    puts("survived");
    return 0;
}
