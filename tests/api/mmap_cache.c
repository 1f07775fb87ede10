// The mapping cache (src/large.c): blocks too big for the dynamic mmap
// threshold (> 32 MiB) that are mapped and freed again and again keep their
// mapping for reuse (smaller ones never: the threshold moves above them),
// but
//  - the first free of a size unmaps at once (the seeds' story);
//  - a second free of a similar size keeps the mapping, the next request it
//    fits takes it (same address, no new page faults), and calloc of it is
//    zero-filled;
//  - a block handed a larger kept mapping grows by realloc in place;
//  - a request no kept mapping fits releases the smaller ones;
//  - malloc_trim(0) gives every kept mapping back;
//  - a kept mapping goes back by itself after the decay time;
//  - with the mmap threshold pinned (mallopt) nothing is kept;
//  - a free of a mapped block past 32 MiB raises the trim threshold to twice
//    its size (the mmap threshold stays): heap blocks freed after it stay
//    in the heap until malloc_trim or the decay purge;
//  - once the mmap threshold has risen, heap blocks freed at the top stay
//    too, whatever their total (tests/api/trim_decay.c has the decay side).
#include "../common.h"
#include "../../include/umalloc.h"

#define MiB ((size_t)1 << 20)

static char *big(size_t n)
{
    char *p = malloc(n);
    CHECKF(p != NULL, "malloc(%zu)", n);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)(i >> 12);
    return p;
}

static int mapped(uintptr_t a) { return t_map_of((void *)a) != NULL; }

/* Heap blocks of 1 MiB (under the threshold a freed 2 MiB block set), all
 * freed: how far the break is above where it started. */
static long heap_round(void)
{
    char *p[24];
    uintptr_t b0 = (uintptr_t)sbrk(0);
    for (int i = 0; i < 24; i++) {
        p[i] = malloc(MiB);
        CHECK(p[i] != NULL);
        memset(p[i], i, MiB);
    }
    for (int i = 0; i < 24; i++)
        free(p[i]);
    return (long)((uintptr_t)sbrk(0) - b0);
}

