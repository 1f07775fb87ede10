// A heap that breathes does not fault itself in again every round (seed 001's
// page-fault storm, from the heap): 20 blocks of 64 KiB, written, then freed
// last to first, round after round, with the default settings. The first
// round's frees trim the heap as the seeds show (top passes M_TRIM_THRESHOLD,
// the break moves back); the second round has to grow it again within the
// decay time, so the trim threshold rises to twice what the trims released
// (src/trim.c) and later rounds keep their pages: about no page faults a
// round, where glibc and umalloc before took some 290 (the 1.25 MiB again).
// The memory still goes back by itself: once top has stayed free for the
// decay time, the purge moves the break back down. The adaptation is the
// user's to switch off: with M_TRIM_THRESHOLD set, every round trims (and
// faults) as in glibc; and rounds further apart than the decay time do not
// raise the threshold.
#include "../common.h"
#include "../purge_util.h"

#define KiB ((size_t)1024)
enum { N = 20, BLOCK = 64 * 1024 };

/* Arena calls until the break is back within 512 KiB of b0 or ms pass; 1 if
 * it came back. */
static int wait_trim(uintptr_t b0, long ms)
{
    double end = p_now() + ms / 1000.0;
    while (p_now() < end) {
        if ((uintptr_t)sbrk(0) < b0 + 512 * KiB)
            return 1;
        char *b = malloc(200 * KiB);
        CHECK(b != NULL);
        b[0] = 1;
        free(b);
        p_sleep_ms(2);
    }
    return 0;
}

static void child_pinned(void)
{
    /* the user's threshold: every round trims, and faults its pages in again */
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    char *keep = malloc(100);
    CHECK(keep != NULL);
    uintptr_t b0 = (uintptr_t)sbrk(0);
    p_heap_round(N, BLOCK, b0);
    long f0 = t_minflt();
    for (int r = 0; r < 10; r++) {
        long up = p_heap_round(N, BLOCK, b0);
        EXPECTF(up < (long)(512 * KiB), "pinned threshold, round %d: %ld KiB left above the start", r,
                up / 1024);
    }
    long faults = t_minflt() - f0;
    EXPECTF(faults >= 10 * 200, "pinned threshold: only %ld faults in 10 rounds (the trims did not happen?)",
            faults);
    printf("pinned threshold: 10 rounds, %ld minor faults\n", faults);
    free(keep);
    exit(t_done());
}

static void child_slow(void)
{
    /* rounds further apart than the decay: each trim stands */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 50) == 1);
    char *keep = malloc(100);
    CHECK(keep != NULL);
    uintptr_t b0 = (uintptr_t)sbrk(0);
    for (int r = 0; r < 4; r++) {
        long up = p_heap_round(N, BLOCK, b0);
        EXPECTF(up < (long)(512 * KiB), "rounds 150 ms apart, round %d: %ld KiB left above the start",
                r, up / 1024);
        p_sleep_ms(150);
    }
    free(keep);
    exit(t_done());
}

int main(void)
{
    p_need_umalloc();
    int st;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child_pinned();
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child_slow();
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* default settings, decay 400 ms (the rounds below take a few ms) */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 400) == 1);
    char *keep = malloc(100); /* below the blocks: the break starts above it */
    CHECK(keep != NULL);
    uintptr_t b0 = (uintptr_t)sbrk(0);
    long up = p_heap_round(N, BLOCK, b0);
    EXPECTF(up < (long)(512 * KiB), "round 0: %ld KiB left above the start: the seeds' trim did not happen",
            up / 1024);
    p_heap_round(N, BLOCK, b0); /* grows back within the decay: the threshold rises */
    long f0 = t_minflt();
    for (int r = 0; r < 50; r++) {
        up = p_heap_round(N, BLOCK, b0);
        EXPECTF(up >= (long)(N * BLOCK), "round %d: the heap was trimmed (%ld KiB left)", r + 2,
                up / 1024);
    }
    long faults = t_minflt() - f0;
    printf("default settings: 50 rounds of %d x 64 KiB, %ld minor faults\n", N, faults);
    EXPECTF(faults < 50 * 10, "%ld minor faults in 50 rounds: the heap is still faulted in every round",
            faults);
    EXPECTF(wait_trim(b0, 3000), "the break stayed %ld KiB up 3 s after the rounds: the purge did not "
            "give the heap back", (long)((uintptr_t)sbrk(0) - b0) / 1024);
    free(keep);
    return t_done();
}
