/*
 * report.c — umalloc's own environment variables and the reports they ask
 * for, written when the process exits (or, for the picture, on a signal):
 *
 *   UMALLOC_STATS=1        malloc_stats and the RSS account
 *   UMALLOC_HEAP_MAP=1     the text heap map (umalloc_heap_map)
 *   UMALLOC_SVG=path       the heap picture (umalloc_heap_svg); %p = pid
 *   UMALLOC_SVG_SIGNAL=SIG take the picture on each SIG (USR2, 12, ...)
 *                          instead of at exit (a thread waits for it)
 *   UMALLOC_TIMELINE=path  sample RSS / in use / cached / free over time (a
 *                          thread started only then) and chart them at exit
 *   UMALLOC_TIMELINE_MS=n  the sampling interval (default 50 ms)
 *   UMALLOC_VERBOSE=1      the settings in effect and where they came from
 *   UMALLOC_REPORT_FILE=p  write reports to p (%p = pid) instead of stderr
 *   UMALLOC_REPORT_PID=n   report only in process n (umrun sets it to the
 *                          program it execs, so children stay quiet)
 *
 * Every report opens its own descriptor when it is written: the file, or
 * stderr reopened through /proc/self/fd/2 if fd 2 is still the file it was
 * at load time (a daemon that closed fd 2 and reused the number for its own
 * file must not receive our report). Each report starts with the pid and
 * the command line, read from /proc/self/cmdline.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"
#include "umalloc.h"

static struct {
    int on;               /* this process reports something */
    int stats, map, verbose;
    const char *file;     /* UMALLOC_REPORT_FILE pattern, or NULL */
    const char *svg;      /* UMALLOC_SVG pattern, or NULL */
    const char *timeline; /* UMALLOC_TIMELINE pattern, or NULL */
    int svg_signal;       /* 0: picture at exit */
    _Atomic int svg_taken;
    int wake[2];          /* signal handler -> picture thread */
    dev_t err_dev;
    ino_t err_ino;
    int err_known;
} rep = {.wake = {-1, -1}};

/* (inline: the constructor below reads them in every process) */
static inline __attribute__((always_inline)) int env_on(const char *name)
{
    const char *v = um_env(name);
    return v && *v == '1';
}

static inline __attribute__((always_inline)) const char *env_str(const char *name)
{
    const char *v = um_env(name);
    return v && *v ? v : NULL;
}

/* pattern with every %p replaced by the pid; 0 if it does not fit */
static int expand_path(const char *pat, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = pat; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n += um_snprintf(out + n, n < cap ? cap - n : 0, "%d", (int)getpid());
            s++;
        } else if (n + 1 < cap) {
            out[n++] = *s;
        } else {
            n = cap;
        }
        if (n >= cap)
            return 0;
    }
    out[n] = '\0';
    return 1;
}

/* Open where the report goes; -1 if nowhere safe. */
static int report_open(void)
{
    char path[4096];
    if (rep.file) {
        if (!expand_path(rep.file, path, sizeof path))
            return -1;
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
    struct stat st;
    if (!rep.err_known || fstat(2, &st) != 0 || st.st_dev != rep.err_dev || st.st_ino != rep.err_ino)
        return -1;
    int fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_CLOEXEC);
    return fd >= 0 ? fd : fcntl(2, F_DUPFD_CLOEXEC, 3);
}

/* "== umalloc: pid 123: python3 -c print(1)" */
static void report_header(int fd, const char *when)
{
    char cmd[256];
    size_t n = um_cmdline(cmd, sizeof cmd);
    um_printf(fd, "== umalloc: pid %d: %s (%s)\n", (int)getpid(), n ? cmd : "?", when);
}

static void take_picture(const char *why)
{
    char path[4096];
    if (!rep.svg || !expand_path(rep.svg, path, sizeof path))
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int out = report_open();
    if (fd < 0) {
        if (out >= 0)
            um_printf(out, "umalloc: cannot create the heap picture %s\n", path);
    } else {
        umalloc_heap_svg(fd);
        close(fd);
        atomic_store(&rep.svg_taken, 1);
        if (out >= 0)
            um_printf(out, "umalloc: pid %d: heap picture written to %s (%s)\n", (int)getpid(), path, why);
    }
    if (out >= 0)
        close(out);
}

/* ---- the picture on a signal: the handler only wakes a thread ---- */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(rep.wake[1], "x", 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
    errno = saved;
}

static void *picture_thread(void *arg)
{
    (void)arg;
    char c;
    for (;;) {
        ssize_t r = read(rep.wake[0], &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        take_picture("on signal");
    }
}

static int signal_number(const char *s)
{
    static const struct { const char *name; int sig; } sigs[] = {
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
        {"ALRM", SIGALRM}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"WINCH", SIGWINCH},
        {"URG", SIGURG}, {"PROF", SIGPROF}, {"VTALRM", SIGVTALRM}, {"PWR", SIGPWR},
    };
    if (s[0] == 'S' && s[1] == 'I' && s[2] == 'G')
        s += 3;
    if (*s >= '1' && *s <= '9') {
        int v = 0;
        for (; *s >= '0' && *s <= '9' && v < 1000; s++)
            v = v * 10 + (*s - '0');
        return *s == '\0' && v < 65 && v != SIGKILL && v != SIGSTOP ? v : 0;
    }
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        const char *a = s, *b = sigs[i].name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == '\0' && *b == '\0')
            return sigs[i].sig;
    }
    return 0;
}

