/* free() of a pointer into a thread arena's 64 MiB region past the end of
 * its heap, where the reservation is PROT_NONE (never committed here; a
 * trim leaves the same): free()'s fast path found the region's heap and
 * read the "header" there, and the program died of SIGSEGV instead of the
 * one line that names the pointer (a double free after the heap was
 * trimmed below the block reads the same place). The main arena's paths
 * were bounded already (tests/misuse/free_far). The worker moves to an
 * arena of its own by reporting four waits on its lock, as um_arena_get
 * does after waiting (tests/unit/arena_limit.c).
 * cflags: -pthread
 */
// variants: release debug
// expect-abort: ^umalloc: free\(\): invalid pointer 0x[0-9a-f]+$
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "unit.h"

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < 4; r++)
        um_arena_note_contention(um_arena_current());
    U_CHECK(um_arena_current() != &um_main_arena, "the worker did not move to an arena of its own");
    char *b = malloc(100);
    U_CHECK(b != NULL, "malloc");
    heap *h = um_heap_of(mem_to_chunk(b));
    U_CHECK(h->size < HEAP_MAX_SIZE / 2, "the heap holds %zu bytes already", h->size);
    void *volatile far = (char *)h + HEAP_MAX_SIZE / 4 * 3 + 0x40;
    free(far);
    puts("survived");
    return NULL;
}

int main(void)
{
    unit_init_library();
    U_CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt");
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    return U_DONE() ? 1 : 0;
}
