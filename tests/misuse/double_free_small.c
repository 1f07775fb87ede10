// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
// A 48-byte block freed twice in a row.
#include "../common.h"

int main(void)
{
    char *p = malloc(48);
    if (!p)
        return 2;
    memset(p, 'x', 48);
    void *volatile again = p;        /* hides the second free from the compiler */
    free(p);
    free(again);
    puts("survived");
    return 0;
}
