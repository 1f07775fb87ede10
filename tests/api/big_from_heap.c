// variants: release debug
// A request past the dynamic mmap threshold, of 1 MiB or more, comes from
// the brk heap when top already holds at least half of it (src/large.c,
// um_big_from_heap): the break moves by the rest, and the pages top held
// (left there by the free of the last big block) are not faulted in again.
//  - a 6 MiB block freed (its pages go to top), then 10 MiB: served by the
//    heap, the break moves by about 4 MiB, writing it faults in under half
//    of its pages; a mapping would fault in all of them;
//  - freed, it goes back to top, and malloc_trim(0) lowers the break;
//  - with top emptied (malloc_trim), a big request is mapped again;
//  - a top holding less than half of the request: mapped;
//  - calloc is always mapped past the threshold (a heap block it would have
//    to clear in full) and reads as zeros;
//  - a threshold the program set (mallopt), a decay of 0 or -1, a request
//    under 1 MiB or past 32 MiB, a break that cannot move: mapped.
// Not here: memory pressure (it makes the decay 0, the case above) and a
// thread of another arena (tests/unit/big_from_heap_arena.c moves one).
#include <sys/mman.h>

#include "../common.h"
#include "../../include/umalloc.h"

/* malloc(n) after a heap block of `left` bytes was freed at the top of
 * the heap (its pages stay in top): is it mapped? Everything is freed and
 * trimmed after. */
static int mapped_after(size_t left, size_t n)
{
    malloc_trim(0);
    char *a = malloc(left);
    CHECK(a != NULL);
    CHECKF(t_mallinfo2().hblks == 0, "the %zu-byte block meant to fill top is mapped", left);
    t_touch_pages(a, left, 1);
    free(a);
    CHECKF(t_brk() >= (uintptr_t)a + left, "the free of %zu bytes did not stay in top", left);
    char *b = malloc(n);
    CHECK(b != NULL);
    int m = t_mallinfo2().hblks == 1;
    t_touch_pages(b, n, 2);
    free(b);
    malloc_trim(0);
    return m;
}

