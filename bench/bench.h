/* bench.h - shared helpers for the umalloc workloads (the bench/ C files).
 *
 * Every workload is a standalone program:
 *   prog [--quick] [--scale=X] [positional args...]
 * The scale multiplies the amount of work (1.0 = full scale, about 0.3-3 s).
 * It can also come from the environment: BENCH_SCALE=X.  --quick is scale
 * 0.01 (each workload clamps its counts so that even tiny scales do real
 * work).  Exit status: 0 = results checked and correct, 1 = wrong results,
 * 2 = usage error.  Each program prints to stdout:
 *   allocator: <shared object that defines malloc>
 *   ... workload-specific lines ...
 *   ok <workload> ops=<n>
 * The harness (bench/run.py) checks the "allocator:" line to prove the
 * preloaded allocator is really the one in use.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_UNUSED __attribute__((unused))

/* ---- failure --------------------------------------------------------- */

BENCH_UNUSED __attribute__((noreturn, format(printf, 1, 2)))
static void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(NULL);
    _exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) bench_fail(__VA_ARGS__); } while (0)
#define CHECK_ALLOC(p, sz) CHECK((p) != NULL, "%s:%d: allocation of %zu bytes failed", \
                                 __FILE__, __LINE__, (size_t)(sz))

/* Keep the compiler from proving a block unused (gcc deletes free(malloc(n))). */
static inline void bench_escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

/* ---- scale / arguments ----------------------------------------------- */

static double bench_scale_value = 1.0;

/* Removes --quick / --scale=X / --scale X from argv; returns the new argc. */
BENCH_UNUSED static int bench_init(int argc, char **argv)
{
    const char *env = getenv("BENCH_SCALE");
    if (env && *env) bench_scale_value = atof(env);
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            bench_scale_value = 0.01;
        } else if (!strncmp(argv[i], "--scale=", 8)) {
            bench_scale_value = atof(argv[i] + 8);
        } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            bench_scale_value = atof(argv[++i]);
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    if (!(bench_scale_value > 0)) {
        fprintf(stderr, "bad scale\n");
        exit(2);
    }
    /* Which shared object defines the malloc this program calls?  In a PIE
     * the address of malloc is loaded from the GOT, i.e. it is the
     * interposed definition when a library is preloaded. */
    Dl_info info;
    union { void *(*fn)(size_t); void *obj; } m = { malloc };
    if (dladdr(m.obj, &info) && info.dli_fname)
        printf("allocator: %s\n", info.dli_fname);
    else
        printf("allocator: unknown\n");
    fflush(stdout);
    return out;
}

/* n scaled, at least lo. */
BENCH_UNUSED static long bench_scaled(double n, long lo)
{
    double v = n * bench_scale_value;
    return v < (double)lo ? lo : (long)v;
}

/* "16", "64K", "1M", "1MiB" -> bytes */
BENCH_UNUSED static size_t bench_parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K') v *= 1024;
    else if (*end == 'm' || *end == 'M') v *= 1024 * 1024;
    else if (*end == 'g' || *end == 'G') v *= 1024.0 * 1024 * 1024;
    return (size_t)v;
}

BENCH_UNUSED static void bench_ok(const char *name, long ops)
{
    printf("ok %s ops=%ld\n", name, ops);
    fflush(stdout);
}

/* ---- random numbers (xorshift64*, one state per thread) -------------- */

typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    /* splitmix64 step so that small seeds give good states */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

__extension__ typedef unsigned __int128 bench_u128;

/* uniform in [0, n) */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    return (uint64_t)(((bench_u128)rng_next(r) * n) >> 64);
}

/* Sizes skewed small, like a compiler's or interpreter's heap: class k has
 * probability 2^-(k+1) (k capped at maxk), size uniform in [16<<k, 32<<k).
 * Half the requests are 16-31 B, a quarter 32-63 B, ... */
static inline size_t rng_small_size(rng_t *r, int maxk)
{
    uint64_t x = rng_next(r);
    int k = __builtin_ctzll(x | (1ull << 63));
    if (k > maxk) k = maxk;
    size_t lo = (size_t)16 << k;
    return lo + (size_t)((x >> 40) % lo);
}

/* ---- tagged blocks ---------------------------------------------------- */
/* A block of size >= 16 carries a 12-byte header {tag, size} and its last
 * byte (at offset >= 15, never inside the header) is a function of the tag;
 * block_ok verifies both, so a block that was handed out twice, overlapped,
 * or corrupted is caught when it is checked before being freed. */

typedef struct { uint64_t tag; uint32_t size; } __attribute__((packed)) block_hdr;

static inline void block_fill(void *p, size_t size, uint64_t tag)
{
    block_hdr *h = (block_hdr *)p;
    h->tag = tag;
    h->size = size;
    ((unsigned char *)p)[size - 1] = (unsigned char)(tag * 131 + 7);
}

static inline int block_ok(const void *p, size_t size, uint64_t tag)
{
    const block_hdr *h = (const block_hdr *)p;
    return h->tag == tag && h->size == size &&
           ((const unsigned char *)p)[size - 1] == (unsigned char)(tag * 131 + 7);
}

/* Self-describing variant: checks the header against itself only. */
static inline int block_ok_self(const void *p)
{
    const block_hdr *h = (const block_hdr *)p;
    return h->size >= 16 &&
           ((const unsigned char *)p)[h->size - 1] == (unsigned char)(h->tag * 131 + 7);
}

/* ---- time / memory ---------------------------------------------------- */

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Resident set size in KiB from /proc/self/statm, without allocating. */
BENCH_UNUSED static long bench_rss_kb(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = buf;
    strtol(p, &p, 10);              /* size */
    long res = strtol(p, &p, 10);   /* resident */
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
