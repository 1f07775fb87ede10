/* patterns - allocation patterns outside the suite, each small, for a hunt
 * of the cases where an allocator is many times slower or heavier than
 * its peers (docs/performance.md, "Patterns outside the suite"). Not run
 * by bench/run.py: compare them by hand, side by side, e.g.
 *
 *   gcc -O2 -pthread -o build/bench/patterns bench/patterns.c
 *   for l in build/libumalloc.so /usr/lib/x86_64-linux-gnu/libmimalloc.so.2; do
 *       /usr/bin/time -f "%e s %M KiB %R faults" env LD_PRELOAD=$l build/bench/patterns strings
 *   done
 *
 *   patterns NAME [THREADS]
 *
 * strings    200 strings of 1 MiB built by appends of 1-32 bytes (realloc)
 * vectors    2,000 vectors doubled from 16 B to 16 KiB, interleaved, 20 rounds
 * stack      4,000 blocks of 1 B-64 KiB in growing sizes, freed last to first, 100 rounds
 * pipe       a producer of 64-512 KiB blocks, a consumer that frees them (a ring of 64)
 * aligned    10,000 blocks of aligned_alloc(64, 64-512), then their frees, 100 rounds
 * cut        2,000 buffers of 64 KiB a round, each cut by realloc to 100-4,100 bytes, 20 rounds
 * names      500,000 strings of 5-44 bytes, freed in shuffled order, 4 rounds
 * medium     THREADS threads (default 4), each replacing 64 blocks of 1 B-64 KiB, 1M times
 *
 * The programs touch only what the pattern needs (a byte or a line of each
 * block), so an allocator that places a block elsewhere each round faults
 * pages another would not: a cost only where the program, too, leaves most
 * of its blocks untouched (read the faults with that in mind).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { uint64_t s; } rng;
static inline uint64_t next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "patterns: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "patterns: out of memory (realloc of %zu bytes)\n", n);
        exit(1);
    }
    return q;
}

static void strings(void)
{
    rng r = {88172645463325252ull};
    for (int k = 0; k < 200; k++) {
        size_t n = 0;
        char *s = NULL;
        while (n < ((size_t)1 << 20)) {
            n += 1 + next(&r) % 32;
            s = xrealloc(s, n);
            s[n - 1] = 1;
        }
        free(s);
    }
}

static void vectors(void)
{
    enum { V = 2000 };
    static char *v[V];
    static size_t c[V];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < V; i++) {
            c[i] = 16;
            v[i] = xmalloc(16);
        }
        for (int k = 0; k < 10; k++)
            for (int i = 0; i < V; i++) {
                c[i] *= 2;
                v[i] = xrealloc(v[i], c[i]);
                v[i][c[i] - 1] = 1;
            }
        for (int i = 0; i < V; i++)
            free(v[i]);
    }
}

static void stack(void)
{
    enum { N = 4000 };
    static void *v[N];
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < N; i++)
            v[i] = xmalloc(1 + (size_t)(i * 16) % 65536);
        for (int i = N - 1; i >= 0; i--)
            free(v[i]);
    }
}

#define RING 64
#define PIPE_BLOCKS 20000
static void *volatile ring[RING];
static volatile unsigned head, tail;

static void *pipe_consumer(void *arg)
{
    for (unsigned got = 0; got < PIPE_BLOCKS;) {
        unsigned h = __atomic_load_n(&head, __ATOMIC_ACQUIRE);
        for (; tail != h; got++) {
            free(ring[tail % RING]);
            __atomic_store_n(&tail, tail + 1, __ATOMIC_RELEASE);
        }
    }
    return arg;
}

static void pipe_(void)
{
    rng r = {7};
    pthread_t t;
    if (pthread_create(&t, NULL, pipe_consumer, NULL) != 0)
        exit(1);
    for (unsigned i = 0; i < PIPE_BLOCKS; i++) {
        while (head - __atomic_load_n(&tail, __ATOMIC_ACQUIRE) >= RING)
            ;
        size_t n = (64 << 10) + next(&r) % (448 << 10);
        char *p = xmalloc(n);
        p[0] = 1;
        p[n - 1] = 1;
        ring[head % RING] = p;
        __atomic_store_n(&head, head + 1, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
}

static void aligned(void)
{
    enum { N = 10000 };
    static void *v[N];
    rng r = {11};
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < N; i++) {
            v[i] = aligned_alloc(64, 64 * (1 + next(&r) % 8));
            if (!v[i] || (uintptr_t)v[i] % 64) {
                fprintf(stderr, "patterns: aligned_alloc failed or misaligned\n");
                exit(1);
            }
        }
        for (int i = 0; i < N; i++)
            free(v[i]);
    }
}

static void cut(void)
{
    enum { N = 2000 };
    static void *v[N];
    rng r = {13};
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            v[i] = xmalloc(65536);
            memset(v[i], 1, 100);
            v[i] = xrealloc(v[i], 100 + next(&r) % 4000);
        }
        for (int i = 0; i < N; i++)
            free(v[i]);
    }
}

static void names(void)
{
    enum { N = 500000 };
    static char *v[N];
    rng r = {17};
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t l = 5 + next(&r) % 40;
            v[i] = xmalloc(l);
            memset(v[i], 'x', l);
        }
        for (int i = N - 1; i > 0; i--) {
            int j = (int)(next(&r) % (uint64_t)(i + 1));
            char *t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        for (int i = 0; i < N; i++)
            free(v[i]);
    }
}

static void *medium_worker(void *arg)
{
    rng r = {(uint64_t)(uintptr_t)arg * 2654435761u + 1};
    void *v[64] = {0};
    for (int i = 0; i < 1000000; i++) {
        int k = (int)(next(&r) % 64);
        free(v[k]);
        size_t n = 1 + next(&r) % 65536;
        v[k] = xmalloc(n);
        ((char *)v[k])[0] = 1;
    }
    for (int k = 0; k < 64; k++)
        free(v[k]);
    return NULL;
}

static void medium(int threads)
{
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, medium_worker, (void *)(uintptr_t)(i + 1)) != 0)
            exit(1);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (threads < 1 || threads > 64)
        threads = 4;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!strcmp(w, "strings"))
        strings();
    else if (!strcmp(w, "vectors"))
        vectors();
    else if (!strcmp(w, "stack"))
        stack();
    else if (!strcmp(w, "pipe"))
        pipe_();
    else if (!strcmp(w, "aligned"))
        aligned();
    else if (!strcmp(w, "cut"))
        cut();
    else if (!strcmp(w, "names"))
        names();
    else if (!strcmp(w, "medium"))
        medium(threads);
    else {
        fprintf(stderr, "usage: patterns strings|vectors|stack|pipe|aligned|cut|names|medium [THREADS]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%s %.3f s\n", w, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9);
    return 0;
}
