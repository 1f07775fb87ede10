// A medium block freed at the top of the heap is cached unless the trim would
// then release something: top past M_TRIM_THRESHOLD is not enough, it must
// also leave a page above M_TOP_PAD, or the trim returns nothing. Before,
// a top between the two (where every trim leaves it with the default
// settings) sent each free of a malloc(4096)/free loop through the arena to
// merge into top and release nothing (examples/alloc_loops top 4096: 1,050
// instructions a round, now 171). Here M_TOP_PAD is 1 MiB and the threshold
// 64 KiB, so no free of the loop can trim: top's size (mallinfo2's
// keepcost) and the break stay put while the block comes back from the
// cache. The same holds for two
// blocks freed top-down (the one above is not handed back to the arena when
// no trim can follow). With no pad, a free releases pages at once, as the
// seeds show.
#include "../common.h"
#include <unistd.h>

enum { ROUNDS = 1000 };

static int loop_keeps_top(size_t size)
{
    void *volatile p = malloc(size); /* the first request of the size: exact */
    CHECK(p != NULL);
    free(p);
    p = malloc(size); /* the class's chunks from here on */
    CHECK(p != NULL);
    free(p);
    int moved = 0;
    for (int r = 0; r < ROUNDS; r++) {
        p = malloc(size);
        CHECK(p != NULL);
        ((volatile char *)p)[size - 1] = 1;
        size_t top = t_mallinfo2().keepcost;
        void *brk = sbrk(0);
        free(p);
        if (t_mallinfo2().keepcost != top || sbrk(0) != brk)
            moved++;
    }
    return moved;
}

/* a = malloc(size), b = malloc(size2), free(b), free(a): b borders top and
 * is cached; freeing a below it must not send b back to the arena (to be
 * carved again next round) when no trim can follow. */
static int nested_keeps_top(size_t size, size_t size2)
{
    for (int r = 0; r < 3; r++) { /* past each size's first, exact request */
        void *volatile a = malloc(size), *volatile b = malloc(size2);
        CHECK(a && b);
        free(b);
        free(a);
    }
    int moved = 0;
    size_t top = t_mallinfo2().keepcost;
    for (int r = 0; r < ROUNDS; r++) {
        void *volatile a = malloc(size);
        void *volatile b = malloc(size2);
        CHECK(a && b);
        size_t mid = t_mallinfo2().keepcost;
        free(b);
        free(a);
        if (mid != top || t_mallinfo2().keepcost != top)
            moved++;
    }
    return moved;
}

int main(void)
{
    CHECK(mallopt(M_TOP_PAD, 1 << 20) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 * 1024) == 1);
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    /* make top bigger than the threshold: a block past it, freed */
    void *volatile big = malloc(200 * 1024);
    CHECK(big != NULL);
    free(big);
    EXPECTF(t_mallinfo2().keepcost >= 64 * 1024, "top is %zu bytes, under the threshold",
            t_mallinfo2().keepcost);
    size_t sizes[] = {4096, 20000, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int moved = loop_keeps_top(sizes[k]);
        EXPECTF(moved == 0, "%zu-byte loop: top or the break moved on %d of %d frees", sizes[k],
                moved, ROUNDS);
    }

    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1); /* top + both blocks stay below it */
    int moved = nested_keeps_top(4096, 20000);
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 * 1024) == 1);
    EXPECTF(moved == 0, "4096 + 20000-byte nested loop: top changed on %d of %d rounds", moved,
            ROUNDS);

    /* no pad: a free at the top past the threshold trims at once */
    CHECK(mallopt(M_TOP_PAD, 0) == 1);
    void *volatile a = malloc(96 * 1024);
    CHECK(a != NULL);
    void *before = sbrk(0);
    free(a);
    EXPECTF((char *)sbrk(0) < (char *)before, "no pad: the break stayed at %p after the free",
            before);
    return t_done();
}
