// Aligned requests that fit the thread cache take the chunk on top of their
// class's stack when it is aligned: a loop of aligned_alloc/free gets the
// same block back each time (before, each call split a larger chunk in the
// arena: alloc_loops aligned 32 64, 893 instructions a round, glibc 574). The
// cache must never hand out a block that is not aligned: stacks full of
// 16-byte-aligned chunks of the same class come first. An aligned small
// block has exactly malloc's chunk size for its request (a 1-byte request's
// came back as a 48-byte chunk and was cached on another stack: its loop
// never got its block back, depending on where the heap started). Medium
// aligned blocks have their class's size, so they are cached too.
#include "../common.h"

static void fill_stack(size_t size, int n)
{
    void *p[64];
    for (int k = 0; k < n; k++)
        CHECK((p[k] = malloc(size)) != NULL);
    for (int k = n - 1; k >= 0; k--)
        free(p[k]);
}

int main(void)
{
    static const size_t aligns[] = {32, 64, 128, 256, 4096};
    static const size_t sizes[] = {1, 24, 64, 100, 1000, 3000, 4096, 40000};
    int repeats = 0, loops = 0;
    for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            size_t al = aligns[a], sz = sizes[s];
            fill_stack(sz, 40); /* the class's stack: mostly misaligned blocks */
            void *first = NULL;
            int same = 0;
            for (int r = 0; r < 50; r++) {
                void *volatile p = aligned_alloc(al, sz);
                CHECK(p != NULL);
                EXPECTF(((uintptr_t)p & (al - 1)) == 0, "aligned_alloc(%zu, %zu) = %p", al, sz,
                        (void *)p);
                EXPECTF(malloc_usable_size(p) >= sz, "usable %zu < %zu", malloc_usable_size(p),
                        sz);
                if (sz <= 1032) { /* malloc's chunk for sz exactly, or it is cached elsewhere */
                    size_t want = ((sz + 8 + 15) & ~(size_t)15) - 8;
                    want = want < 24 ? 24 : want;
                    EXPECTF(malloc_usable_size(p) == want,
                            "aligned_alloc(%zu, %zu): usable %zu, not %zu", al, sz,
                            malloc_usable_size(p), want);
                }
                t_fill(p, sz, p, (uint64_t)r);
                EXPECT(t_check(p, sz, p, (uint64_t)r) == (size_t)-1);
                if (r == 1)
                    first = p;
                else if (r > 1 && p == first)
                    same++;
                free(p);
            }
            loops++;
            if (same == 48)
                repeats++;
            void *m = NULL;
            CHECK(posix_memalign(&m, al, sz) == 0);
            EXPECTF(((uintptr_t)m & (al - 1)) == 0, "posix_memalign(%zu, %zu) = %p", al, sz, m);
            free(m);
            void *volatile v = memalign(al, sz);
            CHECK(v != NULL);
            EXPECTF(((uintptr_t)v & (al - 1)) == 0, "memalign(%zu, %zu) = %p", al, sz, (void *)v);
            free(v);
        }
    }
    /* every (alignment, size) loop returns one block after its first round */
    EXPECTF(repeats == loops, "%d of %d aligned_alloc/free loops got the same block back each round",
            repeats, loops);
    return t_done();
}
