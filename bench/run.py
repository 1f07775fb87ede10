#!/usr/bin/env python3
"""Side-by-side allocator benchmark for umalloc (stdlib only).

    python3 bench/run.py [--quick] [--runs N] [--only REGEX] [--alloc name=path ...]
                         [--no-cachegrind] [--skip-missing] [--list]

Compiles the workloads in bench/*.c into build/bench/, runs every workload
under every allocator (interleaved, several times), and writes
bench/results/latest.{md,json,svg} (or build/bench/quick.{md,json,svg} with
--quick).  See bench/README.md.
"""
import argparse
import datetime
import fnmatch
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
BUILD = os.path.join(REPO, "build", "bench")
WORK = None   # scratch directory (tmpfs when possible), made by make_work_dir()
LIBDIR = "/usr/lib/x86_64-linux-gnu"

DEFAULT_ALLOCS = [
    ("umalloc", "build/libumalloc.so"),
    ("glibc", None),
    ("jemalloc", LIBDIR + "/libjemalloc.so.2"),
    ("tcmalloc", LIBDIR + "/libtcmalloc_minimal.so.4"),
    ("mimalloc", LIBDIR + "/libmimalloc.so.2"),
]
COLORS = {"umalloc": "#d62728", "glibc": "#7f7f7f", "jemalloc": "#1f77b4",
          "tcmalloc": "#2ca02c", "mimalloc": "#9467bd"}
EXTRA_COLORS = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

C_SOURCES = ["pairs", "bulk", "aligned", "heap_random", "trees", "server", "prodcons", "oneway",
             "xchurn", "prodcons_batch", "threads", "false_sharing", "realloc", "bigblocks",
             "bigslots", "frag", "churn", "relay", "sweep", "rounds"]
REDIS_PORT = 6399


def make_work_dir():
    """Scratch space for the real programs: on tmpfs (/dev/shm) when possible so that
    git and gcc measure the allocator and not the disk; removed at exit."""
    global WORK
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else BUILD
    os.makedirs(base, exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="umalloc-bench.", dir=base)
    import atexit
    atexit.register(shutil.rmtree, WORK, True)


def snapshot_libs(allocs):
    """Copy libraries that live outside the system directories (e.g. build/libumalloc.so,
    which `make` may rewrite while a long run is going on) to the scratch directory, so
    every run of the session uses the same bytes."""
    for a in allocs:
        a.origin = a.path
        if a.path and not a.path.startswith(("/usr/", "/lib/", "/lib64/")):
            dst = os.path.join(WORK, "lib", a.name, os.path.basename(a.path))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(a.path, dst)
            a.path = dst


def log(msg=""):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# allocators

class Alloc:
    def __init__(self, name, path, env=None):
        self.name = name
        self.path = path            # absolute path of the preload, or None (glibc)
        self.env = env or {}        # variables its runs get (--alloc-env)

    def preload_env(self, base, force_libc=False, var="LD_PRELOAD"):
        """base plus the preload in `var` (BENCH_LAUNCH_PRELOAD: for bench/launch.c,
        which passes it on to its child as LD_PRELOAD)."""
        env = dict(base)
        env.pop("LD_PRELOAD", None)
        env.update(self.env)
        if self.path:
            env[var] = self.path
        elif force_libc:
            env[var] = libc_path()
        return env

    def matches(self, reported):
        """Does the 'allocator:' line of a workload name this allocator?"""
        if self.path:
            return os.path.realpath(reported) == os.path.realpath(self.path)
        return os.path.basename(reported).startswith("libc.so")


_LIBC = None


