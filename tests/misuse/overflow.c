// expect-abort: ^umalloc: free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size 56\), or underflow of 0x[0-9a-f]+$
// Heap overflow into the next chunk's header: two adjacent 48-byte blocks a, b;
// 24 bytes of 'A' written just past a's usable size clobber b's size field;
// then free(b). The free names a, the block that ran past its end (its
// usable size, 56): b's header does not decode, and a's ends where it is.
#include "adjacent.h"

int main(void)
{
    /* b's header within 24 bytes of the end of a's usable area */
    struct adjacent p = adjacent_pair(48, 24);
    char *a = p.a, *b = p.b;
    size_t ua = p.ua;
    memset(b, 'b', 48);
    char *volatile end = a + ua;     /* hides the overflow from the compiler */
    memset(end, 'A', 24);
    free(b);
    puts("survived");
    return 0;
}
