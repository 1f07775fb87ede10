/* The box (free()'s fast-path range, owner.c) when the break is blocked,
 * then free again: the heap goes on in a mapped segment M, which gets the
 * box; once the blocker is gone a new brk segment B starts and gets the box
 * when it outgrows M. Then everything is freed and malloc_trim(0) shrinks
 * B far below M: the box stays on B, as it moves only to a segment larger
 * than any range it ever had (a reader that loaded B's old span before the
 * trim must not apply it to M, past M's end); B grown again keeps it. The
 * debug build checks the box after every call, umalloc_check() here. */
// variants: release debug
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "bins.h"
#include "umalloc.h"

#define NM 2000
#define NB 6000

static char *m_blk[NM], *b_blk[NB];

static heap *box(void)
{
    return (heap *)(atomic_load(&um_box_lo) - HEAP_HDR);
}

static size_t span_of(heap *h) { return h->size > HEAP_HDR + BOX_GUARD ? h->size - HEAP_HDR - BOX_GUARD : 0; }

/* n blocks of 2000 bytes into blk */
static void fill(char **blk, int n)
{
    for (int i = 0; i < n; i++) {
        blk[i] = malloc(2000);
        U_CHECK(blk[i] != NULL, "block %d", i);
    }
}

int main(void)
{
    arena *av = &um_main_arena;
    setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer in the heap: it would pin B's top */
    void *keep = malloc(100);         /* the brk heap exists */
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t end = ((uintptr_t)sbrk(0) + pg - 1) & ~(pg - 1);
    void *stop = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (stop == MAP_FAILED || stop != (void *)end || !keep) { /* (a kernel before 4.17 takes the flag as a hint) */
        printf("cannot place a mapping at the break\n");
        return 77;
    }
    fill(m_blk, NM);
    um_lock_acquire(&av->lock);
    heap *m = av->last_heap;
    um_lock_release(&av->lock);
    U_CHECK(m->kind == HEAP_MMAP && box() == m, "the box is not on the mapped segment");
    munmap(stop, 1 << 20);
    fill(b_blk, NB);
    um_lock_acquire(&av->lock);
    heap *b = av->last_heap;
    um_lock_release(&av->lock);
    U_CHECK(b->kind == HEAP_BRK && b != m, "no new brk segment after the blocker went");
    U_CHECK(box() == b && span_of(b) > span_of(m), "the box is not on the larger brk segment");
    if (unit_failures)
        return U_DONE();
    umalloc_check();
    printf("mapped %zu bytes, then brk %zu bytes: the box on brk\n", m->size, b->size);
    for (int i = 0; i < NM; i++)
        free(m_blk[i]);
    for (int i = 0; i < NB; i++)
        free(b_blk[i]);
    umalloc_thread_flush();
    malloc_trim(0);
    umalloc_check();
    U_CHECK(span_of(b) < span_of(m), "the brk segment did not shrink below the mapped one: %zu, %zu",
            b->size, m->size);
    U_CHECK(box() == b && atomic_load(&um_box_span) == span_of(b), "the box left the trimmed brk segment");
    printf("trimmed: brk %zu bytes, mapped %zu: the box stays on brk\n", b->size, m->size);
    fill(b_blk, NB);
    for (int i = 0; i < NB && !unit_failures; i++)
        memset(b_blk[i], 7, 2000);
    U_CHECK(box() == b && atomic_load(&um_box_span) == span_of(b), "the box is not on the regrown brk segment");
    umalloc_check();
    for (int i = 0; i < NB; i++)
        free(b_blk[i]);
    free(keep);
    umalloc_check();
    return U_DONE();
}
