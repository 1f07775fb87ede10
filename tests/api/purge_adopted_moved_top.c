// variants: release debug
// Pages a freed mapped block gave the brk heap's top (um_heap_adopt) go
// back at malloc_trim also after top moved to another segment. A review
// suspected they stayed resident; they do not: the old top is fenced off
// and freed into the bins (um_heap_close_top) with a fresh purge tag, and
// every free chunk in any segment is swept. This keeps it so:
//  - a 6 MiB mapped block, written and freed: its pages move to top;
//  - half of top taken and written (a part of top in use, a part free);
//  - brk blocked by a mapping at the break, then a 20 MiB request from the
//    heap: top moves to a mapped segment;
//  - everything freed, malloc_trim(0): the brk segment keeps a few pages.
#include "../common.h"
#include "../purge_util.h"

int main(void)
{
    p_need_umalloc();
    const size_t mib = T_MIB;
    void *keep = malloc(100);
    CHECK(keep != NULL);
    free(t_opaque(malloc(5000))); /* the brk heap exists, top ends at the break */
    uintptr_t lo = (uintptr_t)keep & ~(uintptr_t)4095, b0 = t_brk();
    char *m = malloc(6 * mib);
    CHECK(m != NULL && t_mallinfo2().hblks == 1);
    t_touch_pages(m, 6 * mib, 1);
    free(m);
    size_t adopted = p_resident((void *)b0, t_brk() - b0);
    if (t_brk() - b0 < 5 * mib || adopted < 1200)
        t_skip("the freed block's pages did not move to the heap");
    char *half = malloc(3 * mib);
    CHECK(half != NULL);
    t_touch_pages(half, 3 * mib, 2);
    CHECK(mallopt(M_MMAP_THRESHOLD, 32 * mib) == 1); /* the next request from the heap */
    CHECK(mallopt(M_TRIM_THRESHOLD, 512 * mib) == 1);
    uintptr_t end = (t_brk() + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, mib, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    char *x = malloc(20 * mib);
    CHECK(x != NULL);
    CHECKF((uintptr_t)x < lo || (uintptr_t)x >= end, "the 20 MiB block %p is in the brk segment", (void *)x);
    t_touch_pages(x, 20 * mib, 3);
    size_t before = p_resident((void *)lo, t_brk() - lo);
    free(x);
    free(half);
    malloc_trim(0);
    size_t after = p_resident((void *)lo, t_brk() - lo);
    printf("brk segment: %zu pages resident after the adopt, %zu before the trim, %zu after\n", adopted,
           before, after);
    EXPECTF(after < 64, "%zu pages of the brk segment resident after malloc_trim(0)", after);
    free(keep);
    munmap(blk, mib);
    return t_done();
}
