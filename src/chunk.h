/*
 * chunk.h — boundary tags: the one chunk format every layer shares.
 *
 *     chunk-> +-----------------------------------------------+
 *             | prev_size: size of the chunk below, if free   |
 *             +-----------------------------------------------+
 *             | size of this chunk (multiple of 16) |F|A|M|P |
 *       mem-> +-----------------------------------------------+
 *             | user data (in use)  /  fd, bk (free)          |
 *             | fd_nextsize, bk_nextsize (free, large bins)   |
 *             .                                               .
 * next chunk->+-----------------------------------------------+
 *             | prev_size = our size while we are free (foot) |
 *             | size of next chunk                  |F|A|M|P=0|
 *
 * P says whether the chunk *below* is in use, so a chunk's own in-use state
 * is the P bit of the chunk above it. An in-use chunk lends the next chunk's
 * prev_size word to the user, hence usable = size - 8. M: the chunk has its
 * own mapping (prev_size holds its offset in that mapping). A: the chunk is
 * in a non-main arena, found by masking its address down to its heap.
 * F (bit 3, free since sizes are multiples of 16; not one of the seeds'
 * bits, and the heap map does not show it): the chunk itself is free in a
 * small, large or unsorted bin, or is top. It says again what the next
 * chunk's P bit says (top excepted, which has no next), in the chunk's own
 * word, so that free() can tell a block that went back to the bins from a
 * live one without reading the next chunk's header: that header is on
 * another cache line, often one the neighbour's owner is writing, and its
 * load depended on the first (bench/relay, larson: docs/performance.md).
 * Chunks that a fast bin or a cache holds count as in use (no F, P set);
 * their second word holds their cache mark (internal.h, um_cache_mark). A
 * chunk merged into the chunk below keeps its old header, now inside the
 * merged chunk's memory, with F set, so a second free through a stale
 * pointer to it is caught too.
 * Invariants: sizes are multiples of 16 and >= MINSIZE (fenceposts excepted),
 * mem is 16-aligned, no two free chunks touch (fast/tcache chunks count as in
 * use), and top is always the last chunk of its heap.
 */
#ifndef UM_CHUNK_H
#define UM_CHUNK_H

#include "types.h"

/* Integer arithmetic: free(NULL) computes mem_to_chunk(NULL) before it
 * knows the pointer is NULL, and pointer arithmetic on NULL is undefined. */
static inline void *chunk_to_mem(chunk *p) { return (void *)((uintptr_t)p + CHUNK_HDR); }
static inline chunk *mem_to_chunk(void *mem) { return (chunk *)((uintptr_t)mem - CHUNK_HDR); }

/*
 * Header integrity. The size word is stored encoded, (raw ^ P) * um_hdr_enc
 * for an odd secret multiplier, and decoded by multiplying with its inverse
 * mod 2^64. Every size word we write decodes to a value below 2^48 (chunk
 * sizes are far smaller); a word anyone else wrote — an overflow, a forged
 * header, a stale pointer's garbage — decodes to a value with high bits set,
 * with certainty for any one-byte change (the multiplier is chosen so, see
 * keys_init in malloc.c) and with odds of 2^-16 otherwise. The layout is
 * the seeds' and F: decoded, the word is size | F | A | M | P. P is stored
 * flipped so that free's medium path can test the next header "valid and
 * in use" with one mask, (hdr_flipped(n) & (HDR_HIGH | PREV_INUSE)) == 0.
 * The heap map, the picture and umalloc_check show the decoded words.
 *
 * The size word is read without a lock by free() (its own header; and on
 * the paths past the thread cache's, the P bit of the next chunk, which
 * another thread may rewrite under the arena lock while splitting that
 * chunk; the bit free() needs cannot change). All
 * accesses are relaxed atomics: plain moves on x86, and no data race in the
 * C11 model, so ThreadSanitizer can check the rest.
 */
#define HDR_HIGH (~(((size_t)1 << 48) - 1)) /* never set in a size word we wrote */
extern size_t um_hdr_enc UM_INTERNAL, um_hdr_dec UM_INTERNAL;

/* The stored word, decoded with P still flipped: the fast paths' view. */
static inline size_t hdr_flipped(const chunk *p)
{
    return __atomic_load_n(&p->size, __ATOMIC_RELAXED) * um_hdr_dec;
}
static inline size_t hdr_load(const chunk *p) { return hdr_flipped(p) ^ PREV_INUSE; }
static inline void hdr_store(chunk *p, size_t v)
{
    __atomic_store_n(&p->size, (v ^ PREV_INUSE) * um_hdr_enc, __ATOMIC_RELAXED);
}
/* hdr_load for the walks of a whole heap (check, walk, heap picture, a bad
 * header's neighbour): they step from a header to the next by its size,
 * and a run cut outside the arena lock (arena.c, um_arena_cut) publishes
 * its headers with a release fence before the one a walk reaches first. */
