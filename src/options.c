/*
 * options.c — settings: mallopt(), glibc's MALLOC_*_ environment variables
 * and the glibc.malloc.* names in GLIBC_TUNABLES. Values are whole numbers
 * (decimal, 0x-hex or 0-octal as glibc reads them, -1 for "never") with an
 * optional K, M or G suffix (powers of 1024); a value that does not parse,
 * or that mallopt rejects, is ignored with one line on stderr saying so —
 * never silently. Environment values are read once, at initialisation, with
 * getenv (which does not allocate). Each setting remembers where its value
 * came from, for UMALLOC_VERBOSE / umrun --verbose.
 */
#include <malloc.h>
#include <stdlib.h>

#include "purge.h"
#include "tcache.h"
#include "umalloc.h"

/* Where each setting's value came from (index: enum opt_slot). */
enum opt_slot { OPT_MMAP_THRESHOLD, OPT_TRIM_THRESHOLD, OPT_TOP_PAD, OPT_MXFAST, OPT_MMAP_MAX,
                OPT_ARENA_MAX, OPT_ARENA_TEST, OPT_PERTURB, OPT_NSLOTS };
enum { FROM_DEFAULT, FROM_TUNABLES, FROM_ENV, FROM_MALLOPT };
static unsigned char opt_from[OPT_NSLOTS];
static int setting_from = FROM_MALLOPT; /* origin of the um_mallopt call in progress */

static int param_slot(int param)
{
    switch (param) {
    case M_MMAP_THRESHOLD: return OPT_MMAP_THRESHOLD;
    case M_TRIM_THRESHOLD: return OPT_TRIM_THRESHOLD;
    case M_TOP_PAD: return OPT_TOP_PAD;
    case M_MXFAST: return OPT_MXFAST;
    case M_MMAP_MAX: return OPT_MMAP_MAX;
    case M_ARENA_MAX: return OPT_ARENA_MAX;
    case M_ARENA_TEST: return OPT_ARENA_TEST;
    case M_PERTURB: return OPT_PERTURB;
    default: return -1;
    }
}

static void note_origin(int param, int from)
{
    int k = param_slot(param);
    if (k >= 0)
        opt_from[k] = (unsigned char)from;
}

/* A whole decimal, 0x-hex or 0-octal number (glibc reads a leading 0 as
 * octal: MALLOC_PERTURB_=0245 is 165), after spaces or tabs and a sign if
 * any (as glibc's tunables read it: " 64" and "+64" are 64, and "-1" the
 * largest size: "never"), optionally ending in K, M or G (x1024, x1024^2,
 * x1024^3); 0 when it does not parse or overflows. */
static int parse_num(const char *s, size_t len, unsigned long long *out)
{
    if (!s)
        return 0;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (len == 0)
        return 0;
    unsigned shift = 0;
    switch (s[len - 1]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    }
    if (shift)
        len--;
    if (len == 0)
        return 0;
    int neg = s[0] == '-', sign = neg || s[0] == '+';
    s += sign;
    len -= (size_t)sign;
    int base = 10;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
        if (len == 0) { /* "0x" alone is 0, as glibc's tunables read it */
            *out = 0;
            return 1;
        }
    } else if (len > 1 && s[0] == '0') {
        base = 8;
        s++;
        len--;
    }
    if (len == 0 || len > 22) /* (64 bits: 22 octal digits; overflow is checked below) */
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d >= base)
            d = -1; /* an 8 or 9 in an octal number */
        if (d < 0 || v > (~0ull - (unsigned)d) / (unsigned)base)
            return 0;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (shift && (v >> (63 - shift)) != 0)
        return 0;
    v <<= shift;
    *out = neg ? 0ull - v : v;
    return 1;
}

static size_t cstrlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---- the environment ----
 * umalloc reads only variables named MALLOC_*, UMALLOC_* and
 * GLIBC_TUNABLES. Their names are read-only data of the library, and the
 * first read of that data maps the library's whole read-only segment
 * (tables, strings and unwind data: 7 pages, which the kernel maps together
 * around one fault) into every process. So the environment is scanned once
 * for the three prefixes, compared character by character in the code, and
 * when it holds none of them no name is read at all. */
