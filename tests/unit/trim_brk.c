/* systrim: the main arena's free top moves the break back by whole pages,
 * keeping pad; below the trim threshold nothing moves. */
#include <malloc.h>
#include <unistd.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

int main(void)
{
    U_CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1, "no automatic trim");
    U_CHECK(mallopt(M_MMAP_THRESHOLD, 16 << 20) == 1, "heap for big blocks");
    char *p = malloc(8 << 20);
    char *guard = malloc(100);
    (void)guard;
    char *q = malloc(4 << 20);
    U_CHECK(p && q, "allocations");
    for (size_t i = 0; i < (4u << 20); i += 4096)
        q[i] = 1;
    free(q);
    arena *av = &um_main_arena;
    um_lock_acquire(&av->lock);
    heap *h = av->last_heap;
    if (h->kind != HEAP_BRK) { /* brk blocked here (e.g. under a sanitizer) */
        um_lock_release(&av->lock);
        return 77;
    }
    char *brk0 = sbrk(0);
    size_t top0 = chunksize(av->top), sys0 = av->system_mem;
    U_CHECK(top0 >= (4u << 20), "freed block merged into top: %zu", top0);
    int r = um_systrim(av, 128 * 1024);
    char *brk1 = sbrk(0);
    U_CHECK(r == 1, "systrim released");
    U_CHECK(brk1 < brk0 && (size_t)(brk0 - brk1) % 4096 == 0, "break moved back by pages");
    U_CHECK(chunksize(av->top) >= 128 * 1024 + MINSIZE && chunksize(av->top) < 128 * 1024 + MINSIZE + 4096,
            "pad kept: %zu", chunksize(av->top));
    U_CHECK(av->system_mem == sys0 - (size_t)(brk0 - brk1), "system_mem follows");
    U_CHECK(um_systrim(av, 128 * 1024) == 0, "nothing more to trim");
    um_lock_release(&av->lock);
    umalloc_check();
    free(p);
    return U_DONE();
}
