/* Helper for tests/programs/lib_resident.sh (not a test by
 * itself): runs one kind of allocation traffic, then prints how many pages
 * are resident (present bits of /proc/self/pagemap) of the preloaded
 * library's mapping at file offset OFF (hex), or with OFF "libc" of all of
 * libc.so's mappings; -1 if there is no such mapping.
 *   resident_prog OFF|libc pairs|threads|big|aligned|report
 * (aligned: aligned blocks, mallopt, malloc_usable_size and malloc_trim,
 * the kind of call src/hot.list leaves in the library's second code
 * segment; report: a few pairs, then malloc_stats(), which prints to
 * stderr) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *churn(void *arg)
{
    unsigned x = (unsigned)(uintptr_t)arg;
    enum { N = 4096 };
    static __thread void *v[N];
    for (long i = 0; i < 400000; i++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % N;
        free(v[k]);
        v[k] = malloc(16 + (x >> 4) % 8000);
        if (!v[k])
            exit(2);
        memset(v[k], 1, 16);
    }
    for (int k = 0; k < N; k++)
        free(v[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int libc = !strcmp(argv[1], "libc");
    unsigned long off = libc ? 0 : strtoul(argv[1], NULL, 16);
    if (!strcmp(argv[2], "pairs")) {
        for (int i = 0; i < 1000000; i++) {
            char *p = malloc(16 + (size_t)(i % 64) * 16);
            if (!p)
                return 2;
            p[0] = 1;
            free(p);
        }
    } else if (!strcmp(argv[2], "threads")) {
        pthread_t th[4];
        for (int t = 0; t < 4; t++)
            if (pthread_create(&th[t], NULL, churn, (void *)(uintptr_t)(t + 1)) != 0)
                return 2;
        for (int t = 0; t < 4; t++)
            pthread_join(th[t], NULL);
    } else if (!strcmp(argv[2], "big")) {
        for (int i = 0; i < 200; i++) {
            char *p = malloc((size_t)(i % 7 + 1) << 20);
            if (!p)
                return 2;
            memset(p, 1, 4096);
            p = realloc(p, (size_t)(i % 5 + 1) << 19);
            free(p);
        }
    } else if (!strcmp(argv[2], "aligned")) {
        mallopt(M_TRIM_THRESHOLD, 1 << 20);
        for (int i = 0; i < 1000; i++) {
            void *p = NULL;
            if (posix_memalign(&p, (size_t)64 << (i % 6), 100 + (size_t)i) != 0 ||
                malloc_usable_size(p) < 100 + (size_t)i)
                return 2;
            free(p);
        }
        malloc_trim(0);
    } else if (!strcmp(argv[2], "report")) {
        free(malloc(100));
        malloc_stats();
    } else {
        return 2;
    }
    static char maps[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY), pm = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0 || pm < 0)
        return 3;
    ssize_t len = 0, r;
    while (len < (ssize_t)sizeof maps - 1 && (r = read(fd, maps + len, sizeof maps - 1 - (size_t)len)) > 0)
        len += r;
    maps[len] = '\0';
    long pages = -1;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long a, b, o;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s %lx", &a, &b, perm, &o) != 4 ||
            !(libc ? strstr(line, "/libc.so") != NULL : strstr(line, "libumalloc") && o == off))
            continue;
        if (pages < 0)
            pages = 0;
        for (unsigned long p = a; p < b; p += 4096) {
            uint64_t e;
            if (pread(pm, &e, 8, (off_t)(p / 4096 * 8)) == 8)
                pages += (long)(e >> 63 & 1);
        }
    }
    printf("%ld\n", pages);
    return 0;
}