static inline size_t hdr_load_acq(const chunk *p)
{
    return (__atomic_load_n(&p->size, __ATOMIC_ACQUIRE) * um_hdr_dec) ^ PREV_INUSE;
}
/* Was this decoded size word written by us? */
static inline int hdr_valid(size_t v) { return (v & HDR_HIGH) == 0; }

static inline size_t chunksize(const chunk *p) { return hdr_load(p) & ~(size_t)SIZE_BITS; }
static inline int prev_inuse(const chunk *p) { return (int)(hdr_load(p) & PREV_INUSE); }
static inline int chunk_is_mmapped(const chunk *p) { return (hdr_load(p) & IS_MMAPPED) != 0; }
static inline int chunk_main_arena(const chunk *p) { return (hdr_load(p) & NON_MAIN_ARENA) == 0; }

static inline chunk *chunk_at(void *p, size_t off) { return (chunk *)((char *)p + off); }
static inline chunk *next_chunk(chunk *p) { return chunk_at(p, chunksize(p)); }
static inline chunk *prev_chunk(chunk *p) { return (chunk *)((char *)p - p->prev_size); }

/* In-use state of p, read from the P bit of the chunk above. */
static inline int inuse(chunk *p) { return prev_inuse(next_chunk(p)); }
static inline int chunk_free_bit(const chunk *p) { return (hdr_load(p) & CHUNK_FREE) != 0; }
/* p, s bytes, is handed out (or stays) in use: P in the next header, F
 * cleared in its own. */
static inline void set_inuse_at(chunk *p, size_t s)
{
    chunk *n = chunk_at(p, s);
    hdr_store(n, hdr_load(n) | PREV_INUSE);
    hdr_store(p, hdr_load(p) & ~(size_t)CHUNK_FREE);
}
static inline void clear_inuse_at(chunk *p, size_t s)
{
    chunk *n = chunk_at(p, s);
    hdr_store(n, hdr_load(n) & ~(size_t)PREV_INUSE);
}

/* Headers and foot. set_head writes the whole word (callers give F for a
 * free chunk or top); set_head_size keeps p's bits, F included. */
static inline void set_head(chunk *p, size_t s) { hdr_store(p, s); }
static inline void set_head_size(chunk *p, size_t s) { hdr_store(p, (hdr_load(p) & SIZE_BITS) | s); }
static inline void set_foot(chunk *p, size_t s) { chunk_at(p, s)->prev_size = s; }

/* Request bytes to chunk size: header word + alignment, at least MINSIZE. */
static inline size_t request2size(size_t req)
{
    size_t s = (req + SIZE_SZ + ALIGN_MASK) & ~(size_t)ALIGN_MASK;
    return s < MINSIZE ? MINSIZE : s;
}

/* Bytes a user may touch in an in-use chunk. */
static inline size_t chunk_usable(chunk *p)
{
    return chunksize(p) - (chunk_is_mmapped(p) ? CHUNK_HDR + MMAP_TAIL : SIZE_SZ);
}

static inline int aligned_ok(const void *p) { return ((uintptr_t)p & ALIGN_MASK) == 0; }

/* Free-list links: a next pointer stored in freed memory (tcache stacks,
 * central batches, fast bins) is xored with a per-process secret whose high
 * 16 bits are not zero. A link we stored reveals to an aligned address below
 * 2^48 (or NULL); a link someone overwrote — a use after free writing a
 * pointer, a small integer, zeros, text — reveals to a value with high or
 * alignment bits set, and link_ok() catches it before it is followed. One
 * xor each way (cheaper than glibc's address-shifted safe-linking), and a
 * leaked link does not give an attacker a pointer without the key. */
extern uintptr_t um_link_key UM_INTERNAL;
#define LINK_CHECK (HDR_HIGH | ALIGN_MASK)
static inline void *link_protect(const void *p) { return (void *)((uintptr_t)p ^ um_link_key); }
static inline void *link_reveal(const void *v) { return (void *)((uintptr_t)v ^ um_link_key); }
static inline int link_ok(const void *p) { return ((uintptr_t)p & LINK_CHECK) == 0; }

#endif
