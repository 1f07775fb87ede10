/* The central cache (central.c): batches in and out of a class in O(1) with
 * counts, bytes and order kept; capacity that grows with misses and sends a
 * give beyond it to the bins; decay of the low-water mark to the bins
 * (decay_ms 0: every tick; -1: never by time); drain of one class and of all
 * of them, after which the chunks coalesce and top grows back; chunks of two
 * arenas flushed by one thread cache, each landing in its own arena's
 * central cache, and taken by a thread of the other arena when its own has
 * none (um_central_steal); fork while batches are parked (the child takes and uses
 * them, the parent keeps its own); the purge tick's own frees of decayed
 * chunks, which must not read the clock again; set-up that writes no class
 * at rest (an unused class's page of a zero-filled mapping is never
 * written); shards by CPU (a give lands in the shard of the CPU the thread
 * runs on, a take empties its own shard before another's and takes
 * another's only when that class is open to other CPUs, as a give of
 * another CPU's memory or a consumer's opens it, a miss makes room in its
 * own shard and the open ones, totals, check, drain and fork see every
 * shard); the grow path's drain with threads, which leaves the classes in
 * use alone.
 * The exact-accounting parts run on private arenas (um_heap_new_arena: not
 * in the arena list, so malloc never touches them); the rest on the main
 * arena and on a second arena a thread moves to, through the public calls.
 * cflags: -pthread
 */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "bins.h"
#include "purge.h"
#include "tcache.h"
#include "unit_arena.h"
#include "umalloc.h"

#define PACK_MASK (((uint64_t)1 << 48) - 1)
/* central.c's REMOTE_HIT, REMOTE_OPEN and REMOTE_MAX */
#define REMOTE_HIT_T 2u
#define REMOTE_OPEN_T 4u
#define REMOTE_MAX_T 16u

/* ---- the batch format, read independently of central.c ---- */
static size_t bcount(void **b) { return (size_t)((uint64_t)b[2] >> 48); }
static void **bnext(void **b)
{
    return (void **)((uintptr_t)link_reveal((void *)((uint64_t)b[2] & PACK_MASK)) & PACK_MASK);
}
static void **enext(void **e) { return link_reveal(e[0]); }

/* Class i of the shard the test thread uses (main pins it to one CPU). */
static struct cclass *cls(arena *av, size_t i) { return &av->central->cls[CC_AT(i, um_central_shard())]; }


/* Free bytes of a private (single-heap) arena: top plus every free chunk of
 * the heap walk. The walk also checks the boundary tags: sizes, P bits, feet,
 * no two free chunks adjacent, in-use parked chunks. */
static size_t arena_free_bytes(arena *av)
{
    um_lock_acquire(&av->lock);
    heap *h = (heap *)((char *)av - HEAP_HDR);
    U_CHECK(av->last_heap == h && h->prev == NULL, "private arena still has one heap");
    chunk *p = chunk_at(h, HEAP_HDR + ARENA_META_SIZE);
    size_t freeb = 0;
    int prev_free = 0;
    size_t prev_size = 0;
    while (p != av->top) {
        size_t s = chunksize(p);
        U_CHECK(s >= MINSIZE && (s & ALIGN_MASK) == 0 && (char *)p + s < (char *)h + h->size,
                "bad size %zu at %p", s, (void *)p);
        if (s < MINSIZE)
            break;
        U_CHECK((!prev_inuse(p)) == prev_free, "P bit at %p", (void *)p);
        if (prev_free)
            U_CHECK(p->prev_size == prev_size, "foot at %p", (void *)p);
        int f = !inuse(p);
        U_CHECK(!(f && prev_free), "two free chunks adjacent at %p", (void *)p);
        if (f)
            freeb += s;
        prev_free = f;
        prev_size = s;
        p = next_chunk(p);
    }
    U_CHECK(!prev_free, "free chunk below top");
    for (unsigned i = 0; i < NFASTBINS; i++)
        for (chunk *q = av->fastbins[i]; q; q = link_reveal(q->fd))
            freeb += chunksize(q);
    freeb += chunksize(av->top);
    um_lock_release(&av->lock);
    return freeb;
}

/* n chunks of exactly cs carved from av (in carve order), cache-marked. */
static void carve(arena *av, size_t cs, size_t n, void **out)
{
    size_t got = 0;
    um_lock_acquire(&av->lock);
    while (got < n) {
        void *chain;
        size_t cn;
        size_t piece;
        void *m = um_arena_carve(av, cs, n - got, &chain, &cn, &piece);
        if (m && piece)
            um_arena_cut(av, m, piece, cs, &chain, &cn);
        U_CHECK(m != NULL, "carve %zu x %zu", n - got, cs);
        if (!m)
            exit(1);
        out[got++] = m;
        for (void **e = chain; e; e = enext(e)) {
            U_CHECK(got < n, "carve returned more than asked");
            out[got++] = e;
        }
        U_CHECK(cn + 1 <= n, "carve count %zu", cn);
    }
    /* the span a carve leaves once the process has threads (carve_spans.c
     * tests them) goes back to the bins: the totals here are the classes' */
    um_arena_spans_release(av, ~0u);
    um_lock_release(&av->lock);
    for (size_t k = 0; k < n; k++) {
        chunk *p = mem_to_chunk(out[k]);
        U_CHECK(chunksize(p) == cs && inuse(p) && !chunk_is_mmapped(p), "carved chunk %p", out[k]);
        U_CHECK(um_arena_of(p) == av, "carved chunk %p belongs to its arena", out[k]);
    }
}

/* Link mem[0..n) into one chain in cache format; returns its head. */
static void *link_chain(void **mem, size_t n)
{
    void *next = NULL;
    for (size_t k = n; k-- > 0;) {
        void **e = mem[k];
        e[0] = link_protect(next);
        e[1] = um_cache_mark(e);
        next = e;
    }
    return next;
}

/* The chain at head is exactly mem[0..n), in that order. */
static void expect_chain(void *head, void **mem, size_t n, const char *what)
{
    size_t k = 0;
    for (void **e = head; e; e = enext(e), k++) {
        if (k >= n) {
            U_CHECK(0, "%s: chain longer than %zu", what, n);
            return;
        }
        U_CHECK(e == mem[k], "%s: entry %zu is %p, expected %p", what, k, (void *)e, mem[k]);
        U_CHECK(um_cache_marked(e), "%s: entry %zu lost its cache mark", what, k);
    }
    U_CHECK(k == n, "%s: chain has %zu entries, expected %zu", what, k, n);
}

/* Counts of the given pointers found in class i of av's central cache. */
static size_t count_parked(arena *av, size_t i, void **ptrs, size_t n)
{
    struct cclass *k = cls(av, i);
    size_t found = 0;
    um_lock_acquire(&k->lock);
    for (void **b = k->batches; b; b = bnext(b)) {
        size_t len = 0;
        for (void **e = b; e; e = enext(e), len++)
            for (size_t j = 0; j < n; j++)
                if (ptrs[j] == e)
                    found++;
        U_CHECK(len == bcount(b), "batch length %zu recorded %zu", len, bcount(b));
    }
    um_lock_release(&k->lock);
    return found;
}

/* Every chunk parked in class i of av, into out[0..max); returns the count. */
static size_t collect_parked(arena *av, size_t i, void **out, size_t max)
{
    struct cclass *k = cls(av, i);
    size_t n = 0;
    um_lock_acquire(&k->lock);
    for (void **b = k->batches; b; b = bnext(b))
        for (void **e = b; e; e = enext(e))
            if (n < max)
                out[n++] = e;
    um_lock_release(&k->lock);
    return n;
}

