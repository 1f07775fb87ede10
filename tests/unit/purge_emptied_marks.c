/* The emptied arena's heap marks (src/purge.c, EMPTIED_AGAIN) survive the
 * clock read that starts the state. A state records the arena's size when
 * it began (emptied_sys0) and the least its trims left (emptied_sys_low),
 * so that a heap grown back by the next emptying shows a program that
 * builds its heap in rounds. A clock read that finds a pause of a decay
 * time clears the marks (a pause means the program was not at work), and
 * emptied_try reads the clock itself, right after it begins the state:
 * when that read was the first after a pause (the whole heap freed in
 * fewer calls than the span between clock reads), it cleared the marks it
 * had just set, and the state gave no evidence.
 * Here: a heap of 96 KiB blocks, all but one in 16 freed with no clock
 * read (countdown held high), the last read a decay time and more in the
 * past; the state begins, and its marks hold the arena's size.
 */
#include <malloc.h>
#include <string.h>

#include "internal.h"
#include "purge.h"
#include "umalloc.h"
#include "unit.h"

enum { N = 600, SZ = 96 * 1024, PIN = 16, DECAY = 400 };

static char *blk[N];

int main(void)
{
    arena *av = &um_main_arena;
    U_CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "mmap threshold");
    U_CHECK(mallopt(M_UMALLOC_PURGE_DECAY, DECAY) == 1, "decay");
    for (int i = 0; i < N; i++) {
        blk[i] = malloc(SZ);
        U_CHECK(blk[i] != NULL, "block %d", i);
        memset(blk[i], i, SZ);
    }
    um_tcache_flush_all();
    U_CHECK(av->purge.emptied == 0, "emptied while the heap is in use");
    /* the last clock read two decay times ago, and none until the state
     * reads it */
    av->purge.now = um_now_ms() - 2 * DECAY;
    av->purge.countdown = 1 << 30;
    av->purge.emptied_undone = 0;
    size_t sys = av->system_mem;
    for (int i = 0; i < N; i++)
        if (i % PIN != PIN - 1) {
            free(blk[i]);
            blk[i] = NULL;
        }
    um_tcache_flush_all();
    printf("emptied %d, arena %zu KiB, marks %zu KiB and %zu KiB, clock read %llu ms ago\n",
           av->purge.emptied, av->system_mem >> 10, av->purge.emptied_sys0 >> 10,
           av->purge.emptied_sys_low >> 10, (unsigned long long)(um_now_ms() - av->purge.now));
    U_CHECK(av->purge.emptied != 0, "not emptied: %zu MiB binned of %zu MiB", av->binned >> 20,
            av->system_mem >> 20);
    U_CHECK(um_now_ms() - av->purge.now < DECAY, "the state did not read the clock");
    U_CHECK(av->purge.emptied_sys0 == sys, "the state's start mark is %zu, the arena held %zu",
            av->purge.emptied_sys0, sys);
    U_CHECK(av->purge.emptied_sys_low != 0 && av->purge.emptied_sys_low <= sys,
            "the state's low mark is %zu (arena %zu)", av->purge.emptied_sys_low, sys);
    av->purge.countdown = 0;
    for (int i = PIN - 1; i < N; i += PIN)
        free(blk[i]);
    return U_DONE();
}
