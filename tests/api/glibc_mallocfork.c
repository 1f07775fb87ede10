// variants: release debug
// Mirrors glibc's tst-mallocfork: after a malloc, a signal handler forks and
// the child calls exit(0) (running exit handlers, flushing stdio); the
// parent waits. Neither side may hang or crash.
#include "../common.h"

static void on_alarm(int sig)
{
    (void)sig;
    pid_t c = fork();
    if (c == 0)
        exit(0);
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
}

int main(void)
{
    pid_t parent = getpid();
    void *volatile keep = malloc(sizeof(int));
    CHECK(keep != NULL);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        kill(parent, SIGALRM);
        exit(0);
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(keep);
    return t_done();
}
