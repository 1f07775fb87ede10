#!/bin/sh
# bench/compare.py on made-up results whose answer is known: a workload
# where the new build's 7 runs all lie 30% above the base's (a difference:
# "higher", interval above 1, exact p 2/3432), one where both builds drew the
# same 7 values in another order ("not shown", ratio 1), one with a single
# run a side (left out); the exact Mann-Whitney p of 3 runs against 3 fully
# apart is 0.1 (2 of 20 orderings), so a difference on so few runs is never
# named; 7 runs a side 1% apart with no overlap (p 0.001) are below the
# smallest effect named; and an allocator the result does not hold is an
# error.
# variants: release
# timeout: 60
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/r.json" <<'EOP'
import json, sys
base = [0.200, 0.210, 0.190, 0.205, 0.215, 0.195, 0.202]
runs = lambda xs: {"runs": [{"ok": True, "wall": x, "cpu": x, "maxrss_kb": 1000, "minflt": 100} for x in xs]}
d = {"workloads": [
    {"name": "slower", "results": {"base": runs(base), "new": runs([x * 1.3 for x in base])}},
    {"name": "same", "results": {"base": runs(base), "new": runs(list(reversed(base)))}},
    {"name": "three", "results": {"base": runs([1.0, 1.1, 1.2]), "new": runs([2.0, 2.1, 2.2])}},
    {"name": "lone", "results": {"base": runs([1.0]), "new": runs([2.0])}},
    {"name": "tiny", "results": {"base": runs([1000.0 + i for i in range(7)]),
                                 "new": runs([1010.0 + i for i in range(7)])}},
]}
json.dump(d, open(sys.argv[1], "w"))
EOP
out=$(python3 bench/compare.py "$tmp/r.json" base new)
echo "$out"
row() { echo "$out" | grep "^| $1 |"; }
row slower | grep -q "| 1.300 |" || { echo "FAIL: slower's ratio"; exit 1; }
row slower | grep -q "| 0.001 | higher |" || { echo "FAIL: slower's p or verdict"; exit 1; }
row same | grep -q "| 1.000 |.*| not shown |" || { echo "FAIL: same"; exit 1; }
row three | grep -q "| 0.100 | not shown |" || { echo "FAIL: three"; exit 1; }
row tiny | grep -q "| 0.001 | not shown |" || { echo "FAIL: tiny (1%: never named)"; exit 1; }
if echo "$out" | grep -q "^| lone |"; then echo "FAIL: one run a side was compared"; exit 1; fi
echo "$out" | tail -1 | grep -q "over 4 workloads" || { echo "FAIL: geomean line"; exit 1; }
if python3 bench/compare.py "$tmp/r.json" base other > "$tmp/err" 2>&1; then
    echo "FAIL: an unknown allocator was accepted"; exit 1
fi
grep -q "no allocator 'other'" "$tmp/err" || { echo "FAIL: error message"; cat "$tmp/err"; exit 1; }
echo "bench/compare.py: verdicts as expected"
