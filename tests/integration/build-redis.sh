#!/bin/sh
# Builds redis-server and redis-benchmark with debug information for the redis integration test,
# from Debian's source package, into a cache directory (default build/redis/); prints the
# directory that holds the two binaries on its last line. Does nothing when they are already
# there.
#
# Why: Debian's redis-server is stripped, its -dbgsym package lives in the debian-debug archive
# (not reachable here), and it is linked with jemalloc, whose allocations never reach a malloc
# tracer. This build uses glibc's malloc (MALLOC=libc) and keeps -O2 -g, also for the bundled
# Lua, hiredis and hdr_histogram (CFLAGS=-g in the environment reaches deps/Makefile), so the
# report can name redis functions with files and lines.
#
# Needs (as root, installed when missing): dpkg-dev for unpacking, and a deb-src entry for
# Debian's archive, which is added as /etc/apt/sources.list.d/leakshim-deb-src.sources when
# `apt-cache showsrc redis` finds nothing. Exits 77 when it cannot get the sources (not root
# and no deb-src entry), 1 on any other failure.
#
# Usage: tests/integration/build-redis.sh [CACHE_DIR]
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/redis}
BIN=$OUT/bin

# What the cached binaries were built with: a change here rebuilds them.
CONFIG="MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no OPTIMIZATION=-O2 CFLAGS=-g (bundled deps too)"
have_binaries() {
    [ -x "$BIN/redis-server" ] && [ -x "$BIN/redis-benchmark" ] &&
        [ "$(cat "$BIN/.config" 2>/dev/null)" = "$CONFIG" ]
}
say() { echo "build-redis: $*" >&2; }

if have_binaries; then
    echo "$BIN"
    exit 0
fi

mkdir -p "$OUT"
# One build at a time (two test runs may start together).
exec 9>"$OUT/.lock"
flock 9
if have_binaries; then
    echo "$BIN"
    exit 0
fi

root=0
[ "$(id -u)" = 0 ] && root=1
export DEBIAN_FRONTEND=noninteractive

if ! command -v dpkg-source >/dev/null 2>&1; then
    [ $root = 1 ] || { say "dpkg-source (package dpkg-dev) is missing and this is not root"; exit 77; }
    say "installing dpkg-dev"
    apt-get install -y -qq --no-install-recommends dpkg-dev >&2
fi

if ! apt-cache showsrc redis 2>/dev/null | grep -q '^Package: redis'; then
    [ $root = 1 ] || { say "no deb-src entry for Debian's archive and this is not root"; exit 77; }
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    say "adding deb-src entries for $codename to /etc/apt/sources.list.d/leakshim-deb-src.sources"
    cat > /etc/apt/sources.list.d/leakshim-deb-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -qq >&2 || { say "apt-get update failed"; exit 77; }
    apt-cache showsrc redis 2>/dev/null | grep -q '^Package: redis' ||
        { say "Debian's archive has no redis source package here"; exit 77; }
fi

SRC=$OUT/src
rm -rf "$SRC"
mkdir -p "$SRC"
cd "$SRC"
# The same version as the installed redis-tools/redis-server when there is one.
version=$(dpkg-query -W -f='${source:Version}' redis-server 2>/dev/null ||
          dpkg-query -W -f='${source:Version}' redis-tools 2>/dev/null || true)
say "fetching Debian's redis source package${version:+ $version}"
if ! { [ -n "$version" ] && apt-get source -qq --only-source "redis=$version" >&2 2>"$OUT/fetch.log"; }; then
    apt-get source -qq --only-source redis >&2 2>"$OUT/fetch.log" ||
        { cat "$OUT/fetch.log" >&2; say "apt-get source redis failed"; exit 77; }
fi
tree=$(find "$SRC" -mindepth 1 -maxdepth 1 -type d -name 'redis-*' | head -n 1)
[ -n "$tree" ] && [ -f "$tree/src/Makefile" ] || { say "no unpacked redis tree in $SRC"; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
say "building redis-server and redis-benchmark in $tree (log: $OUT/build.log)"
if ! CFLAGS=-g make -C "$tree/src" -j"$jobs" MALLOC=libc BUILD_TLS=no USE_SYSTEMD=no \
        OPTIMIZATION=-O2 redis-server redis-benchmark >"$OUT/build.log" 2>&1; then
    tail -n 30 "$OUT/build.log" >&2
    say "build failed"
    exit 1
fi
mkdir -p "$BIN.tmp"
cp "$tree/src/redis-server" "$tree/src/redis-benchmark" "$BIN.tmp/"
echo "$CONFIG" > "$BIN.tmp/.config"
rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"
say "built $BIN/redis-server and $BIN/redis-benchmark"
echo "$BIN"
