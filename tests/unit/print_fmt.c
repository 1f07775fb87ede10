/* The malloc-free formatter used by malloc_stats, malloc_info and errors. */
#include <string.h>
#include "unit.h"
#include "internal.h"

#define EQ(want, ...)                                                      \
    do {                                                                   \
        char b[128];                                                       \
        um_snprintf(b, sizeof b, __VA_ARGS__);                             \
        U_CHECK(strcmp(b, want) == 0, "got '%s' want '%s'", b, want);      \
    } while (0)

int main(void)
{
    EQ("system bytes     =    8327168", "system bytes     = %10zu", (size_t)8327168);
    EQ("-42|7|ff|0x1f", "%d|%u|%x|%p", -42, 7u, 255u, (void *)0x1f);
    EQ("00042|42   |abc", "%05d|%-5d|%s", 42, 42, "abc");
    EQ("18446744073709551615", "%zu", (size_t)-1);
    EQ("(null) %", "%s %%", (char *)NULL);
    char small[4];
    size_t n = um_snprintf(small, sizeof small, "%s", "abcdef");
    U_CHECK(n == 6 && strcmp(small, "abc") == 0, "truncation: %zu '%s'", n, small);
    return U_DONE();
}
