/* A large request goes straight to top (arena.c, top_only) only when no
 * fast, unsorted or binned chunk could serve it; each of those, and a stale
 * binmap bit, must still send it through the seeds' walk, which then picks
 * what it always picked. On a private arena, with exact addresses. */
#include <malloc.h>
#include <string.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"
#include "unit_arena.h"

static arena *av;

/* Separators come from top: larger than any free chunk the test leaves in
 * a bin, so nothing is split for them */
#define SEP 16000

static chunk *alloc(size_t bytes)
{
    void *m = um_int_malloc(av, request2size(bytes));
    U_CHECK(m != NULL, "um_int_malloc(%zu)", bytes);
    if (!m)
        exit(1);
    memset(m, 0x5a, chunksize(mem_to_chunk(m)) - SIZE_SZ);
    return mem_to_chunk(m);
}

static void release(chunk *p) { um_int_free(av, p, chunksize(p), "free"); }

static int bit_set(unsigned i) { return (av->binmap[idx2block(i)] & idx2bit(i)) != 0; }

int main(void)
{
    unit_init_library(); /* initialise the library */
    /* top keeps the 4 MiB the private arena grows it to: no request below
     * needs more, so a request that skips the walk does come from top */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    av = private_arena(98);
    um_lock_acquire(&av->lock);
    size_t big = 100000; /* a large-bin request, past every cached size too */
    U_CHECK(chunksize(av->top) >= ((size_t)4 << 20), "top kept: %zu", chunksize(av->top));

    /* nothing free but top: the request is the start of top, top shrinks by it */
    chunk *top = av->top;
    size_t tsize = chunksize(top);
    chunk *a = alloc(big);
    U_CHECK(a == top, "from the start of top");
    U_CHECK(av->top == next_chunk(a) && chunksize(av->top) == tsize - chunksize(a),
            "top shrank by the chunk: %zu", chunksize(av->top));
    chunk *sep = alloc(SEP); /* keeps a from merging into top */

    /* a stale bit (a bin empty, its bit still set, as unlink_chunk leaves
     * it), in nb's own bin or one above, sends the request through the
     * walk, which clears the bit (large_best_fit, binmap_search) and then
     * cuts top as before */
    unsigned own = largebin_index(request2size(big));
    chunk *h = NULL;
    for (unsigned si = own; si <= own + 3; si += 3) {
        U_CHECK(bin_at(av, si)->fd == bin_at(av, si), "bin %u empty", si);
        av->binmap[idx2block(si)] |= idx2bit(si);
        top = av->top;
        h = alloc(big);
        U_CHECK(h == top, "still from top");
        U_CHECK(!bit_set(si), "the walk ran and cleared the stale bit of bin %u", si);
    }
    /* with the bit gone, the next one is cut from top directly, just above */
    chunk *h2 = alloc(big);
    U_CHECK(h2 == next_chunk(h), "from top again");

    /* a chunk in nb's own bin, larger than nb: large_best_fit's, not top's */
    chunk *f = alloc(big + 8000), *sep3 = alloc(SEP);
    U_CHECK(largebin_index(chunksize(f)) == largebin_index(request2size(big)), "same bin");
    release(f);
    chunk *far = alloc(4 * big); /* sorts f into its bin; served by top */
    U_CHECK(bin_at(av, 1)->fd == bin_at(av, 1), "unsorted bin empty");
    U_CHECK(next_chunk(far) == av->top && (uintptr_t)far > (uintptr_t)sep3, "far from top");
    chunk *g = alloc(big);
    U_CHECK(g == f, "best fit in its own bin: %p, not %p", (void *)g, (void *)f);

    /* a in the unsorted bin: the same request takes it back, not top */
    release(a);
    U_CHECK(bin_at(av, 1)->fd == a, "a in the unsorted bin");
    chunk *b = alloc(big);
    U_CHECK(b == a, "unsorted chunk reused: %p, not %p", (void *)b, (void *)a);

    /* a bigger chunk in a large bin above nb's: best fit from the binmap */
    chunk *c = alloc(3 * big), *sep2 = alloc(SEP);
    release(c);
    (void)alloc(4 * big); /* sorts c into its bin; too big for it: from top */
    U_CHECK(bin_at(av, 1)->fd == bin_at(av, 1), "unsorted bin empty");
    unsigned ci = largebin_index(chunksize(c)), ei = largebin_index(request2size(2 * big + 64));
    U_CHECK(ci > ei && bin_at(av, ei)->fd == bin_at(av, ei), "c in a bin above, nb's own empty");
    chunk *e = alloc(2 * big + 64);
    U_CHECK(e == c, "c served it, not top: %p, not %p", (void *)e, (void *)c);
    U_CHECK((uintptr_t)e < (uintptr_t)sep2, "below the separator");
    release(e);
    um_consolidate(av);

    /* fast chunks present, nothing else free that could serve the request
     * (the unsorted bin sorted, every binned chunk smaller): it still
     * consolidates them first, as the walk does for a large request */
    chunk *s1 = alloc(40), *s2 = alloc(40), *s3 = alloc(64);
    release(s1);
    release(s2);
    U_CHECK(av->have_fastchunks, "two fast chunks");
    um_arena_sort_unsorted(av, 1000);
    U_CHECK(bin_at(av, 1)->fd == bin_at(av, 1), "unsorted bin empty");
    size_t huge = 8 * big;
    for (unsigned i = largebin_index(request2size(huge)); i < NBINS; i++)
        U_CHECK(bin_at(av, i)->fd == bin_at(av, i), "bin %u empty", i);
    (void)s3;
    (void)alloc(huge);
    U_CHECK(!av->have_fastchunks, "the large request consolidated the fast bins");

    (void)sep;
    um_lock_release(&av->lock);
    umalloc_check();
    return U_DONE();
}
