/*
 * tests/common.h -- small helpers shared by the black-box tests
 * (tests/api, tests/seeds, tests/misuse).  Header-only, everything static
 * inline, no allocation of its own unless stated.
 *
 * A test includes it as   #include "../common.h"
 *
 * Exit protocol (tests/run.py): 0 = pass, 77 = skip, anything else = fail.
 */
#ifndef UMALLOC_TESTS_COMMON_H
#define UMALLOC_TESTS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <limits.h>
#include <errno.h>
#include <stdlib.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/resource.h>

/* free_sized / free_aligned_sized (C23) are not declared by glibc 2.36.
 * Declared weak so that the `glibc` validation variant still links; under
 * umalloc (LD_PRELOAD) the dynamic linker resolves them.  In the prefixed
 * variants tests/prefixed.h declares umalloc_free_sized & co. */
#ifndef UMALLOC_PREFIXED
void free_sized(void *ptr, size_t size) __attribute__((weak));
void free_aligned_sized(void *ptr, size_t alignment, size_t size) __attribute__((weak));
#define T_HAVE_FREE_SIZED() (free_sized != NULL && free_aligned_sized != NULL)
#else
#define T_HAVE_FREE_SIZED() 1
#endif

#define T_EXIT_SKIP 77
#define T_KIB ((size_t)1024)
#define T_MIB ((size_t)1024 * 1024)

/* ------------------------------------------------------------------ */
/* environment set by tests/run.py                                    */

static inline const char *t_variant(void)
{
    const char *v = getenv("UMALLOC_TEST_VARIANT");
    return v ? v : "";
}
/* The debug build checks the whole heap after every operation: scale down. */
static inline bool t_is_debug(void) { return getenv("UMALLOC_TEST_DEBUG") != NULL; }
/* Validation run against the system allocator (runner's hidden variant). */
static inline bool t_is_glibc(void) { return strcmp(t_variant(), "glibc") == 0; }
/* Sanitizer builds (asan, tsan) of the tests run several times slower. */
static inline bool t_is_sanitized(void)
{
#ifdef UMALLOC_PREFIXED
    return true;
#else
    return false;
#endif
}
/* Operation counts: `full` normally, `debug` in the debug variant, and a
 * quarter (at least `debug`) in the sanitizer variants. */
static inline long t_scale(long full, long debug)
{
    if (t_is_debug())
        return debug;
    if (t_is_sanitized())
        return full / 4 > debug ? full / 4 : debug;
    return full;
}

/* ------------------------------------------------------------------ */
/* failure reporting                                                  */

static int t_failures;
static const char *t_context = "";

