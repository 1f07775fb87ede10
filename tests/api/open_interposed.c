// variants: release debug
// ldflags: -rdynamic -pthread
// The program defines open() (as tracing and path-rewriting shims do) and
// allocates in it. umalloc reads the cgroup's memory limit (and, near it,
// the RSS) from an arena's slow path with the arena lock held; it called
// libc's open(), which resolved to this one, whose malloc then waited for
// that lock for ever (a reviewer's reproducer, with a second thread so the
// locks are real). umalloc now reads those files by system calls: the
// program runs to its end, and this open() is never called from inside
// malloc. An alarm turns a hang into a failure.
#include "../common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int opens;

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    opens++;
    char *log = malloc(70000); /* a copy of the path, as a tracer would keep */
    if (log) {
        strncpy(log, path, 69999);
        free(log);
    }
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void *idle(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

int main(void)
{
    alarm(20);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle, NULL) == 0); /* locks are real from here */
    static void *p[64];
    for (int r = 0; r < 20; r++) { /* 1.9 MB in the arena: the limit is read */
        for (int i = 0; i < 64; i++) {
            CHECK((p[i] = malloc(30000)) != NULL);
            memset(p[i], 1, 30000);
        }
        for (int i = 0; i < 64; i++)
            free(p[i]);
    }
    printf("done; the program's open() was called %d times\n", opens);
    EXPECTF(opens == 0, "open() was called %d times from inside the allocator", opens);
    return t_done();
}
