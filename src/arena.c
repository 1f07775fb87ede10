/*
 * arena.c — the arena layer: bins + top + lock, and the seeds' algorithms.
 *
 * malloc (um_int_malloc): fast bin → small bin → unsorted scan (last
 * remainder for small requests; exact fits returned; the rest sorted into
 * bins) → best fit in the large bin → next non-empty bin via the binmap →
 * top → consolidate fast bins and retry → grow the heap (int_malloc_walk);
 * a large request that nothing but top could serve is cut from top without
 * the walk (top_only), with the same result.
 * free (um_int_free): small chunks to a fast bin; others coalesce with free
 * neighbours and go to the unsorted bin, or merge into top; a big free
 * consolidates and may trim.
 * Every function here runs with av->lock held unless it says otherwise.
 * Invariant: every free chunk outside fast bins is in exactly one bin list,
 * and its neighbours are in use.
 */
#include <string.h>

#include "bins.h"
#include "purge.h"

#define TLS_IE __attribute__((tls_model("initial-exec")))

static __thread arena *tl_arena TLS_IE;
static __thread unsigned tl_contended TLS_IE;
static __thread int tl_exited TLS_IE; /* past the thread-exit hook */

/* (a field next to top, not a compare with the main arena's address each
 * time: cachegrind bench pairs-1m, 343 -> 335 instructions a pair) */
static size_t abit_of(const arena *av) { return av->abit; }

void um_arena_init(arena *av, int index, struct central *c)
{
    memset(av, 0, sizeof *av);
    av->central = c;
    um_central_init(c);
    for (unsigned i = 1; i < NBINS; i++) {
        chunk *b = bin_at(av, i);
        b->fd = b->bk = b;
    }
    av->index = index;
    av->abit = av == &um_main_arena ? 0 : NON_MAIN_ARENA;
    um_lock_init(&av->lock);
}

/* Spin briefly, then sleep on the futex. errno is preserved: free() must
 * not change it (POSIX 2024, and glibc's promise). */
void um_lock_slow(um_lock *l)
{
    for (int i = 0; i < 64; i++) {
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 && um_trylock(l))
            return;
        um_spin_hint();
    }
    while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
        um_sys(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2);
}

/* Merge p (size bytes, just freed) with free neighbours; bin it or grow top.
 * Returns the size of the merged chunk. Inlined into its callers, as
 * take_exact is into int_malloc_walk: gcc had kept both out of line and
 * split that walk in two, and every arena free and malloc paid the calls
 * (cachegrind bench pairs-1m: 405 -> 359 instructions a pair; the library
 * grows by 11 KB). */
static inline __attribute__((always_inline)) size_t free_coalesce(arena *av, chunk *p, size_t size,
                                                                  const char *fn)
{
    size_t abit = abit_of(av);
    size_t freed = size, ps = 0, ns = 0; /* for the purge: the parts merged */
    /* a neighbour that is the unsorted bin's first chunk: the merged chunk
     * takes its place there (unsorted_head_replace) */
    chunk *head = NULL;
    chunk *next = chunk_at(p, size);
    size_t nextsize = chunksize(next);
    if (!prev_inuse(p)) {
        ps = p->prev_size;
        /* before following it: the foot is the last word of a free block,
         * which a write after free may have replaced; the chunk it names
         * must lie in p's heap (a value within system_mem still reached
         * below the heap: SIGSEGV) */
        if (unlikely(ps < MINSIZE || (ps & ALIGN_MASK) || ps > av->system_mem ||
                     !um_owner_holds(av, (chunk *)((char *)p - ps), ps)))
            um_fatal(fn, "corrupted size vs. prev_size at", p, 0);
        /* p's header is now inside the chunk below: F, so that a stale
         * pointer to it reads "free" (chunk.h) until the merged chunk's
         * links or the program's data overwrite it */
        set_head(p, hdr_load(p) | CHUNK_FREE);
        p = (chunk *)((char *)p - ps);
        if (unlikely(chunksize(p) != ps))
            um_fatal(fn, "corrupted size vs. prev_size at", p, 0);
        if (p == unsorted_chunks(av)->fd) {
            bin_chunk_check(p);
            head = p;
        } else {
            unlink_chunk(av, p);
        }
        av->binned -= ps;
        size += ps;
    }
    if (next != av->top) {
        if (!inuse(next)) {
            if (!head && next == unsorted_chunks(av)->fd) {
                bin_chunk_check(next);
                head = next;
            } else {
                unlink_chunk(av, next);
            }
            ns = nextsize;
            size += nextsize;
        } else {
            clear_inuse_at(next, 0);
        }
        set_head(p, size | PREV_INUSE | abit | CHUNK_FREE);
        set_foot(p, size);
        if (head)
            unsorted_head_replace(av, head, p, size);
        else
            unsorted_push(av, p, size);
        av->binned += freed + ps; /* (next, when merged, was binned already) */
        if (size >= um_pagesize) {
            um_purge_note_free(av, p, size, freed, ps, next, ns);
            if (unlikely(av->purge.emptied || av->binned >= UM_EMPTIED_MIN))
                um_purge_emptied(av, p, size);
        }
    } else {
        if (head) /* (p's header and foot are still those it had in the bin) */
            unlink_chunk(av, head);
        size += nextsize;
        set_head(p, size | PREV_INUSE | abit | CHUNK_FREE);
        set_top(av, p); /* (top's age: sampled at the clock reads, purge.c) */
    }
    return size;
}

/* Empty the fast bins: coalesce each chunk and put it in the unsorted bin. */
void um_consolidate(arena *av)
{
    av->have_fastchunks = 0;
    for (unsigned i = 0; i < NFASTBINS; i++) {
        chunk *p = av->fastbins[i];
        av->fastbins[i] = NULL;
        while (p) {
            /* p is the bin's head or a link fastbin_next checked */
            if (unlikely(fastbin_index(chunksize(p)) != i))
                um_fatal("malloc_consolidate", "invalid chunk size in fastbin at", p, 0);
            chunk *nextp = fastbin_next(p, "malloc_consolidate");
            free_coalesce(av, p, chunksize(p), "malloc_consolidate");
            p = nextp;
        }
    }
}

/* How much of a free chunk of size bytes a request of nb takes: nb, or for
 * a run (run > nb: a thread cache's refill) as many whole nb as the chunk
 * holds, up to run bytes. */
static inline size_t run_take(size_t size, size_t nb, size_t run)
{
    if (run <= nb)
        return nb;
    return size < run ? size - size % nb : run;
}

/* Hand out victim (size bytes) for a request of nb (run: see run_take):
 * split off the excess. */
