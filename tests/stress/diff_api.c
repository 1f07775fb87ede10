// diff_api.c - a randomized differential stress of the whole public API,
// checked against glibc's documented semantics (it passes under --variant
// glibc): malloc/calloc/realloc/reallocarray/free/aligned_alloc/
// posix_memalign/memalign/valloc/pvalloc/malloc_usable_size/malloc_trim, with
// mallopt (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX,
// M_ARENA_MAX, M_PERTURB, M_MXFAST) changing between calls. Sizes cluster
// at the boundaries (0, 1, MINSIZE, 1 KiB +-16, the medium classes' edges,
// 64 KiB, the 128 KiB mmap threshold +-32, 1-32 MiB, past 32 MiB for the
// mapping cache); realloc grows step by step, shrinks (aligned blocks too)
// and crosses the heap/mmap boundary both ways; blocks pass through a
// shared array, so many are freed or reallocated by another thread, and
// three rounds of threads exit while their blocks live on. Every block
// carries a pattern checked before free/realloc (realloc keeps
// min(old, new) bytes, calloc memory reads zero, a failed realloc keeps the
// block); impossible sizes return NULL with ENOMEM; free keeps errno.
// mallopt runs with no other call in flight (it is MT-Unsafe in glibc's
// manual). UMALLOC_TEST_SEED picks the seed; DIFF_API_OPS and
// DIFF_API_THREADS the work.
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "../common.h"

#include <pthread.h>
#include <stdatomic.h>

#define NSLOT 128
#define NSHARED 64

typedef struct {
    unsigned char *p;
    size_t size;   /* requested */
    size_t align;  /* 0 = none guaranteed beyond 16 */
    uint64_t seed;
    int kind;
} blk;

static atomic_int fails;
static int opt_mallopt = 1, opt_verbose = 0;
static long iters;
static int nthreads = 2;
static uint64_t gseed;

#define FAIL(...) do { fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); atomic_fetch_add(&fails, 1); if (atomic_load(&fails) > 20) _exit(1); } while (0)

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t *s, uint64_t n) { return n ? rnd(s) % n : 0; }

static inline unsigned char pat(uint64_t seed, size_t i)
{
    uint64_t z = seed ^ (i * 0x9e3779b97f4a7c15ull);
    z ^= z >> 29;
    return (unsigned char)(z * 0xbf58476d1ce4e5b9ull >> 56);
}

/* positions written: all for size <= 256K, else sparse */
#define DENSE (256 * 1024)
static inline int written(size_t size, size_t i)
{
    return size <= DENSE || i < 4096 || i >= size - 4096 || i % 509 == 0;
}

static void fill(blk *b)
{
    size_t n = b->size;
    if (n <= DENSE) {
        for (size_t i = 0; i < n; i++)
            b->p[i] = pat(b->seed, i);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i == 4096 && n > 8192) { /* jump over the sparse middle */
                for (size_t j = 4096 + (509 - 4096 % 509) % 509; j < n - 4096; j += 509)
                    b->p[j] = pat(b->seed, j);
                i = n - 4096;
            }
            b->p[i] = pat(b->seed, i);
        }
    }
}

/* verify positions < lim written under b->size's scheme */
static int verify(const blk *b, size_t lim, const char *what)
{
    size_t n = b->size < lim ? b->size : lim;
    for (size_t i = 0; i < n; i++) {
        if (b->size > DENSE && i >= 4096 && i < b->size - 4096) {
            if (i % 509) {
                size_t nx = i + (509 - i % 509);
                if (nx >= b->size - 4096)
                    nx = b->size - 4096;
                i = nx - 1;
                continue;
            }
        }
        if (b->p[i] != pat(b->seed, i)) {
            FAIL("%s: corrupt byte %zu of %p (size %zu align %zu kind %d): %02x want %02x", what, i,
                 (void *)b->p, b->size, b->align, b->kind, b->p[i], pat(b->seed, i));
            return 0;
        }
    }
    return 1;
}

static int check_zero(const unsigned char *p, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (n > DENSE && i >= 4096 && i < n - 4096 && (i & 255)) {
            i = (i | 255) < n - 4096 ? (i | 255) : n - 4096 - 1;
            continue;
        }
        if (p[i]) {
            FAIL("%s: calloc byte %zu of %p (n %zu) is %02x", what, i, (void *)p, n, p[i]);
            return 0;
        }
    }
    return 1;
}

