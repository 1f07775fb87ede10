/* relay - threads that pass their working set on to a successor: a server
 * whose worker threads are replaced now and then, each one taking over the
 * objects its predecessor held.
 *
 *   relay [LANES] [--quick|--scale=X]      LANES defaults to 2
 *
 * Each lane owns an array of 5000 blocks (8-1000 B, uniform). The lane's
 * thread replaces random slots: it frees the block there without reading
 * it, allocates one of a new random size and writes a tag into its first
 * word. After a fixed number of replacements it starts its successor on
 * the same lane and exits; the successor first joins it. So almost every
 * free is of a block that an earlier thread allocated (possibly on another
 * CPU), cold in the freeing thread's cache, and the lanes' blocks lie side
 * by side in the heap. The total work is fixed; the time is the measure.
 * At the end every live block's tag is checked and the counts must add up.
 */
#include "bench.h"
#include <pthread.h>

#define SLOTS 5000
#define MAXLANES 64
#define GENERATIONS 40 /* threads per lane over the whole run */

typedef struct {
    _Alignas(64) int id;
    void **slot;
    size_t *size;
    rng_t rng;
    long per_thread;  /* replacements per thread */
    int generation;
    pthread_t prev;   /* the thread to join first (none in generation 0) */
    long allocs, frees;
    int done;         /* under done_lock */
} lane_t;

static lane_t lanes[MAXLANES];
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

static uint64_t tag_of(const lane_t *l, long seq) { return ((uint64_t)l->id << 56) | (uint64_t)seq; }

static void *worker(void *arg)
{
    lane_t *l = arg;
    if (l->generation > 0)
        CHECK(pthread_join(l->prev, NULL) == 0, "lane %d: join", l->id);
    for (long i = 0; i < l->per_thread; i++) {
        unsigned k = (unsigned)rng_below(&l->rng, SLOTS);
        if (l->slot[k])
            l->frees++;
        free(l->slot[k]); /* not read first: cold here */
        size_t size = 8 + (size_t)rng_below(&l->rng, 993);
        uint64_t *p = malloc(size);
        CHECK_ALLOC(p, size);
        *p = tag_of(l, l->allocs++);
        l->slot[k] = p;
        l->size[k] = size;
    }
    if (++l->generation < GENERATIONS) {
        l->prev = pthread_self();
        pthread_t next;
        CHECK(pthread_create(&next, NULL, worker, l) == 0, "lane %d: successor", l->id);
    } else {
        pthread_mutex_lock(&done_lock);
        l->prev = pthread_self();
        l->done = 1;
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&done_lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    int n = argc > 1 ? atoi(argv[1]) : 2;
    if (n < 1 || n > MAXLANES) { fprintf(stderr, "bad lane count\n"); return 2; }
    long total = bench_scaled(20e6, 40 * 1000);
    for (int i = 0; i < n; i++) {
        lane_t *l = &lanes[i];
        l->id = i;
        l->slot = calloc(SLOTS, sizeof *l->slot);
        l->size = calloc(SLOTS, sizeof *l->size);
        CHECK(l->slot && l->size, "calloc");
        rng_seed(&l->rng, 4141 + (uint64_t)i);
        l->per_thread = total / n / GENERATIONS;
    }
    for (int i = 0; i < n; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, worker, &lanes[i]) == 0, "pthread_create");
    }
    long allocs = 0, frees = 0, live = 0;
    for (int i = 0; i < n; i++) {
        lane_t *l = &lanes[i];
        pthread_mutex_lock(&done_lock); /* (main sleeps: the lanes have the CPUs) */
        while (!l->done)
            pthread_cond_wait(&done_cv, &done_lock);
        pthread_mutex_unlock(&done_lock);
        CHECK(pthread_join(l->prev, NULL) == 0, "lane %d: join the last", i);
        long seen = 0;
        for (int k = 0; k < SLOTS; k++) {
            uint64_t *p = l->slot[k];
            if (!p)
                continue;
            CHECK(*p >> 56 == (uint64_t)i && (*p & ((1ull << 56) - 1)) < (uint64_t)l->allocs,
                  "lane %d slot %d: tag %llx", i, k, (unsigned long long)*p);
            free(p);
            seen++;
        }
        CHECK(l->frees + seen == l->allocs, "lane %d: %ld freed + %ld live != %ld", i, l->frees,
              seen, l->allocs);
        allocs += l->allocs;
        frees += l->frees;
        live += seen;
        free(l->slot);
        free(l->size);
    }
    printf("lanes=%d threads=%d replacements=%ld live_at_end=%ld\n", n, n * GENERATIONS, allocs, live);
    bench_ok("relay", allocs);
    return 0;
}