static void *split_victim(arena *av, chunk *victim, size_t size, size_t nb, size_t run, int remember)
{
    size_t abit = abit_of(av);
    nb = run_take(size, nb, run);
    size_t rsize = size - nb;
    um_purge_handout(av, victim, size, rsize < MINSIZE ? size : nb);
    if (rsize < MINSIZE) {
        av->binned -= size; /* victim was binned */
        set_inuse_at(victim, size);
    } else {
        av->binned -= nb; /* victim was binned, rem is */
        chunk *rem = chunk_at(victim, nb);
        struct um_piv kept = UM_PIV_NONE;
        uint64_t freed_at = 0;
        if (rsize >= um_pagesize) /* before rem's links land on the victim's tag */
            freed_at = um_purge_read(av, victim, size, &kept);
        unsorted_push(av, rem, rsize);
        if (remember)
            av->last_remainder = rem;
        set_head(victim, nb | PREV_INUSE | abit);
        set_head(rem, rsize | PREV_INUSE | abit | CHUNK_FREE);
        set_foot(rem, rsize);
        if (rsize >= um_pagesize)
            um_purge_mark(rem, rsize, kept, freed_at);
    }
    return chunk_to_mem(victim);
}

/* At exit (tcache.c, tc_check_at_exit): top's header still decodes, to at
 * least MINSIZE (top_size's test). A block just below top that the program
 * overran wrote over top's size word; when no malloc reached top after
 * that, the program used to exit as if nothing had happened (glibc only
 * notices when a later malloc of its own, often stdio's, splits top).
 * Under the arena's lock; an arena whose lock is held is skipped (exit()
 * from a signal handler that interrupted a malloc would wait for ever).
 * A single-threaded process takes no lock, and such a handler may have
 * interrupted a change of top: so only the header is tested, which every
 * change writes before av->top names it (split_top, the merges, the heap
 * switches), not whether top still ends its heap, which a growth or trim
 * changes in two stores. */
void um_arena_check_top_at_exit(arena *av)
{
    if (!um_trylock(&av->lock))
        return;
    chunk *top = av->top;
    if (top) {
        size_t w = hdr_load(top);
        if (!hdr_valid(w) || (w & ~(size_t)SIZE_BITS) < MINSIZE)
            um_fatal("exit", "corrupted top size (an overflow of the block below?) at", top, 0);
    }
    um_lock_release(&av->lock);
}

/* Sort a chunk taken off the unsorted bin into its small or large bin. */
static void bin_chunk(arena *av, chunk *victim, size_t size)
{
    unsigned idx;
    chunk *bck, *fwd;
    if (in_smallbin_range(size)) {
        idx = smallbin_index(size);
        bck = bin_at(av, idx);
        fwd = bck->fd;
    } else {
        idx = largebin_index(size);
        bck = bin_at(av, idx);
        fwd = bck->fd;
        if (fwd == bck) {
            victim->fd_nextsize = victim->bk_nextsize = victim;
        } else if (size < chunksize(bck->bk)) {
            /* smaller than everything: append, and link in the skip list */
            /* (the links in chunks are checked before they are followed:
             * bins.h, bin_link) */
            fwd = bck;
            bck = bck->bk;
            victim->fd_nextsize = fwd->fd;
            victim->bk_nextsize = bin_link(av, fwd->fd->bk_nextsize, BIN_LINK_LARGE, fwd->fd, "malloc");
            /* (glibc does not test this one: a write after free that put a
             * live block's address there had the next insert write a heap
             * pointer into that block, the "large bin attack") */
            if (unlikely(victim->bk_nextsize->fd_nextsize != fwd->fd))
                um_fatal("malloc", "corrupted double-linked list (nextsize) at", fwd->fd, 0);
            fwd->fd->bk_nextsize = victim->bk_nextsize->fd_nextsize = victim;
        } else {
            while (size < chunksize(fwd))
                fwd = bin_link(av, fwd->fd_nextsize, BIN_LINK_LARGE, fwd, "malloc");
            if (size == chunksize(fwd)) {
                /* same size as a node: go second, the skip list stays */
                victim->fd_nextsize = victim->bk_nextsize = NULL;
                fwd = bin_link(av, fwd->fd, BIN_LINK_SMALL, fwd, "malloc");
            } else {
                victim->fd_nextsize = fwd;
                victim->bk_nextsize = bin_link(av, fwd->bk_nextsize, BIN_LINK_LARGE, fwd, "malloc");
                if (unlikely(fwd->bk_nextsize->fd_nextsize != fwd))
                    um_fatal("malloc", "corrupted double-linked list (nextsize) at", fwd, 0);
                fwd->bk_nextsize = victim;
                victim->bk_nextsize->fd_nextsize = victim;
            }
            bck = bin_link(av, fwd->bk, BIN_LINK_SMALL, fwd, "malloc");
            if (unlikely(bck->fd != fwd))
                um_fatal("malloc", "corrupted double-linked list (large bin) at", fwd, 0);
        }
    }
    mark_bin(av, idx);
    victim->bk = bck;
    victim->fd = fwd;
    fwd->bk = victim;
    bck->fd = victim;
}

/* A fast or small chunk of exactly nb, if one is at hand. */
static inline __attribute__((always_inline)) chunk *take_exact(arena *av, size_t nb)
{
    if (nb <= RELAXED_LOAD(um_params.max_fast)) {
        unsigned i = fastbin_index(nb);
        chunk *p = av->fastbins[i];
        if (p) {
            if (unlikely(fastbin_index(chunksize(p)) != i))
                um_fatal("malloc", "memory corruption (fast) at", p, 0);
            av->fastbins[i] = fastbin_next(p, "malloc"); /* the head is never a bad link */
            return p;
        }
    }
    if (in_smallbin_range(nb)) {
        chunk *bin = bin_at(av, smallbin_index(nb));
        chunk *victim = bin->bk;
        if (victim != bin) {
            chunk *bck = bin_link(av, victim->bk, BIN_LINK_SMALL, victim, "malloc");
            if (unlikely(bck->fd != victim))
                um_fatal("malloc", "smallbin double linked list corrupted at", victim, 0);
            size_t w = hdr_load(victim); /* an overflow into a free chunk's header */
            if (unlikely(!hdr_valid(w) || (w & ~(size_t)SIZE_BITS) != nb))
                um_fatal("malloc", "corrupted chunk header at", victim, 0);
            set_inuse_at(victim, nb);
            av->binned -= nb;
            bin->bk = bck;
            bck->fd = bin;
            return victim;
        }
    }
    return NULL;
}

static void *int_malloc_walk(arena *av, size_t nb, size_t run);
static void *bins_walk(arena *av, size_t nb, size_t run);