static _Atomic int env_state; /* 0: not scanned, 1: none of ours, 2: some */

static int env_ours(const char *s)
{
    if (s[0] == 'U')
        s++;
    if (s[0] == 'M' && s[1] == 'A' && s[2] == 'L' && s[3] == 'L' && s[4] == 'O' && s[5] == 'C' &&
        s[6] == '_')
        return 1;
    return s[0] == 'G' && s[1] == 'L' && s[2] == 'I' && s[3] == 'B' && s[4] == 'C' && s[5] == '_' &&
           s[6] == 'T';
}

/* getenv(name) for one of umalloc's variables. */
const char *um_env(const char *name)
{
    int st = atomic_load_explicit(&env_state, memory_order_relaxed);
    if (st == 0) {
        st = 1;
        for (char **e = environ; e && *e; e++)
            if (env_ours(*e)) {
                st = 2;
                break;
            }
        atomic_store_explicit(&env_state, st, memory_order_relaxed);
    }
    return st == 2 ? getenv(name) : NULL;
}

/* Is this process the one umrun runs? UMALLOC_REPORT_PID (set by umrun to
 * the pid it execs) confines reports and warnings to it; unset: every
 * process is. */
int um_report_target(void)
{
    const char *v = um_env("UMALLOC_REPORT_PID");
    if (!v || !*v)
        return 1;
    unsigned long long pid;
    return parse_num(v, cstrlen(v), &pid) && pid == (unsigned long long)getpid();
}

static void copy_bounded(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
    dst[n] = '\0';
}

/* One line on stderr for a value we will not use (only in the process
 * being reported on, so a run's children do not repeat it). */
static void warn_ignored(const char *where, const char *name, size_t nlen, const char *s,
                         size_t len, const char *why)
{
    if (!um_report_target())
        return;
    char nm[64], val[64];
    copy_bounded(nm, sizeof nm, name, nlen);
    copy_bounded(val, sizeof val, s, len);
    um_printf(2, "umalloc: ignoring %s%s=%s: %s\n", where, nm, val, why);
}

static const char NOT_A_NUMBER[] =
    "not a number (a whole number, optionally with a K, M or G suffix)";

/* Apply an environment value. Trim threshold and top pad are sizes and take
 * any value (-1 = never trim); the rest must fit mallopt's int. */
static void set_env_param(const char *where, const char *name, size_t nlen, int param,
                          const char *s, size_t len, int from)
{
    unsigned long long v;
    if (!parse_num(s, len, &v)) {
        warn_ignored(where, name, nlen, s, len,
                     NOT_A_NUMBER);
        return;
    }
    if (param == M_TRIM_THRESHOLD || param == M_TOP_PAD) {
        if (param == M_TRIM_THRESHOLD)
            um_params.trim_threshold = (size_t)v;
        else
            um_params.top_pad = (size_t)v;
        um_params.no_dyn_threshold = 1;
        note_origin(param, from);
        return;
    }
    int ok = 0;
    /* (glibc's tunables take arena_max and arena_test from 1, mallopt
     * itself returning 1 at 0 and changing nothing; perturb up to 0xff) */
    if ((param == M_ARENA_MAX || param == M_ARENA_TEST) && v == 0)
        v = ~0ull; /* out of range */
    if (param == M_PERTURB && v > 0xff)
        v = ~0ull;
    if ((long long)v >= 0 && v <= INT32_MAX) {
        setting_from = from;
        ok = um_mallopt(param, (int)v);
        setting_from = FROM_MALLOPT;
    }
    if (!ok)
        warn_ignored(where, name, nlen, s, len, "out of range");
}

