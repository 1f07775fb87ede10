// variants: release debug
// cflags: -pthread
// A medium class keeps at most about 8 KiB of chunks in a thread's cache
// (two chunks from 2816 bytes up), however many blocks of it the thread
// frees: the rest goes to the central cache, where other sizes can get it
// back through the bins. For each size a new thread allocates and frees 48
// blocks at a time, four rounds (the slot's limit grows at each refill and
// overflow until its cap; a block kept after the first batch stops them
// bordering top, where a free could trim instead), and the caches' bytes,
// read from malloc_info's <total type="tcache" .../> while the thread is
// alive, may exceed what they were when the thread started (main's idle
// cache, and the thread's own blocks of malloc_info's stream: read twice
// first, so that they are in place) by no more than that. (The stream's
// buffer grows by realloc and is cut to its length at the end: since a
// medium block cut to under half moves, src/malloc.c realloc_heap, the
// thread's cache keeps the buffer's chunk, which main's reading before the
// thread started could not count.)
// With the earlier caps (~32 KiB a class) a 1100-byte class kept 27 chunks
// and a 2000-byte one 6 (12 KiB, over the 8 KiB bound).
#include "../common.h"
#include <pthread.h>

enum { N = 48 };

static void *worker(void *arg)
{
    size_t s = *(size_t *)arg;
    static void *v[N];
    void *barrier = NULL;
    (void)t_info_total("tcache");
    size_t before = t_info_total("tcache");
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            v[i] = malloc(s);
            CHECK(v[i] != NULL);
            memset(v[i], i, 64);
        }
        if (round == 0)
            CHECK((barrier = malloc(64)) != NULL);
        for (int i = 0; i < N; i++)
            free(v[i]);
    }
    size_t all = t_info_total("tcache"), mine = all > before ? all - before : 0;
    /* the class's chunk is at most 12.5% above the request (+ header) */
    size_t chunk = s + s / 8 + 16, bound = 2 * chunk > 8192 ? 2 * chunk : 8192;
    printf("%zu B: the thread caches %zu bytes (bound %zu)\n", s, mine, bound);
    EXPECTF(mine <= bound, "%zu-byte blocks: the thread caches %zu bytes, over %zu", s, mine, bound);
    free(barrier);
    return NULL;
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's cache classes");
    static size_t sizes[] = {1100, 2000, 3000, 4000, 4600, 6000, 20000, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, worker, &sizes[k]) == 0);
        CHECK(pthread_join(t, NULL) == 0);
    }
    return t_done();
}