def libc_path():
    """The libc.so.6 this machine uses (from our own memory map)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = LIBDIR + "/libc.so.6"
        with open("/proc/self/maps") as fh:
            for line in fh:
                if re.search(r"/libc\.so\.6$", line.strip()):
                    _LIBC = line.split()[-1]
                    break
    return _LIBC


def parse_allocs(args):
    allocs = [list(a) for a in DEFAULT_ALLOCS]
    alloc_env = {}
    for spec in args.alloc_env or []:
        name, sep, var = spec.partition(":")
        if not sep or "=" not in var or not var.split("=", 1)[0]:
            sys.exit("--alloc-env wants name:VAR=VALUE")
        k, v = var.split("=", 1)
        alloc_env.setdefault(name, {})[k] = v
    for spec in args.alloc or []:
        if "=" not in spec:
            sys.exit("--alloc wants name=path (path may be 'none' for no preload)")
        name, path = spec.split("=", 1)
        path = None if path in ("", "none") else path
        for a in allocs:
            if a[0] == name:
                a[1] = path
                break
        else:
            allocs.append([name, path])
    out = []
    for name, path in allocs:
        if path is not None:
            path = os.path.join(REPO, path) if not os.path.isabs(path) else path
            if not os.path.exists(path):
                if args.skip_missing:
                    log(f"warning: {name}: {path} not found, skipped (--skip-missing)")
                    continue
                if name == "umalloc":
                    sys.exit(f"error: umalloc library {path} not found.\n"
                             "  Build it first (make), or pass --alloc umalloc=PATH, "
                             "or --skip-missing to benchmark only the others.")
                sys.exit(f"error: {name}: {path} not found "
                         "(run: sh bench/install-peers.sh), or pass --skip-missing")
        out.append(Alloc(name, path, alloc_env.get(name)))
    if args.allocs:
        want = args.allocs.split(",")
        out = [a for a in out if a.name in want]
    if not out:
        sys.exit("error: no allocators to run")
    return out


# --------------------------------------------------------------------------
# workloads

class Workload:
    """kind: 'synthetic' or 'real'.  argv(scale) -> list; check(stdout) -> error or None."""

    def __init__(self, name, kind, desc, argv=None, full=1.0, quick=0.01, single=False,
                 cg_scale=None, check=None, setup=None, cwd=None, stdin=None,
                 needs=None, runner=None, links_malloc=False, ops_unit="op",
                 marginal=False, probe=None):
        self.name, self.kind, self.desc = name, kind, desc
        self.argv_fn, self.full, self.quick = argv, full, quick
        self.single = single            # single-threaded: gets a cachegrind run
        self.cg_scale = cg_scale        # scale of the cachegrind run
        self.check_fn, self.setup_fn = check, setup
        self.cwd, self.stdin = cwd, stdin
        self.needs = needs or []        # programs that must exist
        self.runner = runner            # custom runner (redis)
        self.links_malloc = links_malloc  # program links its own malloc: preload libc for "glibc"
        self.ops_unit = ops_unit
        self.marginal = marginal        # cachegrind: also run at 1/4 scale, report the difference
        self.probe = probe              # real programs: argv to check the preload with
        self.skip_reason = None

    def available(self):
        for prog in self.needs:
            if not shutil.which(prog) and not os.path.exists(prog):
                return f"{prog} not found"
        return None


def bin_path(name):
    return os.path.join(BUILD, name)


def synthetic(name, binary, args, desc, **kw):
    return Workload(name, "synthetic", desc,
                    argv=lambda scale: [bin_path(binary)] + args + [f"--scale={scale:g}"], **kw)


def python_exe():
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


# ---- gcc ----

def gcc_setup(w, scale):
    nfuncs = max(10, int(250 * scale))
    os.makedirs(WORK, exist_ok=True)
    src = os.path.join(WORK, "gcc-big.c")
    out = subprocess.run([sys.executable, os.path.join(BENCH, "programs", "gen_c.py"),
                          str(nfuncs), src], check=True, capture_output=True, text=True)
    w.expected = out.stdout.strip()
    w.nfuncs = nfuncs


def gcc_argv(scale):
    return ["gcc", "-O2", "-pipe", "-o", os.path.join(WORK, "gcc-big"), os.path.join(WORK, "gcc-big.c")]


def gcc_check_factory(w):
    def check(stdout):
        exe = os.path.join(WORK, "gcc-big")
        r = subprocess.run([exe], capture_output=True, text=True, env=clean_env())
        os.unlink(exe)
        if r.stdout.strip() != w.expected:
            return f"compiled program printed {r.stdout.strip()!r}, expected {w.expected}"
        return None
    return check


# ---- git ----

def git_setup(w, scale):
    nfiles = max(60, int(1200 * scale))
    nver = 5 if scale >= 0.1 else 3
    src = os.path.join(WORK, "git-src")
    stamp = os.path.join(src, f".made-{nfiles}-{nver}")
    w.git_args = [src, os.path.join(WORK, "git-repo"), str(nfiles + (nver - 1) * 5), str(nver)]
    if os.path.exists(stamp):
        return
    shutil.rmtree(src, ignore_errors=True)
    import random
    rnd = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "needle_", "omega", "kappa", "sigma",
             "struct", "return", "static", "unsigned", "malloc", "free", "lambda"]

    def text(i, ver):
        lines = []
        for ln in range(20 + (i * 7) % 120):
            lines.append(" ".join(rnd.choice(words) for _ in range(4 + (ln + i) % 9))
                         + f" {i}.{ln}")
        if ver > 1:
            lines.insert((i * 3) % len(lines), f"changed in version {ver}")
        return "\n".join(lines) + "\n"

    for ver in range(1, nver + 1):
        root = os.path.join(src, f"v{ver}")
        if ver == 1:
            ids = range(nfiles)
        else:
            ids = [i for i in range(nfiles) if (i * 2654435761 >> 4) % nver == ver - 1][: nfiles // 4]
        for i in ids:
            d = os.path.join(root, f"d{i % 40:02d}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"f{i:04d}.txt"), "w") as fh:
                fh.write(text(i, ver))
        if ver > 1:   # 5 new files per version
            d = os.path.join(root, "new")
            os.makedirs(d, exist_ok=True)
            for j in range(5):
                with open(os.path.join(d, f"v{ver}_{j}.txt"), "w") as fh:
                    fh.write(text(10000 + ver * 10 + j, ver))
    open(stamp, "w").close()


def git_argv_factory(w):
    return lambda scale: ["sh", os.path.join(BENCH, "programs", "git.sh")] + w.git_args


# ---- sqlite ----

def sqlite_setup(w, scale):
    n = max(2000, int(150000 * scale))
    m = max(500, int(30000 * scale))
    sql = [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val INTEGER, payload TEXT);",
        "BEGIN;",
        f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<{n}) "
        "INSERT INTO t SELECT x, 'name'||x, x%97, (x*7919)%10007, "
        "substr(hex(zeroblob(120)),1,20+x%200) FROM c;",
        "COMMIT;",
        "CREATE INDEX t_grp ON t(grp, val);",
        "CREATE INDEX t_name ON t(name);",
        "SELECT count(*), sum(grp), sum(length(payload)) FROM t;",
        "SELECT grp, count(*), sum(val) FROM t GROUP BY grp ORDER BY grp LIMIT 3;",
        "UPDATE t SET payload = payload || payload WHERE id%3=0;",
        "DELETE FROM t WHERE id%5=0;",
        "SELECT count(*), sum(length(payload)) FROM t;",
        "SELECT count(*) FROM t WHERE name LIKE 'name1%';",
        "SELECT sum(val) FROM t WHERE grp = 7;",
        "SELECT length(group_concat(name, ',')) FROM t WHERE grp < 10;",
        "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);",
        "BEGIN;",
    ]
    for i in range(m):
        sql.append(f"INSERT INTO k VALUES({i}, 'value-{i}-{'y' * (i % 50)}');")
    sql += ["COMMIT;",
            "SELECT count(*), sum(length(v)) FROM k;",
            "SELECT count(*) FROM t JOIN k ON k.id = t.grp;",
            ]
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, "sqlite.sql")
    with open(path, "w") as fh:
        fh.write("\n".join(sql) + "\n")
    # expected output, computed independently
    rows = {x: (x % 97, (x * 7919) % 10007, 20 + x % 200) for x in range(1, n + 1)}
    exp = []
    exp.append(f"{n}|{sum(r[0] for r in rows.values())}|{sum(r[2] for r in rows.values())}")
    for g in range(3):
        sel = [r for r in rows.values() if r[0] == g]
        exp.append(f"{g}|{len(sel)}|{sum(r[1] for r in sel)}")
    rows = {x: (r[0], r[1], r[2] * 2 if x % 3 == 0 else r[2]) for x, r in rows.items()}
    rows = {x: r for x, r in rows.items() if x % 5 != 0}
    exp.append(f"{len(rows)}|{sum(r[2] for r in rows.values())}")
    exp.append(str(sum(1 for x in rows if str(x).startswith("1"))))
    exp.append(str(sum(r[1] for r in rows.values() if r[0] == 7)))
    names = [f"name{x}" for x, r in rows.items() if r[0] < 10]
    exp.append(str(sum(len(s) for s in names) + len(names) - 1))
    exp.append(f"{m}|{sum(len(f'value-{i}-') + i % 50 for i in range(m))}")
    exp.append(str(sum(1 for r in rows.values() if r[0] < m)))
    w.expected = "\n".join(exp)
    w.stdin = path


def sqlite_check_factory(w):
    def check(stdout):
        got = stdout.strip()
        if got != w.expected:
            return "output differs: got %r... expected %r..." % (got[:200], w.expected[:200])
        return None
    return check


# ---- python ----

def py_check(stdout):
    return None if "ok pywork" in stdout else "no 'ok pywork' line"


# ---- redis ----

def resp(sock, *args):
    msg = f"*{len(args)}\r\n" + "".join(f"${len(str(a))}\r\n{a}\r\n" for a in args)
    sock.sendall(msg.encode())
    data = b""
    while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2
                                          and not data.startswith(b"$-1")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def redis_runner(w, alloc, scale, env, timeout):
    """Start redis-server (preloaded) on REDIS_PORT, drive it with redis-benchmark,
    check a round trip, shut it down; returns a result dict."""
    n = max(2000, int(15000 * scale))
    tests = "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset"
    if scale < 0.1:
        tests = "set,get,lpush,lpop,hset,mset"
    rdir = os.path.join(WORK, "redis")
    os.makedirs(rdir, exist_ok=True)
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", REDIS_PORT)) == 0:
            return {"ok": False, "error": f"port {REDIS_PORT} already in use"}
    argv = ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", rdir,
            "--protected-mode", "no", "--logfile", os.path.join(rdir, "server.log")]
    errf = tempfile.TemporaryFile()
    resfile = os.path.join(WORK, "launch.result")
    proc = subprocess.Popen([bin_path("launch"), resfile] + argv, env=env,
                            stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
    result = {"ok": False}
    try:
        deadline = time.time() + 15
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", REDIS_PORT)) == 0:
                    break
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        t0 = time.perf_counter()
        bench = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(REDIS_PORT),
                                "-n", str(n), "-r", "100000", "-d", "200", "-P", "8",
                                "-q", "-t", tests],
                               capture_output=True, text=True, timeout=timeout, env=clean_env())
        wall = time.perf_counter() - t0
        if bench.returncode != 0:
            raise RuntimeError("redis-benchmark failed: " + bench.stderr[-300:])
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=10) as s:
            val = "v" * 1000
            if "+OK" not in resp(s, "SET", "bench:check", val):
                raise RuntimeError("SET failed")
            if val not in resp(s, "GET", "bench:check"):
                raise RuntimeError("GET returned wrong value")
            dbsize = resp(s, "DBSIZE")
            if not dbsize.startswith(":") or int(dbsize[1:].strip()) < 2:
                raise RuntimeError("DBSIZE " + dbsize.strip())
            s.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
            try:
                s.recv(100)
            except OSError:
                pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise RuntimeError("redis-server did not shut down") from None
        lr = launch_result(resfile)
        if lr is None:
            raise RuntimeError(f"launcher failed (exit {proc.returncode})")
        code = os.waitstatus_to_exitcode(lr["status"])
        if code != 0:
            raise RuntimeError(f"redis-server exited with {code}")
        rps = re.findall(r"([\d.]+) requests per second", bench.stdout)
        result = {"ok": True, "wall": wall, "cpu": lr["cpu"],
                  "maxrss_kb": lr["maxrss_kb"], "minflt": lr["minflt"],
                  "stdout": bench.stdout[-2000:],
                  "ops": n * len(tests.split(",")),
                  "note": "min/max req/s %s/%s" % (min(rps, key=float, default="?"),
                                                   max(rps, key=float, default="?"))}
    except Exception as e:   # noqa: BLE001 - any failure is a failed run
        errf.seek(0)
        result = {"ok": False, "error": f"{e}; server stderr: "
                  + errf.read().decode(errors="replace")[-300:]}
    finally:
        if proc.poll() is None:
            _killpg(proc.pid)
            proc.wait()
        errf.close()
    return result


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["LC_ALL"] = "C"
    return env


# A peer's own bug that a workload's checks catch, known upstream: the cell
# still shows FAIL, the run says why, and it does not count as a failure of
# the suite (bench-quick in `make test` must not go red for a bug in an
# installed peer). Matched by allocator name, workload and a text the
# failure must contain; umalloc is never listed.
KNOWN_PEER_BUGS = {
    ("aligned", "mimalloc"): ("not aligned to",
                              "Debian's mimalloc 2.0.9 returns blocks of aligned_alloc(256, 256) that "
                              "are not 256-aligned (mimalloc issue #700, fixed upstream after 2.0.9)"),
    ("aligned-batch", "mimalloc"): ("not aligned to",
                                    "Debian's mimalloc 2.0.9 returns blocks of aligned_alloc(256, 256) that "
                                    "are not 256-aligned (mimalloc issue #700, fixed upstream after 2.0.9)"),
}


def known_peer_bug(wname, aname, cell):
    """The reason if every failure of this cell is a listed peer bug, else None."""
    k = KNOWN_PEER_BUGS.get((wname, aname))
    fails = cell["failures"] + cell.get("cg_failures", [])
    if not k or aname == "umalloc" or not fails:
        return None
    text, why = k
    if all(text in (f.get("stderr") or "") + (f.get("error") or "") for f in fails):
        return why
    return None


def make_workloads():
    ws = []
    for size in ["16", "64", "256", "1k", "4k", "64k", "1m"]:
        ws.append(synthetic(f"pairs-{size}", "pairs", [size.upper()],
                            f"malloc/free pairs of {size.upper()}B (fast path)",
                            single=True, cg_scale=0.04, ops_unit="pair", marginal=True))
    ws += [
        synthetic("bulk", "bulk", ["10000"],
                  "batches of 10,000 blocks of 16-1024 B, freed in shuffled order",
                  single=True, cg_scale=0.08, ops_unit="pair", marginal=True),
        # a fifth of bulk's 10 million blocks: glibc takes 16-22 s for all of them
        synthetic("bulk-med", "bulk", ["200", "1024", "16384"],
                  "batches of 200 blocks of 1-16 KiB, freed in shuffled order",
                  single=True, full=0.2, cg_scale=0.01, ops_unit="pair", marginal=True),
        synthetic("aligned", "aligned", [],
                  "batches of 32 blocks from posix_memalign/aligned_alloc, 32 B-4 KiB alignments",
                  single=True, cg_scale=0.1, ops_unit="block"),
        synthetic("aligned-batch", "aligned", ["4096"],
                  "the same blocks in batches of 4,096: more of a size live than a thread cache keeps",
                  single=True, cg_scale=0.1, ops_unit="block"),
        synthetic("heap-random", "heap_random", [],
                  "random working set of 200k blocks, sizes skewed small",
                  single=True, cg_scale=0.1),
        synthetic("trees", "trees", [], "build/tear down binary trees and cons lists",
                  single=True, cg_scale=0.25, ops_unit="node"),
        synthetic("server", "server", ["4"],
                  "4 threads replace random slots of a shared table (remote frees)"),
        synthetic("prodcons", "prodcons", ["1"], "producer -> consumer thread, windowed frees"),
        synthetic("oneway", "oneway", ["2", "2"],
                  "2 threads only allocate (16-512 B), 2 only free what they are handed"),
        synthetic("xchurn", "xchurn", ["4"],
                  "4 threads; each frees random blocks of the others, 16 B-16 KiB"),
        synthetic("prodcons-100k", "prodcons_batch", ["100000"],
                  "producer hands batches of 100,000 small blocks to a consumer that frees them"),
        synthetic("relay", "relay", ["2"],
                  "2 lanes of 5,000 blocks (8 B-1 KiB), each thread replaced 40 times by a "
                  "successor that frees its predecessor's blocks unread"),
    ]
    for n in [1, 2, 4, 8]:
        ws.append(synthetic(f"threads-{n}", "threads", [str(n)],
                            f"{n} thread(s) allocating privately, fixed total work"))
    ws.append(synthetic("threads-2u", "threads", ["2", "uniform"],
                        "2 threads allocating privately, sizes 16 B-1 KiB alike"))
    for n in [1, 2]:
        ws.append(synthetic(f"sweep-{n}", "sweep", [str(n)],
                            f"{n} thread(s) filling a private table in runs of one size, "
                            "four fifths of it freed in each sweep"))
    ws += [
        synthetic("false-active", "false_sharing", ["active", "2"],
                  "active false sharing: 2 threads malloc+write 8 B objects"),
        synthetic("false-passive", "false_sharing", ["passive", "2"],
                  "passive false sharing: threads reuse objects freed by others"),
        synthetic("realloc", "realloc", [], "string builders and vectors grown by realloc",
                  single=True, cg_scale=0.25, ops_unit="realloc"),
        synthetic("bigblocks", "bigblocks", [], "256K-32M blocks, one byte written per page",
                  single=True, cg_scale=0.1, ops_unit="block"),
        synthetic("bigslots", "bigslots", [],
                  "20 buffers of 5-25 MiB, one replaced at a time and written in full"),
        synthetic("rounds", "rounds", [],
                  "rounds that build 96 MiB of 4-256 KiB blocks and free all of it, back to back",
                  single=True, cg_scale=0.25, ops_unit="block"),
        synthetic("frag", "frag", [], "changing size mix over time, RSS sampled every 100 ms"),
        synthetic("churn", "churn", [], "short-lived threads that allocate and exit"),
    ]
    py = Workload("python", "real", "python3: dicts, strings, JSON (pymalloc on)",
                  argv=lambda scale: [python_exe(), "-I",
                                      os.path.join(BENCH, "programs", "pywork.py"), f"{scale:g}"],
                  quick=0.02, check=py_check, needs=[python_exe()],
                  probe=[python_exe(), "-I", "-c", "pass"],
                  single=True, cg_scale=0.05)
    gcc = Workload("gcc", "real", "gcc -O2 on a generated 250-function C file",
                   argv=gcc_argv, quick=0.06, setup=gcc_setup, needs=["gcc"],
                   probe=["gcc", "--version"])
    gcc.check_fn = gcc_check_factory(gcc)
    git = Workload("git", "real", "git: 1200 files, add/commit x5, status, log, grep, blame, gc, fsck",
                   quick=0.04, setup=git_setup, needs=["git"], probe=["git", "--version"])
    git.argv_fn = git_argv_factory(git)
    git.check_fn = lambda out: None if "ok git" in out else "no 'ok git' line"
    redis = Workload("redis", "real", "redis-server (preloaded) under redis-benchmark",
                     quick=0.05, needs=["redis-server", "redis-benchmark"],
                     runner=redis_runner, links_malloc=True,
                     probe=["redis-server", "--version"])
    sql = Workload("sqlite", "real", "sqlite3 :memory: inserts, indexes, queries",
                   argv=lambda scale: ["sqlite3", ":memory:"], quick=0.02,
                   setup=sqlite_setup, needs=["sqlite3"], single=True, cg_scale=0.03,
                   probe=["sqlite3", ":memory:", "select 1;"])
    sql.check_fn = sqlite_check_factory(sql)
    ws += [py, gcc, git, redis, sql]
    return ws


# --------------------------------------------------------------------------
# building

def build(workloads):
    os.makedirs(BUILD, exist_ok=True)
    header = os.path.join(BENCH, "bench.h")
    needed = sorted({os.path.basename(w.argv_fn(1)[0]) for w in workloads
                     if w.kind == "synthetic"})
    procs = []
    for name in needed:
        src = os.path.join(BENCH, name + ".c")
        out = bin_path(name)
        if (os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(src)
                and os.path.getmtime(out) > os.path.getmtime(header)):
            continue
        cmd = ["gcc", "-O2", "-g", "-pthread", "-Wall", "-Wextra", "-std=gnu11",
               "-o", out, src, "-lm"]
        procs.append((name, cmd, subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)))
        if len(procs) >= (os.cpu_count() or 2):
            _reap(procs.pop(0))
    for p in procs:
        _reap(p)


def build_launcher():
    """bench/launch.c, linked statically so that it adds almost nothing to the peak RSS
    its child inherits across exec."""
    src, out = os.path.join(BENCH, "launch.c"), bin_path("launch")
    if os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(src):
        return
    base = ["gcc", "-O2", "-Wall", "-Wextra", "-o", out, src]
    r = subprocess.run(base[:2] + ["-static"] + base[2:], capture_output=True, text=True)
    if r.returncode != 0:
        log("warning: static link of bench/launch.c failed, using a dynamic one")
        subprocess.run(base, check=True)


def launch_result(path):
    """Read bench/launch.c's result file; None if it was not written."""
    try:
        with open(path) as fh:
            kv = dict(line.split() for line in fh if line.strip())
    except OSError:
        return None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return {"status": int(kv["status"]), "wall": float(kv["wall"]),
            "cpu": float(kv["utime"]) + float(kv["stime"]),
            "maxrss_kb": int(kv["maxrss_kb"]), "minflt": int(kv["minflt"])}


