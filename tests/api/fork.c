// fork: the child inherits a consistent heap and can malloc/free (also when
// another thread was allocating at the moment of fork); the parent's blocks
// survive both sides.
// cflags: -pthread
#include "../common.h"
#include <pthread.h>
#include <stdatomic.h>

enum { N = 256 };
static unsigned char *blk[N];
static size_t bsz[N];

static size_t pick(t_rng *r)
{
    uint64_t k = t_below(r, 100);
    if (k < 70) return t_below(r, 300);
    if (k < 97) return 300 + t_below(r, 8000);
    return 100 * T_KIB + t_below(r, 300 * T_KIB);
}

static void fill_all(t_rng *r)
{
    for (int i = 0; i < N; i++) {
        bsz[i] = pick(r);
        blk[i] = malloc(bsz[i]);
        CHECK(blk[i] != NULL);
        t_fill(blk[i], bsz[i], blk[i], (uint64_t)i);
    }
}

static int verify_all(const char *who)
{
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (blk[i] && t_check(blk[i], bsz[i], blk[i], (uint64_t)i) != (size_t)-1) {
            fprintf(stderr, "%s: block %d (%zu bytes) clobbered\n", who, i, bsz[i]);
            bad++;
        }
    return bad;
}

/* random churn over the shared table */
static void churn(t_rng *r, long ops)
{
    for (long k = 0; k < ops; k++) {
        int i = (int)t_below(r, N);
        if (blk[i]) {
            if (t_check(blk[i], bsz[i], blk[i], (uint64_t)i) != (size_t)-1) {
                fprintf(stderr, "churn: block %d clobbered\n", i);
                exit(1);
            }
            if (t_below(r, 3) == 0) {
                size_t n = pick(r) + 1;
                unsigned char *q = realloc(blk[i], n);
                CHECK(q != NULL);
                blk[i] = q;
                bsz[i] = n;
            } else {
                free(blk[i]);
                blk[i] = NULL;
                continue;
            }
        } else {
            bsz[i] = pick(r);
            blk[i] = malloc(bsz[i]);
            CHECK(blk[i] != NULL);
        }
        t_fill(blk[i], bsz[i], blk[i], (uint64_t)i);
    }
}

static int wait_child(pid_t pid, const char *what)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "%s: child killed by signal %d%s\n", what, WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (deadlock? it did not finish in time)" : "");
        return 1;
    }
    if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s: child exit status %d\n", what, WEXITSTATUS(st));
        return 1;
    }
    return 0;
}

static atomic_int stop;

static void *spinner(void *arg)
{
    t_rng r = { (uint64_t)(uintptr_t)arg * 7919 + 1 };
    void *v[64] = { 0 };
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int i = (int)t_below(&r, 64);
        free(v[i]);
        size_t n = t_below(&r, 32) ? t_below(&r, 1024) : t_below(&r, 200000);
        v[i] = malloc(n);
        if (!v[i])
            abort();
        memset(v[i], i, n < 64 ? n : 64);
    }
    for (int i = 0; i < 64; i++)
        free(v[i]);
    return NULL;
}

int main(void)
{
    t_rng r = { t_seed(4242) };
    int fails = 0;
    fill_all(&r);

    /* single-threaded forks */
    int forks = (int)t_scale(20, 4);
    for (int f = 0; f < forks; f++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(30);
            if (verify_all("child"))
                _exit(3);
            t_rng cr = { r.s ^ 0xC0FFEE };
            churn(&cr, t_scale(3000, 500));
            if (verify_all("child after churn"))
                _exit(4);
            for (int i = 0; i < N; i++)
                free(blk[i]);
            void *p = malloc(5 * T_MIB);
            if (!p)
                _exit(5);
            memset(p, 1, 5 * T_MIB);
            free(p);
            _exit(0);
        }
        churn(&r, t_scale(500, 100));        /* the parent keeps going meanwhile */
        fails += wait_child(pid, "single-threaded fork");
        fails += verify_all("parent");
    }

    /* forks while two threads allocate */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, spinner, (void *)(uintptr_t)(i + 1)) == 0);
    int tforks = (int)t_scale(40, 8);
    for (int f = 0; f < tforks; f++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(20);
            static void *v[100];
            for (int round = 0; round < 20; round++) {
                for (int i = 0; i < 100; i++) {
                    v[i] = malloc((size_t)(i * 53 % 700) + (i == 99 ? 300000 : 0));
                    if (!v[i])
                        _exit(6);
                }
                for (int i = 0; i < 100; i++)
                    free(v[i]);
            }
            if (verify_all("threaded child"))
                _exit(7);
            _exit(0);
        }
        fails += wait_child(pid, "fork with allocating threads");
        churn(&r, 200);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);

    fails += verify_all("parent at end");
    for (int i = 0; i < N; i++)
        free(blk[i]);
    if (fails)
        fprintf(stderr, "%d fork check(s) failed\n", fails);
    return fails ? 1 : t_done();
}
