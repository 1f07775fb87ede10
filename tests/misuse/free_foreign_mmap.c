// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
// free() of a pointer into a mapping the program made itself (brk free to
// grow, so no segment of the main arena is near it): the mapped-chunk
// registry does not know it (hardened_malloc's invalid_free_unprotected).
#include "../common.h"
#include <sys/mman.h>

int main(void)
{
    free(malloc(16));
    char *m = mmap(NULL, 4096 * 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 2;
    void *volatile p = m + 4096 * 8;
    free(p);
    puts("survived");
    return 0;
}
