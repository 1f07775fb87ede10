// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
// A 2 KiB block (bin-sized, with a live neighbour so it does not merge into
// the top) freed twice.
#include "../common.h"

int main(void)
{
    char *p = malloc(2048);
    char *guard = malloc(64);
    if (!p || !guard)
        return 2;
    memset(p, 'x', 2048);
    memset(guard, 'g', 64);
    void *volatile again = p;
    free(p);
    free(again);
    puts("survived");
    return 0;
}
