/* prodcons - producer -> consumer across threads: blocks are allocated in
 * one thread and freed in another (message queues, pipelines, request
 * handoff to worker pools).
 *
 *   prodcons [PAIRS] [--quick|--scale=X]        PAIRS defaults to 1
 *
 * Each pair has a bounded single-producer/single-consumer ring of 1024
 * messages.  The producer allocates messages of 16 B-4 KiB (skewed small),
 * stamps them with a sequence number and fills them; the consumer checks the
 * order and contents, keeps the last 256 messages in a window (so frees lag
 * behind allocations, as with buffered work) and frees the oldest.
 */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RING 1024
#define WINDOW 256

typedef struct {
    _Alignas(64) _Atomic unsigned long head;   /* written by producer */
    _Alignas(64) _Atomic unsigned long tail;   /* written by consumer */
    _Alignas(64) void *slot[RING];
    long count;
    int id;
} ring_t;

static void *producer(void *arg)
{
    ring_t *q = arg;
    rng_t r;
    rng_seed(&r, 77 + (uint64_t)q->id);
    unsigned long head = 0;
    for (long i = 0; i < q->count; i++) {
        size_t size = rng_small_size(&r, 7);
        unsigned char *m = malloc(size);
        CHECK_ALLOC(m, size);
        block_fill(m, size, (uint64_t)i);
        if (size > 32) m[16] = (unsigned char)(i * 7);
        while (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= RING)
            sched_yield();
        q->slot[head % RING] = m;
        atomic_store_explicit(&q->head, ++head, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    ring_t *q = arg;
    void *window[WINDOW] = {0};
    unsigned long tail = 0;
    for (long i = 0; i < q->count; i++) {
        while (atomic_load_explicit(&q->head, memory_order_acquire) == tail)
            sched_yield();
        unsigned char *m = q->slot[tail % RING];
        atomic_store_explicit(&q->tail, ++tail, memory_order_release);
        CHECK(block_ok_self(m) && ((block_hdr *)m)->tag == (uint64_t)i,
              "pair %d: message %ld corrupted or out of order", q->id, i);
        if (((block_hdr *)m)->size > 32)
            CHECK(m[16] == (unsigned char)(i * 7), "pair %d: message %ld body", q->id, i);
        void *old = window[i % WINDOW];
        window[i % WINDOW] = m;
        free(old);
    }
    for (int i = 0; i < WINDOW; i++) free(window[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    int pairs = argc > 1 ? atoi(argv[1]) : 1;
    if (pairs < 1 || pairs > 64) { fprintf(stderr, "bad pair count\n"); return 2; }
    long total = bench_scaled(6e6, 20000);
    ring_t *q = aligned_alloc(64, sizeof(ring_t) * (size_t)pairs);
    CHECK_ALLOC(q, sizeof(ring_t) * pairs);
    memset(q, 0, sizeof(ring_t) * (size_t)pairs);
    pthread_t pt[64], ct[64];
    for (int i = 0; i < pairs; i++) {
        q[i].count = total / pairs;
        q[i].id = i;
        CHECK(pthread_create(&ct[i], NULL, consumer, &q[i]) == 0, "pthread_create");
        CHECK(pthread_create(&pt[i], NULL, producer, &q[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < pairs; i++) {
        pthread_join(pt[i], NULL);
        pthread_join(ct[i], NULL);
    }
    long ops = (total / pairs) * pairs;
    free(q);
    printf("pairs=%d messages=%ld\n", pairs, ops);
    bench_ok("prodcons", ops);
    return 0;
}
