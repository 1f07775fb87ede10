// Mirrors glibc's tst-malloc and tst-mallocalign1: malloc of an impossible
// size (SIZE_MAX, -512 KiB) is NULL with ENOMEM; realloc(p, 0) frees and
// returns NULL; malloc(0) is a unique non-NULL block; a 513 KiB block works;
// every small size comes back 16-byte aligned.
#include "../common.h"

int main(void)
{
    size_t minus1 = t_opaque_size((size_t)-1), minus512k = t_opaque_size((size_t)-512 * 1024);
    errno = 0;
    void *p = malloc(minus1);
    EXPECTF(p == NULL && errno == ENOMEM, "malloc(-1) = %p errno %d", p, errno);
    p = malloc(10);
    CHECK(p != NULL);
    EXPECT(realloc(p, 0) == NULL);
    p = malloc(0);
    void *q = malloc(0);
    EXPECT(p != NULL && q != NULL && p != q);
    free(q);
    EXPECT(realloc(p, 0) == NULL);
    p = malloc(513 * 1024);
    CHECK(p != NULL);
    memset(p, 1, 513 * 1024);
    errno = 0;
    q = malloc(minus512k);
    EXPECTF(q == NULL && errno == ENOMEM, "malloc(-512K) = %p errno %d", q, errno);
    free(p);
    static const size_t sizes[] = {2, 8, 13, 16, 23, 43, 123, 1000, 5000, 70000, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p = malloc(sizes[i]);
        CHECK(p != NULL);
        EXPECTF(((uintptr_t)p & 15) == 0, "malloc(%zu) = %p is not 16-byte aligned", sizes[i], p);
        free(p);
    }
    return t_done();
}