static uint64_t pat(const void *p, unsigned w) { return ((uintptr_t)p * 0x9E3779B97F4A7C15ull) ^ w; }

/* ---------------------------------------------------------------- */
/* 1. batches in and out, LIFO, counts and bytes, content untouched */
static void test_batches(void)
{
    arena *av = private_arena(90);
    const size_t i = 3, cs = tc_slot_size(i); /* 48-byte chunks */
    U_CHECK(cs == 48, "slot 3 holds 48-byte chunks (%zu)", cs);
    struct cclass *k = cls(av, i);

    /* one carve from top is a contiguous run: the returned chunk, then the
     * chain in address order */
    void *run[8];
    carve(av, cs, 8, run);
    for (int j = 1; j < 8; j++)
        U_CHECK((char *)run[j] == (char *)run[j - 1] + cs, "run contiguous at %d", j);

    static const size_t sizes[3] = {8, 5, 3};
    void *mem[3][8];
    void *head[3];
    memcpy(mem[0], run, sizeof run);
    carve(av, cs, 5, mem[1]);
    carve(av, cs, 3, mem[2]);
    for (int b = 0; b < 3; b++) {
        for (size_t j = 0; j < sizes[b]; j++) { /* words 3..4 are the user's */
            uint64_t *w = mem[b][j];
            w[3] = pat(w, 3);
            w[4] = pat(w, 4);
        }
        head[b] = link_chain(mem[b], sizes[b]);
    }
    size_t free0 = arena_free_bytes(av);
    for (int b = 0; b < 3; b++)
        um_central_give(av, i, head[b], sizes[b], 0);
    U_CHECK(k->nbatch == 3, "3 batches parked (%u)", k->nbatch);
    U_CHECK(um_central_class_bytes(av, i) == 16 * cs, "bytes %zu", um_central_class_bytes(av, i));
    U_CHECK(um_arena_central_count(av) == 16, "count %zu", um_arena_central_count(av));
    U_CHECK(um_arena_central_bytes(av) == 16 * cs, "arena bytes %zu", um_arena_central_bytes(av));
    U_CHECK(k->batches == head[2] && bcount(k->batches) == 3, "newest batch first");
    U_CHECK(bnext(k->batches) == head[1] && bcount(head[1]) == 5, "then the older one");
    U_CHECK(arena_free_bytes(av) == free0, "parking does not free anything");
    um_central_check(av);

    /* out again, newest first, each whole and in order */
    for (int b = 2; b >= 0; b--) {
        size_t n = 99;
        void *got = um_central_take(av, i, &n, 4);
        U_CHECK(got == head[b] && n == sizes[b], "take %d: %p n=%zu", b, got, n);
        expect_chain(got, mem[b], sizes[b], "taken batch");
        for (size_t j = 0; j < sizes[b]; j++) {
            uint64_t *w = mem[b][j];
            U_CHECK(w[3] == pat(w, 3) && w[4] == pat(w, 4), "batch %d entry %zu content changed", b, j);
            U_CHECK(inuse(mem_to_chunk(w)), "parked chunk stayed in use");
        }
        um_central_check(av);
    }
    U_CHECK(k->nbatch == 0 && k->batches == NULL && um_central_class_bytes(av, i) == 0, "empty");
    size_t n = 99, cap0 = k->grown;
    U_CHECK(um_central_take(av, i, &n, 4) == NULL && n == 0, "empty class gives nothing");
    U_CHECK(k->grown == cap0 + 4 * cs && k->misses == 1, "a miss raises cap by want*size");
    um_central_check(av);

    /* hand them all back to the bins the way a flush would (give + drain) */
    for (int b = 0; b < 3; b++)
        um_central_give(av, i, head[b], sizes[b], 0);
    um_lock_acquire(&av->lock);
    um_central_drain(av);
    um_consolidate(av);
    um_lock_release(&av->lock);
    U_CHECK(um_arena_central_bytes(av) == 0, "drained");
    U_CHECK(arena_free_bytes(av) == free0 + 16 * cs, "all 16 chunks free again");
    um_central_check(av);
}

/* ---------------------------------------------------------------- */
/* 2. capacity: a give beyond cap goes to the bins; a miss makes room */
static void test_capacity(void)
{
    arena *av = private_arena(91);
    const size_t i = 64, cs = tc_slot_size(i); /* 1024: never a fast-bin size */
    const size_t per = 16, B = per * cs;
    struct cclass *k = cls(av, i);
    size_t cap0 = CC_MIN_CAP + k->grown;
    U_CHECK(cap0 >= B && cap0 % B == 0, "test assumes cap %zu is a multiple of %zu", cap0, B);
    size_t nfit = cap0 / B;
    void *mem[8][16];
    void *head[8];
    for (size_t b = 0; b < 8; b++) {
        carve(av, cs, per, mem[b]);
        head[b] = link_chain(mem[b], per);
    }
    size_t free0 = arena_free_bytes(av);
    for (size_t b = 0; b < nfit; b++)
        um_central_give(av, i, head[b], per, 0);
    U_CHECK(um_central_class_bytes(av, i) == cap0, "filled to cap: %zu", um_central_class_bytes(av, i));
    U_CHECK(arena_free_bytes(av) == free0, "nothing freed while under cap");
    /* no room, no demand: into the bins */
    um_central_give(av, i, head[nfit], per, 0);
    U_CHECK(um_central_class_bytes(av, i) == cap0, "over-cap give not parked");
    U_CHECK(arena_free_bytes(av) == free0 + B, "over-cap give freed: %zu vs %zu", arena_free_bytes(av),
            free0 + B);
    /* its chunks were freed in address order between parked neighbours:
     * they coalesced into one free chunk */
    chunk *c0 = mem_to_chunk(mem[nfit][0]);
    U_CHECK(!inuse(c0) && chunksize(c0) == B, "over-cap batch is one free chunk of %zu: %zu", B,
            chunksize(c0));
    um_central_check(av);

    /* take everything back, then miss: cap grows by want * size */
    for (size_t b = nfit; b-- > 0;) {
        size_t n;
        U_CHECK(um_central_take(av, i, &n, 32) == head[b] && n == per, "take back %zu", b);
    }
    size_t n = 1;
    U_CHECK(um_central_take(av, i, &n, 32) == NULL && n == 0, "miss");
    U_CHECK(CC_MIN_CAP + k->grown == cap0 + 32 * cs, "cap %zu after a miss (want 32)",
            CC_MIN_CAP + k->grown);
    /* now nfit + 2 batches fit, the next one does not */
    carve(av, cs, per, mem[nfit]);
    head[nfit] = link_chain(mem[nfit], per);
    size_t fit2 = nfit + 2;
    U_CHECK(fit2 < 8, "enough batches carved");
    free0 = arena_free_bytes(av);
    for (size_t b = 0; b < fit2; b++)
        um_central_give(av, i, head[b], per, 0);
    U_CHECK(um_central_class_bytes(av, i) == fit2 * B, "grown cap holds %zu batches: %zu", fit2,
            um_central_class_bytes(av, i));
    U_CHECK(arena_free_bytes(av) == free0, "all parked");
    um_central_give(av, i, head[fit2], per, 0);
    U_CHECK(um_central_class_bytes(av, i) == fit2 * B && arena_free_bytes(av) == free0 + B,
            "beyond the grown cap: to the bins");
    um_central_check(av);
}

