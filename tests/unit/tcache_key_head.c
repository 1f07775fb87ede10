/* free's small inline path compares only the first four bytes of a block's
 * word 1 with its cache mark (internal.h, um_cache_mark; tcache.h,
 * tc_key_maybe); a live block whose
 * bytes 8..11 happen to equal them is not a double free. Its free goes to
 * the slow path, which compares the whole word, and the block is cached
 * like any other: the next malloc of its size returns it. A block whose
 * whole word 1 is its mark is taken for one already freed, and is not
 * tested here (tests/misuse/double_free_small). */
#include <string.h>

#include "tcache.h"
#include "unit.h"

int main(void)
{
    void *volatile first = malloc(24); /* initialise, and give this size's slot room */
    free(first);
    for (int round = 0; round < 3; round++) {
        char *p = malloc(24), *q = malloc(24);
        U_CHECK(p && q, "malloc(24)");
        if (!p || !q)
            return 1;
        size_t i = tc_req_slot(24);
        U_CHECK(um_tcp->room[i] != 0, "slot %zu has room (round %d)", i, round);
        /* bytes 8..11: p's mark's first four bytes, in memory order; bytes
         * 12..15: its next four, each flipped */
        unsigned char key[8];
        void *mark = um_cache_mark(p);
        memcpy(key, &mark, sizeof key);
        /* volatile: gcc drops plain stores into a block that is freed next */
        volatile unsigned char *w = (unsigned char *)p + 8;
        for (int k = 0; k < 8; k++)
            w[k] = k < 4 ? key[k] : (unsigned char)(key[k] ^ 0xff);
        free(p); /* must not be taken for a double free */
        char *r = malloc(24);
        U_CHECK(r == p, "the partly matching block was cached and handed back (round %d: %p, %p)",
                round, (void *)r, (void *)p);
        free(q);
        free(r);
    }
    return U_DONE();
}
