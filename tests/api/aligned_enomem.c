// Mirrors the size checks of glibc's tst-memalign, tst-posix_memalign and
// tst-aligned-alloc: with every power-of-two alignment up to 2^63 an
// impossible size fails with ENOMEM (not EINVAL), and posix_memalign both
// returns ENOMEM and sets errno = ENOMEM (as glibc does), also when the
// memory really runs out (RLIMIT_AS, in a child).
#include "../common.h"

static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)PTRDIFF_MAX};

int main(void)
{
    for (int s = 0; s < 4; s++)
        for (int b = 0; b < 64; b++) {
            size_t al = (size_t)1 << b, n = huge[s];
            errno = 0;
            void *p = memalign(al, n);
            EXPECTF(p == NULL && errno == ENOMEM, "memalign(2^%d, %zx) = %p errno %d", b, n, p, errno);
            errno = 0;
            p = aligned_alloc(al, n);
            EXPECTF(p == NULL && errno == ENOMEM, "aligned_alloc(2^%d, %zx) = %p errno %d", b, n, p, errno);
            if (al >= sizeof(void *)) {
                errno = 0;
                p = (void *)1;
                int rc = posix_memalign(&p, al, n);
                EXPECTF(rc == ENOMEM && errno == ENOMEM && p == (void *)1,
                        "posix_memalign(2^%d, %zx) = %d errno %d", b, n, rc, errno);
            }
        }
    /* memalign with an alignment above 2^63 (not a power of two, cannot be
     * rounded up to one): EINVAL, as glibc */
    errno = 0;
    EXPECT(memalign(((size_t)1 << 63) + 1, 64) == NULL && errno == EINVAL);

    /* real exhaustion: a child with a small address-space limit (not under
     * the sanitizers, whose shadow memory needs the address space) */
    if (t_is_sanitized())
        return t_done();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)512 << 20, (rlim_t)512 << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(77);
        void *p = (void *)1;
        errno = 0;
        int rc = posix_memalign(&p, 4096, (size_t)1 << 30);
        if (rc != ENOMEM || errno != ENOMEM || p != (void *)1)
            _exit(1);
        errno = 0;
        if (memalign(64, (size_t)1 << 30) != NULL || errno != ENOMEM)
            _exit(2);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        t_skip("setrlimit(RLIMIT_AS) refused");
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x (1: posix_memalign, 2: memalign)", st);
    return t_done();
}
