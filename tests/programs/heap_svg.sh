#!/bin/sh
# umalloc_heap_svg draws every chunk of a known heap in the state the other
# reports give it: parsed with a real XML parser, its chunks are counted
# against malloc_info (fast, bins, thread cache, central cache, mapped) and
# the program's live blocks; a 1 GiB heap's picture stays under 2 MB (drawn
# in cells); umrun --svg writes the picture of any program.
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
command -v python3 >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -std=c11 -O1 -g -Wall -pthread -o "$tmp/svg_prog" tests/programs/svg_prog.c -ldl
LD_PRELOAD="$UMALLOC_LIB" "$tmp/svg_prog" small "$tmp/small.svg" "$tmp/small.xml" "$tmp/live.txt"

python3 - "$tmp/small.svg" "$tmp/small.xml" "$tmp/live.txt" <<'EOF_PY'
import re, sys, xml.etree.ElementTree as ET
svg, info, live = sys.argv[1:4]
NS = "{http://www.w3.org/2000/svg}"
names = ["in use", "cached (thread cache)", "cached (central cache)", "free (fast bin)",
         "free (unsorted bin)", "free (small bin)", "free (large bin)", "top", "metadata"]
count = [0] * 9
size = [0] * 9
addr_state = {}
mapped = 0
root = ET.parse(svg).getroot()
for g in root.iter(NS + "g"):
    if g.get("class") != "region":
        continue
    assert g.get("data-mode") == "chunks", "small heap drawn in cells"
    for r in g.iter(NS + "rect"):
        cls = r.get("class", "").split()
        t = r.find(NS + "title")
        if "more" in cls or t is None or not cls[0].startswith("c"):
            continue
        st = int(cls[0][1:])
        m = re.search(r"\((\d+) B\)", t.text)
        assert m, t.text
        count[st] += 1
        size[st] += int(m.group(1))
        a = re.match(r"(?:chunk )?(0x[0-9a-f]+)", t.text)
        addr_state[int(a.group(1), 16)] = st
        assert names[st] in t.text, (st, t.text)
        if g.get("data-kind") == "mapped":
            mapped += 1
mi = ET.parse(info).getroot()
tot = {t.get("type"): (int(t.get("count", 0)), int(t.get("size", 0))) for t in mi.findall("total")}
rss = {p.get("type"): int(p.get("size", 0)) for p in mi.find("rss").findall("part")}
print("svg chunks by state:", dict(zip(names, count)))
print("malloc_info totals:", tot)
errors = []
def want(cond, msg):
    if not cond:
        errors.append(msg)
want(count[3] == tot["fast"][0], "fast: svg %d, malloc_info %d" % (count[3], tot["fast"][0]))
want(count[4] + count[5] + count[6] == tot["rest"][0],
     "bins: svg %d, malloc_info %d" % (count[4] + count[5] + count[6], tot["rest"][0]))
want(size[4] + size[5] + size[6] == tot["rest"][1], "bin bytes: svg %d, malloc_info %d" % (size[4] + size[5] + size[6], tot["rest"][1]))
want(count[1] == tot["tcache"][0], "thread cache: svg %d, malloc_info %d" % (count[1], tot["tcache"][0]))
want(size[1] == tot["tcache"][1], "thread cache bytes: svg %d, malloc_info %d" % (size[1], tot["tcache"][1]))
want(count[2] == tot["central"][0], "central cache: svg %d, malloc_info %d" % (count[2], tot["central"][0]))
want(mapped == tot["mmap"][0] and mapped >= 3, "mapped: svg %d, malloc_info %d" % (mapped, tot["mmap"][0]))
want(count[1] > 0 and count[4] + count[5] + count[6] > 0, "the known heap has no cached or no free chunks")
want(count[7] >= 1, "no top")
want(rss["live"] + rss["mapped"] == size[0], "in use bytes: svg %d, malloc_info live+mapped %d" % (size[0], rss["live"] + rss["mapped"]))
for line in open(live):
    a = int(line, 16)
    want(addr_state.get(a) == 0, "live block chunk %#x drawn as %s" % (a, names[addr_state[a]] if a in addr_state else "nothing"))
