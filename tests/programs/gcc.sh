#!/bin/sh
# gcc -O2 under LD_PRELOAD=$UMALLOC_LIB (the driver, cc1 and as all inherit
# the preload) must produce a byte-identical object file for a generated C
# file of a few thousand lines.
# Exit: 0 pass, 77 gcc not installed, other = fail.
# timeout: 600
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
if [ -n "$UMALLOC_LIB" ] && [ ! -f "$UMALLOC_LIB" ]; then
    echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1
fi
command -v gcc >/dev/null 2>&1 || { echo "gcc not installed"; exit 77; }
command -v awk >/dev/null 2>&1 || { echo "awk not installed"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if [ -n "${UMALLOC_TEST_DEBUG:-}" ]; then N=15; else N=250; fi

# N groups of a struct, a few functions with loops, switches, inlining
# opportunities and string tables: ~14 lines per group
awk -v n="$N" 'BEGIN {
    print "#include <string.h>"
    print "#include <stdlib.h>"
    print "struct node { int key; double w; struct node *next; char name[16]; };"
    for (i = 0; i < n; i++) {
        printf "static const char *names%d[] = { \"a%d\", \"bb%d\", \"ccc%d\", \"dddd%d\" };\n", i, i, i, i, i
        printf "static inline int mix%d(int x) { return (x * %d) ^ (x >> %d); }\n", i, 2 * i + 1, i % 13 + 1
        printf "int work%d(struct node *list, int k) {\n", i
        printf "    int acc = %d;\n", i
        printf "    for (struct node *p = list; p; p = p->next) {\n"
        printf "        switch ((p->key + k) %% 5) {\n"
        printf "        case 0: acc += mix%d(p->key); break;\n", i
        printf "        case 1: acc -= (int)(p->w * %d.5); break;\n", i % 9
        printf "        case 2: acc ^= (int)strlen(names%d[p->key & 3]); break;\n", i
        printf "        default: acc += %s(p->key + %d);\n", (i > 0 ? "work" (i - 1) "_helper" : "abs"), i
        printf "        }\n    }\n    return acc;\n}\n"
        printf "int work%d_helper(int v) { int s = 0; for (int j = 0; j < (v & 31); j++) s += mix%d(j + v); return s; }\n", i, i
    }
    print "int run_all(struct node *l) {"
    print "    int t = 0;"
    for (i = 0; i < n; i++) printf "    t += work%d(l, %d);\n", i, i
    print "    return t;"
    print "}"
}' > "$tmp/gen.c"

cd "$tmp" || exit 1
if ! gcc -O2 -c gen.c -o ref.o 2> ref.err; then
    echo "gcc failed on the system allocator:"; tail -20 ref.err; exit 1
fi
env LD_PRELOAD="$UMALLOC_LIB" gcc -O2 -c gen.c -o test.o 2> test.err
rc=$?
if [ $rc -ne 0 ] || [ -s test.err ]; then
    echo "gcc under $UMALLOC_LIB failed (status $rc):"; tail -20 test.err; exit 1
fi
if ! cmp ref.o test.o; then
    echo "object files differ"; exit 1
fi
echo "gcc: identical objects ($(wc -l < gen.c) source lines, $(wc -c < ref.o) bytes)"
exit 0
