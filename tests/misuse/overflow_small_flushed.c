// expect-abort: ^umalloc: (exit\(\): heap overflow past the end of 0x[0-9a-f]+ \(size 24\)|check\(\): chunk header overwritten \(not one umalloc wrote\) at 0x[0-9a-f]+)$
// A small block overruns the header of the live block after it by one byte,
// is freed, and the thread cache is flushed, so the block waits in a
// central-cache batch when the program exits. free() reads only the block's
// own header (malloc.c, free_body) and a flush moves batches without
// reading them, so the check at exit, which walks the central caches'
// batches, names it (overflow_small_1_byte: the same block still in the
// thread cache). The debug build's heap check, right after the free, first.
#include "overrun_pair.h"

void umalloc_thread_flush(void) __attribute__((weak));

int main(void)
{
    if (!umalloc_thread_flush)
        t_skip("umalloc_thread_flush not available");
    char *q;
    size_t n;
    char *p = overrun_pair(&q, &n);
    volatile char *end = p + n; /* the low byte of q's size word */
    *end = (char)(*end ^ 0x80);
    free(p);
    umalloc_thread_flush(); /* p: a central batch */
    puts("survived the free and the flush");
    t_escape(q);
    return 0;
}
