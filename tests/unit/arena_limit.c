/* The arena count (arena.c): a thread that keeps finding its arena's lock
 * busy gets a new arena only up to the limit, by default one arena per two
 * CPUs (at least one); M_ARENA_TEST raises it when larger, and M_ARENA_MAX,
 * once set, replaces it. Each worker stays alive on the arena it moved to
 * (so no arena is free to move to instead of making one), and reports four
 * waits on its lock, as um_arena_get does after waiting. One more worker
 * than the largest limit tested, whatever the CPU count.
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>

#include "internal.h"
#include "unit.h"

static pthread_barrier_t done;
static pthread_mutex_t step = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&step); /* one at a time: each sees the last one's arena */
    arena *av = um_arena_current();
    for (int r = 0; r < 4; r++)
        um_arena_note_contention(av);
    pthread_mutex_unlock(&step);
    pthread_barrier_wait(&done);
    return NULL;
}

/* Start n contending workers; once all have reported their waits (they
 * then wait at the barrier, still attached), the arena count. */
static int arenas_after(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    U_CHECK(t != NULL, "calloc");
    if (!t)
        exit(1);
    pthread_barrier_init(&done, NULL, (unsigned)n + 1);
    for (int k = 0; k < n; k++)
        U_CHECK(pthread_create(&t[k], NULL, worker, NULL) == 0, "thread %d", k);
    pthread_barrier_wait(&done);
    int got = atomic_load(&um_narenas);
    for (int k = 0; k < n; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&done);
    free(t);
    return got;
}

int main(void)
{
    void *volatile first = malloc(64); /* initialise the library */
    free(first);
    size_t ncpus = um_os_ncpus();
    int want = (int)((ncpus + 1) / 2);
    if (want < 1)
        want = 1;
    int n = want + 4;
    int got = arenas_after(n);
    U_CHECK(got == want, "%zu CPUs: %d arenas after %d contending threads, want %d", ncpus, got, n,
            want);
    /* M_ARENA_TEST, when larger than the default limit, raises it */
    U_CHECK(mallopt(M_ARENA_TEST, want + 2) == 1, "mallopt(M_ARENA_TEST)");
    got = arenas_after(n);
    U_CHECK(got == want + 2, "M_ARENA_TEST %d: %d arenas", want + 2, got);
    /* M_ARENA_MAX, once set, is the limit */
    U_CHECK(mallopt(M_ARENA_MAX, want + 3) == 1, "mallopt(M_ARENA_MAX)");
    got = arenas_after(n);
    U_CHECK(got == want + 3, "M_ARENA_MAX %d: %d arenas", want + 3, got);
    return U_DONE();
}
