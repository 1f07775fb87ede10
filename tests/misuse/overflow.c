// expect-abort: ^umalloc: free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size 56\), or underflow of 0x[0-9a-f]+$
// Heap overflow into the next chunk's header: two adjacent 48-byte blocks a, b;
// 24 bytes of 'A' written just past a's usable size clobber b's size field;
// then free(b). The free names a, the block that ran past its end (its
// usable size, 56): b's header does not decode, and a's ends where it is.
#include "../common.h"

int main(void)
{
    char *a = NULL, *b = NULL;
    size_t ua = 0;
    /* find a pair where b directly follows a, its header within 24 bytes of
     * the end of a's usable area */
    for (int tries = 0; tries < 1000; tries++) {
        char *x = malloc(48), *y = malloc(48);
        if (!x || !y)
            return 2;
        size_t ux = malloc_usable_size(x);
        if (y > x + ux && y <= x + ux + 24) {
            a = x;
            b = y;
            ua = ux;
            break;
        }
        /* leak the pair and try again */
    }
    if (!a) {
        puts("could not get two adjacent 48-byte blocks; cannot stage the overflow");
        return 3;
    }
    memset(b, 'b', 48);
    char *volatile end = a + ua;     /* hides the overflow from the compiler */
    memset(end, 'A', 24);
    free(b);
    puts("survived");
    return 0;
}
