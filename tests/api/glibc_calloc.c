// Mirrors glibc's tst-calloc: many blocks of fixed small sizes (15, 5, 17,
// 6, 31, 96) and random n x elem products come back fully zeroed even though
// every previous block of the size was dirtied before being freed; calloc
// with a zero count or size (and the other one huge) does not crash.
#include "../common.h"

static char *ptrs[50000];

static void fill_check(long n, size_t (*size_of)(long, t_rng *), t_rng *r)
{
    long i;
    for (i = 0; i < n; i++) {
        size_t sz = size_of(i, r);
        ptrs[i] = calloc(1, sz);
        if (!ptrs[i])
            break;
        for (size_t j = 0; j < sz; j++) {
            if (ptrs[i][j] != 0) {
                EXPECTF(0, "byte %zu of block %ld (size %zu) not cleared", j, i, sz);
                return;
            }
            ptrs[i][j] = (char)0xff;
        }
    }
    while (i-- > 0)
        free(ptrs[i]);
}

static size_t fixed_size;
static size_t fixed(long i, t_rng *r) { (void)i; (void)r; return fixed_size; }
static size_t random_size(long i, t_rng *r) { (void)i; return (1 + t_below(r, 10)) * (1 + t_below(r, 100)); }

int main(void)
{
    long n = t_scale(50000, 2000);
    t_rng r = {t_seed(11)};
    static const size_t sizes[] = {15, 5, 17, 6, 31, 96};
    for (int round = 0; round < 2; round++) /* the second round reuses dirty blocks */
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            fixed_size = sizes[k];
            fill_check(n, fixed, &r);
        }
    fill_check(n, random_size, &r);
    free(calloc(0, 0));
    free(calloc(0, UINT_MAX));
    free(calloc(UINT_MAX, 0));
    free(calloc(0, SIZE_MAX));
    free(calloc(SIZE_MAX, 0));
    return t_done();
}
