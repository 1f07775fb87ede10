// mallinfo / mallinfo2: arena == uordblks + fordblks; hblks/hblkhd count the
// mmapped blocks; uordblks follows allocations; the two agree.
#include "../common.h"

static void consistent(const char *when)
{
    struct mallinfo2 m = t_mallinfo2();
    EXPECTF(m.arena == m.uordblks + m.fordblks,
            "%s: mallinfo2 arena %zu != uordblks %zu + fordblks %zu", when, m.arena,
            m.uordblks, m.fordblks);
    EXPECTF(m.fsmblks <= m.fordblks, "%s: fsmblks %zu > fordblks %zu", when, m.fsmblks, m.fordblks);
    EXPECTF(m.keepcost <= m.fordblks, "%s: keepcost %zu > fordblks %zu", when, m.keepcost, m.fordblks);
    EXPECTF(m.hblkhd >= m.hblks * 4096, "%s: hblkhd %zu < hblks %zu pages", when, m.hblkhd, m.hblks);
    struct mallinfo o = t_mallinfo();
    EXPECTF((unsigned)o.arena == (unsigned)o.uordblks + (unsigned)o.fordblks,
            "%s: mallinfo arena %d != uordblks %d + fordblks %d", when, o.arena, o.uordblks,
            o.fordblks);
    /* small values: the int and size_t versions agree */
    struct mallinfo2 m2 = t_mallinfo2();
    if (m2.arena < INT_MAX && m2.hblkhd < INT_MAX) {
        EXPECTF((size_t)o.arena == m2.arena, "%s: mallinfo.arena %d vs mallinfo2 %zu", when,
                o.arena, m2.arena);
        EXPECTF((size_t)o.hblks == m2.hblks, "%s: hblks %d vs %zu", when, o.hblks, m2.hblks);
        EXPECTF((size_t)o.hblkhd == m2.hblkhd, "%s: hblkhd %d vs %zu", when, o.hblkhd, m2.hblkhd);
        EXPECTF((size_t)o.uordblks == m2.uordblks, "%s: uordblks %d vs %zu", when, o.uordblks,
                m2.uordblks);
    }
}

int main(void)
{
    free(t_opaque(malloc(16)));     /* let the allocator initialise itself */
    consistent("start");

    /* 3 x 1 MiB with the default mmap threshold: three new mappings.
     * (Done first: freeing an mmapped block raises glibc's dynamic threshold.) */
    struct mallinfo2 m0 = t_mallinfo2();
    void *big[3];
    for (int i = 0; i < 3; i++) {
        big[i] = malloc(T_MIB);
        CHECK(big[i] != NULL);
        memset(big[i], i, T_MIB);
    }
    struct mallinfo2 m1 = t_mallinfo2();
    EXPECTF(m1.hblks == m0.hblks + 3, "hblks %zu -> %zu after 3 x malloc(1 MiB)", m0.hblks, m1.hblks);
    EXPECTF(m1.hblkhd >= m0.hblkhd + 3 * T_MIB, "hblkhd %zu -> %zu after 3 x malloc(1 MiB)",
            m0.hblkhd, m1.hblkhd);
    EXPECTF(m1.hblkhd <= m0.hblkhd + 3 * T_MIB + 3 * 8192, "hblkhd grew by %zu for 3 MiB",
            m1.hblkhd - m0.hblkhd);
    EXPECTF(m1.arena == m0.arena, "mmapped blocks changed arena %zu -> %zu", m0.arena, m1.arena);
    struct mallinfo o1 = t_mallinfo();
    EXPECTF((size_t)o1.hblks == m1.hblks, "mallinfo().hblks %d vs mallinfo2 %zu", o1.hblks, m1.hblks);
    consistent("3 mmapped blocks live");
    for (int i = 0; i < 3; i++)
        free(big[i]);
    struct mallinfo2 m2 = t_mallinfo2();
    EXPECTF(m2.hblks == m0.hblks, "hblks %zu after freeing the 1 MiB blocks, was %zu", m2.hblks, m0.hblks);
    EXPECTF(m2.hblkhd == m0.hblkhd, "hblkhd %zu after freeing the 1 MiB blocks, was %zu",
            m2.hblkhd, m0.hblkhd);
    consistent("mmapped blocks freed");

    /* heap blocks (above tcache sizes, below the mmap threshold) */
    enum { N = 200, SZ = 4000 };
    static void *b[N];
    struct mallinfo2 h0 = t_mallinfo2();
    for (int i = 0; i < N; i++) {
        b[i] = malloc(SZ);
        CHECK(b[i] != NULL);
        memset(b[i], 1, SZ);
    }
    struct mallinfo2 h1 = t_mallinfo2();
    EXPECTF(h1.uordblks >= h0.uordblks + N * SZ, "uordblks %zu -> %zu after %d x %d bytes",
            h0.uordblks, h1.uordblks, N, SZ);
    /* a size class may round a block up by an eighth (umalloc's medium classes) */
    EXPECTF(h1.uordblks <= h0.uordblks + N * (SZ + SZ / 8 + 64), "uordblks grew by %zu for %d bytes",
            h1.uordblks - h0.uordblks, N * SZ);
    EXPECTF(h1.hblks == h0.hblks, "4000-byte blocks were mmapped");
    consistent("heap blocks live");
    for (int i = 0; i < N; i += 2)
        free(b[i]);
    consistent("half freed");
    struct mallinfo2 h2 = t_mallinfo2();
    EXPECTF(h2.uordblks + (N / 2) * SZ <= h1.uordblks, "uordblks %zu -> %zu after freeing %d bytes",
            h1.uordblks, h2.uordblks, (N / 2) * SZ);
    EXPECTF(h2.ordblks >= 2, "ordblks %zu with %d separated free chunks", h2.ordblks, N / 2);
    for (int i = 1; i < N; i += 2)
        free(b[i]);
    consistent("all freed");
    struct mallinfo2 h3 = t_mallinfo2();
    EXPECTF(h3.uordblks + N * SZ <= h1.uordblks, "uordblks %zu -> %zu after freeing everything",
            h1.uordblks, h3.uordblks);

    /* many small blocks: still consistent */
    static void *s[5000];
    int ns = (int)t_scale(5000, 800);
    for (int i = 0; i < ns; i++) {
        s[i] = malloc((size_t)(i % 200) + 1);
        CHECK(s[i] != NULL);
    }
    consistent("small blocks live");
    for (int i = 0; i < ns; i++)
        free(s[i]);
    consistent("end");
    return t_done();
}
