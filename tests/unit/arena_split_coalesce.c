/* The arena algorithm on a private arena (an aligned heap of its own, not
 * shared with malloc): splitting top, the unsorted bin, coalescing both ways,
 * merging into top, the last remainder, large-bin best fit, and deleting an
 * emptied heap. umalloc_check()-style invariants after each step, and the F
 * bit (chunk.h) on every chunk the step made free, handed out or merged:
 * set on free chunks, top and the old header of a chunk merged into the
 * chunk below it, clear on chunks in use. */
#include <string.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

static arena *av;

static chunk *alloc(size_t bytes)
{
    size_t nb = request2size(bytes); /* the arena works in chunk sizes */
    void *m = um_int_malloc(av, nb);
    U_CHECK(m != NULL, "um_int_malloc(%zu)", nb);
    chunk *p = mem_to_chunk(m);
    U_CHECK(chunksize(p) >= nb && chunksize(p) < nb + MINSIZE, "size %zu for %zu", chunksize(p), nb);
    U_CHECK(!chunk_main_arena(p), "A bit set in a non-main arena");
    U_CHECK(aligned_ok(m), "aligned");
    memset(m, 0x5a, chunksize(p) - SIZE_SZ);
    return p;
}

static void release(chunk *p) { um_int_free(av, p, chunksize(p), "free"); }

static size_t count_bin(unsigned i)
{
    size_t n = 0;
    for (chunk *p = bin_at(av, i)->fd; p != bin_at(av, i); p = p->fd)
        n++;
    return n;
}

