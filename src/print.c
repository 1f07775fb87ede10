/*
 * print.c — a small printf that never allocates, and the fatal-error path.
 * Supports %s %c %d %i %u %x %p %% with l/z/ll modifiers, a width and the
 * '0' and '-' flags: enough for malloc_stats, malloc_info and the heap map.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>

#include "internal.h"

void um_write(int fd, const char *s, size_t n)
{
    int saved = errno;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    errno = saved;
}

struct sink {
    char *buf;
    size_t cap, len; /* len counts everything, even what did not fit */
};

static void sink_put(struct sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, s->len++)
        if (s->len + 1 < s->cap)
            s->buf[s->len] = p[i];
}

static void sink_pad(struct sink *s, char c, int n)
{
    for (; n > 0; n--)
        sink_put(s, &c, 1);
}

/* Render one integer in base 10 or 16 with width and flags. */
static void fmt_int(struct sink *s, unsigned long long v, int neg, int base, int width, int zero,
                    int left)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v);
    int len = n + neg;
    if (!left && !zero)
        sink_pad(s, ' ', width - len);
    if (neg)
        sink_put(s, "-", 1);
    if (!left && zero)
        sink_pad(s, '0', width - len);
    while (n > 0)
        sink_put(s, &tmp[--n], 1);
    if (left)
        sink_pad(s, ' ', width - len);
}

static void vformat(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(s, fmt, 1);
            continue;
        }
        fmt++;
        int zero = 0, left = 0, width = 0, lng = 0;
        for (; *fmt == '0' || *fmt == '-'; fmt++) {
            if (*fmt == '0')
                zero = 1;
            else
                left = 1;
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        for (; *fmt == 'l' || *fmt == 'z'; fmt++)
            lng++;
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            fmt_int(s, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0, 10,
                    width, zero, left);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            fmt_int(s, v, 0, *fmt == 'u' ? 10 : 16, width, zero, left);
            break;
        }
        case 'p':
            sink_put(s, "0x", 2);
            fmt_int(s, (uintptr_t)va_arg(ap, void *), 0, 16, width, zero, left);
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            size_t n = 0;
            if (!str)
                str = "(null)";
            while (str[n])
                n++;
            if (!left)
                sink_pad(s, ' ', width - (int)n);
            sink_put(s, str, n);
            if (left)
                sink_pad(s, ' ', width - (int)n);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            sink_put(s, &c, 1);
            break;
        }
        case '%':
            sink_put(s, "%", 1);
            break;
        default:
            return;
        }
    }
}

size_t um_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    struct sink s = {buf, cap, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(&s, fmt, ap);
    va_end(ap);
    if (cap)
        buf[s.len < cap ? s.len : cap - 1] = '\0';
    return s.len;
}

void um_printf(int fd, const char *fmt, ...)
{
    char buf[512];
    struct sink s = {buf, sizeof buf, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(&s, fmt, ap);
    va_end(ap);
    um_write(fd, buf, s.len < sizeof buf ? s.len : sizeof buf - 1);
}

/* One line on stderr, then abort: "umalloc: free(): double free of 0x.. (size 48)". */
void um_fatal(const char *fn, const char *what, const void *addr, size_t size)
{
    if (size)
        um_printf(2, "umalloc: %s(): %s %p (size %zu)\n", fn, what, addr, size);
    else
        um_printf(2, "umalloc: %s(): %s %p\n", fn, what, addr);
    abort();
}

/* The command line from /proc/self/cmdline, arguments joined by spaces and
 * NUL-terminated; returns its length (0 if unreadable). */
size_t um_cmdline(char *buf, size_t cap)
{
    size_t n = 0;
    int in = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (in >= 0) {
        ssize_t r;
        while (n < cap - 1 && ((r = read(in, buf + n, cap - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
            n += r > 0 ? (size_t)r : 0;
        close(in);
    }
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0' || buf[i] == '\n')
            buf[i] = ' ';
    buf[n] = '\0';
    return n;
}
