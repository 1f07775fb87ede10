/*
 * os.c — the os layer: the only file that calls brk/sbrk, mmap, munmap,
 * mremap, mprotect and madvise. ENOMEM-style failures return NULL/-1 so
 * callers can fall back. munmap of our own range can fail only for lack of
 * kernel memory (a partial unmap at vm.max_map_count needs a new mapping):
 * the mapping then stays, as glibc lets it, and errno is kept.
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

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

/* Is the calling thread in the last stage of its exit? glibc blocks every
 * signal there, SIGCANCEL (32) included, after the key destructors and
 * before it frees what the thread leaves (its TLS vector, when the thread
 * is detached: __nptl_free_tcb). A program cannot block SIGCANCEL through
 * glibc (sigfillset, sigprocmask and pthread_sigmask leave it out); glibc
 * itself blocks it elsewhere only in threads of its own (timer_create's
 * helper), which then run uncached. errno is kept. */
int um_os_thread_exiting(void)
{
    uint64_t set = 0; /* the kernel's sigset_t: 64 signals on x86-64 and aarch64 */
    long r = um_sys(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, NULL, &set, sizeof set);
    return r == 0 && ((set >> (32 - 1)) & 1);
}

void *um_os_map(size_t len)
{
    int saved = errno;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    return p == MAP_FAILED ? NULL : p;
}

/* Reserve len bytes aligned to align (a power of two >= page) with no access;
 * the caller commits what it uses. Maps len + align and trims the ends.
 * MAP_NORESERVE, as glibc's heaps: the pages made writable later are not
 * charged to the kernel's commit limit (um_os_reserve_accounted: they are).
 * prot PROT_READ | PROT_WRITE: a mapping to use at once (um_os_map_aligned). */
