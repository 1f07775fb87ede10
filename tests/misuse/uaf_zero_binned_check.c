// expect-abort: ^umalloc: check\(\): bin link points outside the heap \(a write after free\?\) in 0x[0-9a-f]+$
// umalloc_check() after a write after free zeroed a binned block's links
// (binned.h): the heap check reports it; before, it followed the NULL link
// itself and died of SIGSEGV.
#include "binned.h"
#include "../include/umalloc.h"
#pragma weak umalloc_check

int main(void)
{
    volatile uint64_t *w = binned_block();
    w[0] = 0;
    w[1] = 0;
    void (*volatile check)(void) = umalloc_check;
    if (!check)
        return 2;
    check();
    puts("survived");
    return 0;
}
