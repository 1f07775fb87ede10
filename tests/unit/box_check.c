/* The debug walk checks the box (free()'s fast-path range, owner.c): it
 * must match the segment it covers, and no main segment may have a larger
 * range. A heap that grew past its brk heap with brk blocked passes; then
 * the range is cut short by 16 bytes behind the library's back, and
 * umalloc_check() names it. */
// variants: release debug
// expect-abort: ^umalloc: check\(\): the fast-path range does not match its segment
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

int main(void)
{
    static char *blk[2000];
    void *keep = malloc(100); /* the brk heap exists */
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t end = ((uintptr_t)sbrk(0) + pg - 1) & ~(pg - 1);
    void *stop = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (stop == MAP_FAILED || stop != (void *)end || !keep) { /* (a kernel before 4.17 takes the flag as a hint) */
        fprintf(stderr, "cannot place a mapping at the break\n");
        return 1; /* not a skip: the abort below is expected */
    }
    for (int i = 0; i < 2000; i++) {
        blk[i] = malloc(2000);
        U_CHECK(blk[i] != NULL, "block %d", i);
    }
    arena *av = &um_main_arena;
    um_lock_acquire(&av->lock);
    heap *h = av->last_heap;
    int on_mapped = h->kind == HEAP_MMAP && atomic_load(&um_box_lo) == (uintptr_t)h + HEAP_HDR;
    um_lock_release(&av->lock);
    U_CHECK(on_mapped, "the box is not on the mapped segment");
    if (unit_failures)
        return U_DONE();
    umalloc_check(); /* consistent */
    for (int i = 0; i < 2000; i++)
        free(blk[i]);
    umalloc_check();
    printf("the box covers the mapped segment; now cut short\n");
    fflush(stdout);
    um_lock_acquire(&av->lock);
    atomic_fetch_sub(&um_box_span, 16);
    um_lock_release(&av->lock);
    umalloc_check();
    printf("survived\n");
    return 0;
}
