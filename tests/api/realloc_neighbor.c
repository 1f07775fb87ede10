// realloc grows a block in place into a free neighbour, and moves it (the
// contents intact) when the neighbour is in use or cached. realloc looks at
// the neighbour without the arena lock first and takes the lock only when
// growth in place can work: that look must never say no to a free
// neighbour that is big enough (not top: M_PERTURB switches the thread
// cache off, so a, b and c are carved side by side and b goes to the bins),
// nor yes to one that is cached.
#include "../common.h"

int main(void)
{
    int inplace = 0, adjacent = 0, moved_ok = 0;
    CHECK(mallopt(M_PERTURB, 0x5a) == 1);
    for (int r = 0; r < 50; r++) {
        size_t asz = 100 + (size_t)r * 24, bsz = 400 + (size_t)r * 16;
        char *a = malloc(asz);
        char *b = malloc(bsz);
        char *c = malloc(64); /* keeps b off top */
        CHECK(a && b && c);
        if (b != a + malloc_usable_size(a) + 8)
            continue; /* (not side by side: nothing to test this round) */
        adjacent++;
        t_fill(a, asz, a, 1);
        free(b);
        char *volatile a2 = realloc(a, asz + bsz / 2);
        CHECK(a2 != NULL);
        EXPECTF(t_check(a2, asz, a, 1) == (size_t)-1, "round %d: contents lost", r);
        if (a2 == a)
            inplace++;
        free(a2);
        free(c);
    }
    CHECK(mallopt(M_PERTURB, 0) == 1);
    EXPECTF(adjacent >= 40, "only %d of 50 rounds carved a, b, c side by side", adjacent);
    EXPECTF(inplace == adjacent, "%d of %d blocks grew in place into a free neighbour", inplace,
            adjacent);
    for (int r = 0; r < 50; r++) { /* a neighbour that is cached: in use to the arena */
        char *d = malloc(200);
        char *e = malloc(200);
        char *f = malloc(64);
        CHECK(d && e && f);
        t_fill(d, 200, d, 2);
        free(e);
        char *volatile d2 = realloc(d, 300);
        CHECK(d2 != NULL);
        if (t_check(d2, 200, d, 2) == (size_t)-1)
            moved_ok++;
        free(d2);
        free(f);
    }
    EXPECTF(moved_ok == 50, "%d of 50 blocks kept their contents next to a cached neighbour",
            moved_ok);
    return t_done();
}
