// The decay purge's contract, block by block (run under the DEBUG build too,
// where every call is followed by the full heap check, purge tags included):
// a purged page reads as zero after reuse and stays part of its free chunk;
// umalloc_purge() does not purge a page twice; a freed neighbour coalesces
// with a purged chunk and only its own pages are purged next; decay 0 purges
// with the next arena calls, decay -1 and M_TRIM_THRESHOLD -1 never do; a
// freed block and a top grown by a free both wait for the decay time.
#include "../common.h"
#include "../purge_util.h"

enum { SZ = 300 * 1024 }; /* above the thread cache's classes: straight to the arena */

static size_t ps;

/* The pages the purge may take from a free block: after the chunk's header,
 * links and purge tag (64 bytes past mem), up to the block's end. */
static size_t resident_inner(char *m, size_t len)
{
    char *lo, *hi;
    p_inner_pages(m + 64, len - 64, &lo, &hi);
    return p_resident(lo, (size_t)(hi - lo));
}

static bool inner_zero(char *m, size_t len)
{
    char *lo, *hi;
    p_inner_pages(m + 64, len - 64, &lo, &hi);
    return t_all_bytes(lo, (size_t)(hi - lo), 0);
}

/* Arena traffic that misses the thread cache, for ms milliseconds. */
static void arena_calls(long ms)
{
    double end = p_now() + ms / 1000.0;
    while (p_now() < end) {
        char *b = malloc(200 * 1024);
        CHECK(b != NULL);
        b[0] = 1;
        free(b);
        p_sleep_ms(2);
    }
}