def _reap(item):
    name, cmd, p = item
    _, err = p.communicate()
    if p.returncode != 0:
        sys.exit(f"error: compiling {name} failed:\n{' '.join(cmd)}\n{err}")
    if err.strip():
        log(err.strip())


# --------------------------------------------------------------------------
# running

def verify_preload(w, alloc):
    """For a real program: run w.probe with LD_DEBUG=bindings LD_BIND_NOW=1 and check that
    every binding of malloc/free/realloc/calloc goes to the allocator under test.
    Returns an error string or None."""
    env = alloc.preload_env(clean_env(), force_libc=w.links_malloc)
    env.update(LD_DEBUG="bindings", LD_BIND_NOW="1")
    r = subprocess.run(w.probe, env=env, cwd=WORK, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    targets = set(re.findall(r"binding file \S+ \[\d+\] to (\S+) \[\d+\]: normal symbol "
                             r"`(?:malloc|free|realloc|calloc)'", r.stderr))
    # A non-PIE executable that takes malloc's address (e.g. Debian's python3) has a
    # canonical PLT entry, so libraries bind to the executable itself; that stub jumps
    # through the executable's own binding, which is among the targets checked here.
    targets = {t for t in targets if ".so" in os.path.basename(t)}
    if not targets:
        return "preload check: no malloc bindings seen"
    if alloc.path is None and not w.links_malloc:
        bad = [t for t in targets if not os.path.basename(t).startswith("libc.so")]
    else:
        want = alloc.path or libc_path()
        bad = [t for t in targets if os.path.realpath(t) != os.path.realpath(want)]
    if bad:
        return "preload not in effect: malloc/free bound to " + ", ".join(sorted(bad))
    return None


# --cpu: the CPU single-threaded workloads are pinned to (None: not pinned).
PIN_CPU = None


def run_once(w, alloc, scale, timeout):
    env = alloc.preload_env(clean_env(), force_libc=w.links_malloc,
                            var="BENCH_LAUNCH_PRELOAD")
    if PIN_CPU is not None and w.single:
        env["BENCH_LAUNCH_CPU"] = str(PIN_CPU)
    if w.runner:
        return w.runner(w, alloc, scale, env, timeout)
    resfile = os.path.join(WORK, "launch.result")
    argv = [bin_path("launch"), resfile] + w.argv_fn(scale)
    outf = tempfile.TemporaryFile()
    errf = tempfile.TemporaryFile()
    stdin = open(w.stdin, "rb") if w.stdin else subprocess.DEVNULL
    proc = subprocess.Popen(argv, env=env, cwd=w.cwd or WORK, stdin=stdin, stdout=outf,
                            stderr=errf, start_new_session=True)
    timed_out = []
    timer = threading.Timer(timeout, lambda: (timed_out.append(1), _killpg(proc.pid)))
    timer.start()
    try:
        proc.wait()
    finally:
        timer.cancel()
    if w.stdin:
        stdin.close()
    outf.seek(0)
    errf.seek(0)
    out = outf.read().decode(errors="replace")
    err = errf.read().decode(errors="replace")
    outf.close()
    errf.close()
    lr = launch_result(resfile)
    res = {"ok": True}
    error = None
    if timed_out:
        error = f"timed out after {timeout}s"
    elif lr is None:
        error = f"launcher failed (exit {proc.returncode})"
    else:
        code = os.waitstatus_to_exitcode(lr.pop("status"))
        res.update(lr)
        if code != 0:
            error = f"exit status {code}" + (" (killed by signal)" if code < 0 else "")
    if error is None and w.kind == "synthetic":
        m = re.search(r"^allocator: (.*)$", out, re.M)
        if not m or not alloc.matches(m.group(1)):
            error = ("preload not in effect: workload reports allocator "
                     f"{m.group(1) if m else '?'}")
    if error is None and w.check_fn:
        error = w.check_fn(out)
    m = re.search(r"^ok \S+ ops=(\d+)", out, re.M)
    if m:
        res["ops"] = int(m.group(1))
    if w.name == "frag" and error is None:
        res["samples"] = [[int(a), int(b), int(c)] for a, b, c in
                          re.findall(r"^sample (\d+) (\d+) (\d+)$", out, re.M)]
        fm = re.search(r"^final (\d+) (\d+)$", out, re.M)
        res["final_rss_kb"] = int(fm.group(1)) if fm else None
        res["final_live_kb"] = int(fm.group(2)) if fm else None
        res["phases"] = [[a, int(b), int(c), int(d)] for a, b, c, d in
                         re.findall(r"^phase (\S+) (\d+) (\d+) (\d+)$", out, re.M)]
    if error:
        res = {"ok": False, "error": error, "stderr": err[-1500:], "stdout": out[-500:]}
    return res


def run_cachegrind(w, alloc, scale, timeout):
    """One run under cachegrind; returns {'ok', 'instr', 'ops'}."""
    env = alloc.preload_env(clean_env(), force_libc=w.links_malloc)
    outfile = tempfile.NamedTemporaryFile(prefix="cg.", suffix=".out", delete=False)
    outfile.close()
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
            f"--cachegrind-out-file={outfile.name}"] + w.argv_fn(scale)
    stdin = open(w.stdin, "rb") if w.stdin else subprocess.DEVNULL
    try:
        r = subprocess.run(argv, env=env, cwd=w.cwd or WORK, stdin=stdin,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "cachegrind timed out"}
    finally:
        if w.stdin:
            stdin.close()
    res = {"ok": False}
    m = re.search(r"I\s+refs:\s+([\d,]+)", r.stderr)
    if r.returncode != 0 or not m:
        own = [ln for ln in r.stderr.splitlines()
               if ln.strip() and not ln.startswith(("==", "--"))]
        res["error"] = (f"exit {r.returncode} under valgrind: "
                        + (" / ".join(own)[-300:] or r.stderr[-300:]))
    else:
        res = {"ok": True, "instr": int(m.group(1).replace(",", ""))}
        am = re.search(r"^allocator: (.*)$", r.stdout, re.M)
        if w.kind == "synthetic" and (not am or not alloc.matches(am.group(1))):
            res = {"ok": False, "error": "preload not in effect under valgrind: "
                   + (am.group(1) if am else "?")}
        om = re.search(r"^ok \S+ ops=(\d+)", r.stdout, re.M)
        if om:
            res["ops"] = int(om.group(1))
        if res["ok"] and w.check_fn:
            err = w.check_fn(r.stdout)
            if err:
                res = {"ok": False, "error": err}
        # main()'s own instructions (the benchmark loop), and which source files the
        # functions named malloc/free came from (evidence that the preload is in effect)
        per_fn, res["malloc_in"] = cg_parse(outfile.name)
        res["main_instr"] = per_fn.get("main", 0)
    os.unlink(outfile.name)
    return res


