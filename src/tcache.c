/*
 * tcache.c — the tcache layer's slow side: set-up, refill, flush, budget,
 * give-back, thread exit.
 *
 * Protocol with the layers below: a miss takes a whole batch from the
 * central cache of the thread's arena (O(1)), or, when that class is empty,
 * a run of chunks carved side by side from one piece of the arena; a free
 * into a full stack hands the oldest part of it to the central cache of each
 * chunk's own arena, as chains (O(1) per arena met), so that chunks come
 * back in the reverse order of their frees. Nothing here walks a bin.
 *
 * Sizing: every slot starts with no room; a small one gets 4 at its first
 * refill, and a limit grows by half whenever the slot runs dry or
 * overflows, up to a per-size cap (a slot the thread never refilled keeps
 * its frees on an outbound list, then, if small, a stack of one flush batch),
 * while the sum of all limits (in bytes) stays within the thread's budget
 * (UMALLOC_TCACHE_MAX; by default 4 MiB shared by the live threads, 256
 * KiB..1 MiB each; of it, the medium slots 64..512 KiB each, 1.5 MiB
 * divided among the live threads and never more than 1.5 MiB for all of
 * them together: what idle threads keep, see tc_med_budget); quiet slots
 * shrink to make room. A
 * slot's first refill brings only the chunk asked for (no speculative
 * carving for a size asked once); later ones bring half the limit. Every
 * 4096 slow calls, slots that saw no refill or flush give half their chunks
 * back, and a thread asked to flush (by malloc_trim in another thread)
 * empties its cache on its next slow call.
 */
#include <pthread.h>
#include <string.h>

#include "tcache.h"

__thread struct tcache *um_tcp __attribute__((tls_model("initial-exec"))) = &um_tc_empty;
__thread int um_tc_state __attribute__((tls_model("initial-exec")));
struct tcache um_tc_empty; /* never written: heads NULL, room 0 */
uintptr_t um_tc_key;

static pthread_key_t tc_exit_key;
static int tc_exit_key_ok;
static um_lock tc_list_lock;
static struct tcache *tc_list;

#define TC_START_LIMIT 4
#define TC_SCAVENGE_EVERY 4096
#define TC_TOTAL_MAX ((size_t)4 << 20) /* all threads' caches, by default */
#define TC_THREAD_MIN ((size_t)256 << 10)
#define TC_THREAD_MAX ((size_t)1 << 20)

/* total / n threads, within [lo, hi]: a thread's budget and its medium
 * share (tc_med_budget), read from tables built by the compiler for n up
 * to TC_SHARE_N - 1 (0 counts as 1); past that both stay at their floor.
 * tc_grow asks on every refill and overflow, and the two divisions were 2%
 * of bench/xchurn (perf record: samples on the instructions after div). */
#define TC_SHARE_N 33
#define TC_SHARE(t, lo, hi, n) ((t) / (n) < (lo) ? (lo) : (t) / (n) > (hi) ? (hi) : (t) / (n))
#define TC_SHARES4(t, lo, hi, n)                                                                \
    TC_SHARE(t, lo, hi, n), TC_SHARE(t, lo, hi, n + 1), TC_SHARE(t, lo, hi, n + 2),              \
        TC_SHARE(t, lo, hi, n + 3)
#define TC_SHARES(t, lo, hi)                                                                    \
    {                                                                                           \
        TC_SHARE(t, lo, hi, 1), TC_SHARES4(t, lo, hi, 1), TC_SHARES4(t, lo, hi, 5),              \
            TC_SHARES4(t, lo, hi, 9), TC_SHARES4(t, lo, hi, 13), TC_SHARES4(t, lo, hi, 17),      \
            TC_SHARES4(t, lo, hi, 21), TC_SHARES4(t, lo, hi, 25), TC_SHARES4(t, lo, hi, 29)      \
    }
static const size_t tc_thread_share[TC_SHARE_N] UM_HOT_CONST =
    TC_SHARES(TC_TOTAL_MAX, TC_THREAD_MIN, TC_THREAD_MAX);
_Static_assert(TC_TOTAL_MAX / TC_SHARE_N <= TC_THREAD_MIN, "past the table: the floor");

/* Per-slot caps: 64 KiB for the three smallest chunk sizes (2048, 1365 and
 * 1024 chunks of 32, 48 and 64 bytes), ~16 KiB for the other small slots
 * (204 chunks of 80 bytes down to 15 of 1040), ~8 KiB a medium one (7
 * chunks of 1152 bytes down to 2 from 2816 bytes up): the thread budget
 * bounds the sum. A table, filled at init: the slow paths read it on every
 * refill and overflow.
 * The smallest sizes had 16 KiB (512 chunks of 32 bytes) like the rest: a
 * program that frees thousands of tiny blocks and allocates them again
 * (mimalloc-bench's sh8bench: 6,000 of every 7,321 of its blocks are 8 or
 * 16 bytes) sent all but 512 of them through the central cache's shared
 * batches, and got them back in other threads' order (docs/performance.md).
 * With 64 KiB, 3 interleaved rounds of `sh8bench 4`: median user CPU 9.37 s
 * against 11.98; bench/run.py --runs 5, both builds: sweep-2 0.279 s
 * against 0.342, the suite's time, CPU, peak RSS and page-fault geomeans
 * 0.99-1.00x; cachegrind: bulk 86.6 instructions a pair either way, trees
 * 194.1 against 196.9. 64 KiB for every small slot also took sh8bench
 * there, but bulk (sizes 16-1040 alike) went to 91.1 a pair: one thread's
 * budget (1 MiB at most) then binds sooner, and more of its slots miss.
 * Medium caps were ~32 KiB: a class with a few
 * live blocks then kept several times as many cached (bench/threads 1,
 * 4096 blocks of 16 B-4 KiB, about 4 live in each 1-4.6 KiB class: 2-13
 * cached in each, 23 KiB more parked centrally), and the overflow of a
 * consumer's medium frees waited in its cache. With 8 KiB (5 interleaved
 * runs): bench/oneway peak RSS 6.7 -> 5.5 MB and 1,376 -> 1,042 faults,
 * xchurn 0.52 -> 0.44 s of CPU, threads 1 3.2 -> 3.0 MB; the rest within
 * noise in `bench/run.py --runs 3` of both builds (wall and peak RSS
 * geomeans 0.99). Never fewer than two: blocks of one size freed from the
 * top of the heap down give the heap back only when a slot can hold the
 * chunk above and the one freed (um_tc_top_down); with room for one, each
 * free sent the chunk above to the central cache, where it waited for the
 * decay (tests/api/top_down_trim: 1000 blocks of 6000 bytes freed last to
 * first left 6 MiB of heap in place). */
#define TC_TINY_CHUNK 64                 /* chunk sizes up to this one... */
#define TC_TINY_CAP ((size_t)64 << 10)   /* ...may cache this many bytes */
_Static_assert(TC_TINY_CAP / MINSIZE <= UINT16_MAX, "limit and room are 16-bit counts");
static uint16_t tc_cap[TC_SLOTS];
static uint8_t tc_out_batch[TC_SLOTS]; /* see tc_free_only */
#define TC_FREE_BATCH ((size_t)4096)

/* Medium classes some thread has asked for (see um_tcache_get). */
static _Atomic uint8_t tc_med_asked[TC_SLOTS];

/* um_med_slot (tcache.h), computed by the compiler: tc_med_index(q * 128)
 * for q = 9..1024, 0 elsewhere. A constant, so a fast path in a thread that
 * runs while the first malloc initialises the library reads the same table
 * as every other (it was filled at init: ThreadSanitizer reported that write
 * racing with the plain reads of tests/stress/errno_kept, whose threads all
 * start with a malloc; relaxed atomic reads cost a medium pair 2
 * instructions, as they cannot be folded into a compare). */