# the legend names every state, the program break is marked
texts = [t.text for t in root.iter(NS + "text")]
for n in names:
    want(n in texts, "legend lacks " + n)
want(any(r.get("class") == "brk" for r in root.iter(NS + "rect")), "program break not marked")
if errors:
    print("\n".join(errors[:20]))
    sys.exit(1)
print("small heap: ok")
EOF_PY

# a 1 GiB heap: under 2 MB, drawn in cells whose size is written
if [ -z "${UMALLOC_TEST_DEBUG:-}" ]; then
    LD_PRELOAD="$UMALLOC_LIB" "$tmp/svg_prog" big "$tmp/big.svg" "$tmp/big.xml"
    python3 - "$tmp/big.svg" "$tmp/big.xml" <<'EOF_PY'
import os, re, sys, xml.etree.ElementTree as ET
svg, info = sys.argv[1:3]
NS = "{http://www.w3.org/2000/svg}"
n = os.path.getsize(svg)
root = ET.parse(svg).getroot()
sys_bytes = int([s for s in ET.parse(info).getroot().findall("system") if s.get("type") == "current"][0].get("size"))
cells = [g for g in root.iter(NS + "g") if g.get("data-mode") == "cells"]
heads = [t.text for t in root.iter(NS + "text") if t.text and "drawn in cells of" in t.text]
print("1 GiB heap: svg %d bytes, heap %d bytes, %d region(s) in cells: %s" % (n, sys_bytes, len(cells), heads[:1]))
assert sys_bytes >= 1 << 30, "the heap is only %d bytes" % sys_bytes
assert n < 2 * 1000 * 1000, "svg is %d bytes" % n
assert cells and heads, "big heap not drawn in cells"
EOF_PY
    # many arenas, each fragmented: the budget is shared, still under 2 MB
    LD_PRELOAD="$UMALLOC_LIB" "$tmp/svg_prog" arenas "$tmp/ar.svg" "$tmp/ar.xml"
    python3 - "$tmp/ar.svg" <<'EOF_PY'
import os, sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
n = os.path.getsize(sys.argv[1])
root = ET.parse(sys.argv[1]).getroot()
regions = [g for g in root.iter(NS + "g") if g.get("class") == "region" and g.get("data-kind") != "mapped"]
arenas = {g.get("data-arena") for g in regions}
print("8 threads: svg %d bytes, %d heap regions in %d arenas" % (n, len(regions), len(arenas)))
if len(arenas) < 2:
    print("note: the threads shared one arena (no lock contention seen); the bound holds anyway")
assert n < 2 * 1000 * 1000, "svg is %d bytes" % n
EOF_PY
fi

# umrun --svg draws any program's heap
UMALLOC_LIB="$UMALLOC_LIB" tools/umrun -q --svg "$tmp/py.svg" -- python3 -c 'x = [str(i) * 10 for i in range(20000)]' 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
python3 -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); n = sum(1 for _ in r.iter("{http://www.w3.org/2000/svg}rect")); assert n > 100, n; print("python3 picture:", n, "rects")' "$tmp/py.svg"
# --at: drawn on the signal, while the program runs
UMALLOC_LIB="$UMALLOC_LIB" tools/umrun -q --svg "$tmp/sig.svg" --at USR2 -- python3 -c '
import os, signal, time
x = [bytes(100) for i in range(1000)]
os.kill(os.getpid(), signal.SIGUSR2)
for i in range(100):
    if os.path.exists(os.environ["UMALLOC_SVG"]) and os.path.getsize(os.environ["UMALLOC_SVG"]) > 0:
        break
    time.sleep(0.05)
print("seen", os.path.getsize(os.environ["UMALLOC_SVG"]))
' > "$tmp/sig.out" 2>"$tmp/sig.err" || { cat "$tmp/sig.err"; exit 1; }
grep -q "^seen [1-9]" "$tmp/sig.out" || { cat "$tmp/sig.out" "$tmp/sig.err"; echo "picture not taken on the signal"; exit 1; }
grep -q "heap picture written to .* (on signal)" "$tmp/sig.err" || { cat "$tmp/sig.err"; echo "no note of the picture"; exit 1; }
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$tmp/sig.svg"
echo "heap svg: ok"
