#!/bin/sh
# Install the peer allocators (and the tools the benchmark uses) from Debian.
# Usage: sh bench/install-peers.sh [--no-optional]
#   --no-optional  skip redis-server/redis-tools/sqlite3 (the real-program extras)
# Idempotent: does nothing (and no apt-get update) when everything is present.
set -eu

required="libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 valgrind"
optional="redis-server redis-tools sqlite3"
[ "${1:-}" = "--no-optional" ] && optional=""

missing=""
for p in $required $optional; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-peers: all present"
    exit 0
fi
echo "install-peers: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
    $SUDO apt-get install -y -q --no-install-recommends "$@"
}
# Try without refreshing the package lists first; update only if that fails.
if ! apt_install $missing >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null
    # required ones must succeed; optional ones are best effort
    req_missing=""
    for p in $missing; do
        case " $required " in *" $p "*) req_missing="$req_missing $p";; esac
    done
    [ -n "$req_missing" ] && apt_install $req_missing
    for p in $missing; do
        case " $required " in *" $p "*) ;; *) apt_install "$p" || echo "install-peers: optional $p not installed" >&2;; esac
    done
fi
# redis-server's package may start a system instance on 6379; the benchmark
# starts its own on another port and does not need it.
echo "install-peers: done"