static void picture_on_signal_setup(const char *name)
{
    int sig = signal_number(name);
    if (!sig) {
        um_printf(2, "umalloc: ignoring UMALLOC_SVG_SIGNAL=%s: not a signal name or number\n", name);
        return;
    }
    if (pipe2(rep.wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    /* the reading end blocks; the handler's end never does */
    fcntl(rep.wake[0], F_SETFL, 0);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &at, picture_thread, NULL) == 0;
    pthread_attr_destroy(&at);
    if (!ok)
        return;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) == 0)
        rep.svg_signal = sig;
}

/* The constructor and the destructor run in every process, most of which
 * set no variable: their sections are named so that their code stays in
 * the main segment, not in the report code's (the Makefile renames .text
 * only). gcc names them so itself; clang puts both in .text, and every
 * program then had the report segment's 8 pages resident
 * (tests/programs/lib_resident, built with make CC=clang). */
__attribute__((constructor, section(".text.startup"))) static void report_setup(void)
{
    rep.stats = env_on("UMALLOC_STATS");
    rep.map = env_on("UMALLOC_HEAP_MAP");
    rep.verbose = env_on("UMALLOC_VERBOSE");
    rep.svg = env_str("UMALLOC_SVG");
    rep.file = env_str("UMALLOC_REPORT_FILE");
    rep.timeline = env_str("UMALLOC_TIMELINE");
    if (!(rep.stats || rep.map || rep.verbose || rep.svg || rep.file || rep.timeline) ||
        !um_report_target())
        return;
    rep.on = 1;
    struct stat st;
    if (fstat(2, &st) == 0) {
        rep.err_dev = st.st_dev;
        rep.err_ino = st.st_ino;
        rep.err_known = 1;
    }
    /* with a report file, say at once that the preload took (umrun checks) */
    if (rep.file) {
        int fd = report_open();
        if (fd >= 0) {
            report_header(fd, "started");
            close(fd);
        }
    }
    const char *sig = env_str("UMALLOC_SVG_SIGNAL");
    if (rep.svg && sig)
        picture_on_signal_setup(sig);
    if (rep.timeline) {
        const char *ms = env_str("UMALLOC_TIMELINE_MS");
        unsigned v = 0;
        for (; ms && *ms >= '0' && *ms <= '9' && v < 100000; ms++)
            v = v * 10 + (unsigned)(*ms - '0');
        if (ms && *ms) {
            um_printf(2, "umalloc: ignoring UMALLOC_TIMELINE_MS: not a number of milliseconds\n");
            v = 0;
        }
        um_ensure_init();
        um_timeline_start(v);
    }
}

static void print_own_variables(int fd)
{
    static const char *const vars[] = {"UMALLOC_STATS", "UMALLOC_HEAP_MAP", "UMALLOC_SVG",
                                       "UMALLOC_SVG_SIGNAL", "UMALLOC_TIMELINE",
                                       "UMALLOC_TIMELINE_MS", "UMALLOC_VERBOSE",
                                       "UMALLOC_REPORT_FILE", "UMALLOC_REPORT_PID"};
    um_printf(fd, "umalloc's own variables:\n");
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = um_env(vars[i]);
        if (v)
            um_printf(fd, "  %s=%s\n", vars[i], v);
    }
}

__attribute__((destructor, section(".text.exit"))) static void report_at_exit(void)
{
    /* a forked child inherits rep but is not the process umrun runs */
    if (!rep.on || !um_report_target())
        return;
    um_ensure_init();
    if (rep.timeline) {
        char path[4096];
        int out = -1;
        if (expand_path(rep.timeline, path, sizeof path) && um_timeline_finish(path) == 0 &&
            (out = report_open()) >= 0)
            um_printf(out, "umalloc: pid %d: timeline written to %s\n", (int)getpid(), path);
        if (out >= 0)
            close(out);
    }
    if (rep.svg && !(rep.svg_signal && atomic_load(&rep.svg_taken)))
        take_picture(rep.svg_signal ? "at exit: the signal never came" : "at exit");
    if (!(rep.stats || rep.map || rep.verbose))
        return;
    int fd = report_open();
    if (fd < 0)
        return;
    report_header(fd, "at exit");
    if (rep.verbose) {
        um_options_print(fd);
        print_own_variables(fd);
    }
    if (rep.stats) {
        um_stats_print(fd);
        um_rss_print(fd);
    }
    if (rep.map)
        umalloc_heap_map(fd);
    close(fd);
}
