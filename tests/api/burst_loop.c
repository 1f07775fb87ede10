// variants: release debug
// A program that builds a large heap and frees all of it, again and again
// (a batch job's rounds: 80 MiB of 64 KiB blocks, freed in the order they
// were made). The frees of each round used to hand it all back (the
// emptied arena's purge, src/purge.c, and the trim of top: the trim
// threshold follows a heap that breathes only up to 64 MiB, src/trim.c),
// and the next round faulted every page in again: 20,480 faults a round,
// glibc's behaviour and jemalloc's, where tcmalloc and mimalloc keep the
// pages.
// Now the arena that empties again within the decay time of the last time
// it emptied is taken to be at work (no emptied state), and a heap that
// grows back within the decay time of a trim of 32 MiB or more keeps its
// top for the decay purge (src/trim.c, um_trim_regrown): after the first
// rounds, no faults. Rounds with pauses longer than the decay between them
// (a server between bursts of requests) still give it back at their frees.
#include "../common.h"
#include "../purge_util.h"

#define MiB ((size_t)1 << 20)
#define BLK ((size_t)64 << 10)
#define NBLK 1280 /* 80 MiB */

static void *blk[NBLK];

static long round_faults(void) { return p_round_faults(blk, NBLK, BLK); }

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 400) == 1);
    size_t rss0 = t_rss();

    /* rounds with a pause longer than the decay before each: pauses in
     * the work, and every round's frees give its heap back */
    for (int r = 0; r < 3; r++) {
        p_sleep_ms(600);
        long f = round_faults();
        size_t rss = t_rss();
        printf("after a 600 ms pause, round %d: %ld faults, RSS %+ld KiB after the frees\n", r, f,
               ((long)rss - (long)rss0) / 1024);
        EXPECTF(rss < rss0 + 16 * MiB, "RSS %zu KiB after round %d's frees (%zu before)", rss >> 10,
                r, rss0 >> 10);
    }

    /* the same rounds without a pause: the first faults all 20,480 pages
     * in, the second may too (it shows the repeat); from the third on, the
     * heap is kept */
    long f[6];
    for (int r = 0; r < 6; r++) {
        f[r] = round_faults();
        printf("round %d: %ld faults, RSS %+ld KiB after the frees\n", r, f[r],
               ((long)t_rss() - (long)rss0) / 1024);
    }
    EXPECTF(f[0] > (long)(NBLK * BLK / 4096) / 2, "round 0 took only %ld faults", f[0]);
    for (int r = 3; r < 6; r++)
        EXPECTF(f[r] < f[0] / 10, "round %d took %ld faults (round 0: %ld)", r, f[r], f[0]);

    /* the price: the last round's heap stays while the program makes no
     * call (as under jemalloc, tcmalloc and mimalloc; glibc's trim gives it
     * back), until its calls after the decay time run the purge, or until
     * the purge thread gives it back with no call of the program's */
    size_t kept = t_rss();
    p_sleep_ms(900);
    printf("idle 900 ms, no call: RSS %+ld KiB\n", ((long)t_rss() - (long)rss0) / 1024);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 1) == 1);
    size_t rss = kept;
    for (int t = 0; t < 40 && rss >= rss0 + 16 * MiB; t++) {
        p_sleep_ms(100);
        rss = t_rss();
    }
    printf("purge thread on: RSS %+ld KiB\n", ((long)rss - (long)rss0) / 1024);
    EXPECTF(rss < rss0 + 16 * MiB, "RSS %zu KiB 4 s after the purge thread started (%zu before)",
            rss >> 10, rss0 >> 10);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 0) == 1);
    return t_done();
}
