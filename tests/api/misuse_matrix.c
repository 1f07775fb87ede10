// variants: release debug
// Misuse caught wherever the block is (issue 9): each case runs in a child,
// which must die of SIGABRT with the expected line on stderr.
//  - a single byte changed anywhere in the size word just past a block
//    (every byte position, several values; small and medium blocks): the
//    free of a medium block names the overflow; a small block's free reads
//    only its own header (malloc.c, free_body), and the check at exit names
//    it (the debug build's heap check, right after the free, first);
//  - writes into a freed block's link word (zeros, a plausible heap
//    pointer, text): the pop that would follow it stops;
//  - double free of a block held by another thread's cache (live and
//    exited), by a central-cache batch, by a fast bin; realloc and
//    malloc_usable_size / free_sized of such a block;
//  - overflow into top's header before a trim; use-after-free writes over a
//    central batch's word and a fast bin's link, met by every walker.
#include "../common.h"
#include <pthread.h>
#include <sys/wait.h>

typedef void (*scenario)(long arg);

static int failures;

/* Run f(arg) in a child; expect SIGABRT and `want` in its stderr. */
static void expect_abort(const char *name, scenario f, long arg, const char *want)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(2);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        f(arg);
        fprintf(stderr, "survived\n");
        _exit(0);
    }
    close(fds[1]);
    char buf[512];
    size_t n = t_read_all(fds[0], buf, sizeof buf);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) || !strstr(buf, want) ||
        strncmp(buf, "umalloc: ", 9) != 0 || strchr(buf, '\n') != buf + n - 1) {
        fprintf(stderr, "FAILED: %s(%ld): want one line with \"%s\", status %#x, stderr: %s\n",
                name, arg, want, st, buf);
        failures++;
    }
}

/* arg: (size << 16) | (byte << 8) | mode; mode 0: +1, 1: -1, 2: xor 0x80,
 * 3: xor 0xff (each changes the byte, whatever it held) */
static void overflow_byte(long arg)
{
    size_t size = (size_t)arg >> 16;
    int byte = (int)(arg >> 8) & 0xff, mode = (int)arg & 0xff;
    char *a = malloc(size), *b = malloc(size); /* b keeps a off top */
    (void)b;
    volatile unsigned char *x = (unsigned char *)a + malloc_usable_size(a) + byte;
    if (mode == 0)
        *x = (unsigned char)(*x + 1);
    else if (mode == 1)
        *x = (unsigned char)(*x - 1);
    else if (mode == 2)
        *x ^= 0x80;
    else
        *x ^= 0xff;
    free(a);
    exit(0); /* the exit check (tcache.c); _exit would skip it */
}

static void uaf_link(long mode)
{
    char *keep = malloc(16), *p = malloc(16);
    free(keep);
    free(p);
    volatile uintptr_t *q = (uintptr_t *)p; /* stores to freed memory are dead to gcc otherwise */
    if (mode == 0)
        q[0] = 0;
    else if (mode == 1)
        q[0] = (uintptr_t)keep;
    else
        q[0] = 0x6874206574786574; /* "text th" */
    t_escape(malloc(16));
}

static void *free_and_exit(void *arg)
{
    void **slot = arg;
    *slot = malloc(40);
    free(*slot);
    return NULL;
}

static void df_exited_thread(long arg)
{
    (void)arg;
    void *p = NULL;
    pthread_t t;
    pthread_create(&t, NULL, free_and_exit, &p);
    pthread_join(t, NULL); /* its cache went back to the central cache */
    void *volatile again = p;
    free(again);
}

/* 600 blocks of 48 freed: most leave this thread's cache for the central
 * cache; then one of them (index arg) is freed, realloc'ed or measured */
static void *blocks[600];
static void free_600(void)
{
    for (int i = 0; i < 600; i++)
        blocks[i] = malloc(48);
    for (int i = 0; i < 600; i++)
        free(blocks[i]);
}
static void df_central(long k)
{
    free_600();
    void *volatile again = blocks[k];
    free(again);
}
static void realloc_central(long k)
{
    free_600();
    void *volatile again = blocks[k];
    t_escape(realloc(again, 100));
}
static void usable_central(long k)
{
    free_600();
    void *volatile again = blocks[k];
    printf("%zu\n", malloc_usable_size(again));
}
static void free_sized_freed(long arg)
{
    (void)arg;
    void *p = malloc(40);
    free(p);
    void *volatile again = p;
    free_sized(again, 40);
}

static void df_fastbin(long arg)
{
    (void)arg;
    mallopt(M_PERTURB, 0x11); /* bypasses the thread cache: frees go to fast bins */
    void *a = malloc(40), *b = malloc(40);
    free(a);
    free(b);
    void *volatile again = a; /* not the head of the fast bin any more */
    free(again);
}

