/* Helper for tests/programs/timeline.sh (not a test by itself): prints how
 * many threads the process has, then holds 16 MiB of touched 4 KiB blocks
 * for 400 ms, frees them, and idles 400 ms. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void nap(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(void)
{
    int threads = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d));)
        threads += e->d_name[0] != '.';
    if (d)
        closedir(d);
    printf("threads %d\n", threads);
    fflush(stdout);
    enum { N = 4096 };
    static void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = malloc(4096);
        memset(v[i], 1, 4096);
    }
    nap(400);
    for (int i = 0; i < N; i++)
        free(v[i]);
    nap(400);
    return 0;
}
