/* Two threads that contend for the arena's lock: one allocates blocks of
 * 64-512 KiB (from the heap once the dynamic mmap threshold has risen),
 * the other frees them as they come, over a ring of 64. For
 * arena_cpus_once.sh, which counts the program's system calls. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define Q 64
#define N 20000
static void *volatile ring[Q];
static volatile unsigned head, tail;

static void *consumer(void *arg)
{
    for (unsigned got = 0; got < N;) {
        unsigned h = __atomic_load_n(&head, __ATOMIC_ACQUIRE);
        for (; tail != h; got++) {
            free(ring[tail % Q]);
            __atomic_store_n(&tail, tail + 1, __ATOMIC_RELEASE);
        }
    }
    return arg;
}

int main(void)
{
    uint64_t x = 88172645463325252ull;
    pthread_t t;
    if (pthread_create(&t, NULL, consumer, NULL) != 0)
        return 1;
    for (unsigned i = 0; i < N; i++) {
        while (head - __atomic_load_n(&tail, __ATOMIC_ACQUIRE) >= Q)
            ;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (64 << 10) + x % (448 << 10);
        char *p = malloc(n);
        if (!p)
            return 1;
        p[0] = 1, p[n - 1] = 1;
        ring[head % Q] = p;
        __atomic_store_n(&head, head + 1, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    printf("%u blocks\n", (unsigned)N);
    return 0;
}
