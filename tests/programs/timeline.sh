#!/bin/sh
# umrun --timeline samples RSS / in use / cached / free over time in a thread
# started only when asked, and charts them at exit: the chart (parsed with
# an XML parser) shows the program's 16 MiB held and then freed.
# timeout: 60
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
command -v python3 >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -std=c11 -O1 -g -Wall -o "$tmp/prog" tests/programs/timeline_prog.c
# no sampler thread unless asked
out=$(UMALLOC_LIB="$UMALLOC_LIB" tools/umrun -q --stats -- "$tmp/prog" 2>/dev/null)
[ "$out" = "threads 1" ] || { echo "without --timeline: $out"; exit 1; }
out=$(UMALLOC_LIB="$UMALLOC_LIB" tools/umrun -q --timeline "$tmp/t.svg" --interval 20 -- "$tmp/prog" 2>"$tmp/err")
[ "$out" = "threads 2" ] || { echo "with --timeline: $out"; cat "$tmp/err"; exit 1; }
grep -q "timeline written to $tmp/t.svg" "$tmp/err" || { cat "$tmp/err"; exit 1; }
python3 - "$tmp/t.svg" <<'EOF_PY'
import sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
s = {p.get("data-series"): p for p in root.iter(NS + "polyline")}
assert set(s) == {"rss", "used", "cached", "free"}, s.keys()
MiB = 1 << 20
peak = {k: int(p.get("data-peak")) for k, p in s.items()}
last = {k: int(p.get("data-last")) for k, p in s.items()}
npts = len(s["used"].get("points").split())
print("points %d, peaks %s, at exit %s" % (npts, {k: v // 1024 for k, v in peak.items()}, {k: v // 1024 for k, v in last.items()}))
assert npts >= 10, "only %d samples in 0.8 s at 20 ms" % npts
assert peak["used"] >= 16 * MiB, "in-use peak %d" % peak["used"]
assert peak["rss"] >= 16 * MiB, "RSS peak %d" % peak["rss"]
assert last["used"] < 4 * MiB, "in use at exit %d" % last["used"]
# the curve rises and falls: some sample in the middle holds the 16 MiB
ys = [int(p.split(",")[1]) for p in s["used"].get("points").split()]
assert min(ys) < max(ys), "flat in-use line"
EOF_PY
echo "timeline: ok"
