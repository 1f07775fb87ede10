#!/usr/bin/env python3
"""umalloc test runner (python3, standard library only).

usage: python3 tests/run.py [--variant release|debug|asan|tsan ...] [--jobs N]
                            [-k SUBSTRING] [--root DIR] [--list] [-v]

Discovers tests/{unit,api,seeds,misuse,stress}/*.c and tests/programs/*.sh,
compiles each C test into build/tests/<variant>/<dir>/<name>, runs everything
in parallel with timeouts and prints one line per test:

    PASS|FAIL|SKIP <variant>/<dir>/<name> (<seconds>s)

followed, for failures, by the reason and the tail of the test's output, and
finally exactly one line "N passed, N failed, N skipped".  Exit status 1 if
anything failed.  See docs/CONTRIBUTING.md and tests/README.md.

Header lines honoured at the top of a test file (// in C, # in shell):
    variants: release debug asan tsan     timeout: <seconds>
    expect-abort: <python regex>          cflags: ...     ldflags: ...
"""

import argparse
import concurrent.futures
import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time

C_DIRS = ("unit", "api", "seeds", "misuse", "stress")
VARIANTS = ("release", "debug", "asan", "tsan")
# "glibc" is a hidden variant: the ordinary-program tests (api, seeds, misuse,
# stress, programs) run against the system allocator, without any preload.
# It exists to validate the tests themselves.
HIDDEN_VARIANTS = ("glibc",)
DEFAULT_RUN = ("release", "debug")
DEFAULT_VARIANTS = {
    "unit": VARIANTS,
    "api": VARIANTS,
    "stress": VARIANTS,
    "seeds": ("release", "debug"),
    "misuse": ("release", "debug"),
    "programs": ("release", "debug"),
}
DEFAULT_TIMEOUT = 60.0
COMPILE_TIMEOUT = 180.0
TAIL_LINES = 25
HEADER_SCAN_LINES = 40
HEADER_RE = re.compile(
    r"^\s*(?://|#)\s*(variants|expect-abort|timeout|cflags|ldflags)\s*:\s?(.*?)\s*$")
BASE_CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-pthread"]
SAN_FLAGS = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
             "-fno-omit-frame-pointer"],
    "tsan": ["-fsanitize=thread", "-fno-omit-frame-pointer"],
}


class Test:
    def __init__(self, path, kind, group, name, headers):
        self.path = path            # absolute path of the source/script
        self.kind = kind            # "c" or "sh"
        self.group = group          # unit, api, seeds, misuse, stress, programs
        self.name = name            # file name without extension
        self.headers = headers      # dict of header lines

    def variants(self):
        allowed = DEFAULT_VARIANTS[self.group]
        if "variants" in self.headers:
            wanted = self.headers["variants"].replace(",", " ").split()
        else:
            wanted = list(allowed)
        if self.group == "programs":       # programs run only under the preload
            wanted = [v for v in wanted if v in ("release", "debug")]
        return wanted


def parse_headers(path):
    headers = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f):
                if i >= HEADER_SCAN_LINES:
                    break
                m = HEADER_RE.match(line)
                if m and m.group(1) not in headers:
                    headers[m.group(1)] = m.group(2)
    except OSError:
        pass
    return headers


def discover(root):
    tests = []
    tdir = os.path.join(root, "tests")
    for group in C_DIRS:
        d = os.path.join(tdir, group)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".c"):
                p = os.path.join(d, fn)
                tests.append(Test(p, "c", group, fn[:-2], parse_headers(p)))
    d = os.path.join(tdir, "programs")
    if os.path.isdir(d):
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".sh"):
                p = os.path.join(d, fn)
                tests.append(Test(p, "sh", "programs", fn[:-3], parse_headers(p)))
    return tests


def lib_paths(root, variant):
    """(shared object, static archive) for a variant; None where not applicable.
    The release/debug archive is libumalloc-internal.a: the unit tests call
    um_* internals, which the installed libumalloc.a keeps local."""
    b = os.path.join(root, "build")
    if variant == "release":
        return os.path.join(b, "libumalloc.so"), os.path.join(b, "libumalloc-internal.a")
    if variant == "debug":
        return (os.path.join(b, "debug", "libumalloc.so"),
                os.path.join(b, "debug", "libumalloc-internal.a"))
    if variant in ("asan", "tsan"):
        return None, os.path.join(b, variant, "libumalloc.a")
    return None, None


def rel(root, p):
    try:
        return os.path.relpath(p, root)
    except ValueError:
        return p


def tail(text, n=TAIL_LINES):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > n:
        lines = ["[... %d lines omitted ...]" % (len(lines) - n)] + lines[-n:]
    return lines


