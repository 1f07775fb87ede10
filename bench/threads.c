/* threads - many threads allocating privately: the scalability test.
 *
 *   threads N [uniform] [meet] [--quick|--scale=X]
 *
 * A fixed total amount of work is split over N threads.  Each thread keeps a
 * private working set of 4096 slots and replaces random ones with fresh
 * blocks (sizes skewed small, up to 4 KiB; with "uniform", any size from 16
 * B to 1 KiB alike); nothing is shared between threads, so an allocator that
 * scales keeps the wall time at T(1)/min(N, cores): on this 2-core machine,
 * 1 thread = T, 2, 4 and 8 threads = T/2.
 *
 * "uniform" is the pattern where the threads' blocks are most likely to
 * meet in one cache line in an allocator whose threads share memory: many
 * sizes, each with few blocks per thread, so every size's memory is reused
 * and handed around often. "meet" counts that, once, when every thread is
 * done and before the final frees: of all live blocks in address order,
 * the places where the next block belongs to another thread, and of those
 * the places where both threads write one line (the first block's last
 * byte shares a line with the second one's first word or the 8 bytes
 * before it, where a boundary-tag allocator keeps its header). Printed to
 * stderr. The suite's rows never ask for it: with it, the run's time
 * includes the count's sort.
 *
 * "own" counts the same thing over the whole run rather than at its end:
 * a table keeps, for each 64-byte line, the thread whose block last
 * covered it (from the 8 bytes before the block, a header's place, to its
 * last byte), and every malloc whose block covers a line another thread's
 * block covered last counts once. Each such malloc makes the thread fetch
 * lines the other wrote; a block that stays in one line with another
 * thread's reused block counts again at each reuse, which "meet" (one
 * look at the live blocks) cannot see. Printed to stderr per thread, with
 * the table's stores in the run's time (the suite never asks for it).
 * The table is indexed by address bits 6..29 (16 MiB, mapped on demand):
 * lines 1 GiB apart share an entry, which can only add to the count.
 */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define WSET 4096

static long ops_per_thread;
static int uniform; /* sizes 16..1024 alike, not skewed small */
static int meet;    /* count where the threads' blocks meet, at the end */
static _Atomic unsigned char *line_owner; /* "own": thread + 1 per line, or 0 */
#define OWN_LINES ((size_t)1 << 24)
static int nthreads;
static void **live_slot[256];
static size_t *live_size[256];
static pthread_barrier_t done;

typedef struct { uintptr_t a; size_t z; int t; } live_block;

static int by_address(const void *x, const void *y)
{
    uintptr_t a = ((const live_block *)x)->a, b = ((const live_block *)y)->a;
    return a < b ? -1 : a > b;
}

/* See "meet" above. Run by one thread while the others wait. */
static void count_meetings(void)
{
    size_t cap = (size_t)nthreads * WSET, m = 0, changes = 0, shared = 0;
    live_block *v = malloc(cap * sizeof *v);
    CHECK_ALLOC(v, cap * sizeof *v);
    for (int t = 0; t < nthreads; t++)
        for (int k = 0; k < WSET; k++)
            if (live_slot[t][k])
                v[m++] = (live_block){(uintptr_t)live_slot[t][k], live_size[t][k], t};
    qsort(v, m, sizeof *v, by_address);
    for (size_t i = 1; i < m; i++) {
        if (v[i].t == v[i - 1].t)
            continue;
        changes++;
        uintptr_t last = (v[i - 1].a + v[i - 1].z - 1) >> 6;
        if (last == v[i].a >> 6 || last == (v[i].a - 8) >> 6)
            shared++;
    }
    fprintf(stderr, "meet: live blocks %zu, thread changes in address order %zu, "
                    "of them in a line both write %zu\n", m, changes, shared);
    free(v);
}

/* one cache line per thread: a counter the workers bump on every free must
 * not share a line with another worker's (the benchmark's own false sharing
 * doubled every allocator's CPU time at 2 threads, mimalloc's only sometimes) */
typedef struct { _Alignas(64) int id; long checked, foreign; } targ;

