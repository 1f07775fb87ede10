// variants: release debug
// A mapped block that realloc had to move to grow keeps inaccessible room
// after its new mapping, and the next growths take that room in place
// instead of moving the mapping again (src/large.c, ROOM_MAX): a block grown
// a page at a time from 256 KiB to 16 MiB beside another growing block moves
// about once per doubling (a plain mremap: nearly every page), and a block
// shrunk and grown back stays put. The room is only
// address space, and it goes with the block: after free() the address range
// after the block is free again. Under an address-space limit too small for
// the room, realloc still grows the block (a plain mremap), and when a
// request finds the address space short, the rooms are given back and it is
// tried again.
#include "../common.h"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

enum { KIB = 1024, MIB = 1024 * 1024 };

static void fill(unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i += 512)
        p[i] = (unsigned char)(i / 512 * 7 + 1);
}

static int intact(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 512)
        if (p[i] != (unsigned char)(i / 512 * 7 + 1))
            return 0;
    return 1;
}

/* Grow p (n bytes) a page at a time to to bytes; *moves counts new addresses. */
static unsigned char *grow(unsigned char *p, size_t *n, size_t to, int *moves)
{
    while (*n < to) {
        size_t m = *n + 4096;
        unsigned char *q = realloc(p, m);
        CHECKF(q != NULL, "realloc to %zu", m);
        if (q != p)
            (*moves)++;
        fill(q, *n, m);
        p = q;
        *n = m;
    }
    return p;
}

/* Is [a, a + len) free address space (nothing mapped there)? */
static int unmapped(uintptr_t a, size_t len)
{
    void *m = mmap((void *)a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    munmap(m, len);
    return m == (void *)a;
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's room after grown mapped blocks");
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * KIB) == 1); /* fixed: the dynamic one stays out */
    /* two string builders side by side, as bench/realloc has them: one
     * grown to the exact length at every append, one doubling; the first
     * is grown a page at a time past the mmap threshold */
    size_t n = 0, cap = 0;
    unsigned char *p = NULL, *o = NULL;
    int moves = 0;
    while (n < 16 * MIB) {
        size_t m = n + 4096;
        unsigned char *q = realloc(p, m);
        CHECKF(q != NULL, "realloc to %zu", m);
        if (p && q != p && n >= 256 * KIB)
            moves++;
        fill(q, n, m);
        p = q;
        n = m;
        if (n > cap) {
            cap = cap ? 2 * cap : 8192;
            CHECK((o = realloc(o, cap)) != NULL);
        }
        o[n - 1] = 1;
    }
    printf("256 KiB -> 16 MiB a page at a time, beside a doubling block: %d moves\n", moves);
    CHECK(intact(p, n));
    /* about once per doubling (6); a plain mremap moved it at nearly every
     * page, from one side of the other block's mapping to the other */
    EXPECTF(moves <= 12, "%d moves for 6 doublings", moves);
    free(o);

    /* shrunk by half and grown back: within the room, no move */
    unsigned char *q = realloc(p, 8 * MIB);
    CHECK(q != NULL);
    CHECK(intact(q, 8 * MIB));
    size_t m = 8 * MIB;
    int back = 0;
    q = grow(q, &m, 16 * MIB, &back);
    EXPECTF(back == 0, "grown back to 16 MiB after a shrink: %d moves", back);
    CHECK(intact(q, m));

    /* the room goes with the block */
    uintptr_t end = ((uintptr_t)q + m + 4095) & ~(uintptr_t)4095;
    EXPECTF(!unmapped(end, MIB), "no room reserved after a block that grew");
    free(q);
    EXPECTF(unmapped(end, 16 * MIB), "the room after a freed block is still mapped");

    /* an address-space limit with no space for the room: still grows */
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    unsigned long vm_pages = 0;
    CHECK(fscanf(f, "%lu", &vm_pages) == 1);
    fclose(f);
    lim = old;
    /* room for a 12 MiB block and its previous 8 MiB mapping, not for a
     * 24 MiB reservation besides: the last growths reserve nothing */
    lim.rlim_cur = vm_pages * 4096 + 32 * MIB;
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
        t_skip("RLIMIT_AS already low");
    n = 256 * KIB;
    p = malloc(n);
    CHECK(p != NULL);
    fill(p, 0, n);
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    int lmoves = 0;
    p = grow(p, &n, 12 * MIB, &lmoves);
    CHECK(intact(p, n));
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    printf("the same under a %lu MiB address-space limit: %d moves\n",
           (unsigned long)(lim.rlim_cur / MIB), lmoves);
    free(p);

    /* address space short: the rooms go back before a request fails */
    n = 256 * KIB;
    p = malloc(n);
    o = malloc(8192);
    CHECK(p != NULL && o != NULL);
    fill(p, 0, n);
    p = realloc(p, 16 * MIB); /* one move: 16 MiB of room */
    CHECK(p != NULL);
    CHECK(intact(p, n));
    fill(p, n, 16 * MIB);
    n = 16 * MIB;
    end = ((uintptr_t)p + n + 4095) & ~(uintptr_t)4095;
    CHECK(!unmapped(end, MIB));
    f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%lu", &vm_pages) == 1);
    fclose(f);
    lim = old;
    lim.rlim_cur = vm_pages * 4096 + 8 * MIB; /* 20 MiB more fits only without the room */
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    void *big = malloc(20 * MIB);
    int e = errno;
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    EXPECTF(big != NULL, "malloc(20 MiB) failed under the limit (errno %d): the room was not given back", e);
    EXPECTF(unmapped(end, MIB), "the room is still reserved after the address space ran short");
    CHECK(intact(p, n));
    free(big);
    free(p);
    free(o);
    return t_done();
}