/* 2b. um_central_park_one (a free that no thread cache had room for):
 * parks up to the class's minimum capacity, with demand or without, and
 * the rest goes back to the caller (then to the bins): a burst of frees
 * must not wait here (src/central.c says what parking up to the grown
 * capacity kept after an idle burst). */
static size_t park_until_refused(arena *av, size_t i, void **mem, size_t n)
{
    size_t parked = 0;
    for (size_t k = 0; k < n; k++) {
        void **e = mem[k];
        e[0] = link_protect(NULL);
        e[1] = um_cache_mark(e);
        if (!um_central_park_one(av, i, e)) {
            for (size_t j = k; j < n; j++) {
                ((void **)mem[j])[1] = NULL;
                um_arena_free(mem_to_chunk(mem[j]));
            }
            break;
        }
        parked++;
    }
    return parked;
}

/* Every chunk parked in class i back (one-chunk batches), into out. */
static size_t take_back(arena *av, size_t i, void **out)
{
    size_t nb = 0, n;
    void **b;
    while ((b = um_central_take(av, i, &n, 0)) != NULL) {
        U_CHECK(n == 1, "parked one at a time: a batch of %zu", n);
        out[nb++] = b;
    }
    return nb;
}

static void park_class(arena *av, size_t i)
{
    const size_t cs = tc_slot_size(i);
    struct cclass *k = cls(av, i);
    U_CHECK(k->grown == 0, "a fresh class");
    enum { N = 160 };
    static void *mem[N];
    U_CHECK(N * cs > 2 * CC_MIN_CAP, "enough chunks to pass the minimum twice");
    carve(av, cs, N, mem);
    size_t p0 = park_until_refused(av, i, mem, N);
    U_CHECK(p0 == CC_MIN_CAP / cs, "class %zu, no demand: %zu parked, the minimum holds %zu", i, p0,
            CC_MIN_CAP / cs);
    um_central_check(av);
    /* the parked chunks come back one by one; then a miss wants 96 more:
     * a give of a batch may park up to the grown capacity, one at a time
     * still only the minimum */
    size_t nb = take_back(av, i, mem);
    U_CHECK(nb == p0, "took back %zu of %zu", nb, p0);
    size_t n = 1;
    U_CHECK(um_central_take(av, i, &n, 96) == NULL && n == 0, "miss");
    U_CHECK(k->grown == 96 * cs, "the miss grew the capacity: %zu", k->grown);
    carve(av, cs, N - nb, mem + nb);
    size_t p1 = park_until_refused(av, i, mem, N);
    U_CHECK(p1 == CC_MIN_CAP / cs, "class %zu, with demand: %zu parked, the minimum holds %zu", i, p1,
            CC_MIN_CAP / cs);
    um_central_check(av);
    take_back(av, i, mem);
}

static void test_park_one(void)
{
    park_class(private_arena(88), TC_MED_FIRST + 8); /* a medium class */
    park_class(private_arena(89), 64);               /* 1024 bytes, a small one */
}

/* ---------------------------------------------------------------- */
/* 3. decay */
static void give_batches(arena *av, size_t i, size_t nb, size_t per, void **heads)
{
    size_t cs = tc_slot_size(i);
    void *mem[64];
    U_CHECK(per <= 64, "per");
    for (size_t b = 0; b < nb; b++) {
        carve(av, cs, per, mem);
        void *h = link_chain(mem, per);
        if (heads)
            heads[b] = h;
        um_central_give(av, i, h, per, 0);
    }
}

static void test_decay(void)
{
    const size_t i = 16, cs = tc_slot_size(i), per = 8, B = per * cs; /* 256-byte chunks */
    uint64_t now = um_now_ms();

    /* -1: time never decays; a pure give phase keeps everything */
    um_params.purge_decay_ms = -1;
    arena *a1 = private_arena(92);
    give_batches(a1, i, 6, per, NULL);
    size_t f1 = arena_free_bytes(a1);
    for (int r = 0; r < 3; r++)
        um_central_decay(a1, now + 1000000000ull * (uint64_t)(r + 1));
    U_CHECK(um_central_class_bytes(a1, i) == 6 * B, "decay_ms -1 kept %zu", um_central_class_bytes(a1, i));
    U_CHECK(arena_free_bytes(a1) == f1, "nothing freed");
    /* ... and so do 70 single-chunk gives (past a 64-transfer window) */
    arena *a1b = private_arena(93);
    give_batches(a1b, i, 70, 1, NULL);
    U_CHECK(um_central_class_bytes(a1b, i) == 70 * cs, "pure gives kept: %zu", um_central_class_bytes(a1b, i));
    um_central_check(a1);
    um_central_check(a1b);

    /* at each tick the low-water mark (what never left) goes back; ticks in
     * the future, so the purge's own tick (real clock) cannot interleave,
     * and no decay while the batches are made: the carves are arena calls,
     * whose real-clock ticks could set a mark between two gives (1 run in
     * 18 released five batches at the first tick below) */
    uint64_t t0 = now + 3600 * 1000ull;
    arena *a2 = private_arena(94);
    void *heads[6];
    give_batches(a2, i, 6, per, heads);
    um_params.purge_decay_ms = 50;
    size_t f2 = arena_free_bytes(a2);
    um_central_decay(a2, t0); /* first tick: only sets the mark */
    U_CHECK(um_central_class_bytes(a2, i) == 6 * B, "first tick releases nothing new: %zu",
            um_central_class_bytes(a2, i));
    size_t n;
    void *t = um_central_take(a2, i, &n, 1);
    U_CHECK(t == heads[5] && n == per, "take the newest");
    um_central_give(a2, i, t, n, 0); /* it came back: it was used */
    um_central_decay(a2, t0 + 100);
    U_CHECK(um_central_class_bytes(a2, i) == B, "only the used batch stays: %zu", um_central_class_bytes(a2, i));
    U_CHECK(cls(a2, i)->batches == heads[5], "the batch that stays is the one used");
    U_CHECK(arena_free_bytes(a2) == f2 + 5 * B, "five idle batches freed: %zu vs %zu", arena_free_bytes(a2),
            f2 + 5 * B);
    um_central_check(a2);
    um_central_decay(a2, t0 + 200); /* idle for a whole tick now */
    U_CHECK(um_central_class_bytes(a2, i) == 0, "then it goes too");
    U_CHECK(arena_free_bytes(a2) == f2 + 6 * B, "everything freed");
    um_central_check(a2);

    /* 0, through the transfer count alone (no decay call): a long pure-give
     * phase returns what sat idle for a window */
    um_params.purge_decay_ms = 0;
    arena *a3 = private_arena(95);
    size_t f3 = arena_free_bytes(a3);
    give_batches(a3, i, 140, 1, NULL);
    size_t left = um_central_class_bytes(a3, i);
    U_CHECK(left < 140 * cs && left > 0, "decay on transfers: %zu of %zu parked", left, 140 * cs);
    /* (what went back is free in the bins, or already given to the kernel by
     * the purge, which decay 0 also runs at once: no exact byte count) */
    U_CHECK(arena_free_bytes(a3) <= f3, "decay freed into the bins: %zu vs %zu", arena_free_bytes(a3), f3);
    um_central_check(a3);

    /* decay off by time: circulating batches are all kept (no event-based
     * window releases anything: phases of a program keep their batches) */
    um_params.purge_decay_ms = -1;
    arena *a4 = private_arena(96);
    give_batches(a4, i, 8, per, NULL);
    size_t f4 = arena_free_bytes(a4);
    for (int r = 0; r < 100; r++) {
        void *c = um_central_take(a4, i, &n, 1);
        U_CHECK(c != NULL, "circulating batch %d", r);
        if (!c)
            break;
        um_central_give(a4, i, c, n, 0);
    }
    size_t kept = um_central_class_bytes(a4, i);
    U_CHECK(kept == 8 * B, "decay -1 keeps every batch: %zu", kept);
    U_CHECK(arena_free_bytes(a4) == f4, "nothing went to the bins");
    um_central_check(a4);
}

