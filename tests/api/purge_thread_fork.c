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

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 200) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 1) == 1);
    CHECKF(t_threads_now() == 2, "%d threads with the purge thread", t_threads_now());
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(child());
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 0) == 1);
    return t_done();
}
