#!/usr/bin/env bash
# examples/demo.sh - the leakshim demo (`make demo`).
#
# Runs the example HTTP server under the tracer, warms it up, marks the end of the warm-up
# (SIGUSR2, the LEAKSHIM_MARK_SIGNAL), drives the main load (examples/loadgen), marks the end
# of the load, measures throughput with short wrk runs when wrk is installed, stops the
# server with SIGTERM and prints the
# leak report as it stood at the end of the load: the one intentional leak, in
# copy_header_value() called from handle_login(), ranks first, ahead of the item cache that
# holds more bytes but stopped growing once full. Checks the exact bytes and blocks of the
# leak for the whole load and for the steady state after the warm-up.
#
# Expects `make` to have built build/leakshim, build/libleakshim.so, build/examples/server
# and build/examples/loadgen. Environment knobs:
#   DEMO_REQUESTS=N      loadgen requests (default 40000; a multiple of 400): a quarter
#                        warms up, the rest is the main load
#   DEMO_WRK_SECONDS=S   duration of each wrk run (default 2; 0 skips wrk)
#   DEMO_KEEP=1          keep the temporary directory (trace, report, logs) and print it
#   LEAKSHIM=path        the leakshim binary (default build/leakshim)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
LEAKSHIM=${LEAKSHIM:-$ROOT/build/leakshim}
SERVER=$ROOT/build/examples/server
LOADGEN=$ROOT/build/examples/loadgen
REQUESTS=${DEMO_REQUESTS:-40000}
WRK_SECONDS=${DEMO_WRK_SECONDS:-2}
LEAK_FUNCTION=copy_header_value
# Each bad login leaks one copy of "application/x-www-form-urlencoded" (33 chars + NUL), and
# loadgen makes one bad login per 100 requests (see examples/server.c, LOGIN_LEAK).
LEAK_BYTES_PER_BAD_LOGIN=34
EXPECTED_BLOCKS=$((REQUESTS / 100))
EXPECTED_BYTES=$((EXPECTED_BLOCKS * LEAK_BYTES_PER_BAD_LOGIN))
WARMUP_REQUESTS=$((REQUESTS / 4))
LOAD_REQUESTS=$((REQUESTS - WARMUP_REQUESTS))
STEADY_BLOCKS=$((LOAD_REQUESTS / 100))
STEADY_BYTES=$((STEADY_BLOCKS * LEAK_BYTES_PER_BAD_LOGIN))
CACHE_FUNCTION=handle_item # the cached entries and their rendered documents

banner() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}

for f in "$LEAKSHIM" "$ROOT/build/libleakshim.so" "$SERVER" "$LOADGEN"; do
    [ -x "$f" ] || [ -f "$f" ] || fail "$f is missing: run 'make' first"
done
command -v python3 >/dev/null || fail "python3 is needed to check the JSON report"
case $REQUESTS in
    '' | *[!0-9]*) fail "DEMO_REQUESTS must be a number" ;;
esac
if [ "$REQUESTS" -eq 0 ] || [ $((REQUESTS % 400)) -ne 0 ]; then
    fail "DEMO_REQUESTS must be a positive multiple of 400"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leakshim-demo.XXXXXX")
RUNNER_PID=
SERVER_PID=
CHILD_PID=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for p in $CHILD_PID $SERVER_PID $RUNNER_PID; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.2
            done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The pid of the server process itself: `leakshim run` may exec the program (same pid) or
