/*
 * os.c — the os layer: the only file that calls brk/sbrk, mmap, munmap,
 * mremap, mprotect and madvise. ENOMEM-style failures return NULL/-1 so
 * callers can fall back. munmap of our own range can fail only for lack of
 * kernel memory (a partial unmap at vm.max_map_count needs a new mapping):
 * the mapping then stays, as glibc lets it, and errno is kept.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>

#include "internal.h"

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* Move the break by incr; NULL if the kernel refuses (e.g. a mapping sits
 * just above the heap), so the caller falls back to mmap. */
void *um_os_sbrk(intptr_t incr)
{
    int saved = errno;
    void *p = sbrk(incr);
    if (p == (void *)-1) {
        errno = saved;
        return NULL;
    }
    return p;
}

void *um_os_brk_end(void) { return sbrk(0); }

void *um_os_map(size_t len)
{
    int saved = errno;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    return p == MAP_FAILED ? NULL : p;
}

/* Reserve len bytes aligned to align (a power of two >= page) with no access;
 * the caller commits what it uses. Maps 2*len and trims the ends. */
void *um_os_reserve_aligned(size_t len, size_t align)
{
    int saved = errno;
    size_t span = len + align;
    char *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = saved;
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + len < p + span)
        munmap(a + len, (size_t)(p + span - (a + len)));
    return a;
}

int um_os_commit(void *p, size_t len)
{
    int saved = errno;
    int r = mprotect(p, len, PROT_READ | PROT_WRITE);
    errno = saved;
    return r;
}

int um_os_unmap(void *p, size_t len)
{
    int saved = errno;
    int r = munmap(p, len);
    errno = saved;
    return r == 0 ? 0 : -1;
}

void *um_os_remap(void *p, size_t old, size_t len)
{
    int saved = errno;
    void *q = mremap(p, old, len, MREMAP_MAYMOVE);
    errno = saved;
    return q == MAP_FAILED ? NULL : q;
}

/* Move the pages of [p, p + len) to dst (page-aligned, mapped read/write),
 * replacing what is mapped there: the pages keep their frames, so nothing
 * faults again. 0 ok. -1 if the kernel refused: dst holds fresh pages again
 * (it may have unmapped dst before giving up, as kernels before 6.11 do
 * whenever the source spans more than one mapping, say after an mprotect
 * of part of it). -2 if even that failed: dst is unmapped. errno kept. */
int um_os_move(void *p, size_t len, void *dst)
{
    int saved = errno, r = 0;
    if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
        r = mmap(dst, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) == dst ? -1 : -2;
    } else {
        /* the pages bring their mappings' attributes along: undo what a
         * program may have set on its block and left at free (a read-only
         * page, MADV_DONTFORK as RDMA libraries set, MADV_WIPEONFORK,
         * MADV_DONTDUMP, mlock), which glibc's munmap would have dropped */
        mprotect(dst, len, PROT_READ | PROT_WRITE);
        madvise(dst, len, MADV_DOFORK);
#ifdef MADV_KEEPONFORK
        madvise(dst, len, MADV_KEEPONFORK);
#endif
#ifdef MADV_DODUMP
        madvise(dst, len, MADV_DODUMP);
#endif
        munlock(dst, len);
    }
    errno = saved;
    return r;
}

/* Hand the pages back; the range stays mapped and reads as zero later. */
void um_os_decommit(void *p, size_t len)
{
    int saved = errno;
    madvise(p, len, MADV_DONTNEED);
    errno = saved;
}

/* Read up to cap bytes of a small file (/proc, /sys) without stdio. */
long um_os_read_file(const char *path, char *buf, size_t cap)
{
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long total = -1;
    if (fd >= 0) {
        total = 0;
        while ((size_t)total < cap) {
            ssize_t n = read(fd, buf + total, cap - (size_t)total);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            total += n;
        }
        close(fd);
    }
    errno = saved;
    return total;
}

/* Hand the pages back and make the range inaccessible (heap shrink). */
void um_os_shrink(void *p, size_t len)
{
    int saved = errno;
    void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (q == MAP_FAILED)
        madvise(p, len, MADV_DONTNEED);
    errno = saved;
}

/* CPUs this process may run on, without sysconf (which may read files). */
size_t um_os_ncpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (size_t)n;
    }
    return 1;
}

/* Random bits for keys and magics; never fails (falls back to addresses). */
uintptr_t um_os_random(void)
{
    uintptr_t r = 0;
    int saved = errno;
    long n = syscall(SYS_getrandom, &r, sizeof r, 1 /* GRND_NONBLOCK */);
    errno = saved;
    if (n != (long)sizeof r || r == 0) {
        uintptr_t x = (uintptr_t)&r ^ ((uintptr_t)&um_os_random << 17);
        x ^= x >> 31;
        x *= 0x9e3779b97f4a7c15ull;
        r = x ^ (x >> 29) ^ (uintptr_t)getpid();
    }
    return r | 1;
}

/* Resident bytes of the process, from the second field of /proc/self/statm
 * (read without stdio or malloc); 0 if it cannot be read. */
size_t um_os_rss(void)
{
    char buf[128];
    long n = um_os_read_file("/proc/self/statm", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *s = buf;
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    size_t pages = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        pages = pages * 10 + (size_t)(*s - '0');
    return pages * um_pagesize;
}
