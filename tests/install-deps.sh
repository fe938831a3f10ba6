#!/bin/sh
# Installs the Debian packages that building and testing leakshim need, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu
PACKAGES="gcc make pkg-config python3 cppcheck libunwind-dev uthash-dev libcmocka-dev libdw-dev libelf-dev
          zlib1g-dev clang libclang-rt-14-dev redis-server redis-tools wrk heaptrack golang-go prometheus"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "leakshim needs these Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
