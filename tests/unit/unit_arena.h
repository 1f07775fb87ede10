/* unit_arena.h — a private arena for the white-box tests that need exact
 * accounting: made with um_heap_new_arena (not in the arena list, so malloc
 * never touches it), its top grown to hold 4 MiB so carving and refills in
 * the test never have to grow the heap (growing could drain the central
 * cache under the test). Include after unit.h and the src/ headers. */
#ifndef UM_UNIT_ARENA_H
#define UM_UNIT_ARENA_H

static arena *private_arena(int index)
{
    arena *av = um_heap_new_arena(index);
    U_CHECK(av != NULL, "private arena %d", index);
    if (!av)
        exit(1);
    um_lock_acquire(&av->lock);
    void *big = um_int_malloc(av, (size_t)4 << 20);
    U_CHECK(big != NULL, "grow the private arena");
    um_int_free(av, mem_to_chunk(big), chunksize(mem_to_chunk(big)), "free");
    um_lock_release(&av->lock);
    return av;
}

#ifdef CPU_SET
/* Run the calling thread on cpu; 1 when it now reports that CPU's shard
 * (central.c). Needs <sched.h> (with _GNU_SOURCE). */
static inline int unit_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return 0;
    return um_central_shard() == (size_t)cpu;
}
#endif
#endif
