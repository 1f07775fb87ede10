// cflags: -pthread
// ldflags: -pthread
// timeout: 90
// With brk blocked, the main arena grows in a mapped segment while other
// threads free blocks from it: frees read free()'s fast-path range (the
// box, owner.c) without a lock while it grows and moves from the brk heap
// to that segment, and frees outside it ask the segment table while a new
// table is published. Blocks travel between threads through shared slots,
// so most frees happen away from the allocating thread; contents are
// checked before each free.
#include "../common.h"
#include <pthread.h>
#include <stdatomic.h>

enum { THREADS = 4, SLOTS = 4096 };
static _Atomic(unsigned char *) slot[SLOTS]; /* a block holds its size in its first word */

static void *run(void *arg)
{
    t_rng r = {t_seed(1000 + (uintptr_t)arg)};
    long ops = t_scale(200000, 4000);
    for (long k = 0; k < ops; k++) {
        size_t j = t_below(&r, SLOTS);
        size_t sz = t_below(&r, 8) == 0 ? 2000 + t_below(&r, 60000) : 16 + t_below(&r, 500);
        unsigned char *p = malloc(sz);
        if (!p)
            abort();
        memset(p, (int)(sz & 0xff), sz);
        memcpy(p, &sz, sizeof sz);
        unsigned char *old = atomic_exchange(&slot[j], NULL);
        if (old) {
            size_t osz;
            memcpy(&osz, old, sizeof osz);
            if (osz < 16 || osz > 70000 || old[osz - 1] != (osz & 0xff) || old[osz / 2 + 4] != (osz & 0xff))
                abort();
            free(old);
        }
        unsigned char *expect = NULL;
        if (!atomic_compare_exchange_strong(&slot[j], &expect, p))
            free(p); /* someone else filled the slot meanwhile */
    }
    return NULL;
}

int main(void)
{
    void *keep = malloc(100);
    CHECK(keep != NULL);
    uintptr_t end = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *blk = mmap((void *)end, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == MAP_FAILED)
        t_skip("cannot place a mapping at the break");
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, run, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int j = 0; j < SLOTS; j++)
        free(atomic_load(&slot[j]));
    free(keep);
    EXPECT(sbrk(0) <= blk);
    munmap(blk, 1 << 20);
    return t_done();
}
