/* The inline paths' medium slot table (tc_med_req_slot, tc_med_exact_slot)
 * agrees with the formulas the slow paths use (tc_med_index, tc_med_exact)
 * for every medium request and every 16-byte chunk size, the slot size
 * table (tc_slot_size) with the classes' definition (eight per doubling
 * from 1 KiB, 16-byte steps below) and with tc_med_index, and a block of
 * each class size freed and asked for again is the same block (the free
 * cached it in the slot the malloc then pops). */
#include <stdlib.h>

#include "tcache.h"
#include "unit.h"

int main(void)
{
    void *volatile warm = malloc(1); /* initialises the library: fills the table */
    free(warm);
    for (size_t b = TC_MAX_REQUEST + 1; b <= TC_MED_MAX_REQUEST; b++) {
        size_t want = tc_med_index(request2size(b)), got = tc_med_req_slot(b);
        U_CHECK(got == want, "request %zu: slot %zu, formula %zu", b, got, want);
        U_CHECK(tc_slot_size(got) >= request2size(b), "request %zu: class %zu too small", b,
                tc_slot_size(got));
    }
    for (size_t i = 2; i < TC_SLOTS; i++) {
        size_t k = i - TC_MED_FIRST, e = 10 + k / 8;
        size_t want = i < TC_MED_FIRST ? i * 16 : ((size_t)1 << e) + (k % 8 + 1) * ((size_t)1 << (e - 3));
        U_CHECK(tc_slot_size(i) == want, "slot %zu: size %zu, want %zu", i, tc_slot_size(i), want);
        if (i >= TC_MED_FIRST)
            U_CHECK(tc_med_index(want) == i && tc_med_index(want + 16) == i + 1,
                    "slot %zu: class %zu is not the largest size of its slot", i, want);
    }
    U_CHECK(tc_slot_size(TC_SLOTS - 1) == TC_MED_MAX_CHUNK, "last class %zu", tc_slot_size(TC_SLOTS - 1));
    size_t classes = 0;
    for (size_t cs = TC_MAX_CHUNK + 16; cs <= TC_MED_MAX_CHUNK; cs += 16) {
        size_t want = tc_med_exact(cs) ? tc_med_index(cs) : 0, got = tc_med_exact_slot(cs);
        U_CHECK(got == want, "chunk %zu: slot %zu, formula %zu", cs, got, want);
        classes += got != 0;
    }
    U_CHECK(classes == TC_NMED, "%zu exact class sizes, %d slots", classes, TC_NMED);
    for (size_t i = TC_MED_FIRST; i < TC_SLOTS; i++) {
        size_t cs = tc_slot_size(i);
        U_CHECK(tc_med_exact_slot(cs) == i, "class %zu of slot %zu maps to %zu", cs, i,
                tc_med_exact_slot(cs));
        /* twice: a class's first request is served exactly, uncached */
        for (int round = 0; round < 2; round++) {
            void *volatile a = malloc(cs - SIZE_SZ), *volatile guard = malloc(16);
            U_CHECK(a && guard, "malloc %zu", cs - SIZE_SZ);
            free(a);
            void *volatile b = malloc(cs - SIZE_SZ);
            if (round == 1 && cs < 64 * 1024)
                U_CHECK(b == a, "class %zu: the freed block not reused (%p, %p)", cs, a, b);
            free(b);
            free(guard);
        }
    }
    return U_DONE();
}
