#!/usr/bin/env bash
# examples/demo.sh - the leakshim demo (`make demo`).
#
# Runs the example HTTP server under the tracer, drives it with load (examples/loadgen, plus
# a short wrk run when wrk is installed), stops it with SIGTERM, prints the leak report and
# checks that the report finds the one intentional leak, in copy_header_value() called from
# handle_login(), with exactly the expected number of bytes and blocks.
#
# Expects `make` to have built build/leakshim, build/libleakshim.so, build/examples/server
# and build/examples/loadgen. Environment knobs:
#   DEMO_REQUESTS=N      loadgen requests (default 40000; must be a multiple of 100)
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
if [ "$REQUESTS" -eq 0 ] || [ $((REQUESTS % 100)) -ne 0 ]; then
    fail "DEMO_REQUESTS must be a positive multiple of 100"
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
banner "1/4 starting build/examples/server under the tracer"
TRACE_TEMPLATE="$WORK/server.%p.trace"
echo "\$ leakshim run --output $TRACE_TEMPLATE -- build/examples/server --port 0"
"$LEAKSHIM" run --output "$TRACE_TEMPLATE" -- "$SERVER" --port 0 \
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
banner "2/4 driving load: loadgen, $REQUESTS requests (60% /hello, 30% /item, 10% /login)"
echo "\$ loadgen --host 127.0.0.1 --port $PORT --requests $REQUESTS --connections 8"
if ! run_to "$WORK/loadgen.out" "$LOADGEN" --host 127.0.0.1 --port "$PORT" \
    --requests "$REQUESTS" --connections 8 --timeout 20; then
    cat "$WORK/loadgen.out"
    fail "loadgen reported failed requests"
fi
cat "$WORK/loadgen.out"
BAD_LOGINS=$(sed -n 's/^bad_logins: *\([0-9]*\)$/\1/p' "$WORK/loadgen.out")
[ "$BAD_LOGINS" = "$EXPECTED_BLOCKS" ] ||
    fail "loadgen made ${BAD_LOGINS:-?} bad logins, expected $EXPECTED_BLOCKS"
echo "loadgen throughput: $(sed -n 's/^requests_per_second: *//p' "$WORK/loadgen.out") requests/s" \
    "($BAD_LOGINS bad logins, each leaking $LEAK_BYTES_PER_BAD_LOGIN bytes)"

if command -v wrk >/dev/null && [ "$WRK_SECONDS" != 0 ]; then
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
banner "3/4 stopping the server with SIGTERM"
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
banner "4/4 leak report"
echo "\$ leakshim report --top 5 $TRACE"
"$LEAKSHIM" report --top 5 "$TRACE" || fail "leakshim report failed"

"$LEAKSHIM" report --format json "$TRACE" >"$WORK/report.json" ||
    fail "leakshim report --format json failed"
python3 - "$WORK/report.json" "$LEAK_FUNCTION" "$EXPECTED_BYTES" "$EXPECTED_BLOCKS" <<'EOF'
import json, sys

path, func, want_bytes, want_blocks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def die(msg):
    print("demo: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)

try:
    with open(path) as f:
        report = json.load(f)
except (OSError, ValueError) as e:
    die("the JSON report does not parse: %s" % e)
if report.get("format") != "leakshim-report" or report.get("version") != 1:
    die("not a leakshim-report version 1 document")

def frame_function(frame):
    return (frame.get("function") or "") if isinstance(frame, dict) else ""

suspects = report.get("suspects") or []
matching = [s for s in suspects if any(frame_function(fr) == func or
                                       frame_function(fr).startswith(func + ".")
                                       for fr in s.get("stack") or [])]
if not matching:
    names = [[frame_function(fr) for fr in (s.get("stack") or [])[:4]] for s in suspects[:5]]
    die("no suspect has %s in its stack; top suspects: %s" % (func, names))
got_bytes = sum(s.get("leaked_bytes", 0) for s in matching)
got_blocks = sum(s.get("leaked_allocations", 0) for s in matching)
chain = " <- ".join(frame_function(fr) or "?" for fr in (matching[0].get("stack") or [])[:4])
print("json report: suspect #%s: %d bytes in %d blocks at %s" %
      (matching[0].get("rank"), got_bytes, got_blocks, chain))
if (got_bytes, got_blocks) != (want_bytes, want_blocks):
    die("%s leaked %d bytes in %d blocks, expected %d bytes in %d blocks" %
        (func, got_bytes, got_blocks, want_bytes, want_blocks))
summary = report.get("summary") or {}
if summary.get("leaked_bytes", got_bytes) < got_bytes:
    die("the summary's leaked_bytes is smaller than the suspect's")
print("demo: OK: leak found in %s (%d bytes in %d blocks)" % (func, got_bytes, got_blocks))
EOF
