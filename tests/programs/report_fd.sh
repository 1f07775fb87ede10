#!/bin/sh
# UMALLOC_STATS without umrun: the exit report goes to stderr, through a
# descriptor the library opens for it; a program that closed stderr and
# reused descriptor 2 for a file of its own (as daemons do) must not find
# the report in that file. With UMALLOC_REPORT_FILE the report reaches the
# file even when the program closed stderr.
# timeout: 60
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/daemon.c" <<'EOC'
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    free(malloc(100));
    close(2);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644); /* becomes fd 2 */
    if (fd != 2)
        return 3;
    write(fd, "own log\n", 8);
    return argc > 2 ? 0 : 0;
}
EOC
gcc -std=c11 -O1 -Wall -o "$tmp/daemon" "$tmp/daemon.c"
# plain run: the report is on stderr, headed by pid and command
LD_PRELOAD="$UMALLOC_LIB" UMALLOC_STATS=1 /bin/true 2>"$tmp/err1"
grep -q '^== umalloc: pid [0-9]*: /bin/true (at exit)$' "$tmp/err1" || { cat "$tmp/err1"; echo "no report on stderr"; exit 1; }
grep -q '^Arena 0:' "$tmp/err1" || { cat "$tmp/err1"; echo "no malloc_stats"; exit 1; }
# the daemon's own file at fd 2 receives nothing of ours
LD_PRELOAD="$UMALLOC_LIB" UMALLOC_STATS=1 UMALLOC_HEAP_MAP=1 "$tmp/daemon" "$tmp/own.log" 2>"$tmp/err2"
[ "$(cat "$tmp/own.log")" = "own log" ] || { echo "--- own.log:"; head -5 "$tmp/own.log"; echo "the report went into the program's own file"; exit 1; }
# with a report file it is written there (the pid replaces %p)
LD_PRELOAD="$UMALLOC_LIB" UMALLOC_STATS=1 UMALLOC_REPORT_FILE="$tmp/rep.%p" "$tmp/daemon" "$tmp/own2.log"
[ "$(cat "$tmp/own2.log")" = "own log" ] || { echo "report in the program's file"; exit 1; }
set -- "$tmp"/rep.*
[ -f "$1" ] && [ $# = 1 ] || { echo "report file missing: $*"; exit 1; }
grep -q "^== umalloc: pid ${1##*.}: $tmp/daemon $tmp/own2.log (at exit)$" "$1" || { cat "$1"; echo "bad report file"; exit 1; }
grep -q '^RSS account' "$1" || { cat "$1"; echo "no RSS account"; exit 1; }
echo "report descriptors: ok"
