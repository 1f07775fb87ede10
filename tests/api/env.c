// Environment tunables, read at start-up: MALLOC_MMAP_THRESHOLD_,
// MALLOC_TOP_PAD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES; garbage values are
// ignored without crashing.  The test re-executes itself (/proc/self/exe)
// with the variable set and a mode name in argv[1].
#include "../common.h"


/* how many of 8 fresh n-byte blocks are separate mappings (see common.h) */
static size_t mmapped(size_t n) { return t_count_mmapped(n, 8); }

/* arena (heap system bytes) while `total` bytes of 4000-byte blocks are live,
 * and after they are all freed */
static void heap_cycle(size_t total, size_t *live_arena, size_t *after_arena)
{
    enum { SZ = 4000 };
    size_t n = total / SZ;
    void **v = malloc(n * sizeof *v);
    CHECK(v != NULL);
    for (size_t i = 0; i < n; i++) {
        v[i] = malloc(SZ);
        CHECK(v[i] != NULL);
        memset(v[i], 2, SZ);
    }
    *live_arena = t_mallinfo2().arena;
    for (size_t i = n; i-- > 0;)
        free(v[i]);
    free(v);
    *after_arena = t_mallinfo2().arena;
}

/* a little of everything, to show the allocator is sane */
static void workload(void)
{
    static void *v[300];
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)(i * 37 % 3000) + (i % 50 == 0 ? 300000 : 0);
        v[i] = malloc(n);
        CHECK(v[i] != NULL);
        memset(v[i], i, n);
    }
    for (int i = 0; i < 300; i += 2)
        free(v[i]);
    for (int i = 1; i < 300; i += 2)
        v[i] = realloc(v[i], 5000);
    for (int i = 1; i < 300; i += 2)
        free(v[i]);
}

