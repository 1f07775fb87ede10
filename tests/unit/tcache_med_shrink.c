/* A thread whose medium slots are at their caps gives medium limit back
 * when more threads start: its share (tc_med_budget, tcache.c: 1.5 MiB
 * divided by the live threads, 64..512 KiB) shrinks, and the next refills
 * and overflows of its slots shrink them until its medium limits fit the
 * new share. tc_grow answers a slot at its cap inline; this checks that
 * the answer still sends a thread over its share to the shrink
 * (tc_grow_slow). Main grows 24 medium slots (1152..8192-byte chunks) to
 * their caps alone (share 512 KiB), then 15 threads start and stay alive
 * (16 caches: share 96 KiB), and main runs the same refills and overflows
 * again: its medium limits must end within 96 KiB.
 */
// cflags: -pthread
#include <pthread.h>
#include <string.h>

#include "tcache.h"
#include "unit.h"

enum { NT = 15, FIRST = TC_MED_FIRST, NCLASS = 24, DEPTH = 8, ROUNDS = 6 };
#define SHARE_16 ((size_t)1536 * 1024 / 16)

static pthread_barrier_t up, done;

static void *idler(void *arg)
{
    (void)arg;
    void *volatile m = malloc(16); /* sets up this thread's cache */
    free(m);
    pthread_barrier_wait(&up);
    pthread_barrier_wait(&done); /* alive (a live cache) until main has checked */
    return NULL;
}

/* Refills and overflows on each class: DEPTH blocks allocated, then freed. */
static void churn(void)
{
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = FIRST; i < FIRST + NCLASS; i++) {
            size_t cs = tc_slot_size(i);
            void *b[DEPTH];
            for (int k = 0; k < DEPTH; k++) {
                b[k] = malloc(cs - SIZE_SZ);
                U_CHECK(b[k] != NULL, "malloc %zu", cs - SIZE_SZ);
                memset(b[k], 0x5a, 64);
            }
            for (int k = 0; k < DEPTH; k++)
                free(b[k]);
        }
}

int main(void)
{
    U_CHECK(tc_slot_size(FIRST + NCLASS - 1) == 8192, "class %zu", tc_slot_size(FIRST + NCLASS - 1));
    churn();
    size_t alone = um_tcp->med_limit_bytes;
    /* every slot at its cap (about 8 KiB a slot, at least two chunks:
     * 218,624 bytes in all), over the share of 16 threads */
    U_CHECK(alone > SHARE_16, "main's medium limits %zu bytes alone", alone);
    pthread_barrier_init(&up, NULL, NT + 1);
    pthread_barrier_init(&done, NULL, NT + 1);
    pthread_t t[NT];
    for (int k = 0; k < NT; k++)
        U_CHECK(pthread_create(&t[k], NULL, idler, NULL) == 0, "pthread_create");
    pthread_barrier_wait(&up);
    churn();
    size_t shared = um_tcp->med_limit_bytes;
    U_CHECK(shared <= SHARE_16, "main's medium limits %zu bytes with 16 threads (share %zu, alone %zu)",
            shared, SHARE_16, alone);
    U_CHECK(shared > 0, "main's medium slots all emptied");
    pthread_barrier_wait(&done);
    for (int k = 0; k < NT; k++)
        pthread_join(t[k], NULL);
    return U_DONE();
}
