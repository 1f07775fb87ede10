/*
 * The 8 idle workers (issue 8), shared by idle_workers_{trim,wait,traffic}.c.
 * Eight threads each do a burst of blocks of 1..120 KiB (rounds of blocks
 * allocated, every byte touched, then freed in random order: 3,000 blocks a
 * thread), free everything and then block on a barrier without calling
 * malloc again. Then the main thread
 *   MODE_TRIM     calls malloc_trim(0) once and reads RSS;
 *   MODE_WAIT     turns the purge thread on before the burst and makes no
 *                 call at all afterwards, reading RSS for 2 s;
 *   MODE_TRAFFIC  makes a few malloc/free calls every 20 ms (no purge
 *                 thread, no malloc_trim), reading RSS for 2 s;
 *   MODE_NONE     makes no call at all and has no purge thread, reading RSS
 *                 for 2 s (what the workers' own frees gave back).
 * RSS comes from /proc/self/statm.
 *
 * The targets compare with glibc running the same program: in the release
 * variant the test runs itself again without LD_PRELOAD (the child prints
 * its RSS; IDLE_WORKERS_CHILD=1 marks it) and checks RSS <= 1.5x glibc's
 * after malloc_trim(0), <= 3x within 2 s without it. In the debug variant the
 * burst is smaller, in the child too (it inherits UMALLOC_TEST_DEBUG), and
 * the light-traffic bound 3.5x (see idle_main). Under
 * the sanitizers only correctness is checked (their shadow memory stays
 * resident).
 *
 * Measured 2026-12-01 on the 2-CPU build machine, full scale (the test
 * prints both numbers; `python3 tests/run.py -v -k idle_workers`):
 *   malloc_trim(0):       glibc 2.5-2.7 MB; umalloc 4.7-5.2 MB before the
 *                         medium share in tcache.c (idle caches held 2.4-2.8
 *                         MB), 3.3-3.4 MB with it (1.28-1.35x)
 *   purge thread, no call: glibc 24 MB (its lowest in 2 s); umalloc 3.7-3.8 MB
 *                         after 1.0-1.2 s
 *   light traffic in main: glibc 24 MB; umalloc 6-24 MB after 1.1 s while
 *                         the workers had arenas of their own, 4.6-4.9 MB
 *                         at 2 s with one arena per two CPUs (2026-12-01
 *                         later, 4 release runs; 2 CPUs: one arena)
 *   no purge thread and no call at all: umalloc 150-166 MB, glibc 24 MB:
 *                         nothing in umalloc ran after the workers' last
 *                         frees, so nothing went back; since the emptied
 *                         arena (src/purge.c, 2026-12-05) those frees give it
 *                         back: 3.5-5.1 MB right after the burst in 72
 *                         runs of 72 (21-41 MB in 7 of 20 before a pause
 *                         for reuse could end early) (MODE_NONE, idle_workers_none; its
 *                         debug run is one round of the full burst, where
 *                         glibc keeps 2.6 MB and umalloc 3.7-4.4)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "../common.h"
#include "../purge_util.h"

enum { NW = 8, MODE_TRIM = 1, MODE_WAIT = 2, MODE_TRAFFIC = 3, MODE_NONE = 4 };

static int rounds, per_round;
static pthread_barrier_t bar;
static _Atomic int bad;

static void *idle_worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    t_rng r = {t_seed(0x1d1e + id)};
    char **blk = calloc((size_t)per_round, sizeof *blk);
    size_t *len = calloc((size_t)per_round, sizeof *len);
    if (!blk || !len) {
        atomic_fetch_add(&bad, 1);
        return NULL;
    }
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < per_round; i++) {
            size_t s = 1024 + t_below(&r, 119 * 1024 + 1); /* 1..120 KiB */
            char *p = malloc(s);
            if (!p) {
                atomic_fetch_add(&bad, 1);
                break;
            }
            memset(p, (int)(i + id), s);
            blk[i] = p;
            len[i] = s;
        }
        for (int i = per_round - 1; i > 0; i--) { /* free in random order */
            int j = (int)t_below(&r, (uint64_t)i + 1);
            char *tp = blk[i];
            size_t tl = len[i];
            blk[i] = blk[j], len[i] = len[j];
            blk[j] = tp, len[j] = tl;
        }
        for (int i = 0; i < per_round; i++) {
            char *p = blk[i];
            if (!p)
                continue;
            if (p[0] != p[len[i] - 1] || p[0] != p[len[i] / 2])
                atomic_fetch_add(&bad, 1);
            free(p);
            blk[i] = NULL;
        }
    }
    free(len);
    free(blk);
    pthread_barrier_wait(&bar); /* burst done, everything freed */
    pthread_barrier_wait(&bar); /* main has measured: exit (the cache goes back) */
    return NULL;
}

struct idle_result {
    size_t base, peak_seen, after; /* RSS at start, right after the burst, at the end */
    size_t low;                    /* lowest RSS within the 2 s */
    double first_ok;               /* seconds until RSS <= bound (-1 never) */
};

