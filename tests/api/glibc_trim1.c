// Mirrors glibc's tst-trim1: after many blocks of random sizes up to 16 KiB
// are freed except every 13th, malloc_trim(0) gives pages back without
// touching live blocks; a new 30000-byte block is usable afterwards and a
// second trim is harmless. (Checks the contents the glibc test only writes.)
#include "../common.h"

int main(void)
{
    enum { N = 10000 };
    static unsigned char *arr[N];
    static size_t sz[N];
    t_rng r = {t_seed(5)};
    long n = t_scale(N, 1500);
    for (long i = 0; i < n; i++) {
        sz[i] = t_below(&r, 16384);
        arr[i] = malloc(sz[i]);
        CHECK(arr[i] != NULL);
        memset(arr[i], (int)(sz[i] & 0xff), sz[i]);
    }
    unsigned char *p = malloc(256);
    CHECK(p != NULL);
    memset(p, 1, 256);
    for (long i = 0; i < n; i++)
        if (i % 13 != 0)
            free(arr[i]);
    malloc_trim(0);
    unsigned char *q = malloc(30000);
    CHECK(q != NULL);
    memset(q, 2, 30000);
    malloc_trim(0);
    for (long i = 0; i < n; i += 13)
        for (size_t k = 0; k < sz[i]; k += 511)
            CHECKF(arr[i][k] == (sz[i] & 0xff), "live block %ld byte %zu changed by malloc_trim", i, k);
    for (int k = 0; k < 256; k++)
        CHECK(p[k] == 1);
    for (int k = 0; k < 30000; k += 97)
        CHECK(q[k] == 2);
    for (long i = 0; i < n; i += 13)
        free(arr[i]);
    free(p);
    free(q);
    return t_done();
}
