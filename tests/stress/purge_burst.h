/*
 * The 95%-freed burst (issue 8), shared by purge_burst.c (light traffic
 * continues, no malloc_trim) and purge_idle.c (no calls at all, the purge
 * thread on). Two threads build blocks of small, medium and large sizes
 * (large: above the thread cache's 128 KiB classes, below M_MMAP_THRESHOLD
 * set to 4 MiB, so they live in the heap), touching every byte; then each
 * frees 19 of every 20 blocks (runs between survivors: whole pages come free
 * inside the heap while the top stays pinned) and flushes its thread cache.
 * RSS is sampled from /proc/self/statm for 4 s afterwards. In the traffic
 * mode only thread 0 keeps calling: memory of an arena that thread 1 leaves
 * quiet must go back too (purged from thread 0's calls as an idle arena).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "../common.h"
#include "../purge_util.h"

enum { NT = 2, MODE_TRAFFIC = 1, MODE_IDLE = 2 };

static int mode;
static size_t per_thread;
static pthread_barrier_t bar;
static _Atomic int stop;
static _Atomic int bad;

struct worker {
    int id;
    char **blk;
    size_t *len;
    size_t n, cap;
};

static size_t pick_size(t_rng *r)
{
    unsigned k = (unsigned)t_below(r, 100);
    if (k < 70)
        return 16 + t_below(r, 1008);                 /* small */
    if (k < 95)
        return 1024 + t_below(r, 127 * 1024);         /* medium: the cache's classes */
    return 132 * 1024 + t_below(r, 900 * 1024);       /* large: heap, not cached */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    t_rng r = {t_seed(0x5eed + (uint64_t)w->id)};
    size_t total = 0;
    while (total < per_thread) {
        if (w->n == w->cap) {
            /* sized up front by main; a spare in case of an unlucky draw */
            atomic_fetch_add(&bad, 1);
            break;
        }
        size_t s = pick_size(&r);
        char *p = malloc(s);
        if (!p) {
            atomic_fetch_add(&bad, 1);
            break;
        }
        memset(p, (unsigned char)(w->n * 7 + (size_t)w->id), s);
        w->blk[w->n] = p;
        w->len[w->n++] = s;
        total += s;
    }
    pthread_barrier_wait(&bar); /* built: main reads the peak */
    pthread_barrier_wait(&bar);
    for (size_t i = 0; i < w->n; i++)
        if (i % 20 != 19) {
            free(w->blk[i]);
            w->blk[i] = NULL;
        }
    umalloc_thread_flush(); /* the cache would hold the small and medium ones */
    pthread_barrier_wait(&bar); /* freed */
    if (mode == MODE_TRAFFIC && w->id == 0) { /* thread 1 goes quiet */
        while (!atomic_load(&stop)) {
            char *a = malloc(16 + t_below(&r, 500));
            char *b = malloc(200 * 1024); /* an arena call each time: the purge runs */
            if (!a || !b) {
                atomic_fetch_add(&bad, 1);
                break;
            }
            a[0] = 1;
            b[0] = 2;
            free(b);
            free(a);
            p_sleep_ms(1);
        }
    }
    pthread_barrier_wait(&bar); /* main is done measuring */
    for (size_t i = 0; i < w->n; i++) {
        char *p = w->blk[i];
        if (!p)
            continue;
        unsigned char v = (unsigned char)(i * 7 + (size_t)w->id);
        if ((unsigned char)p[0] != v || (unsigned char)p[w->len[i] - 1] != v ||
            (unsigned char)p[w->len[i] / 2] != v)
            atomic_fetch_add(&bad, 1);
        free(p);
    }
    return NULL;
}

static int run_burst(int m, double limit_pct)
{
    mode = m;
    p_need_umalloc();
    CHECK(mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1);
    if (mode == MODE_IDLE)
        CHECK(mallopt(M_UMALLOC_PURGE_THREAD, 1) == 1);
    per_thread = (size_t)t_scale(200, 48) * T_MIB;
    if (t_is_sanitized())
        per_thread = 32 * T_MIB;
    size_t base = t_rss();
    struct worker w[NT];
    pthread_t th[NT];
    pthread_barrier_init(&bar, NULL, NT + 1);
    for (int i = 0; i < NT; i++) {
        w[i].id = i;
        w[i].cap = per_thread / 16 + 64;
        w[i].n = 0;
        w[i].blk = mmap(NULL, w[i].cap * sizeof(char *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        w[i].len = mmap(NULL, w[i].cap * sizeof(size_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(w[i].blk != MAP_FAILED && w[i].len != MAP_FAILED);
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    pthread_barrier_wait(&bar);
    size_t peak = t_rss();
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    double t0 = p_now();
    size_t after_free = t_rss(), rss = after_free, low = after_free;
    double first_ok = -1;
    size_t target = (size_t)((double)(peak - base) * limit_pct / 100.0) + base;
    if (!t_is_debug() && !t_is_sanitized())
        target = (size_t)((double)peak * limit_pct / 100.0); /* the target: of peak itself */
    while (p_now() - t0 < 4.0) {
        p_sleep_ms(100);
        rss = t_rss();
        if (rss < low)
            low = rss;
        if (rss <= target && first_ok < 0)
            first_ok = p_now() - t0;
    }
    atomic_store(&stop, 1);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    printf("%s: base %zu MiB, peak %zu MiB, after free %zu MiB, after 4 s %zu MiB (%.1f%% of peak, target %.0f%%: %zu MiB); under target after %.2f s\n",
           mode == MODE_IDLE ? "idle, purge thread" : "light traffic", base >> 20, peak >> 20,
           after_free >> 20, rss >> 20, 100.0 * (double)rss / (double)peak, limit_pct, target >> 20, first_ok);
    EXPECTF(atomic_load(&bad) == 0, "%d bad blocks / failed allocations", atomic_load(&bad));
    if (t_is_sanitized()) /* shadow memory of the heap stays resident: no RSS target */
        return t_done();
    EXPECTF(peak > base + per_thread, "peak RSS %zu MiB did not reflect the %zu MiB built", peak >> 20, (NT * per_thread) >> 20);
    EXPECTF(rss <= target, "RSS 4 s after freeing 95%%: %zu MiB, target %zu MiB (peak %zu MiB)", rss >> 20,
            target >> 20, peak >> 20);
    return t_done();
}
