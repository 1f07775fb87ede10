// variants: release debug
// A request the kernel refuses (more than RAM and swap, with the kernel's
// default, heuristic overcommit): NULL with ENOMEM, as glibc's, and no
// address space left behind. The direct mapping is refused, and the heap's
// fallback used to take a segment whose pages escaped the commit limit
// (MAP_NORESERVE): malloc(64 GiB) on a 24 GiB machine with no swap
// returned a block (the kernel would kill the program as it wrote it), as
// did memalign(2^36, 100), and the 64 GiB stayed mapped after free and
// malloc_trim (a reviewer's reproducer). Skipped where the kernel accepts
// any size (overcommit mode 1) or the machine is too large to ask past it.
#include "../common.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* The address space's size in KiB (statm's first field). */
static long vm_kib(void)
{
    static char buf[256];
    if (!t_read_file("/proc/self/statm", buf, sizeof buf))
        return -1;
    return atol(buf) * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(void)
{
    char mode = '?';
    int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY);
    if (fd >= 0) {
        (void)!read(fd, &mode, 1);
        close(fd);
    }
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    size_t mem = ((size_t)si.totalram + (size_t)si.totalswap) * si.mem_unit;
    if (mode == '1')
        t_skip("the kernel accepts any size here (overcommit mode 1)");
    if (mem > ((size_t)1 << 44))
        t_skip("more than 16 TiB of memory and swap");
    size_t big = 2 * mem, align = (size_t)1 << (64 - __builtin_clzll(mem)); /* a power of two past mem */
    long vm0 = vm_kib();
    errno = 0;
    void *p = malloc(t_opaque_size(big));
    int e = errno;
    printf("malloc(%zu GiB) = %p, errno %d\n", big >> 30, p, e);
    EXPECTF(p == NULL && e == ENOMEM, "malloc(%zu GiB) = %p, errno %d: want NULL, ENOMEM", big >> 30, p, e);
    free(p);
    errno = 0;
    void *q = memalign(align, 100);
    e = errno;
    printf("memalign(2^%d, 100) = %p, errno %d\n", __builtin_ctzll(align), q, e);
    EXPECTF(q == NULL && e == ENOMEM, "memalign(%#zx, 100) = %p, errno %d: want NULL, ENOMEM", align, q, e);
    free(q);
    malloc_trim(0);
    long grew = vm_kib() - vm0;
    printf("address space after: %+ld KiB\n", grew);
    EXPECTF(grew < 64 * 1024, "the address space grew by %ld KiB", grew);
    /* and the allocator still works */
    char *r = malloc(100);
    CHECK(r != NULL);
    memset(r, 1, 100);
    free(r);
    return t_done();
}
