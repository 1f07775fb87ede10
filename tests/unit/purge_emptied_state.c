/* The emptied arena's state (src/purge.c), read from the arena itself:
 *   - a heap of 56 MiB freed but for one block in 16 enters the state;
 *   - from then on its central cache parks nothing (a flushed chain goes
 *     to the bins, where it coalesces);
 *   - every thread is asked to empty its cache: another thread's cached
 *     chunks leave its cache at its next slow call;
 *   - a free that leaves fewer than 34 unpurged pages in its chunk purges
 *     nothing (madvise of so few pages costs more than their faults on a
 *     virtual machine), one that leaves more purges them all;
 *   - frees whose merges advise purged pages again (a merge keeps one
 *     purged interval of its parts) do not end it: the pinned blocks freed
 *     in tree order advise more than twice what was free (which ended the
 *     state before 2026-12-05 and kept idle workers' memory), and no malloc
 *     took a purged page back;
 *   - mallocs that take purged pages back a quarter of what was free pause
 *     it (the program reuses the memory: each such page faults), for a
 *     decay time or until the program has freed half of what it held then;
 *   - an arena still called a decay time after the state began pauses it,
 *     with the backoff counted and a time before which it may not return.
 * The blocks are 96 KiB, so consecutive ones are neighbours in the heap
 * (checked); each free is pushed to the arena with um_tcache_flush_all.
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "purge.h"
#include "umalloc.h"
#include "unit.h"

enum { N = 600, SZ = 96 * 1024, PIN = 16, SMALL = 100, BIG = 200, NB = 64, NBSZ = 256, BIGSZ = 192 * 1024 };

static char *blk[N];
static pthread_barrier_t bar;

/* Caches up to NB blocks of NBSZ bytes, waits for the state, then makes one slow
 * call (a size it has never asked for: a cache miss). */
static void *other(void *arg)
{
    (void)arg;
    void *b[NB];
    for (int round = 0; round < 50; round++) { /* its limit grows with the misses */
        for (int i = 0; i < NB; i++)
            b[i] = malloc(NBSZ);
        for (int i = 0; i < NB; i++)
            free(b[i]);
    }
    pthread_barrier_wait(&bar); /* cached */
    pthread_barrier_wait(&bar); /* the state began */
    void *x = malloc(200);
    U_CHECK(x != NULL, "malloc(200)");
    free(x);
    pthread_barrier_wait(&bar); /* the slow call made */
    return NULL;
}

static void free_one(int i)
{
    free(blk[i]);
    blk[i] = NULL;
    um_tcache_flush_all(); /* to the arena now */
}

/* Pages of [p, p + len) (the whole pages inside it) not resident, as a
 * share in percent. */
static unsigned purged_pct(char *p, size_t len)
{
    static unsigned char vec[64];
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + len) & ~(uintptr_t)4095;
    size_t pages = (hi - lo) / 4096, n = 0;
    if (pages == 0 || pages > sizeof vec || mincore((void *)lo, pages * 4096, vec) != 0)
        return 999;
    for (size_t i = 0; i < pages; i++)
        n += !(vec[i] & 1);
    return (unsigned)(n * 100 / pages);
}

