/* Arenas that give back: a private non-main arena (aligned 64 MiB heaps)
 * grows to more than two heaps, then everything but one small block at its
 * start is freed, with M_TRIM_THRESHOLD too high for free() to trim. With decay 0 the purge's own ticks (no malloc_trim) must
 * unmap the emptied newer heaps, shrink the first one, and purge the free
 * pages left inside it: system_mem and the resident pages fall, the survivor
 * is intact, and the purge's counters agree (um_purge_stats). */
#include <string.h>
#include <sys/mman.h>
#include "unit.h"
#include "bins.h"
#include "purge.h"

static size_t resident(void *p, size_t len)
{
    static unsigned char vec[1 << 16];
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095, hi = ((uintptr_t)p + len + 4095) & ~(uintptr_t)4095;
    size_t n = 0;
    for (uintptr_t a = lo; a < hi; a += sizeof vec * 4096) {
        size_t pages = (hi - a) / 4096 < sizeof vec ? (hi - a) / 4096 : sizeof vec;
        if (mincore((void *)a, pages * 4096, vec) != 0)
            return (size_t)-1;
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
    }
    return n;
}

int main(void)
{
    um_ensure_init();
    arena *av = um_heap_new_arena(98);
    U_CHECK(av != NULL, "private arena");
    um_lock_acquire(&av->lock);
    enum { N = 160, SZ = 1 << 20 };
    static void *m[N];
    void *keep = um_int_malloc(av, request2size(100));
    U_CHECK(keep != NULL, "survivor");
    memset(keep, 0x77, 100);
    for (int i = 0; i < N; i++) {
        m[i] = um_int_malloc(av, request2size(SZ));
        U_CHECK(m[i] != NULL, "block %d", i);
        memset(m[i], i, SZ);
    }
    size_t sys_full = av->system_mem;
    U_CHECK(sys_full > 2 * HEAP_MAX_SIZE, "%zu MiB in the arena: not three heaps", sys_full >> 20);
    heap *first = um_heap_of(mem_to_chunk(keep));
    U_CHECK(av->last_heap != first, "still on the first heap");
    /* free() itself would trim above M_TRIM_THRESHOLD: raise it, as the
     * dynamic threshold does, so only the purge can give the heaps back */
    um_params.trim_threshold = (size_t)1 << 30;
    for (int i = 0; i < N; i++)
        um_int_free(av, mem_to_chunk(m[i]), chunksize(mem_to_chunk(m[i])), "free");
    size_t sys_freed = av->system_mem;
    size_t res_first = resident(first, first->size);

    um_params.purge_decay_ms = 0;
    av->purge.next_sweep = 0;
    av->purge.countdown = 0; /* read the clock on the next call */
    size_t sweeps0 = av->purge.sweeps;
    for (int i = 0; i < 2000 && (av->purge.sweeps < sweeps0 + 2 || av->purge.bin); i++)
        um_purge_tick(av);
    struct um_purge_stats st;
    um_purge_stats(av, &st);
    size_t res_after = resident(first, first->size);
    printf("system_mem %zu -> %zu -> %zu KiB; first heap resident %zu -> %zu pages; purged %zu KiB in %zu calls, "
           "trimmed %zu KiB, %zu sweeps; now purged %zu KiB, dirty %zu KiB\n",
           sys_full >> 10, sys_freed >> 10, av->system_mem >> 10, res_first, res_after, st.purged_bytes >> 10,
           st.purge_calls, st.trimmed_bytes >> 10, st.sweeps, st.purged_now >> 10, st.dirty_now >> 10);
    U_CHECK(st.sweeps >= 1, "no sweep completed");
    U_CHECK(av->last_heap == first && av->system_mem <= HEAP_MAX_SIZE,
            "emptied heaps not unmapped: system_mem %zu KiB", av->system_mem >> 10);
    U_CHECK(av->system_mem < sys_freed / 4, "system_mem %zu of %zu KiB", av->system_mem >> 10, sys_freed >> 10);
    U_CHECK(st.trimmed_bytes >= sys_freed - av->system_mem, "trimmed %zu KiB, system_mem fell by %zu KiB",
            st.trimmed_bytes >> 10, (sys_freed - av->system_mem) >> 10);
    U_CHECK(res_after * 4 < res_first, "first heap: %zu of %zu pages still resident", res_after, res_first);
    U_CHECK(st.dirty_now <= 4 * 4096, "%zu KiB of free pages left unpurged", st.dirty_now >> 10);
    for (int i = 0; i < 100; i++)
        U_CHECK(((unsigned char *)keep)[i] == 0x77, "survivor changed");
    /* the arena still works, and its free pages come back as zero */
    void *again = um_int_malloc(av, request2size(4 * SZ));
    U_CHECK(again != NULL, "malloc after the give-back");
    memset(again, 1, 4 * SZ);
    um_int_free(av, mem_to_chunk(again), chunksize(mem_to_chunk(again)), "free");
    um_lock_release(&av->lock);
    return U_DONE();
}
