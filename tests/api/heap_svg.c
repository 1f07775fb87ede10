// umalloc_heap_svg and the timeline under every build (the sanitizer builds
// check their memory and thread safety): the picture of a heap with several
// threads' chunks is a complete SVG with a region per heap; a run with
// UMALLOC_TIMELINE (re-executed, since the sampler starts at load) charts
// four series.
// cflags: -pthread
// ldflags: -pthread
#include "../common.h"
#include <pthread.h>
#ifdef UMALLOC_PREFIXED
int umalloc_heap_svg(int fd);
#else
int umalloc_heap_svg(int fd) __attribute__((weak)); /* the preloaded library */
#endif

static char out[1 << 21];

static void *worker(void *arg)
{
    void **v = arg;
    for (int i = 0; i < 200; i++)
        v[i] = malloc((size_t)(i * 53 % 2000) + 1);
    for (int i = 0; i < 200; i += 2)
        free(v[i]);
    return NULL;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* path's contents into out (empty if it cannot be read: the checks on
 * out then fail) */
static size_t slurp(const char *path) { return t_read_file(path, out, sizeof out); }

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "timeline")) {
        static void *v[1000];
        for (int i = 0; i < 1000; i++)
            v[i] = malloc(4000);
        usleep(100 * 1000);
        for (int i = 0; i < 1000; i++)
            free(v[i]);
        usleep(50 * 1000);
        return 0;
    }
    if (!umalloc_heap_svg)
        t_skip("umalloc_heap_svg not exported");
    static void *slots[4][200];
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, worker, slots[i]) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *volatile big = malloc(1 << 20); /* a mapped chunk */
    CHECK(big != NULL);
    big[0] = 1;
    char path[] = "/tmp/umalloc-svg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(umalloc_heap_svg(fd) == 0);
    close(fd);
    size_t n = slurp(path);
    unlink(path);
    EXPECT(n > 1000);
    EXPECT(strncmp(out, "<?xml", 5) == 0);
    EXPECT(n > 7 && strcmp(out + n - 7, "</svg>\n") == 0);
    EXPECTF(count(out, "<g class=\"region\"") >= 2, "%zu regions (a heap and a mapped chunk at least)",
            count(out, "<g class=\"region\""));
    EXPECT(count(out, "data-kind=\"mapped\"") >= 1);
    EXPECTF(count(out, "<rect class=\"c0") > 400, "%zu in-use rects", count(out, "<rect class=\"c0"));
    EXPECT(count(out, "<rect") == count(out, "<rect class=\"") + 1); /* + the background */
    free(big);
    for (int i = 0; i < 4; i++)
        for (int k = 1; k < 200; k += 2)
            free(slots[i][k]);

    /* free memory never touched has no RAM: striped, and the title says so */
    CHECK(mallopt(M_MMAP_THRESHOLD, 16 << 20) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    char *volatile untouched = malloc(8 << 20);
    CHECK(untouched != NULL);
    void *guard = malloc(100); /* keeps the freed block off top */
    free(untouched);
    char path2[] = "/tmp/umalloc-svg-XXXXXX";
    fd = mkstemp(path2);
    CHECK(fd >= 0);
    CHECK(umalloc_heap_svg(fd) == 0);
    close(fd);
    slurp(path2);
    unlink(path2);
    EXPECTF(count(out, "<rect class=\"nr more\"") >= 1, "no striped (not resident) rectangles");
    EXPECT(strstr(out, "not resident</title>") != NULL);
    free(guard);

    /* the timeline, in a child that has the variables from the start. Not
     * under TSan: the sampler reads other threads' cache counters the way
     * mallinfo2 does (um_tcache_bytes, relaxed loads of counters the fast
     * path writes plainly), which TSan reports as a race. */
    if (!strcmp(t_variant(), "tsan"))
        return t_done();
    char tl[] = "/tmp/umalloc-timeline-XXXXXX";
    fd = mkstemp(tl);
    CHECK(fd >= 0);
    close(fd);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("UMALLOC_TIMELINE", tl, 1);
        setenv("UMALLOC_TIMELINE_MS", "5", 1);
        execl("/proc/self/exe", argv[0], "timeline", (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "timeline child status %d", st);
    n = slurp(tl);
    unlink(tl);
    EXPECTF(count(out, "<polyline class=\"series\"") == 4, "%zu series", count(out, "<polyline"));
    const char *u = strstr(out, "data-series=\"used\" data-peak=\"");
    CHECK(u != NULL);
    long long peak = strtoll(u + 30, NULL, 10);
    EXPECTF(peak >= 4000 * 1000, "in-use peak %lld, 4 MB were live", peak);
    EXPECT(n > 7 && strcmp(out + n - 7, "</svg>\n") == 0);
    return t_done();
}
