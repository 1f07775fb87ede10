/* A thread cache hands chunks of several arenas back to the central cache
 * of each chunk's own arena as one chain per arena (tcache.c, tc_give):
 * a chain whose chunks alternate between arenas (a consumer of two
 * producers, each on an arena of its own) is parked as one batch in each,
 * and a refill there takes them all at once. Cutting the chain at every
 * change of arena parked them one by one (bench/oneway with an arena per
 * thread: 1.3x the CPU time). With more arenas in the chain than the walk
 * keeps open at once, every chunk still reaches its own arena. */
#include "tcache.h"
#include "unit.h"
#include "unit_arena.h"

enum { ARENAS = 6, PER = 8 };
static arena *ar[ARENAS];

static void round_of(int arenas, size_t req)
{
    size_t nb = request2size(req), i = tc_slot_of_chunk(nb);
    void **chain = NULL, **last = NULL;
    /* PER chunks of each arena, linked in turn, as a cache holds them */
    for (int k = 0; k < PER; k++)
        for (int a = 0; a < arenas; a++) {
            void **e = um_int_malloc(ar[a], nb);
            U_CHECK(e != NULL, "um_int_malloc");
            if (!e)
                exit(1);
            e[1] = um_cache_mark(e);
            e[0] = link_protect(NULL);
            if (last)
                last[0] = link_protect(e);
            else
                chain = e;
            last = e;
        }
    um_tcache_give(i, chain, (size_t)arenas * PER);
    for (int a = 0; a < arenas; a++) {
        size_t got = 0, batches = 0, n;
        void **b;
        while ((b = um_central_take(ar[a], i, &n, 0)) != NULL) {
            got += n;
            batches++;
            void **e = b;
            for (size_t k = 0; k < n; k++, e = link_reveal(e[0]))
                U_CHECK(e && um_arena_of(mem_to_chunk(e)) == ar[a], "arena %d: a chunk of another arena", a);
        }
        U_CHECK(got == PER, "arena %d of %d: %zu of its %d chunks parked", a, arenas, got, PER);
        if (arenas <= 4)
            U_CHECK(batches == 1, "arena %d of %d: its chunks came back in %zu batches", a, arenas, batches);
    }
}

int main(void)
{
    free(malloc(40));
    for (int a = 0; a < ARENAS; a++)
        ar[a] = private_arena(a + 1);
    /* the walk splits by arena only when there is more than one */
    atomic_store(&um_narenas, ARENAS + 1);
    round_of(2, 40);
    round_of(4, 100);
    round_of(ARENAS, 200); /* more arenas than open chains */
    return U_DONE();
}
