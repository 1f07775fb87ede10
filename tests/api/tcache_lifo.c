// variants: release debug
// A thread's cache hands back what was freed last first, across overflows:
// when a size's stack is full, the OLDEST chunks go to the central cache and
// the newest stay (they were touched last and are likely still in the CPU
// cache; walking the old part to cut it off missed on every link). So after
// freeing many blocks of one size in order, malloc returns them in exactly
// the reverse order: the kept part of the stack first, then the batches the
// overflows parked, newest batch first. (glibc keeps 7 per size and the rest
// goes to bins: its order breaks after 7, so the test is umalloc's.)
#include "../common.h"

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's cache order");
    enum { N = 3000 };
    static void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = malloc(40);
        CHECK(v[i] != NULL);
        memset(v[i], i & 0xff, 40);
    }
    for (int i = 0; i < N; i++)
        free(v[i]);
    /* the run of mallocs that return v[N-1], v[N-2], ... in order */
    int run = 0;
    static void *w[N];
    for (int i = 0; i < N; i++) {
        w[i] = malloc(40);
        CHECK(w[i] != NULL);
        if (run == i && w[i] == v[N - 1 - i])
            run++;
    }
    for (int i = 0; i < N; i++)
        free(w[i]);
    /* the first 2000 come back in reverse order (the cache holds at most a
     * few hundred; the rest come from the parked batches) */
    CHECKF(run >= 2000, "reverse-order run of %d of %d blocks", run, N);
    return t_done();
}
