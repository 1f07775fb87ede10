/* bigslots - a table of big buffers, one replaced at a time: the pattern of
 * mimalloc-bench's malloc-large (and of programs that keep a few image, I/O
 * or decode buffers and reallocate them as sizes change).
 *
 *   bigslots [--quick|--scale=X]
 *
 * 20 slots; each round frees the buffer in a random slot and puts a fresh
 * one of 5-25 MiB (uniform) there, filled with memset (malloc-large
 * value-initialises its buffers: operator new, then a memset of zeros; the
 * fill here is a non-zero byte, so that the compiler cannot turn malloc +
 * memset into calloc, which an allocator may serve from fresh zero pages
 * without touching them).  About 300 MiB stay live.  Every freed buffer is
 * checked first: its fill byte in every 64th page and at both ends.  The cost
 * is the memset plus whatever the allocator adds: an allocator that gives
 * freed buffers back to the kernel and faults them in again for the next
 * one pays a page fault per 4 KiB page.
 */
#include "bench.h"

#define SLOTS 20
#define MIB ((size_t)1 << 20)
#define PAGE 4096

typedef struct {
    unsigned char *p;
    size_t size;
    unsigned char fill;
} slot;

static void check_slot(const slot *s, long round)
{
    size_t bad = 0;
    for (size_t off = 0; off < s->size; off += 64 * PAGE)
        bad += s->p[off] != s->fill;
    CHECK(bad == 0 && s->p[s->size - 1] == s->fill, "round %ld: a %zu-byte buffer lost its contents",
          round, s->size);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long rounds = bench_scaled(1000, 20);
    rng_t r;
    rng_seed(&r, 77);
    slot s[SLOTS] = {{0}};
    uint64_t bytes = 0;
    for (long i = 0; i < rounds; i++) {
        slot *t = &s[rng_below(&r, SLOTS)];
        if (t->p) {
            check_slot(t, i);
            free(t->p);
        }
        t->size = 5 * MIB + (size_t)rng_below(&r, 20 * MIB + 1);
        t->p = malloc(t->size);
        CHECK_ALLOC(t->p, t->size);
        t->fill = (unsigned char)((i * 7) | 1);
        memset(t->p, t->fill, t->size);
        bytes += t->size;
    }
    for (int k = 0; k < SLOTS; k++)
        if (s[k].p) {
            check_slot(&s[k], rounds);
            free(s[k].p);
        }
    printf("rounds=%ld mib_written=%llu\n", rounds, (unsigned long long)(bytes >> 20));
    bench_ok("bigslots", rounds);
    return 0;
}
