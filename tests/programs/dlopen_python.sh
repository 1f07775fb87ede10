#!/bin/sh
# python3 (not preloaded) loads the library with ctypes.CDLL — dlopen with
# RTLD_NOW into a process whose static TLS is already laid out — and calls
# umalloc_version, malloc, realloc and free from it in the main thread and in
# four Python threads (one started before the load). Before the thread cache
# moved behind one TLS pointer this failed with "cannot allocate memory in
# static TLS block".
# Exit: 0 pass, 77 python3 not installed or no library (glibc variant), other = fail.
set -u
: "${UMALLOC_LIB?UMALLOC_LIB must be set (path of libumalloc.so; empty = no preload)}"
[ -n "$UMALLOC_LIB" ] || { echo "no library to load (glibc variant)"; exit 77; }
[ -f "$UMALLOC_LIB" ] || { echo "UMALLOC_LIB=$UMALLOC_LIB does not exist"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
if [ -n "${UMALLOC_TEST_DEBUG:-}" ]; then N=300; else N=20000; fi

env -u LD_PRELOAD python3 - "$UMALLOC_LIB" "$N" <<'EOF_PY'
import ctypes, os, sys, threading

lib_path, n = sys.argv[1], int(sys.argv[2])
with open("/proc/self/maps") as f:
    assert lib_path not in f.read(), "already mapped before the load"

started = threading.Event()
go = threading.Event()
errors = []

def work(lib, seed):
    try:
        lib.malloc.restype = ctypes.c_void_p
        lib.malloc.argtypes = [ctypes.c_size_t]
        lib.realloc.restype = ctypes.c_void_p
        lib.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.free.argtypes = [ctypes.c_void_p]
        keep = []
        for i in range(n):
            size = 1 + (seed * 7919 + i * 104729) % 3000
            p = lib.malloc(size)
            assert p and p % 16 == 0, "malloc(%d) = %r" % (size, p)
            tag = bytes([(seed + i) & 0xFF]) * size
            ctypes.memmove(p, tag, size)
            if i % 3 == 0:
                q = lib.realloc(p, size * 2)
                assert q and ctypes.string_at(q, size) == tag, "realloc lost the contents"
                p = q
            keep.append((p, tag))
            if len(keep) > 64:
                p, tag = keep.pop(seed % len(keep))
                assert ctypes.string_at(p, len(tag)) == tag, "block clobbered"
                lib.free(p)
        for p, tag in keep:
            assert ctypes.string_at(p, len(tag)) == tag, "block clobbered"
            lib.free(p)
    except Exception as e:  # reported by the main thread
        errors.append(repr(e))

holder = {}
def early():
    started.set()
    go.wait()
    work(holder["lib"], 1)

t0 = threading.Thread(target=early, daemon=True)
t0.start()
started.wait()
try:
    lib = ctypes.CDLL(lib_path)      # dlopen(RTLD_NOW | RTLD_LOCAL)
except OSError as e:
    print("ctypes.CDLL(%s) failed: %s" % (lib_path, e))
    os._exit(1)
holder["lib"] = lib
lib.umalloc_version.restype = ctypes.c_char_p
v = lib.umalloc_version().decode()
assert v[0].isdigit() and "." in v, v
go.set()
threads = [threading.Thread(target=work, args=(lib, s)) for s in (2, 3, 4)]
for t in threads:
    t.start()
work(lib, 5)
for t in [t0] + threads:
    t.join()
lib.umalloc_check()
if errors:
    print("errors:", errors)
    sys.exit(1)
print("ctypes.CDLL loaded umalloc %s; %d threads x %d blocks" % (v, 5, n))
EOF_PY