def cg_parse(path):
    """Parse a cachegrind out file (Ir only).  Returns (Ir per function name,
    source files of the functions named malloc/free): glibc's malloc comes with
    debug info (malloc.c), a stripped preloaded library shows as ???."""
    per_fn, objs = {}, set()
    fl = fn = None
    try:
        with open(path) as fh:
            for line in fh:
                c = line[:1]
                if c.isdigit():
                    parts = line.split()
                    if fn is not None and len(parts) >= 2:
                        per_fn[fn] = per_fn.get(fn, 0) + int(parts[1])
                elif line.startswith("fl="):
                    fl = line[3:].strip()
                elif line.startswith("fn="):
                    fn = line[3:].strip()
                    if fn in ("malloc", "free") and fl:
                        objs.add(fl)
    except OSError:
        pass
    return per_fn, sorted(objs)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


# --------------------------------------------------------------------------
# reports

METRICS = [
    ("wall", "Wall time (s)", lambda v: f"{v:.3f}"),
    ("cpu", "CPU time, user+sys (s)", lambda v: f"{v:.3f}"),
    ("maxrss_kb", "Peak RSS (MiB)", lambda v: f"{v / 1024:.1f}"),
    ("minflt", "Minor page faults", lambda v: f"{v:,.0f}"),
]


