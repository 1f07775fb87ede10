/* The cgroup memory limit is read when it can matter, not at start-up: a
 * process whose arenas hold less than 1 MiB never opens the cgroup files
 * (their code and libc's stay out of its RSS). Checked here: a fresh process
 * that makes small malloc/free calls has not read it; once the main arena
 * holds more than 1 MiB, the next arena calls read it; and
 * UMALLOC_MEMORY_LIMIT is still taken at start (a child run with it). */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "internal.h"
#include "purge.h"

/* What the arena slow paths do every few calls, done here directly. */
static void ticks(void)
{
    for (int i = 0; i < 4; i++) {
        um_lock_acquire(&um_main_arena.lock);
        um_purge_tick_slow(&um_main_arena);
        um_lock_release(&um_main_arena.lock);
    }
}

static int child_with_env(const char *self)
{
    um_ensure_init();
    U_CHECK(um_purge_limit_known(), "UMALLOC_MEMORY_LIMIT not taken at start");
    U_CHECK(um_purge_memory_limit() == (size_t)64 << 20, "limit %zu, want 64 MiB",
            um_purge_memory_limit());
    (void)self;
    return U_DONE();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_with_env(argv[0]);
    if (getenv("UMALLOC_MEMORY_LIMIT")) {
        printf("skipped: UMALLOC_MEMORY_LIMIT is set\n");
        return 77;
    }
    um_ensure_init();
    U_CHECK(!um_purge_limit_known(), "limit read at start-up");

    /* small traffic through the arena: many slow-path calls, < 1 MiB held */
    enum { SMALL = 200 };
    static void *s[SMALL];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < SMALL; i++) {
            s[i] = malloc(64 + (size_t)(i % 60) * 16);
            U_CHECK(s[i] != NULL, "small malloc");
        }
        for (int i = 0; i < SMALL; i++)
            free(s[i]);
    }
    ticks();
    U_CHECK(um_main_arena.system_mem < ((size_t)1 << 20), "main arena grew to %zu", um_main_arena.system_mem);
    U_CHECK(!um_purge_limit_known(), "limit read by a process holding %zu bytes", um_main_arena.system_mem);

    /* past 1 MiB in the main arena (blocks below the mmap threshold) */
    enum { BIG = 400 };
    static void *b[BIG];
    for (int i = 0; i < BIG; i++) {
        b[i] = malloc(8192);
        U_CHECK(b[i] != NULL, "8 KiB malloc");
        memset(b[i], 1, 8192);
    }
    for (int i = 0; i < BIG; i += 2) /* arena calls: frees of chunks the caches do not keep */
        free(b[i]);
    for (int i = 0; i < BIG; i += 2)
        b[i] = malloc(8192 + 512);
    ticks();
    U_CHECK(um_main_arena.system_mem >= ((size_t)1 << 20), "main arena only %zu", um_main_arena.system_mem);
    U_CHECK(um_purge_limit_known(), "limit not read with %zu bytes in the main arena", um_main_arena.system_mem);
    for (int i = 0; i < BIG; i++)
        free(b[i]);

    /* UMALLOC_MEMORY_LIMIT: taken at start, without the 1 MiB */
    pid_t pid = fork();
    U_CHECK(pid >= 0, "fork");
    if (pid == 0) {
        char *args[] = {argv[0], "child", NULL};
        char *env[] = {"UMALLOC_MEMORY_LIMIT=64M", NULL};
        execve("/proc/self/exe", args, env);
        _exit(127);
    }
    int st = 0;
    U_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    U_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child with UMALLOC_MEMORY_LIMIT: status 0x%x", st);
    return U_DONE();
}
