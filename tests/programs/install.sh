#!/bin/sh
# Packaging: `make install DESTDIR=... PREFIX=/usr` puts the versioned
# library (SONAME libumalloc.so.1), the static library with its internals
# local, the header with numeric version macros, the pkg-config file, umrun
# and the man pages in place; the installed umrun finds the installed
# library; `make uninstall` removes it all; the user's CFLAGS/LDFLAGS reach
# the compiler and -Werror only with WERROR=1; relative relocations are
# packed (DT_RELR) where the toolchain can.
# variants: release
# timeout: 120
set -eu
command -v make >/dev/null 2>&1 || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# install what the suite is testing: the same WERROR as the build (a
# different one would rebuild the library under the other running tests)
werror=0
grep -q -- -Werror build/flags 2>/dev/null && werror=1
make -s install WERROR=$werror DESTDIR="$tmp/stage" PREFIX=/usr >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; fail "make install"; }
if grep -q '^  CC ' "$tmp/make.log"; then cat "$tmp/make.log"; fail "make install rebuilt the library"; fi
r=$tmp/stage/usr
for f in lib/libumalloc.so.1 lib/libumalloc.a include/umalloc.h lib/pkgconfig/umalloc.pc \
         bin/umrun share/man/man1/umrun.1 share/man/man3/umalloc.3; do
    [ -f "$r/$f" ] || fail "missing $f"
done
[ -x "$r/bin/umrun" ] || fail "umrun not executable"
[ "$(readlink "$r/lib/libumalloc.so")" = libumalloc.so.1 ] || fail "lib/libumalloc.so is not a link to libumalloc.so.1"
grep -q '^libdir=/usr/lib$' "$r/lib/pkgconfig/umalloc.pc" || fail "pkg-config libdir"

# SONAME
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$r/lib/libumalloc.so.1" | grep -q 'Library soname: \[libumalloc.so.1\]' || fail "SONAME is not libumalloc.so.1"
    # packed relative relocations where the toolchain has them (the Makefile
    # probes the same way): the part of the file the loader reads stays
    # within two pages
    if printf 'int x; int *p = &x;\n' | ${CC:-cc} -shared -fPIC -Wl,-z,pack-relative-relocs \
            -x c - -o "$tmp/relr.so" 2>/dev/null; then
        readelf -d "$r/lib/libumalloc.so.1" | grep -q '(RELR)' || fail "no DT_RELR in the library"
        first=$(readelf -lW "$r/lib/libumalloc.so.1" | awk '$1 == "LOAD" { print $5; exit }')
        [ $((first)) -le 8192 ] || fail "first load segment is $first bytes, over two pages"
    fi
fi

# the static library exports the API and nothing of the internals
if command -v nm >/dev/null 2>&1; then
    nm -g --defined-only "$r/lib/libumalloc.a" > "$tmp/nm.txt"
    grep -q ' T malloc$' "$tmp/nm.txt" || fail "malloc not exported by libumalloc.a"
    grep -q ' T umalloc_heap_svg$' "$tmp/nm.txt" || fail "umalloc_heap_svg not exported by libumalloc.a"
    if grep ' um_' "$tmp/nm.txt"; then fail "internal um_* symbols are global in libumalloc.a"; fi
fi

# a program with its own um_* names links the static library and runs on it;
# the version macros agree with the version string
cat > "$tmp/prog.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umalloc.h>
int um_write = 7;                        /* same names as umalloc internals */
int um_lock_slow(int x) { return x + um_write; }
int main(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", UMALLOC_VERSION_MAJOR, UMALLOC_VERSION_MINOR,
             UMALLOC_VERSION_PATCH);
    if (strcmp(want, UMALLOC_VERSION) || strcmp(umalloc_version(), UMALLOC_VERSION))
        return 3;
    if (UMALLOC_VERSION_NUMBER != UMALLOC_MAKE_VERSION(UMALLOC_VERSION_MAJOR,
                                                       UMALLOC_VERSION_MINOR, UMALLOC_VERSION_PATCH))
        return 4;
    void *p = malloc(100);
    umalloc_check();
    free(p);
    return um_lock_slow(1) == 8 ? 0 : 5;
}
EOC
${CC:-gcc} -std=c11 -Wall -Werror -I"$r/include" "$tmp/prog.c" -o "$tmp/prog" "$r/lib/libumalloc.a" -lpthread \
    || fail "a program defining um_* names does not link with libumalloc.a"
"$tmp/prog" || fail "static program exited $?"

# the installed umrun finds the installed library
out=$(env -u UMALLOC_LIB "$r/bin/umrun" -v --stats -- true 2>&1) || fail "installed umrun: $out"
echo "$out" | grep -q "LD_PRELOAD=$tmp/stage/usr/lib/libumalloc.so.1" || { echo "$out"; fail "installed umrun did not use the installed library"; }
echo "$out" | grep -q '^== umalloc: pid [0-9]*: true (at exit)$' || { echo "$out"; fail "no report from the installed umrun"; }
# and the tree's umrun finds ../build
out=$(env -u UMALLOC_LIB tools/umrun -v -q -- true 2>&1)
echo "$out" | grep -q "LD_PRELOAD=$(pwd -P)/build/libumalloc.so" || { echo "$out"; fail "tools/umrun did not use build/"; }

make -s uninstall WERROR=$werror DESTDIR="$tmp/stage" PREFIX=/usr >/dev/null || fail "make uninstall"
left=$(find "$tmp/stage" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"

# user flags are appended, -Werror only with WERROR=1 (dry runs: nothing is built)
cmd=$(make -n -B CFLAGS=-DUSER_CFLAG_MARK LDFLAGS=-Wl,--user-ldflag-mark build/libumalloc.so.1 2>/dev/null)
echo "$cmd" | grep -q 'src/malloc.c.*-DUSER_CFLAG_MARK\|-DUSER_CFLAG_MARK.*src/malloc.c' || fail "CFLAGS not used"
echo "$cmd" | grep -q -- '-Wl,--user-ldflag-mark' || fail "LDFLAGS not used"
if echo "$cmd" | grep -q -- '-Werror'; then fail "-Werror without WERROR=1"; fi
make -n -B WERROR=1 build/libumalloc.so.1 2>/dev/null | grep -q -- '-Werror' || fail "WERROR=1 does not add -Werror"
echo "install, uninstall, SONAME, static symbols, umrun lookup, flags: ok"
