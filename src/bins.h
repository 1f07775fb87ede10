/*
 * bins.h — the bins layer: which bin a size belongs to, the bin lists, and
 * the binmap that lets malloc skip empty bins.
 *
 * 128 bins, as the seeds count them: bin 0 unused, bin 1 the unsorted bin,
 * bins 2..63 small (one chunk size each, 16 bytes apart: 32 .. 1008), bins
 * 64..126 large (size ranges growing geometrically, kept sorted by size,
 * largest first, with an fd_nextsize/bk_nextsize skip list over the distinct
 * sizes). Fast bins are separate: singly linked, LIFO, one size each, their
 * chunks stay marked in use so nothing coalesces with them until
 * um_consolidate() runs.
 *
 * A bin head is stored as two pointers (fd, bk) in arena.bins; bin_at()
 * returns a fake chunk whose fd/bk fields land exactly on them, so list code
 * treats heads and chunks alike. Only fd/bk of a head may ever be touched.
 */
#ifndef UM_BINS_H
#define UM_BINS_H

#include "internal.h"

static inline chunk *bin_at(arena *av, unsigned i)
{
    return (chunk *)((char *)&av->bins[(i - 1) * 2] - offsetof(chunk, fd));
}
static inline chunk *unsorted_chunks(arena *av) { return bin_at(av, 1); }
static inline int bin_empty(arena *av, unsigned i) { return bin_at(av, i)->fd == bin_at(av, i); }

static inline int in_smallbin_range(size_t sz) { return sz < MIN_LARGE_SIZE; }
static inline unsigned smallbin_index(size_t sz) { return (unsigned)(sz >> 4); }

/*
 * Large bins on 64-bit: 33 bins 64 B apart up to 3 KiB, then 15 bins 512 B
 * apart, 9 bins 4 KiB apart, 3 bins 32 KiB apart, 2 bins 256 KiB apart, and
 * one bin for everything larger. Each step halves the bin count and grows the
 * spacing eightfold, so the bin count stays small and the relative spread of
 * a bin stays bounded.
 */
static inline unsigned largebin_index(size_t sz)
{
    if ((sz >> 6) <= 48)
        return 48 + (unsigned)(sz >> 6);
    if ((sz >> 9) <= 20)
        return 91 + (unsigned)(sz >> 9);
    if ((sz >> 12) <= 10)
        return 110 + (unsigned)(sz >> 12);
    if ((sz >> 15) <= 4)
        return 119 + (unsigned)(sz >> 15);
    if ((sz >> 18) <= 2)
        return 124 + (unsigned)(sz >> 18);
    return 126;
}
static inline unsigned bin_index(size_t sz)
{
    return in_smallbin_range(sz) ? smallbin_index(sz) : largebin_index(sz);
}

/* Fast bins: index by chunk size. */
static inline unsigned fastbin_index(size_t sz) { return (unsigned)(sz >> 4) - 2; }
static inline size_t fastbin_size(unsigned i) { return ((size_t)i + 2) << 4; }

/* The chunk after p in its fast bin, checked before anyone follows it (a
 * use after free may have written over the link). */
static inline chunk *fastbin_next(const chunk *p, const char *fn)
{
    chunk *n = link_reveal(p->fd);
    if (unlikely(!link_ok(n)))
        um_fatal(fn, "corrupted fast bin link in", chunk_to_mem((chunk *)p), 0);
    return n;
}

/*
 * A bin link (fd, bk, fd_nextsize, bk_nextsize) read from a free chunk lies
 * in memory the program owned until it freed the chunk: a write after free
 * into the block's first words (zeroing it, a stale "p->next = NULL")
 * replaces it. Before anyone follows such a link it must name one of av's
 * bin heads or a chunk whose first `need` bytes lie inside one of av's
 * heaps; then the usual checks (fd->bk == p, ...) can read what it names.
 * Without this, such a write ended the next malloc that reached the chunk,
 * or umalloc_check(), in SIGSEGV with no message (glibc too). The links in
 * a bin head (arena memory) are umalloc's own and are not checked.
 */
#define BIN_LINK_SMALL MINSIZE                                    /* fd, bk */
#define BIN_LINK_LARGE (offsetof(chunk, bk_nextsize) + sizeof(chunk *)) /* + skip list */
static inline int bin_link_ok(arena *av, const chunk *q, size_t need)
{
    uintptr_t off = (uintptr_t)q - (uintptr_t)bin_at(av, 1);
    if (off < (uintptr_t)(NBINS - 1) * 2 * sizeof(chunk *)) /* a bin head */
        return (off & (2 * sizeof(chunk *) - 1)) == 0;
    return ((uintptr_t)q & ALIGN_MASK) == 0 && um_owner_holds(av, (chunk *)q, need);
}
/* Link q, read from chunk `in`, checked (fn names the call that found it). */
static inline chunk *bin_link(arena *av, chunk *q, size_t need, const chunk *in, const char *fn)
{
    if (unlikely(!bin_link_ok(av, q, need)))
        um_fatal(fn, "corrupted bin link (a write after free?) in", chunk_to_mem((chunk *)in), 0);
    return q;
}

