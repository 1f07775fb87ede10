/* frag - fragmentation over time: a long-running program whose size mix
 * changes from phase to phase, with survivors scattered through the heap.
 *
 *   frag [--quick|--scale=X]
 *
 * Phases (each: random replace-churn over a slot table, then "thinning",
 * which frees a random 90-99% of everything live):
 *   small   16-128 B,   ~30 MB live
 *   medium  256-2 KiB,  ~55 MB live
 *   large   4-64 KiB,   ~65 MB live
 *   small2  16-256 B,   ~40 MB live   (can memory freed by other sizes be reused?)
 *   idle    400 ms with 1% of the blocks still live (is memory given back?)
 * A sampling thread reads /proc/self/statm every 100 ms.  Output lines:
 *   sample <ms> <rss_kb> <live_kb>       every 100 ms
 *   phase <name> <ms> <rss_kb> <live_kb> at the end of each phase
 *   final <rss_kb> <live_kb>
 * live_kb is what the program holds (requested bytes); rss_kb / live_kb is
 * the memory overhead.  The harness reports peak and final RSS and the curve.
 */
#include "bench.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define MAX_SAMPLES 4096

typedef struct { void *p; uint32_t size; uint32_t tag; } slot_t;

static slot_t *slots;
static long nslots_max;
static _Atomic long live_bytes;
static _Atomic int stop;
static double t0;
static struct { int ms; long rss, live; } samples[MAX_SAMPLES];
static _Atomic int nsamples;
static uint32_t next_tag = 1;

static void *sampler(void *arg)
{
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&stop)) {
        int n = atomic_load(&nsamples);
        if (n < MAX_SAMPLES) {
            samples[n].ms = (int)((bench_now() - t0) * 1000 + 0.5);
            samples[n].rss = bench_rss_kb();
            samples[n].live = atomic_load_explicit(&live_bytes, memory_order_relaxed) / 1024;
            atomic_store(&nsamples, n + 1);
        }
        next.tv_nsec += 100 * 1000 * 1000;
        if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

static void release(slot_t *s)
{
    CHECK(block_ok(s->p, s->size, s->tag), "block %p (%u B) corrupted", s->p, s->size);
    free(s->p);
    atomic_fetch_add_explicit(&live_bytes, -(long)s->size, memory_order_relaxed);
    s->p = NULL;
}

static void churn(rng_t *r, long n, long steps, size_t lo, size_t hi)
{
    double span = log2((double)hi / (double)lo);
    for (long i = 0; i < steps; i++) {
        slot_t *s = &slots[rng_below(r, (uint64_t)n)];
        if (s->p) release(s);
        double u = (double)(rng_next(r) >> 11) / (double)(1ull << 53);
        size_t size = (size_t)((double)lo * exp2(u * span));
        s->p = malloc(size);
        CHECK_ALLOC(s->p, size);
        s->size = (uint32_t)size;
        s->tag = next_tag++;
        block_fill(s->p, size, s->tag);
        atomic_fetch_add_explicit(&live_bytes, (long)size, memory_order_relaxed);
    }
}

static void thin(rng_t *r, double fraction)
{
    uint64_t cut = (uint64_t)(fraction * 1e6);
    for (long i = 0; i < nslots_max; i++)
        if (slots[i].p && rng_below(r, 1000000) < cut) release(&slots[i]);
}

static void phase_mark(const char *name)
{
    printf("phase %s %d %ld %ld\n", name, (int)((bench_now() - t0) * 1000 + 0.5),
           bench_rss_kb(), atomic_load(&live_bytes) / 1024);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    /* the scale shrinks the slot table (memory) but never grows it */
    double sc = bench_scale_value > 1 ? 1 : bench_scale_value;
    nslots_max = (long)(500000 * sc) < 5000 ? 5000 : (long)(500000 * sc);
    slots = mmap(NULL, (size_t)nslots_max * sizeof(slot_t), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(slots != MAP_FAILED, "mmap");
    t0 = bench_now();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, sampler, NULL) == 0, "pthread_create");
    rng_t r;
    rng_seed(&r, 31337);
    long n;

    n = nslots_max;                                  /* small: ~30 MB */
    churn(&r, n, bench_scaled(2.5e6, 10000), 16, 128);
    phase_mark("small");
    thin(&r, 0.90);

    n = nslots_max * 12 / 100;                       /* medium: 60k x ~900 B */
    churn(&r, n, bench_scaled(240000, 2000), 256, 2048);
    phase_mark("medium");
    thin(&r, 0.90);

    n = nslots_max * 6 / 1000;                       /* large: 3000 x ~22 KB */
    churn(&r, n, bench_scaled(12000, 200), 4096, 65536);
    phase_mark("large");
    thin(&r, 0.95);

    n = nslots_max * 8 / 10;                         /* small2: 400k x ~90 B */
    churn(&r, n, bench_scaled(2e6, 10000), 16, 256);
    phase_mark("small2");
    thin(&r, 0.99);

    double idle_until = bench_now() + (bench_scale_value < 0.1 ? 0.05 : 0.4);
    while (bench_now() < idle_until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    phase_mark("idle");
    long final_rss = bench_rss_kb(), final_live = atomic_load(&live_bytes) / 1024;

    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    long left = 0;
    for (long i = 0; i < nslots_max; i++)
        if (slots[i].p) { release(&slots[i]); left++; }
    CHECK(atomic_load(&live_bytes) == 0, "live byte count off by %ld", atomic_load(&live_bytes));
    int ns = atomic_load(&nsamples);
    for (int i = 0; i < ns; i++)
        printf("sample %d %ld %ld\n", samples[i].ms, samples[i].rss, samples[i].live);
    printf("final %ld %ld\n", final_rss, final_live);
    bench_ok("frag", (long)next_tag - 1);
    return 0;
}
