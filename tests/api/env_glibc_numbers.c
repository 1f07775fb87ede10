// The MALLOC_*_ variables and GLIBC_TUNABLES values are numbers as glibc
// reads them: a leading 0 is octal (MALLOC_MMAP_THRESHOLD_=01000000 is
// 256 KiB, MALLOC_PERTURB_=0245 is 0xa5); they were read as decimal
// (a threshold of 1,000,000 bytes, a perturb byte of 245). The test
// re-executes itself (/proc/self/exe) with the variables set.
#include "../common.h"


static int child(const char *mode)
{
    if (!strcmp(mode, "octal")) {
        /* threshold 256 KiB: 300 KB blocks are mapped, 200 KB ones are not
         * (decimal 1,000,000 would map neither; the default, both) */
        size_t c = t_count_mmapped(300 * 1000, 8);
        EXPECTF(c >= 6, "threshold 01000000: only %zu of 8 x 300 KB blocks mmapped", c);
        c = t_count_mmapped(200 * 1000, 8);
        EXPECTF(c == 0, "threshold 01000000: %zu of 8 x 200 KB blocks mmapped", c);
    } else if (!strcmp(mode, "perturb")) {
        unsigned char *p = malloc(3000);
        CHECK(p != NULL);
        size_t bad = t_first_not(p, 3000, 0xa5 ^ 0xff);
        EXPECTF(bad == (size_t)-1, "perturb 0245: byte %zu is %#x, expected %#x", bad,
                bad == (size_t)-1 ? 0 : p[bad], 0xa5 ^ 0xff);
        free(p);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return t_done();
}

/* Runs a copy of this program in `mode` with `set` as its MALLOC_* and
 * GLIBC_TUNABLES variables; its stderr must stay empty (no value ignored). */
static void run(const char *mode, const char *const *set)
{
    static char err[4096];
    int st = t_run_self(mode, set, err, sizeof err);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0 && err[0] == 0, "%s with %s%s: exit %d, stderr \"%s\"",
            mode, set[0], set[1] ? " ..." : "", WIFEXITED(st) ? WEXITSTATUS(st) : -1, err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    run("octal", T_ENV("MALLOC_MMAP_THRESHOLD_=01000000"));
    run("octal", T_ENV("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=01000000"));
    run("perturb", T_ENV("MALLOC_PERTURB_=0245"));
    run("perturb", T_ENV("GLIBC_TUNABLES=glibc.malloc.perturb=0245"));
    return t_done();
}
