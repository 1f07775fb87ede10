#!/bin/sh
# The CPUs are counted once (arena.c, arena_limit): a thread that waits for
# the arena's lock asks for an arena of its own every fourth time, and at
# the arena limit (one arena on 1-2 CPUs) each ask used to call
# sched_getaffinity, holding the lock: a producer of 64-512 KiB blocks and
# its consumer (bench/patterns.c pipe) made 955 such calls in 20,000 blocks on
# this project's 2-CPU machine. Now one for the arena limit and one for the
# central cache's shards. Needs strace; 1 CPU skips (no contention to see).
# timeout: 60
set -eu
command -v strace >/dev/null 2>&1 || { echo "no strace"; exit 77; }
[ -n "${UMALLOC_LIB:-}" ] || exit 77
[ "$(nproc)" -ge 2 ] || { echo "one CPU"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -pthread -Wall -std=gnu11 -o "$tmp/prog" bench/patterns.c
out=$(LD_PRELOAD="$UMALLOC_LIB" strace -f -qq -e trace=sched_getaffinity -o "$tmp/trace" "$tmp/prog" pipe)
case "$out" in "pipe "*) ;; *) echo "program: $out"; exit 1 ;; esac
calls=$(grep -c sched_getaffinity "$tmp/trace" || true)
# waits on the lock (futex calls) show the test contended at all
waits=$(LD_PRELOAD="$UMALLOC_LIB" strace -f -qq -e trace=futex -o "$tmp/futex" "$tmp/prog" pipe >/dev/null && grep -c futex "$tmp/futex" || true)
echo "sched_getaffinity calls: $calls; futex calls in a second run: $waits"
[ "$calls" -le 3 ] || { echo "the CPUs were counted $calls times"; exit 1; }