def signame(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


def describe_status(rc):
    if rc < 0:
        return "killed by %s" % signame(-rc)
    return "exit status %d" % rc


def run_process(argv, env, cwd, timeout):
    """Runs argv in its own process group; returns (rc, out, err, timed_out)."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            # a grandchild outside the group still holds the pipes
            proc.kill()
            out, err = b"", b"(output lost: pipes held open after timeout)"
    # reap anything left in the group (e.g. a forked child that outlived us)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    return (proc.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"), timed_out)


class Result:
    def __init__(self, status, tid, secs, reason="", out="", err=""):
        self.status, self.tid, self.secs = status, tid, secs
        self.reason, self.out, self.err = reason, out, err


class Runner:
    def __init__(self, args):
        self.root = os.path.abspath(args.root)
        self.cc = os.environ.get("CC", "gcc")
        self.verbose = args.verbose
        self.timeout_scale = args.timeout_scale
        self.werror = args.werror
        self.lock = threading.Lock()

    # -- environment ----------------------------------------------------
    def base_env(self, variant):
        env = dict(os.environ)
        for k in ("LD_PRELOAD", "UMALLOC_LIB", "UMALLOC_TEST_DEBUG"):
            env.pop(k, None)
        env["UMALLOC_TEST_VARIANT"] = variant
        if variant == "debug":
            env["UMALLOC_TEST_DEBUG"] = "1"
        if variant == "asan":
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
            env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if variant == "tsan":
            env.setdefault("TSAN_OPTIONS", "halt_on_error=1:second_deadlock_stack=1")
        return env

    # -- one test -------------------------------------------------------
    def run_one(self, test, variant):
        tid = "%s/%s/%s" % (variant, test.group, test.name)
        t0 = time.monotonic()
        try:
            if test.kind == "sh":
                r = self.run_script(test, variant, tid, t0)
            else:
                r = self.run_c(test, variant, tid, t0)
        except Exception as e:          # a runner bug must not hide the test
            r = Result("FAIL", tid, time.monotonic() - t0,
                       "runner error: %s: %s" % (type(e).__name__, e))
        self.report(r)
        return r

    def timeout_of(self, test):
        try:
            t = float(test.headers.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            t = DEFAULT_TIMEOUT
        return t * self.timeout_scale

    def missing(self, tid, t0, path, variant):
        how = {"release": "make", "debug": "make DEBUG=1",
               "asan": "make asan", "tsan": "make tsan"}.get(variant, "make")
        return Result("FAIL", tid, time.monotonic() - t0,
                      "library %s does not exist (build it with `%s`)"
                      % (rel(self.root, path), how))

    def run_script(self, test, variant, tid, t0):
        so, _ = lib_paths(self.root, variant)
        env = self.base_env(variant)
        if variant == "glibc":
            env["UMALLOC_LIB"] = ""
        else:
            if not os.path.isfile(so):
                return self.missing(tid, t0, so, variant)
            env["UMALLOC_LIB"] = so
        argv = [test.path]
        with open(test.path, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
        if first.startswith("#!"):
            argv = shlex.split(first[2:]) + [test.path]
        else:
            argv = ["/bin/sh", test.path]
        return self.execute(test, tid, t0, argv, env)

    def run_c(self, test, variant, tid, t0):
        so, ar = lib_paths(self.root, variant)
        src = test.path
        outdir = os.path.join(self.root, "build", "tests", variant, test.group)
        os.makedirs(outdir, exist_ok=True)
        exe = os.path.join(outdir, test.name)
        cmd = [self.cc] + BASE_CFLAGS + ["-I", os.path.join(self.root, "tests")]
        if self.werror:
            cmd.append("-Werror")
        link = []
        env = self.base_env(variant)
        if test.group == "unit":
            cmd += ["-I", os.path.join(self.root, "src"),
                    "-I", os.path.join(self.root, "include")]
        if variant in ("asan", "tsan"):
            cmd += ["-DUMALLOC_PREFIXED", "-include",
                    os.path.join(self.root, "tests", "prefixed.h")]
            cmd += SAN_FLAGS[variant]
        if variant in ("asan", "tsan") or (test.group == "unit" and variant != "glibc"):
            if not os.path.isfile(ar):
                return self.missing(tid, t0, ar, variant)
            link.append(ar)
        elif variant in ("release", "debug"):
            if not os.path.isfile(so):
                return self.missing(tid, t0, so, variant)
            env["LD_PRELOAD"] = so
        cmd += shlex.split(test.headers.get("cflags", ""))
        cmd += [src, "-o", exe] + link
        cmd += shlex.split(test.headers.get("ldflags", ""))
        if variant in ("asan", "tsan"):
            cmd += SAN_FLAGS[variant]
        try:
            cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=COMPILE_TIMEOUT)
        except subprocess.TimeoutExpired:
            return Result("FAIL", tid, time.monotonic() - t0, "compilation timed out")
        except OSError as e:
            return Result("FAIL", tid, time.monotonic() - t0,
                          "cannot run compiler %s: %s" % (self.cc, e))
        if cp.returncode != 0:
            return Result("FAIL", tid, time.monotonic() - t0,
                          "compilation failed: %s" % " ".join(shlex.quote(c) for c in cmd),
                          out=cp.stdout.decode("utf-8", "replace"))
        return self.execute(test, tid, t0, [exe], env)

    def execute(self, test, tid, t0, argv, env):
        timeout = self.timeout_of(test)
        rc, out, err, timed_out = run_process(argv, env, self.root, timeout)
        secs = time.monotonic() - t0
        if timed_out:
            return Result("FAIL", tid, secs, "timed out after %gs" % timeout, out, err)
        # 77 is a skip for every test, expect-abort ones included: a test
        # whose precondition does not hold here (a heap layout it cannot
        # stage) says so instead of failing to die
        if rc == 77:
            reason = (out.strip().splitlines() or ["exit status 77"])[-1]
            return Result("SKIP", tid, secs, reason, out, err)
        pattern = test.headers.get("expect-abort")
        if pattern is not None:
            return self.judge_abort(tid, secs, pattern, rc, out, err)
        if rc == 0:
            return Result("PASS", tid, secs, out=out, err=err)
        return Result("FAIL", tid, secs, describe_status(rc), out, err)

    def judge_abort(self, tid, secs, pattern, rc, out, err):
        try:
            rx = re.compile(pattern)
        except re.error as e:
            return Result("FAIL", tid, secs, "bad expect-abort regex %r: %s" % (pattern, e),
                          out, err)
        lines = [l for l in err.splitlines() if l.startswith("umalloc: ")]
        problems = []
        if rc != -signal.SIGABRT:
            problems.append("%s, expected death by SIGABRT" % describe_status(rc))
        if not lines:
            problems.append("no stderr line starting 'umalloc: '")
        elif len(lines) > 1:
            problems.append("%d stderr lines start with 'umalloc: ', expected exactly one"
                            % len(lines))
        elif not rx.search(lines[0]):
            problems.append("stderr line %r does not match /%s/" % (lines[0], pattern))
        if problems:
            return Result("FAIL", tid, secs, "; ".join(problems), out, err)
        return Result("PASS", tid, secs, out=out, err=err)

    # -- output ---------------------------------------------------------
    def report(self, r):
        with self.lock:
            print("%s %s (%.2fs)" % (r.status, r.tid, r.secs))
            if r.status == "FAIL" or (self.verbose and (r.out or r.err or r.reason)):
                if r.reason:
                    print("    reason: %s" % r.reason)
                for label, text in (("stdout", r.out), ("stderr", r.err)):
                    if text.strip():
                        print("    --- %s (tail) ---" % label)
                        for line in tail(text):
                            print("    " + line)
            elif r.status == "SKIP" and r.reason:
                print("    %s" % r.reason)
            sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="tests/run.py", description="Build and run the umalloc tests.")
    ap.add_argument("--variant", action="append", nargs="+", metavar="VARIANT",
                    help="release, debug, asan, tsan (repeatable; default: release debug)")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="parallel jobs (default 2)")
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="run only tests whose id variant/dir/name contains SUBSTRING "
                         "(repeatable: any may match)")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="repository root (default: the parent of tests/)")
    ap.add_argument("--list", action="store_true", help="list the selected tests and exit")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also show the output of passing tests")
    ap.add_argument("--timeout-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    ap.add_argument("--werror", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    variants = []
    for group in args.variant or [list(DEFAULT_RUN)]:
        for v in group:
            for part in v.split(","):
                part = part.strip()
                if not part:
                    continue
                if part not in VARIANTS + HIDDEN_VARIANTS:
                    ap.error("unknown variant %r (choose from %s)" % (part, ", ".join(VARIANTS)))
                if part not in variants:
                    variants.append(part)
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")

    # no core files from the misuse tests
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass

    runner = Runner(args)
    tests = discover(runner.root)
    jobs = []
    for variant in variants:
        for t in tests:
            if variant == "glibc":
                declared = t.headers.get("variants", "").replace(",", " ").split()
                if t.group == "unit" or not ("release" in t.variants() or "glibc" in declared):
                    continue
            elif variant not in t.variants():
                continue
            tid = "%s/%s/%s" % (variant, t.group, t.name)
            if args.k and not any(k in tid for k in args.k):
                continue
            jobs.append((t, variant))

    if args.list:
        for t, v in jobs:
            print("%s/%s/%s" % (v, t.group, t.name))
        return 0

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(runner.run_one, t, v) for t, v in jobs]
        try:
            for f in concurrent.futures.as_completed(futures):
                counts[f.result().status] += 1
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            raise
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
