// variants: release debug
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
// A program that first builds and frees a big heap in back-to-back rounds
// with one thread, then starts workers that burst, free everything and
// wait, making no call. The rounds teach umalloc to keep top for the decay
// purge (src/trim.c, trim_repeats: the single-threaded rounds rule, as in
// tests/api/burst_loop); that lesson is about a program with one thread,
// and must not keep the heap through the workers' frees, which issue 8
// promises give their memory back (tests/stress/idle_workers_none). The
// workers' burst is small (about 19 MB), under the emptied arena's floor,
// so only the trim of top at their frees can give the rounds' heap back.
// Before the rule stopped at the program's first thread (38ca540): 87 MB
// kept 500 ms after the workers' frees, against 13-18 MB without the
// rounds; now 13-18 MB either way (3 runs each).
#include <pthread.h>
#include <stdatomic.h>

#include "../common.h"
#include "../purge_util.h"

#define MiB ((size_t)1 << 20)
#define BLK ((size_t)64 << 10)
#define NBLK 1280 /* 80 MiB a round */
#define NW 8
#define PER_WORKER 40

static void *blk[NBLK];
static pthread_barrier_t bar;
static _Atomic int bad;

static long round_faults(void) { return p_round_faults(blk, NBLK, BLK); }

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    t_rng r = {t_seed(0x5eed + id)};
    char *b[PER_WORKER];
    size_t len[PER_WORKER];
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < PER_WORKER; i++) {
            len[i] = 1024 + t_below(&r, 119 * 1024 + 1); /* 1..120 KiB */
            b[i] = malloc(len[i]);
            if (!b[i]) {
                atomic_fetch_add(&bad, 1);
                len[i] = 0;
                continue;
            }
            memset(b[i], (int)(id + (unsigned)i), len[i]);
        }
        for (int i = 0; i < PER_WORKER; i++) {
            if (!b[i])
                continue;
            if (b[i][0] != b[i][len[i] - 1])
                atomic_fetch_add(&bad, 1);
            free(b[i]);
        }
    }
    pthread_barrier_wait(&bar); /* burst done, everything freed */
    pthread_barrier_wait(&bar); /* main has measured */
    return NULL;
}

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 400) == 1);
    size_t rss0 = t_rss();

    /* the rounds, one thread, no pause: from the third on no faults (the
     * heap is kept: the rule is in force) */
    long f[5];
    for (int r = 0; r < 5; r++)
        f[r] = round_faults();
    printf("one thread, 5 rounds of 80 MiB: faults %ld %ld %ld %ld %ld, RSS %+ld KiB\n", f[0],
           f[1], f[2], f[3], f[4], ((long)t_rss() - (long)rss0) / 1024);
    CHECKF(f[4] < f[0] / 10, "the rounds rule did not engage (faults %ld then %ld)", f[0], f[4]);

    /* then workers: a burst each, all freed, and a wait with no call */
    pthread_t th[NW];
    pthread_barrier_init(&bar, NULL, NW + 1);
    for (unsigned i = 0; i < NW; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    pthread_barrier_wait(&bar);
    size_t after = t_rss();
    p_sleep_ms(500);
    size_t later = t_rss();
    printf("%d workers' burst freed: RSS %+ld KiB, %+ld KiB 500 ms later (no call)\n", NW,
           ((long)after - (long)rss0) / 1024, ((long)later - (long)rss0) / 1024);
    pthread_barrier_wait(&bar);
    for (unsigned i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
    EXPECT(atomic_load(&bad) == 0);
    /* the workers' burst may stay in the caches and bins (about 19 MB);
     * the rounds' 80 MiB must not */
    EXPECTF(later < rss0 + 40 * MiB, "RSS %zu KiB after the workers' frees (%zu before the rounds)",
            later >> 10, rss0 >> 10);
    return t_done();
}
