// Impossible sizes: NULL with errno ENOMEM from every allocation entry point,
// no crash, and the allocator keeps working afterwards.
#include "../common.h"

static void expect_enomem(void *p, const char *what)
{
    int e = errno;
    EXPECTF(p == NULL, "%s returned %p, expected NULL", what, p);
    EXPECTF(e == ENOMEM, "%s: errno %d (%s), expected ENOMEM", what, e, strerror(e));
    if (p)
        free(p);
}

int main(void)
{
    const size_t sizes[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 4096,
        SIZE_MAX - 64 * T_KIB, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1,
        (size_t)PTRDIFF_MAX - 4096, (size_t)1 << 62,
    };
    char what[128];
    void *keep = malloc(100);            /* a live block that must survive */
    CHECK(keep != NULL);
    memset(keep, 0x5a, 100);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = t_opaque_size(sizes[i]);
        snprintf(what, sizeof what, "malloc(%#zx)", n);
        errno = 0;
        expect_enomem(malloc(n), what);

        snprintf(what, sizeof what, "calloc(1, %#zx)", n);
        errno = 0;
        expect_enomem(calloc(1, n), what);

        snprintf(what, sizeof what, "realloc(NULL, %#zx)", n);
        errno = 0;
        expect_enomem(realloc(NULL, n), what);

        snprintf(what, sizeof what, "memalign(64, %#zx)", n);
        errno = 0;
        expect_enomem(memalign(64, n), what);

        snprintf(what, sizeof what, "aligned_alloc(4096, %#zx)", n);
        errno = 0;
        expect_enomem(aligned_alloc(4096, n), what);

        snprintf(what, sizeof what, "valloc(%#zx)", n);
        errno = 0;
        expect_enomem(valloc(n), what);

        snprintf(what, sizeof what, "pvalloc(%#zx)", n);
        errno = 0;
        expect_enomem(pvalloc(n), what);

        void *m = &what;
        int rc = posix_memalign(&m, 64, n);
        EXPECTF(rc == ENOMEM, "posix_memalign(64, %#zx) returned %d, expected ENOMEM", n, rc);
        EXPECTF(m == (void *)&what, "posix_memalign(64, %#zx) modified *memptr on failure", n);
    }

    EXPECT(t_all_bytes(keep, 100, 0x5a));
    free(keep);

    /* still healthy: small, large and mmapped allocations work */
    for (size_t n = 1; n <= 8 * T_MIB; n = n * 3 + 1) {
        char *p = malloc(n);
        CHECKF(p != NULL, "malloc(%zu) after the failures", n);
        memset(p, 1, n);
        free(p);
    }
    return t_done();
}
