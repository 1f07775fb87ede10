/* um_big_from_heap (large.c) answers for the main arena's top only: a
 * thread on another arena that asks for a big block past the mmap
 * threshold gets a mapping, even while the main arena's top holds more
 * than half of it (its own arena's heap would otherwise grow for it, while
 * the main top was extended for nothing). The main thread, asking the same
 * right after, gets it from the heap. The worker moves to a new arena by
 * reporting four waits on its lock, as um_arena_get does after waiting
 * (tests/unit/arena_limit.c).
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>

#include "internal.h"
#include "unit.h"

#define MIB ((size_t)1 << 20)

struct seen {
    int moved;  /* the worker left the main arena */
    int mapped; /* its 20 MiB block was mapped */
};

static void touch(char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
}

static void *worker(void *arg)
{
    struct seen *s = arg;
    arena *av = um_arena_current();
    for (int r = 0; r < 4; r++)
        um_arena_note_contention(av);
    s->moved = um_arena_peek() != NULL && um_arena_peek() != &um_main_arena;
    char *p = malloc(20 * MIB);
    if (!p)
        return NULL;
    s->mapped = mallinfo2().hblks == 1;
    touch(p, 20 * MIB);
    free(p);
    return NULL;
}

static size_t main_top(void)
{
    um_lock_acquire(&um_main_arena.lock);
    size_t t = um_heap_top_extensible(&um_main_arena);
    um_lock_release(&um_main_arena.lock);
    return t;
}

int main(void)
{
    void *volatile first = malloc(64); /* initialise the library */
    free(first);
    U_CHECK(mallopt(M_ARENA_MAX, 4) == 1, "mallopt(M_ARENA_MAX)");
    /* a 16 MiB mapped block freed: the threshold rises to its size and its
     * pages go to the main arena's top (um_heap_adopt) */
    char *b = malloc(16 * MIB);
    U_CHECK(b != NULL && mallinfo2().hblks == 1, "16 MiB not mapped");
    touch(b, 16 * MIB);
    free(b);
    size_t t0 = main_top();
    U_CHECK(t0 >= 10 * MIB, "main top after the free: %zu bytes, want 10 MiB or more", t0);

    struct seen s = {0, 0};
    pthread_t th;
    U_CHECK(pthread_create(&th, NULL, worker, &s) == 0, "pthread_create");
    pthread_join(th, NULL);
    U_CHECK(s.moved, "the worker stayed on the main arena");
    U_CHECK(s.mapped, "20 MiB in a thread of another arena: not mapped");
    /* (the worker's own small allocations may take a few bytes of it) */
    size_t t1 = main_top();
    U_CHECK(t1 <= t0 && t1 + MIB > t0, "the main top moved for the worker's request: %zu -> %zu",
            t0, t1);

    /* the main thread: the same request comes from the heap */
    char *m = malloc(20 * MIB);
    U_CHECK(m != NULL && mallinfo2().hblks == 0, "20 MiB in the main thread: mapped");
    free(m);
    return U_DONE();
}
