/* A write after free over word 2 of a parked batch's first chunk, where the
 * central cache keeps the batch's count and the encoded address of the next
 * batch (central.c). What that word decodes to is checked before anyone
 * reads it: a chunk of some heap, or the take names the batch. A random
 * word decodes to an aligned address one time in 16; knowing the key, the
 * test writes one that decodes to an aligned address in no heap (0x1000,
 * below the lowest mappable page) with a plausible count. Before, only the
 * alignment was checked: the take returned the batch and kept the bad
 * address as the class's next batch, and the take after it read there
 * (SIGSEGV); now the first take names it. */
// variants: release debug
// expect-abort: ^umalloc: malloc\(\): corrupted central-cache batch at 0x[0-9a-f]+$
#include <string.h>

#include "unit.h"
#include "bins.h"
#include "tcache.h"
#include "unit_arena.h"

#define PACK_MASK (((uint64_t)1 << 48) - 1)

/* n chunks of size cs carved from av, linked as a cache chain. */
static void *chain_of(arena *av, size_t cs, size_t n)
{
    void *next = NULL;
    for (size_t k = 0; k < n; k++) {
        void *chain;
        size_t cn;
        um_lock_acquire(&av->lock);
        size_t piece;
        void **e = um_arena_carve(av, cs, 1, &chain, &cn, &piece);
        U_CHECK(piece == 0, "one chunk asked: nothing left to cut");
        um_lock_release(&av->lock);
        U_CHECK(e != NULL && cn == 0, "carve one chunk of %zu", cs);
        if (!e)
            exit(1);
        e[0] = link_protect(next);
        e[1] = um_cache_mark(e);
        next = e;
    }
    return next;
}

int main(void)
{
    unit_init_library(); /* initialised */
    arena *av = private_arena(91);
    const size_t i = 3, cs = tc_slot_size(i);
    void **older = chain_of(av, cs, 2), **newer = chain_of(av, cs, 2);
    um_central_give(av, i, older, 2, 0);
    um_central_give(av, i, newer, 2, 0);
    um_central_check(av); /* both parked as they were given */
    ((volatile uint64_t *)newer)[2] = ((uint64_t)2 << 48) | ((uintptr_t)link_protect((void *)0x1000) & PACK_MASK);
    size_t n;
    void *got = um_central_take(av, i, &n, 1);
    fprintf(stderr, "took %p (%zu chunks)\n", got, n);
    got = um_central_take(av, i, &n, 1);
    printf("survived %p\n", got);
    return 0;
}
