#!/bin/sh
# The documentation covers the interface: every UMALLOC_* variable the
# library reads (a "UMALLOC_..." string in src/) is in docs/umalloc.3 and in
# README.md, and every function and mallopt parameter include/umalloc.h
# declares for users (outside the prefixed build's renames) is in
# docs/umalloc.3. (The man page had lost the purge's functions and
# variables while the code and the header had them.)
# variants: release
# timeout: 60
set -eu
fail=0
vars=$(grep -oh '"UMALLOC_[A-Z_]*"' src/*.c | tr -d '"' | sort -u)
[ -n "$vars" ] || { echo "FAIL: no UMALLOC_ variable found in src/ (the test lost its input)"; exit 1; }
for v in $vars; do
    grep -q "$v" docs/umalloc.3 || { echo "FAIL: $v is read by the library but missing from docs/umalloc.3"; fail=1; }
    grep -q "$v" README.md || { echo "FAIL: $v is read by the library but missing from README.md"; fail=1; }
done
# the header's public part ends where the prefixed build's renames begin
api=$(sed '/^#ifdef UMALLOC_PREFIXED/,$d' include/umalloc.h |
      grep -oE '\b(umalloc_[a-z_]+|M_UMALLOC_[A-Z_]+)\b' | sort -u)
[ -n "$api" ] || { echo "FAIL: no umalloc_ name found in include/umalloc.h"; exit 1; }
for f in $api; do
    grep -q "$f" docs/umalloc.3 || { echo "FAIL: $f is in include/umalloc.h but missing from docs/umalloc.3"; fail=1; }
done
n_vars=$(echo "$vars" | wc -l)
n_api=$(echo "$api" | wc -l)
[ "$fail" -eq 0 ] && echo "ok: $n_vars variables and $n_api header names documented"
exit "$fail"