_Static_assert(TC_SLOTS <= UINT8_MAX, "um_med_slot holds slots in bytes");
#define MED_X(q) ((unsigned long long)(q) * 128 - 1)
#define MED_E(q) (63 - __builtin_clzll(MED_X(q)))
#define MED_SLOT(q)                                                                              \
    ((q) < (TC_MAX_CHUNK + 127) / 128 || (q) > TC_MED_MAX_CHUNK / 128                             \
         ? 0                                                                                       \
         : (uint8_t)((MED_X(q) >> (MED_E(q) - 3)) + TC_MED_PER_DOUBLING * MED_E(q) +              \
                     (TC_MED_FIRST - 8 - 10 * TC_MED_PER_DOUBLING)))
#define MED_R4(q) MED_SLOT(q), MED_SLOT((q) + 1), MED_SLOT((q) + 2), MED_SLOT((q) + 3)
#define MED_R16(q) MED_R4(q), MED_R4((q) + 4), MED_R4((q) + 8), MED_R4((q) + 12)
#define MED_R64(q) MED_R16(q), MED_R16((q) + 16), MED_R16((q) + 32), MED_R16((q) + 48)
#define MED_R256(q) MED_R64(q), MED_R64((q) + 64), MED_R64((q) + 128), MED_R64((q) + 192)
const uint8_t um_med_slot[TC_MED_MAX_CHUNK / 128 + 2] UM_HOT_CONST = {
    MED_R256(0), MED_R256(256), MED_R256(512), MED_R256(768), MED_SLOT(1024), MED_SLOT(1025)};
_Static_assert(TC_MED_MAX_CHUNK / 128 + 2 == 1026, "the initializer lists 1026 entries");

/* um_slot_size (tcache.h), computed by the compiler (0 past the slots). */
_Static_assert(TC_SLOTS <= 128, "the initializer below lists 128 entries");
_Static_assert(TC_SLOT_SIZE(TC_SLOTS - 1) == TC_MED_MAX_CHUNK && TC_SLOT_SIZE(TC_MED_FIRST) == 1152 &&
                   TC_SLOT_SIZE(TC_MED_FIRST - 1) == TC_MAX_CHUNK,
               "the slot sizes end where the classes do");
#define SLOT_IF(i) ((i) < TC_SLOTS ? TC_SLOT_SIZE(i) : 0)
#define SLOT_IF4(i) SLOT_IF(i), SLOT_IF((i) + 1), SLOT_IF((i) + 2), SLOT_IF((i) + 3)
#define SLOT_IF16(i) SLOT_IF4(i), SLOT_IF4((i) + 4), SLOT_IF4((i) + 8), SLOT_IF4((i) + 12)
const uint32_t um_slot_size[128] UM_HOT_CONST = {
    SLOT_IF16(0),  SLOT_IF16(16), SLOT_IF16(32), SLOT_IF16(48),
    SLOT_IF16(64), SLOT_IF16(80), SLOT_IF16(96), SLOT_IF16(112)};

static void tc_caps_init(void)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        size_t cs = tc_slot_size(i), m, b = TC_FREE_BATCH / cs;
        if (i < TC_MED_FIRST)
            b = b < 4 ? 4 : b > 64 ? 64 : b;
        tc_out_batch[i] = (uint8_t)(b < 1 ? 1 : b);
        if (i < TC_MED_FIRST) {
            m = (cs <= TC_TINY_CHUNK ? TC_TINY_CAP : 16384) / cs;
            m = m < 8 ? 8 : m;
        } else {
            m = 8192 / cs;
            m = m < 2 ? 2 : m; /* two: see below */
        }
        tc_cap[i] = (uint16_t)m;
    }
}

static inline uint16_t tc_max_limit(size_t i) { return tc_cap[i]; }

static _Atomic size_t tc_live; /* caches set up and not yet exited */

/* The medium limits of all live caches, summed: TC_MED_TOTAL bounds it, not
 * only each thread's share of it. A share is computed when a slot grows,
 * from the threads alive then: the first threads of a program that starts
 * its workers one by one (or whose workers were scheduled one after the
 * other on a busy machine) each took up to TC_MED_MAX before the others
 * existed, and if they then went idle they kept it: 8 idle workers held
 * 1.38-1.85 MB in 20 runs of tests/stress/idle_workers_trim (debug) pinned
 * to one busy CPU with taskset (RSS after malloc_trim(0) 3.16-3.68 MB),
 * about 1.4 when they ran side by side (3.1-3.3 MB; glibc 2.5-2.6). With
 * this bound: 1.03-1.48 MB, RSS 2.84-3.36 MB in 14 pinned runs. */
static _Atomic size_t tc_med_all;

/* Change tc's medium limit total by delta bytes, keeping tc_med_all in step. */
static inline void tc_med_add(struct tcache *tc, size_t delta, int sub)
{
    if (sub) {
        tc->med_limit_bytes -= delta;
        atomic_fetch_sub_explicit(&tc_med_all, delta, memory_order_relaxed);
    } else {
        tc->med_limit_bytes += delta;
        atomic_fetch_add_explicit(&tc_med_all, delta, memory_order_relaxed);
    }
}

/* A thread's byte budget: UMALLOC_TCACHE_MAX when set, else 4 MiB shared by
 * the live threads, at least 256 KiB and at most 1 MiB each (tcmalloc also
 * bounds the sum over threads; its per-thread default is larger). */
static size_t tc_budget(void)
{
    size_t b = RELAXED_LOAD(um_params.tcache_max);
    if (b)
        return b;
    size_t n = atomic_load_explicit(&tc_live, memory_order_relaxed);
    return tc_thread_share[n < TC_SHARE_N ? n : TC_SHARE_N - 1];
}

/* Called once, from um_init_slow: the exit hook for every thread's cache. */
void um_tcache_global_init(void)
{
    um_tc_key = um_os_random();
    tc_caps_init();
    tc_exit_key_ok = pthread_key_create(&tc_exit_key, um_tcache_thread_exit) == 0;
}

/* Start limits for every slot; the stacks must be empty. Every slot starts
 * with no room, so frees into a slot this thread never refilled take the
 * slow path (tc_free_only); a small slot's first refill gives it room for a
 * few chunks, and use makes it grow (tc_grow), within the budget. */
static void tc_reset_limits(struct tcache *tc)
{
    tc_med_add(tc, tc->med_limit_bytes, 1);
    tc->limit_bytes = 0;
    for (size_t i = 2; i < TC_SLOTS; i++)
        tc->limit[i] = tc->room[i] = 0; /* (a small slot gets TC_START_LIMIT at its first refill) */
    tc->disabled = 0;
}

/* The thread's cache: a chunk of its arena, allocated on first use, with
 * the cache on cache lines no other chunk reaches into. Its stacks' heads
 * and rooms are written on every malloc and free of the thread, and its
 * neighbours in the heap are other threads' blocks: a free reads the header
 * of the chunk after the block (the next-chunk check), so a cache starting
 * in the line of its own chunk's header made every free of the block below
 * it miss in cache while this thread ran. bench/false_sharing passive 2
 * ran 1.36x glibc's time that way (the worker's first refill carved one
 * chunk, the other worker's cache came next): its two threads' 8-byte
 * blocks never share a line, the block and the next cache's heads did. */
