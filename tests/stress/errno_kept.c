// cflags: -pthread
// ldflags: -pthread
// timeout: 180
// free() and a successful malloc() never change errno, even when threads
// contend for arena locks (a futex wait sets EAGAIN/EINTR internally).
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic long clobbered;

static void *run(void *arg)
{
    unsigned s = (unsigned)(size_t)arg * 2654435761u + 1;
    long n = getenv("UMALLOC_TEST_DEBUG") ? 3000 : 300000;
    static _Thread_local void *slot[512];
    for (long k = 0; k < n; k++) {
        s = s * 1103515245 + 12345;
        unsigned j = (s >> 9) % 512;
        errno = 1234;
        free(slot[j]);
        if (errno != 1234)
            clobbered++;
        errno = 4321;
        slot[j] = malloc((s >> 4) % 5000 + 1);
        if (!slot[j])
            return (void *)1;
        if (errno != 4321)
            clobbered++;
    }
    for (int j = 0; j < 512; j++)
        free(slot[j]);
    return NULL;
}

int main(void)
{
    pthread_t t[16];
    for (size_t i = 0; i < 16; i++)
        if (pthread_create(&t[i], NULL, run, (void *)i) != 0)
            return 2;
    for (int i = 0; i < 16; i++) {
        void *r;
        pthread_join(t[i], &r);
        if (r)
            return 3;
    }
    printf("errno changed %ld times\n", (long)clobbered);
    return clobbered != 0;
}
