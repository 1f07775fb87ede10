// Mirrors glibc's tst-mallopt: each parameter glibc documents accepts a
// typical value and mallopt returns 1 (M_CHECK_ACTION, M_MMAP_MAX,
// M_MMAP_THRESHOLD, M_MXFAST 0, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD -1),
// and the allocator keeps working under those settings.
#include "../common.h"

int main(void)
{
    EXPECT(mallopt(M_CHECK_ACTION, 1) == 1);
    EXPECT(mallopt(M_MMAP_MAX, 64 * 1024) == 1);
    EXPECT(mallopt(M_MMAP_THRESHOLD, 64 * 1024) == 1);
    EXPECT(mallopt(M_MXFAST, 0) == 1);
    EXPECT(mallopt(M_PERTURB, 0xa5) == 1);
    EXPECT(mallopt(M_TOP_PAD, 64 * 1024) == 1);
    EXPECT(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    for (size_t n = 1; n < 300000; n = n * 2 + 7) {
        unsigned char *p = malloc(n);
        CHECK(p != NULL);
        EXPECTF(p[0] == (0xa5 ^ 0xff), "malloc(%zu): byte 0 is %#x, not the perturb pattern", n, p[0]);
        memset(p, 1, n);
        free(p);
    }
    EXPECT(mallopt(M_PERTURB, 0) == 1);
    return t_done();
}
