// memalign / posix_memalign / aligned_alloc for every power-of-two alignment
// from 1 B to 4 MiB with several sizes; error cases (EINVAL, ENOMEM).
#include "../common.h"

enum { RING = 8 };
struct blk { unsigned char *p; size_t n; uint64_t salt; };
static struct blk ring[RING];
static unsigned ring_pos;
static uint64_t salt_ctr;

static void retire(struct blk *b)
{
    if (!b->p)
        return;
    size_t bad = t_check(b->p, b->n, b->p, b->salt);
    EXPECTF(bad == (size_t)-1, "aligned block %p (%zu bytes) clobbered at %zu",
            (void *)b->p, b->n, bad);
    free(b->p);
    b->p = NULL;
}

static void keep(unsigned char *p, size_t n, size_t align, const char *fn)
{
    EXPECTF(t_aligned(p, align), "%s(%zu, %zu) = %p is misaligned", fn, align, n, (void *)p);
    EXPECTF(t_aligned(p, 16), "%s(%zu, %zu) = %p is not 16-aligned", fn, align, n, (void *)p);
    size_t u = malloc_usable_size(p);
    EXPECTF(u >= n, "%s(%zu, %zu): usable size %zu", fn, align, n, u);
    struct blk *b = &ring[ring_pos++ % RING];
    retire(b);
    b->p = p;
    b->n = n;
    b->salt = ++salt_ctr;
    t_fill(p, n, p, b->salt);
}

int main(void)
{
    const size_t fixed[] = { 0, 1, 24, 100, 1000, 5000, 70000, 300000 };
    for (size_t align = 1; align <= 4 * T_MIB; align *= 2) {
        size_t sizes[12];
        size_t ns = 0;
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            sizes[ns++] = fixed[i];
        sizes[ns++] = align + 1;
        if (align > 1)
            sizes[ns++] = align - 1;
        sizes[ns++] = align;
        sizes[ns++] = 2 * align + 40;
        for (size_t i = 0; i < ns; i++) {
            size_t n = sizes[i];
            unsigned char *p = memalign(align, n);
            CHECKF(p != NULL, "memalign(%zu, %zu) returned NULL", align, n);
            keep(p, n, align, "memalign");

            errno = 0;
            p = aligned_alloc(align, n);
            CHECKF(p != NULL, "aligned_alloc(%zu, %zu) returned NULL (errno %d)", align, n, errno);
            keep(p, n, align, "aligned_alloc");

            void *m = NULL;
            int rc = posix_memalign(&m, align, n);
            if (align < sizeof(void *)) {
                EXPECTF(rc == EINVAL, "posix_memalign(%zu, %zu) = %d, expected EINVAL", align, n, rc);
                if (rc == 0)
                    free(m);
            } else {
                CHECKF(rc == 0 && m != NULL, "posix_memalign(%zu, %zu) = %d", align, n, rc);
                keep(m, n, align, "posix_memalign");
            }
        }
    }
    for (int i = 0; i < RING; i++)
        retire(&ring[i]);

    /* aligned blocks interleaved with ordinary ones; the slack around aligned
     * blocks must go back to the allocator and stay consistent */
    {
        enum { N = 600 };
        static unsigned char *a[N], *s[N];
        int cnt = (int)t_scale(N, 150);
        for (int i = 0; i < cnt; i++) {
            size_t al = (size_t)16 << (i % 9);          /* 16 .. 4096 */
            a[i] = memalign(al, 40 + (size_t)i % 300);
            s[i] = malloc(40);
            CHECK(a[i] && s[i]);
            EXPECT(t_aligned(a[i], al));
            t_fill(a[i], 40, a[i], (uint64_t)i);
            t_fill(s[i], 40, s[i], (uint64_t)i + N);
        }
        for (int i = 0; i < cnt; i += 2) {
            free(a[i]);
            a[i] = NULL;
        }
        for (int i = 0; i < cnt; i++) {
            if (a[i])
                EXPECTF(t_check(a[i], 40, a[i], (uint64_t)i) == (size_t)-1, "aligned block %d", i);
            EXPECTF(t_check(s[i], 40, s[i], (uint64_t)i + N) == (size_t)-1, "small block %d", i);
        }
        for (int i = 0; i < cnt; i++) {
            free(a[i]);
            free(s[i]);
        }
    }

    /* posix_memalign errors: EINVAL for bad alignment, ENOMEM for a huge size;
     * *memptr is left unchanged in both cases */
    {
        const size_t badal[] = { 0, 1, 2, 4, 12, 24, 48, 100, 4095, 4097, 3 * 4096,
                                 (size_t)1 << 63 | 8 };
        int marker;
        for (size_t i = 0; i < sizeof badal / sizeof badal[0]; i++) {
            void *m = &marker;
            int rc = posix_memalign(&m, t_opaque_size(badal[i]), 64);
            EXPECTF(rc == EINVAL, "posix_memalign(alignment %zu) = %d, expected EINVAL", badal[i], rc);
            EXPECTF(m == &marker, "posix_memalign(alignment %zu) changed *memptr", badal[i]);
            if (rc == 0 && m != &marker)
                free(m);
        }
        const size_t huge[] = { SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX };
        for (size_t i = 0; i < 3; i++) {
            void *m = &marker;
            int rc = posix_memalign(&m, 64, t_opaque_size(huge[i]));
            EXPECTF(rc == ENOMEM, "posix_memalign(64, %#zx) = %d, expected ENOMEM", huge[i], rc);
            EXPECTF(m == &marker, "posix_memalign(64, %#zx) changed *memptr", huge[i]);
        }
    }
    /* aligned_alloc with an alignment that is not a power of two: NULL, EINVAL
     * (glibc >= 2.38; C17 7.22.3.1) */
    {
        const size_t badal[] = { 0, 3, 24, 48, 1000, 4097 };
        for (size_t i = 0; i < sizeof badal / sizeof badal[0]; i++) {
            errno = 0;
            void *p = aligned_alloc(t_opaque_size(badal[i]), 64);
            int e = errno;
            EXPECTF(p == NULL && e == EINVAL,
                    "aligned_alloc(%zu, 64) = %p errno %d, expected NULL/EINVAL", badal[i], p, e);
            if (p)
                free(p);
        }
    }
    /* memalign with a huge size: NULL, ENOMEM */
    {
        errno = 0;
        void *p = memalign(4096, t_opaque_size(SIZE_MAX - 8192));
        EXPECT(p == NULL && errno == ENOMEM);
        free(p);
    }
    return t_done();
}