static int child(const char *mode)
{
    size_t live, after;
    if (!strcmp(mode, "garbage")) {
        /* the garbage value was ignored: default thresholds in force. The
         * trim first: the mapped blocks below raise the dynamic threshold,
         * after which a trim waits for the decay purge (src/trim.c) */
        heap_cycle(8 * T_MIB, &live, &after);
        EXPECTF(after + 6 * T_MIB <= live, "garbage value: arena %zu -> %zu after freeing 8 MiB "
                "(default trim threshold)", live, after);
        EXPECTF(live < 24 * T_MIB, "garbage value: arena %zu for 8 MiB (default top pad)", live);
        size_t c = mmapped(100 * 1024);
        EXPECTF(c == 0, "garbage value: %zu of 8 x 100 KiB blocks mmapped (default threshold 128 KiB)", c);
        c = mmapped(200 * 1024);
        EXPECTF(c >= 6, "garbage value: only %zu of 8 x 200 KiB blocks mmapped (default threshold 128 KiB)", c);
    } else if (!strcmp(mode, "default")) {
        size_t c = mmapped(100 * 1024);
        EXPECTF(c == 0, "default: %zu of 8 x 100 KiB blocks mmapped", c);
        c = mmapped(200 * 1024);
        EXPECTF(c >= 6, "default: only %zu of 8 x 200 KiB blocks mmapped", c);
    } else if (!strcmp(mode, "mmap64k")) {
        size_t c = mmapped(100 * 1024);
        EXPECTF(c >= 6, "threshold 65536: only %zu of 8 x 100 KiB blocks mmapped", c);
        c = mmapped(70 * 1024);
        EXPECTF(c >= 6, "threshold 65536: only %zu of 8 x 70 KiB blocks mmapped", c);
        c = mmapped(32 * 1024);
        EXPECTF(c == 0, "threshold 65536: %zu of 8 x 32 KiB blocks mmapped", c);
        /* the threshold was set explicitly: no dynamic adjustment after frees */
        c = mmapped(100 * 1024);
        EXPECTF(c >= 6, "threshold 65536: after frees only %zu of 8 x 100 KiB blocks mmapped", c);
    } else if (!strcmp(mode, "toppad16m")) {
        for (int i = 0; i < 3; i++) {
            void *p = malloc(100000);       /* grows the heap */
            CHECK(p != NULL);
            t_escape(p);
        }
        size_t a = t_mallinfo2().arena;
        EXPECTF(a >= 16 * T_MIB, "top pad 16 MiB: arena only %zu after growing the heap", a);
    } else if (!strcmp(mode, "toppad-default")) {
        for (int i = 0; i < 3; i++) {
            void *p = malloc(100000);
            CHECK(p != NULL);
            t_escape(p);
        }
        size_t a = t_mallinfo2().arena;
        EXPECTF(a < 4 * T_MIB, "default top pad: arena %zu after 300 KB of heap", a);
    } else if (!strcmp(mode, "trim1g")) {
        heap_cycle(8 * T_MIB, &live, &after);
        EXPECTF(after + T_MIB >= live, "trim threshold 1 GiB: arena %zu -> %zu after freeing 8 MiB",
                live, after);
    } else if (!strcmp(mode, "trim-default")) {
        heap_cycle(8 * T_MIB, &live, &after);
        EXPECTF(after + 6 * T_MIB <= live, "default trim threshold: arena %zu -> %zu after freeing 8 MiB",
                live, after);
    } else if (!strcmp(mode, "mmapmax0")) {
        size_t c = mmapped(300 * 1024);
        EXPECTF(c == 0, "mmap max 0: %zu of 8 x 300 KiB blocks mmapped", c);
    } else if (!strcmp(mode, "multi")) {
        size_t c = mmapped(100 * 1024);
        EXPECTF(c >= 6, "GLIBC_TUNABLES multi: only %zu of 8 x 100 KiB blocks mmapped", c);
        heap_cycle(8 * T_MIB, &live, &after);
        EXPECTF(after + T_MIB >= live, "GLIBC_TUNABLES multi: trim threshold ignored, arena %zu -> %zu",
                live, after);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    workload();
    return t_done();
}

/* Runs a copy of this program in `mode` with the MALLOC_* / GLIBC_TUNABLES
 * variables of the parent removed and `set` (NULL-terminated "K=V" list)
 * added (t_run_self). */
static void run(const char *mode, const char *const *set)
{
    char desc[512] = "", err[4096];
    for (int i = 0; set[i]; i++) {
        strncat(desc, set[i], sizeof desc - strlen(desc) - 2);
        strcat(desc, " ");
    }
    int st = t_run_self(mode, set, err, sizeof err);
    if (WIFSIGNALED(st))
        EXPECTF(0, "child %s[mode %s] died of signal %d: %s", desc, mode, WTERMSIG(st), err);
    else
        EXPECTF(WEXITSTATUS(st) == 0, "child %s[mode %s] failed (exit %d): %s", desc, mode,
                WEXITSTATUS(st), err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);

    run("default", T_ENV("UMALLOC_TEST_NOTHING=1"));
    run("mmap64k", T_ENV("MALLOC_MMAP_THRESHOLD_=65536"));
    run("toppad-default", T_ENV("UMALLOC_TEST_NOTHING=1"));
    run("toppad16m", T_ENV("MALLOC_TOP_PAD_=16777216"));
    run("trim-default", T_ENV("UMALLOC_TEST_NOTHING=1"));
    run("trim1g", T_ENV("MALLOC_TRIM_THRESHOLD_=1073741824"));
    run("mmap64k", T_ENV("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536"));
    run("multi", T_ENV("GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=65536"));
    run("toppad16m", T_ENV("GLIBC_TUNABLES=glibc.malloc.top_pad=16777216"));
    /* spaces or tabs first, and a plus sign, as glibc's tunables read them */
    run("mmap64k", T_ENV("MALLOC_MMAP_THRESHOLD_=+65536"));
    run("mmap64k", T_ENV("MALLOC_MMAP_THRESHOLD_= 65536"));
    run("mmap64k", T_ENV("MALLOC_MMAP_THRESHOLD_=\t 65536"));
    run("mmap64k", T_ENV("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=+65536"));
    /* "0x" with no digit after it is 0, as glibc's tunables read it */
    run("mmapmax0", T_ENV("MALLOC_MMAP_MAX_=0"));
    run("mmapmax0", T_ENV("MALLOC_MMAP_MAX_=0x"));
    run("mmapmax0", T_ENV("GLIBC_TUNABLES=glibc.malloc.mmap_max=0X"));

    /* garbage: ignored, defaults stay in force, nothing crashes */
    const char *garbage[] = {
        "MALLOC_MMAP_THRESHOLD_=abc", "MALLOC_MMAP_THRESHOLD_=-5x", "MALLOC_MMAP_THRESHOLD_=",
        "MALLOC_MMAP_THRESHOLD_=  ", "MALLOC_MMAP_THRESHOLD_=+", "MALLOC_MMAP_THRESHOLD_=+-5",
        "MALLOC_TOP_PAD_=abc", "MALLOC_TOP_PAD_=-5x", "MALLOC_TRIM_THRESHOLD_=abc",
        "MALLOC_TRIM_THRESHOLD_=-5x", "MALLOC_MMAP_MAX_=abc", "MALLOC_ARENA_MAX=-5x",
        "MALLOC_PERTURB_=abc", "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=abc",
        "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=-5x", "GLIBC_TUNABLES=abc",
        "GLIBC_TUNABLES=:::=:=", "GLIBC_TUNABLES=glibc.malloc.=1:glibc.malloc.top_pad",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        run("garbage", T_ENV(garbage[i]));
    return t_done();
}
