// mmap_cache_threads.c - 4 threads each build and free blocks of 33-40 MiB
// (past the dynamic threshold's reach, so they stay mapped and the mapping
// cache keeps and hands out their mappings), grow some by realloc, and read
// back a stamp on every 64th page: a kept mapping handed to two blocks at
// once, or one whose contents leak into a calloc, is caught. At the end
// malloc_trim(0) returns every kept mapping (mallinfo2 hblks back to 0 and
// malloc_stats' "mmap cache bytes" 0).
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
#include "../common.h"
#include "../../include/umalloc.h"
#include <pthread.h>
#include <sched.h>

#define NT 4
#define MiB ((size_t)1 << 20)
#define STEP (64 * 4096)

static long rounds;

static void stamp(unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i += STEP)
        p[i] = (unsigned char)(tag + i / STEP);
    p[n - 1] = (unsigned char)tag;
}

static int stamped(const unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i += STEP)
        if (p[i] != (unsigned char)(tag + i / STEP))
            return 0;
    return p[n - 1] == (unsigned char)tag;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    t_rng r = {t_seed(0x9e3779b97f4a7c15ull) * (id + 1) | 1};
    for (long k = 0; k < rounds; k++) {
        size_t n = 33 * MiB + (size_t)(t_below(&r, 7 * MiB));
        unsigned tag = id * 64 + (unsigned)k;
        unsigned char *p;
        if (k % 3 == 2) {
            p = calloc(1, n);
            CHECK(p != NULL);
            for (size_t i = 0; i < n; i += STEP)
                CHECKF(p[i] == 0, "thread %u: calloc(%zu) byte %zu not zero", id, n, i);
            CHECK(p[n - 1] == 0);
        } else {
            p = malloc(n);
            CHECK(p != NULL);
        }
        stamp(p, n, tag);
        sched_yield();
        CHECKF(stamped(p, n, tag), "thread %u round %ld: block %p overwritten", id, k, (void *)p);
        if (k % 4 == 1) {
            size_t m = n + n / 2;
            unsigned char *q = realloc(p, m);
            CHECK(q != NULL);
            for (size_t i = 0; i + 1 < n; i += STEP)
                CHECKF(q[i] == (unsigned char)(tag + i / STEP), "thread %u: realloc lost byte %zu", id, i);
            p = q;
            n = m;
            stamp(p, n, tag);
        }
        free(p);
    }
    return NULL;
}

/* malloc_stats' "mmap cache bytes", or -1 if it has no such line. */
static long long cache_bytes(void)
{
    char buf[8192];
    struct t_capture c = t_capture_stderr();
    malloc_stats();
    t_capture_end(c, buf, sizeof buf);
    const char *line = strstr(buf, "mmap cache bytes");
    const char *eq = line ? strchr(line, '=') : NULL;
    return eq ? atoll(eq + 1) : -1;
}

int main(void)
{
    /* The cache keeps a freed mapping only when one of a like length was
     * freed within the decay time (large.c, mc_keep), and lets kept ones
     * go once they are older than that. Under load (tsan, the suite's
     * parallel jobs) rounds can be more than the default second apart, and
     * "no mapping kept" failed that way now and then (it fails every time
     * with UMALLOC_PURGE_DECAY_MS=1). This test is about what the cache
     * holds and hands out, not about its timing: a long decay here, and
     * malloc_trim(0) still empties it. */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 600000) == 1);
    rounds = t_scale(40, 12);
    pthread_t t[NT];
    for (unsigned i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    EXPECT(t_mallinfo2().hblks == 0);
    long long kept = cache_bytes();
    EXPECTF(kept != 0, "no mapping kept after %d threads x %ld rounds of 33-40 MiB blocks", NT, rounds);
    malloc_trim(0);
    kept = cache_bytes();
    EXPECTF(kept <= 0, "after malloc_trim(0) %lld bytes of mappings still kept", kept);
    return t_done();
}
