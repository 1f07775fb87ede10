/* M_TOP_PAD near 2^64 (mallopt(M_TOP_PAD, -4096)) in an arena of aligned
 * heaps: its growth asked heap_grow for old + need + pad, which wrapped to
 * old or less; the heap "grew" by nothing, the growth reported success,
 * and malloc asked again for ever (or took the heap's size down). Now the
 * pad is capped and dropped when it cannot be had, as the brk heap does
 * (tests/api/top_pad_wraps). A private arena; every size class of growth
 * (a page short, many pages short, a new heap). */
#include <string.h>
#include "unit.h"
#include "bins.h"

int main(void)
{
    um_ensure_init();
    static const long pads[] = {-4096, -16, -100000, -1, 0};
    for (unsigned k = 0; k < sizeof pads / sizeof pads[0]; k++) {
        um_params.top_pad = (size_t)pads[k];
        arena *av = um_heap_new_arena(90 + (int)k);
        U_CHECK(av != NULL, "private arena with pad %ld", pads[k]);
        if (!av)
            continue;
        um_lock_acquire(&av->lock);
        size_t total = 0;
        for (int i = 0; i < 3000 && total < ((size_t)100 << 20); i++) {
            size_t nb = request2size(i % 7 == 6 ? (size_t)300000 : 2000 + 40 * (size_t)(i % 50));
            void *m = um_int_malloc(av, nb);
            U_CHECK(m != NULL, "pad %ld: block %d of %zu bytes", pads[k], i, nb);
            if (!m)
                break;
            memset(m, 0x5a, nb - SIZE_SZ);
            total += nb;
        }
        U_CHECK(av->top && chunksize(av->top) >= MINSIZE, "pad %ld: top", pads[k]);
        um_lock_release(&av->lock);
    }
    um_params.top_pad = DEFAULT_TOP_PAD;
    return U_DONE();
}
