#!/bin/sh
# A program on umalloc keeps no more of libc resident than on glibc's
# malloc. The kernel maps a file page with its neighbours in the same 64 KiB
# (fault-around), so one call into a stretch of libc the program does not
# otherwise use costs up to 16 resident pages: umalloc's clock_gettime and
# pthread_atfork at start-up did (about 24 pages more than glibc's malloc,
# bench pairs-16 1,956 against 1,700 KiB peak RSS). The clock now comes from
# the vDSO and the fork handlers with the first thread (os.c, arena.c).
# Medians of 7 runs of each; libc's load address moves between runs, and
# with it which neighbours come in, so the margin is 8 pages. Release only.
# timeout: 60
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
[ -r /proc/self/pagemap ] || { echo "pagemap unreadable"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -std=c11 -O1 -g -Wall -pthread -o "$tmp/prog" tests/programs/resident_prog.c
median() { sort -n | sed -n 4p; }
for i in 1 2 3 4 5 6 7; do
    "$tmp/prog" libc pairs >>"$tmp/glibc"
    LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" libc pairs >>"$tmp/umalloc"
done
g=$(median <"$tmp/glibc")
u=$(median <"$tmp/umalloc")
echo "resident libc pages, medians of 7: glibc's malloc $g, umalloc $u"
[ "$u" -le $((g + 8)) ] || { echo "umalloc keeps $((u - g)) more pages of libc resident"; exit 1; }
echo ok
