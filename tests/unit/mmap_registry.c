/* Mapped chunks: layout, the registry (thousands of entries, removal in any
 * order), mremap, and the counters mallinfo reports. */
#include <string.h>
#include "unit.h"
#include "bins.h"

int main(void)
{
    unit_init_library();
    enum { N = 3000 };
    static chunk *c[N];
    size_t n0 = um_mstats.n_mmaps;
    for (int i = 0; i < N; i++) {
        size_t align = (i % 7 == 0) ? (size_t)1 << (5 + i % 12) : 0;
        void *m = um_mmap_chunk(request2size(1000 + (size_t)i * 37), align);
        U_CHECK(m != NULL, "map %d", i);
        U_CHECK(!align || (uintptr_t)m % align == 0, "alignment %zu", align);
        c[i] = mem_to_chunk(m);
        U_CHECK(chunk_is_mmapped(c[i]) && chunk_usable(c[i]) >= 1000 + (size_t)i * 37, "usable");
        U_CHECK((((uintptr_t)c[i] - c[i]->prev_size) & 4095) == 0, "offset leads to the mapping start");
        memset(m, i & 0xff, 1000);
    }
    U_CHECK(um_mstats.n_mmaps == n0 + N, "count %zu", um_mstats.n_mmaps);
    for (int i = 0; i < N; i++)
        U_CHECK(um_mmap_valid(c[i]), "registered %d", i);
    U_CHECK(!um_mmap_valid((chunk *)((char *)c[0] + 4096)), "an interior address is not a chunk");
    /* remove odd ones, then check the rest are still found (backward-shift delete) */
    for (int i = 1; i < N; i += 2)
        um_munmap_chunk(c[i], "free", 1);
    for (int i = 0; i < N; i += 2)
        U_CHECK(um_mmap_valid(c[i]), "still registered %d", i);
    /* mremap keeps contents and registration */
    chunk *g = um_mremap_chunk(c[0], (size_t)8 << 20);
    U_CHECK(g && um_mmap_valid(g) && chunk_usable(g) >= ((size_t)8 << 20) - 16, "grown");
    U_CHECK(((unsigned char *)chunk_to_mem(g))[999] == 0, "content kept");
    c[0] = g;
    /* every request size around page boundaries keeps its usable bytes */
    for (size_t b = ((size_t)1 << 20) - 96; b < ((size_t)1 << 20) + 96; b++) {
        g = um_mremap_chunk(c[0], request2size(b));
        U_CHECK(g && chunk_usable(g) >= b, "mremap to %zu bytes: usable %zu", b, g ? chunk_usable(g) : 0);
        c[0] = g;
    }
    for (int i = 0; i < N; i += 2)
        um_munmap_chunk(c[i], "free", 1);
    U_CHECK(um_mstats.n_mmaps == n0, "all gone");
    return U_DONE();
}
