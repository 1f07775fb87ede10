// expect-abort: ^umalloc: realloc\(\): invalid pointer 0x[0-9a-f]+
// realloc() of an interior pointer (p + 32 of a 256-byte block).
#include "../common.h"

int main(void)
{
    char *p = malloc(256);
    if (!p)
        return 2;
    memset(p, 'x', 256);
    void *volatile q = p + 32;
    void *r = realloc(q, 1000);
    printf("survived (%p)\n", r);
    return 0;
}
