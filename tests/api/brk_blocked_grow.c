// variants: release debug
// With brk blocked, the main arena's mapped segment grows in place (its
// reservation is made read/write as top needs it, as brk would move), so a
// 40 MB heap is one mapped segment, not one per growth: frees there find it
// as free()'s fast-path range once it outgrows the brk heap (owner.c's box),
// or as the segment looked up last (um_owner_seg_hint), instead of
// searching the segment table. Before, each growth mapped a new
// segment of an eighth of the heap: this heap had 22 of them (and
// bench/heap_random ran 2.0x as long with brk blocked). Counted on the heap
// map: one "arena 0 mmap" line per segment.
#include "../common.h"

#ifdef UMALLOC_PREFIXED
void umalloc_heap_map(int fd);
#else
void umalloc_heap_map(int fd) __attribute__((weak));
#endif

enum { N = 2000, SIZE = 20000 };

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

int main(void)
{
    void (*map)(int) = umalloc_heap_map;
    if (!map)
        t_skip("umalloc_heap_map not exported");
    void *keep = malloc(100); /* the brk segment exists */
    CHECK(keep != NULL);
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                     -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    static char *p[N];
    for (int i = 0; i < N; i++) {
        CHECKF((p[i] = malloc(SIZE)) != NULL, "block %d", i);
        memset(p[i], i & 0xff, SIZE);
    }
    char path[] = "/tmp/umalloc-brkgrow-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    map(fd);
    static char buf[1 << 18];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    CHECK(n > 0);
    buf[n] = 0;
    close(fd);
    size_t segs = count(buf, "arena 0 mmap");
    printf("%d blocks of %d bytes with brk blocked: %zu mapped segment(s)\n", N, SIZE, segs);
    EXPECTF(segs == 1, "%zu mapped segments for a %d MB heap", segs, N * SIZE >> 20);
    for (int i = 0; i < N; i++) {
        CHECKF((unsigned char)p[i][SIZE - 1] == (i & 0xff), "block %d", i);
        free(p[i]);
    }
    EXPECT(sbrk(0) <= blk);
    free(keep);
    munmap(blk, 1 << 20);
    return t_done();
}
