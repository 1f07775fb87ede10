/* Spans (arena.c, "Spans"): once the process has threads, a CPU's shard
 * cuts the runs of the classes it keeps to itself from a span of its own.
 * The first carve takes a piece of up to 64 KiB for its run and keeps the
 * rest as one chunk in use, marked cached; the next carves of that CPU,
 * whatever their size, continue it, so one CPU's runs lie side by side and
 * another CPU's come from elsewhere. A rest too small for the run is
 * handed out whole. A hole of the bins comes before the span when it is
 * the CPU's own memory (or of unknown home, or of a CPU that stopped
 * carving), and is passed over, back into the bins, while another CPU that
 * carves owns it. The spans are counted with the central cache (totals,
 * the walk's listing), checked by the debug check (which names a span
 * whose size total or mark is wrong), and given back to the bins by the
 * central cache's drain, by the grow path's drain when their shard is idle
 * (not when it is busy), and by the decay when their shard cut nothing for
 * the decay time. realloc grows the chunk below a span into it. A class
 * open to other CPUs (its frees come from there), and any class in an
 * emptied arena, is carved as without spans.
 * cflags: -pthread
 */
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "bins.h"
#include "tcache.h"
#include "unit_arena.h"

extern const unsigned int __rseq_size __attribute__((weak));

#define SPAN (64 << 10)

/* Carve want chunks of cs (arena lock held), cut as um_tcache_get does;
 * returns the first chunk's block, the count in *got. */
static char *carve(arena *av, size_t cs, size_t want, size_t *got)
{
    void *chain;
    size_t n, piece;
    void *m = um_arena_carve(av, cs, want, &chain, &n, &piece);
    U_CHECK(m != NULL, "carve %zu x %zu", want, cs);
    if (!m)
        exit(1);
    if (piece)
        um_arena_cut(av, m, piece, cs, &chain, &n);
    *got = n + 1;
    return m;
}

