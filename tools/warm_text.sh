#!/bin/sh
# warm_text.sh OBJ LIST — called by the Makefile on each object of the
# allocation layers in the release build (compiled with -ffunction-sections):
# every function section of OBJ whose function is not named in LIST moves to
# .umwarm, which src/cold.ld places in a code segment of its own (LIST,
# src/hot.list, says why). A name matches its compiler clones too
# (f.constprop.0, f.part.0, f.isra.0) and the part gcc splits off as
# unlikely (.text.unlikely.f: one such part of the decay tick runs in every
# threaded program); constructors and destructors (.text.startup.*,
# .text.exit.*) run in every program and stay.
set -eu
obj=$1
list=$2
[ -r "$list" ] || { echo "warm_text.sh: cannot read $list" >&2; exit 1; }
secs=$(readelf -SW "$obj") # its own step: a failure stops the build
args=$(printf '%s\n' "$secs" | awk -v list="$list" '
    BEGIN {
        while ((getline line < list) > 0) {
            sub(/#.*/, "", line)
            n = split(line, w, /[ \t]+/)
            for (i = 1; i <= n; i++)
                if (w[i] != "")
                    hot[w[i]] = 1
        }
    }
    {
        for (i = 1; i <= NF; i++)
            if ($i ~ /^\.text\./) {
                s = $i
                f = substr(s, 7)
                if (f ~ /^(startup|exit|hot)(\.|$)/)
                    break
                base = f
                sub(/^unlikely\./, "", base)
                sub(/\..*/, "", base)
                if (!(base in hot))
                    printf " --rename-section %s=.umwarm", s
                break
            }
    }')
[ -z "$args" ] || objcopy $args "$obj"
