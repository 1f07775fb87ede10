// malloc_stats: writes the glibc-format report to stderr (fd 2).
#include "../common.h"

static char out[1 << 16];

/* Value of the first "<label> = <number>" line after `from`. */
static long long field(const char *from, const char *label)
{
    const char *s = strstr(from, label);
    if (!s)
        return -1;
    s = strchr(s, '=');
    return s ? strtoll(s + 1, NULL, 10) : -1;
}

int main(void)
{
    void *big = malloc(T_MIB);                /* mmapped with the default threshold */
    void *small = malloc(1000);
    CHECK(big && small);
    memset(big, 1, T_MIB);
    memset(small, 1, 1000);

    struct t_capture c = t_capture_stderr();
    CHECK(c.fd >= 0);
    malloc_stats();
    t_capture_end(c, out, sizeof out);

    const char *need[] = { "Arena 0:", "system bytes", "in use bytes", "Total (incl. mmap):",
                           "max mmap regions", "max mmap bytes" };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        EXPECTF(strstr(out, need[i]) != NULL, "malloc_stats output lacks \"%s\"", need[i]);

    const char *a0 = strstr(out, "Arena 0:");
    const char *tot = strstr(out, "Total (incl. mmap):");
    if (a0 && tot) {
        EXPECTF(a0 < tot, "\"Arena 0:\" after the total");
        long long sys0 = field(a0, "system bytes"), use0 = field(a0, "in use bytes");
        long long sys = field(tot, "system bytes"), use = field(tot, "in use bytes");
        long long regions = field(tot, "max mmap regions"), mbytes = field(tot, "max mmap bytes");
        EXPECTF(sys0 > 0 && use0 > 0 && use0 <= sys0, "arena 0: system %lld, in use %lld", sys0, use0);
        EXPECTF(use0 >= 1000, "arena 0 in use %lld with a live 1000-byte block", use0);
        EXPECTF(sys >= sys0 + (long long)T_MIB, "total system %lld, arena 0 %lld, 1 MiB mmapped", sys, sys0);
        EXPECTF(use >= (long long)T_MIB + 1000 && use <= sys, "total in use %lld (system %lld)", use, sys);
        EXPECTF(regions >= 1, "max mmap regions %lld with a live mmapped block", regions);
        EXPECTF(mbytes >= (long long)T_MIB, "max mmap bytes %lld", mbytes);
    }
    if (t_failures)
        fprintf(stderr, "--- malloc_stats output ---\n%s", out);
    free(big);
    free(small);
    return t_done();
}
