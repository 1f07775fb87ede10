#!/bin/sh
# tools/umrun runs a program on umalloc and, with --stats/--map, the library
# reports at exit even when the program closes stderr first (ls does).
# timeout: 60
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
out=$(UMALLOC_LIB="$UMALLOC_LIB" tools/umrun --stats --map -- ls / 2>&1)
echo "$out" | tail -4
echo "$out" | grep -q "^Arena 0:" || { echo "no malloc_stats at exit"; exit 1; }
echo "$out" | grep -q "^umalloc heap map" || { echo "no heap map at exit"; exit 1; }
echo "$out" | grep -q "^usr$" || { echo "ls output missing"; exit 1; }