/* The purge tick's own frees: a clock read that decays parked chunks to the
 * bins frees each of them through um_int_free, which ticks. Those ticks must
 * not read the clock again: each found it where the first read left it, so
 * the span doubled (8, 16, 32, 64) without a single call of the program's,
 * and a program with sparse calls then waited up to 65 of them for its next
 * read. */
static void test_tick_nested(void)
{
    const size_t i = 16, per = 8, nb = 8; /* 256-byte chunks: past the fast bins */
    um_params.purge_decay_ms = 50;
    arena *av = private_arena(97);
    give_batches(av, i, nb, per, NULL);
    uint64_t now = um_now_ms();
    U_CHECK(um_central_class_bytes(av, i) == nb * per * tc_slot_size(i), "parked");
    /* the low-water mark set a second ago, all of it idle since */
    cls(av, i)->tick_ms = now - 1000;
    cls(av, i)->low = cls(av, i)->bytes;
    av->central->scan_ms = 0;
    um_lock_acquire(&av->lock);
    av->purge.now = now - 500; /* the clock has moved: the read does the timed work */
    av->purge.span = PURGE_TICK_EVERY;
    av->purge.countdown = 0; /* the next call reads it */
    unsigned reads0 = av->purge.reads;
    um_purge_tick(av);
    unsigned reads = av->purge.reads - reads0, span = av->purge.span;
    int busy = av->purge.busy;
    um_lock_release(&av->lock);
    U_CHECK(um_central_class_bytes(av, i) == 0, "the tick decayed the parked chunks: %zu left",
            um_central_class_bytes(av, i));
    U_CHECK(reads == 1, "%u clock reads: the decay's %zu frees read it too", reads, nb * per);
    U_CHECK(span == PURGE_TICK_EVERY, "span %u after one read of a clock that moved", span);
    U_CHECK(!busy, "busy flag left set");
    um_central_check(av);
}

/* ---------------------------------------------------------------- */
/* 4. drain: one class, then all; chunks coalesce and top grows back */
static void test_drain(void)
{
    um_params.purge_decay_ms = -1;
    arena *av = private_arena(97);
    const size_t i1 = 64, c1 = tc_slot_size(i1);
    const size_t i2 = TC_MED_FIRST + 9, c2 = tc_slot_size(i2); /* a medium class */
    um_lock_acquire(&av->lock);
    size_t top0 = chunksize(av->top);
    um_lock_release(&av->lock);
    void *m1[32], *m2[16];
    carve(av, c1, 32, m1);
    carve(av, c2, 16, m2);
    um_central_give(av, i1, link_chain(m1, 16), 16, 0);
    um_central_give(av, i1, link_chain(m1 + 16, 16), 16, 0);
    um_central_give(av, i2, link_chain(m2, 16), 16, 0);
    U_CHECK(um_arena_central_bytes(av) == 32 * c1 + 16 * c2, "parked %zu", um_arena_central_bytes(av));
    um_lock_acquire(&av->lock);
    U_CHECK(chunksize(av->top) == top0 - 32 * c1 - 16 * c2, "top gave the runs");
    um_lock_release(&av->lock);

    um_central_drain_class(av, i1);
    U_CHECK(um_central_class_bytes(av, i1) == 0 && um_central_class_bytes(av, i2) == 16 * c2,
            "drain_class empties only its class");
    /* class 1's run is one free chunk now (coalesced), below class 2's */
    chunk *p1 = mem_to_chunk(m1[0]);
    U_CHECK(!inuse(p1) && chunksize(p1) == 32 * c1, "class 1 coalesced into one chunk: %zu", chunksize(p1));
    um_central_check(av);

    um_lock_acquire(&av->lock);
    um_central_drain(av);
    um_consolidate(av);
    size_t top1 = chunksize(av->top);
    chunk *top = av->top;
    um_lock_release(&av->lock);
    U_CHECK(um_arena_central_bytes(av) == 0, "drained");
    U_CHECK(top == p1 && top1 == top0, "everything merged back into top: %zu vs %zu", top1, top0);
    U_CHECK(arena_free_bytes(av) == top0, "no free chunk left outside top");
    um_central_check(av);

    /* a class of the fast bins' sizes, alone: the drain merges its chunks
     * at once (um_int_free_drain), where um_int_free would leave them in
     * the fast bins until a consolidation (alone, so that no merge past
     * 64 KiB in the same drain consolidates them anyway, as class 2's did
     * above on the build before) */
    const size_t i3 = 4, c3 = tc_slot_size(i3);
    U_CHECK(c3 <= um_params.max_fast, "class 3 (%zu bytes) is a fast-bin size", c3);
    void *m3[24];
    carve(av, c3, 24, m3);
    um_central_give(av, i3, link_chain(m3, 24), 24, 0);
    U_CHECK(um_central_class_bytes(av, i3) == 24 * c3, "class 3 parked");
    um_lock_acquire(&av->lock);
    um_central_drain(av);
    int fast = av->have_fastchunks;
    for (unsigned f = 0; f < NFASTBINS; f++)
        fast |= av->fastbins[f] != NULL;
    U_CHECK(!fast, "the drain left chunks in the fast bins");
    U_CHECK(av->top == p1 && chunksize(av->top) == top0, "class 3 merged back into top: %zu vs %zu",
            chunksize(av->top), top0);
    um_lock_release(&av->lock);
    um_central_check(av);

    /* the main arena, through malloc/free: flushed blocks park, the drain
     * frees them, the heap check passes and top grows back */
    const size_t req = 1000, cs = request2size(req), N = 96;
    size_t ci = tc_slot_of_chunk(cs);
    void *b[96];
    umalloc_thread_flush();
    um_lock_acquire(&um_main_arena.lock);
    um_central_drain(&um_main_arena);
    um_consolidate(&um_main_arena);
    size_t mtop0 = chunksize(um_main_arena.top);
    um_lock_release(&um_main_arena.lock);
    for (size_t k = 0; k < N; k++) {
        b[k] = malloc(req);
        U_CHECK(b[k] != NULL, "malloc");
        memset(b[k], 0x33, req);
    }
    for (size_t k = 0; k < N; k++)
        free(b[k]);
    umalloc_thread_flush();
    U_CHECK(um_central_class_bytes(&um_main_arena, ci) >= N * cs, "blocks parked: %zu",
            um_central_class_bytes(&um_main_arena, ci));
    U_CHECK(count_parked(&um_main_arena, ci, b, N) == N, "all %zu blocks parked in the main central cache", N);
    umalloc_check();
    um_lock_acquire(&um_main_arena.lock);
    size_t mtop1 = chunksize(um_main_arena.top);
    um_central_drain(&um_main_arena);
    um_consolidate(&um_main_arena);
    size_t mtop2 = chunksize(um_main_arena.top);
    um_lock_release(&um_main_arena.lock);
    U_CHECK(um_arena_central_bytes(&um_main_arena) == 0, "main drained");
    U_CHECK(mtop1 < mtop0, "the blocks came (partly) from top: %zu < %zu", mtop1, mtop0);
    U_CHECK(mtop2 >= mtop0, "top grew back: %zu -> %zu (start %zu)", mtop1, mtop2, mtop0);
    umalloc_check();
}

