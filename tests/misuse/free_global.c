// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+
// free() of a global (.bss) address with a plausible chunk header.
#include "../common.h"

static _Alignas(16) size_t global_buf[64];

int main(void)
{
    global_buf[1] = 0x51;
    global_buf[11] = 0x51;
    void *volatile p = &global_buf[2];
    free(p);
    puts("survived");
    return 0;
}
