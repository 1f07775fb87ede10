// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+ \(size 40\)$
// A block the main thread allocated, freed by a worker that never allocated
// its size (so it waits on the worker's outbound list, tcache.c
// tc_free_only, not on a stack), then freed again by the main thread while
// the worker is alive: the key in word 1 marks it there too.
#include "../common.h"
#include <pthread.h>

static void *block;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int freed, done;

static void *consumer(void *arg)
{
    (void)arg;
    free(block);
    pthread_mutex_lock(&mu);
    freed = 1;
    pthread_cond_broadcast(&cv);
    while (!done) /* stays alive: the block stays on its outbound list */
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(void)
{
    block = malloc(40);
    if (!block)
        return 2;
    memset(block, 'x', 40);
    pthread_t t;
    if (pthread_create(&t, NULL, consumer, NULL))
        return 2;
    pthread_mutex_lock(&mu);
    while (!freed)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    void *volatile again = block;
    free(again);
    puts("survived");
    return 0;
}
