"""`leakshim run`: exit status and signals passed through, the trace file named on stderr and
valid, usage errors."""
import os
import re
import signal
import subprocess
import time

from lib import CLI, ROOT, clean_env, signame, tail


def _run(t, args, timeout=60):
    try:
        return subprocess.run([CLI, "run"] + args, capture_output=True, timeout=timeout,
                              env=clean_env(), cwd=t.tmp)
    except subprocess.TimeoutExpired:
        t.fail(f"leakshim run {' '.join(args)} did not finish within {timeout} s")


def _named_traces(t, p, d):
    """The files that run's stderr says it wrote, checked to exist in d."""
    err = p.stderr.decode(errors="replace")
    named = re.findall(r"(" + re.escape(d) + r"/\S+)", err)
    t.check(named, f"stderr names no trace file in {d}: {err.strip()!r}")
    for path in named:
        t.check(os.path.isfile(path), f"stderr names {path}, which does not exist")
    # A killed program also leaves its hidden ring file (.NAME.ring), which is not a trace.
    written = [f for f in os.listdir(d) if not (f.startswith(".") and f.endswith(".ring"))]
    t.eq(sorted(named), sorted(os.path.join(d, f) for f in written), "files named on stderr vs files written")
    return [x for x in named if os.path.isfile(x)]


def test_exit_status_passed_through(t):
    exe = t.build("exit_status.c")
    for code in (0, 3, 42):
        d = t.mkdir(f"out{code}")
        p = _run(t, ["--output", os.path.join(d, "t.%p"), "--", exe, str(code)])
        t.check(p.returncode == code, f"exit {code}: run gave {signame(p.returncode)}")
        for trace in _named_traces(t, p, d):
            rep = t.report(trace)
            t.expect_complete(rep, f"exit {code}")
            t.expect_leaks(rep, {"status_leak": (64, 1)})


def test_output_equals_form(t):
    exe = t.build("exit_status.c")
    d = t.mkdir("out")
    p = _run(t, [f"--output={d}/t.%p", "--", exe, "3"])
    t.eq(p.returncode, 3, "exit status")
    t.eq(len(_named_traces(t, p, d)), 1, "traces")


def test_signal_passed_through(t):
    exe = t.build("exit_status.c")
    for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1):
        d = t.mkdir(f"out{sig.name}")
        p = _run(t, ["--output", os.path.join(d, "t.%p"), "--", exe, "signal", str(int(sig))])
        t.check(p.returncode == -sig, f"{sig.name}: run gave {signame(p.returncode)}")
        for trace in _named_traces(t, p, d):
            rep = t.report(trace, allow_warning=True)
            t.expect_leaks(rep, {"status_leak": (64, 1)})
            t.eq(rep["process"]["complete"], False, f"{sig.name}: process.complete")


