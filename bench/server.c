/* server - a server-like heap: several threads each replace random slots of
 * one shared table (think: a cache or session table that worker threads
 * update), so most blocks are freed by a thread other than the one that
 * allocated them.
 *
 *   server [THREADS] [--quick|--scale=X]          THREADS defaults to 4
 *
 * Each operation allocates a tagged block (sizes skewed small, 16 B-8 KiB),
 * swaps it into a random slot with an atomic exchange, checks the block that
 * came out and frees it.  The total work is fixed; the threads share it.
 */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>

#define SLOTS 65536

static _Atomic(void *) table[SLOTS];
static long ops_per_thread;
static _Atomic long remote_frees, total_frees;

typedef struct { int id; } targ;

static void *worker(void *arg)
{
    int id = ((targ *)arg)->id;
    rng_t r;
    rng_seed(&r, 1000 + (uint64_t)id);
    long remote = 0, frees = 0;
    for (long i = 0; i < ops_per_thread; i++) {
        size_t size = rng_small_size(&r, 8);
        unsigned char *p = malloc(size);
        CHECK_ALLOC(p, size);
        /* tag: thread id in the top byte, sequence below */
        block_fill(p, size, ((uint64_t)id << 56) | (uint64_t)i);
        memset(p + sizeof(block_hdr), id, size > 64 ? 64 - sizeof(block_hdr) : size - 1 - sizeof(block_hdr));
        void *old = atomic_exchange_explicit(&table[rng_below(&r, SLOTS)], p, memory_order_acq_rel);
        if (old) {
            CHECK(block_ok_self(old), "thread %d: block %p corrupted", id, old);
            if ((int)(((block_hdr *)old)->tag >> 56) != id) remote++;
            free(old);
            frees++;
        }
    }
    atomic_fetch_add(&remote_frees, remote);
    atomic_fetch_add(&total_frees, frees);
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (nthreads < 1 || nthreads > 256) { fprintf(stderr, "bad thread count\n"); return 2; }
    long total = bench_scaled(16e6, 20000);
    ops_per_thread = total / nthreads;
    pthread_t th[256];
    targ args[256];
    for (int i = 0; i < nthreads; i++) {
        args[i].id = i;
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    long left = 0;
    for (int i = 0; i < SLOTS; i++) {
        void *p = atomic_load(&table[i]);
        if (p) {
            CHECK(block_ok_self(p), "final: slot %d corrupted", i);
            free(p);
            left++;
        }
    }
    long allocs = ops_per_thread * nthreads;
    CHECK(atomic_load(&total_frees) + left == allocs, "blocks lost: %ld + %ld != %ld",
          atomic_load(&total_frees), left, allocs);
    printf("threads=%d ops=%ld remote_frees=%.0f%%\n", nthreads, allocs,
           100.0 * atomic_load(&remote_frees) / (double)(atomic_load(&total_frees) + 1));
    bench_ok("server", allocs);
    return 0;
}