static inline void t_vreport(const char *file, int line, const char *expr,
                             const char *fmt, va_list ap)
{
    t_failures++;
    if (t_failures > 40) {
        if (t_failures == 41)
            fprintf(stderr, "(further failures not shown)\n");
        return;
    }
    fprintf(stderr, "%s:%d: FAILED: %s", file, line, expr);
    if (t_context[0])
        fprintf(stderr, " [%s]", t_context);
    if (fmt && fmt[0]) {
        fputs(" -- ", stderr);
        vfprintf(stderr, fmt, ap);
    }
    fputc('\n', stderr);
}
static inline void t_report(const char *file, int line, const char *expr,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline void t_report(const char *file, int line, const char *expr,
                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t_vreport(file, line, expr, fmt, ap);
    va_end(ap);
}

/* EXPECT: record a failure and continue.  CHECK: record and exit(1) now. */
#define EXPECT(c) do { if (!(c)) t_report(__FILE__, __LINE__, #c, "%s", ""); } while (0)
#define EXPECTF(c, ...) do { if (!(c)) t_report(__FILE__, __LINE__, #c, __VA_ARGS__); } while (0)
#define CHECK(c) do { if (!(c)) { t_report(__FILE__, __LINE__, #c, "%s", ""); exit(1); } } while (0)
#define CHECKF(c, ...) do { if (!(c)) { t_report(__FILE__, __LINE__, #c, __VA_ARGS__); exit(1); } } while (0)

static inline int t_done(void)
{
    if (t_failures) {
        fprintf(stderr, "%d check(s) failed\n", t_failures);
        return 1;
    }
    return 0;
}

static inline void t_skip(const char *why)
{
    printf("skip: %s\n", why);
    exit(T_EXIT_SKIP);
}

/* ------------------------------------------------------------------ */
/* hiding values from the optimiser                                   */

static inline void *t_opaque(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}
static inline size_t t_opaque_size(size_t n)
{
    __asm__ volatile("" : "+r"(n));
    return n;
}
/* Keep a store/pointer "used" so it cannot be elided. */
static inline void t_escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* ------------------------------------------------------------------ */
/* random numbers: xorshift64*, seedable with UMALLOC_TEST_SEED       */

typedef struct { uint64_t s; } t_rng;

static inline uint64_t t_next(t_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static inline uint64_t t_below(t_rng *r, uint64_t n) { return n ? t_next(r) % n : 0; }
static inline uint64_t t_seed(uint64_t dflt)
{
    const char *s = getenv("UMALLOC_TEST_SEED");
    uint64_t v = s ? strtoull(s, NULL, 0) : dflt;
    return v ? v : 0x9E3779B97F4A7C15ull;
}

/* ------------------------------------------------------------------ */
/* content patterns: derived from a base address and a salt, so that   */
/* a block's bytes say which block they belong to                     */

static inline uint64_t t_pat_word(uintptr_t a, uint64_t salt)
{
    uint64_t x = ((uint64_t)a ^ salt) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 31);
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define T_NOACCESS(i) __attribute__((access(none, i)))
#else
#define T_NOACCESS(i)
#endif

/* Fill p[0..n) with the pattern of a block that lives (or lived) at base
 * (base is only used as a number). */
T_NOACCESS(3) static inline void t_fill(void *p, size_t n, const void *base, uint64_t salt)
{
    unsigned char *c = p;
    uintptr_t b = (uintptr_t)base;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = t_pat_word(b + i, salt);
        memcpy(c + i, &w, 8);
    }
    if (i < n) {
        uint64_t w = t_pat_word(b + i, salt);
        memcpy(c + i, &w, n - i);
    }
}

/* Returns the offset of the first byte that differs, or (size_t)-1. */
T_NOACCESS(3) static inline size_t t_check(const void *p, size_t n, const void *base, uint64_t salt)
{
    const unsigned char *c = p;
    uintptr_t b = (uintptr_t)base;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = t_pat_word(b + i, salt);
        if (memcmp(c + i, &w, 8) != 0)
            break;
    }
    for (; i < n; i++) {
        uint64_t w = t_pat_word(b + (i & ~(size_t)7), salt);
        if (c[i] != (unsigned char)(w >> (8 * (i & 7))))
            return i;
    }
    return (size_t)-1;
}

/* Offset of the first byte != v, or (size_t)-1. */
static inline size_t t_first_not(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    uint64_t w = 0x0101010101010101ull * v, x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, c + i, 8);
        if (x != w)
            break;
    }
    for (; i < n; i++)
        if (c[i] != v)
            return i;
    return (size_t)-1;
}
/* True if every byte of p[0..n) equals v. */
static inline bool t_all_bytes(const void *p, size_t n, unsigned char v)
{
    return t_first_not(p, n, v) == (size_t)-1;
}

static inline bool t_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* ------------------------------------------------------------------ */
/* statistics                                                         */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline struct mallinfo t_mallinfo(void) { return mallinfo(); }
#pragma GCC diagnostic pop
static inline struct mallinfo2 t_mallinfo2(void) { return mallinfo2(); }

/* The size="..." of malloc_info's <total type="TYPE" .../> line (umalloc's
 * tcache, central, ...; glibc has fast, rest and mmap). Aborts the test when
 * malloc_info fails or has no such line. Release and debug variants only:
 * in the prefixed build open_memstream's buffer is not umalloc's to free. */
