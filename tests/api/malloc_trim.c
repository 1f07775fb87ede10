// malloc_trim: returns 0 or 1; returns 1 and gives memory back after a lot
// was freed; keeps `pad` bytes; live blocks survive.
#include "../common.h"

int main(void)
{
    int r = malloc_trim(0);
    EXPECTF(r == 0 || r == 1, "malloc_trim(0) returned %d", r);
    r = malloc_trim(1 << 20);
    EXPECTF(r == 0 || r == 1, "malloc_trim(1 MiB) returned %d", r);

    /* keep free() from trimming by itself */
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);

    enum { N = 2000, SZ = 8192 };
    static unsigned char *p[N];
    unsigned char *low = malloc(100);        /* live, below everything else */
    CHECK(low != NULL);
    t_fill(low, 100, low, 1);
    for (int i = 0; i < N; i++) {
        p[i] = malloc(SZ);
        CHECK(p[i] != NULL);
        memset(p[i], 0x3c, SZ);
    }
    size_t arena_full = t_mallinfo2().arena;
    EXPECTF(arena_full >= (size_t)N * SZ, "arena %zu after allocating %d bytes", arena_full, N * SZ);
    for (int i = N; i-- > 0;)
        free(p[i]);
    size_t arena_freed = t_mallinfo2().arena;
    EXPECTF(arena_freed + (size_t)N * SZ / 2 > arena_full,
            "with M_TRIM_THRESHOLD -1, free() shrank arena %zu -> %zu", arena_full, arena_freed);

    r = malloc_trim(0);
    EXPECTF(r == 1, "malloc_trim(0) after freeing %d MiB returned %d", N * SZ >> 20, r);
    size_t arena_trim = t_mallinfo2().arena;
    EXPECTF(arena_trim + (size_t)N * SZ * 3 / 4 <= arena_freed,
            "malloc_trim(0) left arena at %zu (was %zu)", arena_trim, arena_freed);
    EXPECT(t_check(low, 100, low, 1) == (size_t)-1);
    r = malloc_trim(0);
    EXPECTF(r == 0 || r == 1, "second malloc_trim(0) returned %d", r);

    /* pad: at least `pad` bytes stay at the top */
    for (int i = 0; i < N; i++) {
        p[i] = malloc(SZ);
        CHECK(p[i] != NULL);
        memset(p[i], 0x3c, SZ);
    }
    for (int i = N; i-- > 0;)
        free(p[i]);
    const size_t pad = 4 * T_MIB;
    r = malloc_trim(pad);
    EXPECTF(r == 1, "malloc_trim(4 MiB) with 16 MiB free at the top returned %d", r);
    struct mallinfo2 m = t_mallinfo2();
    EXPECTF(m.arena >= pad, "malloc_trim(%zu) left arena at %zu", pad, m.arena);
    EXPECTF(m.arena < (size_t)N * SZ, "malloc_trim(%zu) released nothing: arena %zu", pad, m.arena);

    /* the heap still works after trimming */
    for (int i = 0; i < N; i++) {
        p[i] = malloc(SZ / 2);
        CHECK(p[i] != NULL);
        t_fill(p[i], SZ / 2, p[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        EXPECT(t_check(p[i], SZ / 2, p[i], (uint64_t)i) == (size_t)-1);
        free(p[i]);
    }
    EXPECT(t_check(low, 100, low, 1) == (size_t)-1);
    free(low);
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    return t_done();
}
