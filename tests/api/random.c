// Big random test: a few hundred thousand random malloc / calloc / realloc /
// memalign / free operations with sizes 0 .. 256 KiB; every block carries a
// pattern derived from its address, checked before every free and realloc.
// Seed: UMALLOC_TEST_SEED (printed on failure).
// timeout: 120
#include "../common.h"

enum { MAXSLOTS = 2000 };
struct slot { unsigned char *p; size_t n; const void *base; uint64_t salt; };
static struct slot s[MAXSLOTS];
static uint64_t seed;
static long op_no;

static size_t rsize(t_rng *r)
{
    uint64_t k = t_below(r, 100);
    if (k < 70) return t_below(r, 257);
    if (k < 90) return 257 + t_below(r, 4096 - 256);
    if (k < 98) return 4096 + t_below(r, 64 * 1024 - 4096);
    return 64 * 1024 + t_below(r, 192 * 1024 + 1);
}

static void verify(struct slot *b, const char *when)
{
    size_t bad = t_check(b->p, b->n, b->base, b->salt);
    if (bad != (size_t)-1) {
        fprintf(stderr, "seed %#llx op %ld: block %p (%zu bytes) corrupt at offset %zu %s\n",
                (unsigned long long)seed, op_no, (void *)b->p, b->n, bad, when);
        exit(1);
    }
}

int main(void)
{
    seed = t_seed(0x5eed1234);
    t_rng r = { seed };
    const long ops = t_scale(300000, 15000);
    const int slots = (int)t_scale(MAXSLOTS, 200);
    uint64_t salt = 1;
    long count[5] = { 0 };

    for (op_no = 0; op_no < ops; op_no++) {
        struct slot *b = &s[t_below(&r, (uint64_t)slots)];
        uint64_t what = t_below(&r, 100);
        if (b->p && what < 45) {                      /* free */
            verify(b, "before free");
            free(b->p);
            b->p = NULL;
            count[0]++;
        } else if (b->p) {                            /* realloc */
            verify(b, "before realloc");
            size_t n = rsize(&r);
            unsigned char *q = realloc(b->p, n);
            if (n == 0) {                             /* realloc(p, 0) frees */
                if (q) {
                    fprintf(stderr, "seed %#llx op %ld: realloc(p, 0) returned %p, not NULL\n",
                            (unsigned long long)seed, op_no, (void *)q);
                    return 1;
                }
                b->p = NULL;
                count[1]++;
                continue;
            }
            if (!q) {
                fprintf(stderr, "seed %#llx op %ld: realloc(%zu) failed\n",
                        (unsigned long long)seed, op_no, n);
                return 1;
            }
            size_t keep = n < b->n ? n : b->n;
            size_t bad = t_check(q, keep, b->base, b->salt);
            if (bad != (size_t)-1) {
                fprintf(stderr, "seed %#llx op %ld: realloc %zu -> %zu lost byte %zu\n",
                        (unsigned long long)seed, op_no, b->n, n, bad);
                return 1;
            }
            b->p = q;
            b->n = n;
            b->base = q;
            b->salt = salt++;
            t_fill(q, n, q, b->salt);
            count[1]++;
        } else {
            size_t n = rsize(&r);
            unsigned char *p;
            if (what < 70) {
                p = malloc(n);
                count[2]++;
            } else if (what < 90) {
                size_t m = 1 + t_below(&r, 8);
                n = n / m;
                p = calloc(m, n);
                n *= m;
                count[3]++;
                if (p && t_first_not(p, n, 0) != (size_t)-1) {
                    fprintf(stderr, "seed %#llx op %ld: calloc(%zu, %zu) not zeroed\n",
                            (unsigned long long)seed, op_no, m, n / m);
                    return 1;
                }
            } else {
                size_t al = (size_t)8 << t_below(&r, 10);      /* 8 .. 4096 */
                p = memalign(al, n);
                count[4]++;
                if (p && !t_aligned(p, al)) {
                    fprintf(stderr, "seed %#llx op %ld: memalign(%zu) = %p\n",
                            (unsigned long long)seed, op_no, al, (void *)p);
                    return 1;
                }
            }
            if (!p) {
                fprintf(stderr, "seed %#llx op %ld: allocation of %zu failed\n",
                        (unsigned long long)seed, op_no, n);
                return 1;
            }
            if (!t_aligned(p, 16) || malloc_usable_size(p) < n) {
                fprintf(stderr, "seed %#llx op %ld: %p misaligned or usable %zu < %zu\n",
                        (unsigned long long)seed, op_no, (void *)p, malloc_usable_size(p), n);
                return 1;
            }
            b->p = p;
            b->n = n;
            b->base = p;
            b->salt = salt++;
            t_fill(p, n, p, b->salt);
        }
        if (op_no % 50000 == 49999)
            for (int i = 0; i < slots; i++)
                if (s[i].p)
                    verify(&s[i], "in a periodic sweep");
    }
    for (int i = 0; i < slots; i++)
        if (s[i].p) {
            verify(&s[i], "at the end");
            free(s[i].p);
        }
    printf("%ld ops: %ld free, %ld realloc, %ld malloc, %ld calloc, %ld memalign\n", ops,
           count[0], count[1], count[2], count[3], count[4]);
    return 0;
}