/* A one-byte overflow into top's size word, then malloc_trim: the trim and
 * the purge turn top's size into lengths for sbrk/madvise, so the size is
 * checked before (an unchecked one once reached madvise and wiped memory). */
static void top_overflow_trim(long byte)
{
    char *a = malloc(5000); /* a first medium request: cut from top, top follows */
    volatile unsigned char *x = (unsigned char *)a + malloc_usable_size(a) + byte;
    *x ^= 1;
    malloc_trim(0);
}

/* A use after free over word 2 of freed small blocks, where a central-cache
 * batch keeps its count and next batch: the refill that takes it stops. */
static void *batch_blocks[3000];
static void central_batch_word(long arg)
{
    (void)arg;
    for (int i = 0; i < 3000; i++)
        batch_blocks[i] = malloc(48);
    for (int i = 0; i < 3000; i++)
        free(batch_blocks[i]);
    for (int i = 0; i < 3000; i++)
        ((volatile uint64_t *)batch_blocks[i])[2] = 0x4141414141414141ull;
    for (int i = 0; i < 6000; i++)
        t_escape(malloc(48));
}

/* A zeroed fast-bin link, then a call that walks the fast bins (arg: 0
 * mallinfo2, 1 malloc_info, 2 malloc_stats, 3 malloc) */
static void fastbin_link(long which)
{
    mallopt(M_PERTURB, 0x55); /* bypasses the thread cache: frees go to fast bins */
    char *p = malloc(40), *guard = malloc(40);
    t_escape(guard);
    free(p);
    *(volatile uintptr_t *)p = 0;
    if (which == 0)
        t_escape((void *)mallinfo2().fordblks);
    else if (which == 1)
        malloc_info(0, stdout);
    else if (which == 2)
        malloc_stats();
    else
        t_escape(malloc(40)), t_escape(malloc(40));
}

/* malloc_usable_size of a medium block freed into the bins (its first free
 * of that size skips the cache) */
static void usable_binned(long arg)
{
    (void)arg;
    char *a = malloc(3000), *guard = malloc(100), *b = malloc(3000);
    t_escape(guard);
    t_escape(b);
    free(a);
    char *volatile again = a;
    printf("%zu\n", malloc_usable_size(again));
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's messages");
    static const size_t sizes[] = {24, 100, 1000, 2000, 20000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        /* small: up to 1032 bytes (types.h, TC_MAX_REQUEST); at exit, the
         * cache's walk names the overflow, or the top check when the chunk
         * after a is top (b is not always that chunk: at 1000 bytes it was
         * top, on this machine) */
        const char *want = sizes[s] > 1032 ? "free(): heap overflow past the end of"
                           : t_is_debug()  ? "check(): chunk header overwritten"
                                           : "exit(): ";
        for (long byte = 0; byte < 8; byte++)
            for (long mode = 0; mode < 4; mode++)
                expect_abort("overflow_byte", overflow_byte, (long)(sizes[s] << 16) | byte << 8 | mode, want);
    }
    for (long m = 0; m < 3; m++)
        expect_abort("uaf_link", uaf_link, m, "malloc(): corrupted tcache entry at");
    expect_abort("df_exited_thread", df_exited_thread, 0, "free(): double free of");
    static const long ks[] = {0, 100, 300, 550, 599};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        expect_abort("df_central", df_central, ks[i], "free(): double free of");
        expect_abort("realloc_central", realloc_central, ks[i], "realloc(): double free of");
        expect_abort("usable_central", usable_central, ks[i], "malloc_usable_size(): use after free of");
    }
    expect_abort("free_sized_freed", free_sized_freed, 0, "free_sized(): use after free of");
    expect_abort("df_fastbin", df_fastbin, 0, "free(): double free of");
    for (long byte = 0; byte < 8; byte++)
        expect_abort("top_overflow_trim", top_overflow_trim, byte, "corrupted top size at");
    /* the debug build's heap check, after the first malloc, sees it first */
    expect_abort("central_batch_word", central_batch_word, 0,
                 t_is_debug() ? "central batch" : "malloc(): corrupted central-cache batch at");
    static const char *const fast_fn[] = {"mallinfo(): ", "malloc_info(): ", "malloc_stats(): ", "malloc(): "};
    for (long w = 0; w < 4; w++)
        expect_abort("fastbin_link", fastbin_link, w, fast_fn[w]);
    expect_abort("usable_binned", usable_binned, 0, "malloc_usable_size(): use after free of");
    if (failures)
        fprintf(stderr, "%d case(s) failed\n", failures);
    return failures ? 1 : t_done();
}
