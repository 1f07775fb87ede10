// expect-abort: ^umalloc: (exit\(\): heap overflow past the end of 0x[0-9a-f]+ \(size 24\)|check\(\): chunk header overwritten \(not one umalloc wrote\) at 0x[0-9a-f]+)$
// One byte written just past malloc_usable_size() of a small block (the low
// byte of the next chunk's size word), then free() and exit
// (hardened_malloc's overflow_small_1_byte, with a live block after the
// overrun one: overflow_small_8_byte is the case where top follows).
// free() reads only the block's own header (malloc.c, free_body), so the
// block reaches the thread cache; the check at exit walks the cache and
// finds the next header it overran (the debug build's heap check, right
// after the free, first).
#include "overrun_pair.h"

int main(void)
{
    char *q;
    size_t n;
    char *p = overrun_pair(&q, &n);
    overrun_one_byte(p, n);
    free(p);
    puts("survived the free");
    return 0;
}
