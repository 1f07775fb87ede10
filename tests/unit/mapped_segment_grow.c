/* With brk blocked, the main arena's mapped segment grows in place: 40 MB
 * of blocks leave one segment (the arena's newest heap stays the same),
 * read/write exactly up to its size, inside a reservation of at least
 * HEAP_MAX_SIZE; then the debug walk's check of those three numbers fires
 * on a segment whose commit disagrees with its size. */
// variants: release debug
// expect-abort: ^umalloc: check\(\): mapped segment's size, commit and reservation disagree at 0x[0-9a-f]+
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

int main(void)
{
    void *keep = malloc(100); /* the brk segment exists */
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                     -1, 0);
    if (blk == MAP_FAILED || !keep) {
        fprintf(stderr, "cannot place a mapping at the break\n");
        return 1; /* not a skip: the abort below is expected */
    }
    arena *av = &um_main_arena;
    heap *first = NULL;
    size_t first_size = 0;
    for (int i = 0; i < 2000; i++) {
        char *p = malloc(20000);
        U_CHECK(p != NULL, "block %d", i);
        memset(p, 1, 20000);
        um_lock_acquire(&av->lock);
        heap *h = av->last_heap;
        if (h->kind == HEAP_MMAP && !first) {
            first = h;
            first_size = h->size;
        }
        if (first) {
            U_CHECK(h == first, "block %d: a new segment %p after %p", i, (void *)h, (void *)first);
            U_CHECK(h->committed == h->size && h->size <= h->reserved && h->reserved >= HEAP_MAX_SIZE,
                    "size %zu, committed %zu, reserved %zu", h->size, h->committed, h->reserved);
        }
        um_lock_release(&av->lock);
    }
    U_CHECK(first != NULL, "no mapped segment with brk blocked");
    if (!first || unit_failures)
        return U_DONE();
    printf("one mapped segment grew from %zu to %zu bytes (reserved %zu)\n", first_size, first->size,
           first->reserved);
    U_CHECK(first->size >= first_size + (30u << 20), "grew in place: %zu -> %zu", first_size, first->size);
    if (unit_failures)
        return U_DONE();
    fflush(stdout);
    um_lock_acquire(&av->lock);
    first->committed -= 4096;
    um_lock_release(&av->lock);
    umalloc_check();
    printf("survived\n");
    return 0;
}
