/* alloc_loops.c - one allocation and its free, in a loop, in a fresh process:
 * the paths a microbenchmark harness hides (its own setup leaves the heap in
 * another state), counted with cachegrind.
 *
 *   make build/examples/alloc_loops
 *   valgrind --tool=cachegrind --cache-sim=no \
 *       env LD_PRELOAD=build/libumalloc.so build/examples/alloc_loops top 4096
 *
 *   alloc_loops top SIZE [PAIRS]           malloc(SIZE), touch, free
 *   alloc_loops nested SIZE SIZE2 [PAIRS]  a = malloc(SIZE), b = malloc(SIZE2),
 *                                          free(b), free(a): buffers unwound
 *   alloc_loops shrink SIZE SIZE2 [PAIRS]  p = malloc(SIZE), realloc(p, SIZE2),
 *                                          free: a buffer cut to its length
 *   alloc_loops aligned ALIGN SIZE [PAIRS] aligned_alloc(ALIGN, SIZE), free
 *   alloc_loops posix ALIGN SIZE [PAIRS]   posix_memalign(&p, ALIGN, SIZE), free
 *   alloc_loops memalign ALIGN SIZE [PAIRS]
 *
 * PAIRS defaults to 1,000,000; the instruction total divided by it is the
 * cost of a pair (start-up adds about 0.2 instructions a pair; "nested"
 * makes two blocks a round, "shrink" a malloc, a realloc and a free). "top" is a
 * program whose heap holds nothing else: the block borders top, and the
 * allocator must decide whether its free may shrink the heap. Nothing but
 * the loop allocates: the result goes out with write(2).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
    static const char msg[] = "usage: alloc_loops top SIZE [PAIRS] | nested|shrink SIZE SIZE2 "
                              "[PAIRS] | aligned|posix|memalign ALIGN SIZE [PAIRS]\n";
    (void)!write(2, msg, sizeof msg - 1);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    int top = strcmp(argv[1], "top") == 0, shrink = strcmp(argv[1], "shrink") == 0;
    int nested = strcmp(argv[1], "nested") == 0 || shrink;
    int kind = top ? 0 : strcmp(argv[1], "aligned") == 0 ? 1 : strcmp(argv[1], "posix") == 0 ? 2
               : strcmp(argv[1], "memalign") == 0 ? 3 : shrink ? 5 : nested ? 4 : -1;
    if (kind < 0 || (!top && argc < 4))
        usage();
    size_t align = top || nested ? 0 : strtoul(argv[2], NULL, 0);
    size_t size = strtoul(argv[top || nested ? 2 : 3], NULL, 0);
    size_t size2 = nested ? strtoul(argv[3], NULL, 0) : 1;
    int pa = top ? 3 : 4;
    long pairs = argc > pa ? atol(argv[pa]) : 1000000;
    if (size == 0 || size2 == 0 || pairs <= 0 ||
        (kind >= 1 && kind <= 3 && (align == 0 || (align & (align - 1)))))
        usage();
    uintptr_t misaligned = 0, sum = 0;
    for (long i = 0; i < pairs; i++) {
        char *volatile p = NULL;
        if (kind == 0 || kind >= 4)
            p = malloc(size);
        else if (kind == 1)
            p = aligned_alloc(align, size);
        else if (kind == 2 && posix_memalign((void **)&p, align, size) != 0)
            p = NULL;
        else if (kind == 3)
            p = memalign(align, size);
        if (!p)
            return 1;
        p[0] = (char)i;
        p[size - 1] = (char)i;
        sum += (unsigned char)p[0];
        misaligned |= (uintptr_t)p & (align ? align - 1 : 0);
        if (kind == 5) {
            char *q = realloc(p, size2);
            if (!q)
                return 1;
            p = q;
            p[0] = (char)i;
            p[size2 - 1] = (char)i;
        }
        if (kind == 4) {
            char *volatile q = malloc(size2);
            if (!q)
                return 1;
            q[size2 - 1] = (char)i;
            free(q);
        }
        free(p);
    }
    char out[96];
    int n = snprintf(out, sizeof out, "%ld pairs, checksum %lu%s\n", pairs, (unsigned long)sum,
                     misaligned ? ", MISALIGNED" : "");
    (void)!write(1, out, (size_t)n);
    return misaligned ? 1 : 0;
}