/* ---------------------------------------------------------------- */
/* 5. mixed arenas: one thread cache flushes chunks of two arenas */
enum { KMIX = 20 };
static void *tblk[KMIX];
static arena *tarena;
static pthread_barrier_t bar;

static void *other_arena_thread(void *arg)
{
    (void)arg;
    /* four waits on the lock move a thread off its arena (to a new one) */
    arena *from = um_arena_current();
    for (int r = 0; r < 4; r++)
        um_arena_note_contention(from);
    tarena = um_arena_current();
    for (int k = 0; k < KMIX; k++) {
        tblk[k] = malloc(200);
        if (tblk[k])
            memset(tblk[k], 0x44, 200);
    }
    pthread_barrier_wait(&bar); /* blocks handed over */
    pthread_barrier_wait(&bar); /* the main thread is done checking */
    return NULL;
}

static void test_mixed(void)
{
    um_params.purge_decay_ms = -1;
    /* room for a second arena whatever the CPU count (the default is one
     * per two CPUs) */
    U_CHECK(mallopt(M_ARENA_MAX, 4) == 1, "mallopt(M_ARENA_MAX)");
    const size_t cs = request2size(200), i = tc_slot_of_chunk(cs);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, other_arena_thread, NULL) == 0, "thread");
    pthread_barrier_wait(&bar);
    arena *mine = um_arena_current();
    U_CHECK(mine == &um_main_arena, "main thread on the main arena");
    U_CHECK(tarena != NULL && tarena != mine, "the thread moved to a second arena");
    void *mblk[KMIX];
    for (int k = 0; k < KMIX; k++) {
        U_CHECK(tblk[k] != NULL, "thread malloc");
        U_CHECK(um_arena_of(mem_to_chunk(tblk[k])) == tarena && !chunk_main_arena(mem_to_chunk(tblk[k])),
                "thread block %d from its arena", k);
        mblk[k] = malloc(200);
        memset(mblk[k], 0x55, 200);
        U_CHECK(chunk_main_arena(mem_to_chunk(mblk[k])), "main block from the main arena");
    }
    umalloc_thread_flush();
    size_t m0 = um_central_class_bytes(mine, i), t0 = um_central_class_bytes(tarena, i);
    for (int k = 0; k < KMIX; k++) { /* interleaved: runs of one arena each */
        free(mblk[k]);
        free(tblk[k]);
    }
    umalloc_thread_flush();
    U_CHECK(um_central_class_bytes(mine, i) == m0 + KMIX * cs, "main central +%d chunks: %zu -> %zu", KMIX, m0,
            um_central_class_bytes(mine, i));
    U_CHECK(um_central_class_bytes(tarena, i) == t0 + KMIX * cs, "second central +%d chunks: %zu -> %zu",
            KMIX, t0, um_central_class_bytes(tarena, i));
    U_CHECK(count_parked(mine, i, mblk, KMIX) == KMIX, "every main block in the main central cache");
    U_CHECK(count_parked(mine, i, tblk, KMIX) == 0, "no foreign block in the main central cache");
    U_CHECK(count_parked(tarena, i, tblk, KMIX) == KMIX, "every thread block in its arena's central cache");
    U_CHECK(count_parked(tarena, i, mblk, KMIX) == 0, "no main block in the second central cache");
    um_central_check(mine);
    um_central_check(tarena);
    umalloc_check();
    /* and they come back out: the main thread's refills take its own arena's */
    for (int k = 0; k < KMIX; k++) {
        mblk[k] = malloc(200);
        U_CHECK(mblk[k] && chunk_main_arena(mem_to_chunk(mblk[k])), "refill from the own arena");
    }
    for (int k = 0; k < KMIX; k++)
        free(mblk[k]);
    /* with its own arena's class empty, a refill takes the batch parked in
     * the other arena (um_central_steal) instead of carving fresh memory;
     * the chunks keep their arena and go back to its central cache */
    umalloc_thread_flush();
    um_central_drain_class(mine, i);
    U_CHECK(um_central_class_bytes(mine, i) == 0, "main class %zu empty", i);
    size_t tb = um_central_class_bytes(tarena, i);
    void *sblk[KMIX];
    size_t stolen = 0;
    for (int k = 0; k < KMIX; k++) {
        sblk[k] = malloc(200);
        U_CHECK(sblk[k] != NULL, "malloc");
        for (int j = 0; j < KMIX; j++)
            stolen += sblk[k] == tblk[j];
        U_CHECK(um_arena_of(mem_to_chunk(sblk[k])) == tarena, "block %d from the other arena's batch", k);
        memset(sblk[k], 0x77, 200);
    }
    U_CHECK(stolen == KMIX, "%zu of %d blocks are the thread's parked ones", stolen, KMIX);
    U_CHECK(um_central_class_bytes(tarena, i) <= tb - KMIX * cs, "taken from the second central: %zu -> %zu",
            tb, um_central_class_bytes(tarena, i));
    um_central_check(tarena);
    umalloc_check();
    for (int k = 0; k < KMIX; k++)
        free(sblk[k]);
    umalloc_thread_flush();
    U_CHECK(count_parked(tarena, i, sblk, KMIX) == KMIX, "back in their own arena's central cache");
    U_CHECK(count_parked(mine, i, sblk, KMIX) == 0, "none in the main central cache");
    um_central_check(mine);
    um_central_check(tarena);
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&bar);
    umalloc_check();
}

/* ---------------------------------------------------------------- */
/* 6. fork while batches are parked */
static atomic_int stop_churn;

static void *churn_thread(void *arg)
{
    (void)arg;
    void *p[100];
    while (!atomic_load(&stop_churn)) {
        for (int k = 0; k < 100; k++) {
            p[k] = malloc(k & 1 ? 48 : 1000);
            if (p[k])
                memset(p[k], k, 16);
        }
        for (int k = 0; k < 100; k++)
            free(p[k]);
    }
    return NULL;
}

enum { KFORK = 64 };

static int child_work(void **parked, size_t nparked, size_t ci, size_t parked_bytes)
{
    alarm(10); /* a lock left held would hang here */
    int bad = 0;
    if (um_central_class_bytes(&um_main_arena, ci) != parked_bytes)
        bad |= 1;
    um_central_check(&um_main_arena);
    void *q[KFORK];
    size_t from_parked = 0;
    for (int k = 0; k < KFORK; k++) {
        q[k] = malloc(300);
        if (!q[k])
            return 2;
        for (size_t j = 0; j < nparked; j++)
            if (parked[j] == q[k])
                from_parked++;
        memset(q[k], 0x66, 300);
    }
    if (from_parked != KFORK)
        bad |= 4;
    for (int k = 0; k < KFORK; k++)
        for (int j = 0; j < 300; j++)
            if (((unsigned char *)q[k])[j] != 0x66)
                bad |= 8;
    for (int k = 0; k < KFORK; k++)
        free(q[k]);
    /* the sizes the other thread was moving when we forked */
    for (int r = 0; r < 20; r++) {
        void *p[100];
        for (int k = 0; k < 100; k++)
            p[k] = malloc(k & 1 ? 48 : 1000);
        for (int k = 0; k < 100; k++)
            free(p[k]);
    }
    umalloc_thread_flush();
    um_lock_acquire(&um_main_arena.lock);
    um_central_drain(&um_main_arena);
    um_lock_release(&um_main_arena.lock);
    umalloc_check();
    return bad ? 10 + bad : 0;
}

