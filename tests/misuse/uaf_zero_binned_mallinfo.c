// expect-abort: ^umalloc: mallinfo\(\): corrupted bin link \(a write after free\?\) in 0x[0-9a-f]+$
// mallinfo2() walks every bin to count the free chunks: after a write after
// free zeroed a binned block's links (binned.h), it names the corruption
// (before: a SIGSEGV inside mallinfo2).
#include "binned.h"

int main(void)
{
    volatile uint64_t *w = binned_block();
    w[0] = 0;
    w[1] = 0;
    struct mallinfo2 mi = mallinfo2();
    printf("survived %zu\n", mi.fordblks);
    return 0;
}