/*
 * Spans: once the process has threads, each CPU's shard (central.c) cuts
 * the runs of the classes it keeps to itself (their frees come from its
 * own memory) from a span of its own: a piece of the arena of up to
 * SPAN_BYTES, the one the seeds' algorithm picks for the whole run (a big
 * hole of the bins, the last remainder, top), kept as one chunk in use and
 * marked cached (the walks count it with the central cache; a free of it
 * is a double free). One CPU's runs then lie side by side in it. A hole
 * of the bins still comes first when it is the CPU's own memory (or of
 * unknown home, or of a CPU that carved nothing for SPAN_BUSY_MS), so
 * freed memory is carved again as before; another CPU's is left to it.
 * Why: cut straight from the one top, the two CPUs' runs alternated in
 * memory (a medium size's run is 1-3 chunks), and every boundary is a line
 * both threads write, as a chunk's header always shares a line with the
 * last bytes of the chunk below; the shards' home marks then saw mixed
 * memory, classes opened to the other CPU and drained, and the drained
 * chunks were carved again by whichever thread missed next. bench/threads'
 * "own" count (mallocs whose block covers a line another thread's block
 * covered last) in `threads 2 uniform`: a median of 5.8 million of 32
 * million before, 0.24 million with spans (5 interleaved runs; mimalloc
 * 0); its CPU time 0.78x (docs/performance.md, "threads-2u, threads-2: the
 * threads' memory mixes over the run", with the variants that cost relay
 * and oneway a third more peak RSS: spans for classes other CPUs' frees
 * reach, holes not carved again). With one thread, one shard, or a class
 * open to other CPUs, runs come straight from the arena as the seeds show.
 * What a span holds goes back into the bins (merged at once) with the
 * central cache's drains (um_central_drain: malloc_trim, an idle arena,
 * the emptied state, fork; um_central_drain_idle, before the heap grows:
 * the spans of CPUs idle for an epoch) and when its CPU cut nothing for
 * the decay time (um_arena_spans_decay); realloc grows the block below a
 * span into it (span_grow_into). Arena lock held throughout.
 */
#define SPAN_BYTES ((size_t)64 << 10)

/* Give shard s's span back to the bins. */
static void span_release(arena *av, size_t s)
{
    chunk *sp = av->span[s];
    if (!sp)
        return;
    size_t size = chunksize(sp);
    RELAXED_STORE(av->span[s], NULL);
    RELAXED_STORE(av->span_bytes, av->span_bytes - size);
    ((void **)chunk_to_mem(sp))[1] = NULL; /* (the cache mark) */
    um_int_free_drain(av, sp, size);
}

/* The spans of the shards in mask (bit s: shard s) back to the bins (the
 * central cache's drains); returns their bytes. */
size_t um_arena_spans_release(arena *av, unsigned mask)
{
    size_t out = 0;
    for (size_t s = 0; s < CC_SHARDS; s++)
        if ((mask >> s & 1) && av->span[s]) {
            out += chunksize(av->span[s]);
            span_release(av, s);
        }
    return out;
}

/* The spans no cut used since now - decay ms, back to the bins. */
void um_arena_spans_decay(arena *av, uint64_t now, long decay)
{
    for (size_t s = 0; s < CC_SHARDS; s++)
        if (av->span[s] && (now < av->span_ms[s] || now - av->span_ms[s] >= (uint64_t)decay))
            span_release(av, s);
}

/* Did shard o cut a run from a span in the last SPAN_BUSY_MS (the purge
 * clock)? */
#define SPAN_BUSY_MS 20
static inline int span_busy(const arena *av, size_t o)
{
    uint64_t now = av->purge.now, t = av->span_ms[o];
    return t != 0 && now >= t && now - t <= SPAN_BUSY_MS;
}

/* taken bytes of shard s's span (size bytes) went to the chunk below
 * rest, its new start: rest becomes the span. */
static inline void span_front_taken(arena *av, size_t s, chunk *rest, size_t size, size_t taken)
{
    set_head(rest, (size - taken) | PREV_INUSE | abit_of(av));
    void **r = chunk_to_mem(rest);
    r[1] = um_cache_mark(r);
    RELAXED_STORE(av->span[s], rest);
    RELAXED_STORE(av->span_bytes, av->span_bytes - taken);
}

/* Does a carve of want chunks of nb come from a span? Not in an emptied
 * arena (purge.c), which parks nothing, so that its free memory coalesces
 * and is purged: a span there was the parked memory that kept the state's
 * drain running at every tick (found in review). */
static inline int span_wanted(arena *av, size_t nb, size_t want)
{
    return RELAXED_LOAD(um_cc_mask) != 0 && want * nb <= SPAN_BYTES / 4 && !um_single_threaded() &&
           !av->purge.emptied && um_central_private(av, nb);
}

/* Is the piece at p, from the bins, memory that shard s may carve: its
 * own, of unknown home, or of a shard that carves no more? */
static inline int span_hole_ok(const arena *av, chunk *p, size_t s)
{
    unsigned home = um_central_home(p);
    return home == 0 || home == s + 1 || !span_busy(av, home - 1);
}

/* The piece for a run of want chunks of nb on this CPU's shard: a hole of
 * the bins in its own memory first (as without spans, so freed memory is
 * carved again), else the front of its span, else a new span (the piece
 * the seeds' algorithm picks for the whole run, up to SPAN_BYTES: a big
 * hole or top). want * nb bytes, or less when the hole or the span's rest
 * holds less (the caller cuts what it gets). NULL: out of memory. */
static void *span_piece(arena *av, size_t nb, size_t want)
{
    size_t s = um_central_shard(), need = want * nb;
    av->span_ms[s] = av->purge.now;
    void *m = bins_walk(av, nb, need);
    if (m) {
        chunk *h = mem_to_chunk(m);
        if (span_hole_ok(av, h, s))
            return m;
        /* another CPU's memory, which its own carves will take: back (a
         * new span below is the seeds' piece for the run, which may be
         * that hole again: the heap does not grow to keep it apart; and
         * the purge counted its pages handed out, so its purged ones are
         * purged again later, a few madvise calls) */
        ((void **)m)[1] = NULL;
        um_int_free_drain(av, h, chunksize(h));
    }
    chunk *sp = av->span[s];
    size_t size = sp ? chunksize(sp) : 0;
    if (size < nb) {
        span_release(av, s); /* (a rest smaller than a chunk, if any) */
        if (!(m = int_malloc_walk(av, need, SPAN_BYTES)))
            return NULL;
        sp = mem_to_chunk(m);
        size = chunksize(sp);
        if (size < need + MINSIZE)
            return m; /* (a hole just the run's size) */
        RELAXED_STORE(av->span[s], sp);
        RELAXED_STORE(av->span_bytes, av->span_bytes + size);
        um_central_mark_home(sp, size);
    } else if (size < need + MINSIZE) {
        /* the rest holds the run or less: all of it */
        RELAXED_STORE(av->span[s], NULL);
        RELAXED_STORE(av->span_bytes, av->span_bytes - size);
        return chunk_to_mem(sp);
    }
    /* the run off the front; the rest stays the span */
    set_head_size(sp, need);
    span_front_taken(av, s, chunk_at(sp, need), size, need);
    return chunk_to_mem(sp);
}

