// Seed (a): small requests come from the brk heap, big ones from their own
// mapping, which disappears from /proc/self/maps when freed.
//   malloc(30 KiB), malloc(40 KiB): inside [heap start, sbrk(0))
//   malloc(200 KiB): outside it, in a mapping that is not [heap]; gone after free
#include "../common.h"

static bool in_brk_heap(const void *p, size_t n, uintptr_t lo, uintptr_t brk)
{
    return (uintptr_t)p >= lo && (uintptr_t)p + n <= brk;
}

int main(void)
{
    void *brk0 = sbrk(0);
    char *a = malloc(30 * 1024);
    char *b = malloc(40 * 1024);
    CHECK(a && b);
    memset(a, 1, 30 * 1024);
    memset(b, 2, 40 * 1024);
    uintptr_t brk = (uintptr_t)sbrk(0), lo = 0, hi = 0;
    printf("sbrk(0) before %p after %p; a=%p b=%p\n", brk0, (void *)brk, (void *)a, (void *)b);
    CHECKF(t_brk_heap(&lo, &hi), "no [heap] mapping in /proc/self/maps after malloc(30 KiB)");
    printf("[heap] %#lx-%#lx\n", (unsigned long)lo, (unsigned long)hi);
    EXPECTF(in_brk_heap(a, 30 * 1024, lo, brk), "malloc(30 KiB) = %p not inside the brk heap [%#lx, %#lx)",
            (void *)a, (unsigned long)lo, (unsigned long)brk);
    EXPECTF(in_brk_heap(b, 40 * 1024, lo, brk), "malloc(40 KiB) = %p not inside the brk heap [%#lx, %#lx)",
            (void *)b, (unsigned long)lo, (unsigned long)brk);

    const size_t big = 200 * 1024;
    char *c = malloc(big);
    CHECK(c != NULL);
    memset(c, 3, big);
    brk = (uintptr_t)sbrk(0);
    printf("c=%p sbrk(0)=%p\n", (void *)c, (void *)brk);
    EXPECTF(!((uintptr_t)c < brk && (uintptr_t)c + big > lo),
            "malloc(200 KiB) = %p overlaps the brk heap [%#lx, %#lx)", (void *)c,
            (unsigned long)lo, (unsigned long)brk);
    const struct t_map *m = t_map_of(c);
    EXPECTF(m != NULL, "malloc(200 KiB) = %p is in no mapping of /proc/self/maps", (void *)c);
    if (m) {
        printf("mapping %#lx-%#lx %s %s\n", (unsigned long)m->lo, (unsigned long)m->hi, m->perms,
               m->name);
        EXPECTF(strcmp(m->name, "[heap]") != 0, "malloc(200 KiB) lies in [heap]");
        EXPECTF((uintptr_t)c + big <= m->hi, "malloc(200 KiB) runs past its mapping");
        EXPECTF(m->perms[0] == 'r' && m->perms[1] == 'w', "mapping is %s", m->perms);
    }
    volatile uintptr_t addr = (uintptr_t)c;        /* only an address after free */
    free(c);
    EXPECTF(t_map_of((void *)addr) == NULL, "after free(%#lx) its mapping is still in /proc/self/maps",
            (unsigned long)addr);
    EXPECTF(t_map_of((void *)(addr + big - 1)) == NULL,
            "after free the end of the 200 KiB block is still mapped");

    EXPECT(t_all_bytes(a, 30 * 1024, 1));
    EXPECT(t_all_bytes(b, 40 * 1024, 2));
    free(a);
    free(b);
    return t_done();
}
