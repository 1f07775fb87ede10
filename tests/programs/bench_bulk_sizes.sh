#!/bin/sh
# bench/bulk's size range (the suite's bulk-med row: `bulk 200 1024 16384`):
# the mean size it prints lies near the middle of the range asked for (and
# of the default 16..1024 without one), every block is checked at its free
# (the program's own tags), and a half-given or inverted range is refused
# with the usage line. Release build only.
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
mean() { # $@: bulk's arguments; prints the mean size of the run
    LD_PRELOAD="$UMALLOC_LIB" build/bench/bulk "$@" --scale=0.01 >"$out/out" 2>"$out/err" ||
        { echo "bulk $*: failed"; cat "$out/out" "$out/err"; exit 1; }
    grep -q '^ok bulk ops=' "$out/out" || { echo "bulk $*: no ok line"; cat "$out/out"; exit 1; }
    sed -n 's/.* mean_size=\([0-9]*\)$/\1/p' "$out/out"
}
within() { # $1: what; $2: value; $3, $4: bounds
    [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || { echo "$1: mean size '$2' not in $3..$4"; exit 1; }
    echo "$1: mean size $2"
}
within "bulk 200 1024 16384" "$(mean 200 1024 16384)" 8000 9400
within "bulk 1000" "$(mean 1000)" 480 560
within "bulk 100 4096 4096" "$(mean 100 4096 4096)" 4096 4096
for bad in "200 1024" "200 2048 1024" "200 8 1024" "0"; do
    if build/bench/bulk $bad --scale=0.01 >"$out/out" 2>"$out/err"; then
        echo "bulk $bad: accepted"; exit 1
    fi
    grep -q '^usage: bulk' "$out/err" || { echo "bulk $bad: no usage line"; cat "$out/err"; exit 1; }
done
echo "bad ranges refused"
