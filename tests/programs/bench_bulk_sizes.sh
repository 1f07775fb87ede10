#!/bin/sh
# bench/bulk's size range (the suite's bulk-med row: `bulk 200 1024 16384`):
# the mean size it prints lies near the middle of the range asked for (and
# of the default 16..1024 without one), every block is checked at its free
# (the program's own tags), and a half-given, inverted, too small or too
# large range, or a word more, is refused with the usage line (exit 2).
# Release build only.
# variants: release
# timeout: 120
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# run.py builds the benchmark programs
python3 bench/run.py --quick --only '^bulk-med$' --allocs umalloc \
    --alloc "umalloc=$UMALLOC_LIB" --out "$out/q" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
mean() { # $@: bulk's arguments; leaves the run's mean size in $out/mean
    LD_PRELOAD="$UMALLOC_LIB" build/bench/bulk "$@" --scale=0.01 >"$out/out" 2>"$out/err" ||
        { echo "bulk $*: failed"; cat "$out/out" "$out/err"; exit 1; }
    grep -q '^ok bulk ops=' "$out/out" || { echo "bulk $*: no ok line"; cat "$out/out"; exit 1; }
    sed -n 's/.* mean_size=\([0-9]*\)$/\1/p' "$out/out" >"$out/mean"
}
within() { # $1: what; $2, $3: bounds of the mean size in $out/mean
    v=$(cat "$out/mean")
    [ -n "$v" ] && [ "$v" -ge "$2" ] && [ "$v" -le "$3" ] || { echo "$1: mean size '$v' not in $2..$3"; exit 1; }
    echo "$1: mean size $v"
}
# 100,000 blocks of 1024..16384 bytes (the seed is fixed): mean 8704, standard error about 14
mean 200 1024 16384
within "bulk 200 1024 16384" 8550 8850
# 100,000 of 16..1024: mean 520, standard error about 1
mean 1000
within "bulk 1000" 510 530
mean 100 4096 4096
within "bulk 100 4096 4096" 4096 4096
for bad in "200 1024" "200 2048 1024" "200 8 1024" "0" "200 1024 16384 7" "10 16 2000000000"; do
    rc=0
    build/bench/bulk $bad --scale=0.01 >"$out/out" 2>"$out/err" || rc=$?
    [ "$rc" -eq 2 ] || { echo "bulk $bad: exit $rc, not 2"; cat "$out/out" "$out/err"; exit 1; }
    grep -q '^usage: bulk' "$out/err" || { echo "bulk $bad: no usage line"; cat "$out/err"; exit 1; }
done
echo "bad ranges refused"
