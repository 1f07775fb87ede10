#!/bin/sh
# perl (hashes, regexes, sort, join/split) under LD_PRELOAD=$UMALLOC_LIB must
# print exactly what it prints on the system allocator.
# Exit: 0 pass, 77 perl not installed, other = fail.
# timeout: 600
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
if [ -n "$UMALLOC_LIB" ] && [ ! -f "$UMALLOC_LIB" ]; then
    echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1
fi
command -v perl >/dev/null 2>&1 || { echo "perl not installed"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
if [ -n "${UMALLOC_TEST_DEBUG:-}" ]; then N=2000; else N=150000; fi

cat > "$tmp/work.pl" <<'EOF'
use strict;
use warnings;

if (my $want = $ENV{UMALLOC_EXPECT_LIB}) {
    open(my $m, '<', '/proc/self/maps') or die "maps: $!";
    local $/;
    my $maps = <$m>;
    if (index($maps, $want) < 0) { print STDERR "not running on $want\n"; exit 3; }
}

my $n = shift;
my $seed = 42;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed >> 8; }
sub digest { my $s = shift; return sprintf("%d:%08x", length($s), unpack("%32C*", $s)) .
             ":" . substr(join('', map { sprintf "%02x", ord } split //, reverse substr($s, -8)), 0, 16); }

my %h;
for my $i (1 .. $n) {
    my $k = join '', map { chr(97 + rnd() % 26) } 1 .. (1 + rnd() % 10);
    push @{ $h{$k} }, $i;
}
my @keys = sort keys %h;
print "keys ", scalar(@keys), "\n";

my $text = join ' ', map { "$_=" . scalar(@{ $h{$_} }) } @keys;
print "text ", digest($text), "\n";
(my $t2 = $text) =~ s/([aeiou]+)(\w)/\U$2\E$1/g;
print "subst ", digest($t2), "\n";
my @m = ($text =~ /\b(\w{3})\w*=(\d+)/g);
print "matches ", scalar(@m), "\n";

my %inv;
for my $k (@keys) { $inv{ scalar @{ $h{$k} } } .= "$k," }
print "inv ", join(' ', map { "$_:" . length($inv{$_}) } sort { $a <=> $b } keys %inv), "\n";

my @words = split / /, $t2;
my %len;
$len{ length $_ }++ for @words;
print "lens ", join(',', map { "$_=$len{$_}" } sort { $a <=> $b } keys %len), "\n";

my $s = '';
for my $k (@keys[0 .. ($#keys < 20000 ? $#keys : 20000)]) { $s .= uc($k) x 3; $s = substr($s, 1000) if length($s) > 4000; }
print "build ", digest($s), "\n";
delete $h{$_} for grep { /^[a-h]/ } @keys;
print "left ", scalar(keys %h), "\n";
my @sorted = sort { length($a) <=> length($b) or $b cmp $a } keys %h;
print "sorted ", join(' ', @sorted[0 .. 4]), "\n";
EOF

if ! PERL_HASH_SEED=0 perl "$tmp/work.pl" "$N" > "$tmp/ref.out" 2> "$tmp/ref.err"; then
    echo "reference run (system allocator) failed:"; cat "$tmp/ref.err"; exit 1
fi
env LD_PRELOAD="$UMALLOC_LIB" UMALLOC_EXPECT_LIB="$UMALLOC_LIB" PERL_HASH_SEED=0 \
    perl "$tmp/work.pl" "$N" > "$tmp/test.out" 2> "$tmp/test.err"
rc=$?
if [ $rc -ne 0 ]; then
    echo "perl under $UMALLOC_LIB failed with status $rc:"; tail -20 "$tmp/test.err"; exit 1
fi
if ! cmp -s "$tmp/ref.out" "$tmp/test.out"; then
    echo "output differs from the system allocator's:"; diff "$tmp/ref.out" "$tmp/test.out" | head -20
    exit 1
fi
echo "perl: identical output ($(wc -l < "$tmp/ref.out") lines, N=$N)"
exit 0
