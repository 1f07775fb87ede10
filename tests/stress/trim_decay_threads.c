// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// variants: release debug asan
// Four threads churn 1-4 MiB blocks (each freed block raised the dynamic
// mmap threshold at first, so the rest come from the heap), free them all and
// exit. The trim of that heap waits for the decay purge (src/trim.c,
// um_trim_waits_for_decay), or the emptied arena gives it back in the
// threads' last frees (src/purge.c): with light traffic in main afterwards
// (a 300 KB block malloc'ed and freed every 5 ms, which reaches the arena),
// RSS must fall below a quarter of what it was while the blocks were live
// (read when every thread holds its last eight) within 3 s of the join (the
// decay is 1 s). Not under TSan, whose shadow memory dwarfs the heap. The
// blocks' contents are checked before each free.
#include "../common.h"
#include "../purge_util.h"
#include <pthread.h>

enum { SLOTS = 8, ROUNDS = 300 };

static pthread_barrier_t live; /* every thread holds its last blocks: main reads RSS */

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    t_rng r = {0x9e3779b97f4a7c15ull * (id + 1)};
    unsigned char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        unsigned k = (unsigned)t_below(&r, SLOTS);
        if (slot[k]) {
            CHECKF(slot[k][0] == (unsigned char)k && slot[k][len[k] - 1] == (unsigned char)k,
                   "thread %u: a %zu-byte block lost its contents", id, len[k]);
            free(slot[k]);
        }
        len[k] = ((size_t)1 + t_below(&r, 4)) * T_MIB + t_below(&r, 4096);
        slot[k] = malloc(len[k]);
        CHECK(slot[k] != NULL);
        memset(slot[k], (int)k, len[k]);
    }
    pthread_barrier_wait(&live);
    pthread_barrier_wait(&live);
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    return NULL;
}

int main(void)
{
    p_need_umalloc();
    pthread_t t[4];
    CHECK(pthread_barrier_init(&live, NULL, 5) == 0);
    for (uintptr_t i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    pthread_barrier_wait(&live);
    size_t full = t_rss();
    pthread_barrier_wait(&live);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    size_t joined = t_rss();
    double t0 = p_now(), took = -1;
    size_t rss = joined;
    while (p_now() < t0 + 3.0) {
        char *volatile b = malloc(300 * 1000);
        CHECK(b != NULL);
        b[0] = 1;
        free(b);
        p_sleep_ms(5);
        rss = t_rss();
        if (rss < full / 4) {
            took = p_now() - t0;
            break;
        }
    }
    printf("%zu KB resident with the blocks live, %zu KB after the join; %zu KB %.0f ms later\n", full >> 10,
           joined >> 10, rss >> 10, (took < 0 ? 3.0 : took) * 1000);
    EXPECTF(full > 16 * T_MIB, "only %zu KB resident with the blocks live: the test lost its heap", full >> 10);
    EXPECTF(took >= 0, "RSS still %zu KB (%zu KB with the blocks live) after 3 s of arena calls", rss >> 10,
            full >> 10);
    return t_done();
}
