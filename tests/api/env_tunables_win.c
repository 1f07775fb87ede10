// A setting given both in GLIBC_TUNABLES and by its MALLOC_*_ alias takes
// the GLIBC_TUNABLES value, as glibc 2.36 does; the MALLOC_*_ value won.
// Settings given in only one of them both apply. The test re-executes
// itself (/proc/self/exe) with the variables set.
#include "../common.h"


static int child(const char *mode)
{
    if (!strcmp(mode, "threshold1m")) {
        /* 1 MiB from GLIBC_TUNABLES, not MALLOC_MMAP_THRESHOLD_'s 64 KiB */
        size_t c = t_count_mmapped(300 * 1024, 8);
        EXPECTF(c == 0, "threshold 1 MiB: %zu of 8 x 300 KiB blocks mmapped", c);
        c = t_count_mmapped(2 << 20, 8);
        EXPECTF(c >= 6, "threshold 1 MiB: only %zu of 8 x 2 MiB blocks mmapped", c);
    } else if (!strcmp(mode, "perturb-a5")) {
        unsigned char *p = malloc(3000);
        CHECK(p != NULL);
        size_t bad = t_first_not(p, 3000, 0xa5 ^ 0xff);
        EXPECTF(bad == (size_t)-1, "perturb 0xa5: byte %zu is %#x, expected %#x", bad,
                bad == (size_t)-1 ? 0 : p[bad], 0xa5 ^ 0xff);
        free(p);
        /* MALLOC_MMAP_MAX_=0, alone in the environment, applies too */
        size_t c = t_count_mmapped(2 << 20, 4);
        EXPECTF(c == 0, "MALLOC_MMAP_MAX_=0: %zu of 4 x 2 MiB blocks mmapped", c);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return t_done();
}

static void run(const char *mode, const char *const *set)
{
    static char err[4096];
    int st = t_run_self(mode, set, err, sizeof err);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %s with %s ...: failed: %s", mode, set[0], err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    run("threshold1m", T_ENV("MALLOC_MMAP_THRESHOLD_=65536",
                           "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576"));
    run("threshold1m", T_ENV("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576",
                           "MALLOC_MMAP_THRESHOLD_=65536"));
    run("perturb-a5", T_ENV("MALLOC_PERTURB_=90", "MALLOC_MMAP_MAX_=0",
                          "GLIBC_TUNABLES=glibc.malloc.perturb=165"));
    return t_done();
}
