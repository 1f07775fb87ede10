// Blocks freed from the top of the heap down (the seeds' reverse order, a
// stack of buffers unwound) give the heap back: each free hands the chunk
// above it, cached a moment before, to the arena, so top grows and the trim
// follows. 1000 blocks of 3000-7000 bytes (4.9 MiB of heap), freed last to
// first, leave the break within M_TOP_PAD and a few pages of where it
// started, round after round, with no malloc_trim. (A change that kept the
// chunk above cached whenever top and the blocks above could not yet reach
// the trim threshold left all 4.9 MiB in place.)
#include "../common.h"
#include <unistd.h>

enum { N = 1000 };

int main(void)
{
    static void *a[N];
    char *start = sbrk(0);
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < N; k++) {
            a[k] = malloc(3000 + (size_t)(k % 5) * 1000);
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
