// Mirrors glibc's tst-memalign, tst-posix_memalign and tst-aligned-alloc
// (glibc >= 2.38 rules): impossible sizes fail with ENOMEM and leave
// posix_memalign's result untouched; an alignment of -1 is EINVAL
// (memalign/posix_memalign); a zero size succeeds; 0x100 alignment is
// honoured; posix_memalign rejects 0 and 0x300; aligned_alloc accepts 1 and
// 64, rejects 65, 0 and fails for 2^63 (which cannot be met).
#include "../common.h"

int main(void)
{
    size_t ps = (size_t)getpagesize();
    errno = 0;
    void *p = memalign(sizeof(void *), t_opaque_size((size_t)-1));
    EXPECTF(p == NULL && errno == ENOMEM, "memalign(8, -1): %p errno %d", p, errno);
    errno = 0;
    p = memalign(ps, t_opaque_size(-ps));
    EXPECTF(p == NULL && errno == ENOMEM, "memalign(page, -page): %p errno %d", p, errno);
    errno = 0;
    p = memalign(t_opaque_size((size_t)-1), ps);
    EXPECTF(p == NULL && errno == EINVAL, "memalign(-1, page): %p errno %d", p, errno);
    p = memalign(sizeof(void *), 0);
    EXPECT(p != NULL);
    free(p);
    p = memalign(0x100, 10);
    EXPECT(p != NULL && ((uintptr_t)p & 0xff) == 0);
    free(p);

    p = NULL;
    EXPECT(posix_memalign(&p, sizeof(void *), t_opaque_size((size_t)-1)) == ENOMEM && p == NULL);
    EXPECT(posix_memalign(&p, ps, t_opaque_size(-ps)) == ENOMEM && p == NULL);
    EXPECT(posix_memalign(&p, t_opaque_size((size_t)-1), ps) == EINVAL && p == NULL);
    EXPECT(posix_memalign(&p, sizeof(void *), 0) == 0 && p != NULL);
    free(p);
    p = NULL;
    EXPECT(posix_memalign(&p, 0x300, 10) == EINVAL && p == NULL);
    EXPECT(posix_memalign(&p, 0, 10) == EINVAL && p == NULL);
    EXPECT(posix_memalign(&p, 0x100, 10) == 0 && p != NULL && ((uintptr_t)p & 0xff) == 0);
    free(p);

    void *a = aligned_alloc(64, 64), *b = aligned_alloc(1, 64);
    EXPECT(a != NULL && ((uintptr_t)a & 63) == 0);
    EXPECT(b != NULL);
    errno = 0;
    EXPECT(aligned_alloc(t_opaque_size(65), 64) == NULL && errno == EINVAL);
    errno = 0;
    EXPECT(aligned_alloc(t_opaque_size(0), 64) == NULL && errno == EINVAL);
    errno = 0;
    EXPECT(aligned_alloc(t_opaque_size(SIZE_MAX / 2 + 1), 64) == NULL && errno == ENOMEM);
    free(a);
    free(b);
    return t_done();
}
