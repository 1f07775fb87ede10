/* Helper for tests/programs/libc_pages.sh (not a test by itself): a
 * single-threaded program of small malloc/free pairs that prints how many
 * pages of libc.so's mappings are resident at its end (present bits of
 * /proc/self/pagemap; read before anything else here calls into libc
 * text the loop did not), or "skip" if pagemap cannot be read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 200000; i++) {
        char *p = malloc(16 + (size_t)(i % 64) * 16);
        if (!p)
            return 2;
        p[0] = 1;
        free(p);
    }
    static char maps[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY), pm = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0 || pm < 0)
        return 3;
    ssize_t len = 0, r;
    while (len < (ssize_t)sizeof maps - 1 && (r = read(fd, maps + len, sizeof maps - 1 - (size_t)len)) > 0)
        len += r;
    maps[len] = '\0';
    long pages = 0;
    int readable = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long a, b;
        if (!strstr(line, "/libc.so") || sscanf(line, "%lx-%lx", &a, &b) != 2)
            continue;
        for (unsigned long p = a; p < b; p += 4096) {
            uint64_t e;
            if (pread(pm, &e, 8, (off_t)(p / 4096 * 8)) != 8)
                continue;
            readable = 1;
            pages += (long)(e >> 63 & 1);
        }
    }
    if (!readable)
        puts("skip");
    else
        printf("%ld\n", pages);
    return 0;
}
