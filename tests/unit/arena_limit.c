/* Arenas are made on contention, up to one per CPU by default (each arena's
 * free memory is RSS of its own; on this design two arenas per CPU held
 * 1.5x the memory of one per CPU in bench/xchurn and server, with no gain
 * in time): many threads that each report contention on their arena lock
 * many times end with between 2 (if the machine has 2 CPUs or more) and
 * ncpus arenas; with M_ARENA_MAX set higher, up to that many.
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>

#include "unit.h"
#include "internal.h"

#define REPORTS 40

static pthread_barrier_t done, go;

static void *worker(void *arg)
{
    (void)arg;
    void *volatile p = malloc(64); /* attached to an arena */
    for (int k = 0; k < REPORTS; k++) {
        /* as um_arena_get reports it: with the lock it waited for */
        arena *av = um_arena_current();
        um_lock_acquire(&av->lock);
        um_arena_note_contention(av);
        um_lock_release(&av->lock);
    }
    pthread_barrier_wait(&done); /* stay attached while main counts */
    pthread_barrier_wait(&go);
    free(p);
    return NULL;
}

/* Run n contending threads; returns the arena count while they are alive. */
static int contend(int n)
{
    pthread_t t[256];
    pthread_barrier_init(&done, NULL, (unsigned)n + 1);
    pthread_barrier_init(&go, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++)
        U_CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0, "pthread_create %d", i);
    pthread_barrier_wait(&done);
    int arenas = atomic_load(&um_narenas);
    pthread_barrier_wait(&go);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&done);
    pthread_barrier_destroy(&go);
    return arenas;
}

int main(void)
{
    void *volatile first = malloc(1);
    free(first);
    int ncpu = (int)um_os_ncpus();
    if (ncpu > 32)
        ncpu = 32; /* the thread counts below stay small */
    int n = 3 * ncpu + 2;
    int arenas = contend(n);
    U_CHECK(arenas <= (int)um_os_ncpus(), "%d arenas for %zu CPUs", arenas, um_os_ncpus());
    if (um_os_ncpus() >= 2)
        U_CHECK(arenas >= 2, "contention made no arena: %d", arenas);

    /* the user's M_ARENA_MAX is honoured above the default */
    int want = (int)um_os_ncpus() + 2;
    U_CHECK(mallopt(M_ARENA_MAX, want) == 1, "mallopt(M_ARENA_MAX, %d)", want);
    arenas = contend(n);
    U_CHECK(arenas <= want, "%d arenas, M_ARENA_MAX %d", arenas, want);
    U_CHECK(arenas > (int)um_os_ncpus(), "M_ARENA_MAX %d: only %d arenas", want, arenas);
    return U_DONE();
}
