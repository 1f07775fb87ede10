// mallopt: every documented parameter accepts valid values (returns 1),
// rejects out-of-range ones (returns 0), unknown parameters return 0, and
// the mmap parameters visibly change where blocks go (mallinfo2 hblks).
#include "../common.h"

static void expect_ret(int param, const char *pname, int value, int want)
{
    int got = mallopt(param, value);
    EXPECTF(got == want, "mallopt(%s, %d) returned %d, expected %d", pname, value, got, want);
}
#define OK(p, v)  expect_ret(p, #p, v, 1)
#define BAD(p, v) expect_ret(p, #p, v, 0)

int main(void)
{
    const int maxfast = (int)(80 * sizeof(size_t) / 4);     /* 160 on 64-bit */

    /* M_MXFAST: 0 .. 80*sizeof(size_t)/4 */
    for (int v = 0; v <= maxfast; v += 8)
        OK(M_MXFAST, v);
    OK(M_MXFAST, maxfast);
    BAD(M_MXFAST, maxfast + 1);
    BAD(M_MXFAST, 1000);
    BAD(M_MXFAST, INT_MAX);
    OK(M_MXFAST, 64 * (int)sizeof(size_t) / 4);              /* glibc default */

    OK(M_TRIM_THRESHOLD, 0);
    OK(M_TRIM_THRESHOLD, 128 * 1024);
    OK(M_TRIM_THRESHOLD, 1 << 30);
    OK(M_TRIM_THRESHOLD, -1);
    OK(M_TRIM_THRESHOLD, 128 * 1024);

    OK(M_TOP_PAD, 0);
    OK(M_TOP_PAD, 64 * 1024);
    OK(M_TOP_PAD, 16 << 20);
    OK(M_TOP_PAD, 128 * 1024);

    /* M_MMAP_THRESHOLD: at most HEAP_MAX/2 = 32 MiB on 64-bit */
    OK(M_MMAP_THRESHOLD, 0);
    OK(M_MMAP_THRESHOLD, 4096);
    OK(M_MMAP_THRESHOLD, 128 * 1024);
    OK(M_MMAP_THRESHOLD, 32 << 20);
    BAD(M_MMAP_THRESHOLD, (32 << 20) + 1);
    BAD(M_MMAP_THRESHOLD, 64 << 20);
    BAD(M_MMAP_THRESHOLD, INT_MAX);
    BAD(M_MMAP_THRESHOLD, -1);

    OK(M_MMAP_MAX, 0);
    OK(M_MMAP_MAX, 1);
    OK(M_MMAP_MAX, 65536);
    OK(M_MMAP_MAX, 1 << 20);

    OK(M_ARENA_TEST, 1);
    OK(M_ARENA_TEST, 8);
    OK(M_ARENA_MAX, 1);
    OK(M_ARENA_MAX, 2);
    OK(M_ARENA_MAX, 8);

    OK(M_PERTURB, 0xAB);
    OK(M_PERTURB, 0);

    /* unknown parameters */
    BAD(12345, 1);
    BAD(-100, 1);
    BAD(1000000, 0);

    /* effects: the mmap threshold and the mmap limit.  Several blocks per
     * probe: a request above the threshold may still come from the top chunk
     * when that is big enough (as in glibc), but not all eight of them. */
    OK(M_MMAP_MAX, 65536);
    OK(M_MMAP_THRESHOLD, 4096);
    size_t c = t_count_mmapped(16384, 64);
    EXPECTF(c >= 40, "M_MMAP_THRESHOLD 4096: only %zu of 64 x 16 KiB blocks mmapped", c);
    c = t_count_mmapped(100 * 1024, 8);
    EXPECTF(c >= 6, "M_MMAP_THRESHOLD 4096: only %zu of 8 x 100 KiB blocks mmapped", c);
    OK(M_MMAP_THRESHOLD, 1 << 20);
    c = t_count_mmapped(512 * 1024, 8);
    EXPECTF(c == 0, "M_MMAP_THRESHOLD 1 MiB: %zu of 8 x 512 KiB blocks mmapped", c);
    c = t_count_mmapped(2 << 20, 8);
    EXPECTF(c >= 6, "M_MMAP_THRESHOLD 1 MiB: only %zu of 8 x 2 MiB blocks mmapped", c);
    OK(M_MMAP_MAX, 0);
    c = t_count_mmapped(2 << 20, 8);
    EXPECTF(c == 0, "M_MMAP_MAX 0: %zu of 8 x 2 MiB blocks mmapped", c);
    c = t_count_mmapped(40 << 20, 1);
    EXPECTF(c == 0, "M_MMAP_MAX 0: a 40 MiB block was mmapped");
    OK(M_MMAP_MAX, 2);
    c = t_count_mmapped(2 << 20, 8);
    EXPECTF(c <= 2, "M_MMAP_MAX 2: %zu of 8 x 2 MiB blocks mmapped at once", c);
    OK(M_MMAP_MAX, 65536);
    OK(M_MMAP_THRESHOLD, 128 * 1024);
    malloc_trim(0);
    c = t_count_mmapped(200 * 1024, 8);
    EXPECTF(c >= 6, "M_MMAP_THRESHOLD 128 KiB: only %zu of 8 x 200 KiB blocks mmapped", c);
    c = t_count_mmapped(64 * 1024, 8);
    EXPECTF(c == 0, "M_MMAP_THRESHOLD 128 KiB: %zu of 8 x 64 KiB blocks mmapped", c);

    /* M_MXFAST 0 (no fast bins) and back: small blocks still work */
    OK(M_MXFAST, 0);
    for (int i = 0; i < 2000; i++) {
        void *a = malloc(16 + (size_t)i % 100), *b = malloc(24);
        CHECK(a && b);
        free(a);
        free(b);
    }
    OK(M_MXFAST, maxfast);
    for (int i = 0; i < 2000; i++) {
        void *a = malloc(16 + (size_t)i % 150), *b = malloc(24);
        CHECK(a && b);
        free(b);
        free(a);
    }
    return t_done();
}
