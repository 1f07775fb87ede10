#!/bin/sh
# run.py --cpu N: single-threaded workloads run on CPU N only (the launcher
# pins its child), multi-threaded ones keep every CPU, the report says so,
# and a CPU the process may not use is refused. Release build only.
# timeout: 120
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
cpu=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 bench/run.py --quick --cpu "$cpu" --only '^(pairs-16|threads-2)$' --allocs umalloc \
    --alloc "umalloc=$UMALLOC_LIB" --out "$out/pin" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
grep -q "^- single-threaded workloads pinned to CPU $cpu (--cpu)" "$out/pin.md" || {
    echo "report lacks the pinned line"; exit 1; }
# the launcher run.py built: with BENCH_LAUNCH_CPU its child sees one CPU
launch=build/bench/launch
got=$(BENCH_LAUNCH_CPU=$cpu $launch "$out/r" sh -c 'grep ^Cpus_allowed_list: /proc/self/status' | awk '{print $2}')
[ "$got" = "$cpu" ] || { echo "pinned child allowed on '$got', expected '$cpu'"; exit 1; }
got=$($launch "$out/r" sh -c 'grep ^Cpus_allowed_list: /proc/self/status' | awk '{print $2}')
want=$(grep ^Cpus_allowed_list: /proc/self/status | awk '{print $2}')
[ "$got" = "$want" ] || { echo "unpinned child allowed on '$got', expected '$want'"; exit 1; }
# the variable does not reach the workload's own children
env_left=$(BENCH_LAUNCH_CPU=$cpu $launch "$out/r" sh -c 'echo "${BENCH_LAUNCH_CPU:-unset}"')
[ "$env_left" = unset ] || { echo "BENCH_LAUNCH_CPU leaked into the child"; exit 1; }
if python3 bench/run.py --quick --cpu 4096 --only pairs-16 --allocs umalloc \
    --alloc "umalloc=$UMALLOC_LIB" --out "$out/bad" >"$out/log" 2>&1; then
    echo "--cpu 4096 accepted"; exit 1
fi
grep -q "not a CPU this process may use" "$out/log" || { cat "$out/log"; exit 1; }
echo ok
