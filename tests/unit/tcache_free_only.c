/* A thread that only frees a size (a consumer, or a thread freeing what
 * others made) holds at most one flush batch of it (about 4 KiB: small sizes
 * 4..64 chunks, medium ones 1..4; TC_FREE_BATCH in tcache.c): first on the
 * slot's outbound list, never on its stack, so a thread's first malloc of
 * the size does not get back a block another thread allocated and handed
 * it (bench/false_sharing passive: two workers writing one cache line for
 * ever); after a whole batch (a consumer), a small size on a stack of one
 * batch that is handed over whole when full, a medium one still on the
 * list (it never holds a whole batch: tests/api/tcache_consumer_med). A
 * thread that allocates and frees the size grows its slot past a batch,
 * towards the per-size cap.
 * Before: a free-only slot grew to the cap (204 chunks of 80 bytes here; 20
 * chunks of 1.6 KiB), then to 8 KiB; its chunks were popped by the next
 * malloc.
 */
// cflags: -pthread
#include <pthread.h>
#include <string.h>

#include "tcache.h"
#include "unit.h"

enum { N = 2000 };
static void *blk[N];
static size_t req, slot, max_out, max_count, end_limit, reused_limit;
static void *handed, *first_own;

static void *consumer(void *arg)
{
    (void)arg;
    for (int k = 0; k < N; k++) {
        free(blk[k]);
        if (um_tcp->out_n[slot] > max_out)
            max_out = um_tcp->out_n[slot];
        if (tc_count(um_tcp, slot) > max_count)
            max_count = tc_count(um_tcp, slot);
    }
    end_limit = um_tcp->limit[slot];
    return NULL;
}

/* handed a block another thread allocated: frees it, then allocates */
static void *worker(void *arg)
{
    (void)arg;
    free(handed);
    first_own = malloc(req);
    free(first_own);
    return NULL;
}

static void *reuser(void *arg)
{
    (void)arg;
    /* allocate and free the size itself, in bursts: the slot refills, so
     * overflows grow it */
    for (int r = 0; r < 20; r++) {
        for (int k = 0; k < N; k++)
            blk[k] = malloc(req);
        for (int k = 0; k < N; k++)
            free(blk[k]);
    }
    reused_limit = um_tcp->limit[slot];
    return NULL;
}

static void one_size(size_t bytes)
{
    req = bytes;
    size_t nb = request2size(bytes);
    slot = nb <= TC_MAX_CHUNK ? tc_req_index(bytes) : tc_med_index(nb);
    size_t cs = tc_slot_size(slot), batch = 4096 / cs;
    if (slot < TC_MED_FIRST)
        batch = batch < 4 ? 4 : batch > 64 ? 64 : batch;
    else if (batch < 1)
        batch = 1;
    for (int k = 0; k < N; k++) {
        blk[k] = malloc(bytes);
        U_CHECK(blk[k] != NULL, "malloc");
        memset(blk[k], 0x11, bytes);
    }
    handed = malloc(bytes);
    max_out = max_count = 0;
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, consumer, NULL) == 0, "thread");
    pthread_join(t, NULL);
    printf("slot %zu (%zu-byte chunks): a free-only thread held up to %zu on its way out and %zu "
           "cached (batch %zu, limit %zu)\n",
           slot, cs, max_out, max_count, batch, end_limit);
    U_CHECK(max_out + 1 == batch, "the first batch goes out whole: up to %zu held (batch %zu)", max_out,
            batch);
    size_t stack = slot < TC_MED_FIRST ? batch : 0; /* a medium consumer's frees stay on the list */
    U_CHECK(end_limit == stack && max_count <= stack,
            "a consumer's slot: limit %zu, up to %zu cached, its stack is %zu", end_limit, max_count, stack);
    U_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "thread");
    pthread_join(t, NULL);
    U_CHECK(first_own != handed, "the thread's first malloc(%zu) returned the block it had just freed",
            bytes);
    U_CHECK(pthread_create(&t, NULL, reuser, NULL) == 0, "thread");
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
