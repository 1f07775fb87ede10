// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
// A misaligned pointer (8 mod 16) whose "header" and "next header" are
// copies of real header words (no key needed: the program read them out of
// bounds) and whose size is a medium class whose cache stack is empty/full:
// free() must name it, not cache it (a later malloc would return memory
// that is 8-aligned and overlaps a live block).
#include "../common.h"

int main(void)
{
    char *m = malloc(4088);           /* chunk 4096: a medium class, first miss */
    char *g = malloc(5000);           /* any in-use chunk: its header has P set */
    char *big = malloc(64 << 10);
    if (!m || !g || !big)
        return 2;
    size_t *f = (size_t *)(big + 4096 + 8);      /* fake chunk, 8 mod 16 */
    f[1] = ((size_t *)m)[-1];                      /* m's header word */
    *(size_t *)((char *)f + 4096 + 8) = ((size_t *)g)[-1]; /* next: in use */
    void *volatile mem = (char *)f + 16;
    free(mem);
    void *r = malloc(4088);
    printf("survived: malloc(4088) = %p (fake %p)\n", r, (void *)mem);
    return 0;
}
