// variants: release debug asan
// timeout: 60
// Container-aware purge. The test runs itself again with a memory limit and
// a 60 s decay, so only the limit can make free pages go back within the
// 1.5 s it waits: the child builds 200 KiB blocks until RSS is 95% of the
// limit, frees two of every three (interior pages; the top stays pinned) and
// makes light arena calls. With UMALLOC_MEMORY_LIMIT (plain and with a K/M
// suffix) RSS must drop by at least 3/4 of what was freed; with a limit far
// away it must not drop. Then the same with a real cgroup (v2 memory.max or
// v1 memory.limit_in_bytes) that the test creates under its own cgroup, when
// the machine allows it (else that part is skipped with a message).
// (Not under tsan: its shadow memory is four times the heap.)
#include "../common.h"
#include "../purge_util.h"

#define LIMIT_MIB 64

enum { MAXB = 4096 };
static char *blk[MAXB];

/* The child: build to 95% of limit, free 2/3, report RSS drop in % of freed. */
static int child(size_t limit)
{
    CHECK(mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1);
    const size_t sz = 200 * 1024;
    size_t n = 0;
    while (n < MAXB && t_rss() < limit / 100 * 95) {
        blk[n] = malloc(sz);
        CHECK(blk[n] != NULL);
        memset(blk[n], (int)n, sz);
        n++;
    }
    CHECK(n < MAXB);
    size_t peak = t_rss(), freed = 0;
    for (size_t i = 0; i < n; i++)
        if (i % 3 != 2) {
            free(blk[i]);
            blk[i] = NULL;
            freed += sz;
        }
    double t0 = p_now();
    size_t rss = t_rss();
    /* (RSS may first grow by a page or two: peak - rss must not wrap) */
    while (p_now() - t0 < 1.5 && (rss >= peak || peak - rss < freed / 10 * 9)) {
        char *p = malloc(300 * 1024); /* an arena call */
        CHECK(p != NULL);
        p[0] = 1;
        t_escape(p);
        free(p);
        p_sleep_ms(2);
        rss = t_rss();
    }
    for (size_t i = 0; i < n; i++)
        if (blk[i]) {
            CHECK(blk[i][0] == (char)i && blk[i][sz - 1] == (char)i);
            free(blk[i]);
        }
    long pct = rss < peak ? (long)((peak - rss) * 100 / freed) : 0;
    printf("%zu blocks, RSS %zu -> %zu KiB in %.2f s: %ld%% of the %zu KiB freed went back\n", n, peak >> 10,
           rss >> 10, p_now() - t0, pct, freed >> 10);
    return (int)(pct > 100 ? 100 : pct); /* the exit status carries it */
}

static char self[4096];

/* Run the child with env additions; cg (if any) is a cgroup.procs file the
 * child moves itself into first. Returns the % of freed memory it saw go back. */
static int run(const char *limit_env, const char *cg_procs)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (cg_procs) {
            int fd = open(cg_procs, O_WRONLY);
            if (fd < 0 || write(fd, "0\n", 2) != 2)
                _exit(200);
            close(fd);
        }
        if (limit_env)
            setenv("UMALLOC_MEMORY_LIMIT", limit_env, 1);
        else
            unsetenv("UMALLOC_MEMORY_LIMIT");
        setenv("UMALLOC_PURGE_DECAY_MS", "60000", 1);
        char arg[32];
        snprintf(arg, sizeof arg, "%d", LIMIT_MIB);
        execl(self, self, "child", arg, (char *)NULL);
        _exit(201);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) <= 100, "child (limit %s, cgroup %s) ended with status 0x%x",
           limit_env ? limit_env : "-", cg_procs ? cg_procs : "-", st);
    return WEXITSTATUS(st);
}

static bool write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return false;
    bool ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
    return close(fd) == 0 && ok;
}

/* Make a cgroup with a LIMIT_MIB memory limit under our own; fills procs
 * with its cgroup.procs path and dir with its directory. */
static bool make_cgroup(char *dir, size_t cap, char *procs, char *why, size_t wcap)
{
    static char buf[4096];
    if (!t_read_file("/proc/self/cgroup", buf, sizeof buf)) {
        snprintf(why, wcap, "no /proc/self/cgroup");
        return false;
    }
    char limit[32];
    snprintf(limit, sizeof limit, "%d", LIMIT_MIB << 20);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        const char *root, *file;
        if (strncmp(line, "0::", 3) == 0) {
            root = "/sys/fs/cgroup";
            file = "memory.max";
        } else if ((size_t)(c2 - c1 - 1) == 6 && strncmp(c1 + 1, "memory", 6) == 0) {
            root = "/sys/fs/cgroup/memory";
            file = "memory.limit_in_bytes";
        } else {
            continue;
        }
        char *path = c2 + 1;
        if (strcmp(path, "/") == 0)
            path = "";
        snprintf(dir, cap, "%s%s/umalloc-purge-%d", root, path, (int)getpid());
        if (mkdir(dir, 0755) != 0) {
            snprintf(why, wcap, "cannot create %s: %s", dir, strerror(errno));
            continue;
        }
        char f[4200];
        snprintf(f, sizeof f, "%s/%s", dir, file);
        if (!write_file(f, limit)) {
            snprintf(why, wcap, "cannot set %s: %s", f, strerror(errno));
            rmdir(dir);
            continue;
        }
        snprintf(procs, cap, "%s/cgroup.procs", dir);
        return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child((size_t)atoi(argv[2]) << 20);
    p_need_umalloc();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;

    char lim[32];
    snprintf(lim, sizeof lim, "%d", LIMIT_MIB << 20);
    int plain = run(lim, NULL);
    int suffixed = run(LIMIT_MIB == 64 ? "64M" : lim, NULL);
    int far = run("64G", NULL);
    printf("UMALLOC_MEMORY_LIMIT=%s: %d%% back; =64M: %d%%; =64G (far): %d%%\n", lim, plain, suffixed, far);
    EXPECTF(plain >= 75, "near the limit only %d%% of the freed memory went back", plain);
    EXPECTF(suffixed >= 75, "UMALLOC_MEMORY_LIMIT=64M: only %d%% went back", suffixed);
    EXPECTF(far < 10, "far from the limit, with a 60 s decay, %d%% went back", far);

    char dir[4096], procs[4096], why[4096] = "no cgroup memory controller found";
    if (getuid() != 0) {
        printf("real cgroup: skipped (not root)\n");
    } else if (!make_cgroup(dir, sizeof dir, procs, why, sizeof why)) {
        printf("real cgroup: skipped (%s)\n", why);
    } else {
        int cg = run(NULL, procs);
        printf("real cgroup %s with a %d MiB limit: %d%% back\n", dir, LIMIT_MIB, cg);
        EXPECTF(cg >= 75, "in a cgroup limited to %d MiB, only %d%% of the freed memory went back", LIMIT_MIB, cg);
        if (rmdir(dir) != 0)
            printf("could not remove %s: %s\n", dir, strerror(errno));
    }
    return t_done();
}
