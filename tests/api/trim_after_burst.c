// variants: release debug
// A burst of work that grows the heap with big blocks (the mmap threshold
// risen to 8 MiB by a freed mapped block), frees all of it, then goes
// quiet: a postgres backend after a query whose sorts took 1-8 MiB blocks.
// The frees used to leave the whole heap in top for the decay purge (the
// trim waits for it once the threshold has risen, src/trim.c), and the
// purge runs on arena calls: with no call, RSS stayed 97 MB above what it
// was before the burst (a helper's version of the same program with
// 2-second pauses kept it through calls too: the first one after a pause
// found top grown and stamped it young). glibc's free trims it.
// Now a free leaves at most twice the mmap threshold in top (16 MiB here),
// and the first arena calls after a pause longer than the decay give that
// back too (src/purge.c, top_sample). (Rounds that repeat within the decay
// time keep their heap: tests/api/trim_decay.)
#include "../common.h"
#include "../purge_util.h"

#define MiB ((size_t)1 << 20)

static void burst(void)
{
    void *blk[16];
    size_t sz = MiB;
    for (int i = 0; i < 16; i++) {
        blk[i] = malloc(sz);
        CHECK(blk[i] != NULL);
        memset(blk[i], 3, sz);
        if (sz < 8 * MiB)
            sz *= 2;
    }
    for (int i = 0; i < 16; i++)
        free(blk[i]);
}

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 300) == 1);
    char *m = malloc(8 * MiB); /* mapped (default threshold 128 KiB) ... */
    CHECK(m != NULL);
    memset(m, 1, 8 * MiB);
    free(m); /* ... and freed: the mmap threshold is 8 MiB */
    char *keep = malloc(100); /* below the blocks */
    CHECK(keep != NULL);
    size_t rss0 = t_rss();
    uintptr_t b0 = (uintptr_t)sbrk(0);

    burst(); /* 111 MiB of heap blocks */
    size_t rss1 = t_rss();
    long up = (long)((uintptr_t)sbrk(0) - b0);
    printf("after the burst: RSS %+ld KiB, break %+ld KiB\n", ((long)rss1 - (long)rss0) / 1024,
           up / 1024);
    EXPECTF(rss1 < rss0 + 20 * MiB, "RSS %zu KiB after freeing the burst (%zu before)", rss1 >> 10,
            rss0 >> 10);
    EXPECTF(up < (long)(20 * MiB), "the break stayed %ld KiB above", up / 1024);

    /* a pause longer than the decay, then a few arena calls */
    p_sleep_ms(450);
    for (int i = 0; i < 4; i++) {
        void *volatile b = malloc(200 * 1024);
        CHECK(b != NULL);
        free(b);
    }
    size_t rss2 = t_rss();
    printf("after a pause and 4 arena calls: RSS %+ld KiB\n", ((long)rss2 - (long)rss0) / 1024);
    EXPECTF(rss2 < rss0 + 4 * MiB, "RSS %zu KiB after the pause (%zu before the burst)", rss2 >> 10,
            rss0 >> 10);

    free(keep);
    return t_done();
}
