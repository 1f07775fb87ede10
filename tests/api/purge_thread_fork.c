// variants: release debug
// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// The purge thread (mallopt M_UMALLOC_PURGE_THREAD or UMALLOC_PURGE_THREAD=1)
// in a child of fork that goes on working, as a prefork server's worker or a
// postgres backend does: the thread does not survive fork, and it used to
// stay off in the child for good, so a child that freed memory and went
// quiet kept it resident. Now the child starts it again from a malloc that
// misses its thread cache, a decay time and a second after the fork (not
// at once: a child that calls exec has no use for it). The child frees 24
// MiB of heap blocks (all but the last, so top cannot take them; under the
// emptied state's 32 MiB) and makes no call: the thread gives the pages back.
// A grandchild forked at once (a daemon's double fork) gets it too; a child
// that turned it off with mallopt before the restart keeps it off.
#include <sys/wait.h>

#include "../common.h"
#include "../purge_util.h"

enum { N = 240, BLK = 100 * 1024 };

static int child(void)
{
    if (t_threads_now() != 1) {
        fprintf(stderr, "child: %d threads right after fork\n", t_threads_now());
        return 3;
    }
    /* a malloc that misses the cache right away does not start it */
    void *volatile early = malloc(300 * 1024);
    free(early);
    if (t_threads_now() != 1) {
        fprintf(stderr, "child: the thread started at once (%d threads)\n", t_threads_now());
        return 4;
    }
    p_sleep_ms(1400); /* a second and the 200 ms decay */
    void *volatile late = malloc(300 * 1024);
    free(late);
    if (t_threads_now() != 2) {
        fprintf(stderr, "child: %d threads after the pause and a malloc\n", t_threads_now());
        return 5;
    }
    static char *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = malloc(BLK);
        if (!b[i])
            return 6;
        memset(b[i], 1, BLK);
    }
    size_t before = t_rss();
    for (int i = 0; i < N - 1; i++)
        free(b[i]);
    p_sleep_ms(1000); /* no call: only the thread can purge */
    size_t after = t_rss();
    printf("child: RSS %zu -> %zu KiB a second after freeing %d KiB\n", before >> 10, after >> 10,
           (N - 1) * BLK / 1024);
    if (after + 16 * ((size_t)1 << 20) > before) {
        fprintf(stderr, "child: RSS %zu -> %zu KiB: the freed blocks stayed\n", before >> 10,
                after >> 10);
        return 7;
    }
    free(b[N - 1]);
    return 0;
}

/* mode 1: fork again at once, the grandchild waits for its thread; mode 2:
 * turn the thread off, then wait: it stays off */
static int other_child(int mode)
{
    if (mode == 2 && mallopt(M_UMALLOC_PURGE_THREAD, 0) != 1)
        return 10;
    if (mode == 1) {
        pid_t g = fork();
        if (g < 0)
            return 11;
        if (g > 0) {
            int st;
            if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
                return 12;
            return WEXITSTATUS(st);
        }
    }
    p_sleep_ms(1400);
    void *volatile late = malloc(300 * 1024);
    free(late);
    int want = mode == 1 ? 2 : 1;
    if (t_threads_now() != want) {
        fprintf(stderr, "%s: %d threads after the pause and a malloc, %d expected\n",
                mode == 1 ? "grandchild" : "child that turned it off", t_threads_now(), want);
        return 13;
    }
    return 0;
}

static void run_child(int mode)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(mode ? other_child(mode) : child());
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %d: child status %d", mode, st);
}

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 200) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 1) == 1);
    CHECKF(t_threads_now() == 2, "%d threads with the purge thread", t_threads_now());
    for (int mode = 0; mode < 3; mode++)
        run_child(mode);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 0) == 1);
    return t_done();
}