# fork and wait for it (a child of the runner).
find_server_pid() {
    local runner=$1 dir pid stat
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ "$(readlink "$dir/exe" 2>/dev/null)" = "$SERVER" ] || continue
        if [ "$pid" = "$runner" ]; then
            echo "$pid"
            return 0
        fi
        stat=$(cat "$dir/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${stat##*) }"   # fields after "pid (comm) ": state ppid ...
        if [ "${fields[1]:-}" = "$runner" ]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# Runs a command in the background with its output in a file and waits for it: a trapped
# INT or TERM interrupts `wait` at once (it would wait for a foreground command to end).
run_to() {
    local out=$1 status
    shift
    "$@" >"$out" 2>&1 &
    CHILD_PID=$!
    set +e
    wait "$CHILD_PID"
    status=$?
    set -e
    CHILD_PID=
    return "$status"
}

# --------------------------------------------------------------------------------------------
banner "1/5 starting build/examples/server under the tracer"
TRACE_TEMPLATE="$WORK/server.%p.trace"
echo "\$ LEAKSHIM_MARK_SIGNAL=USR2 leakshim run --output $TRACE_TEMPLATE -- build/examples/server --port 0"
LEAKSHIM_MARK_SIGNAL=USR2 "$LEAKSHIM" run --output "$TRACE_TEMPLATE" -- "$SERVER" --port 0 \
    >"$WORK/server.stdout" 2>"$WORK/server.stderr" &
RUNNER_PID=$!

PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/server.stdout" | head -n 1)
    [ -n "$PORT" ] && break
    if ! kill -0 "$RUNNER_PID" 2>/dev/null; then
        cat "$WORK/server.stderr" >&2
        fail "the server exited before listening"
    fi
    sleep 0.1
done
[ -n "$PORT" ] || {
    cat "$WORK/server.stderr" >&2
    fail "the server did not print 'listening on ...' within 10 seconds"
}
SERVER_PID=$(find_server_pid "$RUNNER_PID") || fail "cannot find the server's process"
echo "server: pid $SERVER_PID, $(head -n 1 "$WORK/server.stdout")"

# --------------------------------------------------------------------------------------------
# Runs loadgen for $1 requests; checks that it made $1 / 100 bad logins.
drive_loadgen() {
    local requests=$1 bad
    echo "\$ loadgen --host 127.0.0.1 --port $PORT --requests $requests --connections 8"
    if ! run_to "$WORK/loadgen.out" "$LOADGEN" --host 127.0.0.1 --port "$PORT" \
        --requests "$requests" --connections 8 --timeout 20; then
        cat "$WORK/loadgen.out"
        fail "loadgen reported failed requests"
    fi
    bad=$(sed -n 's/^bad_logins: *\([0-9]*\)$/\1/p' "$WORK/loadgen.out")
    [ "$bad" = "$((requests / 100))" ] ||
        fail "loadgen made ${bad:-?} bad logins, expected $((requests / 100))"
    echo "loadgen: $(sed -n 's/^requests_per_second: *//p' "$WORK/loadgen.out") requests/s," \
        "$bad bad logins, each leaking $LEAK_BYTES_PER_BAD_LOGIN bytes"
}

# Drops a mark into the trace: the tracer names the N-th SIGUSR2 "signal-N".
mark() {
    echo "\$ kill -USR2 $SERVER_PID    # mark '$1'"
    kill -USR2 "$SERVER_PID"
    sleep 0.1
}

banner "2/5 warm-up: $WARMUP_REQUESTS requests (60% /hello, 30% /item, 10% /login)"
drive_loadgen "$WARMUP_REQUESTS"
mark signal-1

banner "3/5 main load: $LOAD_REQUESTS requests"
drive_loadgen "$LOAD_REQUESTS"
mark signal-2
if command -v wrk >/dev/null && [ "$WRK_SECONDS" != 0 ]; then
    echo "(after the load test: the server's throughput under the tracer, with wrk)"
    for path in /hello '/item?id=42'; do
        echo "\$ wrk -t2 -c16 -d${WRK_SECONDS}s http://127.0.0.1:$PORT$path"
        run_to "$WORK/wrk.out" wrk -t2 -c16 -d"${WRK_SECONDS}s" "http://127.0.0.1:$PORT$path" ||
            { cat "$WORK/wrk.out"; fail "wrk failed"; }
        grep -E 'requests in|Requests/sec|Socket errors|Non-2xx' "$WORK/wrk.out" | sed 's/^ */  /'
        ! grep -q 'Non-2xx' "$WORK/wrk.out" || fail "wrk got error responses from $path"
    done
else
    echo "(wrk not installed or DEMO_WRK_SECONDS=0: skipping the wrk runs)"
fi

# --------------------------------------------------------------------------------------------
banner "4/5 stopping the server with SIGTERM"
kill -TERM "$SERVER_PID"
set +e
wait "$RUNNER_PID"
STATUS=$?
set -e
RUNNER_PID=
SERVER_PID=
cat "$WORK/server.stderr"
[ "$STATUS" -eq 0 ] || fail "the server exited with status $STATUS"
echo "server exited with status 0"

shopt -s nullglob
TRACES=("$WORK"/server.*.trace)
shopt -u nullglob
[ "${#TRACES[@]}" -eq 1 ] || fail "expected one trace in $WORK, found ${#TRACES[@]}"
TRACE=${TRACES[0]}
echo "trace: $TRACE ($(stat -c %s "$TRACE") bytes)"

# --------------------------------------------------------------------------------------------
banner "5/5 leak report at the end of the load (the item cache is still full then)"
echo "\$ leakshim report --top 5 --until signal-2 $TRACE"
"$LEAKSHIM" report --top 5 --until signal-2 "$TRACE" || fail "leakshim report failed"

report_json() { # NAME [WINDOW...]: the JSON report of the trace over a window
    local name=$1
    shift
    "$LEAKSHIM" report --format json "$@" "$TRACE" >"$WORK/report.$name.json" ||
        fail "leakshim report --format json $* failed"
}
report_json load-end --until signal-2
report_json steady --since signal-1 --until signal-2
report_json whole

echo
python3 - "$WORK" "$LEAK_FUNCTION" "$CACHE_FUNCTION" "$EXPECTED_BYTES" "$EXPECTED_BLOCKS" \
    "$STEADY_BYTES" "$STEADY_BLOCKS" <<'EOF'
import json, os, sys

work, func, cache_func = sys.argv[1], sys.argv[2], sys.argv[3]
want_bytes, want_blocks, steady_bytes, steady_blocks = map(int, sys.argv[4:8])

def die(msg):
    print("demo: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)

def load(name):
    try:
        with open(os.path.join(work, "report.%s.json" % name)) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        die("the JSON report %s does not parse: %s" % (name, e))
    if report.get("format") != "leakshim-report" or report.get("version") != 1:
        die("not a leakshim-report version 1 document")
    return report

def frame_function(frame):
    return (frame.get("function") or "") if isinstance(frame, dict) else ""

def suspects_through(report, fn, what):
    matching = [s for s in report.get("suspects") or []
                if any(frame_function(fr) == fn or frame_function(fr).startswith(fn + ".")
                       for fr in s.get("stack") or [])]
    if not matching:
        names = [[frame_function(fr) for fr in (s.get("stack") or [])[:4]]
                 for s in (report.get("suspects") or [])[:5]]
        die("%s: no suspect has %s in its stack; top suspects: %s" % (what, fn, names))
    return (matching, sum(s.get("leaked_bytes", 0) for s in matching),
            sum(s.get("leaked_allocations", 0) for s in matching))

def expect(report, what, fn, want):
    matching, got_bytes, got_blocks = suspects_through(report, fn, what)
    if (got_bytes, got_blocks) != want:
        die("%s: %s leaked %d bytes in %d blocks, expected %d bytes in %d blocks" %
            ((what, fn, got_bytes, got_blocks) + want))
    return matching

leak = expect(load("load-end"), "end of load", func, (want_bytes, want_blocks))
cache, cache_bytes, _ = suspects_through(load("load-end"), cache_func, "end of load")
if leak[0].get("rank") != 1 or not leak[0].get("growing"):
    die("the leak is not the growing suspect at rank 1: rank %s, growing %s" %
        (leak[0].get("rank"), leak[0].get("growing")))
if cache[0].get("growing") or cache_bytes <= want_bytes:
    die("the item cache should hold more bytes than the leak and not grow: %d bytes, growing %s"
        % (cache_bytes, cache[0].get("growing")))
chain = " <- ".join(frame_function(fr) or "?" for fr in (leak[0].get("stack") or [])[:4])
print("end of load: #1 is %s, %d bytes in %d blocks, growing; the item cache holds %d bytes "
      "but is not growing: #%d" % (chain, want_bytes, want_blocks, cache_bytes, cache[0]["rank"]))
expect(load("steady"), "steady state", func, (steady_bytes, steady_blocks))
print("steady state after the warm-up (--since signal-1): %d bytes in %d blocks"
      % (steady_bytes, steady_blocks))
expect(load("whole"), "whole run", func, (want_bytes, want_blocks))
print("demo: OK: leak found in %s (%d bytes in %d blocks)" % (func, want_bytes, want_blocks))
EOF
