// variants: release debug
// A free into a thread-cache slot that the budget left no room goes to the
// central cache, one chunk a batch, while its class holds less than 64 KiB,
// and the next mallocs of the class take the same blocks back from there
// (no trip through the bins and the arena lock); the rest of a burst goes
// to the bins, as before. Two ways to a slot with no room:
//  - medium: the thread's 512 KiB medium share is spent (six 80-127 KB
//    classes, two chunks each), then 20000-byte blocks (a 20 KiB class);
//  - small: UMALLOC_TCACHE_MAX=4K (the test re-executes itself with it),
//    spent by four small classes, then 200-byte blocks.
// Before, every such free went to the bins and every such malloc carved a
// chunk again (bench/xchurn: 145,000 of its medium frees; bench/threads 8:
// 27,000 small ones). M_TRIM_THRESHOLD is set high so that a chunk
// bordering top is cached like any other (with the default, its free could
// trim top and take the others of its size).
#include "../common.h"
#include <sys/wait.h>


enum { N = 16, ROUNDS = 4 };

/* Malloc and free two blocks of each size a few times: each slot's limit
 * grows at each refill and overflow, within the budget. */
static void fill_budget(const size_t *sizes, int n)
{
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < n; k++) {
            void *a = malloc(sizes[k]), *b = malloc(sizes[k]);
            CHECK(a && b);
            memset(a, 1, 16);
            memset(b, 2, 16);
            free(a);
            free(b);
        }
}

/* N blocks of size (chunk bytes each) freed into a slot with no room, then
 * allocated again. */
static void check_parked(size_t size, size_t chunk)
{
    void *w = malloc(size); /* a medium class's first request gets its exact size */
    CHECK(w != NULL);
    free(w);
    void *v[N], *u[N];
    for (int i = 0; i < N; i++) {
        CHECK((v[i] = malloc(size)) != NULL);
        memset(v[i], 3, size);
    }
    size_t c0 = t_info_total("central");
    for (int i = 0; i < N; i++)
        free(v[i]);
    size_t c1 = t_info_total("central"), parked = (c1 - c0) / chunk;
    printf("%zu-byte blocks: central cache %zu -> %zu bytes after %d frees\n", size, c0, c1, N);
    EXPECTF(c1 >= c0 + 2 * chunk, "%zu-byte blocks: central cache %zu -> %zu, nothing parked",
            size, c0, c1);
    EXPECTF(c1 <= c0 + 64 * 1024, "%zu-byte blocks: central cache %zu -> %zu, over 64 KiB parked",
            size, c0, c1);
    int same = 0;
    for (int i = 0; i < N; i++) {
        CHECK((u[i] = malloc(size)) != NULL);
        memset(u[i], 4, size);
        for (int j = 0; j < N; j++)
            same += u[i] == v[j];
    }
    size_t c2 = t_info_total("central");
    printf("%d of %d blocks came back (%zu parked); central cache %zu bytes\n", same, N, parked, c2);
    EXPECTF((size_t)same >= parked, "%zu-byte blocks: %d of the %zu parked came back", size, same,
            parked);
    /* (the total only: the refills that let the slot grow take limit from
     * quiet slots, and malloc_info's own stream, whose buffer realloc cuts
     * at the end, moves chunks of other classes meanwhile) */
    EXPECTF(c2 < c1, "%zu-byte blocks: central cache %zu -> %zu after %d mallocs", size, c1, c2, N);
    for (int i = 0; i < N; i++)
        free(u[i]);
}

static int child(void)
{
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    static const size_t small[] = {500, 600, 700, 800};
    fill_budget(small, 4);
    /* (their limits take the 4 KiB: what they hold is less) */
    printf("UMALLOC_TCACHE_MAX=4K: the thread caches %zu bytes\n", t_info_total("tcache"));
    check_parked(200, 208);
    return t_done();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child();
    if (t_is_glibc())
        t_skip("umalloc's cache classes");
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    static const size_t big[] = {80000, 90000, 100000, 110000, 120000, 127000};
    fill_budget(big, 6);
    size_t tc = t_info_total("tcache");
    printf("thread cache after the big classes: %zu bytes\n", tc);
    CHECKF(tc >= 480 * 1024, "the big classes hold only %zu bytes: the budget is not spent", tc);
    check_parked(20000, 20480);

    /* the small case, in a child with a 4 KiB budget */
    char err[4096];
    int st = t_run_self("small", (const char *const[]){"UMALLOC_TCACHE_MAX=4K", NULL}, err, sizeof err);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the small case failed (status %d): %s", st, err);
    return t_done();
}
