// Blocks freed by a thread come back to it in the reverse order of their
// frees, also when there are far more of them than its cache holds and the
// overflow went through the central cache in batches: a structure freed and
// built again gets the same memory, block for block, and a tree freed in
// post-order and rebuilt in pre-order keeps its nodes' neighbourhoods
// (bench/trees walks its trees several times faster that way). Before, an
// overflowing cache sent its newest blocks away and kept its oldest for
// good; they came back in the middle of every rebuild, and after a few
// rounds a rebuilt tree's nodes lay scattered over megabytes.
// The time decay is off so that no batch goes to the bins during the test.
// (A run carved from a hole can give its first block a few spare bytes: that
// block belongs to the next size class and is set aside.)
#include "../common.h"
#include "../../include/umalloc.h"

enum { N = 9000, ROUNDS = 4 };

static void *blk[N], *again[N], *odd[N];

int main(void)
{
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, -1) == 1);
    /* sizes in the thread cache's small range, each its own class */
    static const size_t sizes[] = {24, 40, 100, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t nmax = (size_t)t_scale(N, N / 3); /* above a slot's cap (2048 chunks of 32 bytes) */
        size_t want = sizes[s] >= 1000 ? nmax / 10 : nmax, n = 0, nodd = 0;
        size_t usable = ((sizes[s] + 8 + 15) & ~(size_t)15) - 8;
        for (size_t k = 0; k < want; k++) {
            void *m = malloc(sizes[s]);
            CHECK(m != NULL);
            memset(m, (int)k, sizes[s]);
            if (malloc_usable_size(m) == usable)
                blk[n++] = m;
            else
                odd[nodd++] = m;
        }
        EXPECTF(nodd < want / 100, "size %zu: %zu of %zu blocks of another class", sizes[s], nodd, want);
        for (int r = 0; r < ROUNDS; r++) {
            for (size_t k = 0; k < n; k++)
                free(blk[k]);
            size_t wrong = 0, first = n;
            for (size_t k = 0; k < n; k++) {
                again[k] = malloc(sizes[s]);
                CHECK(again[k] != NULL);
                if (again[k] != blk[n - 1 - k]) {
                    wrong++;
                    if (first == n)
                        first = k;
                }
            }
            EXPECTF(wrong == 0, "size %zu round %d: %zu of %zu blocks out of LIFO order, the first at %zu",
                    sizes[s], r, wrong, n, first);
            /* free again in the new allocation order */
            for (size_t k = 0; k < n; k++)
                blk[k] = again[k];
        }
        for (size_t k = 0; k < n; k++)
            free(blk[k]);
        for (size_t k = 0; k < nodd; k++)
            free(odd[k]);
    }
    return t_done();
}
