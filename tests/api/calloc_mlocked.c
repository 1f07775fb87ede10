// calloc of a kept mapping in a process whose pages are locked
// (mlockall(MCL_CURRENT | MCL_FUTURE), as real-time programs do): calloc
// gives the kernel back the pages of a recycled mapping past the request
// (src/malloc.c, calloc_clear_recycled), and madvise(MADV_DONTNEED) fails
// with EINVAL on locked pages, which then keep the last owner's bytes. They
// are cleared instead: every usable byte reads zero. (With the failure
// ignored, 24 MiB of the usable size read 0x55.)
#include <sys/mman.h>

#include "../common.h"

#define MiB ((size_t)1 << 20)

int main(void)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        printf("mlockall: %s (no CAP_IPC_LOCK or RLIMIT_MEMLOCK too low): skipped\n", strerror(errno));
        return 77;
    }
    size_t n = 40 * MiB;
    /* the first free of the size unmaps; the second keeps the mapping */
    char *a = malloc(n);
    if (!a) { /* mlockall succeeds under a small RLIMIT_MEMLOCK; the mapping then does not */
        printf("malloc(%zu) with every page locked: %s: skipped\n", n, strerror(errno));
        munlockall();
        return 77;
    }
    free(a);
    char *b = malloc(n);
    CHECK(b != NULL);
    char *volatile dirty = b; /* (gcc drops a memset just before free) */
    memset(dirty, 0x55, malloc_usable_size(b));
    uintptr_t addr = (uintptr_t)b;
    free(dirty);
    char *z = calloc(1, 16 * MiB);
    CHECK(z != NULL);
    size_t u = malloc_usable_size(z);
    printf("calloc(16 MiB) at %s mapping, usable %zu KiB\n", (uintptr_t)z == addr ? "the kept" : "a new",
           u >> 10);
    size_t bad = t_first_not(z, u, 0);
    EXPECTF(bad == (size_t)-1, "byte %zu of %zu usable reads %#x", bad, u,
            bad == (size_t)-1 ? 0 : (unsigned char)z[bad]);
    free(z);
    munlockall();
    return t_done();
}
