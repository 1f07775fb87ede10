// variants: release debug
// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Mirrors glibc's tst-malloc-fork-deadlock.
// fork in two threads while other threads run stdio: two read lines with
// getline (holding its FILE's lock while it allocates), one calls
// fflush(NULL) (holding the stdio list lock while it waits for every FILE's
// lock). glibc's fork takes the list lock after the atfork prepare handlers;
// a malloc whose prepare handler already holds its locks would then wait for
// fflush, which waits for getline, which waits for malloc: a deadlock. Each
// round must finish; the watchdog turns a hang into a failure.
#include "../common.h"
#include <pthread.h>
#include <stdatomic.h>

static atomic_int stop;
static FILE *src;

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        rewind(src);
        char *line = NULL; /* getline allocates on every line */
        size_t cap = 0;
        while (getline(&line, &cap, src) > 0) {
            free(line);
            line = NULL;
            cap = 0;
        }
        free(line);
    }
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        fflush(NULL);
        void *p = malloc(200);
        free(p);
    }
    return NULL;
}

static void *forker(void *arg)
{
    long rounds = (long)arg;
    for (long k = 0; k < rounds; k++) {
        pid_t pid = fork();
        if (pid < 0)
            abort();
        if (pid == 0) {
            void *p = malloc(1000);
            free(p);
            _exit(p ? 17 : 1);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 17)
            abort();
        alarm(30); /* progress: re-arm the watchdog */
    }
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "fork_stdio: no fork finished for 30 s (deadlock)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(3);
}

int main(void)
{
    src = tmpfile();
    CHECK(src != NULL);
    for (int i = 0; i < 200; i++)
        fprintf(src, "line %d of the stdio-under-fork test, long enough to matter %*s\n", i, i % 90, "");
    fflush(src);
    signal(SIGALRM, on_alarm);
    alarm(30);
    pthread_t r[2], f;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&r[i], NULL, reader, NULL) == 0);
    CHECK(pthread_create(&f, NULL, flusher, NULL) == 0);
    long rounds = t_scale(200, 30);
    pthread_t fk;
    CHECK(pthread_create(&fk, NULL, forker, (void *)rounds) == 0);
    forker((void *)rounds);
    pthread_join(fk, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    pthread_join(f, NULL);
    alarm(0);
    fclose(src);
    return t_done();
}
