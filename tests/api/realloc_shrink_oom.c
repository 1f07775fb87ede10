// variants: release debug
// realloc that cuts a medium class's block to under half moves it to a
// block of the new size (src/malloc.c, realloc_heap); when no memory is
// left for that block, it shrinks the block in place instead, as before
// the move existed: it returns the same block with its contents and leaves
// errno as it was. (The move's malloc was unchecked: its NULL went to
// memcpy.) The memory runs out by RLIMIT_AS, with mmap off, after the
// small class's cache and the heap's free chunks are used up.
#include "../common.h"
#include <sys/resource.h>

int main(void)
{
    CHECK(mallopt(M_MMAP_MAX, 0) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    /* a medium class's block: the class's first request gets its exact
     * size, the second one the class's */
    void *w = malloc(40000);
    CHECK(w != NULL);
    free(w);
    char *b = malloc(40000);
    CHECK(b != NULL);
    for (size_t k = 0; k < 40000; k++)
        b[k] = (char)(k * 7);
    size_t n = 0, cap = 1 << 18;
    void **keep = malloc(cap * sizeof *keep);
    CHECK(keep != NULL);
    memset(keep, 0, cap * sizeof *keep);
    /* no more memory from the kernel: no address space beyond what is
     * mapped now (RLIMIT_DATA would not stop a heap that continues in a
     * mapped segment, whose pages are committed by mprotect) */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
    size_t vm = t_status_bytes("VmSize");
    CHECK(vm != 0);
    struct rlimit lim = {(rlim_t)vm, rl.rlim_max};
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        t_skip("setrlimit(RLIMIT_AS) refused");
    /* use up the heap with blocks of the size the cut asks for */
    for (; n < cap; n++)
        if ((keep[n] = malloc(100)) == NULL)
            break;
    if (n == cap) { /* (a heap in a mapped segment commits reserved pages: no limit stops it) */
        setrlimit(RLIMIT_AS, &rl);
        t_skip("the heap did not run out (a mapped segment's reserved pages)");
    }
    CHECK(malloc(100) == NULL);
    uintptr_t was = (uintptr_t)b;
    errno = 12345;
    char *c = realloc(b, 100);
    EXPECTF((uintptr_t)c == was, "realloc to 100 bytes with no memory left: %p, the block %#lx", (void *)c,
            (unsigned long)was);
    EXPECTF(errno == 12345, "errno %d after a realloc that succeeded", errno);
    if (c) {
        int same = 1;
        for (size_t k = 0; k < 100; k++)
            same &= c[k] == (char)(k * 7);
        EXPECT(same);
    }
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    free(c);
    for (size_t k = 0; k < n; k++)
        free(keep[k]);
    free(keep);
    return t_done();
}
