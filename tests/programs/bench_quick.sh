#!/bin/sh
# The benchmark suite at a tiny scale (issue: "make bench-quick is part of
# make test, so the suite never rots"): every workload under every allocator
# that is installed must run and pass its own checks. Release build only.
# timeout: 300
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
exec python3 bench/run.py --quick --skip-missing --alloc "umalloc=$UMALLOC_LIB"
