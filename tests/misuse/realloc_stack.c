// expect-abort: ^umalloc: realloc\(\): invalid pointer 0x[0-9a-f]+
// realloc() of a stack address.
#include "../common.h"

int main(void)
{
    _Alignas(16) size_t buf[32];
    memset(buf, 0, sizeof buf);
    buf[1] = 0x51;
    void *volatile p = &buf[2];
    void *r = realloc(p, 100);
    printf("survived (%p)\n", r);
    t_escape(buf);
    return 0;
}