#define TC_LINE 64
#define TC_BLOCK ((sizeof(struct tcache) + 2 * TC_LINE - 1) & ~(size_t)(TC_LINE - 1))
static struct tcache *tc_setup(void)
{
    if (RELAXED_LOAD(um_params.tcache_off))
        return NULL;
    /* A thread's first call can come after its key destructors ran: glibc
     * frees a detached thread's TLS vector (the creating thread allocated
     * it) from the thread itself as it ends, and a thread that never called
     * malloc has no cache yet. A cache set up there would never be flushed
     * or freed: it stayed on the list, with the block, and counted as a
     * live thread in every budget (tests/stress/exit_first_free). Such a
     * thread runs uncached to its end, and attaches to no arena. */
    if (unlikely(um_os_thread_exiting())) {
        um_tc_state = TC_DEAD;
        um_arena_thread_detach();
        return NULL;
    }
    arena *av = um_arena_get();
    void *m = um_int_malloc(av, request2size(TC_BLOCK));
    um_arena_release(av);
    if (!m)
        return NULL;
    /* m is 16-aligned, so the cache starts 0-48 bytes into the block, in a
     * line after the one holding the chunk's header, and its last line ends
     * at least 16 bytes before the next chunk's header */
    struct tcache *tc = (struct tcache *)(((uintptr_t)m + TC_LINE - 1) & ~(uintptr_t)(TC_LINE - 1));
    memset(tc, 0, sizeof *tc);
    tc->mem = m;
    tc_reset_limits(tc);
    tc->active_ms = um_now_ms();
    um_lock_acquire(&tc_list_lock);
    tc->next = tc_list;
    tc->prev = NULL;
    if (tc_list)
        tc_list->prev = tc;
    tc_list = tc;
    um_lock_release(&tc_list_lock);
    atomic_fetch_add_explicit(&tc_live, 1, memory_order_relaxed);
    um_tc_state = TC_LIVE;
    um_tcp = tc;
    if (tc_exit_key_ok)
        pthread_setspecific(tc_exit_key, tc);
    return tc;
}

/* Free a batch of in-use heap chunks, taking each arena's lock once per run. */
static void arena_free_batch(void **mem, size_t n)
{
    arena *locked = NULL;
    for (size_t k = 0; k < n; k++) {
        chunk *p = mem_to_chunk(mem[k]);
        arena *av = um_arena_of(p);
        if (unlikely(!av))
            um_fatal("free", "invalid pointer", mem[k], 0);
        if (av != locked) {
            if (locked)
                um_arena_release(locked);
            um_lock_acquire(&av->lock);
            locked = av;
        }
        size_t size = chunksize(p);
        if (unlikely(!um_owner_holds(av, p, size)))
            um_fatal("free", "invalid pointer", mem[k], 0);
        um_int_free(av, p, size, "free");
    }
    if (locked)
        um_arena_release(locked);
}

/* Free one in-use heap chunk to its arena (no cache). */
void um_arena_free(chunk *p)
{
    void *mem = chunk_to_mem(p);
    arena_free_batch(&mem, 1);
}

/* The arena of a cached chunk (its header was checked when it was cached). */
static arena *cached_arena(void **e)
{
    arena *av = um_arena_of(mem_to_chunk(e));
    if (unlikely(!av))
        um_fatal("free", "corrupted tcache entry at", e, 0);
    return av;
}

/* Hand the n OLDEST chunks of slot i (the bottom of its stack) to the
 * central caches of their arenas; the newest stay. The stack then stays one
 * LIFO with the central cache's batches below it: a refill brings back the
 * chunks freed just before those still cached, so chunks come back in the
 * reverse order of their frees, and a structure freed and rebuilt gets the
 * same neighbouring memory again. (Sending the newest away kept the oldest
 * at the bottom for good and mixed them in on every cycle: a tree built and
 * freed over and over had its nodes scattered over megabytes.) Only the
 * kept part is walked. */
static void tc_give(size_t i, void **run, size_t n, int consumer);

static void tc_flush(struct tcache *tc, size_t i, size_t n)
{
    size_t have = tc_count(tc, i);
    if (n > have)
        n = have;
    if (n == 0)
        return;
    void **run = tc->head[i];
    if (n == have) {
        tc->head[i] = NULL;
    } else {
        void **e = run;
        for (size_t k = have - n; k > 1; k--) {
            e = link_reveal(e[0]);
            if (unlikely(!e || !link_ok(e)))
                um_fatal("free", "corrupted tcache list near", tc->head[i], 0);
        }
        run = link_reveal(e[0]);
        if (unlikely(!run || !link_ok(run)))
            um_fatal("free", "corrupted tcache list near", e, 0);
        e[0] = link_protect(NULL);
    }
    tc->room[i] = (uint16_t)(tc->room[i] + n);
    tc->events[i]++;
    tc_give(i, run, n, tc->fills[i] == 0);
}

/* Hand a chain of n cached chunks of slot i to the central caches of their
 * arenas, one chain per arena: the chain is split by arena into up to
 * GIVE_WAYS chains at once, each parked whole (a chain is relinked only
 * where it changes arena; chunks in one 64 MiB region share their arena,
 * so most steps read nothing but the link). Cutting the chain at every
 * change of arena instead parked a thread that frees blocks of several
 * producers (bench/oneway, with an arena per thread) in batches of a few
 * chunks, and each producer's refill then brought back only those. */
#define GIVE_WAYS 4
static void tc_give(size_t i, void **run, size_t n, int consumer)
{
    /* (looked up even with one arena: the run's first chunk may come from
     * a link, which only link_ok checked, and this names a forged one) */
    arena *ra = cached_arena(run);
    if (atomic_load_explicit(&um_narenas, memory_order_relaxed) == 1) {
        /* one arena: every chunk is the main arena's; the stack's bottom
         * ends the chain already */
        um_central_give(ra, i, run, n, consumer);
        return;
    }
    struct { arena *av; void **head, **tail; size_t n; } w[GIVE_WAYS];
    unsigned ways = 1, cur = 0;
    w[0].av = ra;
    w[0].head = run;
    w[0].n = 0;
    void **e = run;
    for (;;) {
        void **next = link_reveal(e[0]);
        if (unlikely(!link_ok(next) || (next == NULL) != (--n == 0)))
            um_fatal("free", "corrupted tcache list near", e, 0);
        w[cur].n++;
        w[cur].tail = e;
        if (!next)
            break;
        if (((uintptr_t)next ^ (uintptr_t)e) >> REGION_SHIFT) {
            arena *na = cached_arena(next);
            if (na != w[cur].av) {
                unsigned k = 0;
                while (k < ways && w[k].av != na)
                    k++;
                if (k == ways) {
                    if (ways == GIVE_WAYS) { /* all open: park one other than cur whole */
                        k = cur == 0 ? 1 : 0;
                        w[k].tail[0] = link_protect(NULL);
                        um_central_give(w[k].av, i, w[k].head, w[k].n, consumer);
                    } else {
                        ways++;
                    }
                    w[k].av = na;
                    w[k].head = next;
                    w[k].n = 0;
                } else {
                    w[k].tail[0] = link_protect(next); /* next continues way k */
                }
                cur = k;
            }
        }
        e = next;
    }
    for (unsigned k = 0; k < ways; k++) {
        w[k].tail[0] = link_protect(NULL);
        um_central_give(w[k].av, i, w[k].head, w[k].n, consumer);
    }
}

/* tc_give for the white-box tests (tests/unit/tcache_give_arenas). */
void um_tcache_give(size_t i, void *chain, size_t n) { tc_give(i, chain, n, 0); }

/* Slot i's outbound list (tc_free_only), all of it, to the central caches. */
static void tc_out_flush(struct tcache *tc, size_t i)
{
    size_t n = tc->out_n[i];
    if (n == 0)
        return;
    void **run = tc->out[i];
    tc->out[i] = NULL;
    tc->out_n[i] = 0;
    tc_give(i, run, n, 1); /* (frees before any refill: others' blocks) */
}

/* Give every cached chunk back; the cache stays usable unless disabled. */
static void tc_flush_all(struct tcache *tc)
{
    for (size_t i = 2; i < TC_SLOTS; i++) {
        tc_flush(tc, i, tc_count(tc, i));
        tc_out_flush(tc, i);
    }
}

static void tc_disable(struct tcache *tc)
{
    tc_flush_all(tc);
    for (size_t i = 2; i < TC_SLOTS; i++)
        tc->limit[i] = tc->room[i] = 0;
    tc_med_add(tc, tc->med_limit_bytes, 1);
    tc->limit_bytes = 0;
    tc->disabled = 1;
}

