#!/bin/sh
# Installs the Debian packages that building and testing leakshim need, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails. Then it installs
# playwright-core (which drives the system's chromium in the HTML report's test) into
# build/node/, once: nothing is fetched when it is there.
set -eu
cd "$(dirname "$0")/.."
PACKAGES="gcc make pkg-config python3 cppcheck libunwind-dev uthash-dev libcmocka-dev libdw-dev libelf-dev
          zlib1g-dev clang libclang-rt-14-dev redis-server redis-tools wrk heaptrack golang-go chromium"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from elsewhere than Debian (nodesource's nodejs carries npm)
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "leakshim needs these Debian packages:$missing" >&2
        echo "install them with: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -f build/node/node_modules/playwright-core/package.json ]; then
    echo "installing playwright-core into build/node"
    mkdir -p build/node
    npm install --prefix build/node --no-audit --no-fund --silent playwright-core@1 >/dev/null
fi
