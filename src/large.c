/*
 * large.c — the large layer: chunks with a mapping of their own.
 *
 * A request at or above the mmap threshold gets a private anonymous mapping:
 *     [ mmap_rec 32 B | prev_size = offset | size | M | user data ... ]
 * The chunk runs to the end of the mapping; prev_size holds its offset from
 * the mapping start (larger than 32 only for big alignments).
 * Every live mapped chunk is also in a registry (an open-addressing hash table
 * in its own mapping: chunk address -> mapping base and length), so free()
 * can recognise one — and a second free of an unmapped one — without
 * touching memory that may no longer be mapped, and unmaps exactly what was
 * mapped: a header whose size was overwritten is caught, not trusted.
 * The threshold is dynamic, as in glibc: freeing a mapped chunk larger than
 * the threshold raises it to that size (up to 32 MiB) and the trim threshold
 * to twice that, so a program that repeatedly mallocs and frees 2 MiB stops
 * paying a mmap, a munmap and a page fault per touched page for each request.
 */
#include <string.h>

#include "bins.h"

/* A live mapped chunk: its address (the key), and the mapping it owns. */
struct reg_ent {
    uintptr_t chunk; /* 0 = empty slot */
    uintptr_t base;
    size_t len;
};

static struct {
    struct reg_ent *slot;
    size_t cap, count;  /* cap is a power of two */
    uintptr_t gone[64]; /* recently unmapped chunks, to name a double free */
    unsigned gone_next;
} reg;