def ratio_str(v, base):
    if v is None or base is None or base == 0:
        return ""
    return f" ({v / base:.2f}x)"


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "none"
    except OSError:
        commit = "?"
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "memory": mem, "libc": " ".join(os.confstr("CS_GNU_LIBC_VERSION").split()),
            "commit": commit}


def lib_id(path, origin=None):
    if not path:
        return "(no preload)"
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    shown = os.path.relpath(origin or path, REPO) if (origin or path).startswith(REPO + "/") \
        else (origin or path)
    return f"{shown} (sha256 {h.hexdigest()[:12]})"


def write_markdown(path, data):
    allocs = data["allocators"]
    names = [a["name"] for a in allocs]
    base = data["baseline"]
    L = []
    m = data["machine"]
    L.append("# umalloc benchmark results\n")
    L.append(f"- date: {data['date']}")
    L.append(f"- machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory']}, kernel {m['kernel']}, "
             f"{m['libc']}")
    L.append(f"- command: `{data['command']}` (repo commit {m['commit']})")
    L.append(f"- runs per cell: {data['runs']}, median shown; scale: "
             f"{'quick' if data['quick'] else 'full'}; total time {data['elapsed_s']:.0f} s")
    if data.get("pin_cpu") is not None:
        L.append(f"- single-threaded workloads pinned to CPU {data['pin_cpu']} (--cpu), "
                 "every allocator alike")
    L.append(f"- ratio in parentheses = this allocator's value / {base}'s value: "
             f"above 1.00 means {base} is better (lower)")
    L.append("- allocators:")
    for a in allocs:
        L.append(f"  - {a['name']}: {a['id']}")
    L.append(f"- result: {data['passed']} passed, {data['failed']} failed "
             "(workload x allocator runs)")
    for k, why in data.get("known_peer_bugs", {}).items():
        L.append(f"- {k}: FAIL, a known bug of that allocator, not counted: {why}")
    if data["skipped"]:
        L.append("- skipped: " + "; ".join(f"{k} ({v})" for k, v in data["skipped"].items()))
    L.append("")
    ws = data["workloads"]

    def table(title, getter, fmt, note="", fkey="failures"):
        L.append(f"## {title}\n")
        if note:
            L.append(note + "\n")
        L.append("| workload | " + " | ".join(names) + " |")
        L.append("|---|" + "---:|" * len(names))
        ratios = {n: [] for n in names}
        any_row = False
        for w in ws:
            vals = {n: getter(w, n) for n in names}
            if all(v is None for v in vals.values()) and not any(
                    w["results"].get(n, {}).get(fkey) for n in names):
                continue
            any_row = True
            b = vals.get(base)
            cells = []
            for n in names:
                v = vals[n]
                if v is None:
                    cells.append("FAIL" if w["results"].get(n, {}).get(fkey) else "-")
                else:
                    cells.append(fmt(v) + ratio_str(v, b))
                    if b:
                        ratios[n].append(v / b)
            L.append(f"| {w['name']} | " + " | ".join(cells) + " |")
        if any_row:
            L.append("| **geomean ratio** | " + " | ".join(
                (f"**{geomean(ratios[n]):.2f}x**" if geomean(ratios[n]) else "-")
                for n in names) + " |")
        L.append("")

    for key, title, fmt in METRICS:
        table(title, lambda w, n, key=key: (w["results"].get(n, {}).get("median") or {}).get(key),
              fmt)
    table("Instructions per operation (cachegrind)",
          lambda w, n: (w["results"].get(n, {}).get("cachegrind") or {}).get("per_op"),
          lambda v: f"{v:,.1f}" if v < 1e4 else f"{v:,.0f}",
          "Single-threaded workloads, `valgrind --tool=cachegrind --cache-sim=no` at a reduced "
          "scale, one run each (counts repeat exactly, except where an allocator purges on a timer: jemalloc and mimalloc on the large pairs). pairs-*, bulk and bulk-med: the "
          "allocator's instructions per malloc+free pair: the difference between a run and a 1/4-scale "
          "run (so start-up cancels out) divided by the difference in pairs, minus the "
          "benchmark loop's own instructions (those counted in main()); other synthetic workloads: total user-space "
          "instructions / the workload's operation count; real programs: total instructions "
          "in millions. Under valgrind the brk heap cannot grow past about 8 MB, so a workload whose heap "
          "is larger runs umalloc's (and glibc's) brk-blocked mode there: the main arena continues in "
          "mmap'd segments.", fkey="cg_failures")
    # fragmentation
    fr = [w for w in ws if w["name"] == "frag"]
    if fr:
        w = fr[0]
        L.append("## Fragmentation over time (frag)\n")
        L.append("Peak = highest RSS sample, final = RSS after the idle phase (1% of blocks "
                 "live); medians over runs. Curve: RSS in MiB every 200 ms from the run with "
                 "the median wall time.\n")
        L.append("| allocator | peak RSS (MiB) | final RSS (MiB) | live at end (MiB) | "
                 "RSS curve (MiB) |")
        L.append("|---|---:|---:|---:|---|")
        for n in names:
            r = w["results"].get(n, {})
            fm = r.get("frag")
            if not fm:
                L.append(f"| {n} | FAIL | | | |" if r.get("failures") else f"| {n} | - | | | |")
                continue
            curve = " ".join(f"{s[1] / 1024:.0f}" for s in fm["curve"][::2])
            L.append(f"| {n} | {fm['peak_kb'] / 1024:.1f} | {fm['final_kb'] / 1024:.1f} | "
                     f"{fm['final_live_kb'] / 1024:.1f} | {curve} |")
        L.append("")
    L.append("## Workloads\n")
    L.append("| workload | what it models | notes |")
    L.append("|---|---|---|")
    for w in ws:
        notes = []
        for n in names:
            r = w["results"].get(n, {})
            if r.get("note"):
                notes.append(f"{n}: {r['note']}")
        L.append(f"| {w['name']} | {w['desc']} | {'; '.join(notes)} |")
    L.append("")
    fails = [(w["name"], n, f) for w in ws for n in names
             for f in (w["results"].get(n, {}).get("failures", [])
                       + w["results"].get(n, {}).get("cg_failures", []))]
    if fails:
        L.append("## Failures\n")
        for wn, n, f in fails:
            L.append(f"- {wn} / {n}: " + str(f.get("error")).replace("\n", " / "))
            if f.get("stderr"):
                L.append("  ```\n  " + f["stderr"].strip()[-600:].replace("\n", "\n  ")
                         + "\n  ```")
        L.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(L))


