// Mirrors the first part of glibc's tst-free-errno: free(NULL) and the free
// of blocks big enough to be mapped (so free calls munmap) leave errno as it
// was. (The part at vm.max_map_count is api/munmap_fails.)
#include "../common.h"

int __attribute__((weak)) get_errno(void);
int __attribute__((weak)) get_errno(void) { return errno; }

int main(void)
{
    errno = 1789;
    free(NULL);
    EXPECT(get_errno() == 1789);
    void *volatile big[2];
    for (int i = 0; i < 2; i++) {
        big[i] = malloc(5318153);
        CHECK(big[i] != NULL);
    }
    for (int i = 0; i < 2; i++) {
        errno = 1789;
        free(big[i]);
        EXPECTF(get_errno() == 1789, "free of a mapped block set errno to %d", get_errno());
    }
    void *small = malloc(100);
    errno = 1789;
    free(small);
    EXPECT(get_errno() == 1789);
    return t_done();
}
