// With mmap turned off (M_MMAP_MAX = 0, half of the seeds' fix for the page
// fault storm), a block above the mmap threshold lives in the heap, and
// realloc must grow it in place into top or a free neighbour, as glibc
// does. umalloc tried in place only below the threshold, so every growth of
// such a block copied it to a new chunk and freed the old one (and the trim
// gave the break back, to take it again on the next call): bench/realloc's
// string builder, grown 1-64 bytes at a time to 4 MiB, ran more than a
// minute against glibc's 0.7 s (11,000 brk calls in 5 s).
#include "../common.h"

#include <malloc.h>

int main(void)
{
    CHECK(mallopt(M_MMAP_MAX, 0) == 1);
    size_t n = 200 << 10;
    char *p = malloc(n);
    CHECK(p != NULL);
    memset(p, 7, n);
    char *first = p;
    int moves = 0;
    /* 200 KiB -> 8 MiB in 4 KiB steps: nothing else is allocated, so the
     * block borders top all the way and never has to move */
    while (n < (8u << 20)) {
        size_t m = n + 4096;
        char *q = realloc(p, m);
        CHECK(q != NULL);
        if (q != p)
            moves++;
        CHECK(q[0] == 7 && q[n - 1] == 7);
        memset(q + n, 7, m - n);
        p = q;
        n = m;
    }
    printf("grown to %zu bytes, moved %d times%s\n", n, moves, p == first ? " (in place)" : "");
    EXPECTF(moves == 0, "a heap block bordering top moved %d times while growing", moves);
    free(p);
    return t_done();
}
