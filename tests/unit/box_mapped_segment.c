/* The box (free()'s one-subtraction range, owner.c) covers the largest
 * main segment. With brk blocked after the brk heap has 1 MB, the heap
 * goes on in a mapped segment: the box stays on the brk heap while the
 * mapped segment is the smaller, and moves to it once it is the larger,
 * checked after every malloc; blocks of both segments are then freed (the
 * debug build checks the heap and the box after each call). Last, the
 * guard at the end of a mapped box: a small block merged into a small top
 * at the segment's end (flushed, drained and merged by malloc_trim(0)),
 * then freed again. Its stale header is top's, whose "next header" would
 * lie past the segment, in the reservation's PROT_NONE part; the range
 * stops short of the end, so the free takes the bounded path and names the
 * double free instead of dying of SIGSEGV. */
// variants: release debug
// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

#define NB 3000

static size_t span_of(heap *h) { return h->size > HEAP_HDR + BOX_GUARD ? h->size - HEAP_HDR - BOX_GUARD : 0; }

/* The box is the larger of the two segments' ranges (the brk heap's on a
 * tie); mapped gets the arena's newest segment once it is a mapped one. */
static void check_box(heap *brk, heap **mapped, int i)
{
    arena *av = &um_main_arena;
    um_lock_acquire(&av->lock);
    if (av->last_heap->kind == HEAP_MMAP)
        *mapped = av->last_heap;
    heap *want = *mapped && span_of(*mapped) > span_of(brk) ? *mapped : brk;
    uintptr_t lo = atomic_load(&um_box_lo), span = atomic_load(&um_box_span);
    U_CHECK(lo == (uintptr_t)want + HEAP_HDR && span == span_of(want),
            "step %d: box [%#lx, +%lu), want the %s segment (brk %zu, mapped %zu bytes)", i,
            (unsigned long)lo, (unsigned long)span, want == brk ? "brk" : "mapped", brk->size,
            *mapped ? (*mapped)->size : 0);
    um_lock_release(&av->lock);
}

int main(void)
{
    static char *blk[NB];
    arena *av = &um_main_arena;
    char *keep[64];
    for (int i = 0; i < 64; i++) /* the brk heap: 1 MB */
        keep[i] = malloc(16000);
    heap *brk = av->last_heap, *mapped = NULL;
    U_CHECK(brk->kind == HEAP_BRK, "the heap starts with brk");
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t end = ((uintptr_t)sbrk(0) + pg - 1) & ~(pg - 1);
    void *stop = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (stop == MAP_FAILED || stop != (void *)end) {
        fprintf(stderr, "cannot place a mapping at the break\n");
        return 1; /* not a skip: the abort below is expected */
    }
    int moved = -1, before = -1;
    for (int i = 0; i < NB && !unit_failures; i++) {
        blk[i] = malloc(2000); /* 6 MB in all */
        U_CHECK(blk[i] != NULL, "block %d", i);
        memset(blk[i], i & 0xff, 2000);
        check_box(brk, &mapped, i);
        if (mapped && before < 0)
            before = i;
        if (mapped && moved < 0 && atomic_load(&um_box_lo) == (uintptr_t)mapped + HEAP_HDR)
            moved = i;
    }
    U_CHECK(mapped != NULL, "no mapped segment with brk blocked");
    U_CHECK(moved > before, "the box moved at block %d, the mapped segment came at %d", moved, before);
    if (unit_failures)
        return U_DONE();
    printf("mapped segment at block %d, the box on it from block %d (brk %zu, mapped %zu bytes)\n", before,
           moved, brk->size, mapped->size);
    /* a block of the mapped segment lies in the box, one of the brk heap not */
    uintptr_t lo = atomic_load(&um_box_lo), span = atomic_load(&um_box_span);
    U_CHECK((uintptr_t)(blk[NB / 2] - CHUNK_HDR) - lo < span, "block %d outside the box", NB / 2);
    U_CHECK((uintptr_t)(keep[0] - CHUNK_HDR) - lo >= span, "a brk block inside the box");
    for (int i = 0; i < NB; i++) {
        U_CHECK((unsigned char)blk[i][1999] == (i & 0xff), "block %d", i);
        free(blk[i]);
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    umalloc_check();
    if (unit_failures)
        return U_DONE();

    /* the guard: every small stack gets room, then 200-byte blocks until
     * the one just below top leaves a top of 200..800 bytes at the end */
    for (size_t n = 8; n <= 1032; n += 16)
        free(malloc(n));
    static char *small[1 << 16];
    char *p = NULL;
    for (int k = 0; k < (1 << 16) && !p; k++) {
        small[k] = malloc(200);
        U_CHECK(small[k] != NULL, "small block %d", k);
        um_lock_acquire(&av->lock);
        chunk *top = av->top;
        size_t ts = chunksize(top);
        heap *h = av->last_heap;
        int at_end = (char *)top + ts == (char *)h + h->size && h == mapped;
        um_lock_release(&av->lock);
        if (!at_end || ts < 200 || ts > 800)
            continue;
        for (int j = k; j >= 0 && !p; j--)
            if ((char *)small[j] - CHUNK_HDR + 208 == (char *)top)
                p = small[j];
    }
    U_CHECK(p != NULL, "no 200-byte block just below a small top");
    U_CHECK((uintptr_t)(p - CHUNK_HDR) - atomic_load(&um_box_lo) >= atomic_load(&um_box_span),
            "the block just below top's end is inside the box's range");
    if (unit_failures)
        return U_DONE();
    char *volatile again = p;
    free(p);
    umalloc_thread_flush(); /* p: central */
    malloc_trim(0);         /* drained into the bins, merged into top */
    um_lock_acquire(&av->lock);
    int merged = (char *)av->top == p - CHUNK_HDR && chunksize(av->top) <= TC_MAX_CHUNK;
    um_lock_release(&av->lock);
    U_CHECK(merged, "the block did not become a small top");
    if (unit_failures)
        return U_DONE();
    fflush(stdout);
    free(again);
    puts("survived");
    return 0;
}
