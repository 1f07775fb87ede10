#!/bin/sh
# examples/alloc_loops runs every loop to the end on umalloc and on glibc,
# and every aligned block it gets is aligned (it exits 1 and says
# MISALIGNED otherwise); a bad command line is refused.
set -eu
make -s build/examples/alloc_loops >/dev/null
n=2000
[ -n "${UMALLOC_TEST_DEBUG:-}" ] && n=300
sum=$(python3 -c "print(sum(i % 256 for i in range($n)))")
for args in "top 4096" "top 65536" "top 24" "aligned 32 64" "memalign 64 100" \
            "posix 4096 4096" "memalign 4096 100" "aligned 256 40000" "nested 4096 8192" "shrink 5000 1000"; do
    for lib in "$UMALLOC_LIB" ""; do
        out=$(LD_PRELOAD="$lib" build/examples/alloc_loops $args $n) ||
            { echo "alloc_loops $args (preload '$lib') failed: $out"; exit 1; }
        [ "$out" = "$n pairs, checksum $sum" ] ||
            { echo "alloc_loops $args (preload '$lib'): $out"; exit 1; }
    done
done
if build/examples/alloc_loops aligned 3 64 2>/dev/null; then
    echo "alignment 3 accepted"; exit 1
fi
echo "alloc_loops: 10 loops x 2 allocators ok"
