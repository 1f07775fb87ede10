// glibc's way to turn the thread cache off works: GLIBC_TUNABLES=
// glibc.malloc.tcache_count=0 (or tcache_max=0) sends every free to the
// arena, where small chunks land in the fast bins as in glibc (mallinfo2's
// smblks counts them), in every thread, and switching M_PERTURB on and off
// again does not turn the caches back on. Other tcache counts and sizes,
// glibc.malloc names umalloc does not have and the hugetlb values it does
// not take, are ignored with one line on stderr each; names of other
// namespaces pass silently. The test
// re-executes itself (/proc/self/exe) with the variables set.
#include "../common.h"
#include <pthread.h>

enum { N = 200 };

/* Three rounds of N blocks of 40 bytes, allocated and freed; the number of
 * chunks in the fast bins afterwards. */
static size_t churn_fast(void)
{
    static void *p[N];
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < N; i++)
            CHECK((p[i] = malloc(40)) != NULL);
        for (int i = 0; i < N; i++)
            free(p[i]);
    }
    return mallinfo2().smblks;
}

static void *thread_churn(void *arg)
{
    *(size_t *)arg = churn_fast();
    return NULL;
}

static int child(const char *mode)
{
    size_t fast = churn_fast();
    if (!strcmp(mode, "off")) {
        EXPECTF(fast >= N, "caches off: %zu chunks in the fast bins, expected %d", fast, N);
        pthread_t t;
        size_t tfast = 0;
        CHECK(pthread_create(&t, NULL, thread_churn, &tfast) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        EXPECTF(tfast >= N, "caches off, another thread: %zu chunks in the fast bins", tfast);
        malloc_trim(0); /* (empties the fast bins) */
        CHECK(mallopt(M_PERTURB, 0x5a) == 1);
        CHECK(mallopt(M_PERTURB, 0) == 1);
        fast = churn_fast();
        EXPECTF(fast >= N, "caches off, after M_PERTURB on and off: %zu chunks in the fast bins",
                fast);
    } else if (!strcmp(mode, "on")) {
        /* the chunks wait in the thread cache, not in the fast bins */
        EXPECTF(fast < N, "caches on: %zu chunks in the fast bins", fast);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return t_done();
}

/* Runs the child in mode with set; its stderr must contain each of want
 * (NULL-terminated) and exactly `lines` lines of umalloc's "ignoring". */
static void run(const char *mode, const char *const *set, const char *const *want, int lines)
{
    static char err[8192];
    int st = t_run_self(mode, set, err, sizeof err);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %s with %s: failed: %s", mode, set[0], err);
    for (int i = 0; want[i]; i++)
        EXPECTF(strstr(err, want[i]) != NULL, "with %s: no \"%s\" on stderr: %s", set[0], want[i],
                err);
    int n = 0;
    for (const char *s = err; (s = strstr(s, "umalloc: ignoring")) != NULL; s++)
        n++;
    EXPECTF(n == lines, "with %s: %d lines on stderr, expected %d: %s", set[0], n, lines, err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    static const char *const none[] = {NULL};
    run("on", T_ENV("UMALLOC_TEST_NOTHING=1"), none, 0);
    run("off", T_ENV("GLIBC_TUNABLES=glibc.malloc.tcache_count=0"), none, 0);
    run("off", T_ENV("GLIBC_TUNABLES=glibc.malloc.tcache_max=0"), none, 0);
    static const char *const count7[] = {"glibc.malloc.tcache_count=7", NULL};
    run("on", T_ENV("GLIBC_TUNABLES=glibc.malloc.tcache_count=7"), count7, 1);
    static const char *const two[] = {"glibc.malloc.check=3", "glibc.malloc.tcache_max=abc",
                                      NULL};
    run("on", T_ENV("GLIBC_TUNABLES=glibc.pthread.rseq=1:glibc.malloc.check=3:glibc.malloc.tcache_max=abc"),
        two, 2);
    /* glibc.malloc.hugetlb: 1 (transparent huge pages: tests/unit/thp_heaps)
     * and 0 pass silently where the kernel has THP; 2 (hugetlbfs) and a
     * value that does not parse are reported */
    char thp[128] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, thp, sizeof thp - 1);
        thp[n > 0 ? n : 0] = 0;
        close(fd);
    }
    int thp_on = strstr(thp, "[always]") || strstr(thp, "[madvise]");
    static const char *const one[] = {"glibc.malloc.hugetlb=1", NULL};
    run("on", T_ENV("GLIBC_TUNABLES=glibc.malloc.hugetlb=1"), thp_on ? none : one, thp_on ? 0 : 1);
    run("on", T_ENV("GLIBC_TUNABLES=glibc.malloc.hugetlb=0"), none, 0);
    static const char *const hugetlbfs[] = {"glibc.malloc.hugetlb=2", "hugetlbfs", NULL};
    run("on", T_ENV("GLIBC_TUNABLES=glibc.malloc.hugetlb=2"), hugetlbfs, 1);
    static const char *const junk[] = {"glibc.malloc.hugetlb=yes", "not a number", NULL};
    run("on", T_ENV("GLIBC_TUNABLES=glibc.malloc.hugetlb=yes"), junk, 1);
    return t_done();
}
