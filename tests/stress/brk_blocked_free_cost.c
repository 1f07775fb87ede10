// variants: release
// timeout: 120
// Freeing a 400 MB heap of small blocks costs about the same whether the
// main arena grew by brk or, with brk blocked, in mmap'd segments: ownership
// of a segment chunk is a lookup in a short sorted table, not a walk over
// every segment. Each case runs in its own child (best of 3), both in this
// one run; the bound (2x, plus 20 ms of slack for tiny timings) is the
// issue's target and generous against noise.
#include "../common.h"
#include <time.h>

#define HEAP_BYTES ((size_t)400 << 20)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: robust on a loaded machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds to free HEAP_BYTES of blocks (in a child); <0 on failure. */
static double run_case(int block_brk)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        double t = -2;
        void *keep = malloc(100);
        if (block_brk) {
            uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
            void *b = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (b == MAP_FAILED)
                t = -3;
        }
        size_t n = HEAP_BYTES / 200;
        void **p = mmap(NULL, n * sizeof *p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t == -2 && p != MAP_FAILED) {
            unsigned s = 1;
            size_t i;
            for (i = 0; i < n; i++) {
                s = s * 1103515245 + 12345;
                if (!(p[i] = malloc(16 + (s >> 8) % 368))) /* 200 bytes on average */
                    break;
            }
            if (i == n) {
                double t0 = now();
                for (i = 0; i < n; i++)
                    free(p[i]);
                t = now() - t0;
            }
        }
        free(keep);
        if (write(fd[1], &t, sizeof t) != (ssize_t)sizeof t)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double t = -1;
    if (pid < 0 || read(fd[0], &t, sizeof t) != (ssize_t)sizeof t)
        t = -1;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return t;
}

int main(void)
{
    double best[2] = {1e9, 1e9};
    for (int round = 0; round < 3; round++)
        for (int c = 0; c < 2; c++) {
            double t = run_case(c);
            if (t == -3)
                t_skip("cannot place a mapping at the break");
            CHECKF(t >= 0, "case %d failed (%g)", c, t);
            if (t < best[c])
                best[c] = t;
        }
    printf("free 400 MB: brk %.4f s, brk blocked %.4f s (ratio %.2f)\n", best[0], best[1], best[1] / best[0]);
    EXPECTF(best[1] <= 2 * best[0] + 0.02, "brk blocked %.4f s vs brk %.4f s", best[1], best[0]);
    return t_done();
}
