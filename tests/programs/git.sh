#!/bin/sh
# git under LD_PRELOAD=$UMALLOC_LIB: build the same repository (a few hundred
# files, several commits, renames, deletions) with and without the preload,
# with fixed names and dates, so commit and tree hashes are deterministic;
# `git log --stat`, `git gc`, `git fsck`, ls-tree, diff, grep must agree.
# Exit: 0 pass, 77 git not installed, other = fail.
# timeout: 600
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
if [ -n "$UMALLOC_LIB" ] && [ ! -f "$UMALLOC_LIB" ]; then
    echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1
fi
command -v git >/dev/null 2>&1 || { echo "git not installed"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if [ -n "${UMALLOC_TEST_DEBUG:-}" ]; then N=40; else N=400; fi

export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="U Malloc" GIT_AUTHOR_EMAIL="umalloc@example.com"
export GIT_COMMITTER_NAME="U Malloc" GIT_COMMITTER_EMAIL="umalloc@example.com"
export LC_ALL=C TZ=UTC
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

# build_repo DIR PRELOAD: creates the repository in DIR and writes a transcript
# of everything git printed to DIR.transcript; fails if any git command fails.
build_repo() {
    dir=$1 pre=$2
    mkdir -p "$dir" && cd "$dir" || return 1
    g() { env LD_PRELOAD="$pre" git "$@"; }
    when() { GIT_AUTHOR_DATE="2024-01-0${1}T12:00:00Z"; GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE;
             export GIT_AUTHOR_DATE GIT_COMMITTER_DATE; }
    g -c init.defaultBranch=main init -q . || return 1
    i=1
    while [ $i -le $N ]; do
        d="dir$((i % 13))/sub$((i % 5))"
        mkdir -p "$d"
        j=0
        while [ $j -lt $((i % 23 + 3)) ]; do
            echo "file $i line $j: the quick brown fox $((i * j % 97)) jumps over $((i + j))"
            j=$((j + 1))
        done > "$d/f$i.txt"
        i=$((i + 1))
    done
    when 1; g add -A && g commit -q -m "initial: $N files" || return 1
    i=1
    while [ $i -le $N ]; do
        f="dir$((i % 13))/sub$((i % 5))/f$i.txt"
        if [ $((i % 7)) -eq 0 ]; then echo "appended to $i" >> "$f"; fi
        if [ $((i % 11)) -eq 0 ]; then g mv -k "$f" "dir$((i % 13))/renamed$i.txt" || return 1; fi
        if [ $((i % 17)) -eq 0 ] && [ -f "$f" ]; then g rm -q -f "$f" || return 1; fi
        i=$((i + 1))
    done
    when 2; g commit -q -a -m "second: edits, renames, deletions" || return 1
    g checkout -q -b topic || return 1
    echo "topic work" > topic.txt
    when 3; g add topic.txt && g commit -q -m "topic" || return 1
    g checkout -q main || return 1
    echo "main work" > main.txt
    when 4; g add main.txt && g commit -q -m "main" || return 1
    when 5; g merge -q --no-edit topic || return 1
    {
        echo "== rev-parse";   g rev-parse HEAD HEAD^{tree} HEAD~1 topic
        echo "== log --stat";  g log --stat -M --format='%H %T %an %ad %s'
        echo "== ls-tree";     g ls-tree -r HEAD
        echo "== diff";        g diff --stat -M HEAD~3 HEAD
        echo "== grep";        g grep -c "fox 1" HEAD -- "dir1*" | head -20
        echo "== gc";          g gc -q --prune=now 2>&1; echo "gc status $?"
        echo "== fsck";        g fsck --full --strict --no-progress 2>&1; echo "fsck status $?"
        echo "== after gc";    g log --format='%H %T' | head -5
        echo "== count";       g count-objects -v | grep -E '^(count|in-pack|packs|prune-packable|garbage)'
        echo "== cat-file";    g cat-file -p HEAD~2:dir1/sub1/f1.txt
    } > "$dir.transcript" 2>&1
}

( build_repo "$tmp/ref" "" ) || { echo "git failed on the system allocator"; exit 1; }
( build_repo "$tmp/test" "$UMALLOC_LIB" ) > "$tmp/test.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    echo "git under $UMALLOC_LIB failed:"; tail -20 "$tmp/test.log"; exit 1
fi
for s in "gc status 0" "fsck status 0"; do
    grep -qx "$s" "$tmp/ref.transcript" || { echo "reference run: no '$s'"; exit 1; }
done
if ! cmp -s "$tmp/ref.transcript" "$tmp/test.transcript"; then
    echo "git output differs from the system allocator's:"
    diff "$tmp/ref.transcript" "$tmp/test.transcript" | head -30
    exit 1
fi
echo "git: identical transcripts ($(wc -l < "$tmp/ref.transcript") lines, N=$N, HEAD $(head -2 "$tmp/ref.transcript" | tail -1))"
exit 0
