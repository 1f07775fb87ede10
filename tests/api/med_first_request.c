// cflags: -pthread
// A medium size asked for the first time in the process gets exactly its
// size (the seeds' A=30K, B=40K picture); once the process has asked for it,
// a new thread's first request of that size is a class-size block, as later
// requests in the first thread are, so the freed block can be cached and
// reused by threads that come after. Before, each thread's first request of
// each medium size was exact: freed, it could not be cached and went to the
// bins, which bench/churn's short-lived threads filled with 0.7 MB of free
// chunks.
#include "../common.h"
#include <pthread.h>

enum { REQ = 5000 };

static void *thread_first(void *arg)
{
    size_t *usable = arg;
    void *volatile p = malloc(REQ);
    CHECK(p != NULL);
    *usable = malloc_usable_size(p);
    free(p);
    return NULL;
}

int main(void)
{
    void *volatile a = malloc(REQ);
    CHECK(a != NULL);
    size_t first = malloc_usable_size(a);
    void *volatile b = malloc(REQ); /* the second request: its class's size */
    CHECK(b != NULL);
    size_t second = malloc_usable_size(b);
    EXPECTF(first == REQ, "the process's first %d-byte block has %zu usable bytes", REQ, first);
    EXPECTF(second > first && second <= REQ + REQ / 8 + 16,
            "the second %d-byte block has %zu usable bytes (a class size)", REQ, second);
    size_t other = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_first, &other) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    EXPECTF(other == second, "a new thread's first %d-byte block has %zu usable bytes, not %zu",
            REQ, other, second);
    free(a);
    free(b);
    return t_done();
}