int main(void)
{
    const size_t page = 4096, six = 6 * T_MIB, ten = 10 * T_MIB;
    free(t_opaque(malloc(64))); /* the heap exists: top ends at the break */

    /* under 1 MiB: the threshold's rule alone (the seeds' 200 KiB C). A
     * 512 KiB block's free sets the threshold to 512 KiB, the trim
     * threshold to 1 MiB; 600 KiB of heap blocks (past the thread cache's
     * sizes) freed stay in top; a 768 KiB request is mapped all the same */
    char *s0 = malloc(512 * T_KIB);
    CHECK(s0 != NULL);
    free(s0);
    uintptr_t h0 = t_brk();
    char *hb[4];
    for (int i = 0; i < 4; i++)
        CHECK((hb[i] = malloc(150 * T_KIB)) != NULL && t_mallinfo2().hblks == 0);
    for (int i = 0; i < 4; i++)
        free(hb[i]);
    CHECKF(t_brk() >= h0 + 500 * T_KIB, "600 KiB freed at the top did not stay in top");
    char *s1 = malloc(768 * T_KIB);
    CHECK(s1 != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "768 KiB with 600 KiB in top: not mapped");
    free(s1);

    /* 6 MiB, mapped; its free raises the threshold and leaves its pages in
     * top (src/heap.c, um_heap_adopt) */
    char *p = malloc(six);
    CHECK(p != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "6 MiB: hblks %zu, not mapped", t_mallinfo2().hblks);
    t_touch_pages(p, six, 1);
    free(p);
    uintptr_t b0 = t_brk();

    /* 10 MiB: past the threshold (6 MiB), top holds 6: from the heap */
    long f0 = t_minflt();
    char *q = malloc(ten);
    CHECK(q != NULL);
    uintptr_t b1 = t_brk();
    EXPECTF(t_mallinfo2().hblks == 0, "10 MiB with 6 MiB in top: mapped");
    EXPECTF(b1 > b0 && b1 - b0 < ten / 2, "the break moved by %ld for 10 MiB with 6 in top",
            (long)(b1 - b0));
    t_touch_pages(q, ten, 2);
    long faults = t_minflt() - f0;
    EXPECTF(faults < (long)(ten / page / 2), "%ld page faults writing 10 MiB (%zu pages)", faults,
            ten / page);

    /* freed: back in top; malloc_trim gives it back through the break */
    free(q);
    EXPECTF(t_brk() == b1, "the free of the heap's 10 MiB block moved the break");
    malloc_trim(0);
    EXPECTF(t_brk() + ten / 2 < b1, "malloc_trim(0): break %#lx, was %#lx",
            (unsigned long)t_brk(), (unsigned long)b1);

    /* top empty: mapped (its free sets the threshold to 10 MiB) */
    char *r = malloc(ten);
    CHECK(r != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "10 MiB with top trimmed: not mapped");
    free(r);

    /* 12 MiB with 2 in top: mapped (threshold 12 MiB now); 14 with 8 in
     * top: from the heap */
    EXPECTF(mapped_after(2 * T_MIB, 12 * T_MIB), "12 MiB with 2 MiB in top: not mapped");
    EXPECTF(!mapped_after(8 * T_MIB, 14 * T_MIB), "14 MiB with 8 MiB in top: mapped");

    /* calloc: mapped and zero, with 10 MiB in top (threshold 13 MiB after) */
    char *z0 = malloc(ten);
    CHECK(z0 != NULL);
    memset(z0, 0x5a, ten);
    free(z0);
    char *z = calloc(1, 13 * T_MIB);
    CHECK(z != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "calloc(13 MiB) with 10 MiB in top: not mapped");
    size_t nonzero = 0;
    for (size_t i = 0; i < 13 * T_MIB; i += 512)
        nonzero += z[i] != 0;
    EXPECTF(nonzero == 0, "calloc(13 MiB): %zu sampled bytes not zero", nonzero);
    free(z);

    /* the decay at 0 or -1: free pages go back at once, or never */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 0) == 1);
    EXPECTF(mapped_after(12 * T_MIB, 16 * T_MIB), "decay 0: 16 MiB with 12 in top not mapped");
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, -1) == 1);
    EXPECTF(mapped_after(12 * T_MIB, 18 * T_MIB), "decay -1: 18 MiB with 12 in top not mapped");
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 1000) == 1);
    EXPECTF(!mapped_after(12 * T_MIB, 20 * T_MIB), "decay 1000: 20 MiB with 12 in top mapped");

    /* past 32 MiB (the dynamic threshold's reach): mapped, with 20 MiB in
     * top (a 12 MiB heap block freed, then a 20 MiB one from the heap) */
    malloc_trim(0);
    char *u0 = malloc(12 * T_MIB);
    CHECK(u0 != NULL && t_mallinfo2().hblks == 0);
    t_touch_pages(u0, 12 * T_MIB, 5);
    free(u0);
    char *u1 = malloc(20 * T_MIB);
    CHECK(u1 != NULL);
    EXPECTF(t_mallinfo2().hblks == 0, "20 MiB with 12 MiB in top: mapped");
    t_touch_pages(u1, 20 * T_MIB, 6);
    free(u1);
    char *u2 = malloc(36 * T_MIB);
    CHECK(u2 != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "36 MiB with 20 MiB in top: from the heap");
    free(u2);

    /* brk refuses to move (a mapping just past the break): mapped, not a
     * new mapped segment of the heap */
    malloc_trim(0);
    char *v0 = malloc(12 * T_MIB);
    CHECK(v0 != NULL && t_mallinfo2().hblks == 0);
    t_touch_pages(v0, 12 * T_MIB, 7);
    free(v0);
    void *wall = mmap((void *)((t_brk() + T_MIB) & ~(uintptr_t)(page - 1)), page, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(wall != MAP_FAILED);
    uintptr_t bw = t_brk();
    char *v1 = malloc(20 * T_MIB);
    CHECK(v1 != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "20 MiB with 12 in top and brk blocked: not mapped");
    EXPECTF(t_brk() == bw, "the break moved by %ld past a mapping", (long)(t_brk() - bw));
    free(v1);
    CHECK(munmap(wall, page) == 0);

    /* a threshold the program set says where mappings start */
    malloc_trim(0);
    char *t0 = malloc(12 * T_MIB);
    CHECK(t0 != NULL && t_mallinfo2().hblks == 0);
    t_touch_pages(t0, 12 * T_MIB, 4);
    free(t0);
    CHECK(mallopt(M_MMAP_THRESHOLD, 8 * T_MIB) == 1);
    char *t1 = malloc(14 * T_MIB);
    CHECK(t1 != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "M_MMAP_THRESHOLD set: 14 MiB with 12 in top not mapped");
    free(t1);
    return t_done();
}