static const struct {
    const char *env, *tunable;
    int param;
} names[] = {
    {"MALLOC_MMAP_THRESHOLD_", "mmap_threshold", M_MMAP_THRESHOLD},
    {"MALLOC_TRIM_THRESHOLD_", "trim_threshold", M_TRIM_THRESHOLD},
    {"MALLOC_TOP_PAD_", "top_pad", M_TOP_PAD},
    {"MALLOC_MMAP_MAX_", "mmap_max", M_MMAP_MAX},
    {"MALLOC_ARENA_MAX", "arena_max", M_ARENA_MAX},
    {"MALLOC_ARENA_TEST", "arena_test", M_ARENA_TEST},
    {"MALLOC_PERTURB_", "perturb", M_PERTURB},
    {NULL, "mxfast", M_MXFAST},
};

static int name_eq(const char *a, size_t alen, const char *b)
{
    size_t n = cstrlen(b);
    if (alen != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* glibc's thread-cache tunables. umalloc sizes its thread caches by
 * demand within a byte budget (tcache.c; UMALLOC_TCACHE_MAX sets the
 * budget), so of glibc's counts and sizes it takes only 0, the way to turn
 * the caches off (every malloc and free then goes to the arena, as in
 * glibc); any other value is reported and ignored. */
static void set_tcache_tunable(const char *name, size_t nlen, const char *v, size_t vlen)
{
    unsigned long long n;
    if (!parse_num(v, vlen, &n)) {
        warn_ignored("GLIBC_TUNABLES: ", name, nlen, v, vlen,
                     NOT_A_NUMBER);
    } else if (n == 0) {
        um_params.tcache_none = 1;
        um_params.tcache_off = 1;
    } else {
        warn_ignored("GLIBC_TUNABLES: ", name, nlen, v, vlen,
                     "umalloc sizes its thread caches by demand (UMALLOC_TCACHE_MAX sets a "
                     "thread's byte budget); 0, which turns them off, is the value it takes");
    }
}

/* glibc.malloc.hugetlb, as in glibc 2.35 and later: 1 asks the kernel for
 * transparent huge pages in the heaps and in mapped blocks of a huge page
 * or more (madvise), and the break, every heap and every purge and trim
 * move in whole huge pages (um_grain); 0 is the default. 2 (glibc maps
 * hugetlbfs pages, which the administrator must reserve) is reported and
 * ignored, as is 1 when the kernel has THP off. Read once, at the init:
 * the heaps' growth and purges must agree on the unit for the whole run. */
static void set_hugetlb_tunable(const char *name, size_t nlen, const char *v, size_t vlen)
{
    unsigned long long n;
    if (!parse_num(v, vlen, &n)) {
        warn_ignored("GLIBC_TUNABLES: ", name, nlen, v, vlen, NOT_A_NUMBER);
    } else if (n == 0) {
        um_params.thp = 0;
    } else if (n == 1) {
        size_t thp = um_os_thp_size();
        if (thp)
            um_params.thp = thp;
        else
            warn_ignored("GLIBC_TUNABLES: ", name, nlen, v, vlen,
                         "this kernel has no transparent huge pages of 8 MiB or less "
                         "(/sys/kernel/mm/transparent_hugepage)");
    } else {
        warn_ignored("GLIBC_TUNABLES: ", name, nlen, v, vlen,
                     "umalloc has transparent huge pages (1), not hugetlbfs pages (2)");
    }
}

/* GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536:glibc.malloc.top_pad=0
 * Names of other tunable namespaces (glibc.pthread.*, glibc.cpu.*) are
 * glibc's business and pass silently; a glibc.malloc name umalloc does not
 * take (check, tcache_unsorted_limit, a misspelling) is reported. */
static void parse_tunables(const char *s)
{
    static const char prefix[] = "glibc.malloc.";
    while (s && *s) {
        const char *end = s;
        while (*end && *end != ':')
            end++;
        const char *eq = s;
        while (eq < end && *eq != '=')
            eq++;
        size_t plen = sizeof prefix - 1;
        if (eq < end && (size_t)(eq - s) > plen && name_eq(s, plen, prefix)) {
            const char *key = s + plen, *v = eq + 1;
            size_t klen = (size_t)(eq - key), vlen = (size_t)(end - v), nlen = (size_t)(eq - s);
            int known = 0;
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (name_eq(key, klen, names[i].tunable)) {
                    set_env_param("GLIBC_TUNABLES: ", s, nlen, names[i].param, v, vlen,
                                  FROM_TUNABLES);
                    known = 1;
                }
            if (name_eq(key, klen, "tcache_count") || name_eq(key, klen, "tcache_max")) {
                set_tcache_tunable(s, nlen, v, vlen);
                known = 1;
            }
            if (name_eq(key, klen, "hugetlb")) {
                set_hugetlb_tunable(s, nlen, v, vlen);
                known = 1;
            }
            if (!known)
                warn_ignored("GLIBC_TUNABLES: ", s, nlen, v, vlen, "not a setting umalloc has");
        }
        s = *end ? end + 1 : end;
    }
}

void um_options_init(void)
{
    um_purge_init();
    /* UMALLOC_TCACHE_MAX: one thread cache's byte budget (K/M/G allowed);
     * unset or 0 keeps the default share of 4 MiB among the live threads */
    const char *tm = um_env("UMALLOC_TCACHE_MAX");
    unsigned long long tmv;
    if (tm && parse_num(tm, cstrlen(tm), &tmv) && tmv <= ((unsigned long long)1 << 40))
        um_params.tcache_max = (size_t)tmv;
    else if (tm)
        um_printf(2, "umalloc: UMALLOC_TCACHE_MAX=%s ignored: not a size\n", tm);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!names[i].env)
            continue;
        const char *v = um_env(names[i].env);
        if (v)
            set_env_param("", names[i].env, cstrlen(names[i].env), names[i].param, v, cstrlen(v),
                          FROM_ENV);
    }
    /* after the MALLOC_*_ variables: a setting in GLIBC_TUNABLES wins over
     * its MALLOC_*_ alias, as in glibc */
    parse_tunables(um_env("GLIBC_TUNABLES"));
}

