#!/bin/sh
# bench/sweep's "order" count (README's sweep-2 entry and docs/performance.md
# quote it): one line per thread, each thread's mallocs adding up to the
# run's total, a share between 0 and 100% (and, on a run long enough to
# sweep its table several times, well under half: consecutive blocks of
# one size lie side by side in every allocator here); the blocks checked
# at the frees; an unknown word refused. Release build only.
# variants: release
# timeout: 120
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# run.py builds the benchmark programs
python3 bench/run.py --quick --only '^sweep-2$' --allocs umalloc \
    --alloc "umalloc=$UMALLOC_LIB" --out "$out/q" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
check() { # $1: what ran; $2: threads
    what=$1 n=$2
    [ "$(grep -c '^thread [0-9]*: [0-9]* mallocs, [0-9.]*% more than 256 bytes from the one before$' "$out/err")" -eq "$n" ] ||
        { echo "$what: not $n order lines"; cat "$out/err"; exit 1; }
    total=$(sed -n 's/^threads [0-9]*, mallocs \([0-9]*\), blocks checked \([0-9]*\)$/\1 \2/p' "$out/out")
    [ -n "$total" ] || { echo "$what: no totals line"; cat "$out/out"; exit 1; }
    set -- $total
    mallocs=$1 checked=$2
    sum=$(sed -n 's/^thread [0-9]*: \([0-9]*\) mallocs.*/\1/p' "$out/err" | awk '{ s += $1 } END { print s + 0 }')
    [ "$sum" -eq "$mallocs" ] || { echo "$what: threads' mallocs $sum, total $mallocs"; exit 1; }
    # four fifths of a 600,000-slot table freed per sweep: several sweeps
    [ "$mallocs" -gt 2000000 ] || { echo "$what: only $mallocs mallocs"; exit 1; }
    [ "$checked" -gt 10000 ] && [ "$checked" -lt "$mallocs" ] ||
        { echo "$what: $checked blocks checked of $mallocs"; exit 1; }
    for p in $(sed -n 's/.* mallocs, \([0-9.]*\)% more.*/\1/p' "$out/err"); do
        awk -v p="$p" 'BEGIN { exit !(p >= 0 && p < 50) }' ||
            { echo "$what: $p% of a thread's mallocs far from the one before"; exit 1; }
    done
    grep -q '^ok sweep ops=' "$out/out" || { echo "$what: no ok line"; exit 1; }
    echo "$what: $(tr '\n' ' ' <"$out/err")"
}
LD_PRELOAD="$UMALLOC_LIB" build/bench/sweep 2 order --scale=0.06 >"$out/out" 2>"$out/err"
check "umalloc, 2 threads" 2
env -u LD_PRELOAD build/bench/sweep 3 order --scale=0.06 >"$out/out" 2>"$out/err"
check "glibc, 3 threads" 3
if build/bench/sweep 2 bogus --quick >/dev/null 2>"$out/err"; then
    echo "an unknown word was accepted"; exit 1
fi
grep -q "usage: sweep N (1..64) \[order\]" "$out/err" || { cat "$out/err"; exit 1; }
echo ok