static size_t boundary_sizes[200];
static int nbound;

static void init_sizes(void)
{
    size_t base[] = {0, 1, 8, 15, 16, 17, 23, 24, 25, 31, 32, 40, 48, 104, 120, 128, 136, 152, 160, 168, 176,
                     1008, 1016, 1024, 1032, 1040, 1048, 4096, 8192, 65536, 131072, 1 << 20, 32 << 20};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        boundary_sizes[nbound++] = base[i];
    /* medium class edges: 8 per doubling from 1 KiB to 128 KiB */
    for (int d = 0; d < 7; d++)
        for (int j = 0; j < 8; j += 3)
            boundary_sizes[nbound++] = ((size_t)1024 << d) + (size_t)j * (128 << d);
}

static int opt_big;
static size_t pick_size(uint64_t *s)
{
    if (opt_big && below(s, 16) == 0) {
        switch (below(s, 4)) {
        case 0: return (1 << 20) + below(s, 31 << 20);
        case 1: return (32 << 20) + below(s, 8 << 20);
        case 2: return (128 << 10) + below(s, 64) - 32;
        default: return (64 << 10) + below(s, 64) - 32;
        }
    }
    switch (below(s, 10)) {
    case 0: case 1: case 2: {
        size_t b = boundary_sizes[below(s, nbound)];
        long d = (long)below(s, 41) - 20;
        if ((long)b + d < 0)
            return b;
        return b + d;
    }
    case 3: case 4: case 5: return below(s, 256);
    case 6: return below(s, 4096);
    case 7: return below(s, 70000);
    case 8: return 100000 + below(s, 100000);
    default:
        return below(s, 8) == 0 ? (1 << 20) + below(s, 5 << 20) : below(s, 300000);
    }
}

static void check_huge_fail(void *p, const char *what)
{
    if (p)
        FAIL("%s: huge request returned %p", what, p);
    else if (errno != ENOMEM)
        FAIL("%s: huge request errno %d, want ENOMEM", what, errno);
}

static void do_free(blk *b, uint64_t *s)
{
    if (!b->p)
        return;
    verify(b, SIZE_MAX, "free");
    if (malloc_usable_size(b->p) < b->size)
        FAIL("usable %zu < size %zu", malloc_usable_size(b->p), b->size);
    errno = 4321;
    free(b->p);
    if (errno != 4321)
        FAIL("free changed errno to %d", errno);
    (void)s;
    b->p = NULL;
}

static void set_new(blk *b, void *p, size_t size, size_t align, int kind, uint64_t *s)
{
    b->p = p;
    b->size = size;
    b->align = align;
    b->kind = kind;
    b->seed = rnd(s);
    if (align && ((uintptr_t)p & (align - 1)))
        FAIL("kind %d: %p not aligned to %zu (size %zu)", kind, p, align, size);
    if (((uintptr_t)p & 15))
        FAIL("kind %d: %p not 16-aligned", kind, p);
    size_t us = malloc_usable_size(p);
    if (us < size)
        FAIL("kind %d: usable %zu < %zu", kind, us, size);
    fill(b);
}

static void random_mallopt(uint64_t *s)
{
    int r = 1;
    const char *n = "";
    int v = 0;
    switch (below(s, 7)) {
    case 0: { int vs[] = {0, 4096, 65536 - 16, 131072, 131072 + 16, 1 << 20, 32 << 20}; v = vs[below(s, 7)]; n = "MMAP_THRESHOLD"; r = mallopt(M_MMAP_THRESHOLD, v); break; }
    case 1: { int vs[] = {0, 4096, 131072, -1, 1 << 20, 64 << 20}; v = vs[below(s, 6)]; n = "TRIM_THRESHOLD"; r = mallopt(M_TRIM_THRESHOLD, v); break; }
    case 2: { int vs[] = {0, 4096, 131072, 1 << 20}; v = vs[below(s, 4)]; n = "TOP_PAD"; r = mallopt(M_TOP_PAD, v); break; }
    case 3: { int vs[] = {0, 1, 2, 65536, -1}; v = vs[below(s, 5)]; n = "MMAP_MAX"; r = mallopt(M_MMAP_MAX, v); break; }
    case 4: { int vs[] = {1, 2, 8}; v = vs[below(s, 3)]; n = "ARENA_MAX"; r = mallopt(M_ARENA_MAX, v); break; }
    case 5: { int vs[] = {0, 0xa5, 256, 1}; v = vs[below(s, 4)]; n = "PERTURB"; r = mallopt(M_PERTURB, v); break; }
    default: { int vs[] = {0, 64, 128, 160}; v = vs[below(s, 4)]; n = "MXFAST"; r = mallopt(M_MXFAST, v); break; }
    }
    if (r != 1)
        FAIL("mallopt(%s, %d) returned %d", n, v, r);
    if (opt_verbose)
        fprintf(stderr, "mallopt %s %d\n", n, v);
}

