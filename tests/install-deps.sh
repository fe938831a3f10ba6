#!/bin/sh
# Installs what building and testing leakshim needs, when it is missing.
#
#   tests/install-deps.sh          Debian packages, then the npm tools
#   tests/install-deps.sh npm      the npm tools only (what test_check.py asks for)
#
# Debian packages: as root it runs apt-get; otherwise it prints the exact command and fails.
# npm tools, under build/tools/npm: the SARIF 2.1.0 schema (shipped in @microsoft/jest-sarif)
# and ajv 6, the validator that package uses; under build/node: playwright-core, which
# drives the system's chromium in the HTML report's test. Installed once, pinned, quick when
# present.
set -eu
PACKAGES="gcc make pkg-config python3 cppcheck libunwind-dev uthash-dev libcmocka-dev libdw-dev libelf-dev
          zlib1g-dev libzstd-dev libjansson-dev libxml2-utils
          clang libclang-rt-14-dev redis-server redis-tools wrk heaptrack golang-go prometheus chromium strace"
NPM_PACKAGES="ajv@6.12.6 @microsoft/jest-sarif@1.0.0-beta.0"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NPM_DIR=$ROOT/build/tools/npm
BROWSER_DIR=$ROOT/build/node

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "leakshim needs these Debian packages:$*" >&2
        echo "install them with: sudo apt-get install -y$*" >&2
        exit 1
    fi
    echo "installing:$*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

debian_packages() {
    missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    # node and npm may come from elsewhere than Debian (nodesource's nodejs carries npm)
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    [ -z "$missing" ] || apt_install $missing
}

npm_tools() {
    stamp="$NPM_DIR/.installed: $NPM_PACKAGES"
    [ -f "$NPM_DIR/.installed" ] && [ "$(cat "$NPM_DIR/.installed")" = "$stamp" ] && return 0
    command -v npm >/dev/null || apt_install nodejs npm
    echo "installing npm tools into $NPM_DIR: $NPM_PACKAGES"
    mkdir -p "$NPM_DIR"
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save --silent $NPM_PACKAGES
    echo "$stamp" >"$NPM_DIR/.installed"
}

browser_tools() {
    [ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] && return 0
    echo "installing playwright-core into $BROWSER_DIR"
    mkdir -p "$BROWSER_DIR"
    npm install --prefix "$BROWSER_DIR" --no-audit --no-fund --silent playwright-core@1 >/dev/null
}

case "${1:-all}" in
    all) debian_packages; npm_tools; browser_tools ;;
    npm) npm_tools ;;
    *) echo "usage: tests/install-deps.sh [npm]" >&2; exit 2 ;;
esac
