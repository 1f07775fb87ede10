/* um_tcache_bytes reads other threads' slots without a lock: a slot caught
 * between its owner's updates of room and limit (room a moment above the
 * limit) must count as empty, not wrap to 2^64 - 1 chunks in malloc_stats
 * and malloc_info. The torn state is set up by hand on this thread's cache. */
#include <stdlib.h>

#include "tcache.h"
#include "unit.h"

int main(void)
{
    void *volatile p = malloc(40), *volatile q = malloc(40); /* (volatile: kept by gcc) */
    free(p);
    free(q);
    struct tcache *tc = um_tcp;
    U_CHECK(um_tc_state == TC_LIVE && tc != &um_tc_empty, "a live cache");
    size_t i = tc_req_index(40);
    size_t n0 = 0, b0 = um_tcache_bytes(&n0);
    uint16_t room = tc->room[i], limit = tc->limit[i];
    tc->room[i] = (uint16_t)(limit + 1); /* as a racing reader may see it */
    size_t n1 = 0, b1 = um_tcache_bytes(&n1);
    tc->room[i] = room;
    printf("cached: %zu chunks, %zu bytes; torn slot read: %zu chunks, %zu bytes\n", n0, b0, n1, b1);
    U_CHECK(n1 <= n0 && b1 <= b0, "a torn slot counted %zu chunks (%zu bytes)", n1, b1);
    return U_DONE();
}
