// variants: release debug
// glibc's internal names __libc_malloc & co. are the preloaded allocator
// too: a block from __libc_malloc can be given to free(), and each name
// resolves to the same function as the public one. __libc_mallopt and
// __libc_mallinfo set and read this allocator, and cfree (free's old name,
// which binaries linked before glibc 2.26 still call) frees its blocks.
#include "../common.h"
#include <dlfcn.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern int __libc_mallopt(int, int);
extern struct mallinfo __libc_mallinfo(void);

int main(void)
{
    static const char *const pairs[][2] = {
        {"__libc_malloc", "malloc"},   {"__libc_free", "free"},
        {"__libc_calloc", "calloc"},   {"__libc_realloc", "realloc"},
        {"__libc_memalign", "memalign"}, {"__libc_valloc", "valloc"},
        {"__libc_pvalloc", "pvalloc"}, {"__libc_mallopt", "mallopt"},
        {"__libc_mallinfo", "mallinfo"}, {"cfree", "free"},
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

    /* __libc_mallinfo counts this allocator's blocks: 4 MB of them show */
    enum { N = 4096 };
    static void *keep[N];
    struct mallinfo before = __libc_mallinfo();
    for (int i = 0; i < N; i++)
        CHECK((keep[i] = malloc(1000)) != NULL);
    struct mallinfo after = __libc_mallinfo();
    EXPECTF(after.uordblks - before.uordblks >= N * 1000,
            "__libc_mallinfo: uordblks %d -> %d after %d blocks of 1000 bytes", before.uordblks,
            after.uordblks, N);
    /* (glibc keeps cfree for old binaries only: not linkable, looked up) */
    void (*cfree_fn)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
    CHECK(cfree_fn != NULL);
    for (int i = 0; i < N; i++)
        cfree_fn(keep[i]);
    struct mallinfo freed = __libc_mallinfo();
    EXPECTF(freed.uordblks < after.uordblks - N * 900,
            "cfree: uordblks %d -> %d after freeing them", after.uordblks, freed.uordblks);

    /* __libc_mallopt sets this allocator's parameters: M_PERTURB's fill */
    CHECK(__libc_mallopt(M_PERTURB, 0x3c) == 1);
    unsigned char *q = malloc(777);
    CHECK(q != NULL);
    EXPECTF(t_first_not(q, 777, 0x3c ^ 0xff) == (size_t)-1,
            "__libc_mallopt(M_PERTURB, 0x3c): malloc(777) byte 0 is %#x", q[0]);
    free(q);
    CHECK(__libc_mallopt(M_PERTURB, 0) == 1);
    return t_done();
}
