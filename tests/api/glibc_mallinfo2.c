// Mirrors glibc's tst-mallinfo2: mallinfo2's fields are size_t wide, and
// heap allocations (160 * i bytes, i < 20, below the mmap threshold) raise
// uordblks by at least their total; freeing them (and trimming, which
// flushes the thread cache) brings it back down.
#include "../common.h"

int main(void)
{
    struct mallinfo2 m1 = mallinfo2();
    EXPECT(sizeof m1.arena == sizeof(size_t) && sizeof m1.uordblks == sizeof(size_t));
    void *p[20];
    size_t total = 0;
    for (int i = 1; i < 20; i++) {
        p[i] = malloc(160 * (size_t)i);
        CHECK(p[i] != NULL);
        total += 160 * (size_t)i;
    }
    struct mallinfo2 m2 = mallinfo2();
    EXPECTF(m2.uordblks >= m1.uordblks + total, "uordblks %zu -> %zu, allocated %zu", m1.uordblks, m2.uordblks, total);
    EXPECT(m2.arena >= m2.uordblks);
    for (int i = 1; i < 20; i++)
        free(p[i]);
    malloc_trim(0); /* cached blocks count as in use until flushed */
    struct mallinfo2 m3 = mallinfo2();
    EXPECTF(m3.uordblks + total / 2 <= m2.uordblks, "uordblks after free %zu (peak %zu)", m3.uordblks, m2.uordblks);
    return t_done();
}
