// valloc and pvalloc: page-aligned; pvalloc's usable size covers the request
// rounded up to a whole page.
#include "../common.h"

int main(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 8191, 10000, 65536, 100000,
                             130000, 300000, 2 * 1024 * 1024 + 1 };
    static unsigned char *keep[64];
    int nk = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = valloc(n);
        CHECKF(p != NULL, "valloc(%zu)", n);
        EXPECTF(t_aligned(p, page), "valloc(%zu) = %p not page-aligned", n, (void *)p);
        EXPECTF(malloc_usable_size(p) >= n, "valloc(%zu): usable %zu", n, malloc_usable_size(p));
        memset(p, 0x77, n);
        keep[nk++] = p;

        unsigned char *q = pvalloc(n);
        CHECKF(q != NULL, "pvalloc(%zu)", n);
        EXPECTF(t_aligned(q, page), "pvalloc(%zu) = %p not page-aligned", n, (void *)q);
        size_t want = (n + page - 1) / page * page;
        size_t u = malloc_usable_size(q);
        EXPECTF(u >= want, "pvalloc(%zu): usable %zu < %zu (request rounded to a page)", n, u, want);
        if (u >= want)
            memset(q, 0x66, want);          /* the whole rounded page range is ours */
        keep[nk++] = q;
    }
    for (int i = 0; i < nk; i += 2) {
        size_t n = sizes[i / 2];
        EXPECTF(t_all_bytes(keep[i], n, 0x77), "valloc(%zu) block clobbered", n);
    }
    for (int i = 0; i < nk; i++)
        free(keep[i]);

    /* interleave with small blocks so the alignment slack gets reused */
    for (int round = 0; round < (int)t_scale(200, 50); round++) {
        void *s = malloc(24);
        unsigned char *v = valloc(100 + (size_t)round);
        CHECK(s && v);
        EXPECT(t_aligned(v, page));
        memset(v, round, 100 + (size_t)round);
        free(s);
        if (round % 3)
            free(v);
    }

    errno = 0;
    void *p = pvalloc(t_opaque_size(SIZE_MAX));
    EXPECTF(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX) = %p errno %d", p, errno);
    errno = 0;
    p = pvalloc(t_opaque_size(SIZE_MAX - page / 2));     /* rounding overflows */
    EXPECTF(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - page/2) = %p errno %d", p, errno);
    errno = 0;
    p = valloc(t_opaque_size(SIZE_MAX - 10));
    EXPECTF(p == NULL && errno == ENOMEM, "valloc(SIZE_MAX - 10) = %p errno %d", p, errno);
    return t_done();
}
