// dlopen: a program that is NOT preloaded loads the built library with
// dlopen(RTLD_NOW | RTLD_LOCAL) and uses it from threads: one started before
// the dlopen (its static TLS block must receive the library's initial-exec
// variables) and one started after. The library reaches its thread cache
// through one initial-exec TLS pointer, so it needs only a few bytes of the
// static TLS surplus that glibc keeps for dlopen (a thread cache kept in TLS
// itself failed here with "cannot allocate memory in static TLS block").
// The runner preloads release tests: the test re-executes itself without
// LD_PRELOAD, taking the library's path from it (or, without one, from
// build/libumalloc.so next to build/tests/<variant>/api/dlopen).
// variants: release
// cflags: -pthread
// ldflags: -ldl -pthread
#include "../common.h"
#include <dlfcn.h>
#include <elf.h>
#include <pthread.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*realloc_fn)(void *, size_t);
typedef const char *(*version_fn)(void);
typedef void (*check_fn)(void);
typedef size_t (*usable_fn)(void *);

static malloc_fn lib_malloc;
static free_fn lib_free;
static realloc_fn lib_realloc;
static usable_fn lib_usable;
static check_fn lib_check;
static version_fn lib_version;

#define NSHARE 4096
static void *shared[NSHARE];
static size_t shared_sz[NSHARE];
static int shared_who[NSHARE];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t loaded;

/* Does /proc/self/maps mention path? (read without malloc) */
static int mapped(const char *link)
{
    static char buf[1 << 16];
    static char real[PATH_MAX];
    /* the maps name the file itself (libumalloc.so.1), not the symlink */
    const char *path = realpath(link, real) ? real : link;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r;
    int found = 0;
    size_t plen = strlen(path);
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) {
        n += (size_t)r;
        buf[n] = 0;
        char *nl = strrchr(buf, '\n');
        if (!nl)
            break;
        for (char *q = buf; (q = strstr(q, path)) != NULL; q += plen)
            if (q[plen] == '\n')
                found = 1;
        size_t keep = n - (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, keep);
        n = keep;
    }
    close(fd);
    return found;
}

/* PT_TLS memory size of the ELF file at path, or -1. */
static long tls_size(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    long res = 0;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64) {
        close(fd);
        return -1;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) != (ssize_t)sizeof ph) {
            res = -1;
            break;
        }
        if (ph.p_type == PT_TLS)
            res = (long)ph.p_memsz;
    }
    close(fd);
    return res;
}

/* Allocate, fill, hand half to the shared table, free what the other
 * thread left there, check everything. */
static void work(int who, uint64_t seed)
{
    t_rng r = {seed};
    enum { LOCAL = 512 };
    void *mine[LOCAL] = {0};
    size_t msz[LOCAL] = {0};
    long rounds = t_scale(60000, 6000);
    for (long k = 0; k < rounds; k++) {
        size_t sz = 1 + (size_t)(t_below(&r, 8) == 0 ? t_below(&r, 70000) : t_below(&r, 600));
        void *p = lib_malloc(sz);
        CHECKF(p != NULL && ((uintptr_t)p & 15) == 0, "thread %d: lib malloc(%zu) = %p", who, sz, p);
        CHECKF(lib_usable(p) >= sz, "thread %d: usable %zu < %zu", who, lib_usable(p), sz);
        t_fill(p, sz, p, (uint64_t)who);
        if (k & 1) {
            unsigned s = (unsigned)t_below(&r, LOCAL);
            if (mine[s]) {
                CHECKF(t_check(mine[s], msz[s], mine[s], (uint64_t)who) == (size_t)-1, "thread %d: block clobbered",
                       who);
                if (t_below(&r, 4) == 0) { /* grow it in place or move it */
                    size_t nsz = msz[s] * 2 + 1;
                    uintptr_t old = (uintptr_t)mine[s];
                    void *q = lib_realloc(mine[s], nsz);
                    CHECKF(q != NULL, "thread %d: lib realloc", who);
                    CHECKF(t_check(q, msz[s], (void *)old, (uint64_t)who) == (size_t)-1,
                           "thread %d: realloc lost the contents", who);
                    lib_free(q);
                } else {
                    lib_free(mine[s]);
                }
            }
            mine[s] = p;
            msz[s] = sz;
        } else {
            unsigned s = (unsigned)t_below(&r, NSHARE);
            pthread_mutex_lock(&mu);
            void *old = shared[s];
            size_t osz = shared_sz[s];
            int owho = shared_who[s];
            shared[s] = p;
            shared_sz[s] = sz;
            shared_who[s] = who;
            pthread_mutex_unlock(&mu);
            if (old) { /* probably allocated by the other thread */
                CHECKF(t_check(old, osz, old, (uint64_t)owho) == (size_t)-1,
                       "thread %d: shared block %p of thread %d clobbered", who, old, owho);
                lib_free(old);
            }
        }
    }
    for (int s = 0; s < LOCAL; s++)
        if (mine[s]) {
            CHECKF(t_check(mine[s], msz[s], mine[s], (uint64_t)who) == (size_t)-1, "thread %d: block clobbered", who);
            lib_free(mine[s]);
        }
}

