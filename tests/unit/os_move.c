/* um_os_move (os.c), the mremap behind the freed mappings' pages going to
 * the heap (heap.c, um_heap_adopt):
 *  - the pages arrive with their contents and take no fault there; the
 *    source range is gone;
 *  - they arrive read/write and without the attributes the source had
 *    (a read-only page, MADV_DONTFORK: a child of fork reads them);
 *  - a move the kernel refuses (the source not mapped) returns -1 and
 *    leaves the destination mapped, read/write, with fresh zero pages. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

enum { PAGES = 64 };

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* 1 if [p, p + len) has no mapping (mincore fails with ENOMEM) */
static int unmapped(void *p, size_t len)
{
    unsigned char vec[PAGES];
    return mincore(p, len, vec) != 0 && errno == ENOMEM;
}

static char *map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), len = PAGES * page;
    char *src = map(len), *dst = map(len);
    U_CHECK(src && dst, "mmap");
    memset(dst, 0x11, len); /* dst's own pages, to be replaced */
    for (size_t i = 0; i < len; i++)
        src[i] = (char)(i * 7 + 3);
    U_CHECK(mprotect(src + 3 * page, page, PROT_READ) == 0, "mprotect");
    U_CHECK(madvise(src + 8 * page, 4 * page, MADV_DONTFORK) == 0, "madvise");

    long f0 = minflt();
    U_CHECK(um_os_move(src, len, dst) == 0, "the move failed");
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        bad += dst[i] != (char)(i * 7 + 3);
    long faults = minflt() - f0;
    U_CHECK(bad == 0, "%zu bytes differ after the move", bad);
    U_CHECK(faults < PAGES / 4, "%ld page faults reading %d moved pages", faults, PAGES);
    U_CHECK(unmapped(src, len), "the source is still mapped");
    for (size_t i = 0; i < len; i += page)
        dst[i] = 5; /* the read-only page came along: this would fault */
    pid_t kid = fork();
    U_CHECK(kid >= 0, "fork");
    if (kid == 0) {
        size_t wrong = 0;
        for (size_t i = 0; i < len; i += page)
            wrong += dst[i] != 5;
        _exit(wrong != 0);
    }
    int st = 0;
    U_CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the child of fork saw the moved pages wrong (status %#x)", st);

    /* refused: the source is the range just vacated */
    memset(dst, 0x22, len);
    int saved = errno = 1234;
    U_CHECK(um_os_move(src, len, dst) == -1, "a move from an unmapped source did not fail");
    U_CHECK(errno == saved, "errno changed to %d", errno);
    U_CHECK(!unmapped(dst, len), "the destination was left unmapped");
    size_t nz = 0;
    for (size_t i = 0; i < len; i++)
        nz += dst[i] != 0;
    U_CHECK(nz == 0, "%zu bytes of the destination not zero after a refused move", nz);
    dst[len - 1] = 9; /* read/write */
    munmap(dst, len);
    return U_DONE();
}
