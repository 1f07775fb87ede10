/*
 * timeline.c — the heap over time: UMALLOC_TIMELINE=path starts a sampler
 * thread (only then) that every UMALLOC_TIMELINE_MS milliseconds (default
 * 50) records the process's RSS (/proc/self/statm), the bytes in use, the
 * bytes cached (thread and central caches) and the bytes free (bins and top)
 * — the same account mallinfo2 gives — and at exit draws them as an SVG line
 * chart (umrun --timeline). The samples live in a fixed scratch mapping; when
 * it fills, neighbouring samples are merged pairwise and the interval
 * doubles, so a long run keeps its whole history at a coarser grain.
 * No malloc, no stdio.
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "umalloc.h"

#define TL_MAX 2048
enum { S_RSS, S_USED, S_CACHED, S_FREE, S_N };

struct sample {
    uint64_t ms;
    size_t v[S_N];
};

static struct {
    struct sample *s;
    size_t n, maplen;
    unsigned interval_ms, step; /* step: sampling periods per stored sample */
    uint64_t t0_ns;
    um_lock lock;
    _Atomic int stop;
    int running;
    pid_t pid;            /* the process whose thread samples (not a forked child) */
    pthread_t thread;
} tl;

static uint64_t now_ns(void)
{
    struct timespec ts;
    um_os_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static void take(struct sample *x)
{
    struct mallinfo2 mi = API(mallinfo2)();
    size_t cached = um_tcache_bytes(NULL);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        cached += um_arena_central_bytes(a);
    x->ms = (now_ns() - tl.t0_ns) / 1000000u;
    x->v[S_RSS] = um_os_rss();
    x->v[S_USED] = mi.uordblks + mi.hblkhd;
    x->v[S_CACHED] = cached < mi.fordblks ? cached : mi.fordblks;
    x->v[S_FREE] = mi.fordblks - x->v[S_CACHED];
}

/* Full: keep every other sample's maximum with its neighbour's time. */
static void halve(void)
{
    size_t k = 0;
    for (size_t i = 0; i + 1 < tl.n; i += 2, k++) {
        struct sample m = tl.s[i + 1];
        for (int j = 0; j < S_N; j++)
            if (tl.s[i].v[j] > m.v[j])
                m.v[j] = tl.s[i].v[j];
        tl.s[k] = m;
    }
    if (tl.n & 1)
        tl.s[k++] = tl.s[tl.n - 1];
    tl.n = k;
    tl.step *= 2;
}

static void record(void)
{
    struct sample x;
    take(&x);
    um_lock_acquire(&tl.lock);
    if (tl.n == TL_MAX)
        halve();
    tl.s[tl.n++] = x;
    um_lock_release(&tl.lock);
}

static void *sampler(void *arg)
{
    (void)arg;
    for (unsigned long tick = 1; !atomic_load(&tl.stop); tick++) {
        struct timespec d = {tl.interval_ms / 1000, (long)(tl.interval_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        if (atomic_load(&tl.stop))
            break;
        if (tick % tl.step == 0)
            record();
    }
    return NULL;
}

/* Start sampling every ms milliseconds (from report.c's constructor). */
void um_timeline_start(unsigned ms)
{
    tl.maplen = (TL_MAX * sizeof(struct sample) + um_pagesize - 1) & ~(um_pagesize - 1);
    tl.s = um_os_map(tl.maplen);
    if (!tl.s)
        return;
    tl.interval_ms = ms ? ms : 50;
    tl.step = 1;
    tl.t0_ns = now_ns();
    um_lock_init(&tl.lock);
    record();
    pthread_attr_t at;
    pthread_attr_init(&at);
    tl.pid = getpid();
    tl.running = pthread_create(&tl.thread, &at, sampler, NULL) == 0;
    pthread_attr_destroy(&at);
}

/* ---- the chart ---- */
#define CW 1000
#define CH 360
#define CX 90
#define CY 60

static const char *const series_name[S_N] = {"RSS (statm)", "in use", "cached", "free (bins, top; resident or not)"};
static const char *const series_key[S_N] = {"rss", "used", "cached", "free"};
static const char *const series_colour[S_N] = {"#d62728", "#3b6fc4", "#9b59b6", "#2ca02c"};

static size_t nice_step(size_t max, size_t parts)
{
    size_t raw = max / parts + 1, p = 1;
    while (p * 10 <= raw)
        p *= 10;
    return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

/* Draw the chart on fd; the sampler is stopped first. */
static void timeline_draw(int fd)
{
    char buf[256];
    struct sample last;
    take(&last);
    um_lock_acquire(&tl.lock);
    if (tl.n == TL_MAX)
        halve();
    tl.s[tl.n++] = last;
    size_t n = tl.n;
    uint64_t tmax = tl.s[n - 1].ms ? tl.s[n - 1].ms : 1;
    size_t vmax = 1;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < S_N; j++)
            vmax = tl.s[i].v[j] > vmax ? tl.s[i].v[j] : vmax;
    size_t mib = 1024 * 1024, ystep_mib = nice_step(vmax / mib + 1, 6);
    size_t ytop = ((vmax + ystep_mib * mib - 1) / (ystep_mib * mib)) * ystep_mib * mib;
    uint64_t xstep = nice_step((size_t)tmax, 10);
    uint64_t xtop = ((tmax + xstep - 1) / xstep) * xstep;
    char cmd[96];
    size_t cl = um_cmdline(cmd, sizeof cmd);
    for (size_t i = 0; i < cl; i++)
        if (cmd[i] == '<' || cmd[i] == '>' || cmd[i] == '&')
            cmd[i] = ' ';
    um_printf(fd, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                  "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" "
                  "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
              CX + CW + 40, CY + CH + 60, CX + CW + 40, CY + CH + 60);
    um_printf(fd, "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">umalloc timeline of pid %d: %s%s</text>\n",
              (int)getpid(), cmd, cl == sizeof cmd - 1 ? "..." : "");
    um_printf(fd, "<text x=\"10\" y=\"34\">%zu samples, one per %u ms (each the maximum of its span)</text>\n", n,
              tl.interval_ms * tl.step);
    for (int j = 0; j < S_N; j++)
        um_printf(fd, "<rect x=\"%d\" y=\"40\" width=\"12\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"46\">%s</text>\n",
                  10 + j * 220, series_colour[j], 26 + j * 220, series_name[j]);
    /* axes and grid */
    for (size_t y = 0; y <= ytop; y += ystep_mib * mib) {
        size_t py = CY + CH - (size_t)((double)y / (double)ytop * CH);
        um_printf(fd, "<line x1=\"%d\" y1=\"%zu\" x2=\"%d\" y2=\"%zu\" stroke=\"#ddd\"/>"
                      "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">%zu MiB</text>\n",
                  CX, py, CX + CW, py, CX - 6, py + 4, y / mib);
    }
    for (uint64_t t = 0; t <= xtop; t += xstep) {
        size_t px = CX + (size_t)((double)t / (double)xtop * CW);
        um_printf(fd, "<line x1=\"%zu\" y1=\"%d\" x2=\"%zu\" y2=\"%d\" stroke=\"#eee\"/>"
                      "<text x=\"%zu\" y=\"%d\" text-anchor=\"middle\">%zu.%zu s</text>\n",
                  px, CY, px, CY + CH, px, CY + CH + 16, (size_t)(t / 1000), (size_t)(t % 1000 / 100));
    }
    um_printf(fd, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", CX,
              CY, CW, CH);
    for (int j = 0; j < S_N; j++) {
        size_t peak = 0;
        for (size_t i = 0; i < n; i++)
            peak = tl.s[i].v[j] > peak ? tl.s[i].v[j] : peak;
        um_printf(fd, "<polyline class=\"series\" data-series=\"%s\" data-peak=\"%zu\" data-last=\"%zu\" "
                      "fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                  series_key[j], peak, tl.s[n - 1].v[j], series_colour[j]);
        for (size_t i = 0; i < n; i++) {
            size_t px = CX + (size_t)((double)tl.s[i].ms / (double)xtop * CW);
            size_t py = CY + CH - (size_t)((double)tl.s[i].v[j] / (double)ytop * CH);
            size_t len = um_snprintf(buf, sizeof buf, "%zu,%zu ", px, py);
            um_write(fd, buf, len);
        }
        um_printf(fd, "\"><title>%s: peak %zu KiB, at exit %zu KiB</title></polyline>\n", series_name[j],
                  peak >> 10, tl.s[n - 1].v[j] >> 10);
    }
    um_printf(fd, "</svg>\n");
    um_lock_release(&tl.lock);
}

/* At exit: stop the sampler, draw the chart into path. 0 on success. */
int um_timeline_finish(const char *path)
{
    if (!tl.s || tl.pid != getpid()) /* a forked child has no sampler */
        return -1;
    atomic_store(&tl.stop, 1);
    if (tl.running)
        pthread_join(tl.thread, NULL);
    tl.running = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    timeline_draw(fd);
    close(fd);
    return 0;
}
