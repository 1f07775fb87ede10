/* The three smallest chunk sizes (32, 48 and 64 bytes) may cache 64 KiB a
 * slot, the other small sizes about 16 KiB: a thread that allocates
 * thousands of tiny blocks and frees them, over and over, keeps them in its
 * own stack (mimalloc-bench's sh8bench; tcache.c, tc_caps_init). The slot's
 * limit grows with its refills and overflows up to that cap (not past it
 * here: a batch installed whole may, tc_grow), and a thread's byte budget
 * smaller than the cap (UMALLOC_TCACHE_MAX, um_params.tcache_max) still
 * bounds it.
 */
// cflags: -pthread
#include <pthread.h>
#include <string.h>

#include "tcache.h"
#include "unit.h"

enum { N = 4000, ROUNDS = 3 };
static void *blk[N];

struct res {
    size_t bytes, slot, cs, limit, count, limit_bytes;
};

/* In a thread of its own: bursts of N blocks of `bytes`, all freed. */
static void *bursts(void *arg)
{
    struct res *r = arg;
    for (int k = 0; k < ROUNDS; k++) {
        for (int i = 0; i < N; i++) {
            blk[i] = malloc(r->bytes);
            U_CHECK(blk[i] != NULL, "malloc(%zu)", r->bytes);
            memset(blk[i], 0x5a, r->bytes);
        }
        for (int i = 0; i < N; i++)
            free(blk[i]);
    }
    r->slot = tc_req_index(r->bytes);
    r->cs = tc_slot_size(r->slot);
    r->limit = um_tcp->limit[r->slot];
    r->count = tc_count(um_tcp, r->slot);
    r->limit_bytes = um_tcp->limit_bytes;
    return NULL;
}

static struct res one(size_t bytes)
{
    struct res r = {bytes, 0, 0, 0, 0, 0};
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, bursts, &r) == 0, "pthread_create");
    pthread_join(t, NULL);
    printf("malloc(%zu): chunk %zu, limit %zu chunks (%zu bytes), %zu cached at the end\n", bytes,
           r.cs, r.limit, r.limit * r.cs, r.count);
    return r;
}

int main(void)
{
    unit_init_library();
    U_CHECK(RELAXED_LOAD(um_params.tcache_max) == 0, "run without UMALLOC_TCACHE_MAX");
    /* 8 and 16 bytes are both 32-byte chunks; 40 a 48-byte one, 56 64 */
    static const size_t tiny[] = {8, 16, 40, 56};
    for (size_t k = 0; k < sizeof tiny / sizeof tiny[0]; k++) {
        struct res r = one(tiny[k]);
        U_CHECK(r.cs <= 64, "malloc(%zu) is a chunk of %zu bytes", tiny[k], r.cs);
        /* the whole 64 KiB (2048, 1365, 1024 chunks); it was 16 KiB */
        U_CHECK(r.limit == 65536 / r.cs, "malloc(%zu): limit %zu chunks of %zu bytes", tiny[k],
                r.limit, r.cs);
    }
    /* a budget under the cap bounds the limit (and every limit together) */
    RELAXED_STORE(um_params.tcache_max, (size_t)40 << 10);
    struct res b = one(16);
    U_CHECK(b.limit * b.cs <= (size_t)40 << 10 && b.limit_bytes <= (size_t)40 << 10 &&
                b.limit * b.cs > (size_t)16 << 10,
            "a 40 KiB budget: limit %zu chunks of %zu bytes, %zu bytes in all", b.limit, b.cs,
            b.limit_bytes);
    RELAXED_STORE(um_params.tcache_max, 0);
    static const size_t small[] = {72, 200, 1000};
    for (size_t k = 0; k < sizeof small / sizeof small[0]; k++) {
        struct res r = one(small[k]);
        U_CHECK(r.cs > 64, "malloc(%zu) is a chunk of %zu bytes", small[k], r.cs);
        U_CHECK(r.limit * r.cs <= 16384 && r.limit >= 8,
                "malloc(%zu): limit %zu chunks of %zu bytes", small[k], r.limit, r.cs);
    }
    return U_DONE();
}