/*
 * A run of fresh chunks for a thread cache, cut from one piece of free memory
 * in a single pass, as a slab allocator would: the first chunk is the
 * caller's malloc, the other want-1 are chained in address order in cache
 * format, so the refill and the pops that follow touch sequential memory.
 * Chunks of exactly nb already in a fast or small bin come first; else the
 * piece is the one the seeds' algorithm picks for nb (last remainder, best
 * fit, top, a grown top), and the run is as long as it holds, up to want:
 * fewer when the piece is a smaller hole (a tail that does not divide stays
 * free). A piece that comes a few bytes larger than asked (a remainder too
 * small to split) gives the excess to the first chunk.
 *
 * In two steps. um_arena_carve, under the arena lock, returns the first
 * chunk's block (NULL when the arena is out of memory) and either the bins'
 * chunks, chained (*chain, *n), or, when the piece holds more than one
 * chunk, the piece's size (*piece): the first chunk then has its own size
 * and the rest of the piece is one chunk in use, which um_arena_cut cuts
 * into the run after the lock is released. The cut writes a header into
 * every chunk of the run, the run's first touch of fresh memory: its page
 * faults (about 2.5 us each here) and cache misses, made under the lock,
 * had every other thread that missed its cache wait behind them
 * (bench/sweep-2: docs/performance.md, "sweep-2: the run cut outside the
 * lock").
 * Why the rest is a chunk of its own before the lock goes: a chunk's
 * header holds the P bit of the chunk below it, which a free of that chunk
 * clears under the lock; the rest's lower neighbour is the caller's first
 * chunk, which um_tcache_get hands to the program only after the cut, so
 * no other thread writes the headers the cut rewrites. And the cut keeps
 * the heap walkable at every step for the walks made under the lock (the
 * debug check, the statistics, the heap map, which the lock does not order
 * with the cut): it writes each chunk's words and then its header, from
 * the end down, and the rest's own header (which until then covers the
 * whole rest) last, after a release fence; the walks step from header to
 * header with acquire loads (chunk.h, hdr_load_acq). A walk sees either
 * one chunk in use or the run, every chunk marked cached (the one chunk
 * too, for the instant between the first run chunk's mark, which shares
 * its word, and that chunk's header: a heap map drawn then counts it as
 * cached).
 */
void *um_arena_carve(arena *av, size_t nb, size_t want, void **chain, size_t *n, size_t *piece)
{
    *chain = NULL;
    *n = 0;
    *piece = 0;
    /* chunks of exactly nb already free (fast or small bin) come first: the
     * heap's free memory is used before top grows */
    chunk *p = take_exact(av, nb);
    if (p) {
        void *next = NULL;
        size_t got = 0;
        chunk *q;
        /* (no home marks: a bin's chunk of the small range covers no whole
         * KiB grain, um_central_mark_home) */
        while (got + 1 < want && (q = take_exact(av, nb)) != NULL) {
            void **e = chunk_to_mem(q);
            e[0] = link_protect(next);
            e[1] = um_cache_mark(e);
            next = e;
            got++;
        }
        *chain = next;
        *n = got;
        ((void **)chunk_to_mem(p))[1] = NULL; /* the cache mark, if p was a fast bin's */
        return chunk_to_mem(p);
    }
    um_purge_tick(av);
    void *m = span_wanted(av, nb, want) ? span_piece(av, nb, want)
                                        : int_malloc_walk(av, nb, want > 1 ? want * nb : 0);
    if (!m)
        return NULL;
    p = mem_to_chunk(m);
    size_t size = chunksize(p);
    ((void **)m)[1] = NULL; /* top's memory may hold an old key */
    want = size / nb; /* a remainder too small to split stays with p */
    if (want > 1) {
        size_t first = size - (want - 1) * nb;
        chunk *rest = chunk_at(p, first);
        set_head_size(p, first);
        set_head(rest, (want - 1) * nb | PREV_INUSE | abit_of(av));
        ((void **)chunk_to_mem(rest))[1] = NULL; /* (no old mark: not cached yet) */
        *piece = size;
    } else {
        um_central_mark_home(p, size);
    }
    return m;
}

/* The second step of a carve (above): block m heads a piece of size bytes
 * whose rest, after m's chunk, is cut into chunks of nb for av, chained
 * (*chain, *n). No lock is held. */
void um_arena_cut(arena *av, void *m, size_t size, size_t nb, void **chain, size_t *n)
{
    chunk *p = mem_to_chunk(m);
    um_central_mark_home(p, size); /* (the CPU whose threads will use the run) */
    size_t want = size / nb, abit = abit_of(av);
    chunk *rest = chunk_at(p, size - (want - 1) * nb);
    /* cut from the end down so each chunk links to the one above it */
    void *next = NULL;
    for (size_t k = want - 1; k > 0; k--) {
        chunk *c = chunk_at(rest, (k - 1) * nb);
        void **e = chunk_to_mem(c);
        e[0] = link_protect(next);
        e[1] = um_cache_mark(e);
        if (k == 1)
            /* the run is in place before the rest's header stops covering
             * it (the walks, above) */
            atomic_thread_fence(memory_order_release);
        set_head(c, nb | PREV_INUSE | abit);
        next = e;
    }
    *chain = next;
    *n = want - 1;
}

/* The checks on victim, the unsorted bin's last chunk (bck: its back link,
 * already checked by bin_link), before its size is believed: glibc's, and
 * the F bit (an overflow from the block below that left a header which
 * still decodes). Returns its size. */
static inline size_t unsorted_checked(arena *av, chunk *victim, chunk *bck)
{
    chunk *unsorted = unsorted_chunks(av);
    size_t w = hdr_load(victim), size = w & ~(size_t)SIZE_BITS;
    if (unlikely(!hdr_valid(w) || !(w & CHUNK_FREE) || size < MINSIZE || size > av->system_mem))
        um_fatal("malloc", "invalid size (unsorted) at", victim, 0);
    chunk *next = chunk_at(victim, size);
    if (unlikely(next->prev_size != size))
        um_fatal("malloc", "mismatching next->prev_size (unsorted) at", victim, 0);
    if (unlikely(bck->fd != victim || victim->fd != unsorted))
        um_fatal("malloc", "corrupted unsorted double-linked list at", victim, 0);
    if (unlikely(prev_inuse(next)))
        um_fatal("malloc", "invalid next->prev_inuse (unsorted) at", victim, 0);
    return size;
}

/* Scan the unsorted bin: return an exact fit or the last remainder's split;
 * everything else is sorted into bins. NULL when nothing was handed out. */
static void *scan_unsorted(arena *av, size_t nb, size_t run)
{
    chunk *unsorted = unsorted_chunks(av);
    chunk *victim;
    int iters = 0;
    while ((victim = unsorted->bk) != unsorted) {
        chunk *bck = bin_link(av, victim->bk, BIN_LINK_SMALL, victim, "malloc");
        size_t size = unsorted_checked(av, victim, bck);

        /* a small request walks down the last remainder, for locality */
        if (in_smallbin_range(nb) && bck == unsorted && victim == av->last_remainder &&
            size > nb + MINSIZE) {
            unsorted->bk = unsorted->fd = unsorted;
            return split_victim(av, victim, size, nb, run, 1);
        }
        unsorted->bk = bck;
        bck->fd = unsorted;
        if (size == nb) {
            um_purge_handout(av, victim, size, size);
            set_inuse_at(victim, size);
            av->binned -= size;
            return chunk_to_mem(victim);
        }
        bin_chunk(av, victim, size);
        if (++iters >= 10000)
            break;
    }
    return NULL;
}

/* Sort up to max chunks off the unsorted bin into their bins (the purge's
 * sweep only walks sorted bins). Returns how many were sorted. */
