#!/bin/sh
# `make run`'s tour must run to the end on umalloc and reproduce the seed's
# mallinfo example (72 then 36 mapped regions) and its fault-storm table;
# its heap map must show the 4 freed blocks as cached, then (after
# malloc_trim) as 4 free ones, as its text says.
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
[ -x build/examples/tour ] || make -s build/examples/tour >/dev/null
out=$(LD_PRELOAD="$UMALLOC_LIB" build/examples/tour 2>&1)
echo "$out" | tail -5
echo "$out" | grep -q "mapped regions: 72 then 36 (seed: 72 then 36) -> matches the seed" || { echo "mallinfo example differs"; exit 1; }
echo "$out" | grep -q "umalloc heap map" || { echo "no heap map"; exit 1; }
echo "$out" | grep -q ": 5 in use ([0-9]* B), 4 cached (" || { echo "heap map: the 4 freed blocks are not cached"; exit 1; }
echo "$out" | grep -q ": 5 in use ([0-9]* B), 0 cached (0 B), 4 free (" || { echo "heap map: not 4 free blocks after malloc_trim"; exit 1; }
echo "$out" | grep -q "^end of tour" || { echo "tour did not finish"; exit 1; }
