#!/usr/bin/env python3
"""Is one build faster than another in a bench/run.py result, or is it the host?

    python3 bench/compare.py RESULT.json BASE NEW [--metric wall] [--only REGEX]

BASE and NEW are two allocator names of one run (`bench/run.py --alloc
base=OLD.so --alloc new=NEW.so --allocs base,new --runs 7 ...`, whose runs
are interleaved). For each workload it prints both medians, NEW's median
over BASE's, a 95% bootstrap interval of that ratio (the runs of each side
resampled), and the two-sided Mann-Whitney p-value of the two sets of runs;
the verdict names a difference only when p < 0.05, the interval leaves
out 1 and the ratio is at least 1% from 1 (--min-effect: page-fault counts
vary so little that a difference of a few faults in 12,730 can pass the
test). On this host one run swings 10-20% and a set of runs can move 2x an
hour later (README, "One run is one sample"), so three or four runs a side
rarely show less than a 15% change, and a difference in one set that is not
in the next is the host: rerun before believing it. Lower is better for
every metric (wall, cpu, maxrss_kb, minflt). The last line is the geometric
mean of the ratios over the workloads, with its own bootstrap interval.
Standard library only.
"""
import argparse
import json
import math
import random
import re
import statistics
import sys

METRICS = ("wall", "cpu", "maxrss_kb", "minflt")


def runs_of(cell, metric):
    return [float(r[metric]) for r in cell.get("runs", []) if r.get("ok") and metric in r]


def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test: exact (the null
    distribution of U counted by recursion) when there are no ties and
    len(a) + len(b) <= 40, else the normal approximation with the tie
    correction and a continuity correction."""
    n1, n2 = len(a), len(b)
    pooled = sorted((v, 0 if i < n1 else 1) for i, v in enumerate(a + b))
    ranks = [0.0] * len(pooled)
    i = 0
    ties = []
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    u = min(u1, n1 * n2 - u1)
    if not ties and n1 + n2 <= 40:
        # counts[k]: orderings of n1 and n2 values whose U is k
        memo = {}

        def count(m, n, k):
            if k < 0:
                return 0
            if m == 0 or n == 0:
                return 1 if k == 0 else 0
            key = (m, n, k)
            if key not in memo:
                memo[key] = count(m - 1, n, k - n) + count(m, n - 1, k)
            return memo[key]

        total = math.comb(n1 + n2, n1)
        tail = sum(count(n1, n2, k) for k in range(int(u) + 1))
        return min(1.0, 2 * tail / total)
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return 1.0
    z = (abs(u - mu) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(z, 0) / math.sqrt(2)))


def bootstrap_ratio(a, b, rng, reps):
    """95% interval of median(b) / median(a), both sides resampled."""
    out = []
    for _ in range(reps):
        ma = statistics.median(rng.choices(a, k=len(a)))
        mb = statistics.median(rng.choices(b, k=len(b)))
        if ma > 0:
            out.append(mb / ma)
    out.sort()
    if not out:
        return (float("nan"), float("nan"))
    return (out[int(0.025 * (len(out) - 1))], out[int(0.975 * (len(out) - 1))])


def compare(data, base, new, metric, only=None, reps=2000, seed=1, min_effect=0.01):
    """Rows (name, median base, median new, ratio, lo, hi, p, verdict) and
    the geometric mean (ratio, lo, hi) or None."""
    rng = random.Random(seed)
    rows, pairs = [], []
    for w in data.get("workloads", []):
        if only and not re.search(only, w["name"]):
            continue
        res = w.get("results", {})
        if base not in res or new not in res:
            continue
        a, b = runs_of(res[base], metric), runs_of(res[new], metric)
        if len(a) < 2 or len(b) < 2:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        if ma <= 0:
            continue
        ratio = mb / ma
        lo, hi = bootstrap_ratio(a, b, rng, reps)
        p = mann_whitney_p(a, b)
        if abs(ratio - 1) < min_effect:
            verdict = "not shown"
        elif p < 0.05 and hi < 1:
            verdict = "lower"
        elif p < 0.05 and lo > 1:
            verdict = "higher"
        else:
            verdict = "not shown"
        rows.append((w["name"], ma, mb, ratio, lo, hi, p, verdict))
        pairs.append((a, b))
    geo = None
    if pairs:
        def gm(ps):
            return math.exp(statistics.fmean(
                math.log(statistics.median(b) / statistics.median(a)) for a, b in ps))
        reps_g = []
        for _ in range(reps // 4):
            reps_g.append(gm([(rng.choices(a, k=len(a)), rng.choices(b, k=len(b))) for a, b in pairs]))
        reps_g.sort()
        geo = (gm(pairs), reps_g[int(0.025 * (len(reps_g) - 1))], reps_g[int(0.975 * (len(reps_g) - 1))])
    return rows, geo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("result", help="a bench/run.py JSON result")
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("--metric", default="wall", choices=METRICS)
    ap.add_argument("--only", help="regex over the workload names")
    ap.add_argument("--reps", type=int, default=2000, help="bootstrap resamples (default 2000)")
    ap.add_argument("--min-effect", type=float, default=0.01,
                    help="a ratio within 1 +- this is never named (default 0.01)")
    args = ap.parse_args()
    with open(args.result) as f:
        data = json.load(f)
    names = set()
    for w in data.get("workloads", []):
        names.update(w.get("results", {}))
    for n in (args.base, args.new):
        if n not in names:
            sys.exit(f"compare.py: no allocator {n!r} in {args.result} (has: {', '.join(sorted(names))})")
    rows, geo = compare(data, args.base, args.new, args.metric, args.only, args.reps,
                        min_effect=args.min_effect)
    if not rows:
        sys.exit("compare.py: no workload has two runs or more of both")
    print(f"{args.metric}: {args.new} over {args.base}, medians; 95% bootstrap interval; Mann-Whitney p")
    print()
    print(f"| workload | {args.base} | {args.new} | ratio | interval | p | verdict |")
    print("|---|---:|---:|---:|---|---:|---|")
    for name, ma, mb, ratio, lo, hi, p, verdict in rows:
        print(f"| {name} | {ma:.4g} | {mb:.4g} | {ratio:.3f} | {lo:.3f}-{hi:.3f} | {p:.3f} | {verdict} |")
    print()
    g, lo, hi = geo
    print(f"geomean ratio {g:.3f} (interval {lo:.3f}-{hi:.3f}) over {len(rows)} workloads")


if __name__ == "__main__":
    main()
