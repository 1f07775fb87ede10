// variants: release debug asan
// The emptied arena (src/purge.c): a program that frees nearly all of a big
// heap gets the memory back in its own frees, with no later call, no purge
// thread and no malloc_trim, even where live blocks split the free memory
// into holes that top cannot trim past; one that keeps a quarter of it
// live keeps its free pages for the decay (here a minute) to reuse; a decay
// of -1 and M_TRIM_THRESHOLD -1 keep everything. Purged blocks come back as
// page faults and hold what is written to them again. Run under the DEBUG
// build too, where every call is followed by the full heap check (which
// counts the arena's binned bytes against the heap walk). Not under tsan:
// its shadow of the written blocks stays resident and dwarfs the heap.
#include "../common.h"
#include "../purge_util.h"

enum { N = 800, SZ = 96 * 1024, PIN_EVERY = 16 }; /* 75 MiB, over the 32 MiB floor */

static char *blk[N];
static char *pin[N / PIN_EVERY];

/* N blocks of SZ, every byte written, with a small live block after every
 * PIN_EVERY of them: the free memory will be holes between the pins. */
static void build(void)
{
    for (int i = 0; i < N; i++) {
        blk[i] = malloc(SZ);
        CHECK(blk[i] != NULL);
        memset(blk[i], i & 0xff, SZ);
        if (i % PIN_EVERY == PIN_EVERY - 1 && !pin[i / PIN_EVERY]) {
            pin[i / PIN_EVERY] = malloc(64);
            CHECK(pin[i / PIN_EVERY] != NULL);
        }
    }
}

/* Free the blocks i with i % keep != 0 (keep 0: all of them). */
static void free_blocks(int keep)
{
    for (int i = 0; i < N; i++)
        if (blk[i] && (keep == 0 || i % keep != 0)) {
            free(blk[i]);
            blk[i] = NULL;
        }
}

static size_t mib(size_t b) { return b >> 20; }

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1); /* the blocks stay in the heap */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 60000) == 1); /* the decay cannot act here */
    size_t base = t_rss();

    /* a quarter kept live: not emptied, the freed pages stay for reuse */
    build();
    size_t built = t_rss();
    CHECKF(built > base + 70 * ((size_t)1 << 20), "RSS %zu MiB after building, base %zu MiB", mib(built),
           mib(base));
    free_blocks(4);
    size_t quarter = t_rss();
    printf("base %zu MiB, built %zu MiB, 3/4 freed %zu MiB\n", mib(base), mib(built), mib(quarter));
    EXPECTF(quarter + 4 * ((size_t)1 << 20) > built, "RSS fell from %zu to %zu MiB with a quarter live",
            mib(built), mib(quarter));

    /* the rest freed: emptied, purged by these frees; nothing else runs */
    free_blocks(0);
    size_t emptied = t_rss();
    printf("all freed (the pins live) %zu MiB\n", mib(emptied));
    EXPECTF(emptied < base + 12 * ((size_t)1 << 20), "RSS %zu MiB after freeing all (base %zu MiB)",
            mib(emptied), mib(base));

    /* purged pages fault back in and hold what is written */
    long f0 = t_minflt();
    build();
    long faults = t_minflt() - f0;
    printf("rebuilt: %ld page faults, RSS %zu MiB\n", faults, mib(t_rss()));
    EXPECTF(faults > (long)(N * (SZ / 4096)) / 2, "only %ld faults rebuilding %d purged blocks", faults, N);
    for (int i = 0; i < N; i++)
        EXPECTF(blk[i][0] == (char)(i & 0xff) && blk[i][SZ - 1] == (char)(i & 0xff), "block %d lost its bytes",
                i);

    /* a decay of -1: never purged, emptied or not */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, -1) == 1);
    free_blocks(0);
    size_t kept = t_rss();
    printf("decay -1, all freed: %zu MiB\n", mib(kept));
    EXPECTF(kept > base + 48 * ((size_t)1 << 20), "RSS %zu MiB with the decay -1 (base %zu MiB)", mib(kept),
            mib(base));

    /* M_TRIM_THRESHOLD -1 (the seed's zero-fault setting): the same */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 60000) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    build();
    free_blocks(0);
    kept = t_rss();
    printf("M_TRIM_THRESHOLD -1, all freed: %zu MiB\n", mib(kept));
    EXPECTF(kept > base + 48 * ((size_t)1 << 20), "RSS %zu MiB with M_TRIM_THRESHOLD -1 (base %zu MiB)",
            mib(kept), mib(base));

    /* the state ends when the program reuses what it purges: one block in
     * 20 kept live (emptied again), then a working set of 64 blocks of
     * 1-120 KiB churns beside the free bins; in the state every free was
     * purged and every reuse faulted (0.85 faults a round, where the
     * decay makes about none: 56,074 faults in 100,000 rounds, 22,476 in
     * the debug run's 40,000), now the state pauses once the mallocs have
     * taken back purged pages worth a quarter of what was free (2,322 and
     * 2,163 faults, 2026-12-05; 5,244 and 5,053 when it counted the pages
     * it purged, twice what was free) */
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    build();
    free_blocks(20);
    static char *w[64];
    long rounds = t_scale(100000, 40000);
    unsigned seed = 1;
    f0 = t_minflt();
    for (long r = 0; r < rounds; r++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)(seed >> 8) % 64;
        size_t sz = 1024 + (seed >> 12) % (120 * 1024);
        free(w[k]);
        w[k] = malloc(sz);
        CHECK(w[k] != NULL);
        w[k][0] = (char)k;
        w[k][sz - 1] = (char)k;
    }
    faults = t_minflt() - f0;
    printf("churn beside the free bins: %ld rounds, %ld page faults\n", rounds, faults);
    EXPECTF(faults < 6000, "%ld page faults in %ld rounds of churn", faults, rounds);
    for (int k = 0; k < 64; k++)
        free(w[k]);
    free_blocks(0);

    for (int i = 0; i < N / PIN_EVERY; i++)
        free(pin[i]);
    return t_done();
}
