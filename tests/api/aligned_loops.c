// variants: release debug
// Aligned requests that hold several blocks at a time: K blocks of
// aligned_alloc(ALIGN, SIZE), then their frees, round after round. From the
// third round on, every block must be one the program freed in the round
// before (the thread cache keeps them: the slot is set up by the aligned
// requests that missed it, um_tcache_aligned_miss), and the heap must not
// grow. Before, a slot used only by aligned requests was never refilled, so
// its frees went on to the central cache, and each request split a fresh
// chunk in the arena (16 blocks of aligned_alloc(64, 256): 897 instructions
// a pair under cachegrind, now 113). Also: an aligned block below a few
// plain blocks of the same size on the class's stack is still found
// (tc_pop_aligned looks TC_ALIGN_SCAN entries deep), and every block is
// aligned and keeps its contents.
#include "../common.h"

#include <malloc.h>

#define KMAX 32
#define TC_ALIGN_SCAN_DEPTH 8 /* src/tcache.h, TC_ALIGN_SCAN */

static int in_set(void *const *set, int n, const void *p)
{
    for (int j = 0; j < n; j++)
        if (set[j] == p)
            return 1;
    return 0;
}

/* Rounds of k aligned blocks; returns the rounds (from the third) in which
 * a block was not one freed in the round before. */
static int rounds(size_t al, size_t sz, int k, size_t *grew)
{
    void *prev[KMAX] = {0}, *cur[KMAX];
    int misses = 0;
    size_t arena_before = 0;
    for (int r = 0; r < 40; r++) {
        if (r == 2)
            arena_before = mallinfo2().arena;
        for (int j = 0; j < k; j++) {
            void *volatile p = aligned_alloc(al, sz);
            CHECK(p != NULL);
            EXPECTF(((uintptr_t)p & (al - 1)) == 0, "aligned_alloc(%zu, %zu) = %p", al, sz, (void *)p);
            t_fill(p, sz, p, (uint64_t)r);
            cur[j] = p;
        }
        int missed = 0;
        for (int j = 0; j < k; j++) {
            EXPECT(t_check(cur[j], sz, cur[j], (uint64_t)r) == (size_t)-1);
            if (r >= 2 && !in_set(prev, k, cur[j]))
                missed = 1;
        }
        misses += missed;
        for (int j = k - 1; j >= 0; j--) {
            prev[j] = cur[j];
            free(cur[j]);
        }
    }
    *grew = mallinfo2().arena - arena_before;
    return misses;
}

int main(void)
{
    /* (alignment, size, blocks at a time): small classes hold 16 KiB of
     * chunks a slot (64 KiB up to 64-byte chunks), medium ones two chunks
     * at least */
    static const struct { size_t al, sz; int k; } cases[] = {
        {64, 256, 16}, {64, 256, 32}, {32, 48, 16}, {128, 1000, 8}, {256, 24, 12}, {4096, 4096, 2}, {1024, 2000, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t grew;
        int m = rounds(cases[c].al, cases[c].sz, cases[c].k, &grew);
        printf("aligned_alloc(%zu, %zu) x %d: %d of 38 rounds took a block not freed the round before, heap grew %zu\n",
               cases[c].al, cases[c].sz, cases[c].k, m, grew);
        EXPECTF(m == 0, "aligned_alloc(%zu, %zu) x %d: %d rounds missed the cache", cases[c].al, cases[c].sz,
                cases[c].k, m);
        EXPECTF(grew == 0, "aligned_alloc(%zu, %zu) x %d: the heap grew by %zu", cases[c].al, cases[c].sz,
                cases[c].k, grew);
    }

    /* an aligned block freed, then plain blocks of its size above it on the
     * stack: the next aligned request still gets it. The class's stack is
     * given room first (40 blocks out and back), so nothing is flushed. */
    void *warm[40];
    for (int j = 0; j < 40; j++)
        CHECK((warm[j] = malloc(200)) != NULL);
    for (int j = 39; j >= 0; j--)
        free(warm[j]);
    void *a = aligned_alloc(64, 200);
    CHECK(a != NULL);
    void *plain[8];
    for (int j = 0; j < 8; j++)
        CHECK((plain[j] = malloc(200)) != NULL);
    /* the 64-aligned plain blocks go below a, the misaligned ones above it
     * (a stays within TC_ALIGN_SCAN of the top while they are at most 7) */
    for (int j = 0; j < 8; j++)
        if (((uintptr_t)plain[j] & 63) == 0)
            free(plain[j]);
    free(a);
    int above = 0; /* (six: 208-byte chunks side by side cycle through the four offsets) */
    for (int j = 0; j < 8; j++)
        if (((uintptr_t)plain[j] & 63) != 0) {
            free(plain[j]);
            above++;
        }
    void *b = aligned_alloc(64, 200);
    CHECK(b != NULL);
    printf("aligned request with %d misaligned blocks above an aligned one: %s\n", above,
           b == a ? "got it" : "missed it");
    if (above >= 1 && above < TC_ALIGN_SCAN_DEPTH)
        EXPECTF(b == a, "the aligned block %p below %d misaligned ones was not found (got %p)", a, above, b);
    free(b);
    return t_done();
}