def svg_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(path, data):
    names = [a["name"] for a in data["allocators"]]
    base = data["baseline"]
    others = [n for n in names if n != base]
    colors = {}
    extra = iter(EXTRA_COLORS)
    for n in names:
        colors[n] = COLORS.get(n) or next(extra, "#000000")
    rows = []
    for w in data["workloads"]:
        b = (w["results"].get(base, {}).get("median") or {}).get("wall")
        if not b:
            if w["results"].get(base, {}).get("failures"):
                rows.append((w["name"], None))      # baseline failed: say so
            continue
        vals = {}
        for n in others:
            v = (w["results"].get(n, {}).get("median") or {}).get("wall")
            vals[n] = v / b if v else None
        rows.append((w["name"], vals))
    ratios = [v for _, vals in rows if vals for v in vals.values() if v]
    lo = min([0.5] + ratios)
    hi = max([2.0] + ratios)
    lo = 2 ** math.floor(math.log2(max(lo, 1 / 64)))
    hi = 2 ** math.ceil(math.log2(min(hi, 64)))
    bar_h, gap, label_w, plot_w = 5, 8, 120, 620
    group_h = bar_h * max(1, len(others)) + gap
    top = 70
    height1 = top + group_h * len(rows) + 40
    frag = next((w for w in data["workloads"] if w["name"] == "frag"), None)
    curves = {n: w_res["frag"]["curve"] for n, w_res in (frag or {"results": {}})["results"].items()
              if w_res.get("frag")} if frag else {}
    height2 = 300 if curves else 0
    W = label_w + plot_w + 40
    H = height1 + height2 + 20
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">'
         f'Wall time relative to {svg_escape(base)} (log scale; bar right of 1 = {svg_escape(base)} '
         f'faster)</text>',
         f'<text x="{W / 2}" y="34" text-anchor="middle" fill="#555">'
         f'{svg_escape(data["date"])} - {svg_escape(data["machine"]["cpu"])}, '
         f'{data["machine"]["nproc"]} CPUs - median of {data["runs"]} run(s)</text>']
    # legend
    lx = label_w
    for n in others:
        o.append(f'<rect x="{lx}" y="44" width="12" height="10" fill="{colors[n]}"/>')
        o.append(f'<text x="{lx + 16}" y="53">{svg_escape(n)}</text>')
        lx += 24 + 7 * len(n) + 10

    def xpos(r):
        return label_w + (math.log2(r) - math.log2(lo)) / (math.log2(hi) - math.log2(lo)) * plot_w
    bottom = top + group_h * len(rows)
    t = lo
    while t <= hi * 1.0001:
        x = xpos(t)
        o.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" '
                 f'stroke="{"#000" if abs(t - 1) < 1e-9 else "#ddd"}" '
                 f'stroke-width="{1.5 if abs(t - 1) < 1e-9 else 1}"/>')
        lab = f"{t:g}x" if t >= 1 else f"1/{1 / t:g}x"
        o.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{lab}</text>')
        t *= 2
    x1 = xpos(1)
    for i, (wn, vals) in enumerate(rows):
        y = top + i * group_h
        if i % 2 == 0:
            o.append(f'<rect x="0" y="{y - gap / 2}" width="{W}" height="{group_h}" '
                     f'fill="#f6f6f6"/>')
        o.append(f'<text x="{label_w - 6}" y="{y + group_h / 2 - 1}" text-anchor="end">'
                 f'{svg_escape(wn)}</text>')
        if vals is None:
            o.append(f'<text x="{x1 + 4}" y="{y + group_h / 2 - 1}" fill="#d62728">'
                     f'{svg_escape(base)} failed this workload</text>')
            continue
        for j, n in enumerate(others):
            v = vals.get(n)
            yy = y + j * bar_h
            if v is None:
                o.append(f'<text x="{x1 + 3}" y="{yy + bar_h}" font-size="7" '
                         f'fill="{colors[n]}">n/a</text>')
                continue
            vc = min(max(v, lo), hi)
            xa, xb = sorted((x1, xpos(vc)))
            o.append(f'<rect x="{xa:.1f}" y="{yy}" width="{max(xb - xa, 0.8):.1f}" '
                     f'height="{bar_h - 0.5}" fill="{colors[n]}"><title>{svg_escape(wn)} '
                     f'{svg_escape(n)}: {v:.2f}x</title></rect>')
    o.append(f'<text x="{label_w + plot_w / 2}" y="{bottom + 30}" text-anchor="middle">'
             f'allocator wall time / {svg_escape(base)} wall time</text>')
    if curves:
        y0 = height1 + 10
        ph = height2 - 70
        o.append(f'<text x="{W / 2}" y="{y0 + 12}" text-anchor="middle" font-size="14" '
                 f'font-weight="bold">frag: RSS over time (MiB), dashed = bytes the program '
                 f'holds</text>')
        tmax = max(s[0] for c in curves.values() for s in c) or 1
        rmax = max(max(s[1], s[2]) for c in curves.values() for s in c) / 1024 or 1
        rmax = 10 ** math.floor(math.log10(rmax)) * math.ceil(rmax / 10 ** math.floor(
            math.log10(rmax)))
        py0 = y0 + 25

        def px(t):
            return label_w + t / tmax * plot_w

        def py(kb):
            return py0 + ph - kb / 1024 / rmax * ph
        for k in range(5):
            v = rmax * k / 4
            yy = py(v * 1024)
            o.append(f'<line x1="{label_w}" y1="{yy:.1f}" x2="{label_w + plot_w}" y2="{yy:.1f}" '
                     f'stroke="#ddd"/>')
            o.append(f'<text x="{label_w - 6}" y="{yy + 4:.1f}" text-anchor="end">{v:g}</text>')
        o.append(f'<text x="{label_w + plot_w / 2}" y="{py0 + ph + 16}" text-anchor="middle">'
                 f'time (ms), 0 - {tmax}</text>')
        first = next(iter(curves.values()))
        pts = " ".join(f"{px(s[0]):.1f},{py(s[2]):.1f}" for s in first)
        o.append(f'<polyline points="{pts}" fill="none" stroke="#000" stroke-dasharray="4 3"/>')
        lx = label_w
        for n in names:
            c = curves.get(n)
            if not c:
                continue
            pts = " ".join(f"{px(s[0]):.1f},{py(s[1]):.1f}" for s in c)
            o.append(f'<polyline points="{pts}" fill="none" stroke="{colors[n]}" '
                     f'stroke-width="{2.5 if n == base else 1.5}"/>')
            o.append(f'<rect x="{lx}" y="{py0 + ph + 26}" width="12" height="3" '
                     f'fill="{colors[n]}"/>')
            o.append(f'<text x="{lx + 16}" y="{py0 + ph + 31}">{svg_escape(n)}</text>')
            lx += 24 + 7 * len(n) + 10
    o.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(o) + "\n")


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="tiny scale, 1 run, no cachegrind but one case; "
                    "writes build/bench/quick.{md,json,svg}")
    ap.add_argument("--runs", type=int, help="runs per workload x allocator (default 5, quick 1; "
                    "0 = cachegrind only)")
    ap.add_argument("--only", help="regex (re.search) or glob selecting workloads by name")
    ap.add_argument("--alloc", action="append", metavar="NAME=PATH",
                    help="add or override an allocator (PATH relative to the repo root, "
                    "'none' = no preload); repeatable")
    ap.add_argument("--alloc-env", action="append", metavar="NAME:VAR=VALUE",
                    help="run allocator NAME with VAR=VALUE in its environment, e.g. "
                    "--alloc umthp=build/libumalloc.so "
                    "--alloc-env umthp:GLIBC_TUNABLES=glibc.malloc.hugetlb=1; repeatable")
    ap.add_argument("--allocs", help="comma-separated subset of allocator names to run")
    ap.add_argument("--no-cachegrind", action="store_true", help="skip the cachegrind runs")
    ap.add_argument("--skip-missing", action="store_true",
                    help="drop allocators whose library is missing instead of failing")
    ap.add_argument("--scale", type=float, help="override the workload scale (1.0 = each row's full "
                    "scale: bulk-med's is a fifth of its program's)")
    ap.add_argument("--out", help="output prefix (default bench/results/latest, "
                    "quick: build/bench/quick)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("--cpu", type=int, metavar="N",
                    help="run the single-threaded workloads on CPU N only, every allocator "
                    "alike (on a machine whose CPUs differ, an unpinned run's median "
                    "depends on where each run landed)")
    args = ap.parse_args()
    global PIN_CPU
    if args.cpu is not None:
        if args.cpu not in os.sched_getaffinity(0):
            ap.error(f"--cpu {args.cpu}: not a CPU this process may use")
        PIN_CPU = args.cpu

    workloads = make_workloads()
    if args.list:
        for w in workloads:
            log(f"{w.name:14} {w.kind:9} {w.desc}")
        return 0
    if args.only:
        pats = args.only.split(",")

        def sel(name):
            return any(fnmatch.fnmatch(name, p) or re.search(p, name) for p in pats)
        workloads = [w for w in workloads if sel(w.name)]
        if not workloads:
            sys.exit(f"error: --only {args.only!r} matches no workload (see --list)")
    allocs = parse_allocs(args)
    runs = args.runs if args.runs is not None else (1 if args.quick else 5)
    out_prefix = args.out or (os.path.join(BUILD, "quick") if args.quick
                              else os.path.join(BENCH, "results", "latest"))
    start = time.time()
    log(f"allocators: " + ", ".join(f"{a.name}={a.path or '(none)'}" for a in allocs))
    build(workloads)
    build_launcher()
    make_work_dir()
    snapshot_libs(allocs)

    skipped = {}
    active = []
    for w in workloads:
        reason = w.available()
        if reason:
            skipped[w.name] = reason
            log(f"skip: {w.name} ({reason})")
            continue
        active.append(w)

    def scale_of(w):
        # --scale is relative to a row's full scale (bulk-med runs a fifth of
        # its program's work: w.full)
        if args.scale is not None:
            return args.scale * w.full
        return w.quick if args.quick else w.full

    results = {w.name: {a.name: {"runs": [], "failures": []} for a in allocs} for w in active}
    timeout = 60 if args.quick else 300
    passed = failed = 0
    known = {}
    for w in active:
        sc = scale_of(w)
        if w.setup_fn:
            w.setup_fn(w, sc)
        if runs == 0:
            continue
        t_w = time.time()
        if w.probe:
            for a in allocs:
                err = verify_preload(w, a)
                if err:
                    results[w.name][a.name]["failures"].append({"ok": False, "error": err})
                    log(f"  FAIL {w.name} / {a.name}: {err}")
        for r in range(runs):
            order = allocs[r % len(allocs):] + allocs[:r % len(allocs)]   # rotate each run
            for a in order:
                if results[w.name][a.name]["failures"]:
                    continue      # failed once (or wrong preload): the cell is failed anyway
                res = run_once(w, a, sc, timeout)
                cell = results[w.name][a.name]
                if res["ok"]:
                    cell["runs"].append(res)
                else:
                    cell["failures"].append(res)
                    log(f"  FAIL {w.name} / {a.name}: {res.get('error')}\n"
                        + "    " + (res.get("stderr") or "").strip()[-400:].replace("\n", "\n    "))
        line = []
        for a in allocs:
            cell = results[w.name][a.name]
            if cell["failures"] and known_peer_bug(w.name, a.name, cell):
                known[f"{w.name} / {a.name}"] = known_peer_bug(w.name, a.name, cell)
            elif cell["failures"]:
                failed += 1
            else:
                passed += 1
            walls = [x["wall"] for x in cell["runs"]]
            line.append(f"{a.name} {median(walls):.3f}" if walls else f"{a.name} FAIL")
        log(f"{w.name:14} " + "  ".join(line) + f"   [{time.time() - t_w:.0f} s]")

    # cachegrind
    do_cg = not args.no_cachegrind and shutil.which("valgrind")
    if not args.no_cachegrind and not shutil.which("valgrind"):
        log("warning: valgrind not found, no instruction counts")
    cg_set = [w for w in active if w.single]
    if args.quick:
        cg_set = [w for w in cg_set if w.name == "pairs-64"]
    if do_cg and cg_set:
        log("cachegrind (instructions):")
        for w in cg_set:
            sc = (w.quick if args.quick else (w.cg_scale or 0.1))
            if args.scale is not None:
                sc = min(sc, args.scale * w.full)
            if w.setup_fn:
                w.setup_fn(w, sc)     # inputs made by setup (sqlite's script) follow the scale
            t_w = time.time()
            line = []
            for a in allocs:
                res = run_cachegrind(w, a, sc, timeout * 4)
                cell = results[w.name][a.name]
                if res["ok"] and w.marginal:
                    # a second run at 1/4 scale: the difference cancels start-up costs
                    small = run_cachegrind(w, a, sc / 4, timeout * 4)
                    if not small["ok"]:
                        res = small
                    elif small.get("ops") and res.get("ops", 0) > small["ops"]:
                        dops = res["ops"] - small["ops"]
                        res["loop_per_op"] = (res["main_instr"] - small["main_instr"]) / dops
                        res["marginal"] = ((res["instr"] - small["instr"]) / dops
                                           - res["loop_per_op"])
                if res["ok"]:
                    if w.kind == "real" or not res.get("ops"):
                        res["per_op"] = res["instr"] / 1e6
                    else:
                        res["per_op"] = res.get("marginal") or res["instr"] / res["ops"]
                    res["scale"] = sc
                    cell["cachegrind"] = res
                    line.append(f"{a.name} {res['per_op']:.1f}"
                                + (f" [{','.join(res['malloc_in'])}]" if args.quick else ""))
                else:
                    res["error"] = "cachegrind: " + str(res.get("error"))
                    cell.setdefault("cg_failures", []).append(res)
                    line.append(f"{a.name} FAIL")
                    log(f"  FAIL cachegrind {w.name} / {a.name}: {res.get('error')[-300:]}")
            log(f"  {w.name:14} " + "  ".join(line) + f"   [{time.time() - t_w:.0f} s]")
        # a cachegrind failure turns a passed cell into a failed one
        passed = failed = 0
        for w in active:
            for a in allocs:
                cell = results[w.name][a.name]
                why = known_peer_bug(w.name, a.name, cell)
                if why:
                    known[f"{w.name} / {a.name}"] = why
                elif cell["failures"] or cell.get("cg_failures"):
                    failed += 1
                else:
                    passed += 1

    # medians
    names = [a.name for a in allocs]
    baseline = "umalloc" if "umalloc" in names else names[0]
    wl_out = []
    for w in active:
        res_w = {}
        for a in allocs:
            cell = results[w.name][a.name]
            okruns = cell["runs"]
            med = None
            if okruns and not cell["failures"]:
                med = {k: median([x[k] for x in okruns]) for k, _, _ in METRICS}
            entry = {"median": med, "runs": okruns, "failures": cell["failures"],
                     "cg_failures": cell.get("cg_failures", []),
                     "cachegrind": cell.get("cachegrind")}
            if okruns and okruns[0].get("note"):
                entry["note"] = okruns[0]["note"]
            if w.name == "frag" and med:
                by_wall = sorted(okruns, key=lambda x: x["wall"])
                mid = by_wall[len(by_wall) // 2]
                entry["frag"] = {
                    "peak_kb": median([max(s[1] for s in x["samples"]) if x["samples"]
                                       else x["maxrss_kb"] for x in okruns]),
                    "final_kb": median([x["final_rss_kb"] for x in okruns]),
                    "final_live_kb": median([x["final_live_kb"] for x in okruns]),
                    "curve": mid["samples"], "phases": mid.get("phases")}
            res_w[a.name] = entry
        wl_out.append({"name": w.name, "kind": w.kind, "desc": w.desc, "scale": scale_of(w),
                       "results": res_w})
    data = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": "python3 bench/run.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
        "machine": machine_info(),
        "quick": args.quick, "runs": runs, "baseline": baseline, "pin_cpu": PIN_CPU,
        "allocators": [{"name": a.name, "path": a.origin,
                        "id": lib_id(a.path, a.origin) + "".join(f" {k}={v}" for k, v in a.env.items())}
                       for a in allocs],
        "skipped": skipped, "passed": passed, "failed": failed, "known_peer_bugs": known,
        "elapsed_s": time.time() - start,
        "workloads": wl_out,
    }
    os.makedirs(os.path.dirname(out_prefix), exist_ok=True)
    with open(out_prefix + ".json", "w") as fh:
        json.dump(data, fh, indent=1)
    write_markdown(out_prefix + ".md", data)
    write_svg(out_prefix + ".svg", data)
    log(f"wrote {out_prefix}.md, .json, .svg  ({data['elapsed_s']:.0f} s)")
    for k, why in known.items():
        log(f"known peer bug, not counted as a failure: {k}: {why}")
    log(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
