#!/usr/bin/env bash
# examples/ci-gate.sh - a load-test leak gate, as a CI job runs it.
#
#   examples/ci-gate.sh [CHECK OPTIONS...]
#
# Starts build/examples/server under the tracer (plain LD_PRELOAD, with SIGUSR2 as the mark
# signal), warms it up with build/examples/loadgen, marks the end of the warm-up
# (kill -USR2: the mark "signal-1"), drives a fixed load, stops it with SIGTERM, and runs
#
#   leakshim check TRACE --since signal-1 --max-leaked-bytes $GATE_MAX_LEAKED_BYTES \
#       --junit OUT/leakshim.junit.xml --sarif OUT/leakshim.sarif --json OUT/leakshim.json \
#       [CHECK OPTIONS...]
#
# and exits with its status: 0 when every budget holds, 1 when one is exceeded, 2 when the
# gate itself could not run. The example server leaks 34 bytes per bad login (one login in
# 100 requests) in copy_header_value, so the gate fails as it is, and passes with that leak
# suppressed:
#
#   examples/ci-gate.sh                                       # exit 1
#   examples/ci-gate.sh --suppressions examples/server.supp   # exit 0
#
# Only what the measured load allocated and left behind counts: the warm-up's allocations
# (caches filling, connections) are before the mark.
#
# Environment:
#   GATE_WARMUP_REQUESTS=N    warm-up requests (default 1000)
#   GATE_REQUESTS=N           requests of the measured load (default 20000)
#   GATE_MAX_LEAKED_BYTES=S   the budget (default 0: nothing may leak; K, M, G suffixes)
#   GATE_SINCE=MARK|SECONDS   the window's start (default signal-1, the end of the warm-up;
#                             an empty value checks the whole run)
#   GATE_OUTPUT=DIR           where the trace and the reports go (default: a new temporary
#                             directory, printed at the end)
#   LEAKSHIM=path             the leakshim binary (default build/leakshim)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
LEAKSHIM=${LEAKSHIM:-$ROOT/build/leakshim}
SHIM=$ROOT/build/libleakshim.so
SERVER=$ROOT/build/examples/server
LOADGEN=$ROOT/build/examples/loadgen
WARMUP=${GATE_WARMUP_REQUESTS:-1000}
REQUESTS=${GATE_REQUESTS:-20000}
BUDGET=${GATE_MAX_LEAKED_BYTES:-0}

fail() {
    printf 'ci-gate: %s\n' "$*" >&2
    exit 2
}

for f in "$LEAKSHIM" "$SHIM" "$SERVER" "$LOADGEN"; do
    [ -e "$f" ] || fail "$f is missing: run 'make' first"
done
OUT=${GATE_OUTPUT:-$(mktemp -d "${TMPDIR:-/tmp}/leakshim-gate.XXXXXX")}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)

SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap stop_server EXIT

# 1. The server under the tracer: its trace goes to OUT/server.PID.trace.
rm -f "$OUT"/server.*.trace
LD_PRELOAD=$SHIM LEAKSHIM_OUTPUT="$OUT/server.%p.trace" LEAKSHIM_MARK_SIGNAL=USR2 \
    "$SERVER" --port 0 \
    >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$OUT/server.out")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited: $(cat "$OUT/server.err")"
    sleep 0.1
done
[ -n "$PORT" ] || fail "the server did not say where it listens within 10 seconds"
echo "ci-gate: server pid $SERVER_PID on port $PORT"

# 2. Warm-up, then 3. the measured load. loadgen fails on any wrong answer.
load() {
    "$LOADGEN" --host 127.0.0.1 --port "$PORT" --requests "$1" --connections 8 --quiet \
        >"$OUT/loadgen.$2.out" 2>&1 || { cat "$OUT/loadgen.$2.out" >&2; fail "loadgen ($2) failed"; }
    echo "ci-gate: $2: $1 requests, $(sed -n 's/^bad_logins: *//p' "$OUT/loadgen.$2.out") bad logins"
}
load "$WARMUP" warmup
kill -USR2 "$SERVER_PID" # the mark "signal-1": the warm-up is over
load "$REQUESTS" load

# 4. Stop the server: the trace is complete when it exits.
kill -TERM "$SERVER_PID"
STATUS=0
wait "$SERVER_PID" || STATUS=$?
SERVER_PID=
[ "$STATUS" -eq 0 ] || fail "the server exited with status $STATUS"
shopt -s nullglob
TRACES=("$OUT"/server.*.trace)
[ "${#TRACES[@]}" -eq 1 ] || fail "expected one trace in $OUT, found ${#TRACES[@]}"

# 5. The gate.
WINDOW=()
GATE_SINCE=${GATE_SINCE-signal-1}
[ -n "$GATE_SINCE" ] && WINDOW=(--since "$GATE_SINCE")
set +e
"$LEAKSHIM" check "${TRACES[0]}" --max-leaked-bytes "$BUDGET" "${WINDOW[@]}" \
    --junit "$OUT/leakshim.junit.xml" --sarif "$OUT/leakshim.sarif" --json "$OUT/leakshim.json" "$@"
VERDICT=$?
set -e
echo "ci-gate: reports in $OUT (leakshim.junit.xml, leakshim.sarif, leakshim.json); exit $VERDICT"
exit "$VERDICT"
