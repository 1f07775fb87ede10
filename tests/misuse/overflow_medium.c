// expect-abort: ^umalloc: free\(\): heap overflow past the end of 0x[0-9a-f]+ \(size [0-9]+\)$
// A medium block (4000 bytes) overrun by 16 bytes of text: the next chunk's
// size word is rewritten. free() of the overrun block names it.
#include "../common.h"

int main(void)
{
    char *a = malloc(4000), *b = malloc(4000);
    if (!a || !b)
        return 2;
    memset(b, 'b', 4000);
    size_t n = malloc_usable_size(a);
    char *volatile end = a + n;
    memcpy(end, "overrun-by-text!", 16);
    free(a);
    puts("survived");
    return 0;
}
