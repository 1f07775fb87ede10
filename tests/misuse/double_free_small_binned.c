// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+ \(size 200\)$
// A small block freed, handed back to the arena's bins between two live
// neighbours (the thread cache flushed, the central cache drained by
// malloc_trim(0)), then freed again while its cache stack has room. The
// bins' links now fill its first words, so no cache key is there; free()
// reads only the block's own header (malloc.c, free_body), and that header's
// F bit (chunk.h) is what says the chunk is free. Were it not tested, the
// block would go on the stack while it sits in a bin, and two mallocs would
// get it.
#include "../common.h"

void umalloc_thread_flush(void) __attribute__((weak));

int main(void)
{
    if (!umalloc_thread_flush)
        t_skip("umalloc_thread_flush not available");
    char *below = NULL, *p = NULL, *above = NULL;
    /* three chunks of 208 bytes side by side (blocks of a run lie in
     * address order) */
    for (int tries = 0; tries < 1000 && !p; tries++) {
        char *x = malloc(200), *y = malloc(200), *z = malloc(200);
        if (!x || !y || !z)
            return 2;
        if (y == x + 208 && z == y + 208) {
            below = x;
            p = y;
            above = z;
        }
        /* else leak the three and try again */
    }
    if (!p) {
        puts("could not get three adjacent 200-byte blocks; cannot stage the double free");
        return 3;
    }
    /* a live block above keeps the heap's end (which malloc_trim(0) would
     * bring down to above's) away: in free()'s fast-path range, the box,
     * which stops short of the heap's last kilobyte (internal.h) */
    char *keep = malloc(8192);
    if (!keep)
        return 2;
    memset(p, 'x', 200);
    void *volatile again = p; /* hides the second free from the compiler */
    free(p);
    umalloc_thread_flush(); /* p: a central batch */
    malloc_trim(0);         /* drained into the bins; below and above are live */
    free(again);
    puts("survived");
    t_escape(below);
    t_escape(above);
    t_escape(keep);
    return 0;
}
