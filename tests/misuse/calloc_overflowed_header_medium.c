// expect-abort: ^umalloc: (free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size [0-9]+\), or underflow of 0x[0-9a-f]+|check\(\): chunk header overwritten \(not one umalloc wrote\) at 0x[0-9a-f]+)$
// A one-byte overflow of a 2000-byte block a changes the size word of the
// freed block b just above it (cached); calloc then hands b out again. calloc
// clears the whole usable size (src/malloc.c), but takes that length from the
// slot or bounds it by the request, not from b's header alone: a memset of
// what the changed header decodes to ran off the heap (SIGSEGV). Now the
// free of b names the overflow (the debug build's heap check, after the
// calloc, names the header first).
#include "adjacent.h"

int main(void)
{
    struct adjacent p = adjacent_pair(2000, 16);
    char *a = p.a, *b = p.b;
    size_t ua = p.ua;
    free(b);
    char *volatile end = a + ua; /* hides the overflow from the compiler */
    end[0] = 0x41;
    char *c = calloc(1, 2000);
    if (!c)
        return 4;
    free(c);
    puts("survived");
    return 0;
}
