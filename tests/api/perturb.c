// M_PERTURB: with mallopt(M_PERTURB, 0xAB), freshly malloc'ed memory is filled
// with 0xAB ^ 0xFF = 0x54 (glibc's alloc_perturb); calloc still zeroes.
#include "../common.h"

int main(void)
{
    CHECK(mallopt(M_PERTURB, 0xAB) == 1);
    const unsigned char want = 0xAB ^ 0xFF;
    /* sizes never allocated before in this process: small, large, mmapped */
    const size_t sizes[] = { 8, 24, 40, 72, 100, 152, 500, 1000, 3000, 20000, 100000,
                             200000, 1 << 20 };
    static unsigned char *keep[32];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = malloc(n);
        CHECK(p != NULL);
        size_t bad = t_first_not(p, n, want);
        EXPECTF(bad == (size_t)-1, "M_PERTURB 0xAB: malloc(%zu) byte %zu is %#x, expected %#x",
                n, bad, bad == (size_t)-1 ? 0 : p[bad], want);
        keep[i] = p;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(keep[i], 0x11, sizes[i]);
        free(keep[i]);
    }
    /* calloc zeroes regardless (also memory that was just perturbed on free) */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = calloc(1, n);
        CHECK(p != NULL);
        EXPECTF(t_first_not(p, n, 0) == (size_t)-1, "M_PERTURB: calloc(1, %zu) not zeroed", n);
        free(p);
        p = calloc(n, 1);
        CHECK(p != NULL);
        EXPECTF(t_first_not(p, n, 0) == (size_t)-1, "M_PERTURB: calloc(%zu, 1) not zeroed", n);
        free(p);
    }
    /* realloc growth into fresh memory keeps the old bytes */
    unsigned char *p = malloc(33);
    CHECK(p != NULL);
    memset(p, 0x22, 33);
    p = realloc(p, 70000);
    CHECK(p != NULL);
    EXPECT(t_all_bytes(p, 33, 0x22));
    free(p);

    CHECK(mallopt(M_PERTURB, 0) == 1);
    return t_done();
}
