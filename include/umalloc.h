/*
 * umalloc.h — umalloc's own extensions. The standard names (malloc, free,
 * calloc, realloc, mallopt, mallinfo2, malloc_stats, malloc_trim, ...) need
 * no header beyond <stdlib.h> and <malloc.h>: umalloc provides them directly.
 */
#ifndef UMALLOC_H
#define UMALLOC_H

#include <stddef.h>

#define UMALLOC_VERSION_MAJOR 0
#define UMALLOC_VERSION_MINOR 1
#define UMALLOC_VERSION_PATCH 0
#define UMALLOC_VERSION "0.1.0"
/* One number to compare: UMALLOC_VERSION_NUMBER >= UMALLOC_MAKE_VERSION(0, 2, 0). */
#define UMALLOC_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define UMALLOC_VERSION_NUMBER \
    UMALLOC_MAKE_VERSION(UMALLOC_VERSION_MAJOR, UMALLOC_VERSION_MINOR, UMALLOC_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
const char *umalloc_version(void);

/* Draw every heap of every arena on fd, a page per character:
 * '#' in use, '+' mostly in use, '-' mostly free, '.' free, 'T' top. */
void umalloc_heap_map(int fd);

/* Draw every region umalloc owns as an SVG picture on fd: the brk heap, the
 * mmap'd segments, each arena's heaps and the mapped chunks, each chunk
 * coloured by state (in use, cached, free in a fast/unsorted/small/large
 * bin, top), to scale within its region, with a legend and hover titles.
 * Big regions are drawn in aggregate cells (the cell size is written on
 * the picture). Allocates nothing; returns 0, or -1 if a write failed. */
int umalloc_heap_svg(int fd);

/* Walk the whole heap and check every invariant; abort with one line on
 * stderr at the first violation. (The DEBUG=1 build does this every call.) */
void umalloc_check(void);

/* Give this thread's cached free chunks back to the arenas. */
void umalloc_thread_flush(void);

/* Free pages go back to the kernel (MADV_DONTNEED) once they have stayed
 * free for the purge decay time, driven by malloc/free calls. mallopt
 * parameters (also UMALLOC_PURGE_DECAY_MS, UMALLOC_PURGE_THREAD=1):
 *   M_UMALLOC_PURGE_DECAY   milliseconds (default 1000); 0 at once, -1 never
 *   M_UMALLOC_PURGE_THREAD  1: a background thread also purges every decay
 *                           period (for processes that stop calling malloc)
 * M_TRIM_THRESHOLD = -1 turns the automatic purge off as well.
 * UMALLOC_MEMORY_LIMIT (bytes, K/M/G suffixes; default: the cgroup's
 * memory.max): with RSS within 10% of it, free pages go back at once. */
#define M_UMALLOC_PURGE_DECAY (-1101)
#define M_UMALLOC_PURGE_THREAD (-1102)

/* Hand every free page of every arena back now, whatever its age (this
 * thread's cache is flushed first; top keeps nothing). 1 if anything was
 * released. */
int umalloc_purge(void);

/* C23 sized deallocation (glibc 2.36's headers do not declare them yet). */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

#ifdef UMALLOC_PREFIXED
/* The sanitizer builds (make asan/tsan) rename every entry point, so the
 * library can run beside the system malloc. */
#include <stdio.h>
void *umalloc_malloc(size_t n);
void umalloc_free(void *p);
void *umalloc_calloc(size_t n, size_t size);
void *umalloc_realloc(void *p, size_t n);
void *umalloc_reallocarray(void *p, size_t n, size_t size);
void *umalloc_memalign(size_t align, size_t n);
int umalloc_posix_memalign(void **out, size_t align, size_t n);
void *umalloc_aligned_alloc(size_t align, size_t n);
void *umalloc_valloc(size_t n);
void *umalloc_pvalloc(size_t n);
size_t umalloc_malloc_usable_size(void *p);
void umalloc_free_sized(void *p, size_t size);
void umalloc_free_aligned_sized(void *p, size_t align, size_t size);
int umalloc_mallopt(int param, int value);
int umalloc_malloc_trim(size_t pad);
void umalloc_malloc_stats(void);
int umalloc_malloc_info(int options, FILE *fp);
struct mallinfo umalloc_mallinfo(void);
struct mallinfo2 umalloc_mallinfo2(void);
#endif

#ifdef __cplusplus
}
#endif

#endif
