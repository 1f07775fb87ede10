// variants: release debug
// cflags: -pthread
// A thread that frees medium blocks other threads allocated, and allocates
// none of those sizes itself, hands them on at once (above 2 KiB) instead of
// keeping a chunk of every class in its cache: a worker allocates blocks of
// 8 medium sizes, main frees them, three rounds, and main's cache (read
// from malloc_info's <total type="tcache" .../> once the worker is gone)
// grows by less than 20 KiB: the reading's own buffer (malloc_info's text,
// under 16 KiB, which main allocates and frees) may sit there. Before, a
// class whose first flush batch was one chunk became a stack of one in
// main's cache and kept the last block freed: 158,720 bytes here (one
// chunk of most of the 8 sizes).
#include "../common.h"
#include <pthread.h>

enum { PER = 4, ROUNDS = 3 };
static const size_t sizes[] = {3000, 5000, 9000, 17000, 24000, 33000, 60000, 100000};
enum { NS = sizeof sizes / sizeof *sizes };
static void *blocks[NS * PER];

static void *worker(void *arg)
{
    (void)arg;
    for (int s = 0; s < NS; s++)
        for (int k = 0; k < PER; k++) {
            void *p = malloc(sizes[s]);
            CHECK(p != NULL);
            memset(p, s, sizes[s]);
            blocks[s * PER + k] = p;
        }
    return NULL;
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's cache classes");
    void *keep = malloc(64); /* main's cache exists before the first reading */
    size_t before = t_info_total("tcache");
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        for (int i = 0; i < NS * PER; i++)
            free(blocks[i]);
    }
    size_t after = t_info_total("tcache"), grew = after > before ? after - before : 0;
    printf("main's cache: %zu bytes before, %zu after\n", before, after);
    EXPECTF(grew < 20 << 10, "main keeps %zu bytes of blocks it only frees", grew);
    free(keep);
    return t_done();
}
