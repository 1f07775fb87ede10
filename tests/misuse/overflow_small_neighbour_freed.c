// expect-abort: ^umalloc: free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size 24\), or underflow of 0x[0-9a-f]+$
// One byte written just past malloc_usable_size() of a small block (the low
// byte of the next chunk's size word), then the block after it is freed,
// while the overrun one is still in use. That free finds a header umalloc
// did not write: a bad pointer or an overflow from below. It must name the
// overflow and the block that ran past its end (the size, 24, is the first
// block's; the second one's free reported "invalid pointer" before).
#include "overrun_pair.h"

int main(void)
{
    char *q;
    size_t n;
    char *p = overrun_pair(&q, &n);
    overrun_one_byte(p, n);
    free(q);
    puts("survived the free");
    free(p);
    return 0;
}
