// variants: release debug
// A mapped block of 1 MiB or more whose free raises the dynamic mmap
// threshold hands its pages to the brk heap (src/heap.c, um_heap_adopt)
// instead of unmapping them, so the next block of that size, now served
// from the heap, does not fault its pages in again:
//  - the free moves the break by what top lacked (the mapping's pages now
//    sit at the end of the heap), and the next malloc of the size comes from
//    the heap without moving the break;
//  - writing every page of that block takes next to no page faults (before:
//    one per page, as glibc);
//  - the heap's free space adds up (mallinfo2: arena grew by the moved part,
//    hblks back to 0) and malloc_trim(0) moves the break back down across
//    the moved pages, giving them back;
//  - an aligned block's own pages move, not the gap before its chunk;
//  - pages the program left read-only, MADV_DONTFORK or MADV_WIPEONFORK in
//    its block lose those attributes on the way: the next block is
//    writable, and a child of fork sees its contents;
//  - a block under 1 MiB is unmapped at once (the seeds' A/B/C/D story), so
//    is one realloc moved, and nothing is moved with the decay at 0 or -1.
#include <sys/mman.h>
#include <sys/wait.h>

#include "../common.h"
#include "../../include/umalloc.h"

/* With the decay set to decay, a mapped block of n bytes freed leaves the
 * break where it was. */
static void stays_out(int decay, size_t n)
{
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, decay) == 1);
    char *u = malloc(n);
    CHECK(u != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "decay %d, %zu bytes: hblks %zu, not mapped", decay, n,
            t_mallinfo2().hblks);
    t_touch_pages(u, n, 8);
    uintptr_t b0 = t_brk();
    free(u);
    EXPECTF(t_brk() == b0, "decay %d: the free moved the break by %ld", decay,
            (long)(t_brk() - b0));
}

int main(void)
{
    const size_t big = 6 * T_MIB, mid = 10 * T_MIB, page = 4096;
    free(t_opaque(malloc(64))); /* the heap exists: top ends at the break */

    /* under 1 MiB: unmapped at once, the break stays */
    char *s = malloc(512 * T_KIB);
    CHECK(s != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "512 KiB: hblks %zu, not mapped", t_mallinfo2().hblks);
    t_touch_pages(s, 512 * T_KIB, 1);
    uintptr_t b0 = t_brk();
    free(s);
    EXPECTF(t_brk() == b0, "the free of a 512 KiB mapping moved the break by %ld",
            (long)(t_brk() - b0));

    /* 6 MiB, mapped (above the threshold 512 KiB just set) */
    char *p = malloc(big);
    CHECK(p != NULL);
    struct mallinfo2 m0 = t_mallinfo2();
    EXPECTF(m0.hblks == 1, "6 MiB: hblks %zu, not mapped", m0.hblks);
    t_touch_pages(p, big, 2);
    b0 = t_brk();
    free(p);
    uintptr_t b1 = t_brk();
    struct mallinfo2 m1 = t_mallinfo2();
    EXPECTF(b1 > b0 && b1 - b0 <= big + page, "the break moved by %ld at the free",
            (long)(b1 - b0));
    EXPECTF(m1.hblks == 0 && m1.arena >= m0.arena + (b1 - b0),
            "after the free: hblks %zu, arena %zu -> %zu (break +%lu)", m1.hblks, m0.arena,
            m1.arena, (unsigned long)(b1 - b0));

    long f0 = t_minflt();
    char *q = malloc(big);
    CHECK(q != NULL);
    t_touch_pages(q, big, 3);
    long faults = t_minflt() - f0;
    EXPECTF(t_mallinfo2().hblks == 0, "the second 6 MiB block is mapped");
    EXPECTF(t_brk() == b1, "the second block moved the break by %ld", (long)(t_brk() - b1));
    EXPECTF(faults < (long)(big / page / 8), "%ld page faults writing 6 MiB (%zu pages)", faults,
            big / page);
    free(q);

    /* the program leaves a read-only page, a DONTFORK range and a
     * WIPEONFORK range in a block it frees: none of it reaches the heap */
    malloc_trim(0);
    char *g = malloc(mid);
    CHECK(g != NULL);
    EXPECTF(t_mallinfo2().hblks == 1, "a 10 MiB block is not mapped");
    t_touch_pages(g, mid, 5);
    char *pg = (char *)(((uintptr_t)g + 2 * page) & ~(uintptr_t)(page - 1));
    CHECK(mprotect(pg, page, PROT_READ) == 0);
    CHECK(madvise(pg + 4 * page, 4 * page, MADV_DONTFORK) == 0);
#ifdef MADV_WIPEONFORK
    CHECK(madvise(pg + 16 * page, 4 * page, MADV_WIPEONFORK) == 0);
#endif
    b0 = t_brk();
    free(g);
    EXPECTF(t_brk() > b0, "the block with a read-only page did not go to the heap");
    char *h = malloc(mid);
    CHECK(h != NULL);
    t_touch_pages(h, mid, 6); /* a read-only page left over would end it here */
    pid_t kid = fork();
    CHECK(kid >= 0);
    if (kid == 0) {
        size_t bad = 0;
        for (size_t i = 0; i < mid; i += page)
            bad += h[i] != 6;
        _exit(bad ? 1 : 0);
    }
    int st = 0;
    CHECK(waitpid(kid, &st, 0) == kid);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the child of fork saw the block wrong (status %#x)", st);
    free(h);

    /* malloc_trim gives the moved pages back through the break */
    size_t rss0 = t_rss();
    malloc_trim(0);
    EXPECTF(t_brk() < b1 - big / 2, "malloc_trim(0): break %#lx, was %#lx",
            (unsigned long)t_brk(), (unsigned long)b1);
    EXPECTF(t_rss() + big / 2 < rss0, "malloc_trim(0): RSS %zu KiB, was %zu KiB", t_rss() >> 10,
            rss0 >> 10);

    /* an aligned mapped block (its chunk lies past the mapping's start):
     * its own pages are the ones that move */
    char *al = memalign(8 * T_MIB, 14 * T_MIB);
    CHECK(al != NULL && ((uintptr_t)al & (8 * T_MIB - 1)) == 0);
    EXPECTF(t_mallinfo2().hblks == 1, "the aligned 14 MiB block is not mapped");
    t_touch_pages(al, 14 * T_MIB, 9);
    b0 = t_brk();
    free(al);
    EXPECTF(t_brk() > b0, "the aligned block's free did not move the break");
    f0 = t_minflt();
    char *al2 = malloc(13 * T_MIB);
    CHECK(al2 != NULL);
    t_touch_pages(al2, 13 * T_MIB, 10);
    faults = t_minflt() - f0;
    EXPECTF(faults < (long)(13 * T_MIB / page / 8), "%ld page faults writing 13 MiB", faults);
    free(al2);
    malloc_trim(0);

    /* a mapped block realloc moves is unmapped, not moved into the heap */
    char *v = malloc(2 * big);
    CHECK(v != NULL);
    t_touch_pages(v, 2 * big, 7);
    b0 = t_brk();
    v = realloc(v, 30 * T_KIB);
    CHECK(v != NULL);
    EXPECTF(t_brk() - b0 < T_MIB, "realloc to 30 KiB moved the break by %ld",
            (long)(t_brk() - b0));
    free(v);

    /* decay -1 (free pages never go back by themselves) and decay 0 (they
     * go back at once): bigger blocks each time (still under the 32 MiB
     * cap), so each is mapped, and unmapped at its free */
    malloc_trim(0);
    stays_out(-1, 4 * big);
    stays_out(0, 5 * big);
    return t_done();
}
