#!/bin/sh
# The CPUs are counted once (arena.c, arena_limit): a thread that waits for
# the arena's lock asks for an arena of its own every fourth time, and at
# the arena limit (one arena on 1-2 CPUs) each ask used to call
# sched_getaffinity, holding the lock: a producer of 64-512 KiB blocks and
# its consumer (bench/patterns.c pipe) made 955 such calls in 20,000 blocks on
# this project's 2-CPU machine. Now one for the arena limit and one for the
# central cache's shards. Run on two CPUs (taskset: one arena, whatever the
# machine), and skipped when the run saw no wait on a lock (futex calls),
# or with strace, taskset or a second CPU missing.
# timeout: 60
set -eu
command -v strace >/dev/null 2>&1 || { echo "no strace"; exit 77; }
command -v taskset >/dev/null 2>&1 || { echo "no taskset"; exit 77; }
[ -n "${UMALLOC_LIB:-}" ] || exit 77
[ "$(nproc)" -ge 2 ] || { echo "one CPU"; exit 77; }
# the first two CPUs of the affinity list ("0-3,8" -> "0,1")
cpus=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
       awk -F- '{ hi = NF > 1 ? $2 : $1; for (c = $1; c <= hi; c++) print c }' | head -2 | paste -sd, -)
[ -n "$cpus" ] && [ "${cpus#*,}" != "$cpus" ] || { echo "no two CPUs in the affinity list"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -pthread -Wall -std=gnu11 -o "$tmp/prog" bench/patterns.c
out=$(LD_PRELOAD="$UMALLOC_LIB" taskset -c "$cpus" strace -f -qq -e trace=sched_getaffinity -o "$tmp/trace" "$tmp/prog" pipe)
case "$out" in "pipe "*) ;; *) echo "program: $out"; exit 1 ;; esac
calls=$(grep -c sched_getaffinity "$tmp/trace" || true)
# waits on the lock (futex calls) show the test contended at all
waits=$(LD_PRELOAD="$UMALLOC_LIB" taskset -c "$cpus" strace -f -qq -e trace=futex -o "$tmp/futex" "$tmp/prog" pipe >/dev/null && grep -c futex "$tmp/futex" || true)
echo "on CPUs $cpus: sched_getaffinity calls: $calls; futex calls in a second run: $waits"
[ "$waits" -gt 10 ] || { echo "no waits on a lock: nothing to see"; exit 77; }
[ "$calls" -le 3 ] || { echo "the CPUs were counted $calls times"; exit 1; }