static void idle_run(int mode, size_t bound, struct idle_result *res)
{
    pthread_t th[NW];
    res->base = t_rss();
    if (mode == MODE_WAIT)
        mallopt(M_UMALLOC_PURGE_THREAD, 1); /* glibc: an unknown parameter, ignored */
    pthread_barrier_init(&bar, NULL, NW + 1);
    for (unsigned i = 0; i < NW; i++)
        CHECK(pthread_create(&th[i], NULL, idle_worker, (void *)(uintptr_t)i) == 0);
    pthread_barrier_wait(&bar);
    double t0 = p_now();
    res->peak_seen = t_rss();
    if (mode == MODE_TRIM)
        malloc_trim(0);
    res->after = res->low = t_rss();
    res->first_ok = res->after <= bound ? 0.0 : -1.0;
    t_rng tr = {t_seed(0x7a11)};
    if (mode != MODE_TRIM) {
        while (p_now() - t0 < 2.0) {
            p_sleep_ms(20);
            if (mode == MODE_TRAFFIC) { /* a main thread's own light work */
                void *p[16];
                for (int i = 0; i < 16; i++)
                    p[i] = malloc(16 + t_below(&tr, 64 * 1024));
                for (int i = 0; i < 16; i++)
                    free(p[i]);
            }
            size_t rss = t_rss();
            if (rss < res->low)
                res->low = rss;
            if (rss <= bound && res->first_ok < 0)
                res->first_ok = p_now() - t0;
            res->after = rss;
        }
    }
    pthread_barrier_wait(&bar);
    for (unsigned i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
}

/* RSS that glibc's malloc reaches on this program: the test again, with no
 * preload, as a child. 0 if that cannot be run. */
static size_t idle_glibc_rss(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        unsetenv("LD_PRELOAD");
        setenv("IDLE_WORKERS_CHILD", "1", 1);
        setenv("UMALLOC_TEST_VARIANT", "glibc", 1);
        execl("/proc/self/exe", "idle_workers", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[256];
    t_read_all(fd[0], buf, sizeof buf);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 0;
    const char *s = strstr(buf, "glibc-rss ");
    return s ? (size_t)strtoull(s + 10, NULL, 10) : 0;
}

static int idle_main(int mode)
{
    const char *mname = mode == MODE_TRIM      ? "malloc_trim(0)"
                        : mode == MODE_WAIT    ? "purge thread, no call, 2 s"
                        : mode == MODE_NONE    ? "no call, no purge thread, 2 s"
                                               : "light traffic in main, 2 s";
    rounds = (int)t_scale(10, 3);
    per_round = (int)t_scale(300, 100);
    if (mode == MODE_NONE) /* the debug run too needs a heap the size of the
                            * emptied arena's floor (32 MiB): one round of
                            * the full burst (8 x 300 blocks, about 150 MB) */
        rounds = (int)t_scale(10, 1), per_round = 300;
    if (getenv("IDLE_WORKERS_CHILD")) { /* glibc's number, for the parent */
        struct idle_result r;
        idle_run(mode, 0, &r);
        printf("glibc-rss %zu\n", mode == MODE_TRIM ? r.after : r.low);
        return atomic_load(&bad) != 0;
    }
    p_need_umalloc();
    size_t glibc = 0, bound = 0;
    double factor = mode == MODE_TRIM ? 1.5 : 3.0;
    /* The debug variant's burst is a third of the blocks, so glibc's number
     * (2.5-2.7 MB) is mostly the process's own pages and 3x leaves 5 MB of
     * slack where the full scale leaves 48. With light traffic, under the
     * parallel load of `make test`, umalloc ended at 5.0-7.6 MB there (16
     * runs, two tests at once, 2026-12-02), once 0.1 MB over 3x (and once
     * in a `make test`): the debug run checks the behaviour, the release
     * run the 3x. */
    if (mode == MODE_TRAFFIC && t_is_debug())
        factor = 3.5;
    if (!t_is_sanitized()) { /* the child inherits the scale (UMALLOC_TEST_DEBUG) */
        glibc = idle_glibc_rss();
        CHECKF(glibc > 0, "could not measure glibc's RSS (the test run again without LD_PRELOAD)");
        bound = (size_t)((double)glibc * factor);
    }
    struct idle_result r;
    idle_run(mode, bound, &r);
    printf("%s: base %zu KiB, after the burst %zu KiB, end %zu KiB, lowest %zu KiB; glibc %zu KiB, "
           "bound %.1fx = %zu KiB, met after %.2f s\n",
           mname, r.base >> 10, r.peak_seen >> 10, r.after >> 10, r.low >> 10, glibc >> 10, factor,
           bound >> 10, r.first_ok);
    EXPECTF(atomic_load(&bad) == 0, "%d bad blocks / failed allocations", atomic_load(&bad));
    if (t_is_sanitized())
        return t_done();
    EXPECTF(r.first_ok >= 0, "%s: RSS %zu KiB (lowest %zu KiB), bound %zu KiB", mname, r.after >> 10,
            r.low >> 10, bound >> 10);
    return t_done();
}
