"""Interpreter-heap workload for bench/run.py: dicts, strings and JSON.

usage: python3 pywork.py SCALE       (1.0 = about a second)

Builds a list of nested records, round-trips it through JSON, indexes it in
dicts, does string splitting/joining/formatting and a word count, deletes
and rebuilds half of the index, and checks every result against values
computed another way.  Exits 1 on a wrong result.
"""
import json
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n = max(500, int(40000 * scale))

    # records: nested dicts, lists, strings of varied length
    records = []
    for i in range(n):
        records.append({
            "id": i,
            "name": "user%07d" % i,
            "email": "u%d@example%d.org" % (i, i % 17),
            "tags": ["t%d" % (i % 13), "g%d" % (i % 7), "x" * (i % 23)],
            "score": (i * 7919) % 1000 / 10.0,
            "meta": {"level": i % 5, "note": "n" * (i % 97), "ok": i % 3 == 0},
        })

    text = json.dumps(records)
    back = json.loads(text)
    if back != records:
        fail("json round trip")
    if sum(r["id"] for r in back) != n * (n - 1) // 2:
        fail("id sum")

    # index and group
    by_name = {r["name"]: r for r in back}
    groups = {}
    for r in back:
        groups.setdefault(r["tags"][0], []).append(r["id"])
    if len(by_name) != n or sum(len(v) for v in groups.values()) != n:
        fail("index sizes")
    for k, ids in groups.items():
        if any("t%d" % (i % 13) != k for i in ids[:50]):
            fail("group " + k)

    # string work: split, count, format, join
    words = text.replace("{", " ").replace("}", " ").replace(",", " ").split()
    counts = {}
    for w in words:
        key = w[:8]
        counts[key] = counts.get(key, 0) + 1
    if sum(counts.values()) != len(words):
        fail("word count")
    lines = ["%s;%s;%.1f;%s" % (r["name"], r["email"], r["score"], "|".join(r["tags"]))
             for r in back]
    blob = "\n".join(lines)
    parsed = [ln.split(";") for ln in blob.split("\n")]
    if len(parsed) != n or parsed[n // 2][0] != "user%07d" % (n // 2):
        fail("csv round trip")

    # churn: drop half the index, rebuild with new, longer values
    for i in range(0, n, 2):
        del by_name["user%07d" % i]
    for i in range(0, n, 2):
        by_name["user%07d" % i] = {"id": i, "blob": ("%d," % i) * (1 + i % 40)}
    total = 0
    for i in range(0, n, 2):
        total += len(by_name["user%07d" % i]["blob"].split(",")) - 1
    expect = sum(1 + i % 40 for i in range(0, n, 2))
    if total != expect:
        fail("rebuilt index %d != %d" % (total, expect))

    # many small json documents
    acc = 0
    for i in range(n):
        d = json.loads(json.dumps({"k": i, "v": [i, str(i), {"z": i * 2}]}))
        acc += d["v"][2]["z"]
    if acc != n * (n - 1):
        fail("small docs")
    print("ok pywork records=%d json_bytes=%d" % (n, len(text)))


main()
