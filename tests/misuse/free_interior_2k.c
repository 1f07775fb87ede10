// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+
// free(p + 32) of a 2 KiB block.
#include "../common.h"

int main(void)
{
    char *p = malloc(2048);
    if (!p)
        return 2;
    memset(p, 'x', 2048);
    void *volatile q = p + 32;
    free(q);
    puts("survived");
    return 0;
}