static inline size_t t_info_total(const char *type)
{
    char *buf = NULL, key[64];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || malloc_info(0, f) != 0)
        abort();
    fclose(f);
    snprintf(key, sizeof key, "<total type=\"%s\"", type);
    const char *t = strstr(buf, key), *s = t ? strstr(t, "size=\"") : NULL;
    if (!s)
        abort();
    size_t bytes = strtoull(s + 6, NULL, 10);
    free(buf);
    return bytes;
}

/* Allocates k blocks of n bytes (touching them), frees them, and returns how
 * many became separate mappings (growth of mallinfo2().hblks).  Several
 * blocks are needed because, as in glibc, a request above the mmap threshold
 * is still carved from the top chunk when the top is big enough. */
static inline size_t t_count_mmapped(size_t n, int k)
{
    void *v[64];
    if (k > 64)
        k = 64;
    size_t before = mallinfo2().hblks, after;
    for (int i = 0; i < k; i++) {
        v[i] = malloc(n);
        if (!v[i]) {
            fprintf(stderr, "t_count_mmapped: malloc(%zu) failed\n", n);
            exit(1);
        }
        memset(v[i], 1, n);
    }
    after = mallinfo2().hblks;
    for (int i = 0; i < k; i++)
        free(v[i]);
    return after - before;
}

/* ------------------------------------------------------------------ */
/* /proc/self/maps without allocating (read(2) into a static buffer)   */

struct t_map {
    uintptr_t lo, hi;
    char perms[5];
    char name[96];
};

#define T_MAPS_MAX 4096
static struct t_map t_maps[T_MAPS_MAX];
static char t_maps_buf[1 << 20];

static inline size_t t_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    return n;
}

/* A size line of /proc/self/status ("VmSize", "VmData": kB there), in
 * bytes, or 0. */
static inline size_t t_status_bytes(const char *key)
{
    static char buf[4096];
    char k[32];
    if (!t_read_file("/proc/self/status", buf, sizeof buf))
        return 0;
    snprintf(k, sizeof k, "%s:", key);
    const char *s = strstr(buf, k);
    return s ? (size_t)strtoull(s + strlen(k), NULL, 10) << 10 : 0;
}

/* The process's thread count (/proc/self/status), or -1. */
static inline int t_threads_now(void)
{
    static char buf[4096];
    if (!t_read_file("/proc/self/status", buf, sizeof buf))
        return -1;
    const char *s = strstr(buf, "Threads:");
    return s ? atoi(s + 8) : -1;
}

static inline uintptr_t t_hex(const char **s)
{
    uintptr_t v = 0;
    for (;;) {
        char c = **s;
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else break;
        v = v * 16 + (uintptr_t)d;
        (*s)++;
    }
    return v;
}

/* Parses /proc/self/maps into t_maps[]; returns the number of entries. */
static inline int t_read_maps(void)
{
    t_read_file("/proc/self/maps", t_maps_buf, sizeof t_maps_buf);
    int n = 0;
    const char *s = t_maps_buf;
    while (*s && n < T_MAPS_MAX) {
        struct t_map *m = &t_maps[n];
        m->lo = t_hex(&s);
        if (*s == '-') s++;
        m->hi = t_hex(&s);
        while (*s == ' ') s++;
        for (int i = 0; i < 4; i++)
            m->perms[i] = *s ? *s++ : '-';
        m->perms[4] = 0;
        /* offset, dev, inode */
        for (int f = 0; f < 3; f++) {
            while (*s == ' ') s++;
            while (*s && *s != ' ' && *s != '\n') s++;
        }
        while (*s == ' ') s++;
        size_t k = 0;
        while (*s && *s != '\n') {
            if (k + 1 < sizeof m->name) m->name[k++] = *s;
            s++;
        }
        m->name[k] = 0;
        if (*s == '\n') s++;
        n++;
    }
    return n;
}

/* The mapping containing addr after a fresh t_read_maps(), or NULL. */
static inline const struct t_map *t_map_of(const void *addr)
{
    int n = t_read_maps();
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < n; i++)
        if (t_maps[i].lo <= a && a < t_maps[i].hi)
            return &t_maps[i];
    return NULL;
}

