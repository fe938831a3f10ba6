"""Helpers for the integration tests (Python 3 standard library only).

A test is a function `test_NAME(t)` in tests/integration/test_GROUP.py; run.py calls it with a
`Case` (below) and reports `GROUP.NAME`. A test fails by calling t.fail / t.require (stops at
once) or t.check / t.eq (collects the problem, keeps going: every mismatch is reported), and
skips by raising Skip.

Programs come from tests/programs/ and are built once per session into a temporary directory
with the flags of the shared leak cases (-O2 -g -fno-optimize-sibling-calls -pthread)."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import itertools
import select
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
SHIM = os.path.join(BUILD, "libleakshim.so")
CLI = os.path.join(BUILD, "leakshim")
PROGRAMS = os.path.join(ROOT, "tests", "programs")
CFLAGS = ["-O2", "-g", "-fno-optimize-sibling-calls", "-pthread"]


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def clean_env(**extra):
    """The environment for a program: ours, without any LD_PRELOAD or LEAKSHIM_* setting."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("LEAKSHIM_")}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def signame(rc):
    if rc is not None and rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


def tail(data, n=400):
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    text = text.strip()
    return ("..." + text[-n:]) if len(text) > n else text


# --- reports -----------------------------------------------------------------------------

def frames(s):
    return [f.get("function") or "" for f in s.get("stack", [])]


def _fn_pattern(fn):
    return re.compile(r"(^|[^A-Za-z0-9_])" + re.escape(fn) + r"($|[^A-Za-z0-9_])")


def through(s, fn):
    """True if some frame of suspect s is function fn (C++ names may carry arguments)."""
    pat = _fn_pattern(fn)
    return any(pat.search(f) for f in frames(s))


def is_function(frame, fn):
    return bool(_fn_pattern(fn).search(frame.get("function") or ""))


def suspects_of(reports):
    if isinstance(reports, dict):
        reports = [reports]
    return [s for r in reports for s in r.get("suspects", [])]


def leaked(reports, fn):
    """(bytes, allocations) leaked by the suspects whose stack passes through fn."""
    ss = [s for s in suspects_of(reports) if through(s, fn)]
    return sum(s["leaked_bytes"] for s in ss), sum(s["leaked_allocations"] for s in ss)


def describe(s, n=6):
    return "<".join(frames(s)[:n])


# --- one test ------------------------------------------------------------------------------

class Result:
    def __init__(self, proc, traces, trace_dir):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.traces = traces
        self.trace_dir = trace_dir

    @property
    def out(self):
        return self.stdout.decode(errors="replace")

    @property
    def err(self):
        return self.stderr.decode(errors="replace")


class Session:
    def __init__(self, keep=False):
        self.tmp = tempfile.mkdtemp(prefix="leakshim-it.")
        self.keep = keep
        self._built = {}
        self._lock = threading.Lock()
        self.notes = []

    def close(self):
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, source, *, shared=False, extra=(), name=None):
        """Builds tests/programs/SOURCE (C with gcc, .cc with g++) once per session; returns
        the path of the executable (or of the shared object when `shared`)."""
        src = os.path.join(PROGRAMS, source)
        base, ext = os.path.splitext(source)
        name = name or (f"lib{base}.so" if shared else base)
        key = (source, shared, tuple(extra), name)
        with self._lock:
            if key in self._built:
                return self._built[key]
            out_dir = os.path.join(self.tmp, "bin")
            os.makedirs(out_dir, exist_ok=True)
            out = os.path.join(out_dir, name)
            cmd = ["g++" if ext in (".cc", ".cpp") else "gcc"] + CFLAGS
            if shared:
                cmd += ["-shared", "-fPIC"]
            cmd += [src, "-o", out] + list(extra) + ["-ldl"]
            p = subprocess.run(cmd, capture_output=True, timeout=120)
            if p.returncode != 0:
                raise Fail(f"cannot build {source}: {tail(p.stderr)}")
            self._built[key] = out
            return out


