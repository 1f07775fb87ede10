// expect-abort: ^umalloc: malloc\(\): corrupted top size at 0x[0-9a-f]+$
// hardened_malloc's 32_byte_memcpy_overflow with an 8-byte block: a memcpy
// 32 bytes too long zeroes top's size word, and the next malloc that needs
// top (here a block of a size never asked before) must say so. A zeroed
// word is the one corruption of the keyed header that decodes to a plausible
// number: 0. Before, that malloc took the empty top's end for a break moved
// by someone else, left the old heap behind and grew a new segment.
#include "../common.h"
#include <string.h>

int main(void)
{
    static char *volatile p;
    p = malloc(8);
    if (!p)
        return 2;
    char src[8 + 32] = {0};
    memcpy(p, src, sizeof src);
    void *q = malloc(5000);
    printf("survived %p\n", q);
    return 0;
}
