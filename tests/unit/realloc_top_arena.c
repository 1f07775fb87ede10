/* um_int_realloc_inplace on a chunk that borders top, when top is too
 * small: top grows first, and the chunk grows into it if top grew where it
 * was. In a non-main arena (an aligned heap of at most 64 MiB) that is the
 * heap growing in place; past the heap's reach a new heap is mapped, top
 * moves there, and the chunk must stay as it was (the caller moves it).
 * Both leave the arena usable. */
#include <string.h>

#include "unit.h"
#include "bins.h"
#include "unit_arena.h"

int main(void)
{
    arena *av = private_arena(1);
    um_lock_acquire(&av->lock);
    /* take all of top but a little, so the next chunk borders top */
    size_t tsize = chunksize(av->top);
    void *m = um_int_malloc(av, tsize - 4096);
    U_CHECK(m != NULL, "carve most of top");
    chunk *p = mem_to_chunk(m);
    size_t old = chunksize(p);
    U_CHECK(chunk_at(p, old) == av->top, "the chunk borders top");
    memset(m, 0x5a, old - SIZE_SZ);
    heap *h = um_heap_of(p);

    /* 1: 8 MiB more than top holds: the heap grows in place */
    size_t nb = old + ((size_t)8 << 20);
    U_CHECK(um_int_realloc_inplace(av, p, old, nb) == 1, "grow by 8 MiB in place");
    /* (with the room a growth takes when top has it: um_realloc_headroom) */
    size_t got = chunksize(p);
    U_CHECK((got == nb || got == nb + um_realloc_headroom(nb)) && chunk_at(p, got) == av->top,
            "size %zu (asked %zu), top after it", got, nb);
    U_CHECK(um_heap_of(av->top) == h, "top still in the same heap");
    size_t bad = 0;
    for (size_t k = 0; k < old - SIZE_SZ; k++)
        bad += ((unsigned char *)m)[k] != 0x5a;
    U_CHECK(bad == 0, "contents kept (%zu bytes changed)", bad);

    /* 2: more than the heap can ever hold: a new heap, the chunk unchanged */
    size_t huge = (size_t)80 << 20;
    U_CHECK(um_int_realloc_inplace(av, p, got, huge) == 0, "80 MiB cannot grow in place");
    U_CHECK(chunksize(p) == got, "the chunk kept its size (%zu)", chunksize(p));
    U_CHECK(inuse(p), "the chunk is still in use");
    /* the arena still serves: the new heap's top carves */
    void *q = um_int_malloc(av, (size_t)1 << 20);
    U_CHECK(q != NULL, "malloc from the arena after the new heap");
    um_lock_release(&av->lock);
    return U_DONE();
}
