// calloc memory reads zero while another thread toggles M_PERTURB. calloc
// went through malloc's slow path, which filled a new block with the
// perturb byte when M_PERTURB was set, and then read the setting again to
// decide whether a fresh mapping (the kernel's zeros) needed clearing: a
// mallopt between the two reads returned the fill (helper 35 saw 0xff and
// 0x5a bytes in a two-thread run). glibc's calloc reads it twice too, and
// its manual calls mallopt MT-Unsafe; a calloc that returns non-zero memory
// is still worse than a setting that takes effect a call late.
#include "../common.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum { SIZE = 300 * 1024 };

static atomic_int stop;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *toggler(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        mallopt(M_PERTURB, 0x5a);
        mallopt(M_PERTURB, 0);
    }
    return NULL;
}

int main(void)
{
    /* a fixed threshold: every block of SIZE is a mapping of its own */
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, toggler, NULL) == 0);
    double end = now() + 1.5;
    long rounds = 0, dirty = 0;
    while (now() < end) {
        unsigned char *p = calloc(1, SIZE);
        CHECK(p != NULL);
        for (size_t i = 0; i < SIZE; i += 64)
            if (p[i] | p[i + 63]) {
                dirty++;
                break;
            }
        free(p);
        rounds++;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    mallopt(M_PERTURB, 0);
    printf("%ld callocs of %d bytes beside M_PERTURB toggling: %ld not zero\n", rounds, SIZE, dirty);
    EXPECTF(dirty == 0, "%ld of %ld callocs returned non-zero bytes", dirty, rounds);
    return t_done();
}
