// variants: release debug
// A thread whose medium budget is spent (here: six 80-127 KB classes,
// two chunks each, take its 512 KiB share) has no room left for another
// medium class. Its frees of that class are parked in the central cache,
// one chunk a batch, while the class holds less than 64 KiB, and its next
// mallocs of the class take them back from there: the same blocks, no trip
// through the bins and the arena lock. The rest of a burst goes to the
// bins, as before. Before, every such free went to the bins and every such
// malloc carved a chunk again (bench/xchurn: 145,000 of its medium frees). M_TRIM_THRESHOLD
// is set high so that a chunk bordering top is cached like any other (with
// the default, its free could trim top and take the others of its size).
#include "../common.h"

enum { N = 16, BIG = 6, ROUNDS = 4, S = 20000, CHUNK = 20480 /* its class */ };

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's cache classes");
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    static const size_t big[BIG] = {80000, 90000, 100000, 110000, 120000, 127000};
    /* each big class: two blocks malloc'ed and freed a few times (the
     * slot's limit grows at each refill and overflow) */
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < BIG; k++) {
            void *a = malloc(big[k]), *b = malloc(big[k]);
            CHECK(a && b);
            memset(a, 1, 64);
            memset(b, 2, 64);
            free(a);
            free(b);
        }
    size_t tc = t_info_total("tcache");
    printf("thread cache after the big classes: %zu bytes\n", tc);
    CHECKF(tc >= 480 * 1024, "the big classes hold only %zu bytes: the budget is not spent", tc);

    /* 20000-byte blocks (a 20 KiB class, more than the budget has left):
     * the first request of the class gets its exact size, so warm the class
     * first */
    void *w = malloc(S);
    CHECK(w != NULL);
    free(w);
    void *v[N];
    for (int i = 0; i < N; i++) {
        CHECK((v[i] = malloc(S)) != NULL);
        memset(v[i], 3, S);
    }
    size_t c0 = t_info_total("central");
    for (int i = 0; i < N; i++)
        free(v[i]);
    size_t c1 = t_info_total("central");
    printf("central cache: %zu -> %zu bytes after %d frees of %d bytes\n", c0, c1, N, S);
    size_t parked = (c1 - c0) / CHUNK;
    EXPECTF(c1 >= c0 + 2 * CHUNK, "central cache %zu -> %zu: the frees did not park their chunks",
            c0, c1);
    EXPECTF(c1 <= c0 + 64 * 1024, "central cache %zu -> %zu: more than 64 KiB of the burst parked",
            c0, c1);

    /* the next mallocs of the class take them back: the same blocks */
    void *u[N];
    int same = 0;
    for (int i = 0; i < N; i++) {
        CHECK((u[i] = malloc(S)) != NULL);
        memset(u[i], 4, S);
        for (int j = 0; j < N; j++)
            same += u[i] == v[j];
    }
    size_t c2 = t_info_total("central");
    printf("%d of %d blocks came back (%zu parked); central cache %zu bytes\n", same, N, parked,
           c2);
    EXPECTF((size_t)same >= parked, "only %d of the %zu parked blocks came back", same, parked);
    EXPECTF(c2 + parked * CHUNK <= c1, "central cache %zu -> %zu after %d mallocs", c1, c2, N);
    for (int i = 0; i < N; i++)
        free(u[i]);
    return t_done();
}
