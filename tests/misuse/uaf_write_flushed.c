// expect-abort: ^umalloc: exit\(\): write after free into 0x[0-9a-f]+ \(size 56\)$
// A write after free into a block that an overflowing thread cache handed to
// the central cache: 600 blocks of 48 bytes freed in order (the stack
// overflows and parks its oldest part, unwalked, so the first block sits in a
// parked batch), then the first one's link word overwritten, and nothing
// reuses it before main returns. The exit check walks the parked batches too.
#include "../common.h"
#include <stdint.h>

int main(void)
{
    enum { N = 600 };
    static void *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = malloc(48);
        if (!b[i])
            return 2;
    }
    for (int i = 0; i < N; i++)
        free(b[i]);
    ((volatile uint64_t *)b[0])[0] = 0x4141414141414141ull;
    return 0;
}
