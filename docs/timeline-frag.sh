#!/bin/sh
# Makes docs/timeline-frag.svg (the README's timeline): bench/frag's phases
# of changing size mixes, sampled every 50 ms by umrun --timeline.
cd "$(dirname "$0")/.." || exit 1
make -s || exit 1
mkdir -p build/bench
gcc -std=c11 -D_GNU_SOURCE -O2 -pthread -Ibench -o build/bench/frag bench/frag.c -lm || exit 1
tools/umrun --timeline docs/timeline-frag.svg -- build/bench/frag
