// expect-abort: ^umalloc: exit\(\): write after free into 0x[0-9a-f]+ \(size 24\)$
// hardened_malloc's write_after_free_small as it is: a small block freed,
// written, and nothing after it but the return from main. The exiting
// thread's cached blocks are checked at exit.
#include "../common.h"

int main(void)
{
    char *p = malloc(16);
    if (!p)
        return 2;
    free(p);
    volatile char *q = p; /* stores to freed memory are dead to gcc otherwise */
    for (int i = 0; i < 16; i++)
        q[i] = 'a';
    return 0;
}
