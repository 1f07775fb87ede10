// xthread_move.c - 8 threads move a few million blocks of five sizes (24, 48,
// 200, 1000, 3000 B) between each other: each thread allocates, stamps and
// sends blocks to the others through lock-free mailboxes (packets of
// messages pushed onto a Treiber stack that the owner empties in one
// exchange), and verifies and frees what it receives. Nearly every block is
// freed by a thread other than the one that allocated it, so the traffic
// runs through the thread caches' flushes and refills and the central caches
// of several arenas. A message carries the block's tag; the block holds the
// same tag in word 0 and a pattern derived from its address and tag after
// it, so a block handed out twice, moved while still parked, or corrupted by
// a batch link is caught by the thread that frees it. At the end every block
// is freed, malloc_trim(0) runs and mallinfo2 is consistent with uordblks
// back near its starting level.
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
#include "../common.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define XM_TSAN 1
#else
#define XM_TSAN 0
#endif

#define NT 8
#define PKT 62 /* messages per packet: the packet is a ~1 KiB block itself */

static const size_t sizes[5] = {24, 48, 200, 1000, 3000};
static const unsigned weight[5] = {30, 60, 85, 95, 100}; /* cumulative % */

struct msg {
    void *p;
    uint64_t tag;
};
struct packet {
    struct packet *next;
    uint32_t n, from;
    struct msg m[PKT];
};

static struct mailbox {
    _Atomic(struct packet *) head;
    char pad[56];
} box[NT];

static atomic_long inflight;   /* blocks sent and not yet freed by their receiver */
static atomic_int producers_done;
static atomic_long total_sent, total_recv, total_local;
static long per_thread, inflight_max;
static atomic_int failed;

#define XFAIL(...)                                                                        \
    do {                                                                                  \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                              \
        atomic_store(&failed, 1);                                                         \
    } while (0)

static size_t tag_size(uint64_t tag) { return sizes[(tag >> 48) & 7]; }

static void stamp(void *p, uint64_t tag)
{
    size_t n = tag_size(tag);
    memcpy(p, &tag, 8);
    t_fill((char *)p + 8, n - 8, p, tag);
}

static void verify_free(void *p, uint64_t tag, int who)
{
    uint64_t w0;
    size_t n = tag_size(tag);
    memcpy(&w0, p, 8);
    if (w0 != tag)
        XFAIL("thread %d: block %p: tag %016llx, message said %016llx (handed out twice or overwritten)",
              who, p, (unsigned long long)w0, (unsigned long long)tag);
    size_t bad = t_check((char *)p + 8, n - 8, p, tag);
    if (bad != (size_t)-1)
        XFAIL("thread %d: block %p size %zu tag %016llx: content differs at offset %zu", who, p, n,
              (unsigned long long)tag, bad + 8);
    if (malloc_usable_size(p) < n)
        XFAIL("thread %d: block %p: usable size %zu < %zu", who, p, malloc_usable_size(p), n);
    free(p);
}

static void push(int to, struct packet *pk)
{
    struct packet *old = atomic_load_explicit(&box[to].head, memory_order_relaxed);
    do
        pk->next = old;
    while (!atomic_compare_exchange_weak_explicit(&box[to].head, &old, pk, memory_order_release,
                                                  memory_order_relaxed));
}

