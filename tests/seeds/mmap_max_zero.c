// Seed (c): mallopt(M_MMAP_MAX, 0) turns mmap off: a 1 MiB request is then
// served from the brk heap (hblks unchanged, pointer inside [heap start, sbrk(0))).
#include "../common.h"

int main(void)
{
    CHECK(mallopt(M_MMAP_MAX, 0) == 1);
    struct mallinfo2 m0 = t_mallinfo2();
    char *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = malloc(T_MIB);
        CHECK(p[i] != NULL);
        memset(p[i], i + 1, T_MIB);
    }
    struct mallinfo2 m1 = t_mallinfo2();
    uintptr_t lo = 0, hi = 0, brk = (uintptr_t)sbrk(0);
    printf("hblks %zu -> %zu; p = %p %p %p; sbrk(0) = %#lx\n", m0.hblks, m1.hblks, (void *)p[0],
           (void *)p[1], (void *)p[2], (unsigned long)brk);
    EXPECTF(m1.hblks == m0.hblks, "M_MMAP_MAX 0: hblks %zu -> %zu after 3 x malloc(1 MiB)", m0.hblks,
            m1.hblks);
    EXPECTF(m1.hblkhd == m0.hblkhd, "M_MMAP_MAX 0: hblkhd %zu -> %zu", m0.hblkhd, m1.hblkhd);
    EXPECTF(m1.arena >= m0.arena + 3 * T_MIB, "arena %zu -> %zu: the 3 MiB did not come from the heap",
            m0.arena, m1.arena);
    CHECKF(t_brk_heap(&lo, &hi), "no [heap] mapping");
    for (int i = 0; i < 3; i++)
        EXPECTF((uintptr_t)p[i] >= lo && (uintptr_t)p[i] + T_MIB <= brk,
                "block %d at %p not inside the brk heap [%#lx, %#lx)", i, (void *)p[i],
                (unsigned long)lo, (unsigned long)brk);
    for (int i = 0; i < 3; i++) {
        EXPECT(t_all_bytes(p[i], T_MIB, (unsigned char)(i + 1)));
        free(p[i]);
    }
    /* a really big one too */
    char *q = malloc(64 * T_MIB);
    CHECK(q != NULL);
    q[0] = q[64 * T_MIB - 1] = 1;
    EXPECTF(t_mallinfo2().hblks == m0.hblks, "M_MMAP_MAX 0: a 64 MiB block was mmapped");
    free(q);
    CHECK(mallopt(M_MMAP_MAX, 65536) == 1);
    return t_done();
}
