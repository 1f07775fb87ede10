// Mirrors glibc's tst-valloc and tst-pvalloc: an impossible size (-1, or
// minus one page, which overflows when rounded up) is NULL with ENOMEM; a
// zero size succeeds; results are page aligned; pvalloc rounds the usable
// size up to whole pages.
#include "../common.h"

int main(void)
{
    size_t ps = (size_t)getpagesize();
    void *(*const fn[2])(size_t) = {valloc, pvalloc};
    static const char *const name[2] = {"valloc", "pvalloc"};
    for (int f = 0; f < 2; f++) {
        size_t bad[2] = {t_opaque_size((size_t)-1), t_opaque_size(-ps)};
        for (int k = 0; k < 2; k++) {
            errno = 0;
            void *p = fn[f](bad[k]);
            EXPECTF(p == NULL && errno == ENOMEM, "%s(%#zx) = %p errno %d", name[f], bad[k], p, errno);
        }
        void *z = fn[f](0);
        EXPECTF(z != NULL, "%s(0) failed", name[f]);
        free(z);
        for (size_t n = 1; n < 3 * ps; n = n * 2 + 31) {
            char *p = fn[f](n);
            CHECKF(p != NULL, "%s(%zu)", name[f], n);
            EXPECTF(((uintptr_t)p & (ps - 1)) == 0, "%s(%zu) = %p not page aligned", name[f], n, (void *)p);
            size_t u = malloc_usable_size(p);
            EXPECT(u >= n);
            if (f == 1)
                EXPECTF(u >= ((n + ps - 1) & ~(ps - 1)), "pvalloc(%zu): usable %zu below the page round-up", n, u);
            memset(p, 0x33, u);
            free(p);
        }
    }
    return t_done();
}
