// variants: release debug
// free() of a mapped block when the process is at vm.max_map_count: the
// block's mapping was merged with its neighbours into one kernel mapping, so
// unmapping it splits that mapping, which needs one more -- the kernel
// refuses (ENOMEM). glibc's free carries on, keeps errno and leaves the
// mapping in place; umalloc must too (it used to abort "failed to unmap").
#include "../common.h"

static uintptr_t *a_seen, *b_seen;
/* The kernel mapping (VMA) holding address x, via /proc/self/maps. */
static int vma_of(uintptr_t x, uintptr_t *a_out, uintptr_t *b_out);

static int maps_lines_covering(uintptr_t lo, uintptr_t hi)
{
    char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0)
        return -1;
    int n = 0;
    size_t len = 0;
    ssize_t r;
    char line[512];
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line - 1)
                    line[len++] = buf[i];
                continue;
            }
            line[len] = 0;
            len = 0;
            unsigned long a, b;
            if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo) {
                n++;
                if (a_seen) {
                    *a_seen = a;
                    *b_seen = b;
                }
            }
        }
    close(fd);
    return n;
}

static int vma_of(uintptr_t x, uintptr_t *a_out, uintptr_t *b_out)
{
    a_seen = a_out;
    b_seen = b_out;
    int n = maps_lines_covering(x, x + 1);
    a_seen = b_seen = NULL;
    return n == 1 ? 0 : -1;
}

int main(void)
{
    size_t sz = (size_t)48 << 20;
    char *blk = malloc(sz);
    CHECK(blk != NULL);
    memset(blk, 7, 4096);
    /* the mapping ends in the page that holds the last usable byte (its
     * last word is umalloc's end canary) */
    uintptr_t end = (uintptr_t)blk + malloc_usable_size(blk);
    uintptr_t lo = (uintptr_t)blk & ~(uintptr_t)4095, hi = (end + 4095) & ~(uintptr_t)4095;
    CHECK(hi - end <= 64);
    /* neighbours with the same protection where there are none yet: the
     * kernel merges them with the block into one mapping */
    void *below = mmap((void *)(lo - 4096), 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *above = mmap((void *)hi, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    uintptr_t va, vb;
    if (vma_of(lo, &va, &vb) != 0 || va >= lo || vb <= hi)
        t_skip("the block is not inside a larger kernel mapping");

    /* use up the mapping count with small mappings that cannot merge */
    size_t cap = 1 << 20, n = 0;
    void **fill = mmap(NULL, cap * sizeof *fill, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(fill != MAP_FAILED);
    while (n < cap) {
        void *q = mmap(NULL, 4096, n & 1 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED)
            break;
        fill[n++] = q;
    }
    CHECKF(n < cap, "no mapping limit reached after %zu mappings", n);

    errno = 4321;
    free(blk); /* munmap fails with ENOMEM: the mapping stays */
    int e = errno;
    int still = maps_lines_covering(lo, hi);

    for (size_t i = 0; i < n; i++)
        munmap(fill[i], 4096);
    munmap(fill, cap * sizeof *fill);
    EXPECTF(e == 4321, "free changed errno to %d", e);
    EXPECTF(still == 1, "the block's mapping is gone (%d maps lines); the kernel allowed the split?", still);
    /* the allocator still works */
    void *p = malloc(100), *q = malloc(sz);
    EXPECT(p != NULL && q != NULL);
    free(p);
    free(q);
    if (below != MAP_FAILED)
        munmap(below, 4096);
    if (above != MAP_FAILED)
        munmap(above, 4096);
    return t_done();
}