/* Lower slot v's limit by d (flushing what no longer fits). */
static void tc_shrink(struct tcache *tc, size_t v, uint16_t d)
{
    if (d > tc->limit[v])
        d = tc->limit[v];
    if (tc->room[v] < d)
        tc_flush(tc, v, (size_t)(d - tc->room[v]));
    tc->limit[v] = (uint16_t)(tc->limit[v] - d);
    tc->room[v] = (uint16_t)(tc->room[v] - d);
    tc->limit_bytes -= (size_t)d * tc_slot_size(v);
    if (v >= TC_MED_FIRST)
        tc_med_add(tc, (size_t)d * tc_slot_size(v), 1);
}

/*
 * What an idle thread can hold. A thread's stacks are its own: the inline
 * fast paths read and write them with no lock and no atomic, so no other
 * thread can ever take chunks off them, not even from a thread that looks
 * idle: it may be between the two stores of a push or pop, or run nothing
 * but fast-path hits for ever without a slow call that could bump an epoch;
 * madvising the pages of its cached chunks races with a pop whose caller
 * writes the block. (A signal to run the flush on the owner's own stack
 * would be safe for the cache but makes sleeps, poll and epoll_wait in the
 * program return EINTR.) So whatever a thread holds when it stops calling
 * malloc stays until its next slow call or its exit, and malloc_trim can
 * only ask it (flush_req): the bound must hold at all times. The medium
 * classes, where a handful of chunks is hundreds of KiB, share 1.5 MiB among
 * the live threads (64..512 KiB each, and never more than the thread's
 * budget; UMALLOC_TCACHE_MAX lifts it to the whole budget); a thread whose
 * share dropped (more threads) gives the excess back as its slots overflow
 * or refill. Their overflow goes to the central cache, which others drain
 * (malloc_trim, the decay, an idle arena's purge).
 * Measured (tests/stress/idle_workers_trim, 8 idle workers after a burst of
 * 1-120 KiB blocks, then malloc_trim(0)): the caches held 2.4-2.8 MB and RSS
 * was 4.7-5.2 MB without this bound, 1.4 MB and 3.1-3.4 MB with it (glibc:
 * 2.5 MB). Its cost: bench/xchurn (4 threads, 16 B-16 KiB, every block
 * freed by another thread) runs 18% more instructions (cachegrind, scale
 * 0.1: 362M against 308M); server, prodcons, threads, churn, heap_random
 * within 1%. A total of 2 MiB gives RSS 3.8-3.9 MB, just over 1.5x glibc's.
 */
#define TC_MED_TOTAL ((size_t)1536 << 10) /* all threads' medium slots, by default */
#define TC_MED_MIN ((size_t)64 << 10)
#define TC_MED_MAX ((size_t)512 << 10)
static const size_t tc_med_share[TC_SHARE_N] UM_HOT_CONST = TC_SHARES(TC_MED_TOTAL, TC_MED_MIN, TC_MED_MAX);
_Static_assert(TC_MED_TOTAL / TC_SHARE_N <= TC_MED_MIN, "past the table: the floor");

/* Of want bytes of new medium limit, how many the process-wide total still
 * allows (reserved in tc_med_all; the caller adds them to its own total
 * with tc->med_limit_bytes directly). */
static size_t tc_med_reserve(size_t want, size_t cs)
{
    size_t old = atomic_fetch_add_explicit(&tc_med_all, want, memory_order_relaxed);
    if (old + want <= TC_MED_TOTAL || RELAXED_LOAD(um_params.tcache_max))
        return want; /* (UMALLOC_TCACHE_MAX: the user chose a budget per thread) */
    size_t ok = old < TC_MED_TOTAL ? (TC_MED_TOTAL - old) / cs * cs : 0;
    atomic_fetch_sub_explicit(&tc_med_all, want - ok, memory_order_relaxed);
    return ok;
}

/* The bytes of medium limits a thread may keep: its medium share (never
 * more than its budget, tc_budget: every share is below the budget of the
 * same thread count), or with UMALLOC_TCACHE_MAX the whole budget. */
static inline size_t tc_med_budget(void)
{
    size_t b = RELAXED_LOAD(um_params.tcache_max);
    if (b)
        return b; /* the user chose the budget: all of it may be medium */
    size_t n = atomic_load_explicit(&tc_live, memory_order_relaxed);
    return tc_med_share[n < TC_SHARE_N ? n : TC_SHARE_N - 1];
}
/* (a share is total / n within [lo, hi], which grows with each of the
 * three: so each bound below its budget's keeps every share below) */
_Static_assert(TC_MED_TOTAL <= TC_TOTAL_MAX && TC_MED_MIN <= TC_THREAD_MIN &&
                   TC_MED_MAX <= TC_THREAD_MAX,
               "a thread's medium share is within its budget");

static void tc_grow_slow(struct tcache *tc, size_t i, size_t d);

/* Let slot i's limit grow by up to d chunks, within the thread's budget.
 * When the budget is spent the slot stays as it is; room comes back as quiet
 * slots shrink (tc_tick). (Taking room from other slots on every grow was
 * tried: with many hot sizes it thrashed, 400+ instructions per pair on
 * bench/bulk.) Every refill and overflow asks, and a busy slot is at its
 * cap: that answer is given here, inline (the call and the budget's
 * arithmetic were 47 instructions of each trip to the central cache,
 * cachegrind bench/bulk 200 1024 16384). */
static inline __attribute__((always_inline)) void tc_grow(struct tcache *tc, size_t i, size_t d)
{
    if (tc->limit[i] >= tc_max_limit(i) && (i < TC_MED_FIRST || tc->med_limit_bytes <= tc_med_budget()))
        return; /* (a batch may have pushed it past the cap) */
    tc_grow_slow(tc, i, d);
}

static UM_NOINLINE void tc_grow_slow(struct tcache *tc, size_t i, size_t d)
{
    size_t cs = tc_slot_size(i), mb = 0;
    if (i >= TC_MED_FIRST) {
        mb = tc_med_budget();
        if (tc->med_limit_bytes > mb) {
            /* more threads since this one grew: its medium share shrank;
             * this slot gives back the excess (or all it has) */
            size_t over = (tc->med_limit_bytes - mb + cs - 1) / cs;
            tc_shrink(tc, i, (uint16_t)(over < tc->limit[i] ? over : tc->limit[i]));
            return;
        }
    }
    uint16_t cap = tc_max_limit(i);
    if (tc->limit[i] >= cap) /* (a batch may have pushed it past the cap) */
        return;
    if (tc->limit[i] + d > cap)
        d = cap - tc->limit[i];
    if (d == 0)
        return;
    /* the bytes the thread's budget (and a medium slot's share) has left;
     * when that is under one chunk, as for every call once a busy thread
     * has spent its budget, no division */
    size_t budget = tc_budget(), left = tc->limit_bytes < budget ? budget - tc->limit_bytes : 0;
    if (i >= TC_MED_FIRST && mb - tc->med_limit_bytes < left) /* (<= mb: checked above) */
        left = mb - tc->med_limit_bytes;
    if (d * cs > left)
        d = left < cs ? 0 : left / cs;
    if (d == 0)
        return;
    if (i >= TC_MED_FIRST) {
        d = tc_med_reserve(d * cs, cs) / cs;
        tc->med_limit_bytes += d * cs;
    }
    tc->limit[i] = (uint16_t)(tc->limit[i] + d);
    tc->room[i] = (uint16_t)(tc->room[i] + d);
    tc->limit_bytes += d * cs;
}