/* mallopt with glibc's meanings; 1 on success, 0 for a rejected value. */
int um_mallopt(int param, int value)
{
    /* (relaxed stores: the paths that read the settings hold other arenas'
     * locks, or none) */
    arena *av = &um_main_arena;
    um_lock_acquire(&av->lock);
    um_consolidate(av);
    int ok = 1, changed = 1, purge_changed = 0;
    switch (param) {
    case M_MXFAST:
        if (value < 0 || value > (int)MAX_FAST_SIZE)
            ok = 0;
        else
            RELAXED_STORE(um_params.max_fast,
                          value == 0 ? CHUNK_HDR : ((size_t)value + SIZE_SZ) & ~(size_t)ALIGN_MASK);
        break;
    case M_TRIM_THRESHOLD:
        RELAXED_STORE(um_params.trim_threshold, (size_t)(long)value);
        RELAXED_STORE(um_params.no_dyn_threshold, 1);
        purge_changed = 1; /* -1 also switches the purge off */
        break;
    case M_TOP_PAD:
        RELAXED_STORE(um_params.top_pad, (size_t)(long)value);
        RELAXED_STORE(um_params.no_dyn_threshold, 1);
        break;
    case M_MMAP_THRESHOLD:
        if ((size_t)(long)value > HEAP_MAX_SIZE / 2) {
            ok = 0;
        } else {
            RELAXED_STORE(um_params.mmap_threshold, (size_t)value);
            RELAXED_STORE(um_params.no_dyn_threshold, 1);
        }
        break;
    case M_MMAP_MAX:
        RELAXED_STORE(um_params.n_mmaps_max, value);
        RELAXED_STORE(um_params.no_dyn_threshold, 1);
        break;
    case M_CHECK_ACTION:
        break;
    case M_PERTURB:
        /* the whole int, as glibc keeps it: any value but 0 turns the fill
         * on, and memset takes its low byte (256 fills freed memory with 0
         * and new memory with 0xff; masked here, it had turned it off) */
        RELAXED_STORE(um_params.perturb, value);
        RELAXED_STORE(um_params.tcache_off, value != 0 || um_params.tcache_none);
        break;
    case M_ARENA_TEST:
        /* (value <= 0: no change, yet 1, as glibc returns; the environment
         * reports it as out of range, set_env_param) */
        if (value > 0)
            RELAXED_STORE(um_params.arena_test, value);
        else
            changed = 0;
        break;
    case M_UMALLOC_PURGE_DECAY:
        if (value < -1)
            ok = 0;
        else
            RELAXED_STORE(um_params.purge_decay_ms, value);
        purge_changed = 1;
        break;
    case M_UMALLOC_PURGE_THREAD:
        RELAXED_STORE(um_params.purge_thread, value != 0);
        /* the program's own choice: a fork child's pending restart of
         * its parent's thread (purge.c) is off */
        atomic_store_explicit(&um_purge_restart, 0, memory_order_relaxed);
        purge_changed = 1;
        break;
    case M_ARENA_MAX:
        if (value > 0)
            RELAXED_STORE(um_params.arena_max, value);
        else
            changed = 0; /* (as M_ARENA_TEST) */
        break;
    default:
        ok = 0;
    }
    if (ok && changed)
        note_origin(param, setting_from);
    um_lock_release(&av->lock);
    um_tcache_refresh_settings();
    if (purge_changed)
        um_purge_sync();
    return ok;
}