static size_t hash_slot(uintptr_t c, size_t cap)
{
    uint64_t h = (uint64_t)c * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static int reg_grow(void)
{
    size_t ncap = reg.cap ? reg.cap * 2 : 256;
    struct reg_ent *ns = um_os_map(ncap * sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < reg.cap; i++) {
        if (!reg.slot[i].chunk)
            continue;
        size_t j = hash_slot(reg.slot[i].chunk, ncap);
        while (ns[j].chunk)
            j = (j + 1) & (ncap - 1);
        ns[j] = reg.slot[i];
    }
    if (reg.slot)
        um_os_unmap(reg.slot, reg.cap * sizeof *reg.slot);
    reg.slot = ns;
    reg.cap = ncap;
    return 0;
}

static int reg_insert(uintptr_t c, uintptr_t base, size_t len)
{
    if ((reg.count + 1) * 2 > reg.cap && reg_grow() != 0)
        return -1;
    size_t j = hash_slot(c, reg.cap);
    while (reg.slot[j].chunk)
        j = (j + 1) & (reg.cap - 1);
    reg.slot[j] = (struct reg_ent){c, base, len};
    reg.count++;
    return 0;
}

static size_t reg_find(uintptr_t c)
{
    if (!reg.cap || !c)
        return (size_t)-1;
    for (size_t j = hash_slot(c, reg.cap);; j = (j + 1) & (reg.cap - 1)) {
        if (reg.slot[j].chunk == c)
            return j;
        if (!reg.slot[j].chunk)
            return (size_t)-1;
    }
}

/* Remove slot j, shifting later members of its probe run back. */
static void reg_remove(size_t j)
{
    size_t mask = reg.cap - 1;
    reg.slot[j].chunk = 0;
    reg.count--;
    for (size_t k = (j + 1) & mask; reg.slot[k].chunk; k = (k + 1) & mask) {
        size_t home = hash_slot(reg.slot[k].chunk, reg.cap);
        /* move k to j if j lies cyclically in [home, k) */
        if (((k - home) & mask) >= ((k - j) & mask)) {
            reg.slot[j] = reg.slot[k];
            reg.slot[k].chunk = 0;
            j = k;
        }
    }
}

/* Is c a live mapped chunk? Safe for any address: reads no user memory. */
int um_mmap_valid(chunk *p)
{
    uintptr_t base;
    size_t len;
    return um_mmap_lookup(p, &base, &len);
}

/* A live mapped chunk's mapping, as recorded when it was made. */
int um_mmap_lookup(chunk *p, uintptr_t *base, size_t *len)
{
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_find((uintptr_t)p);
    int ok = j != (size_t)-1;
    if (ok) {
        *base = reg.slot[j].base;
        *len = reg.slot[j].len;
    }
    um_lock_release(&um_mmap_lock);
    return ok;
}

/* Was c unmapped recently (so a free of it is a double free)? */
static int recently_unmapped(uintptr_t c)
{
    for (unsigned i = 0; i < 64; i++)
        if (reg.gone[i] == c)
            return 1;
    return 0;
}

static size_t page_align(size_t n) { return (n + um_pagesize - 1) & ~(um_pagesize - 1); }

/* A chunk of at least nb bytes (header included) with mem aligned to align. */
void *um_mmap_chunk(size_t nb, size_t align)
{
    if (align < MALLOC_ALIGNMENT)
        align = MALLOC_ALIGNMENT;
    size_t slack = MMAP_HDR + CHUNK_HDR + (align > MALLOC_ALIGNMENT ? align : 0);
    if (nb > MAX_REQUEST - slack)
        return NULL;
    size_t len = page_align(nb + slack);
    char *m = um_os_map(len);
    if (!m)
        return NULL;
    uintptr_t mem = ((uintptr_t)m + MMAP_HDR + CHUNK_HDR + align - 1) & ~(uintptr_t)(align - 1);
    chunk *p = (chunk *)(mem - CHUNK_HDR);
    size_t off = (size_t)((char *)p - m);
    p->prev_size = off;
    set_head(p, (len - off) | IS_MMAPPED);
    struct mmap_rec *rec = (struct mmap_rec *)m;
    rec->magic = um_secret ^ (uintptr_t)m;

    um_lock_acquire(&um_mmap_lock);
    if (reg_insert((uintptr_t)p, (uintptr_t)m, len) != 0) {
        um_lock_release(&um_mmap_lock);
        um_os_unmap(m, len);
        return NULL;
    }
    struct um_mstats *s = &um_mstats;
    RELAXED_STORE(s->n_mmaps, s->n_mmaps + 1);
    s->mmapped_mem += len;
    if (s->n_mmaps > s->max_n_mmaps)
        s->max_n_mmaps = s->n_mmaps;
    if (s->mmapped_mem > s->max_mmapped_mem)
        s->max_mmapped_mem = s->mmapped_mem;
    um_lock_release(&um_mmap_lock);
    return (void *)mem;
}

/* The registry slot of mapped chunk p, with the lock held; aborts (lock
 * released) on a pointer that is not one, or whose header no longer agrees
 * with the mapping recorded for it (an overflow or a forged size). */
static size_t reg_validate(chunk *p, const char *fn)
{
    size_t j = reg_find((uintptr_t)p);
    if (j == (size_t)-1) {
        int dbl = recently_unmapped((uintptr_t)p);
        um_lock_release(&um_mmap_lock);
        if (dbl)
            um_fatal(fn, "double free of", chunk_to_mem(p), 0);
        um_fatal(fn, "invalid pointer", chunk_to_mem(p), 0);
    }
    struct reg_ent *e = &reg.slot[j];
    size_t off = (uintptr_t)p - e->base, head = hdr_load(p);
    if (unlikely(p->prev_size != off || (head & SIZE_BITS) != IS_MMAPPED ||
                 (head & ~(size_t)SIZE_BITS) != e->len - off ||
                 ((struct mmap_rec *)e->base)->magic != (um_secret ^ e->base))) {
        um_lock_release(&um_mmap_lock);
        um_fatal(fn, "corrupted chunk header at", chunk_to_mem(p), 0);
    }
    return j;
}

/* Give a mapped chunk back: the recorded mapping, never what the header
 * says. Aborts on a pointer that is not a live mapped chunk. If the kernel
 * cannot unmap (at vm.max_map_count a split needs a new mapping) the
 * mapping stays, as in glibc, and errno is kept. */
void um_munmap_chunk(chunk *p, const char *fn)
{
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_validate(p, fn);
    uintptr_t base = reg.slot[j].base;
    size_t len = reg.slot[j].len, size = len - ((uintptr_t)p - base);
    reg_remove(j);
    reg.gone[reg.gone_next++ & 63] = (uintptr_t)p;
    RELAXED_STORE(um_mstats.n_mmaps, um_mstats.n_mmaps - 1);
    um_mstats.mmapped_mem -= len;
    um_lock_release(&um_mmap_lock);
    um_dyn_threshold_update(size);
    um_os_unmap((void *)base, len);
}

/* glibc's dynamic threshold: a freed mapped chunk raises the bar to its size. */
void um_dyn_threshold_update(size_t size)
{
    if (!RELAXED_LOAD(um_params.no_dyn_threshold) && size > RELAXED_LOAD(um_params.mmap_threshold) &&
        size <= DEFAULT_MMAP_THRESHOLD_MAX) {
        RELAXED_STORE(um_params.mmap_threshold, size);
        RELAXED_STORE(um_params.trim_threshold, 2 * size);
    }
}

/* Resize a mapped chunk with mremap; NULL if the kernel cannot. */
chunk *um_mremap_chunk(chunk *p, size_t nb)
{
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_validate(p, "realloc");
    uintptr_t base = reg.slot[j].base;
    size_t oldlen = reg.slot[j].len, off = (uintptr_t)p - base;
    /* a mapped chunk has no next chunk whose prev_size it could borrow, so
     * it needs SIZE_SZ more than nb to give the caller nb - SIZE_SZ bytes */
    size_t len = page_align(nb + off + SIZE_SZ);
    if (len == oldlen) {
        um_lock_release(&um_mmap_lock);
        return p;
    }
    char *nm = um_os_remap((void *)base, oldlen, len);
    if (!nm) {
        um_lock_release(&um_mmap_lock);
        return NULL;
    }
    chunk *np = (chunk *)(nm + off);
    set_head(np, (len - off) | IS_MMAPPED);
    ((struct mmap_rec *)nm)->magic = um_secret ^ (uintptr_t)nm;
    reg_remove(j);
    reg_insert((uintptr_t)np, (uintptr_t)nm, len); /* cannot fail: a slot was just freed */
    um_mstats.mmapped_mem += len - oldlen;
    if (um_mstats.mmapped_mem > um_mstats.max_mmapped_mem)
        um_mstats.max_mmapped_mem = um_mstats.mmapped_mem;
    um_lock_release(&um_mmap_lock);
    return np;
}

/* Visit every live mapped chunk (under the mmap lock: fn must not allocate). */
void um_mmap_foreach(um_mmap_visit fn, void *ctx)
{
    um_lock_acquire(&um_mmap_lock);
    for (size_t i = 0; i < reg.cap; i++)
        if (reg.slot[i].chunk)
            fn((chunk *)reg.slot[i].chunk, reg.slot[i].len, ctx);
    um_lock_release(&um_mmap_lock);
}