static void *idle_thread(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

/* um_check_arena in a child (its own copy of the heap), after the
 * corruption (arena *) -> void there. */
static arena *checked;
static void corrupt_and_check(void *corrupt)
{
    ((void (*)(arena *))corrupt)(checked);
    um_check_arena(checked);
}
static int check_in_child(arena *av, void (*corrupt)(arena *))
{
    checked = av;
    return unit_in_child(corrupt_and_check, (void *)corrupt);
}
static void no_change(arena *av) { (void)av; }
/* The debug check, without the arena lock (this process has threads). */
static void check(arena *av)
{
    um_lock_release(&av->lock);
    um_check_arena(av);
    um_lock_acquire(&av->lock);
}
static void wrong_total(arena *av) { av->span_bytes += 16; }
static void no_mark(arena *av) { ((void **)chunk_to_mem(av->span[0]))[1] = NULL; }

/* Count what um_arena_central_foreach visits. */
static void count(chunk *p, void *ctx)
{
    (void)p;
    ++*(size_t *)ctx;
}

int main(void)
{
    unit_init_library();
    cpu_set_t all;
    U_CHECK(sched_getaffinity(0, sizeof all, &all) == 0, "sched_getaffinity");
    if (um_cc_mask == 0 || !CPU_ISSET(0, &all) || !CPU_ISSET(1, &all) || !&__rseq_size ||
        __rseq_size == 0) {
        printf("spans: not tested (mask %u, rseq %u): one shard, no spans\n", um_cc_mask,
               &__rseq_size ? __rseq_size : 0);
        return 77;
    }
    pthread_t t; /* a second thread: spans are for processes with threads */
    U_CHECK(pthread_create(&t, NULL, idle_thread, NULL) == 0, "pthread_create");
    U_CHECK(unit_pin(0), "on CPU 0");
    arena *av = private_arena(93);
    um_lock_acquire(&av->lock);
    av->purge.now = 1000; /* the purge clock the spans' times are read from */
    const size_t cs = 48, cs2 = 64;
    size_t got;

    /* the first carve: a 64 KiB piece of top, the run at its front, the
     * rest the span (in use, marked cached, counted) */
    char *top0 = (char *)av->top;
    char *a = carve(av, cs, 8, &got);
    U_CHECK(got == 8 && a == top0 + CHUNK_HDR, "the run from top (%zu)", got);
    chunk *sp = av->span[0];
    U_CHECK(sp == (chunk *)(top0 + 8 * cs), "the span follows the run (%p)", (void *)sp);
    U_CHECK(sp && chunksize(sp) == SPAN - 8 * cs && av->span_bytes == chunksize(sp), "span of %zu, %zu",
            sp ? chunksize(sp) : 0, av->span_bytes);
    U_CHECK(sp && inuse(sp) && um_cache_marked(chunk_to_mem(sp)), "the span is in use and marked");
    U_CHECK((char *)av->top == top0 + SPAN, "top moved by the span");
    U_CHECK(um_arena_central_bytes(av) == av->span_bytes && um_arena_central_count(av) == 1,
            "the totals count the span");
    size_t listed = 0;
    U_CHECK(um_arena_central_foreach(av, count, &listed) == 1 && listed == 1, "the walk lists it");
    check(av);

    /* the next carve of this CPU, another size: right after */
    char *b = carve(av, cs2, 4, &got);
    U_CHECK(got == 4 && b == (char *)chunk_to_mem(sp), "the next run continues the span");
    U_CHECK(av->span[0] == chunk_at(sp, 4 * cs2), "the span's rest moved on");

    /* on CPU 1: a span of its own, away from CPU 0's */
    U_CHECK(unit_pin(1), "on CPU 1");
    char *c = carve(av, cs, 8, &got);
    U_CHECK(got == 8 && av->span[1] != NULL && c == top0 + SPAN + CHUNK_HDR,
            "CPU 1's run opens a span of its own above CPU 0's");
    U_CHECK(av->span_bytes == chunksize(av->span[0]) + chunksize(av->span[1]), "both counted");
    (void)carve(av, 1024, 4, &got); /* (so that c2 lies in KiB grains the span covers whole) */
    char *c2 = carve(av, cs, 8, &got); /* a hole later */
    U_CHECK(um_central_home(mem_to_chunk(c2)) == 2, "CPU 1's memory is marked so");
    check(av);

    /* a rest too small for the run goes whole, as a shorter run (runs of
     * at most 16 KiB come from spans) */
    U_CHECK(unit_pin(0), "on CPU 0");
    char *d = NULL;
    for (int r = 0; r < 4; r++)
        d = carve(av, 1024, 15, &got);
    U_CHECK(got == 15 && chunksize(av->span[0]) == SPAN - 8 * cs - 4 * cs2 - 60 * 1024, "%zu",
            chunksize(av->span[0]));
    d = carve(av, 1024, 2, &got);
    size_t rest = chunksize(av->span[0]);
    U_CHECK(got == 2 && rest >= 1024 && rest < 2048, "rest %zu", rest);
    char *e = carve(av, 512, 4, &got);
    U_CHECK(e == d + 2 * 1024 && got == rest / 512 && av->span[0] == NULL,
            "the rest handed out whole (%zu chunks)", got);
    U_CHECK(av->span_bytes == chunksize(av->span[1]), "the total follows");
    check(av);

    /* the debug check names a wrong total and an unmarked span (in a
     * child, without the lock) */
    chunk *s1 = av->span[1];
    av->span[0] = s1; /* (the corruptions act on span[0]) */
    av->span[1] = NULL;
    um_lock_release(&av->lock);
    U_CHECK(check_in_child(av, no_change) == 0, "an intact span failed the check");
    U_CHECK(check_in_child(av, wrong_total) == SIGABRT, "a wrong span total went unseen");
    U_CHECK(check_in_child(av, no_mark) == SIGABRT, "an unmarked span went unseen");
    um_lock_acquire(&av->lock);
    av->span[1] = s1;
    av->span[0] = NULL;

    /* a hole of another CPU that carves is passed over; one of this CPU's
     * memory is used first. Whether CPU 1 carves is the time of its last
     * cut on the purge clock: set here. */
    size_t g1;
    char *h1 = carve(av, cs, 8, &g1); /* CPU 0: a new span */
    U_CHECK(g1 == 8 && av->span[0] != NULL, "CPU 0's new span");
    set_head_size(mem_to_chunk(c2), 8 * cs); /* CPU 1's run, one chunk... */
    um_int_free(av, mem_to_chunk(c2), 8 * cs, "free"); /* ...now a hole */
    U_CHECK(!inuse(mem_to_chunk(c2)), "CPU 1's hole is free");
    /* CPU 1 carves: its last cut now on the purge clock, which the carve's
     * tick may read again; busy means within SPAN_BUSY_MS (20) of it, so a
     * test thread descheduled longer than that in between saw the hole
     * taken (in CI's debug run): then it is given back and tried again */
    char *f = NULL;
    for (int tries = 0; tries < 5; tries++) {
        av->purge.now = av->span_ms[1] = um_now_ms();
        f = carve(av, cs, 4, &got);
        if (f != c2)
            break;
        set_head_size(mem_to_chunk(f), 4 * cs); /* (taken: the run as one chunk, back) */
        um_int_free(av, mem_to_chunk(f), 4 * cs, "free");
    }
    U_CHECK(f == h1 + 8 * cs, "CPU 0 passes over CPU 1's hole for its span (%p)", (void *)f);
    U_CHECK(!inuse(mem_to_chunk(c2)) && chunksize(mem_to_chunk(c2)) == 8 * cs, "the hole is back, whole");
    av->span_ms[1] = av->purge.now > 1000 ? av->purge.now - 1000 : 0; /* a second ago */
    f = carve(av, cs, 4, &got);
    U_CHECK(f == c2 && got == 4, "an idle CPU's hole is carved (%p, %p)", (void *)f, (void *)c2);
    f = carve(av, cs, 4, &got);
    U_CHECK(f == c2 + 4 * cs && got == 4, "and the rest of it");
    set_head_size(mem_to_chunk(a), 8 * cs); /* CPU 0's own first run, a hole */
    um_int_free(av, mem_to_chunk(a), 8 * cs, "free");
    f = carve(av, cs, 8, &got);
    U_CHECK(f == a && got == 8, "CPU 0's own hole before its span");
    check(av);

    /* the grow path's drain: the spans stay while both shards are busy,
     * and all go once one CPU alone allocates */
    U_CHECK(unit_pin(1), "on CPU 1");
    (void)carve(av, cs, 8, &got); /* CPU 1 carves again: its span */
    U_CHECK(unit_pin(0), "on CPU 0");
    struct central *ce = av->central;
    for (int r = 0; r < 2; r++) {
        uint32_t now = atomic_load(&ce->epoch);
        atomic_store(&ce->full[0].active, now + 1);
        atomic_store(&ce->full[1].active, r == 0 ? now + 1 : 0);
        size_t held = av->span_bytes, out = um_central_drain_idle(av);
        U_CHECK(r == 0 ? av->span[0] && av->span[1] && out == 0 : !av->span[0] && !av->span[1] && out == held,
                "round %d: spans %p %p, %zu of %zu bytes out", r, (void *)av->span[0],
                (void *)av->span[1], out, held);
    }
    check(av);
    (void)carve(av, cs, 8, &got); /* a span again */

    /* the decay: a span its shard cut nothing from for the decay time */
    av->span_ms[0] = av->purge.now;
    um_arena_spans_decay(av, av->purge.now + 5, 10);
    U_CHECK(av->span[0] != NULL, "cut 5 ms ago: kept");
    um_arena_spans_decay(av, av->purge.now + 10, 10);
    U_CHECK(av->span[0] == NULL && av->span_bytes == 0, "an idle span decays");
    check(av);

    /* the drain gives everything back (the carves take the holes the
     * decay left first) */
    for (int r = 0; r < 1000 && !av->span[0]; r++)
        (void)carve(av, cs, 8, &got);
    U_CHECK(av->span[0] != NULL, "a span again");
    check(av);

    /* realloc grows the chunk right below the span into it, as into top:
     * part of it (the rest moves on, marked), then all of it */
    char *g = carve(av, cs, 4, &got);
    chunk *last = mem_to_chunk(g + 3 * cs), *sp1 = av->span[0];
    size_t held = av->span_bytes, size1 = chunksize(sp1);
    U_CHECK(got == 4 && chunk_at(last, cs) == sp1, "the run's last chunk borders the span");
    U_CHECK(um_int_realloc_inplace(av, last, cs, cs + 128) == 1 && chunksize(last) == cs + 128,
            "grown into the span");
    U_CHECK(av->span[0] == chunk_at(sp1, 128) && chunksize(av->span[0]) == size1 - 128 &&
                av->span_bytes == held - 128 && um_cache_marked(chunk_to_mem(av->span[0])),
            "the span's rest moved on by the growth");
    check(av);
    size_t whole = chunksize(av->span[0]);
    U_CHECK(um_int_realloc_inplace(av, last, cs + 128, cs + 128 + whole - 16) == 1 &&
                chunksize(last) == cs + 128 + whole && av->span[0] == NULL &&
                av->span_bytes == held - 128 - whole,
            "a growth leaving less than a chunk takes all of the span");
    check(av);
    for (int r = 0; r < 1000 && !av->span[0]; r++)
        (void)carve(av, cs, 8, &got);
    U_CHECK(av->span[0] != NULL, "a span again");
    um_central_drain(av);
    U_CHECK(av->span[0] == NULL && av->span[1] == NULL && av->span_bytes == 0 &&
                um_arena_central_bytes(av) == 0,
            "drained");
    check(av);

    /* an emptied arena (purge.c) parks nothing: no span either */
    av->purge.emptied = 1;
    (void)carve(av, 2 * cs, 8, &got);
    U_CHECK(av->span[0] == NULL && got == 8, "no span in an emptied arena");
    av->purge.emptied = 0;

    /* a class open to other CPUs: carved as without spans */
    const size_t i = tc_slot_of_chunk(cs);
    av->central->cls[CC_AT(i, 0)].remote = 16; /* (central.c's REMOTE_MAX) */
    (void)carve(av, cs, 8, &got);
    U_CHECK(av->span[0] == NULL && got == 8, "no span for an open class");
    av->central->cls[CC_AT(i, 0)].remote = 0;
    um_lock_release(&av->lock);
    return U_DONE();
}
