/* Helper for tests/programs/heap_svg*.sh (not a test by
 * itself): builds a known heap, then writes the picture (umalloc_heap_svg)
 * and malloc_info, with nothing allocated in between.
 *   svg_prog small OUT.svg OUT.xml   a few hundred chunks in every state;
 *                                    prints the live blocks' chunk addresses
 *   svg_prog big OUT.svg OUT.xml     a 1 GiB brk heap with ~20000 chunks
 *   svg_prog arenas OUT.svg OUT.xml  8 threads (so several arenas), each with
 *                                    40000 chunks, every other one freed
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int (*heap_svg)(int);
static void (*thread_flush)(void);
static char info_buf[1 << 16];

/* opened before the picture is drawn: fopen allocates */
static FILE *open_info(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        exit(2);
    setvbuf(f, info_buf, _IOFBF, sizeof info_buf);
    return f;
}

static void write_info(FILE *f)
{
    if (malloc_info(0, f) != 0)
        exit(3);
    fclose(f);
}

static void write_svg(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || heap_svg(fd) != 0)
        exit(4);
    close(fd);
}

static pthread_barrier_t built, drawn;

static void *arena_worker(void *arg)
{
    (void)arg;
    enum { K = 40000 };
    /* arena-lock traffic (no cache above 128 KiB), so threads spread over arenas */
    for (int i = 0; i < 2000; i++)
        free(malloc(300 * 1024));
    void **v = malloc(K * sizeof *v);
    for (int i = 0; i < K; i++)
        v[i] = malloc(32 + (i % 13) * 24);
    for (int i = 0; i < K; i += 2)
        free(v[i]);
    thread_flush();
    pthread_barrier_wait(&built);
    pthread_barrier_wait(&drawn);
    return NULL;
}

int main(int argc, char **argv)
{
    *(void **)&heap_svg = dlsym(RTLD_DEFAULT, "umalloc_heap_svg");
    *(void **)&thread_flush = dlsym(RTLD_DEFAULT, "umalloc_thread_flush");
    if (!heap_svg || !thread_flush || argc < 4)
        return 77;
    if (!strcmp(argv[1], "small")) {
        enum { N = 400 };
        static void *v[N];
        for (int i = 0; i < N; i++)
            v[i] = malloc((size_t)(i * 131 % 4000) + 8);
        for (int i = 0; i < N; i += 4)
            free(v[i]);
        thread_flush();                      /* to the bins */
        for (int i = 1; i < N; i += 4)
            free(v[i]);                      /* cached */
        void *mapped[3];
        for (int i = 0; i < 3; i++)
            mapped[i] = malloc((size_t)(300 + 100 * i) * 1024);
        /* the blocks still live: their chunk addresses, for the test */
        FILE *out = fopen(argv[4] ? argv[4] : "/dev/null", "w");
        static char obuf[1 << 15];
        setvbuf(out, obuf, _IOFBF, sizeof obuf);
        for (int i = 0; i < N; i++)
            if (i % 4 >= 2)
                fprintf(out, "%#lx\n", (unsigned long)((char *)v[i] - 16));
        for (int i = 0; i < 3; i++)
            fprintf(out, "%#lx\n", (unsigned long)((char *)mapped[i] - 16));
        fflush(out);
        FILE *info = open_info(argv[3]);
        write_svg(argv[2]);
        write_info(info);
        fclose(out);
        return 0;
    }
    if (!strcmp(argv[1], "big")) {
        /* a 1 GiB brk heap: 16 MiB blocks with small ones between them */
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, -1);
        static void *small[20000];
        int ns = 0;
        for (int i = 0; i < 64; i++) {
            if (!malloc((16 << 20) - 4096))
                return 5;
            for (int k = 0; k < 300; k++)
                small[ns++] = malloc(64 + (k % 7) * 48);
        }
        for (int i = 0; i < ns; i += 2)
            free(small[i]);
        FILE *info = open_info(argv[3]);
        write_svg(argv[2]);
        write_info(info);
        return 0;
    }
    if (!strcmp(argv[1], "arenas")) {
        enum { T = 8 };
        pthread_t t[T];
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        pthread_barrier_init(&built, NULL, T + 1);
        pthread_barrier_init(&drawn, NULL, T + 1);
        for (int i = 0; i < T; i++)
            pthread_create(&t[i], NULL, arena_worker, NULL);
        pthread_barrier_wait(&built);
        FILE *info = open_info(argv[3]);
        write_svg(argv[2]);
        write_info(info);
        pthread_barrier_wait(&drawn);
        for (int i = 0; i < T; i++)
            pthread_join(t[i], NULL);
        return 0;
    }
    return 2;
}