unsigned um_arena_sort_unsorted(arena *av, unsigned max)
{
    chunk *unsorted = unsorted_chunks(av);
    unsigned n = 0;
    chunk *victim;
    while (n < max && (victim = unsorted->bk) != unsorted) {
        chunk *bck = bin_link(av, victim->bk, BIN_LINK_SMALL, victim, "malloc");
        size_t size = unsorted_checked(av, victim, bck); /* (as scan_unsorted) */
        unsorted->bk = bck;
        bck->fd = unsorted;
        bin_chunk(av, victim, size);
        n++;
    }
    return n;
}

/* Best fit within nb's own large bin (sorted, largest first). */
static void *large_best_fit(arena *av, size_t nb, size_t run)
{
    unsigned idx = largebin_index(nb);
    chunk *bin = bin_at(av, idx);
    chunk *victim = bin->fd;
    if (victim == bin) {
        unmark_bin(av, idx); /* a stale bit: top_only looks at it */
        return NULL;
    }
    if (chunksize(victim) < nb)
        return NULL;
    victim = bin_link(av, victim->bk_nextsize, BIN_LINK_LARGE, victim, "malloc"); /* the smallest size */
    size_t size;
    while ((size = chunksize(victim)) < nb)
        victim = bin_link(av, victim->bk_nextsize, BIN_LINK_LARGE, victim, "malloc");
    /* take a second chunk of that size when there is one: no skip-list rework */
    if (victim != bin->bk && chunksize(bin_link(av, victim->fd, BIN_LINK_SMALL, victim, "malloc")) == size)
        victim = victim->fd;
    unlink_chunk(av, victim);
    return split_victim(av, victim, size, nb, run, 0);
}

/* The smallest chunk in the first non-empty bin above idx, per the binmap. */
static void *binmap_search(arena *av, size_t nb, size_t run, unsigned idx)
{
    for (unsigned i = idx + 1; i < NBINS;) {
        unsigned block = idx2block(i);
        unsigned map = av->binmap[block] & ~(idx2bit(i) - 1);
        if (!map) {
            i = (block + 1) << BINMAPSHIFT;
            continue;
        }
        i = (block << BINMAPSHIFT) + (unsigned)__builtin_ctz(map);
        chunk *bin = bin_at(av, i);
        chunk *victim = bin->bk;
        if (victim == bin) { /* stale bit */
            unmark_bin(av, i);
            i++;
            continue;
        }
        size_t size = chunksize(victim);
        if (unlikely(size < nb))
            um_fatal("malloc", "corrupted bin at", victim, 0);
        unlink_chunk(av, victim);
        return split_victim(av, victim, size, nb, run, in_smallbin_range(nb));
    }
    return NULL;
}

/* Cut take bytes (tsize: top's size, take + MINSIZE at most) off the start
 * of top for a malloc. */
static inline __attribute__((always_inline)) void *split_top(arena *av, chunk *top, size_t tsize,
                                                             size_t take)
{
    /* the new top's header first: av->top never names a word not yet
     * written (the check at exit may run in a signal handler that
     * interrupted this) */
    set_head(chunk_at(top, take), (tsize - take) | PREV_INUSE | abit_of(av) | CHUNK_FREE);
    set_top(av, chunk_at(top, take));
    um_purge_top_rose(av, av->top);
    set_head(top, take | PREV_INUSE | abit_of(av));
    return chunk_to_mem(top);
}

/* A large request (not a run) that only top can serve, cut from top without
 * the walk: nothing is in the fast bins (the walk would consolidate them)
 * or the unsorted bin, and no bin from nb's own up has its binmap bit set.
 * A bit is never missing (bin_chunk sets it) but can be stale: the walk
 * then clears it (large_best_fit for nb's own bin, binmap_search for those
 * above), so one walk restores this path. So the walk would come to top
 * too and cut the same chunk; NULL sends it there. A program that mallocs
 * and frees a block past the cached sizes in a loop (the seeds' trim
 * scenarios, bench pairs-1m) takes this path on every malloc: the walk's
 * ladder and its saved registers had cost that loop 48 instructions a pair
 * (cachegrind bench pairs-1m: 335 -> 287; glibc 302; reading nb's own bin
 * list instead of its bit, as large_best_fit does, cost 9 of those back). */
static inline __attribute__((always_inline)) void *top_only(arena *av, size_t nb)
{
    if (in_smallbin_range(nb) || av->have_fastchunks)
        return NULL;
    chunk *unsorted = unsorted_chunks(av);
    if (unsorted->bk != unsorted)
        return NULL;
    unsigned idx = largebin_index(nb), block = idx2block(idx);
    unsigned any = av->binmap[block] & ~(idx2bit(idx) - 1);
    for (unsigned b = block + 1; b < BINMAPSIZE; b++)
        any |= av->binmap[b];
    chunk *top = av->top;
    if (any || !top)
        return NULL;
    size_t tsize = top_size(av, top);
    if (tsize < nb + MINSIZE)
        return NULL;
    return split_top(av, top, tsize, nb);
}

/* The seeds' malloc (the caller has ticked the purge clock). run > nb asks
 * for a run (a thread cache's refill): the piece found for nb (best fit,
 * last remainder, top) gives up to run bytes of whole nb chunks instead of
 * one (see um_arena_carve). */
static UM_NOINLINE void *int_malloc_walk(arena *av, size_t nb, size_t run)
{
    chunk *p = take_exact(av, nb);
    if (p)
        return chunk_to_mem(p);
    if (!in_smallbin_range(nb) && av->have_fastchunks)
        um_consolidate(av);
    int drained = 0, drained_all = 0;
    for (;;) {
        void *m = scan_unsorted(av, nb, run);
        if (m)
            return m;
        unsigned idx = bin_index(nb);
        if (!in_smallbin_range(nb) && (m = large_best_fit(av, nb, run)))
            return m;
        if ((m = binmap_search(av, nb, run, idx)))
            return m;
        chunk *top = av->top;
        size_t tsize = top ? top_size(av, top) : 0;
        if (tsize >= nb + MINSIZE)
            return split_top(av, top, tsize, run_take(tsize - MINSIZE, nb, run));
        if (av->have_fastchunks) {
            um_consolidate(av);
            continue;
        }
        if (!drained && um_arena_central_bytes(av) >= nb &&
            um_arena_central_bytes(av) >= av->system_mem / 8) {
            /* an eighth of the heap is parked: coalesced, it may well hold
             * what we need (less is not worth losing the batches for). A
             * quarter let bench/trees grow its heap by the 6.3 MB of tree
             * nodes parked during its second list phase (a sixth of the
             * heap then): peak RSS 33.8 MB -> 28.0 with an eighth (glibc
             * 28.6), for 3% more instructions (cachegrind, the coalescing)
             * and 18% fewer page faults; bulk 8.3 -> 7.9 MB, realloc 76 ->
             * 72, the rest within noise (bench/run.py --runs 3, both
             * builds side by side). Once the process has threads, only
             * what no CPU keeps for itself (um_central_drain_idle: idle
             * classes, those other CPUs' frees reach, everything when one
             * CPU alone allocates), so the threads' memory stays apart;
             * once a call: what is left is busy. */
            drained = 1;
            int any = 1;
            if (um_single_threaded())
                um_central_drain(av), drained_all = 1;
            else
                any = um_central_drain_idle(av) != 0;
            if (any) {
                um_consolidate(av);
                continue;
            }
        }
        if (um_grow_top(av, nb) != 0) {
            /* out of memory: every parked chunk, busy or not, before
             * failing, as before threads kept their classes
             * (tests/unit/central.c, section 11: a busy class parked, the
             * heap held by RLIMIT_DATA) */
            if (!drained_all && um_arena_central_bytes(av) != 0) {
                drained = drained_all = 1;
                um_central_drain(av);
                um_consolidate(av);
                continue;
            }
            return NULL;
        }
    }
}