static void *early_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&loaded); /* started before the dlopen */
    CHECKF(lib_version() != NULL, "version from the early thread");
    work(0, t_seed(11));
    return NULL;
}

static void *late_thread(void *arg)
{
    (void)arg;
    work(1, t_seed(22));
    return NULL;
}

static int child(const char *lib)
{
    CHECKF(getenv("LD_PRELOAD") == NULL, "still preloaded");
    CHECKF(mapped(lib) == 0, "%s is mapped before dlopen", lib);
    long tls = tls_size(lib);
    printf("%s: PT_TLS %ld bytes\n", lib, tls);
    /* what the library takes from glibc's static TLS surplus (a few hundred
     * bytes shared by every initial-exec module dlopen'ed) */
    EXPECTF(tls >= 0 && tls <= 128, "static TLS of the library: %ld bytes", tls);

    pthread_barrier_init(&loaded, NULL, 2);
    pthread_t early, late;
    CHECK(pthread_create(&early, NULL, early_thread, NULL) == 0);

    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    CHECKF(h != NULL, "dlopen(%s): %s", lib, dlerror());
    CHECKF(mapped(lib) == 1, "%s is mapped after dlopen", lib);
    lib_version = (version_fn)dlsym(h, "umalloc_version");
    lib_malloc = (malloc_fn)dlsym(h, "malloc");
    lib_free = (free_fn)dlsym(h, "free");
    lib_realloc = (realloc_fn)dlsym(h, "realloc");
    lib_usable = (usable_fn)dlsym(h, "malloc_usable_size");
    lib_check = (check_fn)dlsym(h, "umalloc_check");
    CHECKF(lib_version && lib_malloc && lib_free && lib_realloc && lib_usable && lib_check, "dlsym: %s",
           dlerror());
    /* RTLD_LOCAL: the program's own malloc is still the system's */
    CHECK((void *)lib_malloc != (void *)malloc);
    const char *v = lib_version();
    CHECKF(v && v[0] >= '0' && v[0] <= '9' && strchr(v, '.'), "umalloc_version() = %s", v ? v : "(null)");
    printf("dlopen'ed umalloc %s\n", v);

    void *p = lib_malloc(100);
    CHECK(p != NULL);
    memset(p, 0x5a, 100);
    lib_free(p);

    pthread_barrier_wait(&loaded);
    CHECK(pthread_create(&late, NULL, late_thread, NULL) == 0);
    pthread_join(early, NULL);
    pthread_join(late, NULL);
    for (int s = 0; s < NSHARE; s++)
        if (shared[s]) {
            CHECKF(t_check(shared[s], shared_sz[s], shared[s], (uint64_t)shared_who[s]) == (size_t)-1,
                   "shared block %d clobbered", s);
            lib_free(shared[s]);
        }
    lib_check();
    /* the program's malloc keeps working beside it */
    char *q = malloc(1000);
    CHECK(q != NULL);
    memset(q, 1, 1000);
    free(q);
    pthread_barrier_destroy(&loaded);
    return t_done();
}

int main(int argc, char **argv)
{
    const char *lib = getenv("UMALLOC_DLOPEN_LIB");
    if (lib && argc > 1 && strcmp(argv[1], "--child") == 0)
        return child(lib);

    static char path[4096];
    const char *pre = getenv("LD_PRELOAD");
    if (pre && pre[0] == '/' && strstr(pre, "libumalloc") && !strchr(pre, ' ') && !strchr(pre, ':')) {
        snprintf(path, sizeof path, "%s", pre);
    } else {
        /* <root>/build/tests/<variant>/api/dlopen -> <root>/build/libumalloc.so */
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        CHECK(n > 0);
        path[n] = 0;
        char *t = strstr(path, "/build/tests/");
        CHECKF(t != NULL, "cannot find the build directory from %s", path);
        strcpy(t, "/build/libumalloc.so");
    }
    CHECKF(access(path, R_OK) == 0, "%s: %s (build it with make)", path, strerror(errno));
    CHECK(setenv("UMALLOC_DLOPEN_LIB", path, 1) == 0);
    CHECK(unsetenv("LD_PRELOAD") == 0);
    fflush(NULL);
    execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
    perror("execl /proc/self/exe");
    return 1;
}
