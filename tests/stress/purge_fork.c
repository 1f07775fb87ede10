// cflags: -pthread
// ldflags: -pthread
// timeout: 90
// Fork and thread exit while a purge is half done. Decay 0 and the purge
// thread on keep sweeps running all the time over a heap with many free
// chunks (each sweep step is bounded, so most moments fall between steps);
// short-lived threads make arena calls (each may run a step) and exit, and
// the main thread forks. Each child: the purge thread is not running there
// (one thread in /proc/self/status), the inherited survivors are intact, the
// heap checks out (umalloc_check), malloc/free/umalloc_purge work, and the
// purge thread can be started again. Survivors are checked at the end.
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "../common.h"
#include "../purge_util.h"

enum { NMAX = 600 };
static size_t NBLK;
static char *blk[NMAX];
static size_t len[NMAX];
static _Atomic int stop;
static _Atomic int bad;

static size_t size_of(size_t i) { return 5000 + (i * 7919) % (200 * 1024); }

static void *churn(void *arg)
{
    t_rng r = {t_seed(0xf0 + (uint64_t)(uintptr_t)arg)};
    for (int k = 0; k < t_scale(200, 20); k++) {
        size_t s = 4096 + t_below(&r, 400 * 1024);
        char *p = malloc(s);
        if (!p) {
            atomic_fetch_add(&bad, 1);
            break;
        }
        p[0] = p[s - 1] = 7;
        free(p);
    }
    return NULL;
}

static void *spawner(void *arg)
{
    (void)arg;
    uintptr_t n = 0;
    while (!atomic_load(&stop)) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            if (pthread_create(&t[i], NULL, churn, (void *)(n++)) != 0)
                atomic_fetch_add(&bad, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
    }
    return NULL;
}

/* ThreadSanitizer runs a thread of its own and does not support starting
 * threads in the child of a multi-threaded fork: thread counts are not ours */
static bool is_tsan(void) { return strcmp(t_variant(), "tsan") == 0; }


static bool survivors_ok(void)
{
    for (size_t i = 1; i < NBLK; i += 2)
        if (t_check(blk[i], len[i], blk[i], i) != (size_t)-1)
            return false;
    return true;
}

static int child(void)
{
    alarm(20);
    int fails = 0;
    if (!is_tsan() && t_threads_now() != 1)
        fails |= 1;
    if (!survivors_ok())
        fails |= 2;
    umalloc_check();
    for (int k = 0; k < 50; k++) {
        char *p = malloc(size_of((size_t)k * 13));
        if (!p)
            return 4;
        memset(p, 1, size_of((size_t)k * 13));
        free(p);
    }
    umalloc_purge();
    umalloc_check();
    if (!survivors_ok())
        fails |= 8;
    if (!is_tsan() && (mallopt(M_UMALLOC_PURGE_THREAD, 1) != 1 || t_threads_now() != 2))
        fails |= 16;
    return fails;
}

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 0) == 1);
    NBLK = (size_t)t_scale(NMAX, 200);
    for (size_t i = 0; i < NBLK; i++) {
        len[i] = size_of(i);
        blk[i] = malloc(len[i]);
        CHECK(blk[i] != NULL);
        t_fill(blk[i], len[i], blk[i], i);
    }
    for (size_t i = 0; i < NBLK; i += 2)
        free(blk[i]);
    int n0 = t_threads_now();
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 1) == 1);
    CHECKF(is_tsan() || t_threads_now() == n0 + 1, "%d threads after starting the purge thread, %d before", t_threads_now(), n0);
    pthread_t sp;
    CHECK(pthread_create(&sp, NULL, spawner, NULL) == 0);
    int forks = (int)t_scale(10, 3);
    for (int f = 0; f < forks; f++) {
        /* new free chunks for the sweeps to chew on */
        for (size_t i = 0; i < NBLK; i += 2) {
            blk[i] = malloc(len[i]);
            CHECK(blk[i] != NULL);
            memset(blk[i], 3, len[i]);
            t_escape(blk[i]);
        }
        for (size_t i = 0; i < NBLK; i += 2)
            free(blk[i]);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            _exit(child());
        int st;
        CHECK(waitpid(pid, &st, 0) == pid);
        EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork %d: child %s %d", f,
                WIFEXITED(st) ? "failed with" : "killed by signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    atomic_store(&stop, 1);
    pthread_join(sp, NULL);
    EXPECT(atomic_load(&bad) == 0);
    EXPECT(survivors_ok());
    umalloc_check();
    CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 0) == 1);
    printf("%d forks while sweeps ran; children saw one thread and an intact heap\n", forks);
    return t_done();
}
