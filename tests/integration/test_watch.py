"""`leakshim watch` on live programs (tests/programs/watch_prog.c): the alert fires after the
program starts leaking (its mark) and not before, names the leaking function, and the final
report is byte for byte `leakshim report`'s, and `report --format html --alerts` draws the
alerts file it wrote; a killed process (no END) still ends the watch;
watch started before the trace exists waits for it; the /metrics endpoint passes `promtool
check metrics` with exact values, answers 404/405/431 where it should; a real Prometheus
server scrapes it and its HTTP API returns the live heap's exact value."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import lib
import test_html

INCLUDE = ["-I", os.path.join(lib.ROOT, "shim")]
HOLD_BYTES = 16 * 64 * 1024


def _program(t):
    return t.build("watch_prog.c", extra=INCLUDE)


class Watch:
    """`leakshim watch` in the background on `trace`."""

    def __init__(self, t, trace, *args):
        self.p = subprocess.Popen([lib.CLI, "watch", *args, trace], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=lib.clean_env())
        self.t = t

    def metrics_url(self, timeout=10):
        """The URL watch prints on stderr when it listens."""
        fd = self.p.stderr.fileno()
        data, end = b"", time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(rb"metrics at (http://\S+/metrics)", data)
            if m:
                self.err_head = data
                return m.group(1).decode()
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        raise lib.Fail(f"watch did not say where it listens: {lib.tail(data)}")

    def finish(self, timeout=30):
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.communicate()
            raise lib.Fail(f"watch did not end within {timeout} s after the process did")
        self.out, self.err, self.rc = out.decode(errors="replace"), err.decode(errors="replace"), self.p.returncode
        return self

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def _trace_of(spawned, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        traces = [x for x in spawned.traces if not os.path.basename(x).startswith(".")]
        if traces:
            return traces[0]
        time.sleep(0.02)
    raise lib.Fail("the program wrote no trace")


def _report_text(t, trace):
    p = t.cli(["report", trace])
    t.require(p.returncode == 0, f"report: rc={p.returncode} {lib.tail(p.stderr)}")
    return p.stdout.decode(errors="replace")


def _final_report(out):
    i = out.find("leakshim report: ")
    return out[i:] if i >= 0 else ""


def _mark_time(t, trace, name):
    p = t.cli(["timeline", "--format", "json", trace])
    t.require(p.returncode == 0, f"timeline: {lib.tail(p.stderr)}")
    marks = [m["t_s"] for m in json.loads(p.stdout)["marks"] if m["name"] == name]
    t.require(marks, f"no mark {name} in the trace")
    return marks[0]


def test_alert_after_leak_starts(t):
    """3 s steady, then 256 B per request leaked from leak_session_token for 3 s; intervals
    of 0.2 s, 1.5 s of learning, 3 intervals in a row: the growth alert comes between the mark
    and 1.5 s after it, no alert comes before the mark, both name leak_session_token."""
    alerts = os.path.join(t.tmp, "alerts.jsonl")
    prog = lib.Spawned(t, [_program(t), "steady_then_leak", "3000", "3000"])
    try:
        trace = _trace_of(prog)
        w = Watch(t, trace, "--interval", "0.2", "--learn", "1.5", "--consecutive", "3",
                  "--alerts", alerts, "--status", "always")
        prog.finish(60)
        w.finish(30)
    finally:
        prog.kill_now()
    t.eq(prog.rc, 0, "program exit status")
    t.require(w.rc == 0, f"watch rc={w.rc}: {lib.tail(w.err)}")
    mark = _mark_time(t, trace, "leak-start")
    with open(alerts) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    t.require(lines, f"no alert written; watch said: {lib.tail(w.out, 2000)}")
    for a in lines:
        t.check(set(a) >= {"time", "kind", "observed", "expected", "threshold", "stacks"},
                f"alert fields: {sorted(a)}")
        t.check(a["time"] >= mark, f"{a['kind']} alert at {a['time']} s, before the leak started at {mark} s")
        t.check(a["stacks"] and a["stacks"][0]["stack"].startswith("leak_session_token<handle_request"),
                f"{a['kind']} alert names {a['stacks'][:1]}")
        t.check(a["observed"] > a["threshold"] > a["expected"], f"alert figures {a}")
    growth = [a for a in lines if a["kind"] == "growth"]
    t.require(growth, f"no growth alert: {lines}")
    t.check(growth[0]["time"] <= mark + 1.5, f"growth alert at {growth[0]['time']} s, leak from {mark} s")
    # 256 bytes a request, about 900 requests a second
    t.check(100e3 < growth[0]["observed"] < 300e3, f"observed growth {growth[0]['observed']}")
    t.check(100e3 < growth[0]["stacks"][0]["growth_bytes_per_s"] < 300e3,
            f"stack growth {growth[0]['stacks'][0]}")
    t.note(f"leak from {mark:.3f} s; alerts at " +
           ", ".join(f"{a['time']:.3f} s ({a['kind']})" for a in lines))
    t.check("ALERT at" in w.out and "leak_session_token" in w.out.split("ALERT at", 1)[1],
            "the alert printed on stdout")
    status = [line for line in w.out.splitlines() if re.match(r"\s+\d+\.\d s  live ", line)]
    t.check(len(status) >= 25, f"{len(status)} status lines for 6 s at 0.2 s")
    t.check(status and "[learning]" in status[0], "the first status line says learning")
    t.eq(_final_report(w.out), _report_text(t, trace), "watch's final report against leakshim report's")
    _alerts_on_the_html_time_line(t, trace, alerts, lines)


def _alerts_on_the_html_time_line(t, trace, alerts, lines):
    """The file watch wrote is what `report --format html --alerts` reads: every alert, with
    its time and kind, on the page's time line."""
    page = os.path.join(t.tmp, "alerts.html")
    p = t.cli(["report", "--format", "html", "--alerts", alerts, "-o", page, trace])
    t.require(p.returncode == 0, f"report --format html --alerts (watch's file): rc={p.returncode} "
                                 f"{lib.tail(p.stderr)}")
    with open(page, encoding="utf-8") as f:
        data = json.loads(test_html.DATA.search(f.read()).group(1))
    t.eq([(a["t_s"], a["kind"]) for a in data["timeline"]["alerts"]],
         [(a["time"], a["kind"]) for a in lines], "watch's alerts on the HTML time line")


