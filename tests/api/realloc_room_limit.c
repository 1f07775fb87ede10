// variants: release debug
// Under an address-space limit, the rooms of other grown mapped blocks
// (src/large.c, um_mremap_chunk) must not make a realloc fail that the
// process could serve without them: a block that cannot grow for lack of
// address space gets them back, as a new mapping does
// (um_mmap_rooms_release), and grows. Here a 16 MiB block grows to 24 MiB
// with 2 MiB of address space left and 8 MiB of another block's room: the
// growth fits only once the room goes, and a new 24 MiB copy never fits.
#include "../common.h"

#include <malloc.h>
#include <sys/resource.h>

enum { KIB = 1024, MIB = 1024 * 1024 };

static unsigned long vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    CHECK(f != NULL);
    CHECK(fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's room after grown mapped blocks");
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * KIB) == 1); /* fixed: the dynamic one stays out */
    /* a block that had to move to grow: 8 MiB of room after it */
    char *a = malloc(256 * KIB);
    CHECK(a != NULL);
    a[0] = 1;
    a = realloc(a, 8 * MIB);
    CHECK(a != NULL && a[0] == 1);
    /* a block of its own mapping, no room */
    char *b = malloc(16 * MIB);
    CHECK(b != NULL);
    memset(b, 7, 16 * MIB);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    lim = old;
    lim.rlim_cur = vm_bytes() + 2 * MIB;
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
        t_skip("RLIMIT_AS already low");
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    char *q = realloc(b, 24 * MIB);
    int e = errno;
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    EXPECTF(q != NULL, "realloc(16 -> 24 MiB) failed under the limit (errno %d): the other block's room was kept", e);
    if (q) {
        EXPECT(q[0] == 7 && q[16 * MIB - 1] == 7);
        b = q;
    }
    free(b);
    free(a);
    return t_done();
}
