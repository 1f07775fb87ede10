// malloc_stats prints to the stderr stream, as glibc's does: a program that
// points stderr at a file of its own finds the report there, in its place
// between what the program wrote before and after (a fully buffered stream,
// with text waiting in its buffer when malloc_stats is called), and nothing
// goes to descriptor 2. A stream with no descriptor (open_memstream, or a
// fopencookie stream whose writes allocate) gets the report too, and errno
// is kept (fileno of such a stream sets EBADF);
// also where the process may not create files in memory (memfd_create
// refused by a seccomp filter, as sandboxes do: the report went through
// one, and such a stream got nothing).
#include "../common.h"

/* A stream whose writes allocate (a fopencookie stream, unbuffered, whose
 * write function copies each piece into a block of its own): malloc_stats
 * must hold no allocator lock while it writes, or this deadlocks. */
static char cookie_out[1 << 14];
static size_t cookie_len;
static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    (void)c;
    char *copy = malloc(n + 1);
    if (!copy)
        return -1;
    memcpy(copy, buf, n);
    void *more = malloc(4096 + n); /* and one more, of another size */
    free(more);
    size_t k = n < sizeof cookie_out - 1 - cookie_len ? n : sizeof cookie_out - 1 - cookie_len;
    memcpy(cookie_out + cookie_len, copy, k);
    cookie_len += k;
    free(copy);
    return (ssize_t)n;
}

static void cookie_case(void)
{
    cookie_io_functions_t io = {NULL, cookie_write, NULL, NULL};
    FILE *c = fopencookie(NULL, "w", io);
    CHECK(c != NULL);
    CHECK(setvbuf(c, NULL, _IONBF, 0) == 0);
    FILE *saved = stderr;
    stderr = c;
    errno = 77;
    malloc_stats();
    int e = errno;
    stderr = saved;
    CHECK(fclose(c) == 0);
    cookie_out[cookie_len] = 0;
    EXPECTF(strstr(cookie_out, "Arena 0:") && strstr(cookie_out, "Total (incl. mmap):") &&
                strstr(cookie_out, "free bytes"),
            "the cookie stream got (%zu bytes):\n%s", cookie_len, cookie_out);
    EXPECTF(e == 77, "malloc_stats changed errno to %d", e);
}

#if defined(__x86_64__) || defined(__aarch64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* From here on memfd_create fails with ENOSYS (irreversible: the last case).
 * Only this thread is filtered. */
static int refuse_memfd(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
#if defined(__x86_64__)
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
#else
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0),
#endif
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
        return -1;
    return syscall(SYS_memfd_create, "probe", 0) < 0 && errno == ENOSYS ? 0 : -1;
}
#endif

/* stderr pointed at a memory stream: the report lands in it, in order */
static void memstream_case(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK(m != NULL);
    FILE *saved = stderr;
    stderr = m;
    fprintf(stderr, "first line\n");
    errno = 4321;
    malloc_stats();
    int e = errno;
    fprintf(stderr, "last line\n");
    stderr = saved;
    CHECK(fclose(m) == 0);
    CHECK(buf != NULL);
    const char *first = strstr(buf, "first line\n"), *arena = strstr(buf, "Arena 0:"),
               *total = strstr(buf, "Total (incl. mmap):"), *last = strstr(buf, "last line\n");
    EXPECTF(first && arena && total && last && first < arena && arena < total && total < last,
            "the memory stream holds (%zu bytes):\n%s", len, buf);
    EXPECTF(e == 4321, "malloc_stats changed errno to %d", e);
#ifndef UMALLOC_PREFIXED /* (there, libc's buffer is the sanitizer's malloc's: prefixed.h) */
    free(buf);
#endif
}

static char out[1 << 16], err2[1 << 12];

int main(void)
{
    void *p = malloc(5000);
    CHECK(p != NULL);
    char path[] = "/tmp/umalloc_stats_streamXXXXXX";
    int tfd = mkstemp(path);
    CHECK(tfd >= 0);
    close(tfd);

    struct t_capture c = t_capture_stderr(); /* what reaches descriptor 2 */
    CHECK(c.fd >= 0);
    FILE *saved = stderr, *f = fopen(path, "w");
    CHECK(f != NULL);
    stderr = f;
    fprintf(stderr, "before the report\n"); /* (in f's buffer: not a terminal) */
    malloc_stats();
    fprintf(stderr, "after the report\n");
    stderr = saved;
    CHECK(fclose(f) == 0);
    t_capture_end(c, err2, sizeof err2);

    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, out, sizeof out - 1);
    CHECK(n > 0);
    out[n] = 0;
    close(fd);
    unlink(path);

    const char *before = strstr(out, "before the report\n"), *arena = strstr(out, "Arena 0:"),
               *total = strstr(out, "Total (incl. mmap):"), *after = strstr(out, "after the report\n");
    EXPECTF(before && arena && total && after, "the file holds:\n%s", out);
    EXPECTF(before == out && before < arena && arena < total && total < after,
            "out of order in the file:\n%s", out);
    EXPECTF(strstr(err2, "Arena") == NULL, "descriptor 2 got the report too:\n%s", err2);
    memstream_case();
    cookie_case();
#if defined(__x86_64__) || defined(__aarch64__)
    if (refuse_memfd() == 0)
        memstream_case();
    else /* (the runner shows the output of a passing test with -v) */
        printf("SKIPPED: seccomp filter not installed, the case without memfd_create not run\n");
#else
    printf("SKIPPED: no seccomp filter for this architecture, the case without memfd_create not run\n");
#endif
    free(p);
    return t_done();
}
