// Seed (f): no page-fault storm.  2000 x { malloc(2 MiB); touch 6 pages;
// free }: with a fixed 128 KiB mmap threshold every iteration would map and
// unmap 2 MiB (6 faults each, ~12000); the dynamic threshold (raised when an
// mmapped block is freed) keeps the block on the heap, so faults stay low.
#include "../common.h"

int main(void)
{
    const size_t sz = 2 * T_MIB;
    const int iters = 2000;
    long f0 = t_minflt();
    for (int i = 0; i < iters; i++) {
        char *p = malloc(sz);
        CHECK(p != NULL);
        for (int k = 0; k < 6; k++)
            p[(sz / 6) * (size_t)k] = (char)k;
        t_escape(p);
        free(p);
    }
    long faults = t_minflt() - f0;
    struct mallinfo2 m = t_mallinfo2();
    printf("%d iterations: %ld minor faults; hblks %zu, arena %zu\n", iters, faults, m.hblks, m.arena);
    EXPECTF(faults < 2000, "%ld minor faults for %d x malloc(2 MiB)+touch 6 pages+free", faults, iters);
    return t_done();
}
