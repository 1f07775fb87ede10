// variants: release debug
// The RSS account (malloc_info's <rss>, umrun --stats) adds up: umalloc's
// resident parts (mincore on its own ranges) match what the kernel reports
// for the brk heap in /proc/self/smaps within a page, and with "not
// umalloc's" they sum to /proc/self/statm's RSS. Live, free and trimmed
// memory land in the right rows; page faults are counted.
#include "../common.h"

static char info[1 << 16], fbuf[1 << 16], smaps[1 << 20];

struct rss { long long live, tcache, central, bins, top, mapped, meta, other, statm, minflt;
             long long live_bytes, bins_bytes, top_bytes; };

static long long attr(const char *s, const char *type, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "type=\"%s\"", type);
    const char *p = strstr(s, key);
    if (!p)
        return -1;
    const char *end = strstr(p, "/>");
    snprintf(key, sizeof key, " %s=\"", name);
    const char *q = strstr(p, key);
    if (!q || (end && q > end))
        return -1;
    return strtoll(q + strlen(key), NULL, 10);
}

static struct rss take(void)
{
    FILE *f = fmemopen(info, sizeof info - 1, "w");
    CHECK(f != NULL);
    setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
    memset(info, 0, sizeof info);
    CHECK(malloc_info(0, f) == 0);
    fclose(f);
    const char *r = strstr(info, "<rss>");
    CHECK(r != NULL);
    struct rss x;
    x.live = attr(r, "live", "resident");
    x.tcache = attr(r, "tcache", "resident");
    x.central = attr(r, "central", "resident");
    x.bins = attr(r, "bins", "resident");
    x.top = attr(r, "top", "resident");
    x.mapped = attr(r, "mapped", "resident");
    x.meta = attr(r, "metadata", "resident");
    x.other = attr(r, "not-umalloc", "resident");
    x.live_bytes = attr(r, "live", "size");
    x.bins_bytes = attr(r, "bins", "size");
    x.top_bytes = attr(r, "top", "size");
    const char *s = strstr(r, "<statm resident=\"");
    CHECK(s != NULL);
    x.statm = strtoll(s + 17, NULL, 10);
    s = strstr(r, "<faults minor=\"");
    CHECK(s != NULL);
    x.minflt = strtoll(s + 15, NULL, 10);
    return x;
}

static long long umalloc_resident(const struct rss *x)
{
    return x->live + x->tcache + x->central + x->bins + x->top + x->mapped + x->meta;
}

/* Rss of the [heap] mapping, from smaps (read without malloc) */
static long long heap_rss_kernel(void)
{
    CHECK(t_read_file("/proc/self/smaps", smaps, sizeof smaps) > 0);
    const char *h = strstr(smaps, "[heap]");
    if (!h)
        return -1;
    const char *rss = strstr(h, "\nRss:");
    CHECK(rss != NULL);
    return strtoll(rss + 5, NULL, 10) * 1024;
}

static void check_sums(const char *when, const struct rss *x)
{
    long long mine = umalloc_resident(x), page = (long long)sysconf(_SC_PAGESIZE);
    long long kernel = heap_rss_kernel();
    printf("%s: umalloc resident %lld (live %lld, tcache %lld, central %lld, bins %lld, top %lld, "
           "mapped %lld, meta %lld), not umalloc's %lld, statm %lld; [heap] Rss %lld; minflt %lld\n",
           when, mine, x->live, x->tcache, x->central, x->bins, x->top, x->mapped, x->meta, x->other,
           x->statm, kernel, x->minflt);
    EXPECTF(mine + x->other == x->statm, "%s: parts %lld + other %lld != statm %lld", when, mine,
            x->other, x->statm);
    EXPECTF(mine <= x->statm, "%s: umalloc resident %lld above statm %lld", when, mine, x->statm);
    if (kernel >= 0)
        EXPECTF(llabs(kernel - (mine - x->mapped)) <= page,
                "%s: heap resident by mincore %lld, by smaps %lld (more than a page apart)", when,
                mine - x->mapped, kernel);
}

int main(void)
{
    CHECK(mallopt(M_MMAP_MAX, 0) == 1);          /* everything on the brk heap */
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);   /* freed memory stays until malloc_trim */
    size_t mib = t_scale(32, 8);
    size_t n = mib * 16;                         /* 64 KiB blocks */
    static void *v[32 * 16];
    struct rss before = take();
    check_sums("start", &before);
    for (size_t i = 0; i < n; i++) {
        CHECK((v[i] = malloc(64 * 1024 - 64)) != NULL);
        memset(v[i], 7, 64 * 1024 - 64);
    }
    struct rss live = take();
    check_sums("live", &live);
    long long want = (long long)(mib * T_MIB) * 97 / 100;
    EXPECTF(live.live >= want, "live blocks resident %lld, expected >= %lld", live.live, want);
    EXPECTF(live.minflt - before.minflt >= (long long)(mib * T_MIB / 4096) * 9 / 10,
            "only %lld minor faults for %zu MiB touched", live.minflt - before.minflt, mib);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    struct rss freed = take();
    check_sums("freed", &freed);
    EXPECTF(freed.live < live.live - want, "live resident %lld after freeing everything", freed.live);
    long long idle = freed.tcache + freed.central + freed.bins + freed.top;
    EXPECTF(idle >= want, "freed memory resident %lld, expected >= %lld in caches/bins/top", idle, want);
    malloc_trim(0);
    struct rss trimmed = take();
    check_sums("trimmed", &trimmed);
    EXPECTF(trimmed.bins + trimmed.top + trimmed.tcache + trimmed.central < idle / 4,
            "after malloc_trim still %lld resident in free memory (was %lld)",
            trimmed.bins + trimmed.top + trimmed.tcache + trimmed.central, idle);
    return t_done();
}
