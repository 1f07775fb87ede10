#!/bin/sh
# CPython's own regression tests for threads, fork, signals, the garbage
# collector, weak references, subprocesses, memory maps and the containers,
# run by Debian's python3 under LD_PRELOAD=$UMALLOC_LIB with every object
# allocated through malloc (PYTHONMALLOC=malloc), must all pass, as they do
# on the system allocator. This set takes about 40 s on two CPUs; the
# whole suite, run once by hand, is in tests/README.md ("Real programs").
# Exit: 0 pass, 77 python3's test package not installed, other = fail.
# variants: release
# timeout: 900
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
if [ -n "$UMALLOC_LIB" ] && [ ! -f "$UMALLOC_LIB" ]; then
    echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1
fi
# Debian's interpreter, the one its libpython3.X-testsuite package matches
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "no $PY"; exit 77; }
"$PY" -c 'import test.regrtest, test.test_threading' >/dev/null 2>&1 ||
    { echo "python3's test package not installed (libpython3.X-testsuite)"; exit 77; }

# (absolute: the tests run in a directory of their own)
case $UMALLOC_LIB in
    ""|/*) ;;
    *) UMALLOC_LIB=$(pwd)/$UMALLOC_LIB ;;
esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
cd "$tmp" || exit 1

# the preload must be in effect in the interpreter the tests run in
if [ -n "$UMALLOC_LIB" ]; then
    LD_PRELOAD="$UMALLOC_LIB" "$PY" -c '
import os, sys
want = os.path.realpath(sys.argv[1])
sys.exit(0 if want in open("/proc/self/maps").read() else 3)' "$UMALLOC_LIB" ||
        { echo "the interpreter does not run on $UMALLOC_LIB"; exit 1; }
fi

tests="test_threading test_thread test_threadsignals test_fork1 test_wait4
       test_gc test_weakref test_os test_subprocess test_mmap test_tracemalloc
       test_dict test_set test_list test_deque test_bytes test_unicode
       test_memoryview test_array test_struct test_sort test_re test_json
       test_pickle"
# (word splitting of $tests is wanted)
# shellcheck disable=SC2086
env LD_PRELOAD="$UMALLOC_LIB" PYTHONMALLOC=malloc \
    "$PY" -m test -j2 --timeout 600 $tests >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q '^Tests result: SUCCESS' "$tmp/out"; then
    echo "CPython's regression tests failed (exit $rc):"
    grep -E 'failed|crashed|Fatal|umalloc|Tests result' "$tmp/out" | head -40
    tail -20 "$tmp/out"
    exit 1
fi
grep -E '^[0-9]+ tests? OK|^All [0-9]+ tests OK' "$tmp/out"
exit 0