int main(void)
{
    const size_t n = 40 * MiB;
    /* 0: a freed 2 MiB block: mmap threshold 2 MiB, trim threshold 4 MiB.
     * 24 MiB of heap blocks freed at the top: the free leaves twice the
     * threshold in top (the end of a burst, src/trim.c, free_keeps); the
     * next round grows the heap back within the decay time, and from then
     * on the freed blocks stay (the trim waits for the decay purge), so a
     * third round faults nothing in; malloc_trim gives them back */
    free(big(2 * MiB));
    long grown = heap_round();
    EXPECTF(grown >= (long)(3 * MiB) && grown < (long)(8 * MiB),
            "24 MiB freed after the threshold rose: the break %+ld above, not twice the threshold", grown);
    grown = heap_round();
    EXPECTF(grown >= (long)(16 * MiB), "a second round: trimmed at once (break %+ld)", grown);
    long r0 = t_minflt();
    long again = heap_round();
    long r1 = t_minflt();
    EXPECTF(again == 0, "a second round of the same blocks moved the break (%+ld)", again);
    EXPECTF(r1 - r0 < 256, "%ld page faults in a second round of 24 MiB (the pages were given back)", r1 - r0);
    uintptr_t b0 = (uintptr_t)sbrk(0);
    malloc_trim(0);
    EXPECTF((uintptr_t)sbrk(0) + 16 * MiB <= b0, "malloc_trim(0) did not lower the break");

    /* 0b: a mapping under 32 MiB is never kept, however often its size
     * comes back: its free raises the mmap threshold to its size, so no
     * later request it could serve is mapped (it sat resident until the
     * decay: python's 8 MiB strings). Top is emptied first: a top that
     * holds half of the request serves it (src/large.c, um_big_from_heap) */
    for (size_t i = 3; i < 6; i++) {
        malloc_trim(0);
        char *m = big(i * MiB);
        EXPECTF(t_mallinfo2().hblks == 1, "%zu MiB after malloc_trim: not mapped", i);
        volatile uintptr_t at = (uintptr_t)m;
        free(m);
        EXPECTF(!mapped(at), "free(%zu MiB) kept its mapping (under 32 MiB)", i);
    }

    /* 1: one free of a size unmaps */
    char *a = big(n);
    volatile uintptr_t addr = (uintptr_t)a;
    free(a);
    EXPECTF(!mapped(addr), "the first free(40 MiB) left its mapping at %#lx", (unsigned long)addr);
    /* ... and raised the trim threshold to 80 MiB */
    grown = heap_round();
    EXPECTF(grown >= (long)(16 * MiB), "after free(40 MiB) the heap was trimmed (break %+ld)", grown);
    uintptr_t before = (uintptr_t)sbrk(0);
    malloc_trim(0);
    EXPECTF((uintptr_t)sbrk(0) + 16 * MiB <= before, "malloc_trim(0) did not lower the break");

    /* 2: the second free of that size keeps it; the next request takes it */
    a = big(n);
    addr = (uintptr_t)a;
    free(a);
    EXPECTF(mapped(addr), "the second free(40 MiB) unmapped (nothing kept)");
    EXPECT(t_mallinfo2().hblks == 0); /* a kept mapping is no block of the program's */
    long f0 = t_minflt();
    char *b = malloc(n - 4096);
    long f1 = t_minflt();
    EXPECTF((uintptr_t)b == addr, "malloc(40 MiB - 4 KiB) = %p did not reuse the kept %#lx", (void *)b,
            (unsigned long)addr);
    EXPECTF(f1 - f0 < 16, "%ld page faults taking a kept mapping", f1 - f0);
    EXPECT(malloc_usable_size(b) >= n - 4096);
    memset(b, 0x33, n - 4096);
    free(b); /* kept again */
    EXPECT(mapped(addr));
    char *c = calloc(1, n);
    CHECK(c != NULL);
    EXPECTF((uintptr_t)c == addr, "calloc did not reuse the kept mapping");
    EXPECTF(t_all_bytes(c, malloc_usable_size(c), 0), "calloc of a reused mapping is not zero-filled");

    /* calloc of a smaller size handed the kept mapping, dirty all through:
     * every usable byte reads zero, and the pages past the request are
     * given back rather than cleared (they were faulted in, 24 MiB more
     * resident, when calloc cleared all it reports usable) */
    char *volatile dirty = c; /* (gcc drops a memset just before free) */
    memset(dirty, 0x55, malloc_usable_size(c));
    free(dirty);
    size_t rs0 = t_rss();
    char *z = calloc(1, 16 * MiB);
    size_t rs1 = t_rss();
    CHECK(z != NULL);
    EXPECTF((uintptr_t)z == addr, "calloc(16 MiB) did not take the kept 40 MiB mapping");
    printf("calloc(16 MiB) in a dirty kept 40 MiB mapping: usable %zu KiB, RSS %zu -> %zu KiB\n",
           malloc_usable_size(z) >> 10, rs0 >> 10, rs1 >> 10);
    EXPECTF(rs1 + 16 * MiB < rs0, "RSS %zu KiB after, %zu KiB before: the pages past the request stayed",
            rs1 >> 10, rs0 >> 10);
    EXPECTF(t_all_bytes(z, malloc_usable_size(z), 0), "calloc(16 MiB) of a dirty kept mapping is not zeroed");
    free(z);

    /* 3: a kept mapping handed to a smaller request serves its growth */
    char *v = malloc(16 * MiB);
    CHECK(v != NULL);
    EXPECTF((uintptr_t)v == addr, "malloc(16 MiB) did not take the kept 40 MiB mapping");
    memset(v, 0x44, 16 * MiB);
    char *w = realloc(v, 24 * MiB);
    CHECK(w != NULL);
    EXPECTF(w == v, "realloc(16 -> 24 MiB) inside a reused 40 MiB mapping moved the block");
    w = realloc(w, 36 * MiB);
    CHECK(w != NULL);
    EXPECTF(w == v, "realloc(24 -> 36 MiB) inside a reused 40 MiB mapping moved the block");
    EXPECT(t_all_bytes(w, 16 * MiB, 0x44));
    char *x = realloc(w, 60 * MiB); /* past it: mremap */
    CHECK(x != NULL);
    EXPECT(t_all_bytes(x, 16 * MiB, 0x44));
    free(x);

    /* 4: a request that finds no kept mapping big enough releases the
     * smaller ones; malloc_trim gives kept mappings back */
    a = big(n);
    addr = (uintptr_t)a;
    free(a);
    EXPECTF(mapped(addr), "free(40 MiB) after several did not keep the mapping");
    char *y = malloc(60 * MiB);
    CHECK(y != NULL);
    /* (the kernel may place the new mapping where the released one was) */
    EXPECTF(!mapped(addr) || (addr + n > (uintptr_t)y && addr < (uintptr_t)y + 60 * MiB),
            "malloc(60 MiB) missed the cache but the kept 40 MiB mapping stayed");
    addr = (uintptr_t)y;
    free(y);
    EXPECTF(mapped(addr), "free(60 MiB) after a 40 MiB one did not keep the mapping");
    malloc_trim(0);
    EXPECTF(!mapped(addr), "malloc_trim(0) left a kept mapping at %#lx", (unsigned long)addr);

    /* 5: the decay time gives it back by itself */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 100) == 1);
    a = big(n);
    free(big(n));
    addr = (uintptr_t)a;
    free(a);
    EXPECTF(mapped(addr), "free(40 MiB) with a 100 ms decay did not keep the mapping");
    usleep(300 * 1000);
    free(big(6 * MiB)); /* any mapped-chunk call looks at the clock */
    EXPECTF(!mapped(addr), "a kept mapping outlived the decay time");

    /* 6: the user pinned the threshold: every free unmaps */
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    for (int i = 0; i < 3; i++) {
        a = big(n);
        addr = (uintptr_t)a;
        free(a);
        EXPECTF(!mapped(addr), "free %d of 40 MiB kept its mapping with M_MMAP_THRESHOLD pinned", i);
    }
    return t_done();
}
