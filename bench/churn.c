/* churn - thread churn: short-lived threads that allocate and exit, like a
 * thread-per-request server or a program that spawns helper threads.
 *
 *   churn [--quick|--scale=X]
 *
 * Waves of 4 concurrent threads.  Each thread allocates 400 blocks (sizes
 * skewed small, up to 8 KiB), frees 90% of them itself, and hands the other
 * 10% to the main thread, which checks and frees them after the join -- so
 * an allocator's per-thread state must be set up and torn down cheaply, and
 * blocks outlive the thread that allocated them.
 */
#include "bench.h"
#include <pthread.h>

#define WAVE 4
#define PER_THREAD 400
#define HANDED (PER_THREAD / 10)

typedef struct {
    long seed;
    void *handed[HANDED];
    size_t handed_size[HANDED];
} targ;

static void *worker(void *arg)
{
    targ *a = arg;
    rng_t r;
    rng_seed(&r, (uint64_t)a->seed);
    void *blk[PER_THREAD];
    size_t sz[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        sz[i] = rng_small_size(&r, 9);
        blk[i] = malloc(sz[i]);
        CHECK_ALLOC(blk[i], sz[i]);
        block_fill(blk[i], sz[i], (uint64_t)(a->seed * PER_THREAD + i));
    }
    int h = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        CHECK(block_ok(blk[i], sz[i], (uint64_t)(a->seed * PER_THREAD + i)), "block corrupted");
        if (i % 10 == 3) {
            a->handed[h] = blk[i];
            a->handed_size[h++] = sz[i];
        } else {
            free(blk[i]);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long waves = bench_scaled(2500, 5);
    targ args[WAVE];
    pthread_t th[WAVE];
    long threads = 0, handed = 0;
    for (long w = 0; w < waves; w++) {
        for (int i = 0; i < WAVE; i++) {
            args[i].seed = w * WAVE + i;
            CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
        }
        for (int i = 0; i < WAVE; i++) {
            CHECK(pthread_join(th[i], NULL) == 0, "pthread_join");
            threads++;
            for (int k = 0; k < HANDED; k++) {
                int idx = k * 10 + 3;
                CHECK(block_ok(args[i].handed[k], args[i].handed_size[k],
                               (uint64_t)(args[i].seed * PER_THREAD + idx)),
                      "handed block corrupted");
                free(args[i].handed[k]);
                handed++;
            }
        }
    }
    CHECK(handed == threads * HANDED, "handed blocks lost");
    printf("threads=%ld\n", threads);
    bench_ok("churn", threads * PER_THREAD);
    return 0;
}
