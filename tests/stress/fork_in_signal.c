// variants: release debug
// timeout: 90
// Mirrors glibc's tst-mallocfork2: a single-threaded program mallocs and
// frees while another process keeps sending it SIGUSR1; the handler forks
// (the child exits at once) and waits for the child. The signal often lands
// inside malloc or free, holding an allocator lock: the fork's prepare
// handler must not wait for it (glibc takes no malloc lock in a
// single-threaded fork, and neither does umalloc). A hang is a failure.
#include "../common.h"
#include <sched.h>

static volatile sig_atomic_t got;
static volatile pid_t sender;

static void on_usr1(int sig)
{
    (void)sig;
    /* the sender's first signal can land before fork() has returned its
     * pid here: kill(0, SIGSTOP) would then stop the whole process group,
     * this process with it, and the test hung until its timeout */
    if (got || sender <= 0)
        return;
    got = 1;
    kill(sender, SIGSTOP); /* let the main loop make progress */
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0)
        _exit(0);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            abort();
    if (st != 0)
        abort();
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "fork_in_signal: no progress for 60 s (deadlock)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    kill(sender, SIGKILL);
    _exit(3);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    signal(SIGALRM, on_alarm);
    pid_t parent = getpid();
    sender = fork();
    CHECK(sender >= 0);
    if (sender == 0) {
        for (;;) {
            if (kill(parent, SIGUSR1) != 0)
                _exit(0);
            sched_yield();
        }
    }
    alarm(60); /* re-armed as signals land: a watchdog for progress */
    enum { SLOTS = 1009 };
    static void *obj[SLOTS];
    unsigned seed = 1;
    long want = t_scale(400, 100), signals = 0, ops = 0;
    while (signals < want) {
        int slot = rand_r(&seed) % SLOTS;
        size_t size = (size_t)rand_r(&seed) % 70000;
        if (kill(sender, SIGCONT) != 0)
            break;
        got = 0;
        free(obj[slot]);
        obj[slot] = malloc(size);
        CHECKF(obj[slot] != NULL || size == 0, "malloc(%zu)", size);
        if (got && signals % 20 == 0)
            alarm(60);
        signals += got;
        ops++;
    }
    signal(SIGUSR1, SIG_IGN);
    kill(sender, SIGKILL);
    waitpid(sender, NULL, 0);
    alarm(0);
    for (int i = 0; i < SLOTS; i++)
        free(obj[i]);
    printf("%ld signals landed during %ld malloc/free pairs\n", signals, ops);
    EXPECT(signals >= want);
    return t_done();
}
