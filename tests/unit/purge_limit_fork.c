// cflags: -pthread
/* A fork that lands while the memory limit is being read: the purge thread
 * reads it with no lock held, so fork does not wait for it, and the child
 * inherited "being read" from a thread it does not have. Every later read
 * in the child then found the read taken and gave up: the child never knew
 * its limit, and never purged at once near it (a reviewer showed it with a
 * slowed cgroup read: 18 MB kept against 10 MB in the parent). Now the
 * child starts that read again. Checked with the state set by hand before
 * the fork: the child finds it unread (its next arena calls read it),
 * while the parent's state is left alone; a limit already read stays read. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "internal.h"
#include "purge.h"

enum { UNREAD = 0, READING = 1, KNOWN = 2 };

static int pipefd[2];

/* A second thread (as the purge thread would be): fork then takes and
 * resets umalloc's locks, and runs the purge layer's child hook. */
static void *idle(void *arg)
{
    char c;
    (void)arg;
    (void)!read(pipefd[0], &c, 1);
    return NULL;
}

int main(void)
{
    um_ensure_init();
    pthread_t t;
    U_CHECK(pipe(pipefd) == 0 && pthread_create(&t, NULL, idle, NULL) == 0, "thread");
    int before = um_purge_limit_state(-1);
    um_purge_limit_state(READING);
    pid_t pid = fork();
    U_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        int st = um_purge_limit_state(-1);
        _exit(st == UNREAD ? 0 : 10 + st);
    }
    int status;
    U_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    U_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "the child found the limit's read in state %d (want 0, unread: it must read it again)",
             WIFEXITED(status) ? WEXITSTATUS(status) - 10 : -1);
    U_CHECK(um_purge_limit_state(-1) == READING, "the parent's read in progress was touched");
    /* a limit already read stays read in the child */
    um_purge_limit_state(KNOWN);
    pid = fork();
    U_CHECK(pid >= 0, "fork");
    if (pid == 0)
        _exit(um_purge_limit_state(-1) == KNOWN ? 0 : 1);
    U_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "a limit read before the fork was forgotten in the child");
    um_purge_limit_state(before);
    (void)!write(pipefd[1], "x", 1);
    pthread_join(t, NULL);
    return U_DONE();
}
