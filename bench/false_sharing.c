/* false_sharing - does the allocator make threads share cache lines?
 *
 *   false_sharing active|passive [THREADS] [--quick|--scale=X]   THREADS: 2
 *
 * active:  every thread repeatedly mallocs a small (8 B) object, writes it
 *          hard (WRITES read-modify-writes), checks it and frees it.  An
 *          allocator that carves objects for different threads out of one
 *          cache line makes the cores fight over that line.
 * passive: the main thread mallocs one small object per thread back to back
 *          (so they likely share a cache line) and hands one to each thread;
 *          each thread frees it and then repeatedly mallocs its own object
 *          and writes it hard.  An allocator that gives a thread back the
 *          object another thread freed keeps the sharing alive.
 * Without false sharing the time is flat; with it, several times longer.
 */
#include "bench.h"
#include <pthread.h>

#define OBJ 8
#define WRITES 500

static long rounds;
static int passive;

typedef struct { int id; void *handed; long sum; } targ;

static void *worker(void *arg)
{
    targ *a = arg;
    if (passive) free(a->handed);
    long sum = 0;
    for (long r = 0; r < rounds; r++) {
        volatile long *p = malloc(OBJ);
        CHECK_ALLOC(p, OBJ);
        *p = a->id;
        for (int w = 0; w < WRITES; w++) *p += 1;
        CHECK(*p == a->id + WRITES, "thread %d: object %p changed under us", a->id, (void *)p);
        sum += *p;
        free((void *)p);
    }
    a->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    if (argc < 2 || (strcmp(argv[1], "active") && strcmp(argv[1], "passive"))) {
        fprintf(stderr, "usage: false_sharing active|passive [THREADS]\n");
        return 2;
    }
    passive = !strcmp(argv[1], "passive");
    int n = argc > 2 ? atoi(argv[2]) : 2;
    if (n < 1 || n > 64) { fprintf(stderr, "bad thread count\n"); return 2; }
    rounds = bench_scaled(1.5e6, 1000);
    pthread_t th[64];
    targ args[64];
    void *handed[64];
    int shared_lines = 0;
    for (int i = 0; i < n; i++) handed[i] = passive ? malloc(OBJ) : NULL;
    for (int i = 1; i < n; i++)
        if (passive && ((uintptr_t)handed[i] >> 6) == ((uintptr_t)handed[i - 1] >> 6)) shared_lines++;
    for (int i = 0; i < n; i++) {
        args[i].id = i;
        args[i].handed = handed[i];
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].sum == rounds * (long)(i + WRITES), "thread %d sum", i);
    }
    printf("mode=%s threads=%d rounds=%ld handed_objects_sharing_a_line=%d\n",
           argv[1], n, rounds, shared_lines);
    bench_ok(passive ? "false_passive" : "false_active", rounds * n);
    return 0;
}
