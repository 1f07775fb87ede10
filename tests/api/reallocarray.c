// reallocarray: behaves as realloc(p, nmemb * size); overflow -> NULL, ENOMEM,
// old block intact.
#include "../common.h"

int main(void)
{
    unsigned *a = reallocarray(NULL, 10, sizeof *a);
    CHECK(a != NULL);
    EXPECT(malloc_usable_size(a) >= 10 * sizeof *a);
    for (unsigned i = 0; i < 10; i++)
        a[i] = i * 2654435761u;
    size_t n = 10;
    const size_t grow[] = { 100, 1000, 50000, 100, 300000, 20 };
    for (size_t k = 0; k < sizeof grow / sizeof grow[0]; k++) {
        unsigned *b = reallocarray(a, grow[k], sizeof *b);
        CHECKF(b != NULL, "reallocarray(.., %zu, %zu)", grow[k], sizeof *b);
        size_t keep = n < grow[k] ? n : grow[k];
        for (size_t i = 0; i < keep; i++)
            if (b[i] != (unsigned)i * 2654435761u) {
                EXPECTF(0, "reallocarray to %zu elements lost element %zu", grow[k], i);
                break;
            }
        for (size_t i = keep; i < grow[k]; i++)
            b[i] = (unsigned)i * 2654435761u;
        a = b;
        n = grow[k];
    }

    const size_t bad[][2] = {
        { SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX / 2 + 1, 2 },
        { (size_t)1 << 33, (size_t)1 << 33 }, { SIZE_MAX / 4 + 1, 4 }, { SIZE_MAX, SIZE_MAX },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        errno = 0;
        void *b = reallocarray(a, t_opaque_size(bad[k][0]), t_opaque_size(bad[k][1]));
        int e = errno;
        EXPECTF(b == NULL, "reallocarray(p, %#zx, %#zx) overflows but returned %p",
                bad[k][0], bad[k][1], b);
        EXPECTF(e == ENOMEM, "reallocarray(p, %#zx, %#zx): errno %d, expected ENOMEM",
                bad[k][0], bad[k][1], e);
        if (b) {
            a = b;
            n = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != (unsigned)i * 2654435761u) {
            EXPECTF(0, "failed reallocarray changed element %zu", i);
            break;
        }
    free(a);

    /* NULL + overflow: nothing allocated */
    errno = 0;
    void *c = reallocarray(NULL, t_opaque_size(SIZE_MAX), 16);
    EXPECT(c == NULL && errno == ENOMEM);
    free(c);
    return t_done();
}