class Case:
    def __init__(self, session, name):
        self.session = session
        self.name = name
        self.tmp = os.path.join(session.tmp, re.sub(r"[^A-Za-z0-9_.-]", "_", name))
        os.makedirs(self.tmp, exist_ok=True)
        self.problems = []
        self._runs = 0

    # assertions
    def fail(self, msg):
        raise Fail(msg)

    def require(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def check(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, expected {want!r}")

    def note(self, msg):
        """A line the runner prints (as a comment) before the test's result."""
        self.session.notes.append(msg)

    def build(self, source, **kw):
        return self.session.build(source, **kw)

    def mkdir(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    # running programs
    def run(self, argv, *, traced=True, output=None, env=None, cwd=None, timeout=120,
            input=None, umask=None, preload_after=None):
        """Runs argv (with the shim when `traced`, and then the library `preload_after` if
        given). LEAKSHIM_OUTPUT is a fresh directory's t.%p unless `output` gives another
        template (output=False leaves it unset). Returns a Result whose .traces lists the files
        of the fresh trace directory."""
        self._runs += 1
        trace_dir = os.path.join(self.tmp, f"traces{self._runs}")
        os.makedirs(trace_dir)
        extra = dict(env or {})
        if traced:
            extra["LD_PRELOAD"] = SHIM + (":" + preload_after if preload_after else "")
            if output is None:
                extra["LEAKSHIM_OUTPUT"] = os.path.join(trace_dir, "t.%p")
            elif output is not False:
                extra["LEAKSHIM_OUTPUT"] = output
        preexec = (lambda: os.umask(umask)) if umask is not None else None
        try:
            p = subprocess.run(argv, env=clean_env(**extra), cwd=cwd or self.tmp, timeout=timeout,
                               input=input or b"", capture_output=True, preexec_fn=preexec)
        except subprocess.TimeoutExpired:
            raise Fail(f"{os.path.basename(argv[0])} did not finish within {timeout} s (hang?)")
        return Result(p, sorted(glob.glob(os.path.join(trace_dir, "*"))), trace_dir)

    def run_ok(self, argv, want_rc=0, **kw):
        """run() that requires the exit status and exactly one trace."""
        r = self.run(argv, **kw)
        if r.rc != want_rc:
            raise Fail(f"{os.path.basename(argv[0])}: {signame(r.rc)}, expected {want_rc}; "
                       f"stderr: {tail(r.stderr)}")
        if kw.get("traced", True) and kw.get("output") is None and len(r.traces) != 1:
            raise Fail(f"expected 1 trace, found {[os.path.basename(x) for x in r.traces]}")
        return r

    def cli(self, args, timeout=300):
        try:
            return subprocess.run([CLI] + list(args), capture_output=True, timeout=timeout,
                                  env=clean_env())
        except subprocess.TimeoutExpired:
            raise Fail(f"leakshim {' '.join(args)} did not finish within {timeout} s")

    def report(self, trace, *, top=None, allow_warning=False):
        """The JSON report of a trace; requires exit 0 and, unless allow_warning, no message
        about the trace itself on stderr (the symbolizer may still say that a system library
        has no debug info)."""
        args = ["report", "--format", "json"] + (["--top", str(top)] if top is not None else [])
        p = self.cli(args + [trace])
        if p.returncode != 0:
            raise Fail(f"leakshim report rc={p.returncode} on {os.path.basename(trace)}: {tail(p.stderr)}")
        if not allow_warning and os.path.basename(trace) in p.stderr.decode(errors="replace"):
            raise Fail(f"leakshim report warned on {os.path.basename(trace)}: {tail(p.stderr)}")
        try:
            return json.loads(p.stdout)
        except ValueError as ex:
            raise Fail(f"leakshim report output is not JSON: {ex}")

    def expect_leaks(self, reports, table):
        """table: {function: (bytes, allocations)}; checks each exactly."""
        for fn, want in table.items():
            got = leaked(reports, fn)
            self.check(got == tuple(want), f"{fn}: {got[0]} B in {got[1]}, expected {want[0]} B in {want[1]}")

    def expect_complete(self, rep, what="trace"):
        self.eq(rep.get("process", {}).get("complete"), True, f"{what}: process.complete")
        self.eq(rep.get("summary", {}).get("lost_events"), 0, f"{what}: summary.lost_events")


# --- shared by several test files -------------------------------------------------------------

def one_match(t, text, pattern, what):
    m = re.search(pattern, text)
    t.require(m, f"{what}: no match for {pattern!r} in the output: {tail(text)}")
    return m.group(1)


def marker_line(source, marker):
    with open(os.path.join(PROGRAMS, source)) as f:
        for number, text in enumerate(f, 1):
            if marker in text:
                return number
    raise AssertionError(f"{marker} not in {source}")


_spawned = itertools.count(1)


class Spawned:
    """A traced program started in the background, for tests that signal it while it runs
    (t.run waits for the end). Its traces go to a fresh directory, as with t.run."""

    def __init__(self, t, argv, env=None):
        self.trace_dir = t.mkdir(f"spawned-traces{next(_spawned)}")
        extra = dict(env or {})
        extra["LD_PRELOAD"] = SHIM
        extra["LEAKSHIM_OUTPUT"] = os.path.join(self.trace_dir, "t.%p")
        self.name = os.path.basename(argv[0])
        self.p = subprocess.Popen(argv, env=clean_env(**extra), cwd=t.tmp, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""

    def wait_for(self, text, timeout):
        """Reads stdout until `text` shows up; False if the program ends or time runs out."""
        fd = self.p.stdout.fileno()
        end = time.monotonic() + timeout
        while text.encode() not in self.out:
            left = end - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return False
                self.out += chunk
        return True

    def finish(self, timeout):
        """Waits for the end; kills it (and fails) if it does not end in time."""
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.communicate()
            raise Fail(f"{self.name} did not finish within {timeout} s (hang?)")
        self.out += out
        self.err = err
        self.rc = self.p.returncode
        return self

    def kill_now(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()

    @property
    def traces(self):
        """The trace files written (as t.run's Result.traces: files not starting with a dot)."""
        return sorted(glob.glob(os.path.join(self.trace_dir, "*")))
