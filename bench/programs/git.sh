#!/bin/sh
# git workload for bench/run.py (runs under the allocator being measured).
# usage: git.sh SRC WORK NFILES NVERSIONS
#   SRC/v1 .. SRC/vN are prepared trees: v1 is the full tree, each later one
#   holds only the files that change (and some new ones) in that version.
# Builds a repository in WORK commit by commit, then runs status, log, diff,
# grep, blame and gc, and checks counts.  Exits non-zero on a wrong result.
set -eu
SRC=$1 WORK=$2 NFILES=$3 NVER=$4
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
export GIT_CONFIG_NOSYSTEM=1 HOME="$WORK" GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" \
       GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
git init -q -b main .
git config user.name bench
git config user.email bench@localhost
git config gc.auto 0
v=1
while [ "$v" -le "$NVER" ]; do
    cp -r "$SRC/v$v/." .
    if [ "$v" -gt 1 ]; then
        changed=$(git status --porcelain | wc -l)
        [ "$changed" -gt 0 ] || { echo "FAIL: v$v changed nothing" >&2; exit 1; }
    fi
    git add -A
    git commit -q -m "version $v"
    v=$((v + 1))
done
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(git rev-list --count HEAD)" -eq "$NVER" ] || fail "commit count"
[ "$(git ls-files | wc -l)" -eq "$NFILES" ] || fail "file count $(git ls-files | wc -l) != $NFILES"
[ -z "$(git status --porcelain)" ] || fail "tree not clean"
git log --stat > ../git-log.txt
[ "$(grep -c '^commit ' ../git-log.txt)" -eq "$NVER" ] || fail "log"
git diff --stat HEAD~1 HEAD > /dev/null
git log -p -3 > /dev/null
git grep -c needle_ > /dev/null || fail "grep"
git blame -s d00/f0000.txt > /dev/null
git gc -q
[ "$(git count-objects -v | sed -n 's/^count: //p')" -eq 0 ] || fail "loose objects after gc"
git fsck --no-dangling --no-progress > /dev/null 2>&1 || fail "fsck"
git status --porcelain > /dev/null
echo "ok git files=$NFILES versions=$NVER"
