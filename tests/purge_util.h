/*
 * tests/purge_util.h - helpers for the tests of the decay purge (src/purge.c).
 * Include after "common.h". In the release/debug variants the library is
 * preloaded, so its own functions are weak references here (NULL under
 * --variant glibc, where the tests skip).
 */
#ifndef PURGE_UTIL_H
#define PURGE_UTIL_H

#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef UMALLOC_PREFIXED
#include "../include/umalloc.h"
#pragma weak umalloc_purge
#pragma weak umalloc_thread_flush
#pragma weak umalloc_check
#endif

/* Skip unless umalloc is the allocator (its extensions are there). */
static inline void p_need_umalloc(void)
{
    int (*volatile fn)(void) = umalloc_purge;
    if (!fn || t_is_glibc())
        t_skip("needs umalloc's extensions");
}

static inline void p_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline double p_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One round of a heap that breathes: n blocks (at most 64) of size bytes
 * from the heap, each written in full, then freed last to first. How far the
 * break stands above b0 just after. */
static inline long p_heap_round(int n, size_t size, uintptr_t b0)
{
    char *p[64];
    CHECK(n <= 64);
    for (int i = 0; i < n; i++) {
        p[i] = malloc(size);
        CHECK(p[i] != NULL);
        memset(p[i], i + 1, size);
    }
    for (int i = n - 1; i >= 0; i--)
        free(p[i]);
    return (long)((uintptr_t)sbrk(0) - b0);
}

/* One round of a batch job: n blocks of size bytes (blk has room for n),
 * each written in full, then freed in the order they were made. The minor
 * faults taken while building it. */
static inline long p_round_faults(void **blk, int n, size_t size)
{
    long f0 = t_minflt();
    for (int i = 0; i < n; i++) {
        blk[i] = malloc(size);
        CHECK(blk[i] != NULL);
        memset(blk[i], i & 0xff, size);
    }
    long f = t_minflt() - f0;
    for (int i = 0; i < n; i++)
        free(blk[i]);
    return f;
}

/* Pages of [p, p+len) that are resident (mincore). */
static inline size_t p_resident(const void *p, size_t len)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(ps - 1), hi = ((uintptr_t)p + len + ps - 1) & ~(uintptr_t)(ps - 1);
    static unsigned char vec[1 << 16];
    size_t n = 0;
    for (uintptr_t a = lo; a < hi;) {
        size_t pages = (hi - a) / ps;
        if (pages > sizeof vec)
            pages = sizeof vec;
        if (mincore((void *)a, pages * ps, vec) != 0)
            return (size_t)-1;
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
        a += pages * ps;
    }
    return n;
}

/* The whole pages inside [p, p+len). */
static inline void p_inner_pages(const void *p, size_t len, char **lo, char **hi)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    *lo = (char *)(((uintptr_t)p + ps - 1) & ~(uintptr_t)(ps - 1));
    *hi = (char *)(((uintptr_t)p + len) & ~(uintptr_t)(ps - 1));
}

#endif
