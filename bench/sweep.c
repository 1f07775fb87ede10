/* sweep - threads that fill a private table and sweep most of it free.
 *
 *   sweep N [order] [--quick|--scale=X]
 *
 * A fixed total amount of work is split over N threads, and so is a table
 * of 600,000 slots. Each thread fills its part of the table in runs of one
 * size at a time (a fixed mix, most of it 8-48 bytes, a few blocks of 1-64
 * KiB), writing a tag into each block's first word and its last byte; when
 * its part is full it frees four fifths of it in one sweep and keeps the
 * other fifth, a window that moves on by a fifth every time (the slots
 * below the window are freed in the order they were filled, those above it
 * from the end down), so a block lives for at most two fills. The frees read
 * nothing of the block except every 64th one's tag, which is checked.
 *
 * This is the shape of the classic SmartHeap benchmarks (mimalloc-bench's
 * sh6bench and sh8bench, written here from scratch): nothing is shared
 * between the threads, but everything a thread frees goes back through the
 * allocator's shared structures in bulk, and the program touches its blocks
 * in the order it got them. An allocator whose threads give each other
 * their freed memory in a mixed order makes each thread's consecutive
 * blocks lie far apart, and every step then misses in cache; one that gives
 * a thread its own memory back in order does not. With 1 and 2 threads
 * (the suite's rows), the second row's cost over the first is what the
 * second thread costs.
 *
 * "order" prints, per thread, the share of mallocs whose block lies more
 * than 256 bytes from that thread's previous block (stderr).
 */
#include "bench.h"
#include <pthread.h>

#define SLOTS 600000
#define MAX_THREADS 64

/* the size mix of one round: {bytes, blocks} */
static const struct { unsigned size, count; } mix[] = {
    {8, 800}, {16, 4000}, {24, 600}, {48, 900}, {72, 120}, {136, 100}, {200, 80},
    {520, 12}, {1000, 6}, {4000, 3}, {9000, 1}, {30000, 1}, {65000, 1},
};
#define NMIX (sizeof mix / sizeof mix[0])

static long rounds_per_thread;
static int nthreads, order;

typedef struct {
    _Alignas(64) int id;
    long mallocs, far, checked;
} targ;

static inline void tag_block(char *p, size_t size, uint64_t tag)
{
    memcpy(p, &tag, sizeof tag);
    if (size > sizeof tag)
        p[size - 1] = (char)tag;
}

/* Check block p against its tag (thread, mix entry and count, written by
 * worker); the mix entry gives the block's size, so its last byte too. */
static inline void check_slot(targ *a, const char *p, uint64_t tag)
{
    uint64_t t;
    memcpy(&t, p, sizeof t);
    size_t size = mix[(tag >> 40) & 0xff].size;
    CHECK(t == tag && (size <= sizeof t || p[size - 1] == (char)tag), "thread %d: block corrupted",
          a->id);
    a->checked++;
}

static void *worker(void *arg)
{
    targ *a = arg;
    long n = SLOTS / nthreads;
    struct { char *p; uint64_t tag; } *slot = calloc((size_t)n, sizeof *slot);
    CHECK(slot, "calloc");
    long fill = 0, win_lo = n, win_hi = n; /* the window kept over the next sweep */
    uint64_t seq = 0;
    uintptr_t last = 0;
    for (long r = 0; r < rounds_per_thread; r++) {
        unsigned k = (unsigned)(r % NMIX);
        for (unsigned c = 0; c < mix[k].count; c++) {
            if (fill == win_lo)
                fill = win_hi; /* skip the kept window */
            if (fill >= n) {
                /* full: keep the next fifth, free the rest */
                win_lo = win_hi >= n ? 0 : win_hi;
                win_hi = win_lo + n / 5 > n ? n : win_lo + n / 5;
                for (long i = 0; i < win_lo; i++) {
                    if ((i & 63) == 0)
                        check_slot(a, slot[i].p, slot[i].tag);
                    free(slot[i].p);
                }
                for (long i = n - 1; i >= win_hi; i--) {
                    if ((i & 63) == 0)
                        check_slot(a, slot[i].p, slot[i].tag);
                    free(slot[i].p);
                }
                fill = win_lo == 0 ? win_hi : 0;
            }
            char *p = malloc(mix[k].size);
            CHECK_ALLOC(p, mix[k].size);
            /* the tag: thread (bits 48-55), mix entry (40-47), count */
            uint64_t t = ((uint64_t)a->id << 48) | ((uint64_t)k << 40) | (++seq & (((uint64_t)1 << 40) - 1));
            tag_block(p, mix[k].size, t);
            if (order) {
                uintptr_t u = (uintptr_t)p;
                a->far += (u > last ? u - last : last - u) >= 256;
                last = u;
            }
            slot[fill].p = p;
            slot[fill].tag = t;
            fill++;
            a->mallocs++;
        }
    }
    /* the rest: every block still held, checked */
    for (long i = 0; i < n; i++) {
        if (i >= fill && (i < win_lo || i >= win_hi))
            continue;
        check_slot(a, slot[i].p, slot[i].tag);
        free(slot[i].p);
    }
    free(slot);
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    nthreads = argc > 1 ? atoi(argv[1]) : 1;
    int bad = nthreads < 1 || nthreads > MAX_THREADS;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "order") == 0)
            order = 1;
        else
            bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: sweep N (1..%d) [order] [--quick|--scale=X]\n", MAX_THREADS);
        return 2;
    }
    /* at least 3000 rounds in all (about 1.5 million blocks): even --quick
     * fills the table more than twice, so its sweeps run */
    rounds_per_thread = bench_scaled(78000.0, 3000) / nthreads;
    pthread_t t[MAX_THREADS];
    static targ a[MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        a[i].id = i;
        CHECK(pthread_create(&t[i], NULL, worker, &a[i]) == 0, "pthread_create");
    }
    long ops = 0, checked = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        ops += a[i].mallocs;
        checked += a[i].checked;
        if (order && a[i].mallocs)
            fprintf(stderr, "thread %d: %ld mallocs, %.2f%% more than 256 bytes from the one before\n",
                    i, a[i].mallocs, 100.0 * (double)a[i].far / (double)a[i].mallocs);
    }
    printf("threads %d, mallocs %ld, blocks checked %ld\n", nthreads, ops, checked);
    bench_ok("sweep", ops);
    return 0;
}
