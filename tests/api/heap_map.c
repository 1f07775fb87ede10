// variants: release debug asan
// umalloc_heap_map draws every heap; exercise heap sizes at the edge of its
// cell rounding (2048 cells of 8 KiB + 4 KiB), and check what it writes.
#include "../common.h"

#ifdef UMALLOC_PREFIXED
void umalloc_heap_map(int fd); /* static build: a strong reference pulls it in */
#else
void umalloc_heap_map(int fd) __attribute__((weak)); /* the preloaded library */
#endif

int main(void)
{
    void (*map)(int) = umalloc_heap_map;
    if (!map)
        t_skip("umalloc_heap_map not exported");
    CHECK(mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    static void *p[64];
    for (int i = 0; i < 64; i++)
        CHECK((p[i] = malloc(((size_t)16 << 20) / 64 + (size_t)i * 1000)) != NULL);
    for (int i = 0; i < 64; i += 2)
        free(p[i]);
    char path[] = "/tmp/umalloc-heapmap-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    map(fd);
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    CHECK(n > 0);
    buf[n] = 0;
    EXPECT(strstr(buf, "umalloc heap map") != NULL);
    EXPECT(strstr(buf, "arena 0") != NULL);
    EXPECT(strchr(buf, '#') != NULL && strchr(buf, '.') != NULL);
    close(fd);
    for (int i = 1; i < 64; i += 2)
        free(p[i]);
    return t_done();
}
