/* unit.h — the white-box tests' tiny harness: they include src/ headers and
 * call the layers directly (linked against build[/debug]/libumalloc.a). */
#ifndef UM_UNIT_H
#define UM_UNIT_H
#include <stdio.h>
#include <stdlib.h>

static int unit_failures;
#define U_CHECK(cond, ...)                                                            \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            if (++unit_failures > 20)                                                 \
                exit(1);                                                              \
        }                                                                             \
    } while (0)
#define U_DONE() (unit_failures ? (fprintf(stderr, "%d failures\n", unit_failures), 1) : 0)
#endif