/* int_malloc_walk's search of the bins alone (the fast bins merged first
 * for a large nb, as there): a piece for nb (run: see run_take), or NULL;
 * never top, never a drain or a grow. */
static void *bins_walk(arena *av, size_t nb, size_t run)
{
    if (!in_smallbin_range(nb) && av->have_fastchunks)
        um_consolidate(av);
    void *m = scan_unsorted(av, nb, run);
    if (!m && !in_smallbin_range(nb))
        m = large_best_fit(av, nb, run);
    if (!m)
        m = binmap_search(av, nb, run, bin_index(nb));
    return m;
}

/* A chunk of at least nb bytes from av, for the program or a cache. Its
 * word 1 is cleared: that word may hold the cache mark from the time the
 * memory was cached before (the mark there means "freed", internal.h). */
void *um_int_malloc(arena *av, size_t nb)
{
    um_purge_tick(av);
    void **m = top_only(av, nb);
    if (!m)
        m = int_malloc_walk(av, nb, 0);
    if (m)
        m[1] = NULL;
    return m;
}

/* Free p (size bytes) into av. The caller has checked the pointer belongs to
 * av; the neighbours are checked here. fn names the public caller. With
 * bounded set, the caller (free_large) has checked what its region's
 * bounds tell: p aligned, size a multiple of 16 of at least MINSIZE, the
 * next header inside the region; those tests are not made again
 * (cachegrind bench pairs-1m: 354 -> 343 instructions a pair). */
static inline __attribute__((always_inline)) void int_free(arena *av, chunk *p, size_t size,
                                                          const char *fn, int bounded, int drain)
{
    void *mem = chunk_to_mem(p);
    if (!bounded && unlikely((uintptr_t)p > (uintptr_t)-size || !aligned_ok(p) ||
                             size < MINSIZE || (size & ALIGN_MASK)))
        um_fatal(fn, "invalid pointer", mem, 0);
    chunk *next = chunk_at(p, size);
    size_t nextsize = chunksize(next);
    if (unlikely(nextsize < CHUNK_HDR || nextsize >= av->system_mem))
        um_fatal(fn, "corrupted chunk header at", chunk_to_mem(next), 0);
    int perturb = RELAXED_LOAD(um_params.perturb); /* (mallopt may change it meanwhile) */
    if (perturb)
        memset(mem, perturb, size - CHUNK_HDR);

    if (!drain && size <= RELAXED_LOAD(um_params.max_fast)) {
        unsigned i = fastbin_index(size);
        chunk *old = av->fastbins[i];
        if (unlikely(old == p))
            um_fatal(fn, "double free of", mem, size - SIZE_SZ);
        p->fd = link_protect(old);
        p->bk = um_cache_mark(mem); /* freed: a second free is caught */
        av->fastbins[i] = p;
        av->have_fastchunks = 1;
        return;
    }
    if (unlikely(p == av->top))
        um_fatal(fn, "double free of", mem, 0);
    /* (bounded too: another thread's free of p may have run since) */
    if (unlikely(!prev_inuse(next)))
        um_fatal(fn, "double free of", mem, size - SIZE_SZ);
    if (drain) {
        free_coalesce(av, p, size, fn);
        return;
    }
    um_purge_tick(av);
    size = free_coalesce(av, p, size, fn);
    /* (um_trim_after_free's own first tests, here: most large frees of the
     * main arena leave top below the threshold) */
    if (size >= FASTBIN_CONSOLIDATION_THRESHOLD &&
        (av->have_fastchunks || av != &um_main_arena ||
         (av->top && chunksize(av->top) >= RELAXED_LOAD(um_params.trim_threshold))))
        um_trim_after_free(av);
}

void um_int_free(arena *av, chunk *p, size_t size, const char *fn) { int_free(av, p, size, fn, 0, 0); }
void um_int_free_bounded(arena *av, chunk *p, size_t size) { int_free(av, p, size, "free", 1, 0); }
/* A chunk the central cache drains (um_central_drain), whose every caller
 * consolidates next and then uses, purges or trims the heap: merged with its
 * neighbours at once. Through the fast bins, as um_int_free sends the small
 * ones, each chunk was written there and read back by the consolidation:
 * two passes over memory nobody had touched for a while (bench/trees
 * drains its tree nodes this way each time its lists need the room). No
 * purge tick and no trim per chunk: the caller decides after the drain. */
void um_int_free_drain(arena *av, chunk *p, size_t size) { int_free(av, p, size, "free", 0, 1); }

/* An aligned chunk from av: over-allocate, then give back the slack. One
 * MINSIZE more than the lead needs, so the tail can always be split off:
 * the chunk has exactly nb bytes, a size the thread cache holds when nb is
 * a class (aligned_generic), not nb + 16 (malloc's 1-byte and 24-byte
 * requests came back as 48-byte chunks and went to another stack). */
