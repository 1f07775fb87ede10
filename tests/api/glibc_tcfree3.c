// After the case of glibc's tst-tcfree3: a live block that holds a copy of a
// freed block's first words (a program that read freed memory, or copied a
// slice of uninitialised memory holding such words) is not a double free.
// A cached block keeps a mark in its word 1 that says "freed" (internal.h,
// um_cache_mark); the mark is mixed with the block's address, so a copy of
// it in another block says nothing there: free, realloc,
// malloc_usable_size and free_sized of the copy work as on any live block,
// for small and medium blocks, and for a freed block cached by another
// thread. The block the words came from is still known as freed: a second
// free of it ends in abort (checked in a child). Fails on 5f1e67a, whose
// mark was the bare key: "free(): double free of" the copy.
#include "../common.h"

#include <pthread.h>

static void *volatile cached_by_thread;

static void *free_in_thread(void *arg)
{
    free(arg); /* into this thread's cache, which stays while it waits */
    cached_by_thread = arg;
    return NULL;
}

/* free(a) in a child: must die of SIGABRT (a is freed and cached) */
static void second_free_aborts(void *a, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        free(a);
        _exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    EXPECTF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
            "%s: the second free of the freed block was not stopped (status %#x)", what, st);
}

/* Each of bs[0..n) (live, allocated before a was freed) gets a's first 32
 * bytes, then goes to a call that takes a live block. */
static void copy_into(const void *a, void **bs, const size_t *bsize, int n, const char *what)
{
    for (int j = 0; j < n; j++) {
        char *b = bs[j];
        memcpy(b, a, 32); /* reads freed memory: the program's bug, not a double free */
        unsigned char snap[16];
        memcpy(snap, b, sizeof snap);
        switch (j % 4) {
        case 0:
            free(b);
            break;
        case 1:
            EXPECTF(malloc_usable_size(b) >= bsize[j], "%s: usable size %zu of a %zu-byte block",
                    what, malloc_usable_size(b), bsize[j]);
            free(b);
            break;
        case 2: {
            char *r = realloc(b, bsize[j] * 2);
            CHECKF(r != NULL, "%s: realloc", what);
            EXPECTF(memcmp(r, snap, sizeof snap) == 0, "%s: realloc lost the block's first words", what);
            free(r);
            break;
        }
        case 3:
            if (!t_is_glibc()) /* glibc 2.36 has no free_sized */
                free_sized(b, bsize[j]);
            else
                free(b);
            break;
        }
    }
}

enum { NB = 8 };

/* a of size s freed, then its words copied into live blocks of s and of 32
 * bytes; then a second free of a, in a child */
static void one_size(size_t s, int check_second_free)
{
    char what[64];
    snprintf(what, sizeof what, "blocks of %zu bytes", s);
    void *keep = malloc(s); /* a lies between live blocks: not merged into top */
    void *a = malloc(s);
    void *bs[NB];
    size_t bsize[NB];
    for (int j = 0; j < NB; j++) {
        bsize[j] = j < NB / 2 ? s : 32;
        bs[j] = malloc(bsize[j]);
        CHECK(bs[j] != NULL);
    }
    void *guard = malloc(16);
    CHECK(keep && a && guard);
    free(a);
    copy_into(a, bs, bsize, NB, what);
    if (check_second_free)
        second_free_aborts(a, what);
    free(guard);
    free(keep);
}

int main(void)
{
    static const size_t sizes[] = {24, 40, 1000, 4000, 30000, 127 * 1024};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        /* (glibc: only its cache's double frees are sure to be caught) */
        one_size(sizes[k], !t_is_glibc() || k < 3);

    /* the freed block sits in another thread's cache */
    void *a = malloc(48), *bs[NB], *guard;
    size_t bsize[NB];
    for (int j = 0; j < NB; j++) {
        bsize[j] = j % 2 ? 48 : 32;
        bs[j] = malloc(bsize[j]);
        CHECK(bs[j] != NULL);
    }
    guard = malloc(16);
    CHECK(a && guard);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_in_thread, a) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(cached_by_thread == a);
    copy_into(a, bs, bsize, NB, "a block another thread freed");
    if (!t_is_glibc())
        second_free_aborts(a, "a block another thread freed");
    free(guard);
    return t_done();
}