static void test_fork(void)
{
    um_params.purge_decay_ms = -1;
    const size_t cs = request2size(300), ci = tc_slot_of_chunk(cs);
    void *b[KFORK];
    for (int k = 0; k < KFORK; k++)
        b[k] = malloc(300);
    for (int k = 0; k < KFORK; k++)
        free(b[k]);
    umalloc_thread_flush();
    size_t parked = um_central_class_bytes(&um_main_arena, ci);
    U_CHECK(count_parked(&um_main_arena, ci, b, KFORK) == KFORK, "all blocks parked before fork");
    /* the parked set also holds what refills carved beyond the 64 */
    static void *set[1024];
    size_t nset = collect_parked(&um_main_arena, ci, set, 1024);
    U_CHECK(nset * cs == parked && nset >= KFORK, "parked set %zu chunks, %zu bytes", nset, parked);

    atomic_store(&stop_churn, 0);
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, churn_thread, NULL) == 0, "churn thread");
    for (int r = 0; r < 3; r++) {
        usleep(2000);
        fflush(NULL);
        pid_t pid = fork();
        U_CHECK(pid >= 0, "fork");
        if (pid == 0)
            _exit(child_work(set, nset, ci, parked));
        int st = 0;
        U_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        U_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: %s %d", r,
                WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            break;
        /* the parent's batches are untouched by the child */
        U_CHECK(um_central_class_bytes(&um_main_arena, ci) == parked, "parent still has its batches");
        U_CHECK(count_parked(&um_main_arena, ci, b, KFORK) == KFORK, "same chunks");
    }
    atomic_store(&stop_churn, 1);
    pthread_join(t, NULL);
    umalloc_check();
    /* the parent takes them too */
    size_t from_parked = 0;
    void *q[KFORK];
    for (int k = 0; k < KFORK; k++) {
        q[k] = malloc(300);
        for (size_t j = 0; j < nset; j++)
            if (q[k] == set[j])
                from_parked++;
    }
    U_CHECK(from_parked == KFORK, "parent refilled from its parked batches: %zu", from_parked);
    for (int k = 0; k < KFORK; k++)
        free(q[k]);
    umalloc_check();
}

/* ---------------------------------------------------------------- */
/* 7. set-up writes only classes that are not at rest (all zeros): an
 * arena's central cache starts in zero-filled memory, and the classes a
 * program never uses must not be written (before, every class was: 8 KiB
 * per arena). Writes are caught by page protection: the cache lies in pages
 * that are read-only except where a write is allowed, and set-up runs with
 * a SIGSEGV handler that jumps back out. (This test read smaps' Rss
 * before, which assumed that a read of an untouched anonymous page maps the
 * shared zero page. Some kernels give such a read a private page, so there
 * Rss cannot tell a read from a write: seen on 6.18.44-fc-v1252, where
 * reading 1,000 untouched pages raised RSS by 1,016 pages.) */
static sigjmp_buf init_jmp;
static void init_segv(int sig)
{
    (void)sig;
    siglongjmp(init_jmp, 1);
}

/* um_central_init(c); 1 if it wrote to a read-only page. */
static int init_faults(struct central *c)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = init_segv;
    sigemptyset(&sa.sa_mask);
    U_CHECK(sigaction(SIGSEGV, &sa, &old) == 0, "sigaction");
    volatile int faulted = 0;
    if (sigsetjmp(init_jmp, 1) == 0)
        um_central_init(c);
    else
        faulted = 1;
    U_CHECK(sigaction(SIGSEGV, &old, NULL) == 0, "sigaction");
    return faulted;
}

/* Give the pages holding class k protection prot. */
static void protect_class(struct central *c, size_t k, int prot)
{
    uintptr_t lo = (uintptr_t)&c->cls[k] & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)(&c->cls[k] + 1) + 4095) & ~(uintptr_t)4095;
    U_CHECK(mprotect((void *)lo, hi - lo, prot) == 0, "mprotect");
}

