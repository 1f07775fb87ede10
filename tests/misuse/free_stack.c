// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+
// free() of a stack address that even carries a plausible chunk header.
#include "../common.h"

int main(void)
{
    _Alignas(16) size_t buf[32];
    memset(buf, 0, sizeof buf);
    buf[1] = 0x51;          /* looks like an 80-byte in-use chunk header */
    buf[11] = 0x51;         /* ... followed by another one */
    void *volatile p = &buf[2];
    free(p);
    puts("survived");
    t_escape(buf);
    return 0;
}
