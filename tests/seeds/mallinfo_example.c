// Seed (b): the mallinfo example.  p[i] = malloc(i * 1024) for i = 0..199:
// the blocks of 128 KiB and more (i = 128..199) are mmapped -> hblks == 72;
// free the odd ones -> hblks == 36.
#include "../common.h"

int main(void)
{
    static char *p[200];
    struct mallinfo m0 = t_mallinfo();
    size_t heap_bytes = 0, mapped_bytes = 0;
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)i * 1024;
        p[i] = malloc(n);
        CHECK(p[i] != NULL);
        memset(p[i], i, n);
        if (i >= 128)
            mapped_bytes += n;
        else
            heap_bytes += n;
    }
    struct mallinfo m1 = t_mallinfo();
    printf("after 200 mallocs: arena %d hblks %d hblkhd %d uordblks %d fordblks %d\n", m1.arena,
           m1.hblks, m1.hblkhd, m1.uordblks, m1.fordblks);
    EXPECTF(m1.hblks == 72, "hblks = %d, expected 72 (baseline %d)", m1.hblks, m0.hblks);
    EXPECTF(m1.hblks - m0.hblks == 72, "hblks grew by %d, expected 72", m1.hblks - m0.hblks);
    EXPECTF((size_t)m1.hblkhd >= mapped_bytes, "hblkhd %d < %zu bytes mapped", m1.hblkhd, mapped_bytes);
    EXPECTF((size_t)m1.hblkhd <= mapped_bytes + 72 * 8192, "hblkhd %d for %zu bytes mapped",
            m1.hblkhd, mapped_bytes);
    EXPECTF((size_t)m1.arena >= heap_bytes, "arena %d < %zu bytes on the heap", m1.arena, heap_bytes);
    EXPECTF((size_t)m1.uordblks >= heap_bytes, "uordblks %d < %zu bytes on the heap", m1.uordblks,
            heap_bytes);

    size_t still_mapped = 0;
    for (int i = 1; i < 200; i += 2)
        free(p[i]);
    for (int i = 128; i < 200; i += 2)
        still_mapped += (size_t)i * 1024;
    struct mallinfo m2 = t_mallinfo();
    printf("after freeing odd i: arena %d hblks %d hblkhd %d uordblks %d fordblks %d\n", m2.arena,
           m2.hblks, m2.hblkhd, m2.uordblks, m2.fordblks);
    EXPECTF(m2.hblks == 36, "hblks = %d after freeing the odd blocks, expected 36", m2.hblks);
    EXPECTF((size_t)m2.hblkhd >= still_mapped && (size_t)m2.hblkhd <= still_mapped + 36 * 8192,
            "hblkhd %d for %zu bytes still mapped", m2.hblkhd, still_mapped);
    for (int i = 0; i < 200; i += 2) {
        EXPECTF(t_all_bytes(p[i], (size_t)i * 1024, (unsigned char)i), "block %d clobbered", i);
        free(p[i]);
    }
    struct mallinfo m3 = t_mallinfo();
    EXPECTF(m3.hblks == m0.hblks, "hblks = %d after freeing everything", m3.hblks);
    return t_done();
}