/* A free into a slot this thread has never refilled: a consumer's, or a
 * thread's freeing what others made. Such a slot has no room (no limit),
 * so every such free comes here, and the chunk goes on the slot's outbound
 * list, never on its stack: the central cache gets the list when it holds
 * one flush batch of about TC_FREE_BATCH bytes (small sizes 4..64 chunks,
 * medium ones 1..3), enough to keep the central cache's lock off most frees
 * (tcmalloc also stops a list that only overflows at its transfer batch),
 * and when the thread first refills the slot, after the refill. So a block
 * another thread allocated is never handed straight back by this thread's
 * next malloc: two 8-byte blocks main allocated side by side, one freed by
 * each of two workers, kept the workers writing one cache line for the
 * rest of their lives (bench/false_sharing passive: 0.45-0.47x of glibc,
 * jemalloc and mimalloc, which all avoid it). After a whole batch the
 * thread is a consumer of the size and a small slot gets a stack of one
 * batch (tc_overflow). Returns 0 when the slot has a stack or was refilled (the
 * caller caches the chunk as usual).
 * Measured for the batch (5dfa3f1, small slots only, 8 KiB: churn 3.9 ->
 * 3.6 MB, oneway 7.8 -> 7.2), then medium slots too, 4 KiB, all handed over
 * (median of 5-9 interleaved runs of /usr/bin/time build/bench/<w>): peak
 * RSS prodcons 3.1-3.2 -> 2.4-2.5 MB (glibc 1.9), churn 3.6 -> 3.2, oneway
 * 7.1 -> 6.4, prodcons_batch and xchurn within noise; CPU time within the
 * noise of these runs (-5% to +7%); server and threads (no thread there
 * only frees a size) unchanged. A 2 KiB batch or a medium minimum of one
 * chunk cost prodcons and oneway 15-20% more time for 5% less. */
static inline int tc_free_only(struct tcache *tc, size_t i, void *mem)
{
    if (tc->fills[i] != 0 || tc->limit[i] != 0)
        return 0;
    void **e = mem;
    e[0] = link_protect(tc->out[i]);
    e[1] = um_cache_mark(e);
    tc->out[i] = e;
    if (++tc->out_n[i] >= tc_out_batch[i]) {
        tc->events[i]++;
        tc_out_flush(tc, i);
        /* a whole batch freed and none allocated: a consumer of this size.
         * A small one's frees take the inline path from now on (a stack of
         * one batch, handed over whole, tc_overflow), as every free through
         * here cost bench/oneway 25-50% more time. A medium one stays here:
         * its batch is 1-3 chunks, so the list keeps at most two (none
         * above 2 KiB), where a stack kept its last batch for as long as
         * the thread lived. A thread that frees what others allocate and
         * allocates none of it itself (bench/churn's main thread) kept one
         * chunk of every medium class it had freed, 200 KB, which pinned
         * holes in the heap: peak RSS 2.9 -> 2.6 MB (glibc 2.0); prodcons,
         * oneway, xchurn and prodcons_batch unchanged in time and memory
         * (5 interleaved runs of /usr/bin/time build/bench/W) */
        if (i < TC_MED_FIRST)
            tc_grow(tc, i, tc_out_batch[i]);
    }
    return 1;
}

/* A free found slot i full: make room, handing the oldest chunks to the
 * central cache. A slot the thread allocates from grows by half and keeps
 * its newest quarter; a consumer's (never refilled) stays at one batch and
 * hands over all of it. Returns whether there is room now. */
static inline int tc_overflow(struct tcache *tc, size_t i)
{
    int consumer = tc->fills[i] == 0;
    if (tc->room[i] == 0 && !consumer)
        tc_grow(tc, i, tc->limit[i] / 2 + 1);
    if (tc->room[i] == 0 && tc->limit[i] != 0) {
        size_t n = tc_count(tc, i);
        tc_flush(tc, i, consumer ? n : n - n / 4);
    }
    return tc->room[i] != 0;
}

/* Every TC_SCAVENGE_EVERY slow calls: slots that were quiet since the last
 * look give half their chunks back. */
static UM_NOINLINE void tc_scavenge(struct tcache *tc)
{
    tc->slow_calls = 0;
    uint64_t now = um_now_ms();
    RELAXED_STORE(tc->active_ms, now);
    /* classes nobody transfers any more decay only from here (a class's own
     * transfers read the clock for it otherwise) */
    um_central_decay(um_arena_current(), now);
    for (size_t i = 2; i < TC_SLOTS; i++) {
        if (tc->events[i] == 0)
            tc_out_flush(tc, i); /* a consumer's quiet sizes */
        if (tc->events[i] == 0 && tc->limit[i] > 1) {
            /* quiet: half its chunks go back and its limit shrinks by a
             * quarter, leaving budget for the slots in use */
            if (tc_count(tc, i) > 1)
                tc_flush(tc, i, tc_count(tc, i) / 2);
            tc_shrink(tc, i, (uint16_t)(tc->limit[i] / 4));
        }
        tc->events[i] = 0;
    }
}

/* Slow-path housekeeping (inline in each slow path: two tests): a flush
 * asked for by another thread, and the periodic scavenge. */
static inline __attribute__((always_inline)) void tc_tick_req(struct tcache *tc)
{
    if (unlikely(atomic_load_explicit(&tc->flush_req, memory_order_relaxed))) {
        atomic_store_explicit(&tc->flush_req, 0, memory_order_relaxed);
        tc_flush_all(tc);
    }
}
static inline __attribute__((always_inline)) void tc_tick_count(struct tcache *tc)
{
    if (unlikely(++tc->slow_calls >= TC_SCAVENGE_EVERY))
        tc_scavenge(tc);
}
static inline __attribute__((always_inline)) void tc_tick(struct tcache *tc)
{
    tc_tick_req(tc);
    tc_tick_count(tc);
}

/* This thread's cache if usable; sets it up on first use. */
static inline __attribute__((always_inline)) struct tcache *tc_usable(void)
{
    struct tcache *tc = um_tcp;
    if (unlikely(um_tc_state != TC_LIVE)) {
        if (um_tc_state == TC_DEAD || !(tc = tc_setup()))
            return NULL;
    }
    if (unlikely(RELAXED_LOAD(um_params.tcache_off))) {
        if (!tc->disabled)
            tc_disable(tc);
        return NULL;
    }
    if (unlikely(tc->disabled)) /* M_PERTURB was switched off again */
        tc_reset_limits(tc);
    return tc;
}

/* Put a chain of n chunks on slot i's (empty) stack. */
static void tc_install(struct tcache *tc, size_t i, void *chain, size_t n)
{
    if (n > tc->room[i]) { /* a batch from a thread with a larger limit */
        uint16_t more = (uint16_t)(n - tc->room[i]);
        tc->limit[i] = (uint16_t)(tc->limit[i] + more);
        tc->room[i] = (uint16_t)(tc->room[i] + more);
        tc->limit_bytes += (size_t)more * tc_slot_size(i);
        if (i >= TC_MED_FIRST) /* (past the total for a moment: the chunks are here) */
            tc_med_add(tc, (size_t)more * tc_slot_size(i), 0);
    }
    tc->head[i] = chain;
    tc->room[i] = (uint16_t)(tc->room[i] - n);
}

/* Out of memory at a refill: a chunk this thread freed into slot i and has
 * not handed over yet (tc_free_only) serves the request after all, and the
 * rest of the outbound list goes now (the slot counts as refilled: an
 * outbound list belongs only to a slot that never was). NULL if none. */
static void *tc_out_take(struct tcache *tc, size_t i)
{
    void **e = tc->out[i];
    if (!e)
        return NULL;
    tc->out[i] = tc_next(e);
    tc->out_n[i]--;
    e[1] = NULL;
    tc_out_flush(tc, i);
    return e;
}

/* See tcache.h (tc_pop_aligned): the top entry is not aligned. */
UM_NOINLINE void *um_tc_pop_aligned_below(struct tcache *tc, size_t i, size_t align)
{
    size_t d = tc_count(tc, i);
    void **prev = tc->head[i], **e = tc_next(prev);
    for (d = d < TC_ALIGN_SCAN ? d : TC_ALIGN_SCAN; e && d > 1; d--) {
        void **next = tc_next(e);
        if (((uintptr_t)e & (align - 1)) == 0) {
            prev[0] = link_protect(next);
            tc->room[i]++;
            e[1] = NULL;
            return e;
        }
        prev = e;
        e = next;
    }
    return NULL;
}