static void *reserve_prot(size_t len, size_t align, int flags, int prot)
{
    int saved = errno;
    size_t span = len + align;
    char *p = mmap(NULL, span, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
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

static void *reserve(size_t len, size_t align, int flags) { return reserve_prot(len, align, flags, PROT_NONE); }
void *um_os_reserve_aligned(size_t len, size_t align) { return reserve(len, align, MAP_NORESERVE); }
void *um_os_reserve_accounted(size_t len, size_t align) { return reserve(len, align, 0); }
void *um_os_map_aligned(size_t len, size_t align)
{
    return reserve_prot(len, align, 0, PROT_READ | PROT_WRITE);
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

/* Grow mapping [p, p + old) to len where it is (the address space after it
 * free). 0 ok, -1 if the kernel refused. errno kept. */
int um_os_grow_inplace(void *p, size_t old, size_t len)
{
    int saved = errno;
    void *q = mremap(p, old, len, 0);
    errno = saved;
    return q == p ? 0 : -1;
}

/* Move mapping [p, p + old) to dst, growing it to len (dst: a reservation
 * of at least len bytes, whose first len are replaced). 0 ok, -1 if the
 * kernel refused (p is as it was). errno kept. */
int um_os_move_grow(void *p, size_t old, size_t len, void *dst)
{
    int saved = errno;
    void *q = mremap(p, old, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    errno = saved;
    return q == dst ? 0 : -1;
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

static int advise(void *p, size_t len, int advice)
{
    int saved = errno;
    int r = madvise(p, len, advice);
    errno = saved;
    return r;
}

/* Hand the pages back; the range stays mapped and reads as zero later.
 * -1 when the kernel refused (EINVAL for locked pages: mlock, mlockall):
 * the pages then keep what they held. */
int um_os_decommit(void *p, size_t len) { return advise(p, len, MADV_DONTNEED); }

/* Read up to cap bytes of a small file (/proc, /sys) without stdio, by
 * system calls: the purge reads the memory limit and the RSS with an arena
 * lock held, and open() is a symbol a program or a preloaded library may
 * define; one that allocates (a tracer logging the path) waited for that
 * lock for ever. */
long um_os_read_file(const char *path, char *buf, size_t cap)
{
    long fd = um_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    long total = -1;
    if (fd >= 0) {
        total = 0;
        while ((size_t)total < cap) {
            long n = um_sys(SYS_read, fd, buf + total, cap - (size_t)total);
            if (n == -EINTR)
                continue;
            if (n <= 0)
                break;
            total += n;
        }
        um_sys(SYS_close, fd);
    }
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

/* The kernel's transparent huge page size when it gives them to ranges
 * that ask (madvise or always in /sys/kernel/mm/transparent_hugepage/
 * enabled), else 0: THP off ("never") or absent. Read once, at the init
 * (glibc.malloc.hugetlb=1). */
size_t um_os_thp_size(void)
{
    char buf[128];
    long n = um_os_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    int on = 0; /* the mode in brackets: "always [madvise] never" */
    for (long i = 0; i + 1 < n; i++)
        if (buf[i] == '[')
            on = buf[i + 1] == 'a' || buf[i + 1] == 'm';
    if (!on)
        return 0;
    size_t size = (size_t)2 << 20; /* x86-64's, when the file below is missing */
    n = um_os_read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", buf, sizeof buf - 1);
    if (n > 0) {
        size_t v = 0;
        for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
            v = v * 10 + (size_t)(buf[i] - '0');
        if (v <= um_pagesize || (v & (v - 1)) != 0 || v > ((size_t)8 << 20))
            return 0; /* (64 KiB pages' 512 MiB: far past a heap's 64) */
        size = v;
    }
    return size;
}

/* Ask for huge pages in [p, p + len) (p page-aligned). A hint: on failure
 * the range keeps small pages. */
void um_os_huge(void *p, size_t len) { advise(p, len, MADV_HUGEPAGE); }

/* CPUs this process may run on, without sysconf (which may read files)
 * and without libc's wrapper (um_sys): the kernel returns how many bytes of
 * the mask it wrote. */
size_t um_os_ncpus(void)
{
    uint64_t set[1024 / 64];
    long len = um_sys(SYS_sched_getaffinity, 0, sizeof set, set);
    size_t n = 0;
    /* one word at a time: clang vectorizes the loop with masks from the
     * read-only data, whose segment no allocation path may touch (every
     * process would keep its 7 pages: tests/programs/lib_resident) */
#ifdef __clang__
#pragma clang loop vectorize(disable) interleave(disable)
#endif
    for (long w = 0; w < len / (long)sizeof set[0]; w++)
        n += (size_t)__builtin_popcountll(set[w]);
    return n ? n : 1;
}

/* Random bits for keys and magics; never fails (falls back to addresses). */
uintptr_t um_os_random(void)
{
    uintptr_t r = 0;
    long n = um_sys(SYS_getrandom, &r, sizeof r, 1 /* GRND_NONBLOCK */);
    if (n != (long)sizeof r || r == 0) {
        uintptr_t x = (uintptr_t)&r ^ ((uintptr_t)&um_os_random << 17);
        x ^= x >> 31;
        x *= 0x9e3779b97f4a7c15ull;
        r = x ^ (x >> 29) ^ (uintptr_t)um_sys(SYS_getpid);
    }
    return r | 1;
}

/* Resident bytes of the process, from the second field of /proc/self/statm
 * (read without stdio or malloc); 0 if it cannot be read. */
size_t um_os_rss(void)
{
    /* the kernel reads the path: kept out of .rodata too (UM_HOT_CONST) */
    static const char statm[] UM_HOT_CONST = "/proc/self/statm";
    char buf[128];
    long n = um_os_read_file(statm, buf, sizeof buf - 1);
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

/* ---- clock ----
 * The decay, purge and trim rules read a coarse monotonic clock on slow
 * paths. They call the kernel's vDSO directly, found once at init in the
 * vDSO's own symbol table, rather than libc's clock_gettime, whose stretch
 * of libc text a program on glibc's malloc does not touch (the kernel maps
 * up to 16 pages around a fault). The fork handlers' registration at load
 * (pthread_atfork, malloc.c) lies in that same stretch, so today this saves
 * no resident page; registering lazily was tried and races with fork (see
 * the README). With no vDSO, or one without the symbol, the clock is a
 * system call. */
#if defined(__x86_64__)
#define VDSO_GETTIME "__vdso_clock_gettime"
#elif defined(__aarch64__)
#define VDSO_GETTIME "__kernel_clock_gettime"
#endif

/* (the name is kept out of .rodata, which a program that never prints or
 * fails otherwise never maps: see UM_HOT_CONST, types.h) */
#ifdef VDSO_GETTIME
static const char vdso_gettime_name[] UM_HOT_CONST = VDSO_GETTIME;
#endif

typedef int (*gettime_fn)(clockid_t, struct timespec *);
static _Atomic(gettime_fn) vdso_gettime;

#ifdef VDSO_GETTIME
static int name_is(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Address of the defined function `name` in the vDSO, or NULL. */
static void *vdso_lookup(const char *name)
{
    uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (!base)
        return NULL;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
    if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
        eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3)
        return NULL;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
    uintptr_t bias = 0, dyn_at = 0;
    int loaded = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !loaded) {
            bias = base + ph[i].p_offset - ph[i].p_vaddr;
            loaded = 1;
        } else if (ph[i].p_type == PT_DYNAMIC) {
            dyn_at = ph[i].p_vaddr;
        }
    }
    if (!loaded || !dyn_at)
        return NULL;
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    const Elf32_Word *hash = NULL, *gnu = NULL;
    for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(bias + dyn_at); d->d_tag != DT_NULL; d++) {
        uintptr_t at = bias + d->d_un.d_ptr;
        if (d->d_tag == DT_SYMTAB)
            sym = (const ElfW(Sym) *)at;
        else if (d->d_tag == DT_STRTAB)
            str = (const char *)at;
        else if (d->d_tag == DT_HASH)
            hash = (const Elf32_Word *)at;
        else if (d->d_tag == DT_GNU_HASH)
            gnu = (const Elf32_Word *)at;
    }
    if (!sym || !str || (!hash && !gnu))
        return NULL;
    /* the number of symbols: nchain of the SysV table, else one past the
     * last chain of the GNU table (its highest bucket start, then the chain
     * up to the entry with the low bit set) */
    size_t n;
    if (hash) {
        n = hash[1];
    } else {
        Elf32_Word nbuckets = gnu[0], symoff = gnu[1], bloom = gnu[2];
        const Elf32_Word *buckets = gnu + 4 + bloom * (sizeof(ElfW(Addr)) / 4);
        const Elf32_Word *chain = buckets + nbuckets;
        Elf32_Word last = 0;
        for (Elf32_Word b = 0; b < nbuckets; b++)
            if (buckets[b] > last)
                last = buckets[b];
        if (last < symoff)
            return NULL;
        while (!(chain[last - symoff] & 1))
            last++;
        n = (size_t)last + 1;
    }
    for (size_t i = 0; i < n; i++)
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_shndx != SHN_UNDEF &&
            name_is(str + sym[i].st_name, name))
            return (void *)(bias + sym[i].st_value);
    return NULL;
}
#endif

/* Called once, from um_init_slow: find the vDSO's clock. */
void um_os_clock_init(void)
{
#ifdef VDSO_GETTIME
    atomic_store_explicit(&vdso_gettime, (gettime_fn)vdso_lookup(vdso_gettime_name),
                          memory_order_relaxed);
#endif
}

/* Did um_os_clock_init find the vDSO's clock? (tests/unit/os_clock) */
int um_os_clock_in_vdso(void)
{
    return atomic_load_explicit(&vdso_gettime, memory_order_relaxed) != NULL;
}

/* clock_gettime(clk, ts): 0, or -1 (errno kept). */
int um_os_gettime(clockid_t clk, struct timespec *ts)
{
    gettime_fn f = atomic_load_explicit(&vdso_gettime, memory_order_relaxed);
    if (f)
        return f(clk, ts) == 0 ? 0 : -1;
    return um_sys(SYS_clock_gettime, clk, ts) == 0 ? 0 : -1;
}

/* Milliseconds of a coarse monotonic clock (resolution a few ms). */
uint64_t um_now_ms(void)
{
    struct timespec ts;
    if (um_os_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0 &&
        um_os_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
