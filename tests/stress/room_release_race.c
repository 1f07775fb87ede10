// The rooms of grown mapped blocks (src/large.c, um_mmap_rooms_release) are
// counted in reg.rooms, which a failing request reads without the lock to
// see whether any room could go back: the writers, under the lock, must
// store it atomically too. One thread grows mapped blocks (each growth of a
// block without room moves it into a reservation with room; free gives the
// room back) while the main thread asks for more than the machine has, so
// that every request fails and looks at the count. tsan reported the
// unlocked read racing the plain stores in um_mremap_chunk and
// um_munmap_chunk.
#include "../common.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int stop;

static void *grower(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        char *p = malloc(200 * 1024);
        CHECK(p != NULL);
        p[0] = 1;
        char *q = realloc(p, 400 * 1024);
        CHECK(q != NULL && q[0] == 1);
        free(q);
    }
    return NULL;
}

int main(void)
{
    if (t_is_glibc())
        t_skip("umalloc's room after grown mapped blocks");
    /* a fixed threshold: every block here is a mapping of its own */
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, grower, NULL) == 0);
    int failed = 0;
    for (int i = 0; i < 20000; i++) {
        void *volatile big = malloc((size_t)1 << 46); /* more than any machine here has */
        failed += big == NULL;
        free(big);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("%d of 20000 requests of 64 TiB failed beside a thread growing mapped blocks\n", failed);
    EXPECT(failed == 20000);
    return t_done();
}
