/* GLIBC_TUNABLES=glibc.malloc.hugetlb=1: transparent huge pages (os.c,
 * heap.c, trim.c, purge.c). Every heap grows to a huge page's boundary and
 * asks for huge pages, so the pages a program writes fault in 2 MiB at a
 * time: the brk heap, a non-main arena's heap and a mapped block each take
 * a few faults where small pages take one a page. The trim and the purge
 * give back whole huge pages only, and the break and the heap's end stay on
 * a boundary. Skipped where the kernel has THP off. The test runs itself
 * again with the tunable set (it is read once, at the init).
 * cflags: -pthread
 */
// variants: release debug
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

#define MIB ((size_t)1 << 20)
#define BLOCK ((size_t)16 << 10) /* heap blocks: below the mmap threshold */
#define HEAP_BYTES (24 * MIB)
#define NBLK (HEAP_BYTES / BLOCK)

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* AnonHugePages of the whole process, in bytes (-1: unreadable). */
static long huge_bytes(void)
{
    char buf[4096];
    long n = um_os_read_file("/proc/self/smaps_rollup", buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *s = strstr(buf, "AnonHugePages:");
    return s ? atol(s + 14) * 1024 : -1;
}

/* n blocks of BLOCK bytes, every page written; the faults it took. */
static long fill(char **b, size_t n)
{
    long f0 = minflt();
    for (size_t i = 0; i < n; i++) {
        b[i] = malloc(BLOCK - 64);
        U_CHECK(b[i] != NULL, "malloc %zu", i);
        if (!b[i])
            exit(1);
        for (size_t o = 0; o < BLOCK - 64; o += 4096)
            b[i][o] = (char)i;
    }
    return minflt() - f0;
}

static void empty(char **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i]);
}

static char *main_blocks[NBLK], *arena_blocks[NBLK];
static size_t thp;
static long pages = (long)(HEAP_BYTES / 4096);

/* A thread on an arena of its own (four reported waits, as
 * um_arena_get reports them; tests/unit/arena_limit.c): its heap too. */
static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < 4; r++)
        um_arena_note_contention(um_arena_current());
    arena *av = um_arena_current();
    U_CHECK(av != &um_main_arena, "the worker did not move to an arena of its own");
    long f = fill(arena_blocks, NBLK);
    printf("non-main arena: %ld faults for %ld pages\n", f, pages);
    U_CHECK(f < pages / 8, "%ld faults for %ld pages: no huge pages in the arena's heap", f, pages);
    heap *h = um_heap_of(mem_to_chunk(arena_blocks[NBLK / 2]));
    U_CHECK(h->size % thp == 0, "heap size %zu, not whole huge pages", h->size);
    empty(arena_blocks, NBLK);
    malloc_trim(0);
    U_CHECK(h->size % thp == 0 && h->committed % thp == 0,
            "trimmed heap size %zu (committed %zu), not whole huge pages", h->size, h->committed);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    thp = um_os_thp_size();
    if (!thp) {
        printf("SKIP: no transparent huge pages in this kernel\n");
        return 77;
    }
    if (!getenv("GLIBC_TUNABLES")) {
        setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    unit_init_library();
    U_CHECK(um_params.thp == thp, "hugetlb=1 gave a grain of %zu, the kernel's size is %zu",
            um_params.thp, thp);
    U_CHECK(um_grain() == thp, "grain %zu", um_grain());

    /* the main arena's brk heap */
    long h0 = huge_bytes();
    long f = fill(main_blocks, NBLK);
    long h1 = huge_bytes();
    printf("brk heap: %ld faults for %ld pages, AnonHugePages %ld -> %ld KiB\n", f, pages, h0 >> 10,
           h1 >> 10);
    U_CHECK(f < pages / 8, "%ld faults for %ld pages: no huge pages in the brk heap", f, pages);
    U_CHECK(h1 - h0 >= (long)(HEAP_BYTES / 2), "AnonHugePages grew by %ld bytes only", h1 - h0);
    heap *mh = um_main_arena.last_heap;
    int brk = mh && mh->kind == HEAP_BRK;
    if (brk)
        U_CHECK((uintptr_t)sbrk(0) % thp == 0, "the break %p is not on a huge page's boundary",
                sbrk(0));

    /* a mapped block: huge pages where it holds them */
    size_t big = 16 * MIB;
    char *m = malloc(big);
    U_CHECK(m != NULL && mallinfo2().hblks >= 1, "16 MiB not mapped");
    long f2 = minflt();
    for (size_t o = 0; m && o < big; o += 4096)
        m[o] = 1;
    f2 = minflt() - f2;
    printf("mapped block: %ld faults for %zu pages\n", f2, big / 4096);
    U_CHECK(f2 < (long)(big / 4096 / 8), "%ld faults for a 16 MiB mapped block", f2);
    free(m);

    /* a non-main arena's heap */
    U_CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt");
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);

    /* the trim and purge give back whole huge pages: the break stays on a
     * boundary, and most of the 24 MiB goes */
    size_t rss0 = um_os_rss();
    empty(main_blocks, NBLK);
    malloc_trim(0);
    size_t rss1 = um_os_rss();
    printf("after free and malloc_trim: RSS %zu -> %zu KiB\n", rss0 >> 10, rss1 >> 10);
    U_CHECK(rss0 > rss1 + HEAP_BYTES / 2, "RSS %zu -> %zu: the heap's huge pages stayed", rss0, rss1);
    if (brk)
        U_CHECK((uintptr_t)sbrk(0) % thp == 0, "after the trim, the break %p is off a boundary",
                sbrk(0));
    /* and they come back as huge pages */
    f = fill(main_blocks, NBLK);
    printf("brk heap again: %ld faults for %ld pages\n", f, pages);
    U_CHECK(f < pages / 8, "%ld faults for %ld pages after the trim", f, pages);
    empty(main_blocks, NBLK);
    return U_DONE();
}
