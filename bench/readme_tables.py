#!/usr/bin/env python3
"""Copy the headline tables of bench/results/latest.md into README.md,
between the <!-- bench:begin --> and <!-- bench:end --> markers, so the
README always shows the numbers of the last full run (and says when)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def section(md, title):
    i = md.index("## " + title)
    j = md.find("\n## ", i + 3)
    return md[i:j if j >= 0 else len(md)]


def rows(text, keep=lambda line: True):
    return "\n".join(l for l in text.splitlines() if l.startswith("|") and keep(l))


def geomean(md, title):
    line = [l for l in section(md, title).splitlines() if "geomean" in l][0]
    cells = [c.strip().strip("*") for c in line.strip("|").split("|")][1:]
    return cells


def main():
    md = open(os.path.join(ROOT, "bench/results/latest.md")).read()
    head = {m.group(1): m.group(2) for m in re.finditer(r"^- (\w[\w ]*): (.*)$", md, re.M)}
    allocs = [c.strip() for c in section(md, "Wall time (s)").splitlines()[2].strip("|").split("|")][1:]
    def geo_line(title):
        return ", ".join(f"{a} {v}" for a, v in zip(allocs, geomean(md, title)))
    pairs = rows(section(md, "Instructions per operation (cachegrind)"),
                 lambda l: l.startswith(("| pairs-", "| bulk ", "| bulk-med ")) or l.startswith("| workload") or l.startswith("|---"))
    m = re.match(r"`([^`]*)`\s*(.*)", head.get("command", "`python3 bench/run.py`"))
    cmd, where = (m.group(1).strip(), m.group(2).strip()) if m else ("python3 bench/run.py", "")
    out = f"""Measured {head.get('date', '?')} on {head.get('machine', '?')}, with
`{cmd}` {where}; runs per cell: {head.get('runs per cell', '?')}.
Each cell: the median, and in parentheses the allocator's value over
umalloc's — **above 1.00x umalloc wins, below it loses**.

![wall time relative to umalloc](bench/results/latest.svg)

**Wall time (s)**, geometric mean of the ratios: {geo_line('Wall time (s)')}.

{rows(section(md, 'Wall time (s)'))}

**Instructions per malloc+free pair** (the allocator's own, counted by
`valgrind --tool=cachegrind`):

{pairs}

**Peak RSS**, geometric mean of the ratios: {geo_line('Peak RSS (MiB)')}.
**Minor page faults**: {geo_line('Minor page faults')}."""
    path = os.path.join(ROOT, "README.md")
    readme = open(path).read()
    b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
    if b not in readme or e not in readme:
        sys.exit("README.md has no bench markers")
    readme = readme[: readme.index(b) + len(b)] + "\n" + out + "\n" + readme[readme.index(e):]
    open(path, "w").write(readme)


if __name__ == "__main__":
    main()
