// realloc that shrinks a block the thread cache holds to under half its
// size, with a block of the new size cached, hands back that block and
// caches the old one (a buffer read big and cut to its length, in a loop:
// examples/alloc_loops shrink 5000 1000 took 1,350 instructions a round,
// splitting in the arena and carving again; now 497, glibc 571). The contents are
// kept, and top (mallinfo2's keepcost) no longer changes from round to
// round (with a trim threshold no round reaches). A shrink by less than
// half stays in place.
#include "../common.h"

enum { ROUNDS = 500 };

int main(void)
{
    int moved_top = 0, kept = 0;
    size_t top = 0;
    /* no trim can follow (the block sits at the top of a small heap): what
     * changes top is the arena's split and carve alone */
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    for (int r = 0; r < ROUNDS + 20; r++) {
        char *p = malloc(5000);
        CHECK(p != NULL);
        t_fill(p, 1000, p, (uint64_t)r);
        char *q = realloc(p, 1000);
        CHECK(q != NULL);
        if (t_check(q, 1000, p, (uint64_t)r) == (size_t)-1)
            kept++;
        free(q);
        if (r == 19) /* (a size the thread only freed so far is cached from its first batch on) */
            top = t_mallinfo2().keepcost;
        else if (r > 19 && t_mallinfo2().keepcost != top)
            moved_top++;
    }
    EXPECTF(kept == ROUNDS + 20, "contents kept in %d of %d shrinks", kept, ROUNDS + 20);
    EXPECTF(moved_top == 0, "top changed on %d of %d rounds", moved_top, ROUNDS);

    char *a = malloc(5000);
    CHECK(a != NULL);
    t_fill(a, 5000, a, 77);
    char *b = realloc(a, 4000);
    CHECK(b != NULL);
    EXPECTF(b == a, "a shrink from 5000 to 4000 bytes moved the block (%p -> %p)", (void *)a,
            (void *)b);
    EXPECT(t_check(b, 4000, a, 77) == (size_t)-1);
    free(b);
    return t_done();
}
