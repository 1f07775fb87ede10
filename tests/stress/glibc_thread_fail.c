// variants: release debug
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
// Mirrors glibc's tst-malloc-thread-fail: in a child with a limited address
// space and M_ARENA_MAX 2, nine threads allocate until memory runs out, with
// each allocation function in turn (malloc, realloc, aligned_alloc,
// memalign, posix_memalign, valloc, pvalloc, calloc) and several sizes and
// alignments. Running out must give NULL (posix_memalign: ENOMEM), never a
// crash or a misaligned or (calloc) dirty block, with arena switching and
// the mmap fallback in play; then everything is freed.
#include "stress_common.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

enum { F_MALLOC, F_REALLOC, F_ALIGNED, F_MEMALIGN, F_POSIX, F_VALLOC, F_PVALLOC, F_CALLOC, F_N };
static const int aligned_fn[F_N] = {[F_ALIGNED] = 1, [F_MEMALIGN] = 1, [F_POSIX] = 1};
static int fn;
static size_t size, align, page;
static pthread_barrier_t start, end;

static void *alloc_one(void)
{
    void *p = NULL;
    size_t want = 16;
    switch (fn) {
    case F_MALLOC: p = malloc(size); break;
    case F_REALLOC:
        p = realloc(NULL, 16);
        if (p) {
            void *q = realloc(p, size);
            if (!q)
                free(p);
            p = q;
        }
        break;
    case F_ALIGNED: p = aligned_alloc(align, size); want = align; break;
    case F_MEMALIGN: p = memalign(align, size); want = align; break;
    case F_POSIX: {
        int rc = posix_memalign(&p, align, size);
        if (rc && rc != ENOMEM)
            abort();
        if (rc)
            p = NULL;
        want = align;
        break;
    }
    case F_VALLOC: p = valloc(size); want = page; break;
    case F_PVALLOC: p = pvalloc(size); want = page; break;
    case F_CALLOC:
        p = calloc(1, size);
        for (size_t i = 0; p && i < size; i++)
            if (((unsigned char *)p)[i])
                abort();
        break;
    }
    if ((uintptr_t)p & (want - 1))
        abort();
    return p;
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    void **head = NULL;
    for (;;) {
        void **e = alloc_one();
        if (!e)
            break;
        e[0] = head;
        head = e;
    }
    pthread_barrier_wait(&end);
    while (head) {
        void **next = head[0];
        free(head);
        head = next;
    }
    return NULL;
}

static int run_one(size_t budget)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* the limit: what the process uses now plus the budget */
        char buf[256];
        int fd = open("/proc/self/statm", O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (n <= 0)
            _exit(77);
        buf[n] = 0;
        size_t vm_pages = strtoull(buf, NULL, 10);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = vm_pages * page + budget + (3u << 20); /* + thread stacks */
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(77);
        pthread_attr_t small;
        pthread_attr_init(&small);
        pthread_attr_setstacksize(&small, 256 * 1024);
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            if (pthread_create(&t[i], &small, worker, NULL) != 0)
                _exit(3);
        worker(NULL);
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        _exit(0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    page = (size_t)getpagesize();
    if (mallopt(M_ARENA_MAX, 2) != 1)
        return 1;
    pthread_barrier_init(&start, NULL, 9);
    pthread_barrier_init(&end, NULL, 9);
    size_t budget = getenv("UMALLOC_TEST_DEBUG") ? (size_t)1 << 20 : (size_t)96 << 20;
    const struct { size_t size, align; } cases[] = {
        {144, 0}, {4096, 0}, {512, 128}, {4096, 128}, {17 * 4096, 128},
    };
    int bad = 0;
    int debug = getenv("UMALLOC_TEST_DEBUG") != NULL;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (fn = 0; fn < F_N; fn++) {
            if (debug && c != 0 && c != 2) /* the heap check makes each case slow */
                continue;
            if (aligned_fn[fn] != (cases[c].align != 0))
                continue;
            size = cases[c].size == 4096 ? page : cases[c].size == 17 * 4096 ? 17 * page : cases[c].size;
            align = cases[c].align;
            int rc = run_one(budget);
            if (rc == 77) {
                puts("skip: cannot limit the address space");
                return 77;
            }
            if (rc != 0) {
                fprintf(stderr, "function %d, size %zu, align %zu: child status %d\n", fn, size, align, rc);
                bad++;
            }
        }
    return bad ? 1 : 0;
}
