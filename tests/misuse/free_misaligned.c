// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+
// free(p + 1): not even aligned.
#include "../common.h"

int main(void)
{
    char *p = malloc(64);
    if (!p)
        return 2;
    memset(p, 'x', 64);
    void *volatile q = p + 1;
    free(q);
    puts("survived");
    return 0;
}
