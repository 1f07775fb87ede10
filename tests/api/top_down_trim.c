// Blocks freed from the top of the heap down (the seeds' reverse order, a
// stack of buffers unwound) give the heap back: each free hands the chunk
// above it, cached a moment before, to the arena, so top grows and the trim
// follows. 1000 blocks of 3000-7000 bytes (4.9 MiB of heap), freed last to
// first, leave the break within M_TOP_PAD and a few pages of where it
// started, round after round, with no malloc_trim; so do 1000 blocks of one
// size, 6000 or 40000 bytes (6000: when medium slots were first capped at
// ~8 KiB, that class held one chunk, and such blocks left 6 MiB of heap in
// the central cache until the decay). (A change that kept the
// chunk above cached whenever top and the blocks above could not yet reach
// the trim threshold left all 4.9 MiB in place.) The threshold is set to
// glibc's default with mallopt, which pins it: with the default settings,
// a heap that grows back right after its trim raises the threshold
// (src/trim.c; tests/api/trim_storm), and from the second round on the
// blocks would stay for the decay purge instead.
#include "../common.h"
#include <unistd.h>

enum { N = 1000 };

int main(void)
{
    static void *a[N];
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    char *start = sbrk(0);
    for (int r = 0; r < 5; r++) {
        for (int k = 0; k < N; k++) {
            /* rounds 3 and 4: one size, 6000 and 40000 bytes (a slot must
             * hold the chunk above and the one freed, or the one above
             * waits in the central cache for the decay; a 40000-byte chunk
             * at the top trims by itself) */
            size_t n = r < 3 ? 3000 + (size_t)(k % 5) * 1000 : r == 3 ? 6000 : 40000;
            a[k] = malloc(n);
            CHECK(a[k] != NULL);
            ((volatile char *)a[k])[0] = (char)k;
        }
        char *peak = sbrk(0);
        for (int k = N - 1; k >= 0; k--)
            free(a[k]);
        char *end = sbrk(0);
        EXPECTF(peak - start > 4 * 1024 * 1024, "round %d: the heap grew only %ld KiB", r,
                (long)(peak - start) / 1024);
        EXPECTF(end - start < 512 * 1024, "round %d: %ld KiB of heap left after the blocks were "
                "freed top-down (peak %ld KiB)", r, (long)(end - start) / 1024,
                (long)(peak - start) / 1024);
    }
    return t_done();
}