static uint64_t ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int main(void)
{
    if (sysconf(_SC_PAGESIZE) != 4096) { /* the probes' sizes are in 4 KiB pages */
        printf("pages of %ld bytes\n", sysconf(_SC_PAGESIZE));
        return 77;
    }
    arena *av = &um_main_arena;
    U_CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "mmap threshold");
    U_CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 60000) == 1, "decay");
    pthread_t t;
    pthread_barrier_init(&bar, NULL, 2);
    U_CHECK(pthread_create(&t, NULL, other, NULL) == 0, "thread");
    pthread_barrier_wait(&bar);
    size_t cached0 = um_tcache_bytes(NULL);

    for (int i = 0; i < N; i++) {
        blk[i] = malloc(SZ);
        U_CHECK(blk[i] != NULL, "block %d", i);
        memset(blk[i], i, SZ);
    }
    size_t step = (size_t)(blk[BIG + 1] - blk[BIG]);
    for (int i = SMALL - 1; i <= BIG + 8; i++)
        U_CHECK((size_t)(blk[i + 1] - blk[i]) == step, "blocks %d and %d are not neighbours", i, i + 1);

    /* all freed but one in PIN and the probes' blocks (SMALL and its two
     * neighbours; BIG..BIG+5 and theirs) */
    for (int i = 0; i < N; i++) {
        int probe = (i >= SMALL - 1 && i <= SMALL + 1) || (i >= BIG - 1 && i <= BIG + 6);
        if (i % PIN != PIN - 1 && !probe) {
            free(blk[i]);
            blk[i] = NULL;
        }
    }
    um_tcache_flush_all();
    U_CHECK(av->purge.emptied != 0, "not emptied: %zu MiB binned of %zu MiB", av->binned >> 20,
            av->system_mem >> 20);
    U_CHECK(um_arena_central_bytes(av) == 0, "%zu bytes parked in the state", um_arena_central_bytes(av));

    /* a flushed chain goes to the bins, not to the central cache */
    void *s[32];
    for (int i = 0; i < 32; i++)
        s[i] = malloc(1500);
    for (int i = 0; i < 32; i++)
        free(s[i]);
    um_tcache_flush_all();
    U_CHECK(um_arena_central_bytes(av) == 0, "%zu bytes parked after a flush in the state",
            um_arena_central_bytes(av));

    /* the other thread's cache empties at its next slow call */
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    size_t cached1 = um_tcache_bytes(NULL);
    printf("cached: %zu KiB before, %zu KiB after the other thread's slow call\n", cached0 >> 10, cached1 >> 10);
    U_CHECK(cached0 >= NB * NBSZ / 2, "the other thread cached %zu bytes", cached0);
    U_CHECK(cached1 * 4 <= cached0, "its cache kept %zu of %zu bytes", cached1, cached0);
    pthread_join(t, NULL); /* (its exit frees into the arena read below) */

    /* 24 unpurged pages: left; 2 x 24, merged: purged (the pages inside
     * the blocks, past the free chunk's header and tag) */
    char *small = blk[SMALL], *big = blk[BIG];
    free_one(SMALL);
    unsigned ps = purged_pct(small + 8192, SZ - 8192);
    free_one(BIG);
    unsigned pb1 = purged_pct(big + 8192, SZ - 8192);
    free_one(BIG + 1);
    unsigned pb2 = purged_pct(big + 8192, 2 * SZ - 8192);
    printf("purged: lone block %u%%, one of the pair %u%%, the pair %u%%\n", ps, pb1, pb2);
    U_CHECK(ps == 0, "%u%% of a lone 96 KiB block purged", ps);
    U_CHECK(pb1 == 0, "%u%% of one 96 KiB block purged", pb1);
    U_CHECK(pb2 == 100, "%u%% of two merged blocks purged", pb2);
    U_CHECK(av->purge.emptied != 0, "the state ended");

    /* the pins freed in tree order (every other one, then every other one
     * of the rest, ...): each level merges free runs that were purged
     * whole, and the pages of the part whose interval the merge drops are
     * advised again; no malloc runs, so nothing is reused */
    size_t stop = av->purge.emptied_stop, purged0 = av->purge.purged_bytes;
    size_t reused0 = av->purge.emptied_reused; /* (pages the 1500-byte blocks above took) */
    for (int gap = 2 * PIN; gap <= 2 * N; gap *= 2)
        for (int i = gap / 2 - 1; i < N; i += gap)
            if ((i < SMALL - 1 || i > BIG + 6) && i + PIN < N) /* (the last pin keeps top up) */
                free_one(i);
    size_t advised = av->purge.purged_bytes - purged0;
    printf("pins freed: %zu MiB advised, %zu MiB free at the start, %zu bytes reused\n", advised >> 20,
           (stop * 4) >> 20, av->purge.emptied_reused - reused0);
    U_CHECK(advised > 4 * stop, "only %zu MiB advised: no page advised again", advised >> 20);
    U_CHECK(av->purge.emptied != 0, "the state ended with no reuse");
    U_CHECK(av->purge.emptied_reused == reused0, "%zu bytes counted reused by frees",
            av->purge.emptied_reused - reused0);

    /* mallocs taking purged pages back: paused after about a quarter of
     * what was free (blocks above the cached sizes: freed, they go
     * straight back to the bins) */
    static char *again[N];
    int took = 0;
    /* no clock read in the loop: a tick's look at the arena (emptied_over:
     * a quarter of what is free handed out) would end the state first
     * when the clock moves between calls, which a loaded machine makes it
     * do (CI at bdb79b5: ended at 10,974 KiB of 13,969 reused, backoff 0) */
    av->purge.countdown = 1 << 30;
    while (av->purge.emptied && took < N) {
        again[took] = malloc(BIGSZ);
        U_CHECK(again[took] != NULL, "malloc");
        took++;
    }
    av->purge.countdown = 0;
    printf("paused after %d mallocs of %d KiB: %zu KiB reused, stop %zu KiB\n", took, BIGSZ >> 10,
           av->purge.emptied_reused >> 10, stop >> 10);
    U_CHECK(av->purge.emptied == 0, "%d blocks taken back and still emptied", took);
    U_CHECK(av->purge.emptied_reused > stop, "paused at %zu of %zu bytes reused", av->purge.emptied_reused, stop);
    U_CHECK((size_t)took * BIGSZ <= stop + stop / 2, "%d blocks of %d KiB taken before the pause", took,
            BIGSZ >> 10);
    U_CHECK(av->purge.emptied_backoff == 1, "backoff %u", av->purge.emptied_backoff);
    U_CHECK(av->purge.emptied_until >= ms() + 50000, "a pause of %lld ms",
            (long long)(av->purge.emptied_until - ms()));

    /* within the pause (a decay time, 60 s): while the program holds what
     * it took, the state stays away; once it has freed half of what it
     * held at the pause (the workers that went on have finished), the
     * state returns */
    int k = 0;
    for (; k < 4; k++) { /* 768 KiB: the bins moved enough to look again */
        free(again[k]);
        um_tcache_flush_all();
    }
    U_CHECK(av->purge.emptied == 0, "back after %d of %d blocks freed", k, took);
    for (; k < took && !av->purge.emptied; k++) {
        free(again[k]);
        um_tcache_flush_all();
    }
    printf("back after %d of %d blocks freed\n", k, took);
    U_CHECK(av->purge.emptied != 0, "the state did not return after %d blocks freed", took);
    U_CHECK(k >= took / 2, "back after only %d of %d blocks freed", k, took);
    for (; k < took; k++)
        free(again[k]);
    um_tcache_flush_all();

    /* still called a decay time later: paused */
    U_CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 100) == 1, "decay 100");
    uint64_t t0 = ms(), t1 = t0;
    while (av->purge.emptied && (t1 = ms()) < t0 + 3000) {
        void *x = malloc(SZ);
        U_CHECK(x != NULL, "malloc");
        free(x);
        um_tcache_flush_all();
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    printf("paused after %llu ms of calls; backoff %u\n", (unsigned long long)(t1 - t0), av->purge.emptied_backoff);
    U_CHECK(av->purge.emptied == 0, "still emptied after %llu ms of calls", (unsigned long long)(t1 - t0));
    U_CHECK(av->purge.emptied_reused <= av->purge.emptied_stop, "paused for reuse, not for time");
    U_CHECK(av->purge.emptied_backoff == 2, "backoff %u", av->purge.emptied_backoff);
    /* paused at until - 200 (backoff 1 then), a decay time after it began */
    U_CHECK(av->purge.emptied_until >= av->purge.emptied_since + 300, "paused %lld ms after the state began",
            (long long)(av->purge.emptied_until - 200 - av->purge.emptied_since));

    for (int i = 0; i < N; i++)
        free(blk[i]); /* (the probes' blocks; the rest are NULL) */
    return U_DONE();
}
