// timeout: 120
// Mirrors glibc's tst-malloc-too-large: after a small malloc/free (so a
// cached block could be handed back by mistake), sizes near SIZE_MAX, just
// above PTRDIFF_MAX and every (k << 50) | ones fail with NULL/ENOMEM from
// malloc, realloc, calloc, reallocarray (split into factors both ways),
// memalign/aligned_alloc at every power-of-two alignment, posix_memalign
// (ENOMEM, result untouched), valloc and pvalloc. The address space is
// limited to 2^50 bytes (not under the sanitizers) so no size can succeed.
#include "../common.h"

static void setup(void)
{
    void *volatile p = malloc(16);
    CHECK(p != NULL);
    free(p);
    errno = 0;
}

#define NOMEM(expr)                                                             \
    do {                                                                        \
        setup();                                                                \
        void *r_ = (expr);                                                      \
        EXPECTF(r_ == NULL && errno == ENOMEM, "%s, size %#zx: %p errno %d", #expr, size, r_, errno); \
        free(r_);                                                               \
    } while (0)

static void try_size(size_t size)
{
    NOMEM(malloc(size));
    void *old = malloc(16);
    CHECK(old != NULL);
    NOMEM(realloc(old, size));
    for (size_t n = 1; n <= 8 && size % n == 0; n *= 2) {
        NOMEM(calloc(n, size / n));
        NOMEM(calloc(size / n, n));
        NOMEM(reallocarray(old, n, size / n));
        NOMEM(reallocarray(old, size / n, n));
    }
    free(old);
    for (size_t al = 1; al; al <<= 1) {
        NOMEM(memalign(al, size));
        if (al % sizeof(void *) == 0) {
            void *p = NULL;
            setup();
            EXPECTF(posix_memalign(&p, al, size) == ENOMEM && p == NULL, "posix_memalign(%#zx, %#zx)", al, size);
        }
        if (size % al == 0)
            NOMEM(aligned_alloc(al, size));
    }
    NOMEM(valloc(size));
    NOMEM(pvalloc(size));
}

int main(void)
{
    if (!t_is_sanitized()) {
        struct rlimit rl = {(rlim_t)1 << 50, (rlim_t)1 << 50};
        setrlimit(RLIMIT_AS, &rl);
    }
    long span = t_scale(1 << 14, 64);
    for (long i = 0; i < span; i++)
        try_size(SIZE_MAX - (size_t)i);
    for (long i = 1; i < span; i++)
        try_size((size_t)PTRDIFF_MAX + (size_t)i);
    for (size_t msbs = (1 << 14) - 1; msbs >= 1; msbs -= (msbs > 64 ? 61 : 1)) {
        try_size((msbs << 50) | (((size_t)1 << 50) - 1));
        try_size(msbs << 50);
    }
    return t_done();
}