def test_killed_process_ends_the_watch(t):
    """SIGKILL leaves no END record: watch sees the pid gone and reports, as `leakshim report`
    does (ring file recovery and warning included)."""
    prog = lib.Spawned(t, [_program(t), "churn"])
    try:
        trace = _trace_of(prog)
        w = Watch(t, trace, "--interval", "0.2", "--status", "never")
        time.sleep(1.0)
        prog.p.kill()
        prog.finish(10)
        started = time.monotonic()
        w.finish(20)
        waited = time.monotonic() - started
    finally:
        prog.kill_now()
    t.require(w.rc == 0, f"watch rc={w.rc}: {lib.tail(w.err)}")
    t.check(waited < 5, f"watch took {waited:.1f} s to end after the kill")
    t.check("did not finish it" in w.err, f"no warning about the unfinished trace: {lib.tail(w.err)}")
    t.eq(_final_report(w.out), _report_text(t, trace), "watch's final report against leakshim report's")


def test_waits_for_the_trace(t):
    """watch started before the program: it waits for the file (--wait), then follows it."""
    out_dir = t.mkdir("waiting")
    trace = os.path.join(out_dir, "t.fixed")
    w = Watch(t, trace, "--wait", "20", "--status", "never")
    time.sleep(0.5)
    stop = os.path.join(t.tmp, "stop-waiting")
    prog = subprocess.Popen([_program(t), "hold", stop], env=lib.clean_env(LD_PRELOAD=lib.SHIM, LEAKSHIM_OUTPUT=trace),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    open(stop, "w").close()
    prog.wait(20)
    w.finish(20)
    t.require(w.rc == 0, f"watch rc={w.rc}: {lib.tail(w.err)}")
    t.check("leaked 1.0 MiB (1,048,576 bytes) in 16 blocks" in w.out, f"report: {lib.tail(w.out)}")
    t.eq(_final_report(w.out), _report_text(t, trace), "final report")


def test_usage_errors(t):
    for args, what in [(["--listen", ":9464"], "an implicit wildcard address"),
                       (["--listen", "localhost:9464"], "a host name"),
                       (["--interval", "0"], "a zero interval"),
                       (["--consecutive", "0"], "zero consecutive intervals"),
                       (["--status", "sometimes"], "an unknown status mode")]:
        p = t.cli(["watch", *args, "--wait", "0", "/nonexistent"])
        t.eq(p.returncode, 2, f"exit status for {what}")
        t.check(b"leakshim watch" in p.stderr, f"message for {what}: {p.stderr!r}")
    p = t.cli(["watch", "--wait", "0", os.path.join(t.tmp, "missing.trace")])
    t.eq(p.returncode, 2, "exit status for a missing trace")
    t.check(b"missing.trace" in p.stderr, f"message names the trace: {p.stderr!r}")


# --- Prometheus -----------------------------------------------------------------------------

def _hold(t):
    """watch_prog hold under the shim, and a watch on its trace listening on a free loopback
    port (`--listen 0`: the default address). Returns (program, watch, url, stop file)."""
    stop = os.path.join(t.tmp, "stop")
    prog = lib.Spawned(t, [_program(t), "hold", stop])
    t.require(prog.wait_for("holding", 20), "the program did not start holding")
    w = Watch(t, _trace_of(prog), "--interval", "0.2", "--listen", "0", "--status", "never")
    url = w.metrics_url()
    t.check(url.startswith("http://127.0.0.1:"), f"the default address is loopback: {url}")
    return prog, w, url, stop


def _get(url, data=None, method=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def _metric(text, name):
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def _end_hold(t, prog, w, stop):
    open(stop, "w").close()
    prog.finish(20)
    w.finish(20)
    t.eq(w.rc, 0, "watch exit status")
    t.check("leaked 1.0 MiB (1,048,576 bytes) in 16 blocks" in w.out, f"final report: {lib.tail(w.out)}")


def _tool(name):
    """The path of a program of the Debian package prometheus, or Skip."""
    path = shutil.which(name)
    if not path:
        raise lib.Skip(f"{name} missing: the Debian package prometheus could not be installed "
                       "(tests/install-deps.sh)")
    return path


def test_metrics_endpoint(t):
    promtool = _tool("promtool")
    prog, w, url, stop = _hold(t)
    try:
        time.sleep(0.6)  # a few intervals
        status, headers, text = _get(url)
        t.eq(status, 200, "/metrics status")
        t.eq(headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "content type")
        check = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        t.check(check.returncode == 0, f"promtool check metrics: {check.stdout.decode()} {check.stderr.decode()}")
        t.eq(_metric(text, "leakshim_live_bytes"), HOLD_BYTES, "leakshim_live_bytes")
        t.eq(_metric(text, "leakshim_live_blocks"), 16, "leakshim_live_blocks")
        t.eq(_metric(text, "leakshim_allocated_bytes_total"), HOLD_BYTES, "leakshim_allocated_bytes_total")
        t.eq(_metric(text, "leakshim_frees_total"), 0, "leakshim_frees_total")
        t.eq(_metric(text, 'leakshim_alerts_total{kind="growth"}'), 0, "growth alerts")
        t.check((_metric(text, "leakshim_rss_bytes") or 0) > HOLD_BYTES, "leakshim_rss_bytes above the heap")
        t.check(re.search(rf'^leakshim_process_info{{pid="{prog.p.pid}",exe="[^"]*watch_prog"}} 1$', text, re.M),
                "leakshim_process_info")
        for name in ("live_bytes", "allocations_total", "stack_growth_bytes_per_second", "alert_active"):
            t.check(f"# HELP leakshim_{name} " in text and f"# TYPE leakshim_{name} " in text, f"HELP and TYPE of {name}")
        head_status, head_headers, head_body = _get(url, method="HEAD")
        t.eq((head_status, head_body), (200, ""), "HEAD /metrics")
        t.eq(_get(url.replace("/metrics", "/other"))[0], 404, "another path")
        t.eq(_get(url, data=b"x", method="POST")[0], 405, "POST")
        host, port = url[len("http://"):].split("/")[0].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Long: " + b"a" * 20000)
            reply = s.recv(200)
        t.check(reply.startswith(b"HTTP/1.1 431"), f"an oversized request: {reply!r}")
    finally:
        _end_hold(t, prog, w, stop)
        prog.kill_now()
        w.kill()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_scrapes_watch(t):
    prometheus = _tool("prometheus")
    prog, w, url, stop = _hold(t)
    server = None
    try:
        target = url[len("http://"):].split("/")[0]
        config = os.path.join(t.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "scrape_configs:\n  - job_name: leakshim\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        api = f"127.0.0.1:{_free_port()}"
        data = tempfile.mkdtemp(dir=t.tmp)
        log = open(os.path.join(t.tmp, "prometheus.log"), "wb")
        server = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
                                   f"--web.listen-address={api}"], stdout=log, stderr=log)
        value, end = None, time.monotonic() + 40
        while value is None and time.monotonic() < end and server.poll() is None:
            time.sleep(0.5)
            try:
                status, _, body = _get(f"http://{api}/api/v1/query?query=leakshim_live_bytes")
            except OSError:
                continue
            result = json.loads(body).get("data", {}).get("result", []) if status == 200 else []
            if result:
                value = result[0]
        t.require(value is not None, f"Prometheus never returned leakshim_live_bytes "
                                     f"(server {'running' if server.poll() is None else 'ended'})")
        t.eq(float(value["value"][1]), HOLD_BYTES, "leakshim_live_bytes through Prometheus")
        t.eq(value["metric"].get("job"), "leakshim", "job label")
        t.note(f"Prometheus scraped watch at {target} and answered leakshim_live_bytes = {value['value'][1]}")
    finally:
        if server and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        _end_hold(t, prog, w, stop)
        prog.kill_now()
        w.kill()