static pthread_rwlock_t opt_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static blk shared[NSHARED];

static void op(blk *slots, uint64_t *s)
{
    blk *b = &slots[below(s, NSLOT)];
    int o = (int)below(s, 100);
    void *p;
    size_t sz, al;
    if (o < 22) { /* malloc */
        do_free(b, s);
        sz = pick_size(s);
        p = malloc(sz);
        if (!p) { FAIL("malloc(%zu) NULL errno %d", sz, errno); return; }
        set_new(b, p, sz, 0, 0, s);
    } else if (o < 30) { /* calloc */
        do_free(b, s);
        sz = pick_size(s);
        size_t n = 1, m = sz;
        if (sz > 1 && below(s, 2)) { n = 1 + below(s, 16); m = sz / n; sz = n * m; }
        p = calloc(n, m);
        if (!p) { FAIL("calloc(%zu,%zu) NULL", n, m); return; }
        check_zero(p, sz, "calloc");
        set_new(b, p, sz, 0, 1, s);
    } else if (o < 48) { /* realloc */
        if (!b->p && below(s, 2)) {
            sz = pick_size(s);
            p = realloc(NULL, sz);
            if (!p) { FAIL("realloc(NULL,%zu)", sz); return; }
            set_new(b, p, sz, 0, 2, s);
            return;
        }
        if (!b->p)
            return;
        sz = pick_size(s);
        int g = (int)below(s, 6);
        if (g == 0) /* small change */
            sz = b->size + below(s, 64) - (b->size < 32 ? b->size : 32);
        else if (g == 1) /* vector growth */
            sz = b->size < (48 << 20) ? b->size + b->size / 2 + 1 : b->size / 3;
        else if (g == 2) /* shrink */
            sz = b->size / (2 + below(s, 30));
        if (sz == 0 && below(s, 2))
            sz = 1;
        verify(b, SIZE_MAX, "pre-realloc");
        if (sz == 0) {
            p = realloc(b->p, 0); /* glibc: frees, returns NULL */
            if (p) { b->p = p; b->size = 0; b->seed = rnd(s); }
            else b->p = NULL;
            return;
        }
        int use_arr = below(s, 4) == 0;
        p = use_arr ? reallocarray(b->p, 1, sz) : realloc(b->p, sz);
        if (!p) { FAIL("realloc(%p,%zu) NULL errno %d", (void *)b->p, sz, errno); return; }
        b->p = p;
        verify(b, sz, "realloc");
        set_new(b, p, sz, 0, 3, s);
    } else if (o < 60) { /* aligned */
        do_free(b, s);
        sz = pick_size(s);
        int k = (int)below(s, 6);
        al = (size_t)1 << (below(s, 8) == 0 ? 12 + below(s, 10) : 3 + below(s, 10));
        int kind = 10 + k;
        if (k == 0) {
            p = aligned_alloc(al, sz);
        } else if (k == 1) {
            if (al < sizeof(void *)) al = sizeof(void *);
            void *q = NULL;
            int e = posix_memalign(&q, al, sz);
            if (e) { FAIL("posix_memalign %zu %zu = %d", al, sz, e); return; }
            p = q;
        } else if (k == 2) {
            p = memalign(al, sz);
        } else if (k == 3) {
            al = 4096;
            p = valloc(sz);
        } else if (k == 4) {
            al = 4096;
            p = pvalloc(sz);
            if (p && malloc_usable_size(p) < ((sz + 4095) & ~(size_t)4095))
                FAIL("pvalloc(%zu) usable %zu", sz, malloc_usable_size(p));
        } else {
            p = memalign(al, sz);
        }
        if (!p) { FAIL("aligned kind %d al %zu sz %zu NULL", k, al, sz); return; }
        set_new(b, p, sz, al, kind, s);
    } else if (o < 80) {
        do_free(b, s);
    } else if (o < 82) { /* huge requests */
        uint64_t hu[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, (size_t)1 << 47, (size_t)1 << 46, SIZE_MAX / 2};
        sz = hu[below(s, 7)];
        errno = 0;
        switch (below(s, 8)) {
        case 0: check_huge_fail(malloc(sz), "malloc"); break;
        case 1: check_huge_fail(calloc(1, sz), "calloc"); break;
        case 2: check_huge_fail(calloc(sz, 2), "calloc2"); break;
        case 3: check_huge_fail(memalign(64, sz), "memalign"); break;
        case 4: check_huge_fail(aligned_alloc(4096, sz), "aligned_alloc"); break;
        case 5: { void *q = (void *)1; int e = posix_memalign(&q, 64, sz); if (e != ENOMEM) FAIL("posix_memalign huge %d", e); if (q != (void *)1) FAIL("posix_memalign wrote out"); break; }
        case 6: check_huge_fail(valloc(sz), "valloc"); break;
        default:
            if (b->p) {
                errno = 0;
                p = below(s, 2) ? realloc(b->p, sz) : reallocarray(b->p, 2, sz / 2 + 1);
                check_huge_fail(p, "realloc");
                verify(b, SIZE_MAX, "after failed realloc");
            }
        }
    } else if (o < 84) {
        if (opt_mallopt) { /* mallopt is MT-Unsafe in glibc's manual: never beside another call */
            pthread_rwlock_unlock(&opt_lock);
            pthread_rwlock_wrlock(&opt_lock);
            random_mallopt(s);
            pthread_rwlock_unlock(&opt_lock);
            pthread_rwlock_rdlock(&opt_lock);
        }
    } else if (o < 85) {
        malloc_trim(below(s, 2) ? 0 : below(s, 1 << 20));
    } else if (o < 95) { /* swap with shared (cross-thread free/realloc) */
        pthread_mutex_lock(&shared_lock);
        blk *sb = &shared[below(s, NSHARED)];
        blk t = *sb;
        *sb = *b;
        *b = t;
        pthread_mutex_unlock(&shared_lock);
    } else { /* verify */
        if (b->p) verify(b, SIZE_MAX, "verify");
    }
}

