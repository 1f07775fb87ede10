// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
// With brk blocked the main arena grows in mmap'd segments far from the brk
// heap. A buffer the program mapped itself lies between them; with a
// plausible chunk header (in use, main arena) it must still be refused:
// ownership comes from the segment table, not from one range that spans
// the brk heap and every segment (and the foreign memory between them).
#include "../common.h"

int main(void)
{
    void *keep = malloc(100); /* the brk heap exists */
    if (!keep)
        return 2;
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    /* a few MiB of small blocks: the main arena now has mmap'd segments */
    static void *hold[40000];
    for (int i = 0; i < 40000; i++)
        if (!(hold[i] = malloc(100)))
            return 2;
    /* the program's own buffer, shaped like a heap chunk of 64 bytes */
    size_t *buf = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return 2;
    buf[512 + 1] = 64 | 1;     /* size 64, P */
    buf[512 + 8 + 1] = 64 | 1; /* next chunk: P = in use */
    void *volatile mem = &buf[512 + 2];
    fprintf(stdout, "brk heap %p, foreign %p, last block %p\n", keep, (void *)mem, hold[39999]);
    fflush(stdout);
    free(mem);
    puts("survived");
    return 0;
}
