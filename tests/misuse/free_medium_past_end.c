// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
// A block at the top of the heap whose size word was replaced by a valid
// one for a 120 KiB medium chunk (copied from a real one: the words are
// encoded, so only a replayed word decodes to a medium size). Its "next
// header" then lies past the end of the heap, in memory that is not mapped;
// free() must name the pointer, not read there.
#include "../common.h"
#include <unistd.h>

int main(void)
{
    /* no pad above top, no trimming: the heap ends just above the last
     * block, so a 120 KiB chunk from it runs past the break */
    if (!mallopt(M_TOP_PAD, 0) || !mallopt(M_TRIM_THRESHOLD, 64 << 20) ||
        !mallopt(M_MMAP_THRESHOLD, 1 << 20))
        return 2;
    char *big = malloc(120000);
    char *a = malloc(4000);
    if (!big || !a)
        return 2;
    char *brk_end = sbrk(0);
    size_t big_chunk = malloc_usable_size(big) + 8;
    /* the forgery is only meaningful if a lies below the break (in the brk
     * heap, not a mapped segment) and its next header lands past it; where
     * the layout differs (brk blocked by a mapping, say) the test is skipped */
    uintptr_t ua = (uintptr_t)a, ue = (uintptr_t)brk_end;
    if (ua >= ue || ue - ua > (1u << 20) || ua - 16 + big_chunk + 16 <= ue)
        t_skip("the block is not the last one below the break; cannot stage the forgery");
    /* volatile: gcc drops a plain store into an object that is freed next */
    volatile uint64_t *from = (uint64_t *)(void *)big - 1, *to = (uint64_t *)(void *)a - 1;
    *to = *from;
    free(a);
    puts("survived");
    return 0;
}
