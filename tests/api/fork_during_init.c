// variants: asan tsan
// cflags: -pthread
// A fork while another thread is inside umalloc's first call (um_init_slow,
// holding its init lock): the child's own first malloc must not wait for
// ever on that lock, whose holder does not exist in the child. Only where
// threads can exist before umalloc's first call: the prefixed library of
// the asan/tsan variants (under LD_PRELOAD, the first pthread_create
// initialises umalloc through its calloc, before a second thread exists).
// To make the window certain, the init's getpagesize() call (interposed
// here) lets the other thread fork and waits up to 300 ms for it. The
// child reports its malloc within 5 s (alarm).
#include "../common.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/auxv.h>

static _Atomic int armed, go_fork, forked, in_init_forked;
static int child_status = -1;

/* umalloc's init asks for the page size first: hold it there while the
 * other thread forks (or tries to: 300 ms at most). */
__attribute__((no_sanitize("thread"))) int getpagesize(void)
{
    if (armed && atomic_exchange(&armed, 0)) {
        atomic_store(&go_fork, 1);
        for (int i = 0; i < 300 && !atomic_load(&forked); i++)
            usleep(1000);
        atomic_store(&in_init_forked, atomic_load(&forked));
    }
    return (int)getauxval(AT_PAGESZ);
}

static void *forker(void *arg)
{
    (void)arg;
    while (!atomic_load(&go_fork))
        usleep(100);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5);
        void *p = malloc(64);
        _exit(p ? 0 : 3);
    }
    atomic_store(&forked, 1);
    if (pid > 0)
        waitpid(pid, &child_status, 0);
    return NULL;
}

int main(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, forker, NULL) == 0);
    atomic_store(&armed, 1);
    void *p = malloc(100); /* umalloc's first call */
    CHECK(p != NULL);
    if (atomic_load(&armed)) { /* the init had run already */
        atomic_store(&go_fork, 1);
        pthread_join(t, NULL);
        t_skip("umalloc was initialised before the test's threads existed");
    }
    free(p);
    pthread_join(t, NULL);
    printf("fork done while the init waited: %s; child status %#x\n",
           atomic_load(&in_init_forked) ? "yes" : "no", child_status);
    CHECKF(!WIFSIGNALED(child_status), "the child died of signal %d (%s) in its first malloc",
           WTERMSIG(child_status), WTERMSIG(child_status) == SIGALRM ? "hung for 5 s" : "crashed");
    CHECKF(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0, "the child's status %#x", child_status);
    return t_done();
}
