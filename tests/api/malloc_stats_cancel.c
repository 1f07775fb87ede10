// cflags: -pthread
// ldflags: -pthread
// Mirrors glibc's tst-malloc-stats-cancellation: malloc_stats called by a
// thread with a cancellation request pending writes its whole report (write
// is a cancellation point, so it must hold cancellation off), and the
// request stays pending: the thread's next cancellation point ends it.
#include "../common.h"
#include <pthread.h>

static pthread_barrier_t gate;
static volatile int after_stats;

static void *run(void *arg)
{
    (void)arg;
    free(malloc(100)); /* something to report */
    pthread_barrier_wait(&gate); /* main cancels us before this returns */
    pthread_barrier_wait(&gate);
    malloc_stats();
    after_stats = 1;
    pthread_testcancel();
    return NULL; /* not reached */
}

int main(void)
{
    char path[] = "/tmp/umalloc-stats-cancel-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    int saved = dup(2);
    CHECK(saved >= 0);
    CHECK(pthread_barrier_init(&gate, NULL, 2) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run, NULL) == 0);
    pthread_barrier_wait(&gate);
    CHECK(dup2(fd, 2) == 2);
    CHECK(pthread_cancel(t) == 0);
    pthread_barrier_wait(&gate);
    void *ret;
    CHECK(pthread_join(t, &ret) == 0);
    dup2(saved, 2);
    close(saved);
    EXPECTF(ret == PTHREAD_CANCELED, "thread was not cancelled after malloc_stats");
    EXPECT(after_stats == 1);
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    CHECK(n > 0);
    buf[n] = 0;
    EXPECTF(strstr(buf, "Arena 0:") != NULL, "report: %s", buf);
    EXPECTF(strstr(buf, "Total (incl. mmap):") != NULL, "report: %s", buf);
    EXPECTF(strstr(buf, "max mmap bytes") != NULL, "report cut short: %s", buf);
    EXPECTF(buf[n - 1] == '\n', "report cut short: %s", buf);
    return t_done();
}