/* Verify and free everything in this thread's mailbox; returns blocks freed. */
static long drain(int me)
{
    struct packet *pk = atomic_exchange_explicit(&box[me].head, NULL, memory_order_acquire);
    long n = 0;
    while (pk) {
        struct packet *next = pk->next;
        if (pk->n == 0 || pk->n > PKT || pk->from >= NT || (int)pk->from == me)
            XFAIL("thread %d: bad packet %p (n %u from %u)", me, (void *)pk, pk->n, pk->from);
        else
            for (uint32_t k = 0; k < pk->n; k++)
                verify_free(pk->m[k].p, pk->m[k].tag, me);
        n += pk->n;
        free(pk);
        pk = next;
    }
    if (n) {
        atomic_fetch_add(&total_recv, n);
        atomic_fetch_sub(&inflight, n);
    }
    return n;
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    t_rng r = {t_seed(0x1234567ull) + 0x9E37ull * (uint64_t)(me + 1)};
    struct packet *out[NT] = {0};
    void *keep[32] = {0}; /* a few blocks freed by their own thread, later */
    uint64_t keeptag[32] = {0};
    long sent = 0, local = 0;
    for (long s = 0; s < per_thread && !atomic_load_explicit(&failed, memory_order_relaxed); s++) {
        unsigned w = (unsigned)t_below(&r, 100), si = 0;
        while (w >= weight[si])
            si++;
        uint64_t tag = ((uint64_t)me << 56) | ((uint64_t)si << 48) | (uint64_t)s;
        void *p = malloc(sizes[si]);
        if (!p) {
            XFAIL("thread %d: malloc(%zu) failed", me, sizes[si]);
            break;
        }
        if ((uintptr_t)p & 15)
            XFAIL("thread %d: malloc(%zu) = %p misaligned", me, sizes[si], p);
        stamp(p, tag);
        if (t_below(&r, 16) == 0) { /* stays with its thread for a while */
            unsigned k = (unsigned)t_below(&r, 32);
            if (keep[k]) {
                verify_free(keep[k], keeptag[k], me);
                local++;
            }
            keep[k] = p;
            keeptag[k] = tag;
            continue;
        }
        int to = (int)t_below(&r, NT - 1);
        if (to >= me)
            to++;
        struct packet *pk = out[to];
        if (!pk) {
            pk = out[to] = malloc(sizeof *pk);
            if (!pk) {
                XFAIL("thread %d: packet malloc failed", me);
                break;
            }
            pk->n = 0;
            pk->from = (uint32_t)me;
        }
        pk->m[pk->n].p = p;
        pk->m[pk->n].tag = tag;
        if (++pk->n == PKT) {
            atomic_fetch_add(&inflight, PKT);
            push(to, pk);
            out[to] = NULL;
            sent += PKT;
        }
        if ((s & 63) == 63) {
            drain(me);
            while (atomic_load_explicit(&inflight, memory_order_relaxed) > inflight_max &&
                   !atomic_load_explicit(&failed, memory_order_relaxed)) {
                if (!drain(me))
                    sched_yield();
            }
        }
    }
    for (int to = 0; to < NT; to++)
        if (out[to]) {
            atomic_fetch_add(&inflight, out[to]->n);
            sent += out[to]->n;
            push(to, out[to]);
        }
    for (int k = 0; k < 32; k++)
        if (keep[k]) {
            verify_free(keep[k], keeptag[k], me);
            local++;
        }
    atomic_fetch_add(&total_sent, sent);
    atomic_fetch_add(&total_local, local);
    atomic_fetch_add(&producers_done, 1);
    /* receive until every thread is done and nothing is in flight */
    for (;;) {
        long n = drain(me);
        if (atomic_load(&producers_done) == NT && atomic_load(&inflight) == 0)
            break;
        if (!n)
            sched_yield();
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    long total = t_scale(2400000, 16000);
    if (XM_TSAN)
        total = 160000;
    per_thread = total / NT;
    inflight_max = t_is_debug() ? 1000 : 40000;

    /* warm up the main thread's cache, then take the starting level */
    free(t_opaque(malloc(64)));
    malloc_trim(0);
    struct mallinfo2 m0 = mallinfo2();

    double t0 = now_s();
    pthread_t th[NT];
    for (int i = 0; i < NT; i++)
        CHECKF(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0, "pthread_create %d", i);
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    double t1 = now_s();
    CHECK(!atomic_load(&failed));

    long sent = atomic_load(&total_sent), recv = atomic_load(&total_recv), local = atomic_load(&total_local);
    EXPECTF(sent == recv, "sent %ld, received %ld", sent, recv);
    EXPECTF(sent + local == per_thread * NT, "sent %ld + local %ld != %ld", sent, local, per_thread * NT);
    EXPECTF(atomic_load(&inflight) == 0, "in flight at the end: %ld", atomic_load(&inflight));

    struct mallinfo2 m1 = mallinfo2();
    int trimmed = malloc_trim(0);
    struct mallinfo2 m2 = mallinfo2();
    printf("xthread_move: %ld blocks (%ld moved between threads) by %d threads in %.2f s\n",
           per_thread * NT, sent, NT, t1 - t0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  peak RSS %ld KiB, %ld minor faults\n", ru.ru_maxrss, ru.ru_minflt);
    printf("  mallinfo2 start: arena %zu uord %zu ford %zu\n", m0.arena, m0.uordblks, m0.fordblks);
    printf("  after join:      arena %zu uord %zu ford %zu\n", m1.arena, m1.uordblks, m1.fordblks);
    printf("  after trim (%d): arena %zu uord %zu ford %zu keep %zu\n", trimmed, m2.arena, m2.uordblks,
           m2.fordblks, m2.keepcost);
    if (t_is_glibc()) /* the system allocator's numbers are its own business */
        return t_done();
    const struct mallinfo2 *ms[2] = {&m1, &m2};
    for (int k = 0; k < 2; k++) {
        const struct mallinfo2 *m = ms[k];
        EXPECTF(m->uordblks + m->fordblks == m->arena, "[%d] uord %zu + ford %zu != arena %zu", k, m->uordblks,
                m->fordblks, m->arena);
        EXPECTF(m->keepcost <= m->fordblks, "[%d] keepcost %zu > fordblks %zu", k, m->keepcost, m->fordblks);
        EXPECTF(m->fsmblks <= m->fordblks, "[%d] fsmblks %zu > fordblks %zu", k, m->fsmblks, m->fordblks);
        /* every block is freed: what is in use is back where it started
         * (plus a little: thread bookkeeping libc keeps for reuse) */
        EXPECTF(m->uordblks <= m0.uordblks + 256 * T_KIB, "[%d] uordblks %zu, %zu at the start", k, m->uordblks,
                m0.uordblks);
    }
    EXPECTF(m2.arena <= m1.arena, "trim grew the heap: %zu -> %zu", m1.arena, m2.arena);
    return t_done();
}
