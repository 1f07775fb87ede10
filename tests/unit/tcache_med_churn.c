/* Thread churn with medium sizes over several arenas: the process-wide sum
 * of the thread caches' medium limits (tc_med_all, tcache.c) must come back
 * to exactly the main thread's own limit whenever no other thread is alive,
 * however many threads grew and shrank their limits, flushed and exited
 * (some while the total was full); and a thread started after all that can
 * still grow its medium slots (a sum that leaked would leave the total full
 * and medium caching off for good). Meanwhile the workers spread over three
 * arenas (M_ARENA_MAX 3, moved as um_arena_get moves a contended thread)
 * and free each other's blocks, so chunks of one arena are flushed to
 * their own central cache and refills take batches parked in another arena
 * (um_central_steal); every block keeps its contents, and the heap checks
 * (umalloc_check, and the debug build's after every call) find every
 * parked chunk in its own arena's central cache.
 * cflags: -pthread
 * timeout: 120
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "tcache.h"
#include "umalloc.h"

enum { LIVE = 5, PER = 64, POOL = 1024, EPOCH = 20 };

/* blocks handed from one worker to a later one (which frees them) */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static void *pool[POOL];
static size_t npool;
static _Atomic long bad, foreign, mallocs;
static _Atomic size_t peak_med; /* largest medium limit a worker reached */

static void stamp(unsigned char *p, size_t s)
{
    memcpy(p, &s, sizeof s);
    p[s - 1] = (unsigned char)((uintptr_t)p >> 4);
}

static void check_free(unsigned char *p)
{
    size_t s;
    memcpy(&s, p, sizeof s);
    if (s < 1024 || s > 128 * 1024 || p[s - 1] != (unsigned char)((uintptr_t)p >> 4))
        atomic_fetch_add(&bad, 1);
    free(p);
}

static void *take_block(unsigned *seed)
{
    /* 1..120 KiB: every medium class but the last few */
    *seed = *seed * 1103515245u + 12345u;
    size_t s = 1024 + (*seed >> 8) % (119 * 1024);
    unsigned char *p = malloc(s);
    if (!p) {
        atomic_fetch_add(&bad, 1);
        return NULL;
    }
    atomic_fetch_add(&mallocs, 1);
    if (um_arena_of(mem_to_chunk(p)) != um_arena_current())
        atomic_fetch_add(&foreign, 1);
    stamp(p, s);
    return p;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 7;
    void *volatile warm = malloc(64); /* the cache and the arena, set up */
    free(warm);
    if ((uintptr_t)arg % 3 != 0) {
        /* as um_arena_get does after waiting four times on the lock: move
         * to an unused arena, or make one (up to M_ARENA_MAX) */
        arena *av = um_arena_current();
        um_lock_acquire(&av->lock);
        for (int r = 0; r < 4; r++)
            um_arena_note_contention(av);
        um_lock_release(&av->lock);
    }
    /* free what an earlier worker (maybe on another arena) left */
    void *got[PER];
    size_t ngot = 0;
    pthread_mutex_lock(&pool_mu);
    while (npool && ngot < PER)
        got[ngot++] = pool[--npool];
    pthread_mutex_unlock(&pool_mu);
    for (size_t k = 0; k < ngot; k++)
        check_free(got[k]);
    /* malloc/free cycles: medium slots refill (take, steal or carve),
     * grow, overflow and flush */
    void *blk[PER];
    int spin = 10 + (int)((uintptr_t)arg % 4) * 10; /* lives of different lengths */
    for (int r = 0; r < spin; r++) {
        for (int k = 0; k < PER; k++)
            blk[k] = take_block(&seed);
        for (int k = 0; k < PER; k++)
            if (blk[k] && (r == spin - 1 ? k & 1 : 1))
                check_free(blk[k]);
        size_t m = um_tc_state == TC_LIVE ? um_tcp->med_limit_bytes : 0;
        if (m > atomic_load(&peak_med))
            atomic_store(&peak_med, m);
    }
    /* half of the last round goes to a later worker */
    pthread_mutex_lock(&pool_mu);
    for (int k = 0; k < PER; k += 2) {
        if (!blk[k])
            continue;
        if (npool < POOL)
            pool[npool++] = blk[k];
        else
            check_free(blk[k]);
    }
    pthread_mutex_unlock(&pool_mu);
    return NULL;
}

