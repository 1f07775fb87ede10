// free_sized / free_aligned_sized (C23): release blocks like free(); NULL is
// a no-op; memory is reusable afterwards.
#include "../common.h"

int main(void)
{
    if (!T_HAVE_FREE_SIZED()) {
        if (t_is_glibc())
            t_skip("the system allocator has no free_sized/free_aligned_sized");
        fprintf(stderr, "free_sized/free_aligned_sized are not exported by the allocator\n");
        return 1;
    }
    free_sized(NULL, 0);
    free_sized(NULL, 100);
    free_aligned_sized(NULL, 64, 0);
    free_aligned_sized(NULL, 4096, 4096);

    for (int round = 0; round < 3; round++) {
        for (size_t n = 1; n < 3 * T_MIB; n = n * 2 + 5) {
            unsigned char *p = malloc(n);
            CHECK(p != NULL);
            memset(p, 0x5a, n);
            free_sized(p, n);

            size_t m = n / 8 + 1;
            p = calloc(8, m);
            CHECK(p != NULL);
            EXPECT(t_all_bytes(p, 8 * m, 0));
            free_sized(p, 8 * m);

            for (size_t al = 16; al <= 64 * T_KIB; al *= 4) {
                size_t sz = (n + al - 1) / al * al;     /* C11-style multiple */
                p = aligned_alloc(al, sz);
                CHECK(p != NULL);
                EXPECT(t_aligned(p, al));
                memset(p, 0xa5, sz);
                free_aligned_sized(p, al, sz);
            }
        }
    }
    /* many at once, released in mixed order */
    enum { N = 500 };
    static unsigned char *v[N];
    static size_t vs[N];
    for (int i = 0; i < N; i++) {
        vs[i] = 1 + (size_t)i * 97 % 5000;
        v[i] = malloc(vs[i]);
        CHECK(v[i] != NULL);
        t_fill(v[i], vs[i], v[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i += 2)
        free_sized(v[i], vs[i]);
    for (int i = 1; i < N; i += 2) {
        EXPECTF(t_check(v[i], vs[i], v[i], (uint64_t)i) == (size_t)-1, "block %d clobbered", i);
        free_sized(v[i], vs[i]);
    }
    for (int i = 0; i < N; i++) {
        void *p = malloc(vs[i]);
        CHECK(p != NULL);
        free(p);
    }
    return t_done();
}
