// variants: release debug
// A thread's cache stays within its byte budget: UMALLOC_TCACHE_MAX when set
// (K/M/G suffixes), else a share of 4 MiB (at most 1 MiB for one thread);
// a value that is not a size is refused (and the default kept). The test
// re-executes itself with the variable set and reads the cache's size from
// malloc_info's <total type="tcache" .../>.
#include "../common.h"
#include <sys/wait.h>

/* Bytes in this thread's cache after freeing many blocks of many sizes. */
static size_t cached_after_frees(void)
{
    enum { N = 3000 };
    static void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = malloc((size_t)(i % 60) * 16 + 16 + (i % 7 == 0 ? 3000 : 0));
        CHECK(v[i] != NULL);
    }
    for (int i = 0; i < N; i++)
        free(v[i]);
    return t_info_total("tcache");
}

static int child(const char *mode)
{
    size_t b = cached_after_frees();
    printf("%s: %zu bytes cached by the thread\n", mode, b);
    if (!strcmp(mode, "16K"))
        EXPECTF(b <= 16 * 1024, "UMALLOC_TCACHE_MAX=16K: %zu bytes cached", b);
    else if (!strcmp(mode, "default") || !strcmp(mode, "bad"))
        EXPECTF(b <= 1024 * 1024 && b > 16 * 1024, "default budget: %zu bytes cached", b);
    else if (!strcmp(mode, "8M")) /* the per-size caps bound it then */
        EXPECTF(b > 256 * 1024, "UMALLOC_TCACHE_MAX=8M: only %zu bytes cached", b);
    return t_done();
}

static void run(const char *mode, const char *set)
{
    char err[4096];
    const char *const env[] = {set ? set : "UMALLOC_TCACHE_MAX", NULL}; /* no '=': unset */
    int st = t_run_self(mode, env, err, sizeof err);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %s failed: %s", mode, err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    if (t_is_glibc())
        t_skip("umalloc's own variable");
    run("default", NULL);
    run("16K", "UMALLOC_TCACHE_MAX=16K");
    run("8M", "UMALLOC_TCACHE_MAX=8M");
    run("bad", "UMALLOC_TCACHE_MAX=lots");
    return t_done();
}
