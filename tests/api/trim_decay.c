// Once the dynamic mmap threshold has risen (a mapped block above the default
// threshold was freed), heap blocks freed at the top move the break back only
// to twice the mmap threshold, and once the heap has grown back within the
// decay time of such a trim, not at: the decay purge does it when top has
// stayed free for the decay time (src/trim.c, um_trim_waits_for_decay,
// free_keeps), so a program that churns blocks that big faults its heap in
// again once, not every round (a single burst that is not repeated:
// tests/api/trim_after_burst). The trim is immediate as before with the
// decay at 0 or -1, and with a threshold the user set (the seeds'
// default-threshold trim is tests/seeds/trim_threshold). Meanwhile a medium
// block freed next to that top is cached, as its free could not trim.
#include "../common.h"
#include "../purge_util.h"

#define MiB ((size_t)1 << 20)
enum { N = 24 };

/* Arena calls (blocks above the thread cache's classes) until the break is
 * back within 8 MiB of b0 or ms milliseconds pass; the seconds it took, or
 * -1. */
static double wait_trim(uintptr_t b0, long ms)
{
    double t0 = p_now(), end = t0 + ms / 1000.0;
    while (p_now() < end) {
        if ((uintptr_t)sbrk(0) < b0 + 8 * MiB)
            return p_now() - t0;
        char *b = malloc(200 * 1024);
        CHECK(b != NULL);
        b[0] = 1;
        free(b);
        p_sleep_ms(2);
    }
    return -1;
}

int main(void)
{
    p_need_umalloc();
    /* (500 ms: the rounds and the loop below must fit in it even in the
     * sanitizer builds on a loaded machine) */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 500) == 1);
    char *m = malloc(2 * MiB); /* mapped (default threshold 128 KiB) ... */
    CHECK(m != NULL);
    memset(m, 0x5a, 2 * MiB);
    free(m); /* ... and freed: mmap threshold 2 MiB, trim threshold 4 MiB */
    char *keep = malloc(100); /* below the blocks: the break starts above it */
    CHECK(keep != NULL);
    uintptr_t b0 = (uintptr_t)sbrk(0);

    /* decay 500 ms: of the freed 24 MiB, twice the threshold (4 MiB) stay;
     * the second round grows the heap back within the decay, and from then
     * on the freed 24 MiB stay, a round faults nothing in, and the purge
     * moves the break back after the decay */
    long up = p_heap_round(N, MiB, b0);
    EXPECTF(up >= (long)(3 * MiB) && up < (long)(8 * MiB),
            "first round: the break %+ld above, not twice the 2 MiB threshold", up);
    up = p_heap_round(N, MiB, b0);
    EXPECTF(up >= (long)(16 * MiB), "second round: 24 MiB freed at the top were trimmed at once (break %+ld)",
            up);
    /* with that top, a 64 KiB block freed next to it is cached as any other
     * (its free could not trim: top's size stays while it comes and goes) */
    int moved = 0;
    for (int r = 0; r < 200; r++) {
        void *volatile q = malloc(64 * 1024);
        CHECK(q != NULL);
        ((volatile char *)q)[0] = 1;
        size_t top = t_mallinfo2().keepcost;
        free(q);
        moved += r >= 2 && t_mallinfo2().keepcost != top; /* past the first, exact requests */
    }
    EXPECTF(moved <= 2, "%d of 198 frees of a 64 KiB block next to top merged it into top", moved);
    long f0 = t_minflt();
    up = p_heap_round(N, MiB, b0);
    long f1 = t_minflt();
    EXPECTF(f1 - f0 < 256, "%ld page faults in a second round of %d MiB", f1 - f0, N);
    EXPECTF(up >= (long)(16 * MiB), "second round: trimmed at once (break %+ld)", up);
    double took = wait_trim(b0, 3000);
    printf("decay 500 ms: break back after %.0f ms of arena calls\n", took * 1000);
    EXPECTF(took >= 0, "the break stayed %+ld above after 3 s of arena calls (decay 500 ms)",
            (long)((uintptr_t)sbrk(0) - b0));
    EXPECTF(took < 0 || took >= 0.25, "the break went back after %.0f ms, before the 500 ms decay", took * 1000);

    /* decay 0 and -1: trimmed by the free itself, as glibc does */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 0) == 1);
    up = p_heap_round(N, MiB, b0);
    EXPECTF(up < (long)(8 * MiB), "decay 0: the break stayed %+ld above", up);
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, -1) == 1);
    up = p_heap_round(N, MiB, b0);
    EXPECTF(up < (long)(8 * MiB), "decay -1: the break stayed %+ld above (nothing else would trim)", up);

    /* a threshold the user set: trimmed at once whatever the decay (the
     * trim threshold is still the 4 MiB the freed 2 MiB block set) */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 500) == 1);
    CHECK(mallopt(M_MMAP_THRESHOLD, 2 * MiB) == 1);
    up = p_heap_round(N, MiB, b0);
    EXPECTF(up < (long)(8 * MiB), "M_MMAP_THRESHOLD set: the break stayed %+ld above", up);
    free(keep);
    return t_done();
}
