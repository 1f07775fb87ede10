#!/bin/sh
# A program that never prints a report and makes no misuse keeps none of
# the library's read-only data segment (strings, unwind data: 7 pages) and
# none of its report code (6 pages) resident. The kernel maps a file
# mapping's pages in groups of up to 16 around each fault (fault-around),
# never past the mapping:
#  - the allocation paths used to read the read-only data: the environment
#    variables' names at start-up, the size tables, the paths of
#    /proc/self/statm and the cgroup files (read by the kernel, in open).
#    Those now live with the relocated data (UM_HOT_CONST) and the names
#    are read only when the environment holds a MALLOC_*, UMALLOC_* or
#    GLIBC_TUNABLES variable (options.c, um_env);
#  - the report code sat in the same mapping as the allocator's: it is a
#    segment of its own now, a page apart (src/cold.ld).
# Nor any of the allocator's code that src/hot.list leaves out (aligned
# blocks, fork, mallopt, malloc_trim, the checks: a third segment), even
# with threads that contend and exit or with multi-MiB blocks: with the
# whole of the allocator's code in one segment, each of these programs had
# all 20 of its pages resident; now the first segment's pages and no more.
# Run with an environment of PATH alone: the test runner's own
# UMALLOC_TEST_VARIANT would open the gate. Release only.
# timeout: 60
set -eu
case "${UMALLOC_TEST_VARIANT:-}" in release) ;; *) exit 77 ;; esac
[ -n "${UMALLOC_LIB:-}" ] || exit 77
[ -r /proc/self/pagemap ] || { echo "pagemap unreadable"; exit 77; }
command -v readelf >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -std=c11 -O1 -g -Wall -pthread -o "$tmp/prog" tests/programs/resident_prog.c
# the read-only LOAD segment that is not the first (headers, symbols)
off=$(readelf -lW "$UMALLOC_LIB" | awk '$1 == "LOAD" && $7 == "R" && $8 ~ /^0x/ && $2 != "0x000000" { print $2; exit }')
[ -n "$off" ] || { echo "no read-only data segment found"; exit 1; }
# the report code's and the rarely run allocator code's segments: a LOAD
# segment that starts at the section's file offset (page-aligned: the
# mapping's offset). Without src/cold.ld (a linker without INSERT) the
# sections sit inside the main code segment: then only the data is checked
sect() {
    o=$(readelf -SW "$UMALLOC_LIB" | awk -v s="$1" '{ for (i = 1; i < NF; i++) if ($i == s) { print $(i + 3); exit } }')
    [ -n "$o" ] || return 0
    o=$((0x$o / 4096 * 4096))
    for l in $(readelf -lW "$UMALLOC_LIB" | awk '$1 == "LOAD" { print $2 }'); do
        if [ $((l)) -eq "$o" ]; then printf '%x\n' "$o"; return 0; fi
    done
}
cold=$(sect .umcold)
warm=$(sect .umwarm)
[ -n "$cold" ] || echo "no segment of its own for .umcold (src/cold.ld not taken): not checked"
[ -n "$warm" ] || echo "no segment of its own for .umwarm (src/cold.ld not taken, or nothing moved): not checked"
fail=0
for mode in pairs threads big; do
    n=$(env -i PATH="$PATH" LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "$off" "$mode")
    echo "$mode: $n resident pages of the read-only data at $off"
    [ "$n" = 0 ] || fail=1
    for seg in ${cold:+"report code:$cold"} ${warm:+"rarely run code:$warm"}; do
        n=$(env -i PATH="$PATH" LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "${seg#*:}" "$mode")
        echo "$mode: $n resident pages of the ${seg%:*} at ${seg#*:}"
        [ "$n" = 0 ] || fail=1
    done
done
# the programs that run that code: the test sees each segment
for seg in ${cold:+"report:$cold"} ${warm:+"aligned:$warm"}; do
    n=$(env -i PATH="$PATH" LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "${seg#*:}" "${seg%:*}" 2>/dev/null) ||
        { echo "resident_prog ${seg%:*} failed"; fail=1; continue; }
    echo "${seg%:*}: $n resident pages of the segment at ${seg#*:}"
    [ "$n" -gt 0 ] || { echo "the segment at ${seg#*:} was never seen resident"; fail=1; }
done
# with any one of our variables set the names are read: the gate opens
for var in MALLOC_TOP_PAD_=131072 UMALLOC_PURGE_DECAY_MS=500 GLIBC_TUNABLES=glibc.malloc.top_pad=0; do
    n=$(env -i PATH="$PATH" "$var" LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "$off" pairs)
    echo "pairs with $var: $n"
    [ "$n" -gt 0 ] || { echo "the names were not read with $var set"; fail=1; }
done
# and the settings take effect from a clean environment
out=$(env -i PATH="$PATH" MALLOC_TOP_PAD_=131072 UMALLOC_VERBOSE=1 LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "$off" pairs 2>&1)
echo "$out" | grep -Eq "top_pad +131072 +MALLOC_\*_ environment" || { echo "MALLOC_TOP_PAD_ not applied:"; echo "$out"; fail=1; }
out=$(env -i PATH="$PATH" GLIBC_TUNABLES=glibc.malloc.top_pad=65536 UMALLOC_VERBOSE=1 LD_PRELOAD="$UMALLOC_LIB" "$tmp/prog" "$off" pairs 2>&1)
echo "$out" | grep -Eq "top_pad +65536 +GLIBC_TUNABLES" || { echo "GLIBC_TUNABLES not applied:"; echo "$out"; fail=1; }
exit $fail
