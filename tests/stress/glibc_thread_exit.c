// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Mirrors glibc's tst-malloc-thread-exit: with M_ARENA_MAX 8, two outer
// threads keep starting and joining groups of short-lived threads, half of
// which allocate before a barrier and free after it, half allocate after
// it; thread exit (cache flush, arena detach) races with arena use.
#include "stress_common.h"
#include <pthread.h>
#include <stdatomic.h>

enum { INNER = 4 };
static atomic_int stop;
static atomic_long rounds;

static void *malloc_first(void *arg)
{
    void *volatile p = malloc(32);
    if (!p)
        abort();
    pthread_barrier_wait(arg);
    free(p);
    return NULL;
}

static void *wait_first(void *arg)
{
    pthread_barrier_wait(arg);
    void *volatile p = malloc(32);
    if (!p)
        abort();
    free(p);
    return NULL;
}

static void *outer(void *arg)
{
    (void)arg;
    pthread_t t[INNER];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, INNER + 1);
        for (int i = 0; i < INNER; i++)
            if (pthread_create(&t[i], NULL, i % 2 ? wait_first : malloc_first, &b) != 0)
                abort();
        pthread_barrier_wait(&b);
        for (int i = 0; i < INNER; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&b);
        atomic_fetch_add(&rounds, 1);
    }
    return NULL;
}

int main(void)
{
    if (mallopt(M_ARENA_MAX, 8) != 1) {
        fprintf(stderr, "mallopt(M_ARENA_MAX, 8) failed\n");
        return 1;
    }
    pthread_t o[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&o[i], NULL, outer, NULL) != 0)
            return 1;
    struct timespec ts = {getenv("UMALLOC_TEST_DEBUG") ? 1 : 3, 0};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(o[i], NULL);
    printf("%ld rounds of %d threads\n", atomic_load(&rounds), INNER);
    return atomic_load(&rounds) > 0 ? 0 : 1;
}
