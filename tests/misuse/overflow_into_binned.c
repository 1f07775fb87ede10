// expect-abort: ^umalloc: ((purge|malloc)\(\): (corrupted free chunk header|invalid size \(unsorted\)) at|check\(\): chunk header overwritten \(not one umalloc wrote\) at) 0x[0-9a-f]+$
// A small block overruns, by one byte, the header of the free chunk above
// it: a 20000-byte block freed into the bins (thread cache flushed, central
// cache drained by malloc_trim(0)) between two live blocks. The small
// block's own free would not notice (free reads only the block's header),
// so the purge, which turns a free chunk's size into madvise ranges, must
// not believe that size: umalloc_purge() sorts the unsorted bin and sweeps
// the bins, and each tests the header first. Before, neither did: the
// sweep tagged a chunk whose header decoded to a huge size with that size,
// and by the code a later visit would turn it into madvise ranges (not
// staged: the build before this check aborts here with "malloc():
// corrupted chunk header", a check on another path this staging reaches).
#include "../common.h"

void umalloc_thread_flush(void) __attribute__((weak));
int umalloc_purge(void) __attribute__((weak));

int main(void)
{
    if (!umalloc_thread_flush || !umalloc_purge)
        t_skip("umalloc_thread_flush/umalloc_purge not available");
    /* first requests of their sizes: each cut from top alone, side by side */
    char *a = malloc(200), *b = malloc(20000), *g = malloc(200);
    if (!a || !b || !g)
        return 2;
    size_t ua = malloc_usable_size(a), ub = malloc_usable_size(b);
    if (b != a + ua + 8 || g != b + ub + 8) {
        puts("the three blocks are not side by side; cannot stage the overflow");
        return 3;
    }
    free(b);
    umalloc_thread_flush(); /* b: a central batch */
    malloc_trim(0);         /* drained into the bins; a and g are live */
    volatile char *end = a + ua; /* the low byte of b's size word */
    *end = (char)(*end ^ 0x80);
    umalloc_purge();
    puts("survived");
    t_escape(g);
    return 0;
}
