// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
// A small block freed, merged into top (the thread cache flushed, the
// central cache drained and the heap trimmed by malloc_trim(0)), then freed
// again while top is smaller than the largest small class: the stale header
// at the pointer is top's, which decodes to a small chunk whose "next
// header" lies past the end of the heap. Before, free()'s generic path read
// it and the process died of SIGSEGV with no message; now top's F bit
// (chunk.h) sends the pointer on to the checks that name it.
#include "../common.h"
#include <stdint.h>

void umalloc_thread_flush(void) __attribute__((weak));

int main(void)
{
    if (!umalloc_thread_flush)
        t_skip("umalloc_thread_flush not available");
    static void *spacer[4096];
    char *p = NULL;
    /* a block whose chunk starts 200..900 bytes below a page boundary: after
     * the trim, top starts there and ends at that boundary, the break */
    for (size_t k = 0; k < 4096 && !p; k++) {
        char *q = malloc(200);
        if (!q)
            return 2;
        uintptr_t left = 4096 - (((uintptr_t)q - 16) & 4095);
        if (left >= 200 && left <= 900)
            p = q;
        else
            spacer[k] = q;
    }
    if (!p)
        return 2;
    void *volatile again = p;
    free(p);
    umalloc_thread_flush(); /* p and the chunks carved after it: central */
    malloc_trim(0);         /* drained into the bins, merged into top, trimmed */
    free(again);
    puts("survived");
    for (size_t k = 0; k < 4096; k++)
        free(spacer[k]);
    return 0;
}
