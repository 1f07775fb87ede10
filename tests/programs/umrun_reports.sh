#!/bin/sh
# umrun reports for the program it runs and no other process (unless
# --follow), each report headed by pid and command; warns when the preload
# did not take (a static binary); --verbose shows settings and where they
# came from; K/M/G suffixes are accepted and a bad value is named on stderr.
# timeout: 90
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
command -v python3 >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { UMALLOC_LIB="$UMALLOC_LIB" tools/umrun "$@"; }

# the issue's target: one report, headed by python3's pid and command
out=$(run --stats --map -- python3 -c 'import subprocess; subprocess.run(["true"])' 2>&1)
n=$(echo "$out" | grep -c '^== umalloc: pid ' || true)
[ "$n" = 1 ] || { echo "$out" | grep '^== '; fail "$n reports, expected 1"; }
echo "$out" | grep -q '^== umalloc: pid [0-9][0-9]*: .*python3 -c import subprocess; subprocess.run(\["true"\]) (at exit)$' \
    || { echo "$out" | head -3; fail "report header lacks pid/command"; }
[ "$(echo "$out" | grep -c '^Arena 0:')" = 1 ] || fail "malloc_stats printed more or less than once"
[ "$(echo "$out" | grep -c '^umalloc heap map')" = 1 ] || fail "heap map printed more or less than once"
# the report comes after the program, not in the middle of its output
out=$(run --stats -- sh -c 'echo first; echo second' 2>&1)
echo "$out" | head -2 | tr '\n' ' ' | grep -q '^first second $' || { echo "$out"; fail "program output interleaved with the report"; }

# --follow: the children report too (python3 and the two it runs)
out=$(run --stats --follow -- python3 -c 'import subprocess; subprocess.run(["true"]); subprocess.run(["true"])' 2>&1)
n=$(echo "$out" | grep -c '^== umalloc: pid .* (at exit)$' || true)
[ "$n" -ge 3 ] || { echo "$out" | grep '^=='; fail "--follow: $n reports, expected 3"; }

# a static program: the preload cannot take, and umrun says so
if command -v gcc >/dev/null 2>&1 && printf 'int main(void){return 0;}\n' > "$tmp/s.c" &&
   gcc -static -o "$tmp/static" "$tmp/s.c" 2>/dev/null; then
    out=$(run --stats -- "$tmp/static" 2>&1)
    echo "$out" | grep -q "warning: umalloc was not loaded into $tmp/static (pid [0-9]*): it looks statically linked" \
        || { echo "$out"; fail "no warning for a static binary"; }
else
    echo "no static libc: static-binary check skipped"
fi
# a program that ends by a signal: the preload took, but no exit report
out=$(run --stats -- sh -c 'kill -9 $$' 2>&1 || true)
echo "$out" | grep -q 'ended without running its exit handlers' || { echo "$out"; fail "no word about the missing exit report"; }

# --verbose: settings in effect and where each came from; suffixes parse
out=$(MALLOC_MMAP_THRESHOLD_=1M GLIBC_TUNABLES=glibc.malloc.top_pad=64K run -v -q -- true 2>&1)
echo "$out" | grep -Eq '^  mmap_threshold +1048576  MALLOC_\*_ environment$' || { echo "$out"; fail "MALLOC_MMAP_THRESHOLD_=1M not applied or origin wrong"; }
echo "$out" | grep -Eq '^  top_pad +65536  GLIBC_TUNABLES$' || { echo "$out"; fail "glibc.malloc.top_pad=64K not applied or origin wrong"; }
echo "$out" | grep -Eq '^  trim_threshold +131072  default$' || { echo "$out"; fail "default origin missing"; }
echo "$out" | grep -Eq '^  UMALLOC_VERBOSE=1$' || { echo "$out"; fail "umalloc's own variables not listed"; }
# mallopt from the program is named as the origin
cat > "$tmp/mo.c" <<'EOC'
#include <malloc.h>
int main(void) { return mallopt(M_MMAP_THRESHOLD, 65536) == 1 ? 0 : 1; }
EOC
if gcc -o "$tmp/mo" "$tmp/mo.c" 2>/dev/null; then
    out=$(run -v -q -- "$tmp/mo" 2>&1)
    echo "$out" | grep -Eq '^  mmap_threshold +65536  mallopt$' || { echo "$out"; fail "mallopt origin"; }
fi
# a bad value is ignored with one line naming it; children of the run stay quiet
out=$(MALLOC_TOP_PAD_=12Q run -q -- sh -c '/bin/true; /bin/true' 2>&1)
[ "$(echo "$out" | grep -c 'umalloc: ignoring MALLOC_TOP_PAD_=12Q: not a number')" = 1 ] \
    || { echo "$out"; fail "bad MALLOC_TOP_PAD_ not reported exactly once"; }
out=$(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=64X run -q -- true 2>&1)
echo "$out" | grep -q 'umalloc: ignoring GLIBC_TUNABLES: glibc.malloc.mmap_threshold=64X: not a number' \
    || { echo "$out"; fail "bad tunable not reported"; }
out=$(MALLOC_MMAP_THRESHOLD_=1G run -q -- true 2>&1)
echo "$out" | grep -q 'umalloc: ignoring MALLOC_MMAP_THRESHOLD_=1G: out of range' \
    || { echo "$out"; fail "out-of-range threshold not reported"; }
echo "reports: ok"
