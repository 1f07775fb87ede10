#!/bin/sh
# bench/patterns.c (the patterns outside the suite, docs/performance.md)
# builds warning-free and runs every pattern to the end on umalloc, and a
# name it does not know is refused. Release only: the debug build's heap
# check after every call makes its millions of calls minutes long.
# variants: release
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -pthread -Wall -Wextra -Werror -std=gnu11 -o "$tmp/patterns" bench/patterns.c
for p in strings vectors stack pipe aligned cut names "medium 2"; do
    out=$(LD_PRELOAD="$UMALLOC_LIB" "$tmp/patterns" $p) || { echo "patterns $p failed: $out"; exit 1; }
    case "$out" in "${p%% *} "*" s") ;; *) echo "patterns $p: unexpected output: $out"; exit 1 ;; esac
    echo "$out"
done
if "$tmp/patterns" nosuch 2>/dev/null; then
    echo "an unknown pattern was accepted"; exit 1
fi
