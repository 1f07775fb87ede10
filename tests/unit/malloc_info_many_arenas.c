/* malloc_info with many arenas, each with many non-empty bins: the XML is
 * built in a scratch mapping of 1 MiB and was cut off where it filled
 * (about 190 such arenas; a machine with 256 CPUs has 128 by default, and
 * M_ARENA_MAX may allow more), so the caller got a document without its
 * end and a return of 0. Every arena must appear, and the document end.
 * The thread moves to a new arena by reporting four waits on its lock (as
 * um_arena_get does after waiting) and keeps each arena it leaves counted
 * as attached, so the next move makes a new one; each arena gets a free
 * chunk in each small bin and in the 64-byte large bins, held apart by
 * live chunks.
 * variants: release debug
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "bins.h"

#define NARENAS 230

static void fill_bins(arena *av)
{
    static void *blk[200];
    int n = 0;
    um_lock_acquire(&av->lock);
    for (size_t s = 144; s < 3072; s += s < 1024 ? 16 : 64) {
        blk[n++] = um_int_malloc(av, s);
        U_CHECK(blk[n - 1] != NULL, "chunk of %zu", s);
        U_CHECK(um_int_malloc(av, 32) != NULL, "separator"); /* kept */
    }
    for (int i = 0; i < n; i++)
        if (blk[i])
            um_int_free(av, mem_to_chunk(blk[i]), chunksize(mem_to_chunk(blk[i])), "free");
    um_arena_sort_unsorted(av, 1000);
    um_lock_release(&av->lock);
}

int main(void)
{
    um_ensure_init();
    U_CHECK(mallopt(M_ARENA_MAX, NARENAS + 10) == 1, "M_ARENA_MAX");
    int made = 0;
    for (int k = 0; k < NARENAS; k++) {
        arena *from = um_arena_current();
        for (int r = 0; r < 4; r++)
            um_arena_note_contention(from);
        arena *to = um_arena_peek();
        if (to == from || to == &um_main_arena)
            break;
        atomic_fetch_add(&from->attached, 1); /* not free to move back to */
        fill_bins(to);
        made++;
    }
    U_CHECK(made == NARENAS, "made %d arenas of %d", made, NARENAS);
    FILE *f = tmpfile();
    U_CHECK(f != NULL, "tmpfile");
    if (!f)
        return 1;
    U_CHECK(malloc_info(0, f) == 0, "malloc_info");
    long len = ftell(f);
    static char buf[8 << 20];
    rewind(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    int heaps = 0;
    for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++)
        heaps++;
    const char *tail = got >= 10 ? buf + got - 10 : buf;
    printf("%d arenas, malloc_info wrote %ld bytes with %d heaps\n", made + 1, len, heaps);
    U_CHECK(heaps == made + 1, "%d <heap> elements for %d arenas", heaps, made + 1);
    U_CHECK(strcmp(tail, "</malloc>\n") == 0, "the document does not end with </malloc>: ...%s", tail);
    return U_DONE();
}
