/* xchurn - cross-thread churn with sizes up to 16 KiB: every block is freed
 * by a thread other than the one that allocated it (objects created by one
 * worker and retired by whichever worker touches them last).
 *
 *   xchurn [THREADS] [--quick|--scale=X]           THREADS defaults to 4
 *
 * A shared table has a region of 2048 slots per thread.  Only the owner puts
 * blocks into its region; only the other threads take them out.  A thread
 * repeats: (1) refill: walk its region from where it stopped and put fresh
 * blocks into empty slots, 32 blocks per round (looking at no more than 128
 * slots); (2) free a random share of the other threads' blocks: 64 times,
 * pick a random other thread and a random slot of its region and, if a
 * block is there, take it (atomic exchange), check it and free it.  With 64
 * tries for 32 blocks the regions stay at most about half full (a run here
 * on 2 busy cores averaged ~2,700 live blocks of the 8192 slots, at most
 * ~3,900).  Sizes are log-uniform over 16 B-16 KiB (each power-of-two octave
 * equally likely, uniform inside it: median ~512 B, mean ~2.4 KiB); the
 * n-th block of a thread has the same size in every run.
 *
 * Each thread allocates a fixed number of blocks; a thread that is done
 * keeps freeing the others' blocks until every thread is done, then the
 * main thread frees what is left.  Every block carries a tag (owner id,
 * sequence number) and its size; the freeing thread checks the tag, that the
 * owner is another thread, and the size; the number of blocks and the sum of
 * tags freed must equal those allocated.
 */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define MAXT 64
#define REGION 2048
#define REFILL 32
#define LOOK 128
#define TRIES 64

static _Atomic(void *) *table;     /* MAXT regions of REGION slots */
static int nthreads;
static long per_thread;
static _Atomic int done_threads;

typedef struct {           /* a line of its own: the sums are bumped per block */
    _Alignas(64) int id;
    long freed;
    uint64_t alloc_tag_sum, freed_tag_sum;
    uint64_t bytes;
} targ;

static uint64_t tag_of(int owner, long seq)
{
    return ((uint64_t)owner << 56) | (uint64_t)seq;
}

static size_t xsize(rng_t *r)
{
    uint64_t x = rng_next(r);
    int oct = (int)(((bench_u128)x * 10) >> 64);     /* [16 << oct, 32 << oct) */
    size_t lo = (size_t)16 << oct;
    return lo + (size_t)((x & 0xffffffffu) % lo);    /* 16 .. 16383 */
}

static void check_and_free(void *p, int expect_not, const char *who)
{
    const block_hdr *h = p;
    int owner = (int)(h->tag >> 56);
    CHECK(block_ok_self(p) && h->size <= 16384 && owner < nthreads && owner != expect_not,
          "%s: block %p corrupted (tag %llx, size %u)", who, p,
          (unsigned long long)h->tag, h->size);
    free(p);
}

static void *worker(void *arg)
{
    targ *a = arg;
    int id = a->id;
    rng_t r, pick;       /* sizes; which slots to free (kept apart so that */
    rng_seed(&r, 3100 + (uint64_t)id);     /* each thread's size sequence */
    rng_seed(&pick, 3200 + (uint64_t)id);  /* is the same in every run) */
    _Atomic(void *) *mine = table + (size_t)id * REGION;
    long seq = 0;
    unsigned cursor = 0;
    int announced = 0;
    for (;;) {
        int progress = 0;
        /* (1) refill own region */
        if (seq < per_thread) {
            int made = 0;
            for (int look = 0; look < LOOK && made < REFILL && seq < per_thread; look++) {
                _Atomic(void *) *s = &mine[cursor];
                cursor = (cursor + 1) % REGION;
                if (atomic_load_explicit(s, memory_order_relaxed))
                    continue;
                size_t size = xsize(&r);
                void *p = malloc(size);
                CHECK_ALLOC(p, size);
                uint64_t tag = tag_of(id, seq++);
                block_fill(p, size, tag);
                a->alloc_tag_sum += tag;
                a->bytes += size;
                /* only the owner stores non-NULL here, so the slot is still empty */
                atomic_store_explicit(s, p, memory_order_release);
                made++;
            }
            progress += made;
            if (seq == per_thread && !announced) {
                announced = 1;
                atomic_fetch_add(&done_threads, 1);
            }
        } else if (atomic_load_explicit(&done_threads, memory_order_acquire) == nthreads) {
            break;
        }
        /* (2) free a random share of the other threads' blocks */
        if (nthreads > 1) {
            for (int t = 0; t < TRIES; t++) {
                int other = (int)rng_below(&pick, (uint64_t)nthreads - 1);
                if (other >= id) other++;
                _Atomic(void *) *s = &table[(size_t)other * REGION + rng_below(&pick, REGION)];
                if (!atomic_load_explicit(s, memory_order_relaxed))
                    continue;
                void *p = atomic_exchange_explicit(s, NULL, memory_order_acquire);
                if (!p)
                    continue;
                a->freed_tag_sum += ((const block_hdr *)p)->tag;
                check_and_free(p, id, "worker");
                a->freed++;
                progress++;
            }
        }
        if (!progress)
            sched_yield();   /* own region full and nothing to free: let the others run */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (nthreads < 1 || nthreads > MAXT) {
        fprintf(stderr, "usage: xchurn [THREADS (1..%d)]\n", MAXT);
        return 2;
    }
    long total = bench_scaled(4e6, 40000);
    per_thread = total / nthreads;
    table = calloc((size_t)nthreads * REGION, sizeof *table);
    CHECK_ALLOC(table, (size_t)nthreads * REGION * sizeof *table);
    pthread_t th[MAXT];
    targ args[MAXT];
    memset(args, 0, sizeof args);
    for (int i = 0; i < nthreads; i++) {
        args[i].id = i;
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);

    long freed = 0, left = 0;
    uint64_t alloc_sum = 0, freed_sum = 0, bytes = 0;
    for (int i = 0; i < nthreads; i++) {
        freed += args[i].freed;
        alloc_sum += args[i].alloc_tag_sum;
        freed_sum += args[i].freed_tag_sum;
        bytes += args[i].bytes;
    }
    for (size_t k = 0; k < (size_t)nthreads * REGION; k++) {
        void *p = atomic_load(&table[k]);
        if (p) {
            freed_sum += ((const block_hdr *)p)->tag;
            CHECK((size_t)(((const block_hdr *)p)->tag >> 56) == k / REGION,
                  "final: block in region %zu has the wrong owner", k / REGION);
            check_and_free(p, -1, "final");
            left++;
        }
    }
    free(table);
    long allocs = per_thread * nthreads;
    CHECK(freed + left == allocs, "blocks lost: %ld + %ld != %ld", freed, left, allocs);
    CHECK(freed_sum == alloc_sum, "tag sums differ: freed %llx, allocated %llx",
          (unsigned long long)freed_sum, (unsigned long long)alloc_sum);
    printf("threads=%d blocks=%ld remote_frees=%ld left_at_end=%ld mean_size=%.0f\n",
           nthreads, allocs, freed, left, (double)bytes / (double)allocs);
    bench_ok("xchurn", allocs);
    return 0;
}
