// expect-abort: ^umalloc: exit\(\): corrupted top size \(an overflow of the block below\?\) at 0x[0-9a-f]+$
// A block just below top overrun by 8 zero bytes (a memcpy one word too
// long), then nothing but the return from main: no malloc reads top again,
// so the check at exit does. Before, the program exited 0.
#include "../common.h"
#include <stdint.h>
#include <string.h>

int main(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* 200000 bytes come from top */
    static char *volatile p;
    p = malloc(200000);
    if (!p)
        return 2;
    size_t n = malloc_usable_size(p);
    char src[8] = {0};
    memcpy(p + n, src, sizeof src); /* past the end: top's size word */
    return 0;
}
