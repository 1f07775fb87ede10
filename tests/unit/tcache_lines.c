/* A thread's cache sits on cache lines that no other chunk reaches into
 * (tcache.c, tc_setup): its heads and rooms are written on every malloc
 * and free, and the chunks around it are other threads' blocks, whose frees
 * read the header of the chunk that follows them. For the caches of
 * several threads set up one after the other (their blocks and caches
 * interleave in the heap):
 *  - the cache starts on a 64-byte line, after the line holding its own
 *    chunk's header;
 *  - its last line ends before the line holding the next chunk's header;
 *  - the block it sits in is a live chunk of the heap, given back at the
 *    thread's exit (the heap's in-use bytes return to where they were). */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#include "tcache.h"
#include "unit.h"

static uintptr_t line(uintptr_t a) { return a & ~(uintptr_t)63; }

static void *worker(void *arg)
{
    void **keep = arg;
    *keep = malloc(8); /* one block of the size, next to whatever comes after */
    struct tcache *tc = um_tcp;
    U_CHECK(tc != &um_tc_empty && tc->mem != NULL, "no cache after a malloc");
    uintptr_t t = (uintptr_t)tc, end = t + sizeof *tc;
    chunk *c = mem_to_chunk(tc->mem);
    uintptr_t own_hdr = (uintptr_t)&c->size, next_hdr = (uintptr_t)&next_chunk(c)->size;
    U_CHECK(t % 64 == 0, "cache at %p: not on a line", (void *)tc);
    U_CHECK(line(own_hdr) < line(t), "its chunk's header %p shares the line of the cache %p",
            (void *)own_hdr, (void *)tc);
    U_CHECK(line(next_hdr) > line(end - 1), "the next chunk's header %p shares the cache's last line (ends %p)",
            (void *)next_hdr, (void *)end);
    U_CHECK(inuse(c), "the cache's chunk is not in use");
    return NULL;
}

int main(void)
{
    void *kept[7];
    size_t before = 0;
    for (int i = 0; i < 7; i++) {
        pthread_t th;
        U_CHECK(pthread_create(&th, NULL, worker, &kept[i]) == 0, "pthread_create");
        pthread_join(th, NULL);
        if (i == 0) { /* main's own cache and the threads' stacks are set up by now */
            free(kept[0]);
            before = (size_t)mallinfo2().uordblks;
        }
    }
    for (int i = 1; i < 7; i++)
        free(kept[i]);
    size_t after = (size_t)mallinfo2().uordblks;
    U_CHECK(after <= before + 1024, "in use grew from %zu to %zu bytes: a cache's block kept",
            before, after);
    return U_DONE();
}
