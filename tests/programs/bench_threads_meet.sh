#!/bin/sh
# bench/threads' "meet" count (docs/performance.md's threads-2u paragraph quotes it):
# it prints one line once every thread is done, with numbers that fit
# together (changes fewer than blocks, shared lines no more than changes),
# on umalloc; and under glibc, whose threads each get an arena of their
# own, it finds the two threads' blocks apart (at most a few changes).
# Its "own" count (the same over the whole run) prints a line per thread;
# under glibc it finds none with an arena per thread and many with one
# arena for both (MALLOC_ARENA_MAX=1: their chunks come from one top and
# one set of bins), so it tells the two apart. An unknown word is refused.
# Release build only.
# variants: release
# timeout: 120
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# run.py builds the benchmark programs
python3 bench/run.py --quick --only '^threads-2u$' --allocs umalloc \
    --alloc "umalloc=$UMALLOC_LIB" --out "$out/q" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
check() { # $1: what ran; $2: most thread changes allowed (or "any")
    line=$(grep '^meet: ' "$out/err" || true)
    [ -n "$line" ] || { echo "$1: no meet line"; cat "$out/err"; exit 1; }
    [ "$(grep -c '^meet: ' "$out/err")" -eq 1 ] || { echo "$1: more than one meet line"; exit 1; }
    set -- "$1" "$2" $(echo "$line" | tr -cs '0-9' ' ')
    what=$1 most=$2 live=$3 changes=$4 shared=$5
    [ "$live" -gt 7000 ] && [ "$live" -le 8192 ] || { echo "$what: $live live blocks"; exit 1; }
    [ "$changes" -lt "$live" ] || { echo "$what: $changes changes among $live blocks"; exit 1; }
    [ "$shared" -le "$changes" ] || { echo "$what: $shared shared lines, $changes changes"; exit 1; }
    [ "$most" = any ] || [ "$changes" -le "$most" ] || {
        echo "$what: the threads' blocks change $changes times in address order (at most $most)"; exit 1; }
    echo "$what: $line"
}
LD_PRELOAD="$UMALLOC_LIB" build/bench/threads 2 uniform meet --quick >/dev/null 2>"$out/err"
check umalloc any
env -u LD_PRELOAD build/bench/threads 2 uniform meet --quick >/dev/null 2>"$out/err"
check glibc 4
own() { # $1: what ran; $2: "none" (every count 0), "some" (1% of the mallocs or more) or "any"
    [ "$(grep -c '^own: thread ' "$out/err")" -eq 2 ] || { echo "$1: not two own lines"; cat "$out/err"; exit 1; }
    grep '^own: thread ' "$out/err" | tr -cs '0-9\n' ' ' | while read -r t n of; do
        [ "$n" -le "$of" ] && [ "$of" -gt 100000 ] || { echo "$1: thread $t: $n of $of"; exit 1; }
        case $2 in
        none) [ "$n" -eq 0 ] || { echo "$1: thread $t: $n mallocs met another thread's line"; exit 1; } ;;
        some) [ "$n" -ge $((of / 100)) ] || { echo "$1: thread $t: only $n of $of"; exit 1; } ;;
        esac
    done
    echo "$1: $(grep '^own: ' "$out/err" | tr '\n' ' ')"
}
LD_PRELOAD="$UMALLOC_LIB" build/bench/threads 2 uniform own --quick >/dev/null 2>"$out/err"
own "umalloc own" any
env -u LD_PRELOAD build/bench/threads 2 uniform own --quick >/dev/null 2>"$out/err"
own "glibc own" none
# (7-38% of glibc's mallocs there in --quick runs: how much the two threads
# overlap in time varies; a longer run for this one)
env -u LD_PRELOAD MALLOC_ARENA_MAX=1 build/bench/threads 2 uniform own --scale=0.1 >/dev/null 2>"$out/err"
own "glibc one arena own" some
if build/bench/threads 2 uniform bogus --quick >/dev/null 2>"$out/err"; then
    echo "an unknown word was accepted"; exit 1
fi
grep -q "usage: threads N \[uniform\] \[meet\] \[own\]" "$out/err" || { cat "$out/err"; exit 1; }
echo ok
