// An aligned request whose class's central batch has no aligned chunk in it,
// in a thread that has only ever freed blocks of that class (its slot was
// never refilled: the frees wait on the slot's outbound list, and the slot
// has no limit), and whose block then comes from its own mapping (an
// alignment of 1 MiB). The search (um_tcache_aligned_take) keeps the batch
// on the thread's empty stack as a refill would, which gives the slot a
// limit; the outbound list must go then too, as at a refill, or the slot
// holds both (the heap check: "tcache outbound list disagrees with its
// slot"; a slot with a limit never sends its frees to the outbound list).
// The worker makes the class's batch: its blocks, freed past its stack's
// limit and at its exit, are parked in the central cache. One arena, so that
// the main thread's arena is the one that holds the batch.
// cflags: -pthread
// ldflags: -pthread
#include "../common.h"

#include <pthread.h>

#ifndef UMALLOC_PREFIXED
#include "../include/umalloc.h"
#pragma weak umalloc_check
#endif

#define SZ 200   /* a class the main thread allocates nothing of */
#define MANY 40
#define GIVEN 3  /* fewer than the class's outbound batch (4096 / 208 = 19) */

static void *given[GIVEN];

static void *worker(void *arg)
{
    (void)arg;
    void *p[MANY];
    for (int k = 0; k < MANY; k++) {
        CHECK((p[k] = malloc(SZ)) != NULL);
        t_fill(p[k], SZ, p[k], 1);
    }
    for (int k = 0; k < GIVEN; k++)
        given[k] = p[k];
    for (int k = GIVEN; k < MANY; k++)
        free(p[k]);
    return NULL; /* its cache goes to the central cache */
}

static void check_heap(void)
{
#ifndef UMALLOC_PREFIXED
    void (*volatile fn)(void) = umalloc_check;
    if (fn)
        fn();
#else
    umalloc_check();
#endif
}

int main(void)
{
    if (t_is_glibc())
        t_skip("checks umalloc's heap");
    CHECK(mallopt(M_ARENA_MAX, 1) == 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    /* blocks another thread allocated: onto this thread's outbound list */
    for (int k = 0; k < GIVEN; k++) {
        EXPECT(t_check(given[k], SZ, given[k], 1) == (size_t)-1);
        free(given[k]);
    }
    check_heap();
    for (int r = 0; r < 4; r++) {
        size_t al = (size_t)1 << 20; /* its own mapping */
        void *m = NULL;
        CHECK(posix_memalign(&m, al, SZ) == 0);
        EXPECTF(((uintptr_t)m & (al - 1)) == 0, "%p not %zu-aligned", m, al);
        t_fill(m, SZ, m, 2);
        check_heap(); /* (the debug build checks at every call) */
        EXPECT(t_check(m, SZ, m, 2) == (size_t)-1);
        free(m);
    }
    /* the class still works in this thread */
    void *q[MANY];
    for (int k = 0; k < MANY; k++) {
        CHECK((q[k] = malloc(SZ)) != NULL);
        t_fill(q[k], SZ, q[k], 3);
    }
    for (int k = 0; k < MANY; k++) {
        EXPECT(t_check(q[k], SZ, q[k], 3) == (size_t)-1);
        free(q[k]);
    }
    check_heap();
    return t_done();
}
