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

/* Initialise the library as a program does, with a first malloc. Through a
 * volatile pointer: gcc drops the pair free(malloc(n)) (no call is made),
 * and a test that then calls the layers directly ran with the keys unset
 * (0: headers and links stored as they are). */
static inline void unit_init_library(void)
{
    void *volatile p = malloc(100);
    free(p);
}
#endif