static void test_init_untouched(void)
{
    size_t len = (sizeof(struct central) + 4095) & ~(size_t)4095;
    char *g = mmap(NULL, len + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    U_CHECK(g != MAP_FAILED, "mmap");
    struct central *c = (struct central *)(g + 4096);
    U_CHECK(mprotect(c, len, PROT_READ) == 0, "mprotect");
    U_CHECK(!init_faults(c), "set-up of a zero-filled central cache wrote to it");
    /* a class left over (say, memory reused) is cleared, and only its pages
     * are written */
    const size_t last = CC_AT(TC_SLOTS - 1, 0), first = CC_AT(2, 0);
    struct cclass *k = &c->cls[last];
    protect_class(c, last, PROT_READ | PROT_WRITE);
    k->bytes = 4096;
    k->grown = 123;
    k->tick_ms = 7;
    U_CHECK(!init_faults(c), "set-up wrote outside the one class not at rest");
    U_CHECK(k->bytes == 0 && k->grown == 0 && k->tick_ms == 0 && k->batches == NULL,
            "a class not at rest is cleared");
    U_CHECK(c->cls[first].bytes == 0 && c->cls[first].grown == 0, "the others stay at rest");
    /* the probe itself: a class not at rest in a read-only page must fault
     * (else the checks above could not fail) */
    protect_class(c, first, PROT_READ | PROT_WRITE);
    c->cls[first].grown = 5;
    protect_class(c, first, PROT_READ);
    U_CHECK(init_faults(c), "clearing a class in a read-only page did not fault");
    munmap(g, len + 8192);
}

/* ---------------------------------------------------------------- */
/* 9. shards: one per CPU, a take that finds its own empty takes another's,
 * a miss makes room in every shard, and everything that walks the cache
 * (totals, check, drain, fork) sees every shard */

extern const unsigned int __rseq_size __attribute__((weak));


/* Mark the KiB grains around a run of n chunks of cs bytes (ascending) as
 * the calling CPU's, as if a bigger run had been carved there. */
static void mark_mine(void **mem, size_t n, size_t cs)
{
    uintptr_t lo = ((uintptr_t)mem[0] - CHUNK_HDR) & ~(uintptr_t)1023;
    uintptr_t hi = ((uintptr_t)mem[n - 1] + cs + 1023) & ~(uintptr_t)1023;
    um_central_mark_home((void *)lo, hi - lo);
}

static void test_shards(void)
{
    cpu_set_t all;
    U_CHECK(sched_getaffinity(0, sizeof all, &all) == 0, "sched_getaffinity");
    if (um_cc_mask == 0 || !CPU_ISSET(0, &all) || !CPU_ISSET(1, &all) || !&__rseq_size ||
        __rseq_size == 0) {
        /* one CPU, CPUs 0 and 1 not ours, or no rseq area (valgrind): the
         * CPU is not known, and every thread uses shard 0 */
        printf("# shards: not tested (mask %u, %ld CPUs, rseq %u)\n", um_cc_mask,
               sysconf(_SC_NPROCESSORS_ONLN), &__rseq_size ? __rseq_size : 0);
        return;
    }
    U_CHECK(unit_pin(1) && unit_pin(0), "the shard follows the CPU");
    arena *av = private_arena(98);
    const size_t i = 5, cs = tc_slot_size(i), per = 4;
    struct cclass *k0 = cls(av, i), *k1 = &av->central->cls[CC_AT(i, 1)];
    void *mem[4][4], *head[4];
    for (int b = 0; b < 4; b++) {
        carve(av, cs, per, mem[b]);
        head[b] = link_chain(mem[b], per);
    }
    U_CHECK(unit_pin(0), "on CPU 0");
    um_central_give(av, i, head[0], per, 0);
    U_CHECK(unit_pin(1), "on CPU 1");
    um_central_give(av, i, head[1], per, 0);
    U_CHECK(k0->bytes == per * cs && k0->batches == head[0], "CPU 0's give in shard 0");
    U_CHECK(k1->bytes == per * cs && k1->batches == head[1], "CPU 1's give in shard 1");
    U_CHECK(um_central_class_bytes(av, i) == 2 * per * cs && um_arena_central_bytes(av) == 2 * per * cs &&
                um_arena_central_count(av) == 2 * per,
            "totals count both shards");
    um_central_check(av);

    /* (the gives sampled whatever marks the memory had: the batches' runs,
     * 320 bytes each, cover no whole KiB and left none of their own) */
    /* a run carved on CPU 0 marks the KiB grains it covers whole with
     * shard 0 (as 1), and leaves the partly covered ones alone */
    void *big[64];
    U_CHECK(unit_pin(0), "on CPU 0");
    carve(av, cs, 64, big);
    U_CHECK(um_central_home(big[32]) == 1, "a grain inside a run carved on CPU 0: shard 0's");
    U_CHECK(unit_pin(1), "on CPU 1");
    carve(av, cs, 64, big);
    U_CHECK(um_central_home(big[32]) == 2, "one carved on CPU 1: shard 1's");
    /* the test's batches as if carved on CPU 0 in bigger runs */
    U_CHECK(unit_pin(0), "on CPU 0");
    for (int b = 0; b < 4; b++) {
        mark_mine(mem[b], per, cs);
        U_CHECK(um_central_home(mem[b][0]) == 1 && um_central_home(mem[b][per - 1]) == 1,
                "batch %d's memory marked as shard 0's", b);
    }
    /* a give on CPU 1 of shard 0's memory is a remote free: REMOTE_HIT,
     * not enough to open the class; a give on CPU 0 of it is local */
    size_t n = 0;
    U_CHECK(unit_pin(0), "on CPU 0");
    U_CHECK(um_central_take(av, i, &n, 8) == head[0] && n == per, "take back CPU 0's batch");
    um_central_give(av, i, head[0], per, 0);
    U_CHECK(k0->remote == 0, "a give of the CPU's own memory is no remote free (%u)",
            (unsigned)k0->remote);
    U_CHECK(unit_pin(1), "on CPU 1");
    U_CHECK(um_central_take(av, i, &n, 8) == head[1] && n == per, "take back CPU 1's batch");
    unsigned r1 = k1->remote;
    um_central_give(av, i, head[1], per, 0);
    U_CHECK(k1->remote == (r1 + REMOTE_HIT_T > REMOTE_MAX_T ? REMOTE_MAX_T : r1 + REMOTE_HIT_T),
            "a give of another CPU's memory counts as remote (%u after %u)", (unsigned)k1->remote,
            r1);
    U_CHECK(REMOTE_HIT_T < REMOTE_OPEN_T, "one such give does not open a class");

    /* fork with batches in both shards: every shard's lock is taken and
     * given back, and the child takes from both (one thread: every shard
     * is open to it) */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        size_t n = 0;
        int ok = unit_pin(1) && um_central_take(av, i, &n, 8) == head[1] && n == per &&
                 (!um_single_threaded() ||
                  (um_central_take(av, i, &n, 8) == head[0] && n == per));
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    U_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the child took the shards' batches");

    /* the process has threads (test_mixed started some): own shard first,
     * and another shard's only when its class is open; a miss makes room
     * in its own shard and in the open ones */
    U_CHECK(!um_single_threaded(), "threads were started before this test");
    size_t g0 = k0->grown, g1 = k1->grown;
    U_CHECK(unit_pin(1), "on CPU 1");
    U_CHECK(um_central_take(av, i, &n, 8) == head[1] && n == per, "own shard's batch first");
    U_CHECK(um_central_take(av, i, &n, 8) == NULL && n == 0,
            "a closed shard's batch stays with its CPU");
    U_CHECK(k0->batches == head[0] && k1->grown == g1 + 8 * cs && k0->grown == g0,
            "the miss made room in the own shard only");
    /* a consumer's give (a slot its thread never refilled) opens shard 0 */
    U_CHECK(unit_pin(0), "on CPU 0");
    void *cm[4];
    carve(av, cs, per, cm);
    mark_mine(cm, per, cs);
    void *ch = link_chain(cm, per);
    um_central_give(av, i, ch, per, 1);
    U_CHECK(k0->remote == REMOTE_MAX_T, "a consumer's give opens the class");
    U_CHECK(unit_pin(1), "on CPU 1");
    g0 = k0->grown;
    g1 = k1->grown;
    U_CHECK(um_central_take(av, i, &n, 8) == ch && n == per, "an open shard's batch is taken");
    U_CHECK(um_central_take(av, i, &n, 8) == head[0] && n == per, "and the one below it");
    expect_chain(head[0], mem[0], per, "batch taken from the other shard");
    U_CHECK(um_central_take(av, i, &n, 8) == NULL && n == 0, "then a miss");
    U_CHECK(k1->grown == g1 + 8 * cs && k0->grown == g0 + 8 * cs,
            "the miss made room in both shards");
    /* gives of a shard's own memory close it again, one step each */
    U_CHECK(unit_pin(0), "on CPU 0");
    for (unsigned r = REMOTE_MAX_T; r >= REMOTE_OPEN_T; r--) {
        um_central_give(av, i, ch, per, 0);
        U_CHECK(k0->remote == r - 1, "a local give lowers the count (%u)", (unsigned)k0->remote);
        if (r > REMOTE_OPEN_T)
            U_CHECK(um_central_take(av, i, &n, 8) == ch, "take it back");
    }
    U_CHECK(unit_pin(1), "on CPU 1");
    U_CHECK(um_central_take(av, i, &n, 8) == NULL, "closed again");
    U_CHECK(unit_pin(0), "on CPU 0");
    U_CHECK(um_central_take(av, i, &n, 8) == ch, "its own CPU takes it");
    um_lock_acquire(&av->lock);
    for (int k = 0; k < per; k++) {
        ((void **)cm[k])[1] = NULL;
        um_int_free(av, mem_to_chunk(cm[k]), cs, "free");
    }
    um_lock_release(&av->lock);

    /* drain and check walk both shards */
    U_CHECK(unit_pin(0), "on CPU 0");
    um_central_give(av, i, head[2], per, 0);
    U_CHECK(unit_pin(1), "on CPU 1");
    um_central_give(av, i, head[3], per, 0);
    um_central_check(av);
    size_t free0 = arena_free_bytes(av);
    um_central_drain_class(av, i);
    U_CHECK(k0->bytes == 0 && k1->bytes == 0 && k0->batches == NULL && k1->batches == NULL,
            "drain empties both shards");
    U_CHECK(arena_free_bytes(av) == free0 + 2 * per * cs, "both shards' chunks went to the bins");
    um_central_check(av);
    U_CHECK(sched_setaffinity(0, sizeof all, &all) == 0, "affinity restored");
}

/* ---------------------------------------------------------------- */
/* 10. the grow path's drain once the process has threads
 * (um_central_drain_idle): with another CPU's shard in use, only the
 * classes that no take or give touched for a whole epoch (epochs begin at
 * these calls, 10 ms apart at least) go to the bins, and those that other
 * CPUs' frees reach; with no other shard in use, all of them */
static size_t drain_idle(arena *av)
{
    um_lock_acquire(&av->lock);
    size_t got = um_central_drain_idle(av);
    um_lock_release(&av->lock);
    return got;
}

/* A take and a give back on class i (a miss when it is empty): the class,
 * and its shard, are in use now. */
static void touch(arena *av, size_t i)
{
    size_t n = 0;
    void *b = um_central_take(av, i, &n, 1);
    if (b)
        um_central_give(av, i, b, n, 0);
}

static void test_drain_idle(int two_cpus)
{
    arena *av = private_arena(97);
    const size_t i1 = 6, i2 = 7, i3 = 8, c1 = tc_slot_size(i1), c2 = tc_slot_size(i2),
                 c3 = tc_slot_size(i3), per = 8;
    void *m1[8], *m2[8], *m3[8];
    U_CHECK(!two_cpus || unit_pin(0), "on CPU 0");
    carve(av, c1, per, m1);
    carve(av, c2, per, m2);
    carve(av, c3, per, m3);
    void *h1 = link_chain(m1, per);
    um_central_give(av, i1, h1, per, 0);
    um_central_give(av, i2, link_chain(m2, per), per, 0);
    size_t free0 = arena_free_bytes(av);
    if (!two_cpus) { /* one shard (or CPU 1 not ours): no other CPU to keep apart from */
        U_CHECK(drain_idle(av) == per * (c1 + c2), "no other shard in use: everything drained");
        U_CHECK(arena_free_bytes(av) == free0 + per * (c1 + c2), "all of it in the bins");
        um_central_check(av);
        return;
    }
    /* CPU 1's shard in use: busy classes stay, an idle one goes after an epoch */
    U_CHECK(unit_pin(1), "on CPU 1");
    touch(av, i1);
    U_CHECK(unit_pin(0), "on CPU 0");
    U_CHECK(drain_idle(av) == 0, "every class used lately: none drained");
    for (int r = 0; r < 4 && cls(av, i2)->batches; r++) {
        U_CHECK(unit_pin(1), "on CPU 1");
        touch(av, i1);
        U_CHECK(unit_pin(0), "on CPU 0");
        touch(av, i1);
        usleep(20 * 1000);
        drain_idle(av);
        U_CHECK(cls(av, i1)->batches == h1, "the busy class keeps its batch");
    }
    U_CHECK(cls(av, i2)->bytes == 0 && cls(av, i2)->batches == NULL, "the idle class drained");
    U_CHECK(arena_free_bytes(av) == free0 + per * c2, "its chunks went to the bins");
    um_central_check(av);
    /* a class other CPUs' frees reach goes even when busy (a consumer's give) */
    U_CHECK(unit_pin(1), "on CPU 1");
    touch(av, i1);
    U_CHECK(unit_pin(0), "on CPU 0");
    um_central_give(av, i3, link_chain(m3, per), per, 1);
    touch(av, i1);
    U_CHECK(drain_idle(av) == per * c3 && cls(av, i3)->batches == NULL,
            "a class reached by other CPUs' frees drained at once");
    U_CHECK(cls(av, i1)->batches == h1, "the busy one still kept");
    /* CPU 1's shard unused for an epoch: everything goes, busy or not */
    for (int r = 0; r < 4 && cls(av, i1)->batches; r++) {
        touch(av, i1);
        usleep(20 * 1000);
        drain_idle(av);
    }
    U_CHECK(cls(av, i1)->batches == NULL, "no other CPU in use: the busy class drained too");
    U_CHECK(arena_free_bytes(av) == free0 + per * (c1 + c2 + c3), "all of it in the bins");
    U_CHECK(drain_idle(av) == 0, "nothing left");
    um_central_check(av);
}

/* 11. the grow path's last resort: once the process has threads, a heap
 * that cannot grow gets every parked chunk, busy classes too, before the
 * call fails (int_malloc_walk; the drain before growth leaves the busy
 * classes alone, so without it the request below fails). The heap may not
 * grow: RLIMIT_DATA is set to what is mapped writable now. */
static size_t vm_data_bytes(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *v = strstr(buf, "VmData:");
    return v ? (size_t)strtoul(v + 7, NULL, 10) << 10 : 0;
}

static void test_oom_drain(void)
{
    arena *av = private_arena(98);
    const size_t i = TC_MED_FIRST + 8, cs = tc_slot_size(i), per = 16;
    void *m[16];
    U_CHECK(unit_pin(0), "on CPU 0");
    carve(av, cs, per, m); /* side by side, just below top */
    um_central_give(av, i, link_chain(m, per), per, 0);
    U_CHECK(unit_pin(1), "on CPU 1");
    touch(av, i); /* CPU 1's shard in use */
    U_CHECK(unit_pin(0), "on CPU 0");
    touch(av, i); /* the class busy on CPU 0 */
    U_CHECK(cls(av, i)->bytes == per * cs, "the chunks parked");
    size_t top = chunksize(av->top), want = top + per * cs / 2;
    U_CHECK(drain_idle(av) == 0, "a busy class: the drain before growth leaves it");
    touch(av, i);
    size_t data = vm_data_bytes();
    struct rlimit old, low;
    U_CHECK(data != 0 && getrlimit(RLIMIT_DATA, &old) == 0, "RLIMIT_DATA");
    low = old;
    low.rlim_cur = data;
    U_CHECK(setrlimit(RLIMIT_DATA, &low) == 0, "RLIMIT_DATA lowered");
    um_lock_acquire(&av->lock);
    void *p = um_int_malloc(av, want);
    um_lock_release(&av->lock);
    U_CHECK(setrlimit(RLIMIT_DATA, &old) == 0, "RLIMIT_DATA restored");
    U_CHECK(p != NULL, "%zu bytes with %zu in top and %zu parked: served", want, top, per * cs);
    U_CHECK(cls(av, i)->batches == NULL && cls(av, i)->bytes == 0, "the busy class drained");
    /* and a request no drain can serve still fails, with nothing left parked */
    U_CHECK(setrlimit(RLIMIT_DATA, &low) == 0, "RLIMIT_DATA lowered");
    um_lock_acquire(&av->lock);
    void *q = um_int_malloc(av, (size_t)8 << 20);
    um_lock_release(&av->lock);
    U_CHECK(setrlimit(RLIMIT_DATA, &old) == 0, "RLIMIT_DATA restored");
    U_CHECK(q == NULL, "8 MiB past the limit: NULL");
    um_central_check(av);
}

int main(void)
{
    void *volatile first = malloc(100); /* initialise the library and the main heap */
    U_CHECK(first != NULL && um_main_arena.top != NULL, "main arena set up");
    free(first);
    U_CHECK(mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1, "no automatic trim");
    long decay0 = um_params.purge_decay_ms;
    /* the tests before test_shards inspect one shard: the thread stays on
     * one CPU, whose shard every call uses */
    cpu_set_t all, one;
    U_CHECK(sched_getaffinity(0, sizeof all, &all) == 0, "sched_getaffinity");
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &one);
            break;
        }
    U_CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "sched_setaffinity");
    test_batches();
    test_capacity();
    test_park_one();
    test_decay();
    test_tick_nested();
    test_drain();
    test_mixed();
    test_fork();
    test_init_untouched();
    U_CHECK(sched_setaffinity(0, sizeof all, &all) == 0, "sched_setaffinity");
    test_shards();
    int two_cpus = um_cc_mask != 0 && CPU_ISSET(0, &all) && CPU_ISSET(1, &all) && &__rseq_size &&
                   __rseq_size != 0;
    test_drain_idle(two_cpus);
    if (two_cpus)
        test_oom_drain();
    U_CHECK(sched_setaffinity(0, sizeof all, &all) == 0, "affinity restored");
    um_params.purge_decay_ms = decay0;
    umalloc_check();
    return U_DONE();
}
