#!/bin/sh
# python3 (dicts, strings, json, regex) under LD_PRELOAD=$UMALLOC_LIB must
# print exactly what it prints on the system allocator.
# Exit: 0 pass, 77 python3 not installed, other = fail.
# timeout: 600
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
if [ -n "$UMALLOC_LIB" ] && [ ! -f "$UMALLOC_LIB" ]; then
    echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
# the real interpreter, not a wrapper script (pyenv shims are bash scripts)
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
[ -x "$PY" ] || PY=$(command -v python3)

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

if [ -n "${UMALLOC_TEST_DEBUG:-}" ]; then
    N=1500                   # the debug build checks the heap after every call
    PYMALLOC=                # keep pymalloc: far fewer malloc calls
else
    N=40000
    PYMALLOC=malloc          # every object through malloc/free/realloc
fi

cat > "$tmp/work.py" <<'EOF'
import collections, hashlib, json, os, random, re, sys

want = os.environ.get("UMALLOC_EXPECT_LIB")
if want:
    with open("/proc/self/maps") as f:
        if os.path.realpath(want) not in f.read():
            sys.stderr.write("not running on %s\n" % want)
            sys.exit(3)

n = int(sys.argv[1])
rng = random.Random(12345)
letters = "abcdefghijklmnopqrstuvwxyz"
words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(n)]

index = {}
for i, w in enumerate(words):
    index.setdefault(w, []).append(i)

doc = {"items": [{"id": i, "name": w, "tags": [w[::-1], w.upper(), w * (i % 4)],
                  "score": (i * 7919) % 1000 / 7.0,
                  "nested": {"k": list(range(i % 17)), "s": {str(j): j for j in range(i % 5)}}}
                 for i, w in enumerate(words)]}
text = json.dumps(doc, sort_keys=True)
back = json.loads(text)
assert back == doc
print("json", len(text), hashlib.sha256(text.encode()).hexdigest())

cnt = collections.Counter(words)
print("counter", len(cnt), cnt.most_common(5))

joined = " ".join(words)
swapped = re.sub(r"([aeiou])([^aeiou ]+)", lambda m: m.group(2).upper() + m.group(1), joined)
print("regex", len(swapped), hashlib.sha256(swapped.encode()).hexdigest())
print("findall", len(re.findall(r"\b[a-m]{3,}\b", joined)))

big = {i: str(i) * (i % 50) for i in range(n * 2)}
for i in range(0, n * 2, 3):
    del big[i]
print("dict", len(big), sum(len(v) for v in big.values()))

ba = bytearray()
for w in words:
    ba += w.encode() * 3
print("bytearray", len(ba), hashlib.md5(bytes(ba)).hexdigest())

lst = sorted(set(words), key=lambda w: (len(w), w))
print("sorted", len(lst), lst[:5], lst[-3:])
s = ""
for w in words[: n // 4]:
    s += w
    if len(s) > 5000:
        s = s[2500:]
print("strbuild", len(s), hashlib.sha1(s.encode()).hexdigest())
tree = None
for w in words[: n // 2]:
    tree = (w, tree)
depth = 0
while tree is not None:
    depth += 1
    tree = tree[1]
print("chain", depth)
EOF

if ! env PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 ${PYMALLOC:+PYTHONMALLOC=$PYMALLOC} "$PY" "$tmp/work.py" "$N" > "$tmp/ref.out" 2> "$tmp/ref.err"; then
    echo "reference run (system allocator) failed:"; cat "$tmp/ref.err"; exit 1
fi
env LD_PRELOAD="$UMALLOC_LIB" UMALLOC_EXPECT_LIB="$UMALLOC_LIB" \
    PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 ${PYMALLOC:+PYTHONMALLOC=$PYMALLOC} \
    "$PY" "$tmp/work.py" "$N" > "$tmp/test.out" 2> "$tmp/test.err"
rc=$?
if [ $rc -ne 0 ]; then
    echo "python3 under $UMALLOC_LIB failed with status $rc:"; tail -20 "$tmp/test.err"; exit 1
fi
if ! cmp -s "$tmp/ref.out" "$tmp/test.out"; then
    echo "output differs from the system allocator's:"; diff "$tmp/ref.out" "$tmp/test.out" | head -20
    exit 1
fi
echo "python3: identical output ($(wc -l < "$tmp/ref.out") lines, N=$N)"
exit 0
