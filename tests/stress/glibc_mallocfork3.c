// variants: release debug
// cflags: -pthread
// ldflags: -pthread
// timeout: 150
// Mirrors glibc's tst-mallocfork3: five threads send SIGUSR1 to the main
// thread while it mallocs, frees and sometimes forks; the handler calls
// _Fork (which runs no atfork handlers) and the child exits at once. Signals
// landing inside malloc/free/fork must not deadlock or corrupt anything.
#include "stress_common.h"
#include <pthread.h>
#include <sys/wait.h>

extern pid_t _Fork(void) __attribute__((weak));

static pthread_barrier_t barrier;
static pthread_t main_thread;
static volatile sig_atomic_t got, failed;

static void on_usr1(int sig)
{
    (void)sig;
    got = 1;
    pid_t pid = _Fork();
    if (pid < 0) {
        failed = 1;
        return;
    }
    if (pid == 0)
        _exit(0);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            failed = 1;
            return;
        }
    if (st != 0)
        failed = 1;
}

static void *sender(void *arg)
{
    (void)arg;
    for (;;) { /* until the process exits */
        pthread_barrier_wait(&barrier);
        pthread_kill(main_thread, SIGUSR1);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "glibc_mallocfork3: no progress for 30 s (deadlock)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(3);
}

int main(void)
{
    if (!_Fork) {
        puts("skip: no _Fork in this libc");
        return 77;
    }
    signal(SIGUSR1, on_usr1);
    signal(SIGALRM, on_alarm);
    alarm(30); /* re-armed as iterations complete: a watchdog for progress */
    main_thread = pthread_self();
    enum { SENDERS = 5, SLOTS = 1009 };
    pthread_barrier_init(&barrier, NULL, SENDERS + 1);
    pthread_t t[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        if (pthread_create(&t[i], NULL, sender, NULL) != 0)
            return 1;
    static void *obj[SLOTS];
    unsigned seed = 1;
    long iters = getenv("UMALLOC_TEST_DEBUG") ? 500 : 4000, hits = 0;
    for (long i = 0; i < iters; i++) {
        if (i % 50 == 0)
            alarm(30);
        int slot = rand_r(&seed) % SLOTS;
        size_t sz = (size_t)rand_r(&seed) % 70000;
        int do_fork = rand_r(&seed) % 7 == 0;
        pthread_barrier_wait(&barrier);
        got = 0;
        if (do_fork) {
            pid_t pid = _Fork();
            if (pid < 0)
                return 1;
            if (pid == 0)
                _exit(0);
            int st;
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
            if (st != 0)
                return 1;
        }
        free(obj[slot]);
        obj[slot] = malloc(sz);
        hits += got;
        pthread_barrier_wait(&barrier);
        if ((!obj[slot] && sz) || failed) {
            fprintf(stderr, "malloc(%zu) failed or the handler failed\n", sz);
            return 1;
        }
    }
    alarm(0); /* the senders wait at the barrier until exit ends them */
    for (int i = 0; i < SLOTS; i++)
        free(obj[i]);
    printf("%ld of %ld iterations had a signal inside fork/free/malloc\n", hits, iters);
    return 0;
}
