// expect-abort: ^umalloc: free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size 24\), or underflow of 0x[0-9a-f]+$
// One byte written just before a small block (the top byte of its chunk's
// size word: mimalloc-bench's one_byte_underflow), then the block freed.
// Its header no longer decodes, and the chunk below ends where it starts:
// the free names both causes that leave that state, a run past the end of
// the block below and a write before this one (from the memory alone they
// look alike), not a bad pointer.
#include "overrun_pair.h"

int main(void)
{
    char *q;
    size_t n;
    overrun_pair(&q, &n);
    volatile char *before = q - 1; /* a store before free() is dead to gcc otherwise */
    *before = (char)(*before ^ 0x01);
    free(q);
    puts("survived the free");
    return 0;
}