/* n chunks of slot i taken from av's central cache (a chain, NULL-ended
 * and n long) go onto its empty stack as far as its limit, grown within the
 * budget, allows; what does not fit goes back to the central cache. */
static inline __attribute__((always_inline)) void tc_keep_chain(struct tcache *tc, size_t i, arena *av,
                                                             void **rest, size_t n)
{
    if (n > tc->room[i])
        tc_grow(tc, i, n - tc->room[i]);
    if (n > tc->room[i]) {
        size_t keep = tc->room[i];
        void **cut = rest;
        for (size_t k = 1; k < keep; k++) {
            cut = link_reveal(cut[0]);
            if (unlikely(!cut || !link_ok(cut)))
                um_fatal("malloc", "corrupted central-cache batch at", rest, 0);
        }
        void **back = keep ? link_reveal(cut[0]) : rest;
        if (keep)
            cut[0] = link_protect(NULL);
        um_central_give(av, i, back, n - keep, 0);
        n = keep;
    }
    if (n)
        tc_install(tc, i, rest, n);
}

/* The rest of a batch an aligned request searched: the stack's if it is
 * empty (as at a refill), else back to the central cache (stacks take
 * chains only when empty, tc_install). A slot that had no limit and now
 * has one sends its outbound list on, as a refill does: an outbound list
 * belongs only to a slot with neither a limit nor a refill (tc_free_only),
 * and the aligned request may still end without um_tcache_aligned_miss (a
 * mapped block, or none), which would leave both (the heap check failed:
 * tests/api/aligned_central_outbound). */
static void tc_keep_rest(struct tcache *tc, size_t i, arena *av, void **chain, size_t n)
{
    if (tc->head[i]) {
        um_central_give(av, i, chain, n, 0);
        return;
    }
    tc_keep_chain(tc, i, av, chain, n);
    if (unlikely(tc->out_n[i]) && tc->limit[i])
        tc_out_flush(tc, i);
}

/* See tcache.h. The batch on top of the thread's central shard (or another
 * shard's) is searched as far as twice the stack's search: a link read per
 * chunk, likely a cache miss each (the chunks have waited), where the
 * arena's aligned path costs a best-fit walk and two frees into the bins
 * (about 1,500 instructions). A medium class's batches hold one or two
 * chunks. */
void *um_tcache_aligned_take(size_t i, size_t align)
{
    struct tcache *tc = tc_usable();
    if (!tc)
        return NULL;
    arena *av = um_arena_current();
    size_t n;
    /* (a racy peek: an empty class would count the take as demand, and
     * with several shards lock each of them to make room) */
    if (um_central_class_bytes(av, i) == 0)
        return NULL;
    void **chain = um_central_take(av, i, &n, 1), **prev = NULL, **e = chain, **after;
    if (!chain)
        return NULL;
    for (size_t k = 1;; k++) {
        after = link_reveal(e[0]);
        if (unlikely(!link_ok(after) || (after == NULL) != (k == n)))
            um_fatal("malloc", "corrupted central-cache batch at", chain, 0);
        if (((uintptr_t)e & (align - 1)) == 0)
            break;
        if (!after || k == TC_ALIGN_SCAN * 2) { /* none aligned: the batch is a refill's */
            tc_keep_rest(tc, i, av, chain, n);
            return NULL;
        }
        prev = e;
        e = after;
    }
    if (prev)
        prev[0] = link_protect(after);
    else
        chain = after;
    e[1] = NULL;
    if (n > 1)
        tc_keep_rest(tc, i, av, chain, n - 1);
    return e;
}

/* See tcache.h. The bookkeeping of um_tcache_get's refill, without the
 * chunks: before, a slot that only aligned requests used was never
 * refilled, so its frees went to the outbound list and on to the central
 * cache, and every aligned request split a fresh chunk in the arena
 * (cachegrind, 16 blocks of aligned_alloc(64, 256) at a time, then their
 * frees: 897 instructions a pair; aligned_alloc(4096, 4096), one at a
 * time: 1,003). */
void um_tcache_aligned_miss(size_t i)
{
    struct tcache *tc = tc_usable();
    if (!tc)
        return;
    tc_tick(tc);
    if (tc->fills[i] == 0 && i < TC_MED_FIRST)
        tc_grow(tc, i, TC_START_LIMIT);
    if (tc->fills[i] < UINT16_MAX)
        tc->fills[i]++;
    tc->events[i]++;
    tc_grow(tc, i, tc->limit[i] / 2 + 1);
    if (unlikely(tc->out_n[i]))
        tc_out_flush(tc, i);
}

/* A chunk of slot i, refilling the cache: a parked batch of the thread's
 * arena, else a run carved from it. NULL when the cache is unusable, on the
 * process's first miss of a medium class, or when the arena is out of
 * memory (the caller then takes the uncached road, with the exact size). */
void *um_tcache_get(size_t i)
{
    struct tcache *tc = tc_usable();
    if (!tc)
        return NULL;
    void *m = tc_pop(tc, i);
    if (m)
        return m;
    tc_tick(tc);
    if (i >= TC_MED_FIRST && tc->fills[i] == 0 &&
        !atomic_exchange_explicit(&tc_med_asked[i], 1, memory_order_relaxed)) {
        /* a medium size asked for the first time gets exactly its size from
         * the arena, not its class's (the seeds' A=30K, B=40K lie adjacent,
         * 30K + 16 apart); from the second miss on, the class is cached.
         * The first time in the process, not in each thread: a thread's
         * first request of a class the process already uses is refilled
         * with class-size chunks, often parked by threads gone before it.
         * Per thread, every medium block of a short-lived thread had its
         * exact size, could not be cached when freed and went to the bins:
         * bench/churn held 0.7 MB of free chunks there (peak RSS 3.0 MB,
         * glibc 2.2) */
        tc->fills[i] = 1;
        tc_out_flush(tc, i); /* (not before: see tc_free_only) */
        return NULL;
    }
    /* the first refill of a slot brings only the chunk asked for: a size
     * asked once costs no more than that (the seeds' A/B example stays
     * adjacent); later ones bring half the limit. (A run leaves cached
     * chunks between the program's last block and top: freeing that block
     * sends them back first, see tc_free_checked, so top still shrinks
     * as the seeds show.) */
    size_t nb = tc_slot_size(i), n;
    if (tc->fills[i] == 0 && i < TC_MED_FIRST)
        tc_grow(tc, i, TC_START_LIMIT); /* a small slot's room, from its first refill on */
    size_t extra = tc->fills[i] && i < TC_MED_FIRST ? tc->limit[i] / 2 : 0;
    if (tc->fills[i] < UINT16_MAX)
        tc->fills[i]++;
    tc->events[i]++;
    arena *av = um_arena_current();
    void *chain = um_central_take(av, i, &n, extra + 1);
    if (!chain && atomic_load_explicit(&um_narenas, memory_order_relaxed) > 1)
        chain = um_central_steal(av, i, &n, &av); /* av: the batch's arena */
    if (chain) {
        /* the first chunk is the caller's; the rest fills the stack */
        void **first = chain, **rest = link_reveal(first[0]);
        if (unlikely(!link_ok(rest)))
            um_fatal("malloc", "corrupted central-cache batch at", first, 0);
        first[1] = NULL;
        m = first;
        tc_keep_chain(tc, i, av, rest, n - 1);
    } else {
        size_t piece;
        av = um_arena_get();
        m = um_arena_carve(av, nb, extra + 1, &chain, &n, &piece);
        um_arena_release(av);
        if (!m)
            return tc_out_take(tc, i);
        if (piece)
            um_arena_cut(av, m, piece, nb, &chain, &n);
        if (n)
            tc_install(tc, i, chain, n);
    }
    tc_grow(tc, i, tc->limit[i] / 2 + 1);
    if (unlikely(tc->out_n[i])) /* frees before this first refill: on their way now */
        tc_out_flush(tc, i);
    return m;
}

