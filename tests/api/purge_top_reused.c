// variants: release debug
// Top's purged pages, taken by a malloc and freed again, are purged again.
// Top keeps one interval of pages known purged, anchored at its end, so a
// page is not madvised twice. A malloc that takes the start of top faults
// those pages back in; when the block comes back into top, they must not
// still count as purged. With brk blocked (the main arena then lives in a
// mapped segment, which the purge cannot shrink, so it madvises top) the
// second umalloc_purge() left the reused block's pages resident: 7 MiB of
// them in this test.
#include "../common.h"
#include "../purge_util.h"

enum { MIB = 1 << 20 };

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_MMAP_THRESHOLD, 32 * MIB) == 1); /* the blocks come from the heap */
    CHECK(mallopt(M_TRIM_THRESHOLD, 512 * MIB) == 1); /* no trim on free: the purge's job */
    CHECK(mallopt(M_TOP_PAD, 0) == 1);
    void *keep = malloc(100); /* the brk segment exists */
    CHECK(keep != NULL);
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");

    /* a mapped segment of the main arena with an 8 MiB top, purged */
    char *a = malloc(8 * MIB);
    CHECK(a != NULL);
    memset(a, 1, 8 * MIB);
    free(a);
    umalloc_purge();
    size_t first = p_resident(a, 8 * MIB);
    printf("after the first purge: %zu of 2048 pages of top resident\n", first);
    CHECKF(first < 64, "the first purge left %zu pages resident", first);

    /* the start of top taken again, written and freed: top as before */
    char *b = malloc(7 * MIB);
    CHECK(b != NULL);
    CHECKF(b >= a && b < a + MIB, "the 7 MiB block at %p, not near top's start %p", (void *)b, (void *)a);
    memset(b, 2, 7 * MIB);
    size_t used = p_resident(b, 7 * MIB);
    CHECKF(used >= 1700, "only %zu pages of the written block resident", used);
    free(b);
    umalloc_purge();
    size_t second = p_resident(a, 8 * MIB);
    printf("after the second purge: %zu of 2048 pages of top resident\n", second);
    EXPECTF(second < 64, "the second purge left %zu pages of top resident", second);

    free(keep);
    munmap(blk, MIB);
    return t_done();
}
