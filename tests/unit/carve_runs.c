/* um_arena_carve: a refill's run comes from the piece the seeds' algorithm
 * picks for one chunk, whatever that piece is. From top: the whole run,
 * contiguous. From a hole in the bins (a free chunk between two in-use
 * ones): as many chunks as the hole holds, side by side, in address order,
 * the hole used before top (best fit), its tail left free when it does not
 * divide evenly and handed out whole when the tail is too small to split.
 * A run never grows the heap past a hole: a hole too small for the run
 * still gives what it holds. And a request for one chunk stays one chunk.
 * (Before, any free chunk in the bins made a refill take one chunk at a
 * time, each through a full malloc: a program whose freed memory had gone
 * back to the bins refilled on nearly every allocation, chunk by chunk,
 * from wherever best fit found room.)
 */
#include <string.h>

#include "unit.h"
#include "bins.h"
#include "tcache.h"
#include "unit_arena.h"


/* A free hole of exactly hole bytes between two in-use chunks (arena lock
 * held); returns the hole's chunk. The guards stay allocated. */
static chunk *make_hole(arena *av, size_t hole)
{
    void *lo = um_int_malloc(av, 64), *h = um_int_malloc(av, hole), *hi = um_int_malloc(av, 64);
    U_CHECK(lo && h && hi, "hole allocations");
    chunk *p = mem_to_chunk(h);
    U_CHECK(chunksize(p) == hole, "hole size %zu", chunksize(p));
    um_int_free(av, p, hole, "free");
    U_CHECK(hole <= um_params.max_fast || !inuse(p), "the hole is free"); /* else a fast bin's */
    return p;
}

/* Carve want chunks of cs; checks the run and returns how many came, with
 * the first chunk's address in *first. */
static size_t carve_run(arena *av, size_t cs, size_t want, char **first)
{
    void *chain;
    size_t n;
    size_t piece;
    void *m = um_arena_carve(av, cs, want, &chain, &n, &piece);
    if (m && piece) {
        /* between the steps the piece is two chunks in use: the caller's
         * and the rest, whole */
        chunk *p = mem_to_chunk(m), *rest = chunk_at(p, piece - (piece / cs - 1) * cs);
        U_CHECK(chunksize(p) >= cs && chunksize(p) < cs + MINSIZE && inuse(p) && !chain && n == 0,
                "the first chunk before the cut");
        U_CHECK(chunksize(rest) == piece / cs * cs - cs && inuse(rest) && prev_inuse(rest),
                "the rest before the cut: %zu of %zu", chunksize(rest), piece);
        um_check_arena(av); /* the heap walks with the piece uncut (aborts if not) */
        um_arena_cut(av, m, piece, cs, &chain, &n);
    }
    U_CHECK(m != NULL, "carve %zu x %zu", want, cs);
    if (!m)
        exit(1);
    *first = m;
    U_CHECK(((void **)m)[1] == NULL, "the caller's chunk carries no cache mark");
    char *prev = m;
    size_t got = 1, firstsize = chunksize(mem_to_chunk(m));
    U_CHECK(firstsize >= cs && firstsize < cs + MINSIZE, "first chunk %zu for %zu", firstsize, cs);
    for (void **e = chain; e; e = link_reveal(e[0])) {
        U_CHECK((char *)e == prev + (got == 1 ? firstsize : cs), "chunk %zu of the run lies right after the one before", got);
        U_CHECK(chunksize(mem_to_chunk(e)) == cs && inuse(mem_to_chunk(e)), "chunk %zu: size %zu", got, chunksize(mem_to_chunk(e)));
        U_CHECK(um_cache_marked(e), "chunk %zu carries its cache mark", got);
        prev = (char *)e;
        got++;
        if (got > want)
            break;
    }
    U_CHECK(got == n + 1, "count %zu, chain %zu", n, got - 1);
    U_CHECK(got <= want, "a run of %zu for %zu", got, want);
    return got;
}

int main(void)
{
    const size_t cs = 48;
    arena *av = private_arena(91);
    um_lock_acquire(&av->lock);
    char *m;

    /* from top, with no free chunk anywhere: the whole run */
    char *top0 = (char *)av->top;
    U_CHECK(carve_run(av, cs, 100, &m) == 100, "a run of 100 from top");
    U_CHECK(m == top0 + CHUNK_HDR, "the run starts at top");

    /* one chunk asked: one chunk */
    U_CHECK(carve_run(av, cs, 1, &m) == 1, "want 1");

    /* a 100-chunk hole: the whole run comes from it, not from top */
    chunk *h = make_hole(av, 100 * cs);
    top0 = (char *)av->top;
    U_CHECK(carve_run(av, cs, 64, &m) == 64, "a run of 64 from a hole");
    U_CHECK(m == (char *)chunk_to_mem(h), "the run starts at the hole");
    U_CHECK(av->top == (chunk *)top0, "top untouched");
    /* the rest of the hole (36 chunks) gives the next run, then top */
    U_CHECK(carve_run(av, cs, 64, &m) == 36, "the hole's rest");
    U_CHECK(m == (char *)chunk_to_mem(h) + 64 * cs, "the rest continues the first run");
    U_CHECK(av->top == (chunk *)top0, "top untouched");

    /* a hole smaller than the run: what it holds, and its odd tail (32
     * bytes, a chunk of its own) stays free */
    h = make_hole(av, 10 * cs + 32);
    top0 = (char *)av->top;
    U_CHECK(carve_run(av, cs, 64, &m) == 10, "a hole of 10 chunks gives 10");
    U_CHECK(m == (char *)chunk_to_mem(h), "at the hole");
    chunk *tail = chunk_at(h, 10 * cs);
    U_CHECK(!inuse(tail) && chunksize(tail) == 32, "the tail is a free 32-byte chunk (%zu)", chunksize(tail));
    U_CHECK(av->top == (chunk *)top0, "top untouched");

    /* a tail too small to split goes with the run's first chunk */
    h = make_hole(av, 5 * cs + 16);
    U_CHECK(carve_run(av, cs, 64, &m) == 5, "a hole of 5 chunks and 16 bytes gives 5");
    U_CHECK(m == (char *)chunk_to_mem(h) && chunksize(h) == cs + 16, "the first chunk takes the 16 bytes");

    /* a hole too small for even one chunk is skipped for top */
    make_hole(av, 32);
    top0 = (char *)av->top;
    U_CHECK(carve_run(av, cs, 8, &m) == 8, "top after a useless hole");
    U_CHECK(m == top0 + CHUNK_HDR, "from top");
    um_lock_release(&av->lock);
    return U_DONE();
}
