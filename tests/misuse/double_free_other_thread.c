// expect-abort: ^umalloc: free\(\): double free of 0x[0-9a-f]+ \(size 40\)$
// A block freed by one thread (it sits in that live thread's cache) and then
// freed again by another thread.
#include "../common.h"
#include <pthread.h>

static void *block;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int freed, done;

static void *owner(void *arg)
{
    (void)arg;
    block = malloc(40);
    free(block);
    pthread_mutex_lock(&mu);
    freed = 1;
    pthread_cond_broadcast(&cv);
    while (!done) /* stays alive: the block stays in this thread's cache */
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, owner, NULL))
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
