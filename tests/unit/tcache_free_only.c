/* A thread that only frees a small size (a consumer) keeps at most one
 * flush batch of it in its cache (8 KiB worth, 8..64 chunks: TC_FREE_BATCH
 * in tcache.c); a thread that allocates and frees it grows its slot past
 * that, towards the per-size cap. Before, a free-only slot grew to the cap
 * (204 chunks of 80 bytes here).
 * cflags: -pthread
 */
#include <pthread.h>
#include <string.h>

#include "tcache.h"
#include "unit.h"

enum { N = 2000 };
static void *blk[N];
static size_t free_only_count, free_only_limit, reused_limit;

static void *consumer(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    for (int k = 0; k < N; k++)
        free(blk[k]);
    free_only_count = tc_count(um_tcp, i);
    free_only_limit = um_tcp->limit[i];
    return NULL;
}

static void *reuser(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    /* allocate and free the size itself, in bursts: the slot refills, so
     * overflows grow it */
    for (int r = 0; r < 20; r++) {
        for (int k = 0; k < N; k++)
            blk[k] = malloc(64);
        for (int k = 0; k < N; k++)
            free(blk[k]);
    }
    reused_limit = um_tcp->limit[i];
    return NULL;
}

int main(void)
{
    size_t i = tc_req_index(64), cs = tc_slot_size(i);
    size_t batch = 8192 / cs;
    batch = batch < 8 ? 8 : batch > 64 ? 64 : batch;
    for (int k = 0; k < N; k++) {
        blk[k] = malloc(64);
        U_CHECK(blk[k] != NULL, "malloc");
        memset(blk[k], 0x11, 64);
    }
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, consumer, (void *)(uintptr_t)i) == 0, "thread");
    pthread_join(t, NULL);
    printf("slot %zu (%zu-byte chunks): a free-only thread holds %zu (limit %zu, batch %zu)\n", i,
           cs, free_only_count, free_only_limit, batch);
    U_CHECK(free_only_limit <= batch && free_only_count <= batch,
            "free-only slot: limit %zu, %zu cached, more than a batch of %zu", free_only_limit,
            free_only_count, batch);
    U_CHECK(free_only_limit >= 8, "it still batches its flushes: limit %zu", free_only_limit);
    U_CHECK(pthread_create(&t, NULL, reuser, (void *)(uintptr_t)i) == 0, "thread");
    pthread_join(t, NULL);
    printf("a thread reusing the size grows its limit to %zu\n", reused_limit);
    U_CHECK(reused_limit > batch, "a reused slot grows past a batch: limit %zu", reused_limit);
    return U_DONE();
}