struct targ { uint64_t seed; long n; };

static void *worker(void *a)
{
    struct targ *t = a;
    blk *slots = calloc(NSLOT, sizeof *slots);
    uint64_t s = t->seed;
    for (long i = 0; i < t->n; i++) {
        pthread_rwlock_rdlock(&opt_lock);
        op(slots, &s);
        pthread_rwlock_unlock(&opt_lock);
    }
    for (int i = 0; i < NSLOT; i++)
        do_free(&slots[i], &s);
    free(slots);
    return NULL;
}

int main(void)
{
    gseed = t_seed(20261204);
    iters = t_scale(2400, 1500);
    if (t_is_sanitized())
        iters = 1500;
    const char *e = getenv("DIFF_API_OPS");
    if (e)
        iters = strtol(e, NULL, 0);
    if ((e = getenv("DIFF_API_THREADS")))
        nthreads = atoi(e);
    opt_verbose = getenv("DIFF_API_VERBOSE") != NULL;
    opt_big = 1;
    init_sizes();
    for (int r = 0; r < 3; r++) {
        pthread_t th[16];
        struct targ ta[16];
        int nt = nthreads < 1 ? 1 : nthreads > 16 ? 16 : nthreads;
        for (int i = 0; i < nt; i++) {
            ta[i].seed = gseed * 1000 + (uint64_t)r * 16 + (uint64_t)i;
            ta[i].n = iters / 3;
            CHECK(pthread_create(&th[i], NULL, worker, &ta[i]) == 0);
        }
        for (int i = 0; i < nt; i++)
            pthread_join(th[i], NULL);
    }
    uint64_t s = 7;
    for (int i = 0; i < NSHARED; i++)
        do_free(&shared[i], &s);
    if (fails) {
        fprintf(stderr, "%d failure(s) (UMALLOC_TEST_SEED=%llu)\n", fails, (unsigned long long)gseed);
        return 1;
    }
    printf("ok: %ld operations in %d threads x 3 rounds, seed %llu\n", iters, nthreads, (unsigned long long)gseed);
    return 0;
}