void *um_int_memalign(arena *av, size_t align, size_t bytes)
{
    size_t nb = request2size(bytes);
    if (nb > MAX_REQUEST - align - 2 * MINSIZE)
        return NULL;
    void *m = um_int_malloc(av, nb + align + 2 * MINSIZE);
    if (!m)
        return NULL;
    chunk *p = mem_to_chunk(m);
    size_t abit = abit_of(av);
    if ((uintptr_t)m % align) {
        char *am = (char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
        chunk *q = mem_to_chunk(am);
        if ((size_t)((char *)q - (char *)p) < MINSIZE)
            q = chunk_at(q, align);
        size_t lead = (size_t)((char *)q - (char *)p);
        size_t newsize = chunksize(p) - lead;
        set_head(q, newsize | PREV_INUSE | abit);
        set_inuse_at(q, newsize);
        set_head_size(p, lead);
        set_inuse_at(p, lead);
        um_int_free(av, p, lead, "memalign");
        p = q;
    }
    size_t size = chunksize(p);
    if (size >= nb + MINSIZE) {
        chunk *rem = chunk_at(p, nb);
        set_head_size(p, nb);
        set_head(rem, (size - nb) | PREV_INUSE | abit);
        set_inuse_at(rem, size - nb);
        um_int_free(av, rem, size - nb, "memalign");
    }
    ((void **)chunk_to_mem(p))[1] = NULL; /* not the cache mark: see um_int_malloc */
    return chunk_to_mem(p);
}

/* realloc's growth of p (oldsize, in use) to nb when the chunk above it,
 * next, is a span: into the span's front, as into top (a block carved
 * last from a span borders its rest, where before it bordered top: an MT
 * program's buffer grown by realloc moved at every step, its old copy
 * freed into the cache: tests/stress/exit_first_free). 1 if it grew. */
static int span_grow_into(arena *av, chunk *p, size_t oldsize, size_t nb, chunk *next)
{
    size_t s = 0;
    while (s < CC_SHARDS && av->span[s] != next)
        s++;
    size_t size = s < CC_SHARDS ? chunksize(next) : 0, grow = nb - oldsize;
    if (size < grow)
        return 0;
    if (size - grow < MINSIZE) { /* all of it */
        RELAXED_STORE(av->span[s], NULL);
        RELAXED_STORE(av->span_bytes, av->span_bytes - size);
        set_head_size(p, oldsize + size);
        return 1;
    }
    set_head_size(p, nb);
    span_front_taken(av, s, chunk_at(p, nb), size, grow);
    return 1;
}

/* Resize p in place to nb: shrink, or grow into a free next chunk, top or
 * a span (span_grow_into).
 * Returns 1 when done, 0 when the caller must move the block. */
int um_int_realloc_inplace(arena *av, chunk *p, size_t oldsize, size_t nb)
{
    size_t abit = abit_of(av);
    size_t size = oldsize;
    chunk *next = chunk_at(p, oldsize);
    if (oldsize < nb) {
        if (next == av->top) {
            size_t tsize = chunksize(next);
            if (oldsize + tsize < nb + MINSIZE) {
                /* top is too small: grow it, and if it grew where it was
                 * (brk, or the arena's heap in place), grow into it. A
                 * moved block would leave its old copy as a hole that the
                 * next, larger growth cannot use: a vector grown step by
                 * step (python's lists: 1.1 -> 6.5 MiB) took 26 MB of heap
                 * against glibc's 19, which merges the same way (a new
                 * chunk carved right after the old one) */
                if (um_grow_top(av, nb - oldsize) != 0 || av->top != next)
                    return 0;
                tsize = chunksize(next);
                if (oldsize + tsize < nb + MINSIZE)
                    return 0;
            }
            if (oldsize + tsize >= nb + um_realloc_headroom(nb) + MINSIZE)
                nb += um_realloc_headroom(nb); /* (see um_realloc_headroom) */
            /* (as split_top) */
            set_head(chunk_at(p, nb), (oldsize + tsize - nb) | PREV_INUSE | abit | CHUNK_FREE);
            set_head_size(p, nb);
            set_top(av, chunk_at(p, nb));
            um_purge_top_rose(av, av->top);
            return 1;
        }
        if (inuse(next))
            return span_grow_into(av, p, oldsize, nb, next);
        if (oldsize + chunksize(next) < nb)
            return 0;
        size = oldsize + chunksize(next);
        /* the headroom too (um_realloc_headroom), or all of it when less
         * than that would be left */
        if (size - nb <= um_realloc_headroom(nb) + MINSIZE)
            nb = size;
        else
            nb += um_realloc_headroom(nb);
        um_purge_handout(av, next, chunksize(next), nb - oldsize); /* (the rest goes back) */
        av->binned -= chunksize(next);
        unlink_chunk(av, next);
        set_head_size(p, size);
        set_inuse_at(p, size);
    }
    if (size - nb >= MINSIZE) {
        chunk *rem = chunk_at(p, nb);
        set_head_size(p, nb);
        set_head(rem, (size - nb) | PREV_INUSE | abit);
        set_inuse_at(rem, size - nb);
        um_int_free(av, rem, size - nb, "realloc");
    }
    return 1;
}

/* ---- arena selection ----
 * A thread starts on the arena with the fewest threads (the main arena in a
 * single-threaded program). The tcache absorbs almost all calls, so arena
 * locks are taken rarely; a thread moves to another arena only after its
 * arena's lock was found busy several times, and a new arena is created only
 * then and only up to the limit (M_ARENA_MAX, default one per two CPUs).
 *
 * Why so few (glibc makes 8 per core, umalloc made 2 per CPU until
 * 2026-12): an arena's lock is taken only to carve fresh chunks or to use
 * the bins; blocks that move between threads go through the per-class locks
 * of the central cache. Every extra arena costs its own top, bins and
 * central cache, and a thread that moved keeps carving fresh memory in the
 * new arena while its old chunks wait in the old one. Measured on the
 * 2-CPU build machine, default (4 arenas) against MALLOC_ARENA_MAX=1, five
 * interleaved runs each, medians of `/usr/bin/time -f '%M %U %S'
 * build/bench/<w>`: peak RSS xchurn 30.6 -> 15.1 MB, server 20.5 -> 14.3,
 * oneway 13.1 -> 7.7, prodcons 5.0 -> 3.2, threads 8 11.7 -> 9.5, churn
 * 4.7 -> 3.7 (prodcons_batch 13.5 -> 15.6 in that run, 12.3 in another);
 * CPU time equal or lower on every one (xchurn -13%, server -15%, oneway
 * -65%; -43% in a second run), though the single arena's lock was found
 * busy on 17% of xchurn's acquisitions (54,772 of 319,925, counted with a
 * temporary counter in um_arena_get). Two arenas (one per CPU) sat in
 * between on both counts.
 * (Those runs predate um_central_steal, which took most of the RSS gap
 * between four arenas and one away, but not the time.) With more CPUs more
 * threads run at once and one lock would serialise them, hence one arena
 * per two CPUs rather than one in all. */

static arena *arena_least_loaded(void)
{
    arena *best = &um_main_arena;
    for (arena *a = um_arena_next(&um_main_arena); a; a = um_arena_next(a))
        if (atomic_load_explicit(&a->attached, memory_order_relaxed) <
            atomic_load_explicit(&best->attached, memory_order_relaxed))
            best = a;
    return best;
}

/* M_ARENA_MAX when set; else one per two CPUs (at least one), or
 * M_ARENA_TEST if that is larger. The CPUs are counted once, as glibc
 * counts them once for its own limit: a thread that waited for an arena's
 * lock asks for an arena every fourth time (um_arena_note_contention), and
 * at the limit each ask asked the kernel again, holding that lock
 * (a producer of 64-512 KiB blocks and the consumer that frees them: 955
 * sched_getaffinity calls in 20,000 blocks, strace -f -c). */
static _Atomic size_t arena_cpus;
static size_t arena_limit(void)
{
    long max = RELAXED_LOAD(um_params.arena_max), test = RELAXED_LOAD(um_params.arena_test);
    if (max > 0)
        return (size_t)max;
    size_t cpus = atomic_load_explicit(&arena_cpus, memory_order_relaxed);
    if (!cpus) {
        cpus = um_os_ncpus();
        atomic_store_explicit(&arena_cpus, cpus, memory_order_relaxed);
    }
    size_t n = (cpus + 1) / 2;
    return n < (size_t)test ? (size_t)test : n;
}

static void arena_switch(arena *to)
{
    arena *from = tl_arena;
    atomic_fetch_add_explicit(&to->attached, 1, memory_order_relaxed);
    if (from)
        atomic_fetch_sub_explicit(&from->attached, 1, memory_order_relaxed);
    tl_arena = to;
}

/* Create a new arena if the limit allows; NULL otherwise. Lock order is
 * um_arenas_lock before any arena lock (fork takes them so): a caller that
 * holds an arena lock passes holding=1 and only tries the list lock. */
static arena *arena_create(int holding)
{
    arena *av = NULL;
    if (holding) {
        if (!um_trylock(&um_arenas_lock))
            return NULL;
    } else {
        um_lock_acquire(&um_arenas_lock);
    }
    int n = atomic_load_explicit(&um_narenas, memory_order_relaxed);
    if ((size_t)n < arena_limit() && (av = um_heap_new_arena(n)) != NULL) {
        arena *last = &um_main_arena;
        while (um_arena_next(last))
            last = um_arena_next(last);
        /* the count first: a thread that finds the new arena in the list
         * must not still read a count of 1 (tc_flush then treats every
         * chunk as the main arena's); a count ahead of the list is harmless */
        atomic_store_explicit(&um_narenas, n + 1, memory_order_relaxed);
        __atomic_store_n(&last->next, av, __ATOMIC_RELEASE);
    }
    um_lock_release(&um_arenas_lock);
    return av;
}

/* Called when taking av's lock had to wait: maybe move this thread. */
void um_arena_note_contention(arena *av)
{
    av->contended++;
    if (++tl_contended < 4 || tl_exited)
        return;
    tl_contended = 0;
    arena *to = NULL;
    for (arena *a = &um_main_arena; a; a = um_arena_next(a))
        if (a != av && atomic_load_explicit(&a->attached, memory_order_relaxed) == 0) {
            to = a;
            break;
        }
    if (!to)
        to = arena_create(1);
    if (!to) {
        arena *l = arena_least_loaded();
        if (atomic_load_explicit(&l->attached, memory_order_relaxed) + 1 <
            atomic_load_explicit(&av->attached, memory_order_relaxed))
            to = l;
    }
    if (to)
        arena_switch(to);
}

/* This thread's arena (not locked). */
arena *um_arena_current(void)
{
    if (unlikely(!tl_arena)) {
        /* another key destructor allocating after our exit hook: use an
         * arena without attaching to it, or its count would never drop */
        if (tl_exited)
            return arena_least_loaded();
        arena_switch(arena_least_loaded());
        /* the exit hook detaches the thread: armed now, not only when a
         * cache is set up, which a thread whose blocks are all too big for
         * it (or that runs while M_PERTURB keeps caches off) never does */
        um_tcache_arm_exit();
    }
    return tl_arena;
}

/* This thread's arena, without attaching one. */
arena *um_arena_peek(void) { return tl_arena; }

/* This thread's arena, locked. */
arena *um_arena_get(void)
{
    arena *av = um_arena_current();
    if (likely(um_trylock(&av->lock)))
        return av;
    um_lock_slow(&av->lock);
    um_arena_note_contention(av);
    return av;
}

void um_arena_release(arena *av) { um_lock_release(&av->lock); }

/* av could not serve a request: another arena, locked (av is unlocked). */
arena *um_arena_retry(arena *av)
{
    arena *other = av == &um_main_arena ? arena_create(0) : &um_main_arena;
    if (!other)
        for (arena *a = &um_main_arena; a && !other; a = um_arena_next(a))
            if (a != av)
                other = a;
    if (other)
        um_lock_acquire(&other->lock);
    return other;
}

void um_arena_thread_detach(void)
{
    arena *av = tl_arena;
    tl_exited = 1;
    if (av) {
        atomic_fetch_sub_explicit(&av->attached, 1, memory_order_relaxed);
        tl_arena = NULL;
    }
}

/* ---- fork ----
 * Multi-threaded: take every lock before fork, release (parent) or reset
 * (child) after, so the child's heap is consistent. Two rules make that
 * safe:
 *  - stdio first. glibc's fork takes the stdio list lock *after* the
 *    prepare handlers; a thread in fflush(NULL) holds that lock and waits
 *    for a FILE whose owner (in getline) waits for an arena lock we would
 *    already hold: a deadlock. So prepare takes the list lock itself first
 *    (it is recursive: fork's own acquisition nests), and the parent
 *    handler drops it again; in the child glibc resets it.
 *  - single-threaded: take nothing, as glibc does, so fork from a signal
 *    handler that interrupted malloc or free does not wait for a lock its
 *    own interrupted frame holds. The child of such a fork sees the heap
 *    as the interrupted call left it (only async-signal-safe calls are
 *    allowed there, as in glibc). glibc's fork makes the same test
 *    (__libc_single_threaded, um_single_threaded), so both agree on which
 *    case this is. */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));

