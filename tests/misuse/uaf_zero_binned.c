// expect-abort: ^umalloc: malloc\(\): corrupted bin link \(a write after free\?\) in 0x[0-9a-f]+$
// A write after free that zeroes the first words of a block freed into the
// bins (binned.h). Those words are the chunk's bin links, and the next
// malloc of its size takes it off its bin through them: it must name the
// corruption, not die of SIGSEGV at address 0 (what it did before, as glibc
// does).
#include "binned.h"

int main(void)
{
    volatile uint64_t *w = binned_block();
    w[0] = 0; /* fd */
    w[1] = 0; /* bk */
    void *b = malloc(BINNED_SIZE);
    printf("survived %p\n", b);
    return 0;
}
