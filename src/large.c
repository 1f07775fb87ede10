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
 * The last word of every mapping is a canary (keyed with um_secret and the
 * chunk's address, every byte >= 0x80 so a NUL or ASCII byte never matches);
 * the usable size stops short of it, and free/realloc check it: a write past
 * the end of a mapped block (the hardened_malloc overflow_large_* programs)
 * ends in abort() instead of landing in whatever is mapped next.
 * A block that realloc had to move to grow keeps address space reserved
 * after its mapping (its room, um_mremap_chunk), so that its next growths
 * happen in place.
 * The threshold is dynamic, as in glibc: freeing a mapped chunk larger than
 * the threshold raises it to that size (up to 32 MiB) and the trim threshold
 * to twice that, so a program that repeatedly mallocs and frees 2 MiB stops
 * paying a mmap, a munmap and a page fault per touched page for each request.
 * Blocks above the threshold's reach (vectors grown by realloc past 32 MiB)
 * get the same relief from a small mapping cache: once a mapping of a
 * similar length was freed within the decay time, a freed mapping past 32
 * MiB is kept (resident) instead of unmapped, and the next request it fits
 * takes it whole (a request it does not fit releases the kept mappings
 * smaller than itself: blocks that grew past them will not want them). The
 * first free of a size always unmaps (the seeds' "a freed mmapped block goes
 * back to the kernel at once"); nothing is cached when the user
 * pinned the mmap settings, when the purge decay is 0 or off, or under
 * memory pressure; entries go back after the decay time, and malloc_trim /
 * umalloc_purge release them all.
 */
#include <string.h>

#include "bins.h"
#include "purge.h"

/* A live mapped chunk: its address (the key), and the mapping it owns. */
struct reg_ent {
    uintptr_t chunk; /* 0 = empty slot */
    uintptr_t base;
    size_t len;
    size_t recycled; /* came from the mapping cache: not zero-filled */
    size_t room;     /* inaccessible address space reserved right after the
                      * mapping for realloc to grow into (um_mremap_chunk) */
};

/* The canary in the last word of a mapping whose chunk is at c. */
static uintptr_t mmap_canary(uintptr_t c)
{
    return ((um_secret ^ c) * 0x9e3779b97f4a7c15ull) | 0x8080808080808080ull;
}
static uintptr_t *canary_at(uintptr_t base, size_t len) { return (uintptr_t *)(base + len - MMAP_TAIL); }

/* ---- the mapping cache (under um_mmap_lock) ---- */
#define MC_SLOTS 4                                   /* mappings kept */
#define MC_MAX_BYTES (2 * DEFAULT_MMAP_THRESHOLD_MAX) /* bytes kept, 64 MiB */
#define MC_HIST 8                                    /* recent frees remembered */

struct mc_ent {
    uintptr_t base; /* 0 = empty */
    size_t len;
    uint64_t t; /* ms, when it was freed */
};
static struct {
    struct mc_ent e[MC_SLOTS];
    struct {
        size_t len;
        uint64_t t;
    } hist[MC_HIST]; /* lengths freed lately */
    unsigned hist_next;
} mc;

static struct {
    struct reg_ent *slot;
    size_t cap, count;  /* cap is a power of two */
    size_t rooms;       /* bytes of room reserved after mapped chunks */
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

static int reg_insert(uintptr_t c, uintptr_t base, size_t len, size_t recycled, size_t room)
{
    if ((reg.count + 1) * 2 > reg.cap && reg_grow() != 0)
        return -1;
    size_t j = hash_slot(c, reg.cap);
    while (reg.slot[j].chunk)
        j = (j + 1) & (reg.cap - 1);
    reg.slot[j] = (struct reg_ent){c, base, len, recycled, room};
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

/* Did live mapped chunk p come from the mapping cache (so its memory holds
 * an earlier block's bytes, not the kernel's zeros)? */
int um_mmap_recycled(chunk *p)
{
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_find((uintptr_t)p);
    int r = j != (size_t)-1 && reg.slot[j].recycled;
    um_lock_release(&um_mmap_lock);
    return r;
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

/* ---- the mapping cache ---- */

/* May freed mappings be kept at all right now? */
static int mc_enabled(long decay)
{
    return decay > 0 && !RELAXED_LOAD(um_params.no_dyn_threshold) && !um_purge_pressure();
}

/* Take entry k out of the cache (lock held). */
static struct mc_ent mc_take(unsigned k)
{
    struct mc_ent e = mc.e[k];
    mc.e[k].base = 0;
    RELAXED_STORE(um_mstats.mc_count, um_mstats.mc_count - 1); /* peeked unlocked */
    um_mstats.mc_bytes -= e.len;
    return e;
}

/* Entries older than the decay time (all of them when the cache is off)
 * into out[] for the caller to unmap once the lock is released. */
static unsigned mc_expire(uint64_t now, long decay, int all, struct mc_ent out[MC_SLOTS])
{
    unsigned n = 0;
    int off = all || !mc_enabled(decay);
    for (unsigned k = 0; k < MC_SLOTS; k++)
        if (mc.e[k].base && (off || mc.e[k].t + (uint64_t)decay <= now))
            out[n++] = mc_take(k);
    um_mstats.mc_released += n;
    return n;
}

static void mc_unmap(struct mc_ent *out, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        um_os_unmap((void *)out[k].base, out[k].len);
}

/* A kept mapping of at least need bytes and at most MMAP_CACHE_SLACK times that
 * (the smallest such), or 0. Lock held. */
static int mc_find(size_t need, unsigned *best)
{
    int found = 0;
    for (unsigned k = 0; k < MC_SLOTS; k++) {
        size_t len = mc.e[k].len;
        if (mc.e[k].base && len >= need && len / MMAP_CACHE_SLACK <= need &&
            (!found || len < mc.e[*best].len)) {
            *best = k;
            found = 1;
        }
    }
    return found;
}

/* A mapping of len bytes is being freed: keep it (1) when one of a similar
 * length was freed within the decay time; remember its length either way.
 * An entry pushed out to make room goes into *evicted (len 0: none). */
static int mc_keep(uintptr_t base, size_t len, uint64_t now, long decay, struct mc_ent *evicted)
{
    evicted->len = 0;
    int repeat = 0;
    for (unsigned i = 0; i < MC_HIST; i++) {
        size_t h = mc.hist[i].len;
        if (h && mc.hist[i].t + (uint64_t)decay > now && h / 2 <= len && len / 2 <= h)
            repeat = 1;
    }
    unsigned h = mc.hist_next++ % MC_HIST; /* kept or not, this length came back */
    mc.hist[h].len = len;
    mc.hist[h].t = now;
    if (!repeat || len > MC_MAX_BYTES)
        return 0;
    unsigned slot = MC_SLOTS;
    for (;;) {
        unsigned oldest = MC_SLOTS;
        for (unsigned k = 0; k < MC_SLOTS; k++) {
            if (!mc.e[k].base)
                slot = k;
            else if (oldest == MC_SLOTS || mc.e[k].t < mc.e[oldest].t)
                oldest = k;
        }
        if (slot < MC_SLOTS && um_mstats.mc_bytes + len <= MC_MAX_BYTES)
            break;
        /* full: the oldest goes (one per free at most; the rest next time) */
        if (evicted->len || oldest == MC_SLOTS)
            return 0;
        *evicted = mc_take(oldest);
        um_mstats.mc_released++;
    }
    mc.e[slot] = (struct mc_ent){base, len, now};
    RELAXED_STORE(um_mstats.mc_count, um_mstats.mc_count + 1);
    um_mstats.mc_bytes += len;
    return 1;
}

/* Give back every kept mapping whose time is up (all of them if all):
 * malloc_trim, umalloc_purge, the purge's clock. 1 if any went back. */
int um_mmap_cache_release(int all)
{
    if (!RELAXED_LOAD(um_mstats.mc_count))
        return 0;
    struct mc_ent out[MC_SLOTS];
    um_lock_acquire(&um_mmap_lock);
    unsigned n = mc_expire(um_now_ms(), um_purge_decay(), all, out);
    um_lock_release(&um_mmap_lock);
    mc_unmap(out, n);
    return n != 0;
}

/* ---- mapped chunks ---- */

/* Lay out a mapped chunk at m (len bytes) with mem aligned to align, and
 * register it. NULL (nothing registered) if the registry cannot grow. */
static void *mmap_setup(char *m, size_t len, size_t align, size_t recycled)
{
    uintptr_t mem = ((uintptr_t)m + MMAP_HDR + CHUNK_HDR + align - 1) & ~(uintptr_t)(align - 1);
    chunk *p = (chunk *)(mem - CHUNK_HDR);
    size_t off = (size_t)((char *)p - m);
    p->prev_size = off;
    set_head(p, (len - off) | IS_MMAPPED);
    struct mmap_rec *rec = (struct mmap_rec *)m;
    rec->magic = um_secret ^ (uintptr_t)m;
    *canary_at((uintptr_t)m, len) = mmap_canary((uintptr_t)p);
    if (reg_insert((uintptr_t)p, (uintptr_t)m, len, recycled, 0) != 0)
        return NULL;
    struct um_mstats *s = &um_mstats;
    RELAXED_STORE(s->n_mmaps, s->n_mmaps + 1);
    s->mmapped_mem += len;
    if (s->n_mmaps > s->max_n_mmaps)
        s->max_n_mmaps = s->n_mmaps;
    if (s->mmapped_mem > s->max_mmapped_mem)
        s->max_mmapped_mem = s->mmapped_mem;
    return (void *)mem;
}

/* A chunk of at least nb bytes (header included) with mem aligned to align. */
void *um_mmap_chunk(size_t nb, size_t align)
{
    if (align < MALLOC_ALIGNMENT)
        align = MALLOC_ALIGNMENT;
    size_t slack = MMAP_HDR + CHUNK_HDR + MMAP_TAIL + (align > MALLOC_ALIGNMENT ? align : 0);
    if (nb > MAX_REQUEST - slack)
        return NULL;
    size_t len = page_align(nb + slack);
    if (RELAXED_LOAD(um_mstats.mc_count)) {
        /* a kept mapping: its pages are resident already */
        unsigned k = 0, n = 0;
        void *r = NULL;
        struct mc_ent out[MC_SLOTS];
        um_lock_acquire(&um_mmap_lock);
        if (mc_find(len, &k)) {
            struct mc_ent e = mc_take(k);
            if ((r = mmap_setup((char *)e.base, e.len, align, 1))) {
                um_mstats.mc_reused++;
            } else { /* the registry could not grow: put it back */
                mc.e[k] = e;
                RELAXED_STORE(um_mstats.mc_count, um_mstats.mc_count + 1);
                um_mstats.mc_bytes += e.len;
            }
        } else {
            /* a miss: kept mappings too small for this request go back
             * now (blocks that grew past them will not want them again) */
            for (unsigned i = 0; i < MC_SLOTS; i++)
                if (mc.e[i].base && mc.e[i].len < len)
                    out[n++] = mc_take(i);
            um_mstats.mc_released += n;
        }
        um_lock_release(&um_mmap_lock);
        mc_unmap(out, n);
        if (r)
            return r;
    }
    /* glibc.malloc.hugetlb=1, a mapping that can hold a huge page: at a
     * huge page's boundary (the kernel aligns only mappings of whole huge
     * pages: 518 faults for a 16 MiB block in tests/unit/thp_heaps, 7
     * aligned), all but its last piece in huge pages; a mremap that grows
     * or moves it keeps the advice */
    int huge = um_params.thp && len >= um_params.thp;
    char *m = huge ? um_os_map_aligned(len, um_params.thp) : um_os_map(len);
    if (!m && um_mmap_rooms_release())
        m = huge ? um_os_map_aligned(len, um_params.thp) : um_os_map(len);
    if (!m)
        return NULL;
    if (huge)
        um_os_huge(m, len);
    um_lock_acquire(&um_mmap_lock);
    void *r = mmap_setup(m, len, align, 0);
    um_lock_release(&um_mmap_lock);
    if (!r)
        um_os_unmap(m, len);
    return r;
}

/* The registry slot of mapped chunk p, with the lock held; aborts (lock
 * released) on a pointer that is not one, whose header no longer agrees
 * with the mapping recorded for it (an overflow or a forged size), or whose
 * canary a write past the end of the block destroyed. */
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
    if (unlikely(*canary_at(e->base, e->len) != mmap_canary((uintptr_t)p))) {
        size_t usable = e->len - off - CHUNK_HDR - MMAP_TAIL;
        um_lock_release(&um_mmap_lock);
        um_fatal(fn, "write past the end of", chunk_to_mem(p), usable);
    }
    return j;
}

/* A mapping of at least ADOPT_MIN bytes whose free raised the dynamic
 * threshold past its chunk's size (at c) gives the heap the pages top lacks
 * for a chunk that big (um_heap_adopt), from the chunk's first page, when
 * this thread allocates from the main arena; the rest is unmapped. Smaller
 * ones are unmapped at once, as the seeds show (the A/B/C/D story's 200 KiB
 * C, `make run` section 5): a few dozen pages are not worth the calls. Not
 * when free pages must go back at once or never stay (a decay of 0 or -1,
 * memory pressure), and not for a block realloc moved (its size is not one
 * the program asks for again; glibc's realloc does not raise the threshold).
 * Returns 1 if the mapping is dealt with, 0 if the caller must unmap it. */
#define ADOPT_MIN ((size_t)1 << 20)

/* May the main arena's top take a big block's pages (adopt) or serve a big
 * request (um_big_from_heap) now? Only when free pages go back after a
 * while (a decay above 0: it is 0 under memory pressure too) and this
 * thread allocates from the main arena. */
static int top_may_hold_big(void)
{
    return um_purge_decay() > 0 && um_arena_peek() == &um_main_arena;
}

static int adopt(uintptr_t base, size_t len, uintptr_t c, size_t size)
{
    if (size < ADOPT_MIN || size > RELAXED_LOAD(um_params.mmap_threshold) || !top_may_hold_big())
        return 0;
    uintptr_t src = c & ~(uintptr_t)(um_pagesize - 1);
    size_t max = base + len - src;
    um_lock_acquire(&um_main_arena.lock);
    size_t moved = um_heap_adopt(&um_main_arena, src, max, size + MINSIZE);
    um_lock_release(&um_main_arena.lock);
    if (!moved)
        return 0;
    if (src > base)
        um_os_unmap((void *)base, src - base);
    if (moved < max)
        um_os_unmap((void *)(src + moved), max - moved);
    return 1;
}

/* A request at or past the mmap threshold, of ADOPT_MIN to 32 MiB: should
 * it come from the main arena's heap rather than a new mapping? Yes when
 * top, extended in place by brk, already holds at least half of it; the
 * break is then moved here, under the lock, by the rest (so a brk that
 * refuses leaves the request to its mapping, not to a mapped segment of
 * the heap). That top is what the frees of the program's last big blocks
 * left (adopt() above, or blocks the heap served); its pages are resident
 * until the decay purge, and a fresh mapping would fault every page in
 * again while they sat idle. glibc serves such a request from top too when
 * top holds all of it (its mmap decision comes only after the bins and
 * top); here half is enough. bench/bigblocks (blocks of 256 KiB-32 MiB,
 * one after the other): each new largest block used to be mapped and
 * faulted in whole. The same conditions as adopt(): the dynamic threshold
 * in charge (mmap and trim settings the program set say where mappings
 * start), free pages that go back after a while (a decay above 0, no
 * memory pressure), a thread of the main arena, and a block the dynamic
 * threshold can reach: past 32 MiB each free would leave a bigger top and
 * let the next, bigger block grow the heap again. calloc does not ask: it
 * would clear the whole block, where a mapping's pages come zeroed and
 * untouched. Another thread may take top's space before this one's
 * um_int_malloc; that one then grows the heap as any malloc does. */
int um_big_from_heap(size_t nb)
{
    if (nb < ADOPT_MIN || nb > DEFAULT_MMAP_THRESHOLD_MAX ||
        RELAXED_LOAD(um_params.no_dyn_threshold) || !top_may_hold_big())
        return 0;
    um_lock_acquire(&um_main_arena.lock);
    int fit = um_heap_top_fit(&um_main_arena, nb, nb / 2);
    um_lock_release(&um_main_arena.lock);
    return fit;
}

/* Give a mapped chunk back: the recorded mapping, never what the header
 * says; into the mapping cache when the same length keeps coming back.
 * Aborts on a pointer that is not a live mapped chunk. If the kernel
 * cannot unmap (at vm.max_map_count a split needs a new mapping) the
 * mapping stays, as in glibc, and errno is kept. */
void um_munmap_chunk(chunk *p, const char *fn, int from_free)
{
    long decay = um_purge_decay();
    uint64_t now = mc_enabled(decay) ? um_now_ms() : 0;
    struct mc_ent out[MC_SLOTS + 1];
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_validate(p, fn);
    uintptr_t base = reg.slot[j].base;
    size_t len = reg.slot[j].len, size = len - ((uintptr_t)p - base), room = reg.slot[j].room;
    RELAXED_STORE(reg.rooms, reg.rooms - room); /* (peeked unlocked: um_mmap_rooms_release) */
    reg_remove(j);
    reg.gone[reg.gone_next++ & 63] = (uintptr_t)p;
    RELAXED_STORE(um_mstats.n_mmaps, um_mstats.n_mmaps - 1);
    um_mstats.mmapped_mem -= len;
    unsigned n = um_mstats.mc_count ? mc_expire(now, decay, 0, out) : 0;
    out[n].len = 0; /* (set by mc_keep when it evicts) */
    /* only a chunk past the dynamic threshold's reach is worth keeping: a
     * smaller one's free raises the threshold to its size, so no later
     * request that it could serve is mapped (python's 8 MiB strings kept
     * 8-10 MiB resident in the cache, peak RSS 221 MB against 211) */
    int kept = now && size > DEFAULT_MMAP_THRESHOLD_MAX && mc_keep(base, len, now, decay, &out[n]);
    if (now && out[n].len)
        n++;
    um_lock_release(&um_mmap_lock);
    if (from_free) /* (see above: not for a block realloc moves or cuts out of its mapping) */
        um_dyn_threshold_update(size);
    mc_unmap(out, n);
    if (room)
        um_os_unmap((void *)(base + len), room);
    if (!kept && !(from_free && adopt(base, len, (uintptr_t)p, size)))
        um_os_unmap((void *)base, len);
}

/* glibc's dynamic threshold: a freed mapped chunk raises the bar to its size,
 * and the trim threshold to twice that. Past 32 MiB the mmap threshold stays
 * (such blocks keep their own mappings, and the mapping cache serves them
 * when they come back), but while that cache may hold blocks of this size
 * the trim threshold still follows: a program that builds and frees blocks
 * this big (vectors grown by realloc leave their old copies in the heap)
 * would otherwise give its heap back with brk on every round and fault it
 * all in again. The decay purge still returns those free pages after the
 * decay time. */
void um_dyn_threshold_update(size_t size)
{
    if (RELAXED_LOAD(um_params.no_dyn_threshold))
        return;
    if (size > RELAXED_LOAD(um_params.mmap_threshold) && size <= DEFAULT_MMAP_THRESHOLD_MAX) {
        RELAXED_STORE(um_params.mmap_threshold, size);
        RELAXED_STORE(um_params.trim_threshold, 2 * size);
    } else if (size > DEFAULT_MMAP_THRESHOLD_MAX && size <= MC_MAX_BYTES &&
               2 * size > RELAXED_LOAD(um_params.trim_threshold) && mc_enabled(um_purge_decay())) {
        RELAXED_STORE(um_params.trim_threshold, 2 * size);
    }
}

/* Unmap every mapped chunk's room (lock held); 1 if there was any. */
static int rooms_release(void)
{
    size_t had = reg.rooms;
    for (size_t i = 0; i < reg.cap && reg.rooms; i++) {
        struct reg_ent *e = &reg.slot[i];
        if (e->chunk && e->room) {
            um_os_unmap((void *)(e->base + e->len), e->room);
            RELAXED_STORE(reg.rooms, reg.rooms - e->room);
            e->room = 0;
        }
    }
    return had != 0;
}

/* Room reserved after a mapped chunk that realloc had to move to grow: as
 * much again as its new length, up to ROOM_MAX. A later growth within it
 * unmaps the part it needs and grows the mapping over it in place (mremap
 * without MAYMOVE), instead of moving the mapping again. A plain mremap
 * moves whenever another mapping follows, and two blocks growing side by
 * side follow each other: bench/realloc's string builder, grown a page at
 * a time beside a doubling one, hopped from one side of the other's
 * mapping to the other at nearly every page (tests/api/realloc_mapped_room:
 * 1,029 moves from 256 KiB to 16 MiB; 6 with the room). A move costs more
 * than its call on this project's machines, virtual machines whose
 * hypervisor shadows the page tables: the first touch of each moved page
 * traps, though no fault is counted (perf, bench/realloc: its check loop,
 * which reads every 61st element of the grown vectors, took 288 samples
 * under umalloc and under 20 under tcmalloc, which copies into memory it
 * keeps). The room is only address space, PROT_NONE, not charged to the
 * commit limit; it goes with the block (free, and a shrink adds the cut
 * pages to it); under an address-space limit with no space for it, the
 * plain mremap does the growth. */
#define ROOM_MAX ((size_t)1 << 30)

/* Resize a mapped chunk: within its room, with mremap, or moved into a new
 * reservation with room; NULL if the kernel cannot. */
chunk *um_mremap_chunk(chunk *p, size_t nb)
{
    um_lock_acquire(&um_mmap_lock);
    size_t j = reg_validate(p, "realloc");
    uintptr_t base = reg.slot[j].base;
    size_t oldlen = reg.slot[j].len, off = (uintptr_t)p - base, recycled = reg.slot[j].recycled;
    size_t room = reg.slot[j].room;
    /* a mapped chunk has no next chunk whose prev_size it could borrow, and
     * ends in the canary, so it needs CHUNK_HDR more than nb to give the
     * caller nb - SIZE_SZ bytes */
    size_t len = page_align(nb + off + SIZE_SZ + MMAP_TAIL);
    if (len == oldlen) {
        um_lock_release(&um_mmap_lock);
        return p;
    }
    char *nm = NULL;
    size_t new_room = 0;
    if (len < oldlen && room) {
        /* the cut pages join the room: freed, and the reservation stays
         * one range after the mapping */
        um_os_shrink((void *)(base + len), oldlen - len);
        nm = (char *)base;
        new_room = room + (oldlen - len);
    } else if (len > oldlen && len - oldlen <= room) {
        /* into the room: free its first pages, then grow the mapping in
         * place over them (one mapping stays one: pages made writable by
         * mprotect would be a second one, and the kernel will not move a
         * range of two) */
        if (um_os_unmap((void *)(base + oldlen), len - oldlen) == 0 &&
            um_os_grow_inplace((void *)base, oldlen, len) == 0) {
            nm = (char *)base;
            new_room = room - (len - oldlen);
        } else {
            /* (another thread mapped the hole first: what is left of the
             * room is [base + len, base + oldlen + room)) */
            um_os_unmap((void *)(base + len), oldlen + room - len);
            RELAXED_STORE(reg.rooms, reg.rooms - room);
            room = 0;
        }
    }
    if (!nm && len > oldlen) {
        size_t want = len < ROOM_MAX ? len : ROOM_MAX;
        char *r = len + want > len ? um_os_reserve_accounted(len + want, um_pagesize) : NULL;
        if (r && um_os_move_grow((void *)base, oldlen, len, r) == 0) {
            nm = r;
            new_room = want;
        } else if (r) {
            um_os_unmap(r, len + want);
        }
    }
    /* moved, or about to be resized by a plain mremap (which grows in place
     * when the address space after is free): the old room goes */
    if (nm != (char *)base && room)
        um_os_unmap((void *)(base + oldlen), room);
    if (!nm) {
        /* (its entry forgets it now: rooms_release below must not unmap it
         * again) */
        RELAXED_STORE(reg.rooms, reg.rooms - room);
        reg.slot[j].room = room = 0;
        nm = um_os_remap((void *)base, oldlen, len);
        /* address space short (RLIMIT_AS): the other blocks' rooms go back
         * and the growth is tried once more, as a new mapping is; else a
         * room would make realloc fail where the process, without it, has
         * the space (and the caller's copy needs the whole new length) */
        if (!nm && len > oldlen && rooms_release())
            nm = um_os_remap((void *)base, oldlen, len);
        if (!nm) {
            um_lock_release(&um_mmap_lock);
            return NULL;
        }
    }
    chunk *np = (chunk *)(nm + off);
    set_head(np, (len - off) | IS_MMAPPED);
    ((struct mmap_rec *)nm)->magic = um_secret ^ (uintptr_t)nm;
    *canary_at((uintptr_t)nm, len) = mmap_canary((uintptr_t)np);
    reg_remove(j);
    reg_insert((uintptr_t)np, (uintptr_t)nm, len, recycled, new_room); /* cannot fail: a slot was just freed */
    RELAXED_STORE(reg.rooms, reg.rooms + new_room - room);
    um_mstats.mmapped_mem += len - oldlen;
    if (um_mstats.mmapped_mem > um_mstats.max_mmapped_mem)
        um_mstats.max_mmapped_mem = um_mstats.mmapped_mem;
    um_lock_release(&um_mmap_lock);
    return np;
}

/* Address space is short (a mapping or the break refused, as under
 * RLIMIT_AS): give every mapped chunk's room back. 1 if there was any, and
 * the caller tries once more. */
int um_mmap_rooms_release(void)
{
    if (!RELAXED_LOAD(reg.rooms))
        return 0;
    um_lock_acquire(&um_mmap_lock);
    int had = rooms_release();
    um_lock_release(&um_mmap_lock);
    return had;
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

/* check.c: every live mapped chunk's header, record and canary agree with
 * the registry; the cache's counters match its entries, which are page
 * aligned and overlap no live mapping. NULL when all is well. */
const char *um_mmap_check(const void **where)
{
    const char *bad = NULL;
    um_lock_acquire(&um_mmap_lock);
    size_t live = 0, mem = 0, cn = 0, cb = 0;
    for (size_t i = 0; i < reg.cap && !bad; i++) {
        struct reg_ent *e = &reg.slot[i];
        if (!e->chunk)
            continue;
        chunk *p = (chunk *)e->chunk;
        *where = chunk_to_mem(p);
        live++;
        mem += e->len;
        if (e->chunk - e->base < MMAP_HDR || e->chunk - e->base >= e->len || p->prev_size != e->chunk - e->base ||
            hdr_load(p) != ((e->len - p->prev_size) | IS_MMAPPED) ||
            ((struct mmap_rec *)e->base)->magic != (um_secret ^ e->base))
            bad = "mapped chunk disagrees with its registry entry";
        else if (*canary_at(e->base, e->len) != mmap_canary(e->chunk))
            bad = "mapped chunk's end canary overwritten";
        else if (e->room & (um_pagesize - 1))
            bad = "mapped chunk's room not page aligned";
        /* a room is address space no other mapping may hold (few chunks
         * have one: the scan stays cheap) */
        for (size_t k = 0; e->room && k < reg.cap && !bad; k++)
            if (k != i && reg.slot[k].chunk && reg.slot[k].base < e->base + e->len + e->room &&
                e->base < reg.slot[k].base + reg.slot[k].len + reg.slot[k].room)
                bad = "mapped chunk's room overlaps another mapped chunk";
        for (unsigned k = 0; e->room && k < MC_SLOTS && !bad; k++)
            if (mc.e[k].base && mc.e[k].base < e->base + e->len + e->room && e->base < mc.e[k].base + mc.e[k].len)
                bad = "mapped chunk's room overlaps a mapping cache entry";
    }
    for (unsigned k = 0; k < MC_SLOTS && !bad; k++) {
        struct mc_ent *c = &mc.e[k];
        if (!c->base)
            continue;
        *where = (void *)c->base;
        cn++;
        cb += c->len;
        if ((c->base | c->len) & (um_pagesize - 1) || !c->len)
            bad = "mapping cache entry not page aligned";
        for (size_t i = 0; i < reg.cap && !bad; i++)
            if (reg.slot[i].chunk && reg.slot[i].base < c->base + c->len && c->base < reg.slot[i].base + reg.slot[i].len)
                bad = "mapping cache entry overlaps a live mapped chunk";
    }
    size_t rooms = 0;
    for (size_t i = 0; i < reg.cap; i++)
        rooms += reg.slot[i].chunk ? reg.slot[i].room : 0;
    if (!bad && rooms != reg.rooms)
        bad = "mapped chunks' rooms disagree with their sum", *where = NULL;
    if (!bad && (live != um_mstats.n_mmaps || mem != um_mstats.mmapped_mem || live != reg.count))
        bad = "mapped chunk counters disagree with the registry", *where = NULL;
    if (!bad && (cn != um_mstats.mc_count || cb != um_mstats.mc_bytes || cb > MC_MAX_BYTES))
        bad = "mapping cache counters disagree with its entries", *where = NULL;
    um_lock_release(&um_mmap_lock);
    return bad;
}