/* Binmap: one bit per bin, set when the bin may be non-empty. */
static inline unsigned idx2block(unsigned i) { return i >> BINMAPSHIFT; }
static inline unsigned idx2bit(unsigned i) { return 1u << (i & (BITSPERMAP - 1)); }
static inline void mark_bin(arena *av, unsigned i) { av->binmap[idx2block(i)] |= idx2bit(i); }
static inline void unmark_bin(arena *av, unsigned i) { av->binmap[idx2block(i)] &= ~idx2bit(i); }

/* A binned chunk's header decodes and its foot matches it: checked before
 * its size is followed or its links are trusted. */
static inline void bin_chunk_check(chunk *p)
{
    if (unlikely(!hdr_valid(hdr_load(p)))) /* before its size is followed */
        um_fatal("malloc", "corrupted chunk header at", p, 0);
    if (unlikely(chunksize(p) != chunk_at(p, chunksize(p))->prev_size))
        um_fatal("malloc", "corrupted size vs. prev_size at", p, 0);
}

/* Take p off its doubly linked bin list, checking the links first. */
static inline void unlink_chunk(arena *av, chunk *p)
{
    bin_chunk_check(p);
    int large = !in_smallbin_range(chunksize(p));
    /* (a large chunk's fd is read up to its skip-list links below) */
    chunk *fd = bin_link(av, p->fd, large ? BIN_LINK_LARGE : BIN_LINK_SMALL, p, "malloc");
    chunk *bk = bin_link(av, p->bk, BIN_LINK_SMALL, p, "malloc");
    if (unlikely(fd->bk != p || bk->fd != p))
        um_fatal("malloc", "corrupted double-linked list at", p, 0);
    fd->bk = bk;
    bk->fd = fd;
    if (unlikely(av->purge.cursor == p)) /* the purge's sweep must not resume at p */
        av->purge.cursor = NULL;
    if (large && p->fd_nextsize != NULL) {
        bin_link(av, p->fd_nextsize, BIN_LINK_LARGE, p, "malloc");
        bin_link(av, p->bk_nextsize, BIN_LINK_LARGE, p, "malloc");
        if (unlikely(p->fd_nextsize->bk_nextsize != p || p->bk_nextsize->fd_nextsize != p))
            um_fatal("malloc", "corrupted double-linked list (not small) at", p, 0);
        if (fd->fd_nextsize == NULL) {
            /* fd has p's size: it becomes the skip-list node in p's place */
            if (p->fd_nextsize == p) {
                fd->fd_nextsize = fd->bk_nextsize = fd;
            } else {
                fd->fd_nextsize = p->fd_nextsize;
                fd->bk_nextsize = p->bk_nextsize;
                p->fd_nextsize->bk_nextsize = fd;
                p->bk_nextsize->fd_nextsize = fd;
            }
        } else {
            p->fd_nextsize->bk_nextsize = p->bk_nextsize;
            p->bk_nextsize->fd_nextsize = p->fd_nextsize;
        }
    }
}

/* Link p (size bytes) between the unsorted bin's head bck and fwd. */
static inline void unsorted_link_front(chunk *bck, chunk *fwd, chunk *p, size_t size)
{
    p->fd = fwd;
    p->bk = bck;
    if (!in_smallbin_range(size))
        p->fd_nextsize = p->bk_nextsize = NULL;
    bck->fd = p;
    fwd->bk = p;
}

/* Put p at the front of the unsorted bin. */
static inline void unsorted_push(arena *av, chunk *p, size_t size)
{
    chunk *bck = unsorted_chunks(av), *fwd = bck->fd;
    if (unlikely(fwd->bk != bck))
        um_fatal("free", "corrupted unsorted chunks near", p, 0);
    unsorted_link_front(bck, fwd, p, size);
}

/* x, the unsorted bin's first chunk, is being merged into the free chunk p
 * (size bytes) that now contains it (p == x when x is the lower part): p
 * takes x's place at the front of the bin, where unlink_chunk(x) and
 * unsorted_push(p) would leave it, with their checks of x's links and
 * without their other loads and stores. The caller has made
 * bin_chunk_check(x). Neighbours freed one after another in address order
 * (down or up) merge this way: the chunk freed before is the bin's first
 * (free_coalesce). */
static inline void unsorted_head_replace(arena *av, chunk *x, chunk *p, size_t size)
{
    chunk *bck = unsorted_chunks(av);
    chunk *fwd = bin_link(av, x->fd, BIN_LINK_SMALL, x, "malloc");
    /* (bk tested as unlink_chunk does, for its message) */
    if (unlikely(bin_link(av, x->bk, BIN_LINK_SMALL, x, "malloc") != bck || fwd->bk != x))
        um_fatal("malloc", "corrupted double-linked list at", x, 0);
    /* (no purge cursor test, as unlink_chunk has: the sweep's cursor is
     * only ever a chunk of a sorted bin) */
    unsorted_link_front(bck, fwd, p, size);
}

#endif
