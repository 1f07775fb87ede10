/* The bin index math: small bins one size each, large bins contiguous and
 * monotonic, fast bins and tcache indexes the inverse of their sizes. */
#include "unit.h"
#include "bins.h"
#include "tcache.h"

int main(void)
{
    /* request2size: header word + alignment, at least MINSIZE */
    for (size_t n = 0; n <= 24; n++)
        U_CHECK(request2size(n) == 32, "request2size(%zu)=%zu", n, request2size(n));
    U_CHECK(request2size(25) == 48, "%zu", request2size(25));
    for (size_t n = 0; n < 100000; n++) {
        size_t s = request2size(n);
        U_CHECK(s % 16 == 0 && s >= n + SIZE_SZ && s < n + SIZE_SZ + 16 + MINSIZE, "n=%zu s=%zu", n, s);
    }
    /* small bins: 2..63, one chunk size each */
    for (size_t s = MINSIZE; s < MIN_LARGE_SIZE; s += 16) {
        U_CHECK(in_smallbin_range(s), "%zu", s);
        U_CHECK(bin_index(s) == s / 16, "bin_index(%zu)=%u", s, bin_index(s));
    }
    U_CHECK(bin_index(32) == 2 && bin_index(1008) == 63, "small range ends");
    /* large bins: 64..126, monotonic, every index reached, no gaps */
    unsigned prev = 63, seen[NBINS] = {0};
    for (size_t s = MIN_LARGE_SIZE; s < ((size_t)4 << 20); s += 16) {
        unsigned i = bin_index(s);
        U_CHECK(i >= 64 && i <= 126, "bin_index(%zu)=%u", s, i);
        U_CHECK(i == prev || i == prev + 1, "jump at %zu: %u -> %u", s, prev, i);
        prev = i;
        seen[i] = 1;
    }
    for (unsigned i = 64; i <= 126; i++)
        U_CHECK(seen[i], "large bin %u never used", i);
    U_CHECK(bin_index((size_t)1 << 40) == 126, "huge -> last bin");
    U_CHECK(bin_index(1024) == 64, "first large bin at 1024");
    /* fast bins */
    for (unsigned i = 0; i < NFASTBINS; i++)
        U_CHECK(fastbin_index(fastbin_size(i)) == i, "fastbin %u", i);
    U_CHECK(fastbin_index(request2size(MAX_FAST_SIZE)) < NFASTBINS, "MAX_FAST_SIZE fits");
    /* tcache: the request index is the chunk size / 16, for every request */
    for (size_t n = 0; n <= TC_MAX_REQUEST; n++)
        U_CHECK(tc_req_index(n) == request2size(n) >> 4, "tc_req_index(%zu)=%zu", n, tc_req_index(n));
    U_CHECK(request2size(TC_MAX_REQUEST) == TC_MAX_CHUNK, "tcache top");
    U_CHECK((TC_MAX_CHUNK >> 4) < TC_SLOTS, "tcache slots");
    /* medium tcache classes: cover every size up to 128 KiB, waste <= 12.5% */
    size_t last = TC_MED_FIRST;
    for (size_t nb = TC_MAX_CHUNK + 16; nb <= TC_MED_MAX_CHUNK; nb += 16) {
        size_t i = tc_med_index(nb), cs = tc_slot_size(i);
        U_CHECK(i >= TC_MED_FIRST && i < TC_SLOTS, "slot %zu for %zu", i, nb);
        U_CHECK(cs >= nb && cs - nb <= nb / 8, "class %zu for %zu", cs, nb);
        U_CHECK(i == last || i == last + 1, "slots in order at %zu", nb);
        last = i;
    }
    for (size_t i = 2; i < TC_SLOTS; i++)
        U_CHECK(tc_slot_of_chunk(tc_slot_size(i)) == i, "slot %zu round trip", i);
    U_CHECK(tc_slot_of_chunk(1300) == 0, "a non-class size is not cached");
    /* free's medium path: a chunk size is cached iff it is its class's size */
    for (size_t cs = TC_MAX_CHUNK + 8; cs <= TC_MED_MAX_CHUNK + 4096; cs += 8) {
        int is_class = cs <= TC_MED_MAX_CHUNK && tc_slot_size(tc_med_index(cs)) == cs;
        if (cs <= TC_MED_MAX_CHUNK) /* above it the callers test the size first */
            U_CHECK(tc_med_exact(cs) == is_class, "exact class test at %zu", cs);
        U_CHECK((tc_slot_of_chunk(cs) != 0) == is_class, "slot of chunk %zu", cs);
    }
    U_CHECK(tc_slot_size(TC_SLOTS - 1) == TC_MED_MAX_CHUNK, "last class is 128 KiB");
    /* link protection round trip (the keys are set by the first call) */
    um_ensure_init();
    void *v = (void *)0x55d0c3a2b2c0;
    U_CHECK(link_reveal(link_protect(v)) == v, "link round trip");
    U_CHECK(link_protect(v) != v, "protect changes the pointer");
    U_CHECK(link_ok(link_reveal(link_protect(v))) && link_ok(link_reveal(link_protect(NULL))),
            "links we stored pass");
    return U_DONE();
}