/* Slot of chunk c when c is the chunk this thread cached last in its slot,
 * else 0. Then c is ours and its size, the next chunk's place, is stable;
 * c's own header is read only because c's place is known to be a chunk's. */
static inline size_t tc_head_slot(const struct tcache *tc, chunk *c)
{
    size_t j = tc_slot_of_chunk(chunksize(c));
    return j && tc->head[j] == chunk_to_mem(c) ? j : 0;
}

/* See tcache.h. Out of line, with um_tcache_free_below_top: free_medium's
 * inline path keeps its registers (bench pairs-4k: 144 instructions a pair
 * with this inline, 138 without). */
UM_NOINLINE int um_tc_top_down(const struct tcache *tc, chunk *top, chunk *p, chunk *next,
                               size_t *j1, size_t *j2)
{
    size_t j = tc_head_slot(tc, next);
    if (!j)
        return 0;
    chunk *above = chunk_at(next, chunksize(next));
    *j1 = j;
    *j2 = 0;
    if (above == top) {
        size_t tw = hdr_load(top);
        size_t run = (uintptr_t)top + (tw & ~(size_t)SIZE_BITS) - (uintptr_t)p;
        return (int)(run >= RELAXED_LOAD(um_params.trim_threshold) &&
                     run >= RELAXED_LOAD(um_params.top_pad) + MINSIZE + 1 + um_pagesize) |
               (int)!hdr_valid(tw);
    }
    size_t k = tc_head_slot(tc, above);
    if (!k && link_reveal(((void **)chunk_to_mem(next))[0]) == chunk_to_mem(above))
        k = j; /* cached just before next, on the same stack (one size freed top-down) */
    if (!k || chunk_at(above, chunksize(above)) != top)
        return 0;
    *j2 = k;
    return 1;
}

/* free_medium's block mem (chunk p, slot i, with room) just below next, a chunk that
 * borders top (top_next) or the one top_mark names: cached, unless chunks
 * above must go back first (um_tc_top_down), which the slow path does. A
 * chunk cached below one that borders top becomes the mark: a free just
 * below it is the next one to look at. */
UM_NOINLINE void um_tcache_free_below_top(struct tcache *tc, size_t i, void *mem, chunk *next,
                                          chunk *top, int top_next)
{
    chunk *p = mem_to_chunk(mem);
    size_t j1, j2;
    if (um_tc_top_down(tc, top, p, next, &j1, &j2)) {
        um_tcache_free_slow(mem);
        return;
    }
    if (top_next)
        tc->top_mark = p;
    tc_push(tc, i, mem);
}

/* Chunk p of class i (av's, in use, checked) freed into a slot the budget
 * left no room (its limit is 0: the thread's byte budget, or for a medium
 * class the thread's or the process's medium share, is spent): parked in
 * the central cache if its class holds less than its minimum capacity,
 * where the next malloc of the class, in any thread, takes it in O(1); else
 * to the bins. The budget bounds what threads hold; this is not held by the
 * thread, and the decay and malloc_trim drain it. Before, every such chunk
 * went to the bins, coalesced, and the next malloc of the class missed and
 * carved it again under the arena lock: bench/xchurn (4 threads, 16 B-16
 * KiB, every block freed by another thread) sent 145,000 of its 1.6 million
 * medium frees that way, glibc's path, and bench/threads 8 (455 KiB a
 * thread) 27,000 small ones. Parking all of them (the class's grown
 * capacity) kept whole bursts parked for two decay periods:
 * tests/stress/idle_workers_* (8 workers free a burst of 1-120 KiB blocks)
 * stayed at 130 MB. */
static void tc_no_room(size_t i, chunk *p, arena *av)
{
    void **e = chunk_to_mem(p);
    e[0] = link_protect(NULL);
    e[1] = um_cache_mark(e);
    if (um_central_park_one(av, i, e))
        return;
    e[1] = NULL;
    um_arena_free(p);
}

/* Free of chunk p (size bytes, of slot i > 0, av's, in use: checked) whose
 * stack had no room or that may have to go back for top: the body of the
 * two entries below. */
static inline __attribute__((always_inline)) void tc_free_checked(void *mem, chunk *p, size_t size,
                                                                  size_t i, arena *av)
{
    struct tcache *tc;
    chunk *top = peek_top(av), *next = chunk_at(p, size);
    size_t j1, j2;
    /* (only where free_medium's inline path asks too: the chunk above
     * borders top, or is the one a free below a top-bordering chunk
     * cached last, top_mark, which this path sets as that one does below.
     * Asking on every medium free that found its slot full was 38
     * instructions of each, cachegrind bench/bulk 200 1024 16384. Before,
     * this path also caught a small block between two medium ones freed
     * top-down, when the stack was full; neither path does now, and the
     * small blocks' own cached chunks hold top there anyway: 1000 blocks
     * of 6000 and 100 bytes alternating, freed last to first, left 3.1
     * MiB of heap before the change as after) */
    int top_next = 0;
    if (i >= TC_MED_FIRST && next != top && um_tc_state == TC_LIVE &&
        ((top_next = chunk_at(next, chunksize(next)) == top) || next == um_tcp->top_mark) &&
        um_tc_top_down(um_tcp, top, p, next, &j1, &j2)) {
        /* the chunks above border top and are the ones this thread cached
         * last: blocks are being freed from the top of the heap down (the
         * seeds' reverse order); they go back first, so this one borders
         * top in its turn (tc_top_down says when) */
        if (j2 && j2 != j1) {
            tc_flush(um_tcp, j2, tc_count(um_tcp, j2));
            um_central_drain_class(av, j2);
        }
        tc_flush(um_tcp, j1, tc_count(um_tcp, j1));
        um_central_drain_class(av, j1);
        top = peek_top(av);
        top_next = 0; /* (not a mark: what was above went back) */
    }
    if (i >= TC_MED_FIRST && chunk_at(p, size) == top &&
        tc_would_trim(av, top, size, i, um_tc_state == TC_LIVE ? tc_count(um_tcp, i) : 0) &&
        !um_trim_waits_for_decay()) {
        /* the top of the heap can shrink: this chunk goes back, and so do the
         * cached chunks of its size, in this thread's cache and parked
         * (blocks freed in allocation order sit just below it), so the break
         * moves as the seeds show. Not when the trim would wait for the
         * decay purge anyway (the dynamic threshold has risen, trim.c): then
         * the chunk is cached as any other (free()'s inline path sends it
         * here, as it does not ask) */
        if (um_tc_state == TC_LIVE && tc_count(um_tcp, i))
            tc_flush(um_tcp, i, tc_count(um_tcp, i));
        um_central_drain_class(av, i);
        i = 0;
    }
    if (i && (tc = tc_usable()) != NULL) {
        if (unlikely(!inuse(p)))
            um_fatal("free", "double free of", mem, size - SIZE_SZ);
        /* (a consumer's frees all come this way: they are no slow calls
         * that should time the scavenge, which would run 50 times as often) */
        tc_tick_req(tc);
        if (tc_free_only(tc, i, mem))
            return;
        tc_tick_count(tc);
        if (tc_overflow(tc, i)) {
            if (top_next)
                tc->top_mark = p;
            tc_push(tc, i, mem);
            return;
        }
        tc_no_room(i, p, av);
        return;
    }
    um_arena_free(p);
}

/* Free of a validated in-use heap chunk that missed the inline fast path. */
void um_tcache_free_slow(void *mem)
{
    chunk *p = mem_to_chunk(mem);
    size_t size = chunksize(p);
    /* the cache mark in word 1: freed already and held by a cache, a
     * central batch or a fast bin, this thread's or another's (internal.h,
     * um_cache_mark) */
    if (unlikely(um_cache_marked(mem)))
        um_fatal("free", "double free of", mem, size - SIZE_SZ);
    size_t i = tc_slot_of_chunk(size);
    if (i == 0) { /* no cached size (above 128 KiB): straight to its arena */
        um_arena_free(p);
        return;
    }
    arena *av = um_arena_of(p);
    if (unlikely(!av))
        um_fatal("free", "invalid pointer", mem, 0);
    tc_free_checked(mem, p, size, i, av);
}

