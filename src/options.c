/*
 * options.c — settings: mallopt(), glibc's MALLOC_*_ environment variables
 * and the glibc.malloc.* names in GLIBC_TUNABLES. Values that do not parse
 * as a whole number are ignored, as glibc ignores them. Environment values
 * are read once, at initialisation, with getenv (which does not allocate).
 */
#include <malloc.h>
#include <stdlib.h>

#include "purge.h"
#include "tcache.h"
#include "umalloc.h"

/* A whole decimal or 0x-hex number, optionally negative (glibc reads
 * "-1" as the largest size: "never"); 0 when it does not parse. */
static int parse_num(const char *s, size_t len, unsigned long long *out)
{
    if (!s || len == 0)
        return 0;
    int neg = s[0] == '-';
    s += neg;
    len -= (size_t)neg;
    int base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    }
    if (len == 0 || len > 20)
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0 || v > (~0ull - (unsigned)d) / (unsigned)base)
            return 0;
        v = v * (unsigned)base + (unsigned)d;
    }
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

/* Apply an environment value. Trim threshold and top pad are sizes and take
 * any value (-1 = never trim); the rest must fit mallopt's int. */
static void set_env_param(int param, const char *s, size_t len)
{
    unsigned long long v;
    if (!parse_num(s, len, &v))
        return;
    if (param == M_TRIM_THRESHOLD || param == M_TOP_PAD) {
        if (param == M_TRIM_THRESHOLD)
            um_params.trim_threshold = (size_t)v;
        else
            um_params.top_pad = (size_t)v;
        um_params.no_dyn_threshold = 1;
        return;
    }
    if ((long long)v >= 0 && v <= INT32_MAX)
        um_mallopt(param, (int)v);
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

/* GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536:glibc.malloc.top_pad=0 */
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
            const char *key = s + plen;
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (name_eq(key, (size_t)(eq - key), names[i].tunable))
                    set_env_param(names[i].param, eq + 1, (size_t)(end - eq - 1));
        }
        s = *end ? end + 1 : end;
    }
}

void um_options_init(void)
{
    um_purge_init();
    parse_tunables(getenv("GLIBC_TUNABLES"));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!names[i].env)
            continue;
        const char *v = getenv(names[i].env);
        if (v)
            set_env_param(names[i].param, v, cstrlen(v));
    }
}

/* mallopt with glibc's meanings; 1 on success, 0 for a rejected value. */
int um_mallopt(int param, int value)
{
    arena *av = &um_main_arena;
    um_lock_acquire(&av->lock);
    um_consolidate(av);
    int ok = 1, purge_changed = 0;
    switch (param) {
    case M_MXFAST:
        if (value < 0 || value > (int)MAX_FAST_SIZE)
            ok = 0;
        else
            um_params.max_fast = value == 0 ? CHUNK_HDR
                                            : ((size_t)value + SIZE_SZ) & ~(size_t)ALIGN_MASK;
        break;
    case M_TRIM_THRESHOLD:
        um_params.trim_threshold = (size_t)(long)value;
        um_params.no_dyn_threshold = 1;
        purge_changed = 1; /* -1 also switches the purge off */
        break;
    case M_TOP_PAD:
        um_params.top_pad = (size_t)(long)value;
        um_params.no_dyn_threshold = 1;
        break;
    case M_MMAP_THRESHOLD:
        if ((size_t)(long)value > HEAP_MAX_SIZE / 2) {
            ok = 0;
        } else {
            um_params.mmap_threshold = (size_t)value;
            um_params.no_dyn_threshold = 1;
        }
        break;
    case M_MMAP_MAX:
        um_params.n_mmaps_max = value;
        um_params.no_dyn_threshold = 1;
        break;
    case M_CHECK_ACTION:
        break;
    case M_PERTURB:
        um_params.perturb = value & 0xff;
        um_params.tcache_off = um_params.perturb != 0;
        break;
    case M_ARENA_TEST:
        if (value > 0)
            um_params.arena_test = value;
        else
            ok = 0;
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
        purge_changed = 1;
        break;
    case M_ARENA_MAX:
        if (value > 0)
            um_params.arena_max = value;
        else
            ok = 0;
        break;
    default:
        ok = 0;
    }
    um_lock_release(&av->lock);
    um_tcache_refresh_settings();
    if (purge_changed)
        um_purge_sync();
    return ok;
}
