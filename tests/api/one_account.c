// One account everywhere: mallinfo2, malloc_stats, malloc_info and the heap
// map agree on what is in use, cached (thread and central caches) and free,
// after a pattern that leaves all three: live blocks, freed blocks kept in
// the thread cache, and freed blocks in the bins.
#include "../common.h"
#ifdef UMALLOC_PREFIXED
void umalloc_heap_map(int fd);
void umalloc_thread_flush(void);
#else
void umalloc_heap_map(int fd) __attribute__((weak));
void umalloc_thread_flush(void) __attribute__((weak));
#endif

/* the number after `key` in s (first match after `from`), or -1 */
static long long num_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    if (!p)
        return -1;
    p += strlen(key);
    while (*p == ' ' || *p == '=' || *p == '"')
        p++;
    return strtoll(p, NULL, 10);
}

/* sum of "N in use (B B)" style fields over every arena line of the map */
static void map_sums(const char *map, long long *inuse, long long *cached, long long *freeb, long long *top)
{
    *inuse = *cached = *freeb = *top = 0;
    for (const char *l = map; (l = strstr(l, "\narena ")); l++) {
        long long n, b;
        const char *q = strstr(l, " in use (");
        if (!q || sscanf(q, " in use (%lld", &b) != 1) continue;
        *inuse += b;
        q = strstr(l, " cached (");
        if (q && sscanf(q, " cached (%lld", &b) == 1) *cached += b;
        q = strstr(l, " free (");
        if (q && sscanf(q, " free (%lld", &b) == 1) *freeb += b;
        q = strstr(l, ", top ");
        if (q && sscanf(q, ", top %lld", &n) == 1) *top += n;
    }
}

static char stats_out[8192], map_out[1 << 16], info_out[1 << 16];

int main(void)
{
    if (!umalloc_heap_map || !umalloc_thread_flush)
        t_skip("umalloc_heap_map not exported");
    enum { N = 600 };
    static void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = malloc((size_t)(i * 97 % 3000) + 16);
        CHECK(v[i] != NULL);
        memset(v[i], 1, 16);
    }
    for (int i = 0; i < N; i += 3)
        free(v[i]);
    umalloc_thread_flush();           /* these go to the bins: free */
    for (int i = 1; i < N; i += 3)
        free(v[i]);                   /* these stay in the thread cache: cached */

    /* the FILE for malloc_info is set up first: nothing allocates below */
    static char fbuf[1 << 16];
    FILE *f = fmemopen(info_out, sizeof info_out - 1, "w");
    CHECK(f != NULL);
    setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
    char path[] = "/tmp/umalloc-account-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    struct t_capture c = t_capture_stderr();

    struct mallinfo2 mi = mallinfo2();
    malloc_stats();
    umalloc_heap_map(fd);
    CHECK(malloc_info(0, f) == 0);

    t_capture_end(c, stats_out, sizeof stats_out);
    fflush(f);
    ssize_t n = pread(fd, map_out, sizeof map_out - 1, 0);
    CHECK(n > 0);
    map_out[n] = 0;
    close(fd);

    long long st_inuse = num_after(stats_out, "Total (incl. mmap):\nsystem bytes");
    const char *tot = strstr(stats_out, "Total (incl. mmap):");
    CHECK(tot != NULL);
    st_inuse = num_after(tot, "in use bytes");
    long long st_cached = num_after(stats_out, "cached bytes"), st_free = num_after(stats_out, "free bytes");
    long long m_inuse, m_cached, m_free, m_top;
    map_sums(map_out, &m_inuse, &m_cached, &m_free, &m_top);
    long long i_tc = num_after(strstr(info_out, "<total type=\"tcache\""), "size=");
    long long i_central = num_after(strstr(info_out, "<total type=\"central\""), "size=");
    const char *rss = strstr(info_out, "<rss>");
    CHECK(rss != NULL);
    long long r_live = num_after(strstr(rss, "type=\"live\""), "size=");
    long long r_meta = num_after(strstr(rss, "type=\"metadata\""), "size=");
    long long r_tc = num_after(strstr(rss, "type=\"tcache\""), "size=");
    long long r_central = num_after(strstr(rss, "type=\"central\""), "size=");
    long long r_bins = num_after(strstr(rss, "type=\"bins\""), "size=");
    long long r_top = num_after(strstr(rss, "type=\"top\""), "size=");

    long long heap_inuse = (long long)mi.uordblks, heap_avail = (long long)mi.fordblks;
    printf("mallinfo2: uordblks %lld fordblks %lld hblkhd %zu\n", heap_inuse, heap_avail, mi.hblkhd);
    printf("malloc_stats: in use %lld cached %lld free %lld\n", st_inuse, st_cached, st_free);
    printf("heap map: in use %lld cached %lld free %lld top %lld\n", m_inuse, m_cached, m_free, m_top);
    printf("malloc_info: tcache %lld central %lld; rss live %lld meta %lld tcache %lld central %lld bins %lld top %lld\n",
           i_tc, i_central, r_live, r_meta, r_tc, r_central, r_bins, r_top);

    EXPECTF(st_cached > 0 && st_free > 0, "the pattern left nothing cached (%lld) or free (%lld)",
            st_cached, st_free);
    EXPECTF(st_inuse == heap_inuse + (long long)mi.hblkhd, "in use: malloc_stats %lld, mallinfo2 %lld + %zu mapped",
            st_inuse, heap_inuse, mi.hblkhd);
    EXPECTF(st_cached + st_free == heap_avail, "cached + free: malloc_stats %lld + %lld, mallinfo2 fordblks %lld",
            st_cached, st_free, heap_avail);
    EXPECTF(m_inuse == heap_inuse, "in use: heap map %lld, mallinfo2 %lld", m_inuse, heap_inuse);
    EXPECTF(m_cached == st_cached, "cached: heap map %lld, malloc_stats %lld", m_cached, st_cached);
    EXPECTF(m_free + m_top == st_free, "free: heap map %lld + top %lld, malloc_stats %lld", m_free, m_top, st_free);
    EXPECTF(i_tc + i_central == st_cached, "cached: malloc_info tcache %lld + central %lld, malloc_stats %lld",
            i_tc, i_central, st_cached);
    EXPECTF(r_live + r_meta == heap_inuse, "malloc_info rss live %lld + metadata %lld, mallinfo2 %lld",
            r_live, r_meta, heap_inuse);
    EXPECTF(r_tc == i_tc && r_central == i_central, "malloc_info rss cached parts differ from its totals");
    EXPECTF(r_bins + r_top == st_free, "malloc_info rss bins %lld + top %lld, malloc_stats free %lld",
            r_bins, r_top, st_free);
    fclose(f);
    for (int i = 2; i < N; i += 3)
        free(v[i]);
    return t_done();
}