/* Set by prepare once it holds every lock, cleared by the parent/child
 * handler of the same fork: only the thread holding um_arenas_lock touches
 * it (two threads may fork at once; the second waits in prepare). */
static int fork_locked;

void um_fork_prepare(void)
{
    if (!atomic_load_explicit(&um_initialized, memory_order_acquire))
        return;
    if (um_single_threaded())
        return;
    if (_IO_list_lock && _IO_list_unlock)
        _IO_list_lock();
    um_lock_acquire(&um_arenas_lock);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_lock_acquire(&a->lock);
        um_purge_fork_prepare(a); /* (takes and drops class locks) */
        um_central_lock_all(a);
    }
    um_lock_acquire(&um_mmap_lock);
    fork_locked = 1;
}

void um_fork_parent(void)
{
    if (!fork_locked)
        return;
    fork_locked = 0;
    um_lock_release(&um_mmap_lock);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_central_unlock_all(a, 0);
        um_lock_release(&a->lock);
    }
    um_lock_release(&um_arenas_lock);
    if (_IO_list_lock && _IO_list_unlock)
        _IO_list_unlock();
}

void um_fork_child(void)
{
    if (!fork_locked)
        return; /* single-threaded: no lock was taken, none is reset */
    fork_locked = 0;
    um_lock_init(&um_mmap_lock);
    for (arena *a = &um_main_arena; a; a = um_arena_next(a)) {
        um_central_unlock_all(a, 1);
        um_lock_init(&a->lock);
        atomic_store_explicit(&a->attached, 0, memory_order_relaxed);
    }
    um_lock_init(&um_arenas_lock);
    /* the reports' locks are not taken before fork (a picture takes long,
     * and each call starts its drawing state afresh): a thread drawing at
     * the fork held them for good, and the child hung in its own report,
     * the one at exit too (UMALLOC_HEAP_MAP, UMALLOC_SVG) */
    um_lock_init(&um_map_lock);
    um_lock_init(&um_svg_lock);
    if (tl_arena)
        atomic_store_explicit(&tl_arena->attached, 1, memory_order_relaxed);
    um_tcache_reset_after_fork();
    um_purge_fork_child();
    /* the stdio list lock: glibc's fork reset it (multi-threaded case) */
}
