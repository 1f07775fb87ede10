/* launch - run a command and report the resource usage of that command alone.
 *
 *   launch RESULTFILE PROG [ARGS...]
 *
 * Used by bench/run.py instead of spawning workloads directly: a process
 * started by fork+exec inherits the parent's peak RSS (Linux carries the old
 * address space's high-water mark across exec), so a child of the Python
 * harness would report at least the harness's own ~20 MB.  This launcher is
 * linked statically and tiny, so the child's ru_maxrss is its own.
 *
 * If BENCH_LAUNCH_PRELOAD is set, the child gets it as LD_PRELOAD (the
 * launcher itself never runs on the allocator under test). If
 * BENCH_LAUNCH_CPU=N is set, the child runs on CPU N only (run.py --cpu).
 * RESULTFILE receives "key value" lines: status (raw wait status), wall,
 * utime, stime (seconds), maxrss_kb, minflt, majflt, nvcsw, nivcsw.
 * Exit status: the child's, or 128+signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t) { return (double)t.tv_sec + t.tv_usec * 1e-6; }

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: launch RESULTFILE PROG [ARGS...]\n");
        return 125;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("launch: fork");
        return 125;
    }
    if (pid == 0) {
        const char *cpu = getenv("BENCH_LAUNCH_CPU");
        if (cpu) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(atoi(cpu), &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) {
                perror("launch: sched_setaffinity");
                _exit(126);
            }
            unsetenv("BENCH_LAUNCH_CPU");
        }
        const char *pre = getenv("BENCH_LAUNCH_PRELOAD");
        if (pre) {
            setenv("LD_PRELOAD", pre, 1);
            unsetenv("BENCH_LAUNCH_PRELOAD");
        }
        execvp(argv[2], argv + 2);
        perror("launch: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("launch: wait4");
            return 125;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror("launch: result file");
        return 125;
    }
    fprintf(f, "status %d\nwall %.6f\nutime %.6f\nstime %.6f\nmaxrss_kb %ld\n"
               "minflt %ld\nmajflt %ld\nnvcsw %ld\nnivcsw %ld\n",
            status, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
            tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt,
            ru.ru_nvcsw, ru.ru_nivcsw);
    fclose(f);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