/* Bounds of the [heap] (brk) mapping; false if there is none. */
static inline bool t_brk_heap(uintptr_t *lo, uintptr_t *hi)
{
    int n = t_read_maps();
    for (int i = 0; i < n; i++)
        if (strcmp(t_maps[i].name, "[heap]") == 0) {
            *lo = t_maps[i].lo;
            *hi = t_maps[i].hi;
            return true;
        }
    return false;
}

/* The program break now. */
static inline uintptr_t t_brk(void) { return (uintptr_t)sbrk(0); }

/* Write v into the first byte of every page of [p, p + n): each page is
 * then resident (a page fault each, if it was not). */
static inline void t_touch_pages(char *p, size_t n, char v)
{
    for (size_t i = 0; i < n; i += 4096)
        p[i] = v;
    t_escape(p);
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline size_t t_rss(void)
{
    static char buf[256];
    if (!t_read_file("/proc/self/statm", buf, sizeof buf))
        return 0;
    const char *s = buf;
    while (*s && *s != ' ') s++;
    return (size_t)strtoull(s, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

static inline long t_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* ------------------------------------------------------------------ */
/* capturing what is written to fd 2 (malloc_stats writes there)      */

struct t_capture { int fd, saved; };

static inline struct t_capture t_capture_stderr(void)
{
    struct t_capture c = { -1, -1 };
    char tmpl[] = "/tmp/umalloc-test-XXXXXX";
    fflush(stderr);
    c.fd = mkstemp(tmpl);
    if (c.fd < 0)
        return c;
    unlink(tmpl);
    c.saved = dup(2);
    dup2(c.fd, 2);
    return c;
}

/* Restores fd 2 and copies what was captured into buf (NUL-terminated). */
static inline size_t t_capture_end(struct t_capture c, char *buf, size_t cap)
{
    fflush(stderr);
    if (c.fd < 0) {
        buf[0] = 0;
        return 0;
    }
    dup2(c.saved, 2);
    close(c.saved);
    ssize_t r = pread(c.fd, buf, cap - 1, 0);
    close(c.fd);
    if (r < 0) r = 0;
    buf[r] = 0;
    return (size_t)r;
}

/* Reads fd to its end (or until buf is full) into buf, NUL-terminated, and
 * closes it: a child's output through a pipe. Returns the length. */
static inline size_t t_read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && ((r = read(fd, buf + n, cap - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    buf[n] = 0;
    close(fd);
    return n;
}

/* Is environment entry e ("K=V") one of set's names? */
static inline int t_env_named(const char *e, const char *const *set)
{
    for (int i = 0; set[i]; i++) {
        size_t k = strcspn(set[i], "=");
        if (strncmp(e, set[i], k + 1) == 0)
            return 1;
    }
    return 0;
}

/* Runs a copy of this program with argv[1] = mode, in the parent's
 * environment less its MALLOC_*, GLIBC_TUNABLES and UMALLOC_REPORT_PID
 * variables and any variable set names, plus set ("K=V", NULL-terminated;
 * an entry "K" without '=' only removes K).
 * The child's stderr goes to err (cap bytes, NUL-terminated). Returns the
 * child's wait status. */
extern char **environ;
/* A NULL-terminated "K=V" list for t_run_self. */
#define T_ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
static inline int t_run_self(const char *mode, const char *const *set, char *err, size_t cap)
{
    static char *envp[4096];
    int n = 0;
    for (char **e = environ; *e && n < 4000; e++)
        if (strncmp(*e, "MALLOC_", 7) != 0 && strncmp(*e, "GLIBC_TUNABLES=", 15) != 0 &&
            strncmp(*e, "UMALLOC_REPORT_PID=", 19) != 0 && !t_env_named(*e, set))
            envp[n++] = *e;
    for (int i = 0; set[i] && n < 4090; i++)
        if (strchr(set[i], '='))
            envp[n++] = (char *)set[i];
    envp[n] = NULL;
    int pfd[2];
    if (pipe(pfd) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(pfd[1], 2);
        char *argv[] = {(char *)"self-child", (char *)mode, NULL};
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    close(pfd[1]);
    t_read_all(pfd[0], err, cap);
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        exit(1);
    }
    return st;
}

#endif /* UMALLOC_TESTS_COMMON_H */
