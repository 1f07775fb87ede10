// Seed (d): with default settings, freeing the blocks at the top of the heap
// moves the program break back (trim); after mallopt(M_TRIM_THRESHOLD, -1)
// (taken as a huge size_t) it does not move back.
#include "../common.h"

enum { SZ = 4000, N = 8 * 1024 * 1024 / SZ };
static char *v[N];

static void fill_heap(void)
{
    for (int i = 0; i < N; i++) {
        v[i] = malloc(SZ);
        CHECK(v[i] != NULL);
        memset(v[i], 0x42, SZ);
    }
}

static void free_heap(void)
{
    for (int i = 0; i < N; i++)
        free(v[i]);
}

int main(void)
{
    const size_t MiB = T_MIB;
    free(t_opaque(malloc(100)));
    char *before = sbrk(0);
    fill_heap();
    char *full = sbrk(0);
    free_heap();
    char *after = sbrk(0);
    printf("default: break %p -> %p (8 MiB allocated) -> %p (freed)\n", (void *)before,
           (void *)full, (void *)after);
    EXPECTF(full >= before + 7 * MiB, "allocating 8 MiB of %d-byte blocks moved the break only %td bytes",
            SZ, full - before);
    EXPECTF(after <= full - 7 * MiB, "default trim threshold: the break went back only %td bytes",
            full - after);

    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    before = sbrk(0);
    fill_heap();
    full = sbrk(0);
    free_heap();
    after = sbrk(0);
    printf("M_TRIM_THRESHOLD -1: break %p -> %p -> %p\n", (void *)before, (void *)full, (void *)after);
    EXPECTF(full >= before + 7 * MiB, "allocating 8 MiB moved the break only %td bytes", full - before);
    EXPECTF(after == full, "M_TRIM_THRESHOLD -1: the break moved back %td bytes", full - after);
    return t_done();
}
