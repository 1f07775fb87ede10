// variants: release debug
// malloc_trim(pad) with a pad near SIZE_MAX (any size_t is valid; glibc
// treats it as "keep everything"): the trim's and the purge's pad
// arithmetic wrapped. With a top that starts on a page boundary, pad
// (size_t)-33 moved the break down to top's own start and the next write
// to top's header faulted; pad (size_t)-80 purged the page holding top's
// header, and the next growth of the heap wrote its fencepost into the
// live block below (a reviewer's reproducers). Now both keep all of top:
// the live block and top's header survive, and the heap grows afterwards.
#include "../common.h"

#include <malloc.h>
#include <stdint.h>

static void one(size_t pad)
{
    /* a block cut from the start of top, freed back: where top begins */
    char *a = malloc(200000);
    CHECK(a != NULL);
    uintptr_t t0 = (uintptr_t)a - 16;
    free(a);
    /* a live block that ends where a page begins: top then starts there */
    size_t nb = ((t0 + 200000 + 4095) & ~(uintptr_t)4095) - t0;
    char *b = malloc(nb - 8);
    CHECK(b != NULL);
    memset(b, 7, nb - 8);
    uintptr_t top = (uintptr_t)b - 16 + nb;
    size_t word = *(size_t *)(top + 8);
    int r = malloc_trim(pad);
    EXPECTF(r == 0 || r == 1, "malloc_trim(%#zx) returned %d", pad, r);
    EXPECTF(*(size_t *)(top + 8) == word, "malloc_trim(%#zx) changed top's header word (%#zx -> %#zx)", pad,
            word, *(size_t *)(top + 8));
    char *c = malloc(300000); /* the heap grows past the old top */
    CHECK(c != NULL);
    memset(c, 1, 300000);
    size_t bad = 0;
    for (size_t i = 0; i < nb - 8; i++)
        bad += b[i] != 7;
    printf("malloc_trim(%#zx): top %s a page boundary, %zu bytes of the live block changed\n", pad,
           (top & 4095) == 0 ? "on" : "not on", bad);
    EXPECTF(bad == 0, "malloc_trim(%#zx): %zu bytes of the live block below top changed", pad, bad);
    free(c);
    free(b);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer from the heap later */
    mallopt(M_MMAP_THRESHOLD, 1 << 20); /* these blocks come from the heap, uncached */
    one((size_t)-33);
    one((size_t)-80);
    one((size_t)-1);
    return t_done();
}
