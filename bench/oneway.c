/* oneway - one-way producer/consumer: some threads only allocate, the others
 * only free what they are handed (a pipeline stage that parses requests
 * into blocks for a pool of workers that consume them).
 *
 *   oneway [PRODUCERS [CONSUMERS]] [--quick|--scale=X]     defaults 2 2
 *
 * Each producer allocates blocks of uniformly random size 16-512 B, writes a
 * tag (producer id, sequence number) and its size into each, and collects
 * them into a batch of 256; a full batch goes onto one shared bounded queue
 * (a mutex and two condition variables, taken once per batch, so the
 * hand-off costs little next to 256 mallocs and frees).  Consumers take
 * batches off the queue, check every block and free it.  The batch
 * containers are a fixed static pool (64), which bounds the blocks in
 * flight and keeps the harness's own memory out of the allocator.  At the
 * end, the number of blocks and the sum of their tags that the consumers saw
 * must equal what the producers made.
 */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>

#define BATCH 256
#define NBATCH 64
#define MAXT 32

typedef struct {
    void *p[BATCH];
    uint32_t size[BATCH];
    uint64_t tag0;          /* tags of the batch: tag0, tag0 + 1, ... */
    int n;
} batch_t;

typedef struct {            /* bounded FIFO of batch indices (-1 = stop) */
    int buf[NBATCH + MAXT];
    unsigned head, tail;    /* head - tail = items */
    pthread_cond_t nonempty;
} queue_t;

static batch_t pool[NBATCH];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static queue_t fullq = { .nonempty = PTHREAD_COND_INITIALIZER };
static queue_t emptyq = { .nonempty = PTHREAD_COND_INITIALIZER };
static long per_producer;
static _Atomic long consumed;
static _Atomic uint64_t consumed_tag_sum;

/* Neither queue can overflow: NBATCH batches plus at most MAXT stop marks
 * exist in all. */
static void put(queue_t *q, int v)
{
    pthread_mutex_lock(&mu);
    q->buf[q->head++ % (NBATCH + MAXT)] = v;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&mu);
}

static int get(queue_t *q)
{
    pthread_mutex_lock(&mu);
    while (q->head == q->tail)
        pthread_cond_wait(&q->nonempty, &mu);
    int v = q->buf[q->tail++ % (NBATCH + MAXT)];
    pthread_mutex_unlock(&mu);
    return v;
}

static uint64_t tag_of(int producer, long seq)
{
    return ((uint64_t)(producer + 1) << 48) | (uint64_t)seq;
}

static void *producer(void *arg)
{
    int id = (int)(intptr_t)arg;
    rng_t r;
    rng_seed(&r, 900 + (uint64_t)id);
    long seq = 0;
    while (seq < per_producer) {
        batch_t *b = &pool[get(&emptyq)];
        b->tag0 = tag_of(id, seq);
        int n = per_producer - seq < BATCH ? (int)(per_producer - seq) : BATCH;
        for (int i = 0; i < n; i++) {
            size_t size = 16 + (size_t)rng_below(&r, 512 - 16 + 1);
            void *p = malloc(size);
            CHECK_ALLOC(p, size);
            block_fill(p, size, b->tag0 + (uint64_t)i);
            b->p[i] = p;
            b->size[i] = (uint32_t)size;
        }
        b->n = n;
        seq += n;
        put(&fullq, (int)(b - pool));
    }
    return NULL;
}

static void *consumer(void *arg)
{
    int id = (int)(intptr_t)arg;
    long count = 0;
    uint64_t sum = 0;
    for (;;) {
        int k = get(&fullq);
        if (k < 0) break;
        batch_t *b = &pool[k];
        for (int i = 0; i < b->n; i++) {
            uint64_t tag = b->tag0 + (uint64_t)i;
            CHECK(block_ok(b->p[i], b->size[i], tag),
                  "consumer %d: block %p (%u B, tag %llx) corrupted", id, b->p[i],
                  b->size[i], (unsigned long long)tag);
            free(b->p[i]);
            sum += tag;
        }
        count += b->n;
        put(&emptyq, k);
    }
    atomic_fetch_add(&consumed, count);
    atomic_fetch_add(&consumed_tag_sum, sum);
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    int np = argc > 1 ? atoi(argv[1]) : 2;
    int nc = argc > 2 ? atoi(argv[2]) : 2;
    if (np < 1 || nc < 1 || np > MAXT || nc > MAXT) {
        fprintf(stderr, "usage: oneway [PRODUCERS [CONSUMERS]] (1..%d each)\n", MAXT);
        return 2;
    }
    long total = bench_scaled(12e6, 40000);
    per_producer = total / np;
    for (int i = 0; i < NBATCH; i++) put(&emptyq, i);
    pthread_t pt[MAXT], ct[MAXT];
    for (int i = 0; i < nc; i++)
        CHECK(pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i) == 0, "pthread_create");
    for (int i = 0; i < np; i++)
        CHECK(pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i) == 0, "pthread_create");
    for (int i = 0; i < np; i++) pthread_join(pt[i], NULL);
    for (int i = 0; i < nc; i++) put(&fullq, -1);
    for (int i = 0; i < nc; i++) pthread_join(ct[i], NULL);

    long made = per_producer * np;
    uint64_t want = 0;
    for (int i = 0; i < np; i++)   /* sum of tag_of(i, 0 .. per_producer-1) */
        want += (uint64_t)per_producer * tag_of(i, 0)
                + (uint64_t)per_producer * (uint64_t)(per_producer - 1) / 2;
    CHECK(atomic_load(&consumed) == made, "consumers freed %ld blocks, producers made %ld",
          atomic_load(&consumed), made);
    CHECK(atomic_load(&consumed_tag_sum) == want, "tag sum %llx, expected %llx",
          (unsigned long long)atomic_load(&consumed_tag_sum), (unsigned long long)want);
    printf("producers=%d consumers=%d blocks=%ld batch=%d\n", np, nc, made, BATCH);
    bench_ok("oneway", made);
    return 0;
}
