#!/bin/sh
# The heap picture renders in a browser: headless Chromium screenshots the
# SVG of a known heap, and the PNG must show the picture (not a blank page):
# many non-white pixels, and the colours of in-use, cached and free chunks.
# Skipped, with a message, where /usr/bin/chromium is missing (.ci/run
# installs it).
# variants: release
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
    echo "SKIP: $chromium is missing (apt-get install chromium); screenshot test not run"
    exit 77
fi
command -v python3 >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -std=c11 -O1 -g -Wall -pthread -o "$tmp/svg_prog" tests/programs/svg_prog.c -ldl
LD_PRELOAD="$UMALLOC_LIB" "$tmp/svg_prog" small "$tmp/heap.svg" "$tmp/heap.xml"
h=$(sed -n 's/.*<svg [^>]*height="\([0-9]*\)".*/\1/p' "$tmp/heap.svg" | head -1)
[ -n "$h" ] || { echo "no height in the svg"; exit 1; }
timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --hide-scrollbars --window-size=1200,"$h" \
    --screenshot="$tmp/heap.png" "file://$tmp/heap.svg" >"$tmp/chromium.log" 2>&1 || true
[ -s "$tmp/heap.png" ] || { tail -5 "$tmp/chromium.log"; echo "chromium wrote no screenshot"; exit 1; }
python3 - "$tmp/heap.png" <<'EOF_PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        bpp = 3 if ctype == 2 else 4
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev, i = [], bytearray(stride), 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
colours = {}
nonwhite = 0
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        if px != b"\xff\xff\xff":
            nonwhite += 1
        colours[px] = colours.get(px, 0) + 1
total = w * h
want = {"in use": (0x3b, 0x6f, 0xc4), "cached (thread cache)": (0x9b, 0x59, 0xb6), "free (unsorted bin)": (0xf4, 0xd0, 0x3f)}
seen = {k: colours.get(bytes(v), 0) for k, v in want.items()}
print("screenshot %dx%d: %.1f%% non-white, %d colours, pixels per state colour %s" % (w, h, 100.0 * nonwhite / total, len(colours), seen))
assert nonwhite > total // 20, "the screenshot is blank"
for k, n in seen.items():
    assert n > 50, "no %s pixels in the screenshot" % k
EOF_PY
echo "heap svg renders: ok"
