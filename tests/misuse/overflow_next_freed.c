// expect-abort: ^umalloc: free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size 72\), or underflow of 0x[0-9a-f]+$
// An overflow rewrites the next block's size word with a plausible value
// (80 -> 160, with the P bit, as a glibc exploit would write it); free() of
// that next block must not believe it (the size word is keyed: a word the
// program wrote does not decode to a size), so malloc(150) can never
// overlap a live block. It names the block below, whose end the overflow
// crossed (usable size 72).
#include "../common.h"

int main(void)
{
    char *a = NULL, *b = NULL;
    for (int tries = 0; tries < 1000 && !a; tries++) {
        char *x = malloc(72), *y = malloc(72);
        if (!x || !y)
            return 2;
        if (y == x + 80) {
            a = x;
            b = y;
        }
    }
    if (!a) {
        puts("could not get two adjacent 80-byte chunks; cannot stage the overflow");
        return 3;
    }
    volatile size_t *size_word = (size_t *)(b - 8); /* a store before free() is dead to gcc */
    *size_word = 160 | 1;
    free(b);
    puts("survived");
    return 0;
}
