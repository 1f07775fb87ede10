// M_PERTURB keeps the whole int, as glibc does: any value but 0 turns the
// fill on, with its low byte (new memory gets (value ^ 0xff) & 0xff), so
// mallopt(M_PERTURB, 256) fills new blocks with 0xff and 0x1a5 with 0x5a;
// the value was masked to a byte, and 256 turned the fill off.
// MALLOC_PERTURB_ above 0xff is out of the range glibc's tunable takes:
// ignored, with the one stderr line.
#include "../common.h"

static void expect_fill(int value, size_t n)
{
    CHECK(mallopt(M_PERTURB, value) == 1);
    unsigned char want = (unsigned char)((value ^ 0xff) & 0xff);
    unsigned char *p = malloc(n);
    CHECK(p != NULL);
    size_t bad = t_first_not(p, n, want);
    EXPECTF(bad == (size_t)-1, "M_PERTURB %#x: malloc(%zu) byte %zu is %#x, expected %#x", value, n,
            bad, bad == (size_t)-1 ? 0 : p[bad], want);
    free(p);
    CHECK(mallopt(M_PERTURB, 0) == 1);
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) { /* the child, with MALLOC_PERTURB_=421: no fill */
        unsigned char *p = malloc(3000);
        CHECK(p != NULL);
        EXPECTF(t_first_not(p, 3000, 0x5a) != (size_t)-1, "MALLOC_PERTURB_=421 was taken (0x5a fill)");
        free(p);
        return t_done();
    }
    /* sizes never allocated before in this process (glibc's tcache hands
     * back a cached block unfilled) */
    expect_fill(256, 3000);
    expect_fill(0x1a5, 3100);
    expect_fill(-1, 3200);
    expect_fill(0x7fffff5a, 3300);
    expect_fill(0xab, 3400);

    if (strcmp(t_variant(), "release") == 0 || strcmp(t_variant(), "debug") == 0) {
        static char err[4096];
        int st = t_run_self("child", (const char *const[]){"MALLOC_PERTURB_=421", NULL}, err, sizeof err);
        EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s", err);
        EXPECTF(strstr(err, "umalloc: ignoring MALLOC_PERTURB_=421: out of range") != NULL,
                "MALLOC_PERTURB_=421: stderr was \"%s\"", err);
    }
    return t_done();
}
