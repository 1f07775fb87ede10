// variants: release debug
// glibc's internal names __libc_malloc & co. are the preloaded allocator
// too: a block from __libc_malloc can be given to free(), and each name
// resolves to the same function as the public one.
#include "../common.h"
#include <dlfcn.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

int main(void)
{
    static const char *const pairs[][2] = {
        {"__libc_malloc", "malloc"},   {"__libc_free", "free"},
        {"__libc_calloc", "calloc"},   {"__libc_realloc", "realloc"},
        {"__libc_memalign", "memalign"}, {"__libc_valloc", "valloc"},
        {"__libc_pvalloc", "pvalloc"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        void *a = dlsym(RTLD_DEFAULT, pairs[i][0]), *b = dlsym(RTLD_DEFAULT, pairs[i][1]);
        EXPECTF(a != NULL && a == b, "%s = %p, %s = %p", pairs[i][0], a, pairs[i][1], b);
    }
    for (size_t n = 1; n < 300000; n = n * 3 + 1) {
        char *p = __libc_malloc(n);
        CHECK(p != NULL);
        memset(p, 1, n);
        free(p);
        p = malloc(n);
        CHECK(p != NULL);
        __libc_free(p);
        p = __libc_calloc(n, 1);
        CHECK(p != NULL && p[n - 1] == 0);
        p = __libc_realloc(p, n * 2);
        CHECK(p != NULL);
        free(p);
        p = __libc_memalign(256, n);
        CHECK(p != NULL && ((uintptr_t)p & 255) == 0);
        free(p);
    }
    void *v = __libc_valloc(100), *pv = __libc_pvalloc(100);
    EXPECT(v && pv && ((uintptr_t)v & 4095) == 0 && ((uintptr_t)pv & 4095) == 0);
    free(v);
    free(pv);
    return t_done();
}
