// expect-abort: ^umalloc: realloc\(\): double free of 0x[0-9a-f]+ \(size 40\)$
// realloc of a block that was freed and sits in the thread cache: like a
// second free, it is caught (free checks the cache key; so does realloc).
#include "../common.h"

int main(void)
{
    char *p = malloc(40);
    if (!p)
        return 2;
    free(p);
    char *volatile again = p;
    char *q = realloc(again, 100);
    printf("survived %p\n", (void *)q);
    return 0;
}
