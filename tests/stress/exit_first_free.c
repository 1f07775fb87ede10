// cflags: -pthread
// ldflags: -pthread
// variants: release debug
// A thread that never called malloc makes its first call on its way out:
// glibc frees the thread's TLS vector (allocated by the creating thread)
// from the exiting thread itself when the thread is detached and runs on a
// stack the program supplied (__nptl_free_tcb), after the key destructors
// have run. That free must not set up a thread cache: nothing would ever
// flush or free it. Before, each such thread left its cache (about 3 KiB,
// counted in use) and the freed block on it (counted as cached) behind for
// good, and counted as a live thread in every other thread's budget.
// (asan/tsan: glibc's frees there go to the sanitizer's allocator.)
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common.h"
#include "../purge_util.h"

enum { NTHREADS = 20, STACK = 256 * 1024 };


static void *no_malloc(void *arg) { return arg; }

/* The thread caches' total from malloc_info, read without allocating:
 * into a file opened once, with a buffer of its own (t_info_total's
 * memstream mallocs and reallocs as it grows, and what that leaves in this
 * thread's cache depends on where its chunks were carved: 0, 1536 or 2560
 * bytes in runs with the CPUs' spans of src/arena.c) */
static FILE *info;
static char info_buf[1 << 16], info_text[1 << 17];
static size_t tcache_total(void)
{
    CHECK(fseek(info, 0, SEEK_SET) == 0 && ftruncate(fileno(info), 0) == 0);
    CHECK(malloc_info(0, info) == 0 && fflush(info) == 0);
    ssize_t n = pread(fileno(info), info_text, sizeof info_text - 1, 0);
    CHECK(n > 0);
    info_text[n] = 0;
    const char *t = strstr(info_text, "<total type=\"tcache\""), *z = t ? strstr(t, "size=\"") : NULL;
    CHECK(z != NULL);
    return strtoull(z + 6, NULL, 10);
}

int main(void)
{
    p_need_umalloc();
    free(t_opaque(malloc(1)));
    info = tmpfile();
    CHECK(info && setvbuf(info, info_buf, _IOFBF, sizeof info_buf) == 0);
    malloc_trim(0);
    size_t cached0 = tcache_total();
    size_t used0 = mallinfo2().uordblks;
    int n0 = t_threads_now();
    CHECK(n0 >= 1);
    for (int k = 0; k < NTHREADS; k++) {
        /* never unmapped: the exiting thread runs on it to its end */
        void *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(stk != MAP_FAILED);
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstack(&at, stk, STACK);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        CHECK(pthread_create(&t, &at, no_malloc, NULL) == 0);
        pthread_attr_destroy(&at);
        for (int w = 0; w < 5000 && t_threads_now() != n0; w++) /* gone: its exit ran */
            p_sleep_ms(1);
        CHECKF(t_threads_now() == n0, "thread %d still there", k);
    }
    malloc_trim(0); /* this thread's cache, all of it, back */
    size_t cached1 = tcache_total();
    size_t used1 = mallinfo2().uordblks;
    printf("%d detached threads: cached %zu -> %zu bytes, in use %zu -> %zu\n", NTHREADS, cached0,
           cached1, used0, used1);
    EXPECTF(cached1 == cached0, "thread caches hold %zu bytes, %zu before", cached1, cached0);
    /* each thread's 3 KiB cache would be in use: 60 KiB */
    EXPECTF(used1 < used0 + 16 * 1024, "in use %zu, %zu before", used1, used0);
    return t_done();
}
