/* unit.h — the white-box tests' tiny harness: they include src/ headers and
 * call the layers directly (linked against build[/debug]/libumalloc.a). */
#ifndef UM_UNIT_H
#define UM_UNIT_H
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int unit_failures;
#define U_CHECK(cond, ...)                                                            \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            if (++unit_failures > 20)                                                 \
                exit(1);                                                              \
        }                                                                             \
    } while (0)
#define U_DONE() (unit_failures ? (fprintf(stderr, "%d failures\n", unit_failures), 1) : 0)

/* Run fn(ctx) in a child whose stderr goes to /dev/null (the line of the
 * abort a test expects there); returns the signal the child died of, 0
 * if fn returned. */
static inline int unit_in_child(void (*fn)(void *), void *ctx)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        fn(ctx);
        _exit(0);
    }
    int st = 0;
    U_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/waitpid");
    if (WIFSIGNALED(st))
        return WTERMSIG(st);
    U_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    return 0;
}

/* Initialise the library as a program does, with a first malloc. Through a
 * volatile pointer: gcc drops the pair free(malloc(n)) (no call is made),
 * and a test that then calls the layers directly ran with the keys unset
 * (0: headers and links stored as they are). */
static inline void unit_init_library(void)
{
    void *volatile p = malloc(100);
    free(p);
}
#endif
