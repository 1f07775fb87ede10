/* prodcons_batch - producer/consumer that hands over whole batches: the
 * producer allocates a batch of small blocks and hands the whole batch to
 * the consumer, which checks and frees them all; repeated (a loader thread
 * that builds a large message or result set that another thread retires in
 * one go).
 *
 *   prodcons_batch [BATCH] [--quick|--scale=X]       BATCH defaults to 100000
 *
 * Two batch buffers alternate, so the producer fills one while the consumer
 * empties the other; the hand-off is a mutex and a condition variable per
 * batch (negligible next to BATCH mallocs).  Sizes are skewed small,
 * 16-255 B (half 16-31 B, a quarter 32-63 B, ...).  Every block carries a
 * tag (its sequence number) and its size; the consumer frees the blocks in
 * allocation order, checking each one first, and the counts must match.
 */
#include "bench.h"
#include <pthread.h>

#define MAX_BATCH 10000000

enum { EMPTY, FULL };

typedef struct {
    void **p;
    uint32_t *size;
    uint64_t tag0;
    long n;
    int state;
} buffer_t;

static buffer_t buf[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long batch, nbatches;
static long consumed;

static void wait_for(buffer_t *b, int state)
{
    pthread_mutex_lock(&mu);
    while (b->state != state)
        pthread_cond_wait(&changed, &mu);
    pthread_mutex_unlock(&mu);
}

static void set_state(buffer_t *b, int state)
{
    pthread_mutex_lock(&mu);
    b->state = state;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
}

static void *producer(void *arg)
{
    (void)arg;
    rng_t r;
    rng_seed(&r, 1234);
    for (long k = 0; k < nbatches; k++) {
        buffer_t *b = &buf[k % 2];
        wait_for(b, EMPTY);
        b->tag0 = (uint64_t)k * (uint64_t)batch;
        for (long i = 0; i < batch; i++) {
            size_t size = rng_small_size(&r, 3);
            void *p = malloc(size);
            CHECK_ALLOC(p, size);
            block_fill(p, size, b->tag0 + (uint64_t)i);
            b->p[i] = p;
            b->size[i] = (uint32_t)size;
        }
        b->n = batch;
        set_state(b, FULL);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (long k = 0; k < nbatches; k++) {
        buffer_t *b = &buf[k % 2];
        wait_for(b, FULL);
        CHECK(b->tag0 == (uint64_t)k * (uint64_t)batch && b->n == batch,
              "batch %ld out of order", k);
        for (long i = 0; i < b->n; i++) {
            CHECK(block_ok(b->p[i], b->size[i], b->tag0 + (uint64_t)i),
                  "batch %ld: block %ld (%u B) at %p corrupted", k, i, b->size[i], b->p[i]);
            free(b->p[i]);
        }
        consumed += b->n;
        set_state(b, EMPTY);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    argc = bench_init(argc, argv);
    batch = argc > 1 ? atol(argv[1]) : 100000;
    if (batch < 1 || batch > MAX_BATCH) {
        fprintf(stderr, "usage: prodcons_batch [BATCH (1..%d)] [--quick|--scale=X]\n",
                MAX_BATCH);
        return 2;
    }
    nbatches = bench_scaled(80.0 * 100000 / (double)batch, 4);
    for (int i = 0; i < 2; i++) {
        buf[i].p = calloc((size_t)batch, sizeof *buf[i].p);
        buf[i].size = calloc((size_t)batch, sizeof *buf[i].size);
        CHECK(buf[i].p && buf[i].size, "calloc of the batch buffers failed");
        buf[i].state = EMPTY;
    }
    pthread_t pt, ct;
    CHECK(pthread_create(&ct, NULL, consumer, NULL) == 0, "pthread_create");
    CHECK(pthread_create(&pt, NULL, producer, NULL) == 0, "pthread_create");
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    for (int i = 0; i < 2; i++) {
        free(buf[i].p);
        free(buf[i].size);
    }
    long blocks = batch * nbatches;
    CHECK(consumed == blocks, "consumer freed %ld blocks, producer made %ld", consumed, blocks);
    printf("batch=%ld batches=%ld blocks=%ld\n", batch, nbatches, blocks);
    bench_ok("prodcons-batch", blocks);
    return 0;
}