int main(void)
{
    p_need_umalloc();
    ps = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, -1) == 1);
    EXPECT(mallopt(M_UMALLOC_PURGE_DECAY, -2) == 0);
    char *g0 = malloc(SZ), *a = malloc(SZ), *b = malloc(SZ), *c = malloc(SZ), *g1 = malloc(SZ); /* g1 pins top */
    CHECK(g0 && a && b && c && g1);
    memset(a, 0xab, SZ);
    memset(b, 0xbc, SZ);
    memset(c, 0xcd, SZ);
    EXPECTF(resident_inner(a, SZ) > 60, "a's pages not resident after memset: %zu", resident_inner(a, SZ));

    /* purge a free chunk: its pages go; a second purge finds nothing new */
    free(a);
    EXPECT(umalloc_purge() == 1);
    EXPECTF(resident_inner(a, SZ) == 0, "%zu pages of a freed, purged block still resident", resident_inner(a, SZ));
    EXPECTF(resident_inner(b, SZ) > 60, "purging a touched its live neighbour b");
    int again = umalloc_purge();
    EXPECTF(again == 0, "second umalloc_purge() with nothing freed returned %d (purged twice?)", again);

    /* reuse: the same chunk comes back; its purged pages read as zero */
    char *a2 = malloc(SZ);
    CHECK(a2 != NULL);
    EXPECTF(a2 == a, "reuse of the freed %d KiB block went elsewhere (%p, not %p)", SZ / 1024, (void *)a2, (void *)a);
    if (a2 == a)
        EXPECT(inner_zero(a2, SZ));
    memset(a2, 0x11, SZ);
    t_escape(a2);
    free(a2);
    EXPECT(umalloc_purge() == 1);
    char *a3 = calloc(1, SZ);
    CHECK(a3 != NULL);
    EXPECT(t_all_bytes(a3, SZ, 0));
    memset(a3, 0x22, SZ);
    t_escape(a3);
    free(a3);
    EXPECT(umalloc_purge() == 1);

    /* coalescing across purged pages: a (purged) + b (just freed) */
    EXPECT(t_all_bytes(b, SZ, 0xbc));
    free(b);
    EXPECTF(resident_inner(b, SZ) > 60, "b purged before anything asked for it (decay -1)");
    EXPECT(umalloc_purge() == 1);
    EXPECTF(resident_inner(a, 2 * SZ) == 0, "%zu pages of the merged a+b still resident", resident_inner(a, 2 * SZ));
    char *ab = malloc(2 * SZ);
    CHECK(ab != NULL);
    EXPECTF(ab == a, "the merged a+b was not reused for a request of its size");
    memset(ab, 0x33, 2 * SZ);
    t_escape(ab);
    EXPECT(t_all_bytes(c, SZ, 0xcd));
    free(ab);

    /* decay -1: nothing goes back by itself */
    free(c);
    arena_calls(t_is_debug() ? 150 : 300);
    EXPECTF(resident_inner(c, SZ) > 60, "decay -1, yet c was purged (%zu pages left)", resident_inner(c, SZ));
    /* decay 0: the next arena calls purge it */
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 0) == 1);
    arena_calls(100);
    EXPECTF(resident_inner(c, SZ) == 0, "decay 0: %zu pages of c still resident after 100 ms of arena calls",
            resident_inner(c, SZ));
    /* M_TRIM_THRESHOLD -1: no trimming and no purge, even with decay 0 */
    char *c2 = malloc(SZ);
    CHECK(c2 != NULL);
    c = c2; /* wherever it came from in the merged a+b+c */
    memset(c2, 0x44, SZ);
    t_escape(c2);
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    free(c2);
    arena_calls(t_is_debug() ? 150 : 300);
    EXPECTF(resident_inner(c, SZ) > 60, "M_TRIM_THRESHOLD -1, yet c was purged");
    /* back on, decay 50 ms: a block freed now, between two live ones, goes
     * back after about 50 ms (arena_calls' 200 KiB blocks come from elsewhere) */
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 50) == 1);
    c = malloc(SZ / 2);
    char *guard = malloc(SZ / 2);
    CHECK(c != NULL && guard != NULL);
    memset(c, 0x55, SZ / 2);
    t_escape(c); /* the stores must happen: gcc may drop a memset before free */
    EXPECT(resident_inner(c, SZ / 2) > 30);
    free(c);
    double t0 = p_now();
    while (resident_inner(c, SZ / 2) != 0 && p_now() - t0 < 2.0)
        arena_calls(5);
    double took = p_now() - t0;
    EXPECTF(resident_inner(c, SZ / 2) == 0 && took >= 0.04, "decay 50 ms: purged after %.3f s (%zu pages left)",
            took, resident_inner(c, SZ / 2));
    printf("decay 50 ms: a freed block's pages went back after %.3f s of arena calls\n", took);

    /* top, decay 50 ms: a block at the top of the heap, freed with the trim
     * threshold out of reach, makes top grow; top is young for the decay
     * time too (the clock reads sample its growth, purge.c top_sample), then
     * the purge moves the break back. arena_calls' 200 KiB blocks come from
     * the free a+b+c chunk, not from top. */
    CHECK(mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1);
    enum { TSZ = 960 * 1024 }; /* more than the free a+b+c chunk holds: from top */
    char *tb = malloc(TSZ);
    CHECK(tb != NULL);
    memset(tb, 0x66, TSZ);
    t_escape(tb);
    /* sweeps see top (its end settled) and find it old before the free:
     * only the free itself can make it young again */
    arena_calls(80);
    uintptr_t brk_used = t_brk();
    EXPECTF(brk_used >= (uintptr_t)tb + TSZ, "the %d KiB block is not below the break", TSZ / 1024);
    free(tb);
    EXPECTF(t_brk() == brk_used, "the free trimmed top with M_TRIM_THRESHOLD at 256 MiB");
    t0 = p_now();
    while (t_brk() > brk_used - TSZ / 2 && p_now() - t0 < 2.0)
        arena_calls(5);
    took = p_now() - t0;
    EXPECTF(t_brk() <= brk_used - TSZ / 2 && took >= 0.04,
            "decay 50 ms: top's break moved back after %.3f s (%zu KiB above the block)",
            took, (size_t)(t_brk() - (uintptr_t)tb) / 1024);
    printf("decay 50 ms: the freed top went back after %.3f s of arena calls\n", took);
    free(guard);
    free(g0);
    free(g1);
    return t_done();
}