def test_signal_sent_to_run_reaches_program(t):
    """kill(2) of `leakshim run` is passed on to the program, and run dies of it too."""
    exe = t.build("exit_status.c")
    d = t.mkdir("out")
    p = subprocess.Popen([CLI, "run", "--output", os.path.join(d, "t.%p"), "--", exe, "pause"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=t.tmp)
    try:
        ready = p.stdout.readline()
        t.require(ready == b"ready\n", f"the program did not start: {ready!r}")
        time.sleep(0.3)  # the leak reaches the trace (the writer drains every 10 ms)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        t.fail("leakshim run did not end within 30 s of SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    t.eq(p.returncode, -signal.SIGTERM, "leakshim run's status")
    proc = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    for trace in _named_traces(t, proc, d):
        rep = t.report(trace, allow_warning=True)
        t.expect_leaks(rep, {"status_leak": (64, 1)})
        t.eq(rep["process"]["complete"], False, "process.complete")


def test_exit_without_destructors(t):
    """_exit runs no destructor: what was recorded must still reach the trace."""
    exe = t.build("exit_status.c")
    d = t.mkdir("out")
    p = _run(t, ["--output", os.path.join(d, "t.%p"), "--", exe, "_exit", "7"])
    t.eq(p.returncode, 7, "exit status")
    for trace in _named_traces(t, p, d):
        t.expect_leaks(t.report(trace, allow_warning=True), {"status_leak": (64, 1)})


def test_default_output_in_working_directory(t):
    exe = t.build("exit_status.c")
    cwd = t.mkdir("cwd")
    try:
        p = subprocess.run([CLI, "run", "--", exe, "0"], capture_output=True, timeout=60, env=clean_env(), cwd=cwd)
    except subprocess.TimeoutExpired:
        t.fail("leakshim run did not finish")
    t.eq(p.returncode, 0, "exit status")
    files = os.listdir(cwd)
    t.require(len(files) == 1 and re.fullmatch(r"leakshim\.exit_status\.\d+\.trace", files[0]),
              f"files in the working directory: {files}")
    t.check(files[0] in p.stderr.decode(errors="replace"), f"stderr does not name {files[0]}: {tail(p.stderr)}")


def test_usage_errors(t):
    for args in ([], ["--"], ["--output", "x.%p"], ["--output", "x.%p", "--"]):
        p = _run(t, args)
        t.check(p.returncode == 2, f"leakshim run {' '.join(args)}: exit {p.returncode}, expected 2")
        t.check(p.stderr.strip(), f"leakshim run {' '.join(args)}: no message on stderr")


def test_program_that_cannot_run(t):
    """exit 127 as a shell says, the reason, and no word about traces (nothing ran)."""
    p = _run(t, ["--", os.path.join(t.tmp, "no-such-program")])
    t.eq(p.returncode, 127, "exit status")
    err = p.stderr.decode(errors="replace")
    t.check("leakshim run: cannot run" in err and "No such file" in err, f"stderr: {err!r}")
    t.check("trace" not in err, f"stderr talks of traces: {err!r}")


HELP_OPTIONS = {  # every option each command takes, as the README's usage lines give them
    "report": ["--format", "--top", "--sort", "--since", "--until", "--value", "--alerts",
               "--color", "-o FILE", "--output"],
    "timeline": ["--format"],
    "check": ["--max-leaked-bytes", "--max-leaked-blocks", "--max-growth", "--since", "--until",
              "--suppressions", "--no-default-suppressions", "--baseline", "--max-new-suspects",
              "--baseline-threshold", "--junit", "--sarif", "--json", "--source-root"],
    "diff": ["--threshold"],
    "watch": ["--interval", "--listen", "--top", "--learn", "--learn-until", "--threshold",
              "--consecutive", "--alerts", "--status", "--wait"],
    "run": ["--output"],
}


def test_help_and_version(t):
    """`leakshim COMMAND --help` prints the usage on stdout, exit 0, and names every option of
    the command; `--version` prints its version."""
    for args in (["--help"], ["report", "--help"], ["timeline", "-h"], ["watch", "--help"],
                 ["run", "--help"], ["check", "--help"], ["diff", "--help"]):
        p = t.cli(args)
        t.eq(p.returncode, 0, f"leakshim {' '.join(args)}: exit status")
        t.check(b"usage: leakshim" in p.stdout, f"leakshim {' '.join(args)}: {tail(p.stdout)}")
        missing = [o for o in HELP_OPTIONS.get(args[0], []) if o.encode() not in p.stdout]
        t.check(not missing, f"leakshim {' '.join(args)} does not name {missing}")
    p = t.cli(["--version"])
    t.check(p.returncode == 0 and re.match(rb"leakshim \d+\.\d+\.\d+\n$", p.stdout), f"--version: {p.stdout!r}")


def test_installed_prefix(t):
    """`make install PREFIX=P` puts the command in P/bin and the library in P/lib/leakshim,
    where `leakshim run` finds it: the program is traced from there."""
    prefix = t.mkdir("prefix")
    p = subprocess.run(["make", "-s", "-C", ROOT, "install", f"PREFIX={prefix}"], capture_output=True, timeout=300)
    t.require(p.returncode == 0, f"make install: {tail(p.stderr)}")
    t.check(os.path.exists(os.path.join(prefix, "lib", "leakshim", "libleakshim.so")), "library not installed")
    exe = t.build("exit_status.c")
    out = t.mkdir("installed-traces")
    r = subprocess.run([os.path.join(prefix, "bin", "leakshim"), "run", "--output", os.path.join(out, "t.%p"), "--", exe, "3"],
                       capture_output=True, timeout=60)
    t.eq(r.returncode, 3, "exit status through the installed leakshim run")
    traces = sorted(os.listdir(out))
    t.eq(len(traces), 1, f"traces written by the installed shim: {traces}")