/* See internal.h: free_medium's checks passed, its slot i is known. */
void um_tcache_free_medium(void *mem, size_t i, arena *av)
{
    chunk *p = mem_to_chunk(mem);
    tc_free_checked(mem, p, tc_slot_size(i), i, av);
}

/* free() of a small chunk that passed the inline checks (ours, in use, not
 * cached) into a full stack: make room and push, without the generic path's
 * classification, which those checks already did. */
void um_tcache_free_full(size_t i, void *mem)
{
    struct tcache *tc = tc_usable();
    if (unlikely(!tc)) { /* no cache (finished, disabled): to the arena */
        um_arena_free(mem_to_chunk(mem));
        return;
    }
    tc_tick_req(tc); /* (see tc_free_checked) */
    if (tc_free_only(tc, i, mem))
        return;
    tc_tick_count(tc);
    chunk *p = mem_to_chunk(mem);
    arena *av;
    if (tc_overflow(tc, i))
        tc_push(tc, i, mem);
    else if ((av = um_arena_of(p)) != NULL)
        tc_no_room(i, p, av);
    else
        um_arena_free(p); /* (which names the bad pointer) */
}

/* At exit, the exiting thread's cached blocks are checked: one that was
 * written after it was freed (its link or its key changed) is reported, so
 * a use after free is caught even when no later malloc pops the block, and
 * so is one that ran past its end (tcache.h, um_cached_end_check_at_exit); so
 * are the chunks parked in every arena's central cache (under their class
 * locks), and each arena's top header (an overflow into top). The walks are
 * bounded by the caches' budgets and counts (and an arena's central cache
 * by 32768 chunks, shared by its classes, of those parked last: central.c);
 * other threads' caches are theirs and may be in use, so they are not
 * read. */
__attribute__((destructor)) static void tc_check_at_exit(void)
{
    if (!atomic_load_explicit(&um_initialized, memory_order_acquire))
        return;
    /* the batches parked in the central caches: a flush hands them over unwalked */
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_arena_check_top_at_exit(a);
        um_central_check_at_exit(a);
    }
    struct tcache *tc = um_tcp;
    if (um_tc_state != TC_LIVE || tc == &um_tc_empty)
        return;
    for (size_t i = 2; i < TC_SLOTS; i++) {
        for (int list = 0; list < 2; list++) {
            void **e = list ? tc->out[i] : tc->head[i];
            for (size_t k = list ? tc->out_n[i] : tc_count(tc, i); k > 0 && e; k--) {
                void **next = link_reveal(e[0]);
                if (!um_cache_marked(e) || !link_ok(next))
                    um_fatal("exit", "write after free into", e, tc_slot_size(i) - SIZE_SZ);
                um_cached_end_check_at_exit(e, tc_slot_size(i));
                e = next;
            }
        }
    }
}

/* The thread attached to an arena (arena.c): the exit hook must run even if
 * the thread never sets up a cache (tc_setup sets the key to its cache
 * then; the hook reads the thread's own state, not the value). */
void um_tcache_arm_exit(void)
{
    if (tc_exit_key_ok && um_tc_state == TC_FRESH)
        pthread_setspecific(tc_exit_key, &um_tc_empty);
}

/* pthread key destructor: the thread is ending; hand everything back (and
 * let go of the thread's arena, cache or not). */
void um_tcache_thread_exit(void *arg)
{
    (void)arg;
    struct tcache *tc = um_tcp;
    if (um_tc_state == TC_LIVE && tc != &um_tc_empty) {
        um_tc_state = TC_DEAD;
        um_tcp = &um_tc_empty; /* later calls (other destructors) bypass it */
        atomic_fetch_sub_explicit(&tc_live, 1, memory_order_relaxed);
        /* off the list first: um_tcache_bytes reads listed caches' slots
         * without their owner's cooperation, and the flush below writes
         * them (ThreadSanitizer saw tests/unit/purge_emptied_state's
         * malloc_stats read race with a worker's exit flush) */
        um_lock_acquire(&tc_list_lock);
        if (tc->prev)
            tc->prev->next = tc->next;
        else
            tc_list = tc->next;
        if (tc->next)
            tc->next->prev = tc->prev;
        um_lock_release(&tc_list_lock);
        tc_flush_all(tc);
        tc_med_add(tc, tc->med_limit_bytes, 1);
        um_arena_free(mem_to_chunk(tc->mem));
    }
    um_tc_state = TC_DEAD;
    um_arena_thread_detach();
}

/* This thread's cache, all of it, back to the arenas (malloc_trim, mallopt). */
void um_tcache_flush_all(void)
{
    if (um_tc_state == TC_LIVE)
        tc_flush_all(um_tcp);
}

/* Ask every other thread (and this one too, if self) to empty its cache at
 * its next slow call. tc_list_lock is a leaf: callers may hold an arena's
 * lock (the emptied arena, purge.c). */
void um_tcache_request_flush(int self)
{
    um_lock_acquire(&tc_list_lock);
    for (struct tcache *tc = tc_list; tc; tc = tc->next)
        if (self || tc != um_tcp)
            atomic_store_explicit(&tc->flush_req, 1, memory_order_relaxed);
    um_lock_release(&tc_list_lock);
}

/* mallopt changed something the caches depend on. */
void um_tcache_refresh_settings(void)
{
    if (um_tc_state != TC_LIVE)
        return;
    struct tcache *tc = um_tcp;
    if (RELAXED_LOAD(um_params.tcache_off)) {
        if (!tc->disabled)
            tc_disable(tc);
    } else if (tc->disabled) {
        tc_reset_limits(tc);
    }
}

/* Slot i's outbound list never reaches this many chunks (the debug check). */
size_t um_tcache_out_batch(size_t i) { return tc_out_batch[i]; }

/* The medium limits of all live caches (the debug check's view). */
size_t um_tcache_med_total(void) { return atomic_load_explicit(&tc_med_all, memory_order_relaxed); }

/* Chunks and bytes sitting in all threads' caches (racy reads: stats only).
 * The owners update their counts with plain stores on the fast paths
 * (atomic ones would keep gcc from updating them in place); the
 * reads here are atomic and tolerate a torn pair, so the race is by design
 * and TSan is told not to report it (mallinfo2 while other threads
 * allocate: tests/stress/cut_neighbours). */
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize_thread))
#endif
size_t um_tcache_bytes(size_t *count)
{
    size_t bytes = 0, n = 0;
    um_lock_acquire(&tc_list_lock);
    for (struct tcache *tc = tc_list; tc; tc = tc->next)
        for (size_t i = 2; i < TC_SLOTS; i++) {
            /* (the owner may be between updating room and limit: a read
             * caught there must not wrap to a huge count) */
            size_t l = __atomic_load_n(&tc->limit[i], __ATOMIC_RELAXED);
            size_t r = __atomic_load_n(&tc->room[i], __ATOMIC_RELAXED);
            size_t c = (l > r ? l - r : 0) + __atomic_load_n(&tc->out_n[i], __ATOMIC_RELAXED);
            n += c;
            bytes += c * tc_slot_size(i);
        }
    um_lock_release(&tc_list_lock);
    if (count)
        *count = n;
    return bytes;
}

/* In the child of fork only this thread exists: forget the other caches. */
void um_tcache_reset_after_fork(void)
{
    um_lock_init(&tc_list_lock);
    tc_list = NULL;
    atomic_store_explicit(&tc_live, um_tc_state == TC_LIVE, memory_order_relaxed);
    atomic_store_explicit(&tc_med_all, um_tc_state == TC_LIVE ? um_tcp->med_limit_bytes : 0,
                          memory_order_relaxed);
    if (um_tc_state == TC_LIVE) {
        um_tcp->next = um_tcp->prev = NULL;
        tc_list = um_tcp;
    }
}
