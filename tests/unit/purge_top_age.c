/* Top's age (purge.c, top_sample): the clock reads, not the frees, note
 * that top grew, by comparing top's start with the highest start since the
 * last read. Checked on a private arena, with the reads placed by hand:
 * a block taken from top and freed back between two reads makes top young
 * (the highest start is what shows it: top's start is back where the last
 * read saw it); so does a free of a block taken before the last read; a
 * small block taken and freed at the top of a large top does not (the
 * quarter rule); a top that did not move stays old; a top that moved to
 * an older heap is young, and so is it after a free into it there. */
#include <string.h>
#include "unit.h"
#include "bins.h"
#include "purge.h"
#include "unit_arena.h"

/* One clock read now, on the next arena call. */
static void read_clock(arena *av)
{
    av->purge.countdown = 0;
    um_purge_tick(av);
    av->purge.countdown = 1 << 30; /* and none until the next read_clock */
}

/* Make top old: the stamp far in the past. */
static void age_top(arena *av) { av->purge.top_stamp = 1; }

static int young(arena *av) { return av->purge.top_stamp == av->purge.now; }

int main(void)
{
    um_ensure_init();
    /* the frees below must not trim top (they would move its end), and no
     * sweep may run at the reads (it would purge top, an old one) */
    um_params.trim_threshold = (size_t)-1; /* (also: no purge, even under pressure) */
    um_params.purge_decay_ms = -1;
    arena *av = private_arena(91);
    um_lock_acquire(&av->lock);
    size_t tsize = chunksize(av->top);
    U_CHECK(tsize >= ((size_t)4 << 20), "top holds %zu bytes", tsize);
    size_t big = request2size(tsize / 2); /* more than a quarter of top */

    /* 1. taken and freed between two reads */
    read_clock(av);
    age_top(av);
    chunk *top0 = av->top;
    void *m = um_int_malloc(av, big);
    U_CHECK(m == chunk_to_mem(top0), "the block comes from top");
    um_int_free(av, mem_to_chunk(m), chunksize(mem_to_chunk(m)), "free");
    U_CHECK(av->top == top0, "top is back where the last read saw it");
    read_clock(av);
    U_CHECK(young(av), "taken and freed between two reads: top not young (stamp %llu, now %llu)",
            (unsigned long long)av->purge.top_stamp, (unsigned long long)av->purge.now);

    /* 2. taken before a read, freed after it */
    m = um_int_malloc(av, big);
    read_clock(av);
    age_top(av);
    um_int_free(av, mem_to_chunk(m), chunksize(mem_to_chunk(m)), "free");
    read_clock(av);
    U_CHECK(young(av), "freed into top since the last read: top not young");

    /* 3. a small block taken and freed at the top of a large top: old */
    read_clock(av);
    age_top(av);
    for (int i = 0; i < 3; i++) {
        void *s = um_int_malloc(av, request2size(64 * 1024));
        U_CHECK(s != NULL, "small block");
        um_int_free(av, mem_to_chunk(s), chunksize(mem_to_chunk(s)), "free");
    }
    read_clock(av);
    U_CHECK(!young(av), "64 KiB freed into a %zu-byte top made it young", chunksize(av->top));

    /* 4. nothing moved: still old */
    age_top(av);
    read_clock(av);
    U_CHECK(!young(av), "an untouched top became young");
    um_lock_release(&av->lock);

    /* 5. top moves to the older heap when the newest empties and is deleted
     * (um_heap_trim, at that free): the move stamps top young, and a block
     * freed just below the older heap's fence afterwards (it merges into the
     * new top) makes it young again, compared with where top now is, not
     * with an address in the deleted heap */
    arena *a2 = um_heap_new_arena(90);
    U_CHECK(a2 != NULL, "second private arena");
    um_lock_acquire(&a2->lock);
    enum { N = 80, SZ = 1 << 20 };
    static void *m2[N];
    int n = 0;
    heap *first = NULL;
    for (; n < N; n++) {
        m2[n] = um_int_malloc(a2, request2size(SZ));
        U_CHECK(m2[n] != NULL, "block %d", n);
        if (!first)
            first = um_heap_of(mem_to_chunk(m2[0]));
        if (um_heap_of(mem_to_chunk(m2[n])) != first)
            break; /* m2[n] is the first block of the second heap */
    }
    U_CHECK(n > 1 && n < N, "no second heap after %d blocks of 1 MiB", n);
    if (n > 1 && n < N) {
        /* the block below the fence freed after the move, no read between:
         * compared with where top moved to (an address in the deleted heap,
         * lower down with mmap's top-down layout, would hide it) */
        read_clock(a2);
        um_int_free(a2, mem_to_chunk(m2[n]), chunksize(mem_to_chunk(m2[n])), "free");
        U_CHECK(a2->last_heap == first, "the emptied second heap was not deleted");
        age_top(a2);
        void *b = m2[n - 1]; /* the older heap's last block, below its fence */
        um_int_free(a2, mem_to_chunk(b), chunksize(mem_to_chunk(b)), "free");
        U_CHECK(a2->top == mem_to_chunk(b), "the block below the fence merged into top");
        read_clock(a2);
        U_CHECK(young(a2), "a block freed into the moved top: not young");
        /* the move itself: a second heap again, emptied and deleted */
        void *again = um_int_malloc(a2, request2size(SZ));
        void *next = um_int_malloc(a2, request2size(SZ));
        U_CHECK(again == b && next != NULL && um_heap_of(mem_to_chunk(next)) != first,
                "the second heap again");
        read_clock(a2);
        age_top(a2);
        um_int_free(a2, mem_to_chunk(next), chunksize(mem_to_chunk(next)), "free");
        U_CHECK(a2->last_heap == first, "the emptied second heap was not deleted");
        read_clock(a2);
        U_CHECK(young(a2), "top moved to the older heap: not young");
    }
    um_lock_release(&a2->lock);
    return U_DONE();
}
