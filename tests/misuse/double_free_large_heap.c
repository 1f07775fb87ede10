// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
// A 512 KiB block carved from the heap (the mmap threshold raised), larger
// than any cached class, with a live neighbour so it goes to the bins, not
// the top: freed twice. free() hands such a chunk to its arena's locked
// free directly; the second free must still be named.
#include "../common.h"

int main(void)
{
    if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1)
        return 2;
    char *p = malloc(512 << 10);
    char *guard = malloc(64);
    if (!p || !guard)
        return 2;
    memset(p, 'x', 512 << 10);
    memset(guard, 'g', 64);
    void *volatile again = p;
    free(p);
    free(again);
    puts("survived");
    return 0;
}
