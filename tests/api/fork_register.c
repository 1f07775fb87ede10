// The fork handlers are registered when the process first takes a lock for
// real (arena.c, um_fork_register), not at start-up: a single-threaded
// program never calls pthread_atfork (its code in libc shares a 64 KiB
// stretch of text, resident whole once touched, with nothing else umalloc
// needs). This program counts the library's calls of __register_atfork by
// defining that function itself (the preloaded library's reference binds
// to the executable first):
//  - single-threaded malloc, calloc, realloc, big mappings, memalign,
//    malloc_trim and malloc_stats: no call;
//  - a second thread that allocates and frees the main thread's blocks:
//    one call, before that thread's first lock;
//  - fork while a thread allocates then works as before (the handlers
//    run: the child allocates), with no further registration.
// variants: release debug
// cflags: -pthread
// ldflags: -rdynamic -ldl
#include "../common.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int registrations;

int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso);
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso)
{
    static int (*real)(void (*)(void), void (*)(void), void (*)(void), void *);
    atomic_fetch_add(&registrations, 1);
    if (!real)
        real = (int (*)(void (*)(void), void (*)(void), void (*)(void), void *))dlsym(
            RTLD_NEXT, "__register_atfork");
    return real ? real(prepare, parent, child, dso) : -1;
}

enum { N = 2000 };
static void *blk[N];
static atomic_int stop;

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) { /* the main thread's blocks, freed here */
        free(blk[i]);
        blk[i] = NULL;
    }
    t_rng r = {t_seed(7)};
    while (!atomic_load(&stop)) {
        void *p = malloc(16 + t_below(&r, 5000));
        CHECK(p != NULL);
        free(p);
    }
    return NULL;
}

int main(void)
{
    t_rng r = {t_seed(1)};
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            size_t n = t_below(&r, 100) < 95 ? 16 + t_below(&r, 3000) : 200 * T_KIB;
            blk[i] = t_below(&r, 2) ? malloc(n) : calloc(1, n);
            CHECK(blk[i] != NULL);
        }
        for (int i = 0; i < N; i += 3)
            CHECK((blk[i] = realloc(blk[i], 100 + t_below(&r, 20000))) != NULL);
        for (int i = 0; i < N; i++)
            free(blk[i]);
    }
    void *a = memalign(4096, 10000);
    CHECK(a != NULL);
    free(a);
    malloc_trim(0);
    int err = dup(2), devnull = open("/dev/null", O_WRONLY);
    CHECK(err >= 0 && devnull >= 0);
    dup2(devnull, 2);
    malloc_stats();
    dup2(err, 2);
    EXPECTF(atomic_load(&registrations) == 0, "%d registrations in a single-threaded run",
            atomic_load(&registrations));

    for (int i = 0; i < N; i++)
        CHECK((blk[i] = malloc(16 + t_below(&r, 3000))) != NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, churn, NULL) == 0);
    for (int f = 0; f < 20; f++) {
        void *p = malloc(100 + (size_t)f * 1000);
        CHECK(p != NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < 1000; i++) {
                void *q = malloc(16 + (size_t)i * 7);
                if (!q)
                    _exit(2);
                free(q);
            }
            free(p);
            _exit(0);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid);
        EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %#x", f, st);
        free(p);
    }
    atomic_store(&stop, 1);
    CHECK(pthread_join(th, NULL) == 0);
    EXPECTF(atomic_load(&registrations) == 1, "%d registrations once threads allocate",
            atomic_load(&registrations));
    return t_done();
}