/* See "own" above: does block p (z bytes) cover a line another thread's
 * block covered last? Marks its lines as thread id's. */
static int own_lines(int id, const void *p, size_t z)
{
    uintptr_t first = ((uintptr_t)p - 8) >> 6, last = ((uintptr_t)p + z - 1) >> 6;
    unsigned char me = (unsigned char)(id + 1);
    int foreign = 0;
    for (uintptr_t l = first; l <= last; l++) {
        _Atomic unsigned char *o = &line_owner[l & (OWN_LINES - 1)];
        unsigned char was = atomic_load_explicit(o, memory_order_relaxed);
        if (was != me) {
            foreign |= was != 0;
            atomic_store_explicit(o, me, memory_order_relaxed);
        }
    }
    return foreign;
}

static void *worker(void *arg)
{
    targ *a = arg;
    rng_t r;
    rng_seed(&r, 500 + (uint64_t)a->id);
    void **slot = calloc(WSET, sizeof *slot);
    size_t *size = calloc(WSET, sizeof *size);
    uint64_t *tag = calloc(WSET, sizeof *tag);
    CHECK(slot && size && tag, "calloc");
    for (long i = 0; i < ops_per_thread; i++) {
        unsigned k = (unsigned)rng_below(&r, WSET);
        if (slot[k]) {
            CHECK(block_ok(slot[k], size[k], tag[k]), "thread %d: block corrupted", a->id);
            free(slot[k]);
            a->checked++;
        }
        size[k] = uniform ? 16 + (size_t)rng_below(&r, 1009) : rng_small_size(&r, 7);
        slot[k] = malloc(size[k]);
        CHECK_ALLOC(slot[k], size[k]);
        if (line_owner)
            a->foreign += own_lines(a->id, slot[k], size[k]);
        tag[k] = (uint64_t)i;
        block_fill(slot[k], size[k], tag[k]);
    }
    if (meet) {
        live_slot[a->id] = slot;
        live_size[a->id] = size;
        pthread_barrier_wait(&done);
        if (a->id == 0)
            count_meetings();
        pthread_barrier_wait(&done);
    }
    for (int k = 0; k < WSET; k++) {
        if (slot[k]) {
            CHECK(block_ok(slot[k], size[k], tag[k]), "thread %d: block corrupted", a->id);
            free(slot[k]);
            a->checked++;
        }
    }
    free(slot);
    free(size);
    free(tag);
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    int n = argc > 1 ? atoi(argv[1]) : 1;
    int bad = n < 1 || n > 256;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "uniform") == 0)
            uniform = 1;
        else if (strcmp(argv[i], "meet") == 0)
            meet = 1;
        else if (strcmp(argv[i], "own") == 0)
            line_owner = (_Atomic unsigned char *)1; /* mapped below */
        else
            bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: threads N [uniform] [meet] [own]\n");
        return 2;
    }
    nthreads = n;
    if (line_owner) {
        void *t = mmap(NULL, OWN_LINES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        CHECK(t != MAP_FAILED, "mmap of the line table");
        line_owner = t;
    }
    if (meet)
        CHECK(pthread_barrier_init(&done, NULL, (unsigned)n) == 0, "pthread_barrier_init");
    long total = bench_scaled(32e6, 40000);
    ops_per_thread = total / n;
    pthread_t th[256];
    targ args[256];
    for (int i = 0; i < n; i++) {
        args[i].id = i;
        args[i].checked = 0;
        args[i].foreign = 0;
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
    }
    long checked = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        checked += args[i].checked;
        if (line_owner)
            fprintf(stderr, "own: thread %d: %ld of %ld mallocs covered a line another thread's "
                            "block covered last\n",
                    i, args[i].foreign, ops_per_thread);
    }
    CHECK(checked == ops_per_thread * n, "freed %ld of %ld blocks", checked, ops_per_thread * n);
    printf("threads=%d ops=%ld\n", n, ops_per_thread * n);
    bench_ok("threads", ops_per_thread * n);
    return 0;
}
