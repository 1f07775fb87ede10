/* A thread that only frees a size (a consumer) keeps at most one flush
 * batch of it in its cache (about 4 KiB: small sizes 4..64 chunks, medium
 * ones 2..4; TC_FREE_BATCH in tcache.c) and, when that overflows, hands
 * all of it to the central cache; a thread that allocates and frees the
 * size grows its slot past that, towards the per-size cap. Before, a
 * free-only slot grew to the cap (204 chunks of 80 bytes here; 20 chunks
 * of 1.6 KiB), then a small one to 8 KiB, keeping a quarter on overflow.
 * cflags: -pthread
 */
#include <pthread.h>
#include <string.h>

#include "tcache.h"
#include "unit.h"

enum { N = 2000, EXTRA = 200 };
static void *blk[N + EXTRA];
static size_t req, free_only_count, free_only_limit, after_overflow, reused_limit;

static void *consumer(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    int k = 0;
    for (; k < N; k++)
        free(blk[k]);
    free_only_count = tc_count(um_tcp, i);
    free_only_limit = um_tcp->limit[i];
    /* fill the slot to its limit, then overflow it once */
    while (k < N + EXTRA - 1 && tc_count(um_tcp, i) < um_tcp->limit[i])
        free(blk[k++]);
    free(blk[k++]);
    after_overflow = tc_count(um_tcp, i);
    while (k < N + EXTRA)
        free(blk[k++]);
    return NULL;
}

static void *reuser(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    /* allocate and free the size itself, in bursts: the slot refills, so
     * overflows grow it */
    for (int r = 0; r < 20; r++) {
        for (int k = 0; k < N; k++)
            blk[k] = malloc(req);
        for (int k = 0; k < N; k++)
            free(blk[k]);
    }
    reused_limit = um_tcp->limit[i];
    return NULL;
}

static void one_size(size_t bytes)
{
    req = bytes;
    size_t nb = request2size(bytes);
    size_t i = nb <= TC_MAX_CHUNK ? tc_req_index(bytes) : tc_med_index(nb), cs = tc_slot_size(i);
    size_t batch = 4096 / cs;
    if (i < TC_MED_FIRST)
        batch = batch < 4 ? 4 : batch > 64 ? 64 : batch;
    else if (batch < 2)
        batch = 2;
    for (int k = 0; k < N + EXTRA; k++) {
        blk[k] = malloc(bytes);
        U_CHECK(blk[k] != NULL, "malloc");
        memset(blk[k], 0x11, bytes);
    }
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, consumer, (void *)(uintptr_t)i) == 0, "thread");
    pthread_join(t, NULL);
    printf("slot %zu (%zu-byte chunks): a free-only thread holds %zu (limit %zu, batch %zu)\n", i,
           cs, free_only_count, free_only_limit, batch);
    U_CHECK(free_only_limit <= batch && free_only_count <= batch,
            "free-only slot: limit %zu, %zu cached, more than a batch of %zu", free_only_limit,
            free_only_count, batch);
    U_CHECK(free_only_limit >= (i < TC_MED_FIRST ? 4u : 2u), "it still batches its flushes: limit %zu",
            free_only_limit);
    U_CHECK(after_overflow == 1, "an overflow of the free-only slot kept %zu chunks (only the new one stays)",
            after_overflow - 1);
    U_CHECK(pthread_create(&t, NULL, reuser, (void *)(uintptr_t)i) == 0, "thread");
    pthread_join(t, NULL);
    printf("a thread reusing the size grows its limit to %zu\n", reused_limit);
    U_CHECK(reused_limit > batch, "a reused slot grows past a batch: limit %zu", reused_limit);
}

int main(void)
{
    one_size(64);
    one_size(1536);
    return U_DONE();
}