/* The settings in effect and where each came from (UMALLOC_VERBOSE). */
void um_options_print(int fd)
{
    static const char *const from_name[] = {"default", "GLIBC_TUNABLES", "MALLOC_*_ environment",
                                            "mallopt"};
    static const char *const opt_name[OPT_NSLOTS] = {
        "mmap_threshold", "trim_threshold", "top_pad", "mxfast (chunk)", "mmap_max",
        "arena_max", "arena_test", "perturb"};
    size_t val[OPT_NSLOTS] = {
        RELAXED_LOAD(um_params.mmap_threshold), RELAXED_LOAD(um_params.trim_threshold),
        RELAXED_LOAD(um_params.top_pad),
        RELAXED_LOAD(um_params.max_fast) <= CHUNK_HDR ? 0 : RELAXED_LOAD(um_params.max_fast),
        (size_t)RELAXED_LOAD(um_params.n_mmaps_max), (size_t)RELAXED_LOAD(um_params.arena_max),
        (size_t)RELAXED_LOAD(um_params.arena_test), (size_t)(unsigned)RELAXED_LOAD(um_params.perturb)};
    int dyn = !RELAXED_LOAD(um_params.no_dyn_threshold);
    um_printf(fd, "settings in effect (value, where it came from):\n");
    for (int k = 0; k < OPT_NSLOTS; k++) {
        const char *note = "";
        if (dyn && (k == OPT_MMAP_THRESHOLD || k == OPT_TRIM_THRESHOLD) &&
            val[k] != (k == OPT_MMAP_THRESHOLD ? DEFAULT_MMAP_THRESHOLD : DEFAULT_TRIM_THRESHOLD))
            note = ", raised by the dynamic mmap threshold";
        if ((k == OPT_ARENA_MAX || k == OPT_ARENA_TEST) && val[k] == 0)
            note = " (0: one arena per two CPUs)";
        if (k == OPT_TRIM_THRESHOLD && val[k] == (size_t)-1)
            um_printf(fd, "  %-15s %12s  %s%s\n", opt_name[k], "-1 (never)", from_name[opt_from[k]], note);
        else
            um_printf(fd, "  %-15s %12zu  %s%s\n", opt_name[k], val[k], from_name[opt_from[k]], note);
    }
    const char *tc_from = "default";
    if (um_params.tcache_none)
        tc_from = "GLIBC_TUNABLES (tcache_count or tcache_max 0)";
    else if (RELAXED_LOAD(um_params.tcache_off))
        tc_from = "off while perturb is set";
    um_printf(fd, "  %-15s %12s  %s\n", "tcache", RELAXED_LOAD(um_params.tcache_off) ? "off" : "on",
              tc_from);
    if (um_params.thp)
        um_printf(fd, "  %-15s %12s  GLIBC_TUNABLES (transparent huge pages of %zu KiB)\n", "hugetlb",
                  "1", um_params.thp >> 10);
    else
        um_printf(fd, "  %-15s %12s  default\n", "hugetlb", "0");
}
