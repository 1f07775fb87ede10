/*
 * tests/prefixed.h -- force-included (gcc -include) by tests/run.py in the
 * asan and tsan variants, together with -DUMALLOC_PREFIXED.
 *
 * Those variants link build/asan|tsan/libumalloc.a, whose entry points are
 * prefixed (umalloc_malloc, umalloc_free, ...) so that they can coexist with
 * the sanitizer's own malloc.  This header maps the libc names used by a test
 * onto the prefixed ones.
 *
 * Because -include puts this file before anything the test includes, it first
 * includes every system header that declares (or refers to) the allocator
 * names, so that those declarations are seen *unrenamed*; only then are the
 * macros defined.  A test that later includes the same headers gets nothing
 * new (include guards), and its own calls are renamed.
 *
 * Caveat for test writers: memory returned by libc itself (strdup, asprintf,
 * getline, open_memstream, realpath, ...) comes from the sanitizer's malloc in
 * these variants and must NOT be released with free() here (that would be
 * umalloc_free).  Tests should avoid libc functions that allocate for them.
 */
#ifndef UMALLOC_TESTS_PREFIXED_H
#define UMALLOC_TESTS_PREFIXED_H

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
#include <strings.h>
#include <wchar.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <dlfcn.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/resource.h>

/* the umalloc_* prototypes: the library's own header declares them when
 * UMALLOC_PREFIXED is defined (the runner passes -DUMALLOC_PREFIXED) */
#ifndef UMALLOC_PREFIXED
#define UMALLOC_PREFIXED 1
#endif
#include "../include/umalloc.h"

#define malloc              umalloc_malloc
#define free                umalloc_free
#define calloc              umalloc_calloc
#define realloc             umalloc_realloc
#define reallocarray        umalloc_reallocarray
#define memalign            umalloc_memalign
#define posix_memalign      umalloc_posix_memalign
#define aligned_alloc       umalloc_aligned_alloc
#define valloc              umalloc_valloc
#define pvalloc             umalloc_pvalloc
#define malloc_usable_size  umalloc_malloc_usable_size
#define free_sized          umalloc_free_sized
#define free_aligned_sized  umalloc_free_aligned_sized
#define mallopt             umalloc_mallopt
/* Function-like, so that `struct mallinfo` / `struct mallinfo2` keep their
 * names: only a call `mallinfo()` is renamed. */
#define mallinfo()          umalloc_mallinfo()
#define mallinfo2()         umalloc_mallinfo2()
#define malloc_stats        umalloc_malloc_stats
#define malloc_trim         umalloc_malloc_trim
#define malloc_info         umalloc_malloc_info

#endif /* UMALLOC_TESTS_PREFIXED_H */