static size_t my_med_limit(void) { return um_tc_state == TC_LIVE ? um_tcp->med_limit_bytes : 0; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    int debug = getenv("UMALLOC_TEST_DEBUG") != NULL;
    const char *v = getenv("UMALLOC_TEST_VARIANT");
    int slow = debug || (v && (strcmp(v, "asan") == 0 || strcmp(v, "tsan") == 0));
    int epochs = slow ? 3 : 30;
    U_CHECK(mallopt(M_ARENA_MAX, 3) == 1, "mallopt(M_ARENA_MAX)");
    void *volatile first = malloc(2000); /* the main thread's cache */
    free(first);
    double t0 = now_s();
    uintptr_t id = 0;
    size_t top = 0; /* the largest sum seen while workers ran */
    for (int epoch = 0; epoch < epochs && now_s() - t0 < 6.0; epoch++) {
        /* a sliding window of LIVE workers: each one that ends is replaced
         * at once, so some grew their limits while few others were alive
         * and the total fills up; then all are joined */
        pthread_t t[LIVE];
        for (int k = 0; k < LIVE; k++)
            U_CHECK(pthread_create(&t[k], NULL, worker, (void *)id++) == 0, "thread");
        for (int n = LIVE; n < EPOCH; n++) {
            int k = n % LIVE;
            pthread_join(t[k], NULL);
            size_t all = um_tcache_med_total();
            top = all > top ? all : top;
            U_CHECK(pthread_create(&t[k], NULL, worker, (void *)id++) == 0, "thread");
        }
        for (int k = 0; k < LIVE; k++)
            pthread_join(t[k], NULL);
        /* no other thread alive: the sum is the main thread's limit alone */
        size_t all = um_tcache_med_total(), mine = my_med_limit();
        U_CHECK(all == mine, "epoch %d: medium limits of all caches %zu, the only live cache's %zu",
                epoch, all, mine);
        if (all != mine)
            break;
        if (epoch % 4 == 0)
            umalloc_check();
    }
    printf("largest sum of medium limits seen: %zu bytes\n", top);
    int narenas = atomic_load(&um_narenas);
    printf("%ju threads, %d arenas, %ld medium mallocs, %ld from another arena than the thread's\n",
           (uintmax_t)id, narenas, atomic_load(&mallocs), atomic_load(&foreign));
    U_CHECK(narenas > 1, "the workers spread over %d arenas", narenas);
    U_CHECK(atomic_load(&bad) == 0, "%ld bad blocks or failed mallocs", atomic_load(&bad));
    pthread_mutex_lock(&pool_mu);
    while (npool)
        check_free(pool[--npool]);
    pthread_mutex_unlock(&pool_mu);
    umalloc_check();
    /* one more worker, alone: its medium slots grow (the total is not
     * held by caches that are gone) */
    size_t before = um_tcache_med_total();
    atomic_store(&peak_med, 0);
    pthread_t w;
    U_CHECK(pthread_create(&w, NULL, worker, (void *)(uintptr_t)3) == 0, "thread");
    pthread_join(w, NULL);
    printf("a lone worker after them: medium limit up to %zu bytes\n", atomic_load(&peak_med));
    U_CHECK(atomic_load(&peak_med) >= 128 * 1024,
            "the lone worker's medium limit reached only %zu bytes", atomic_load(&peak_med));
    U_CHECK(um_tcache_med_total() == my_med_limit(), "after the lone worker: %zu against %zu",
            um_tcache_med_total(), my_med_limit());
    U_CHECK(before == my_med_limit(), "before it: %zu against %zu", before, my_med_limit());
    return U_DONE();
}