int main(void)
{
    unit_init_library(); /* initialise the library */
    av = um_heap_new_arena(99);
    U_CHECK(av != NULL, "private arena");
    um_lock_acquire(&av->lock);
    size_t top0 = chunksize(av->top);

    /* split top */
    chunk *a = alloc(2000), *b = alloc(3000), *c = alloc(4000), *guard = alloc(64);
    U_CHECK(next_chunk(a) == b && next_chunk(b) == c, "carved contiguously from top");
    U_CHECK(chunksize(av->top) == top0 - chunksize(a) - chunksize(b) - chunksize(c) - chunksize(guard), "top shrank");
    U_CHECK(chunk_free_bit(av->top), "top has F");
    U_CHECK(!chunk_free_bit(a) && !chunk_free_bit(b) && !chunk_free_bit(c) && !chunk_free_bit(guard),
            "chunks cut from top have no F");

    /* free b: unsorted, foot written, P of c cleared */
    release(b);
    U_CHECK(count_bin(1) == 1, "b in unsorted");
    U_CHECK(!prev_inuse(c) && c->prev_size == chunksize(b), "c sees b free");
    U_CHECK(chunk_free_bit(b) && !chunk_free_bit(a) && !chunk_free_bit(c), "F on b alone");
    /* free a: coalesces forward with b */
    release(a);
    U_CHECK(count_bin(1) == 1, "one merged chunk");
    U_CHECK(bin_at(av, 1)->fd == a && chunksize(a) == 2016 + 3008, "a+b merged: %zu", chunksize(a));
    U_CHECK(chunk_free_bit(a), "the merged chunk has F");
    /* free c: coalesces backward with a+b */
    release(c);
    U_CHECK(chunksize(a) == 2016 + 3008 + 4016, "a+b+c merged: %zu", chunksize(a));
    U_CHECK(!prev_inuse(guard) && guard->prev_size == chunksize(a), "guard sees the merge");
    /* c's old header, now inside a's memory, says "free" (a stale free of
     * c must not see an in-use chunk there) */
    U_CHECK(chunk_free_bit(c) && hdr_valid(hdr_load(c)), "c's absorbed header has F");
    U_CHECK(!chunk_free_bit(guard), "guard in use");

    /* a small request sorts the unsorted chunk into its bin, then splits it;
     * the remainder goes back to unsorted as the last remainder */
    chunk *d = alloc(100);
    U_CHECK(d == a, "split from the front of the free chunk");
    U_CHECK(!chunk_free_bit(d) && chunk_free_bit(next_chunk(d)), "d handed out, the remainder free");
    chunk *e = alloc(100);
    U_CHECK(e == next_chunk(d), "last remainder walks forward");
    U_CHECK(!chunk_free_bit(e) && chunk_free_bit(next_chunk(e)), "e handed out, the remainder free");
    release(d);
    release(e);

    /* large best fit: two free large chunks, the request takes the smaller */
    /* separators too big for any binned chunk, so they come from top and
     * keep big1 and big2 apart (a small one would be split off a bin) */
    chunk *big1 = alloc(20000), *sep1 = alloc(15000), *big2 = alloc(12000), *sep2 = alloc(15000);
    U_CHECK(next_chunk(big1) == sep1 && next_chunk(sep1) == big2, "layout");
    release(big1);
    release(big2);
    chunk *f = alloc(11000); /* sorts both, then best fit */
    U_CHECK(f == big2, "best fit chose the 12000 chunk");
    U_CHECK(!chunk_free_bit(f) && chunk_free_bit(big1), "f handed out from its bin, big1 still free");
    release(f);

    /* freeing everything merges back into top */
    release(sep1);
    release(sep2);
    release(guard);
    um_consolidate(av);
    U_CHECK(chunksize(av->top) >= top0 - 64, "all back in top: %zu vs %zu", chunksize(av->top), top0);
    U_CHECK(chunk_free_bit(av->top), "top has F after the merges");

    /* The unsorted bin's first chunk merged with a neighbour freed after it:
     * the merged chunk takes its place (bins.h, unsorted_head_replace), with
     * the other side's neighbour, when free too, unlinked from anywhere in
     * the list (here: the second); and it leaves the bin when the merge
     * reaches top. Sizes: 600, 700, 800, 900 are chunks of 608, 720, 816,
     * 912; 200 of 208 (past the fast bins). */
    {
        chunk *u = bin_at(av, 1);
        chunk *x = alloc(600), *y = alloc(700), *z = alloc(800), *w = alloc(900);
        chunk *g = alloc(200), *v = alloc(600), *q = alloc(700), *n = alloc(800);
        chunk *g2 = alloc(200); /* borders top */
        U_CHECK(next_chunk(g2) == av->top, "g2 borders top");
        release(z);
        release(y); /* next is the first chunk */
        U_CHECK(count_bin(1) == 1 && u->fd == y && chunksize(y) == 720 + 816,
                "y merged with z in z's place: %zu", chunksize(y));
        release(w); /* prev is the first chunk: it grows where it is */
        U_CHECK(count_bin(1) == 1 && u->fd == y && chunksize(y) == 720 + 816 + 912,
                "y+z grew in place: %zu", chunksize(y));
        U_CHECK(!prev_inuse(g) && g->prev_size == chunksize(y), "g sees the merge");
        release(n);
        release(v); /* list: v, n, y+z+w */
        U_CHECK(count_bin(1) == 3 && u->fd == v && v->fd == n && n->fd == y, "three chunks");
        /* q: prev v is first, next n is second */
        release(q);
        U_CHECK(count_bin(1) == 2 && u->fd == v && chunksize(v) == 608 + 720 + 816,
                "v+q+n first: %zu", chunksize(v));
        U_CHECK(v->bk == u && v->fd == y && y->bk == v && y->fd == u && u->bk == y,
                "the list is v+q+n, y+z+w");
        /* x: next y+z+w is second, not first */
        release(x);
        U_CHECK(count_bin(1) == 2 && u->fd == x && chunksize(x) == 608 + 720 + 816 + 912,
                "x+y+z+w pushed first: %zu", chunksize(x));
        U_CHECK(x->fd == v && v->bk == x && v->fd == u && u->bk == v, "the list is x.., v..");
        U_CHECK(chunk_free_bit(x) && chunk_free_bit(y) && chunk_free_bit(z) && chunk_free_bit(w) &&
                    chunk_free_bit(v) && chunk_free_bit(q) && chunk_free_bit(n),
                "F on the merged chunks and the headers they absorbed");
        /* g2: prev v+q+n is the first chunk and top is next: it leaves the
         * bin and becomes top */
        size_t t = chunksize(av->top);
        release(g2);
        U_CHECK(av->top == v && chunksize(v) == 608 + 720 + 816 + 208 + t, "v.. and g2 into top: %zu",
                chunksize(v));
        U_CHECK(count_bin(1) == 1 && u->fd == x && x->fd == u && x->bk == u && u->bk == x,
                "v.. left the bin");
        release(g); /* between x.. and top: all one top again */
        U_CHECK(av->top == x && count_bin(1) == 0, "all back in top");
        U_CHECK(chunk_free_bit(av->top), "top has F");
    }

    /* grow past one heap, then free: the new heap is deleted again */
    heap *first = av->last_heap;
    chunk *huge[6];
    for (int i = 0; i < 6; i++)
        huge[i] = alloc((size_t)20 << 20);
    U_CHECK(av->last_heap != first, "a second heap was created");
    for (int i = 5; i >= 0; i--)
        release(huge[i]);
    um_heap_trim(av, av->last_heap, 0, 1);
    U_CHECK(av->last_heap == first, "emptied heaps deleted");
    U_CHECK(chunk_free_bit(av->top), "top has F after the trim");
    um_lock_release(&av->lock);
    umalloc_check();
    return U_DONE();
}
