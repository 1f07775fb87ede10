/* The exit walk of the central caches (central.c, um_central_check_at_exit)
 * is bounded by a total shared by the classes that hold chunks: with every
 * small class parked deep, each class still has its newest batches
 * walked (a write after free there is named, also in the class walked
 * last), and chunks past a class's share are not read (the walk's cost at
 * exit stays bounded, whatever the heap parks). Each case runs the walk in
 * a child process: it aborts on what it finds. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "bins.h"
#include "tcache.h"
#include "umalloc.h"

enum { PER_CLASS = 600, BATCH = 100 }; /* deeper than any class's share */
#define FIRST 2
#define LAST (TC_NBINS + 1) /* the small classes: 32..1040-byte chunks */

static arena *av;
static void **newest[TC_SLOTS], **oldest_tail[TC_SLOTS];

/* Park PER_CLASS carved chunks of class i, BATCH at a time. */
static void park_class(size_t i)
{
    size_t cs = tc_slot_size(i), got = 0;
    void *m[PER_CLASS];
    um_lock_acquire(&av->lock);
    while (got < PER_CLASS) {
        void *chain;
        size_t cn;
        size_t piece;
        void *first = um_arena_carve(av, cs, PER_CLASS - got, &chain, &cn, &piece);
        if (first && piece)
            um_arena_cut(av, first, piece, cs, &chain, &cn);
        U_CHECK(first != NULL, "carve class %zu", i);
        if (!first)
            exit(1);
        /* (the chunk for the caller may hold a remainder too small to split
         * off: it stays out, in use) */
        if (chunksize(mem_to_chunk(first)) == cs)
            m[got++] = first;
        for (void **e = chain; e && got < PER_CLASS; e = link_reveal(e[0]))
            m[got++] = e;
    }
    um_lock_release(&av->lock);
    av->central->cls[CC_AT(i, 0)].grown = (size_t)1 << 30; /* room for all of it */
    for (size_t b = 0; b < PER_CLASS; b += BATCH) {
        for (size_t k = b; k < b + BATCH; k++) {
            void **e = m[k];
            e[0] = link_protect(k + 1 < b + BATCH ? m[k + 1] : NULL);
            e[1] = um_cache_mark(e);
        }
        um_central_give(av, i, m[b], BATCH, 0);
    }
    newest[i] = m[PER_CLASS - BATCH];  /* the last batch given: the list's head */
    oldest_tail[i] = m[BATCH - 1];     /* the last chunk of the first batch */
    U_CHECK(um_central_class_bytes(av, i) == PER_CLASS * cs, "class %zu parked: %zu", i,
            um_central_class_bytes(av, i));
}

/* The exit walk, with *word (if any) zeroed first (in a child). */
static void zero_and_walk(void *word)
{
    if (word)
        *(void **)word = NULL;
    um_central_check_at_exit(av);
}
/* The signal the walk died of in a child, 0 if it returned. */
static int walk_in_child(void **word) { return unit_in_child(zero_and_walk, word); }

int main(void)
{
    unit_init_library();
    U_CHECK(um_tc_key != 0, "library initialised");
    um_params.purge_decay_ms = -1; /* no decay releases the batches meanwhile */
    /* on CPU 0: its shard gets the batches and the grown capacities */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    U_CHECK(sched_setaffinity(0, sizeof one, &one) == 0 && um_central_shard() == 0, "on CPU 0");
    av = um_heap_new_arena(95);
    U_CHECK(av != NULL, "private arena");
    if (!av)
        return 1;
    /* a top that holds every class: no growth while they are parked (the
     * walk that grows the heap drains what is parked: arena.c) */
    um_params.trim_threshold = (size_t)-1;
    um_lock_acquire(&av->lock);
    void *big = um_int_malloc(av, (size_t)24 << 20);
    U_CHECK(big != NULL, "grow the private arena");
    um_int_free(av, mem_to_chunk(big), chunksize(mem_to_chunk(big)), "free");
    um_lock_release(&av->lock);
    size_t sys = av->system_mem;
    for (size_t i = FIRST; i <= LAST; i++)
        park_class(i);
    U_CHECK(av->system_mem == sys, "the heap grew while the classes were parked");
    for (size_t i = FIRST; i <= LAST; i++)
        U_CHECK((void **)av->central->cls[CC_AT(i, 0)].batches == newest[i],
                "class %zu: the last batch given heads the list (%p, %p)", i,
                (void *)av->central->cls[CC_AT(i, 0)].batches, (void *)newest[i]);

    U_CHECK(walk_in_child(NULL) == 0, "the walk found something in intact batches");
    /* the key of the newest chunk of the class walked last (the walk goes
     * up the classes): its share was left for it */
    U_CHECK(walk_in_child(&newest[LAST][1]) == SIGABRT,
            "a write after free in the last class's newest batch went unseen");
    U_CHECK(walk_in_child(&newest[FIRST][1]) == SIGABRT,
            "a write after free in the first class's newest batch went unseen");
    /* the walk goes from the newest batch to the oldest, each from its
     * first chunk: the oldest batch's last chunk is the 600th of its class,
     * past the class's share (32768 chunks over 64 classes: 512), and is
     * not read */
    U_CHECK(walk_in_child(&oldest_tail[LAST][1]) == 0,
            "the walk read past its share of the class");
    return U_DONE();
}
