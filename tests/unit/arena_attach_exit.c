/* A thread that used an arena without ever setting up a thread cache still
 * lets go of the arena when it ends: an arena's count of attached threads
 * ("threads using this arena", which picks the arena of a new or contended
 * thread) is back where it was once such threads are gone. Two kinds: a
 * thread whose only blocks are too big for the cache (heap, not mapped),
 * and any thread while M_PERTURB keeps the caches off. Before, only the
 * cache's exit hook detached a thread, so each left its arena counted busy
 * for good.
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

enum { NTHREADS = 8 };

static void *big_only(void *arg)
{
    (void)arg;
    char *volatile p = malloc(300 * 1024); /* above the cached classes, below the threshold */
    if (p) {
        p[0] = 1;
        free(p);
    }
    return NULL;
}

static int attached_all(void)
{
    int n = 0;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        n += atomic_load(&a->attached);
    return n;
}

static void run(const char *what)
{
    int before = attached_all();
    for (int k = 0; k < NTHREADS; k++) {
        pthread_t t;
        U_CHECK(pthread_create(&t, NULL, big_only, NULL) == 0, "%s: thread %d", what, k);
        pthread_join(t, NULL);
    }
    int after = attached_all();
    U_CHECK(after == before, "%s: %d threads attached to arenas after %d threads ended, %d before",
            what, after, NTHREADS, before);
}

int main(void)
{
    void *volatile first = malloc(64); /* initialise the library */
    free(first);
    U_CHECK(mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1, "mallopt(M_MMAP_THRESHOLD)");
    run("blocks above the cache");
    U_CHECK(mallopt(M_PERTURB, 0x5a) == 1, "mallopt(M_PERTURB)");
    run("caches off (M_PERTURB)");
    U_CHECK(mallopt(M_PERTURB, 0) == 1, "mallopt(M_PERTURB, 0)");
    return U_DONE();
}
