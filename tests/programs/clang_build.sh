#!/bin/sh
# The library builds with clang as well (make CC=clang WERROR=1: no
# warning), and that build keeps what lib_resident requires of the gcc one:
# no page of the read-only data, of the report code or of the rarely run
# code resident in a program that does not use them. clang differs from gcc
# where it matters there: it puts constructors and destructors in .text
# (the report segment's, once renamed), builds constant structs and
# vectorized loops' masks from the read-only data, and has no `copy`
# attribute; each of these broke this build or its footprint.
# variants: release
# timeout: 180
set -eu
command -v clang >/dev/null 2>&1 || { echo "no clang"; exit 77; }
command -v make >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a build directory of its own: the suite's libraries stay as they are
make -s CC=clang WERROR=1 OUT="$tmp/build" -j2 "$tmp/build/libumalloc.so" >"$tmp/make.log" 2>&1 ||
    { cat "$tmp/make.log"; echo "FAIL: make CC=clang WERROR=1"; exit 1; }
lib=$tmp/build/libumalloc.so
# it is the allocator: a program's blocks come from it (its statistics
# count them)
cat >"$tmp/p.c" <<'EOF'
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    static char *v[100000];
    for (int i = 0; i < 100000; i++) {
        v[i] = malloc((size_t)(16 + i % 200));
        if (!v[i])
            return 1;
        memset(v[i], i, (size_t)(16 + i % 200));
    }
    malloc_stats();
    for (int i = 0; i < 100000; i++)
        free(v[i]);
    return 0;
}
EOF
gcc -std=c11 -O1 -o "$tmp/p" "$tmp/p.c"
out=$(env -i PATH="$PATH" LD_PRELOAD="$lib" "$tmp/p" 2>&1) || { echo "$out"; echo "FAIL: the program failed"; exit 1; }
echo "$out" | grep -Eq "in use bytes += +1[0-9]{7}$" ||
    { echo "$out"; echo "FAIL: the clang build's statistics do not show the program's 11 MB"; exit 1; }
UMALLOC_LIB=$lib sh tests/programs/lib_resident.sh
