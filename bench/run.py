#!/usr/bin/env python3
"""leakshim benchmark harness (`make bench`): leakshim against no tracing and against heaptrack.

Workloads
  churn-1t  bench/churn.c, 1 worker thread: malloc/free churn through a few hundred distinct call
            stacks 12 to 20 frames deep, built -O2 -g -fomit-frame-pointer into build/bench/churn
  churn-2t  the same with 2 worker threads (each does the same number of operations)
  redis     build/redis/bin/redis-server (glibc malloc, tests/integration/build-redis.sh) under
            redis-benchmark -n N -c 50 -t set,get,lpush,lpop -q --csv; stopped with
            `redis-cli shutdown nosave`
  server    build/examples/server under build/examples/loadgen --requests N --connections 8;
            stopped with SIGTERM

Tools (configurations), interleaved: for each run, for each workload: none, leakshim,
leakshim-sampled, heaptrack.
  none       the program as it is
  leakshim   LD_PRELOAD=build/libleakshim.so LEAKSHIM_OUTPUT=DIR/leakshim.%e.%p.trace PROGRAM
  leakshim-sampled  the same with LEAKSHIM_SAMPLE=512k (sampling mode: about one allocation
             per 512 KiB allocated is recorded; the churn's 1000-byte leak is below that)
  heaptrack  what `heaptrack -o FILE PROGRAM` does, with the program as our own child: a fifo,
             heaptrack_interpret reading it and piping into zstd (gzip without zstd) into FILE,
             and the program run with LD_PRELOAD=libheaptrack_preload.so and
             DUMP_HEAPTRACK_OUTPUT=FIFO (the two variables the heaptrack script sets). Running it
             ourselves lets os.wait4 give the program's own CPU time and peak RSS, and
             heaptrack_interpret's and zstd's separately; wait4 on the heaptrack script would give
             the CPU time of the whole tree but, as peak RSS, the largest single process of it
             (usually the interpreter). --heaptrack-script adds the literal script as a fourth
             configuration on the churn workloads, measured that way, as a cross-check.

Measurements (medians over the runs)
  wall      churn: from start to the end of the trace (heaptrack: until zstd has written the
            file; leakshim finishes its trace before the process exits). Servers: the duration
            of the fixed load (the client's elapsed time), so wall x = 1 / throughput ratio.
  CPU       user + system time of the program (wait4); heaptrack adds its interpreter's and
            compressor's, which do the work that leakshim's writer thread does in the process.
  peak RSS  ru_maxrss of the traced program; +RSS is that minus the untraced median. For
            heaptrack the interpreter's own peak is shown apart (it is another process).
  trace     file size; bytes per event = size / (allocations + frees). leakshim's count comes
            from `leakshim report --format json` (summary.allocations + summary.frees).
            heaptrack_print only prints "calls to allocation functions"; its frees are taken in
            the same proportion to allocations as in leakshim's run of the same workload (churn
            is deterministic: the counts are the same, and the allocation counts are printed
            side by side as a check).
  analysis  wall time of `leakshim report --format json TRACE` and of `heaptrack_print FILE`,
            each on its own trace of the same run of the workload.
  req/s     redis: geometric mean of redis-benchmark's per-command medians (each command is in
            the details table); server: loadgen's requests_per_second.

Targets are printed as met / not met next to the measurements; they are goals, never
assertions: the harness exits 0 whatever they say, and non-zero only when a workload failed.

Usage: bench/run.py [--runs N] [--quick] [--workloads LIST] [--tools LIST] [--ops N]
                    [--redis-requests N] [--redis-pipeline N] [--server-requests N]
                    [--keep-traces] [--heaptrack-script] [--out DIR]
Writes OUT/results.md (the tables, ready to paste) and OUT/results.json (every run); OUT is
build/bench. Python 3 standard library only.
"""
import argparse
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
SHIM = os.path.join(BUILD, "libleakshim.so")
CLI = os.path.join(BUILD, "leakshim")
CHURN_SRC = os.path.join(HERE, "churn.c")
SPAWN_SRC = os.path.join(HERE, "spawn.c")
SPAWN = os.path.join(BUILD, "bench", "spawn")
ACCURACY_SRC = os.path.join(HERE, "sampled_leak.c")
ACCURACY = os.path.join(BUILD, "bench", "sampled_leak")
EXAMPLES = os.path.join(BUILD, "examples")
BUILD_REDIS = os.path.join(ROOT, "tests", "integration", "build-redis.sh")

WORKLOADS = ["churn-1t", "churn-2t", "redis", "server"]
TOOLS = ["none", "leakshim", "leakshim-sampled", "heaptrack"]
SAMPLE_PERIOD = "512k"            # LEAKSHIM_SAMPLE of the leakshim-sampled configuration
REDIS_TESTS = ["SET", "GET", "LPUSH", "LPOP"]
CHURN_LEAK = (1000, 10)          # bytes, blocks leaked by churn's leak_on_purpose()
SERVER_LEAK_PER_100 = 34         # the example server leaks 34 bytes per 100 requests
TIMEOUT = 600
# The leaks whose sampled estimates the accuracy section checks: (name, sampled_leak arguments,
# whether the 10% target applies). A leak of small blocks only is shown for what sampling
# cannot do: its estimate's standard deviation, about sqrt(leak x period), is 14% of 24 MiB at
# 512 KiB whatever the tracer does (bench/README.md, "Sampling accuracy").
ACCURACY_CASES = [("24 MiB, mixed sizes", ["--leak", str(24 << 20), "--mix", "mixed"], True),
                  ("400 MiB, mixed sizes", ["--leak", str(400 << 20), "--mix", "mixed"], True),
                  ("24 MiB, small blocks", ["--leak", str(24 << 20), "--mix", "small"], False)]

CHURN_CFLAGS = ["-std=c11", "-O2", "-g", "-fomit-frame-pointer", "-pthread", "-Wall", "-Wextra"]


class BenchError(Exception):
    pass


def say(*a):
    print(*a, flush=True)


def rel(path):
    """A path relative to the repository when it is inside it (for printed commands)."""
    try:
        r = os.path.relpath(path, ROOT)
    except ValueError:
        return path
    return path if r.startswith("..") else r


def qcmd(argv):
    return " ".join(shlex.quote(rel(a)) if os.path.isabs(a) else shlex.quote(a) for a in argv)


def base_env():
    """Our environment without any preload or leakshim setting."""
    return {k: v for k, v in os.environ.items()
            if k not in ("LD_PRELOAD", "DUMP_HEAPTRACK_OUTPUT") and not k.startswith("LEAKSHIM_")}


def tail(path, n=600):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode(errors="replace").strip()
    return ("..." + text[-n:]) if len(text) > n else text


# --- processes -------------------------------------------------------------------------

class Proc:
    """A child process measured by build/bench/spawn (see bench/spawn.c for why): exit status,
    wall time, CPU time and peak RSS of the command itself. extra_env reaches the command only
    (through env(1)), never the wrapper: a preloaded tracer must not trace the wrapper."""

    seq = 0
    report_dir = None

    def __init__(self, argv, env=None, stdin=None, stdout=None, stderr=None, cwd=None,
                 extra_env=None):
        Proc.seq += 1
        self.report = os.path.join(Proc.report_dir, f"spawn.{os.getpid()}.{Proc.seq}")
        self.argv = argv
        cmd = [SPAWN, self.report]
        if extra_env:
            cmd += ["env"] + [f"{k}={v}" for k, v in extra_env.items()]
        cmd += argv
        self.p = subprocess.Popen(cmd, env=env or base_env(), stdin=stdin, stdout=stdout,
                                  stderr=stderr, cwd=cwd)
        self.status = None

    def _read_report(self):
        fields = {}
        try:
            with open(self.report) as f:
                for line in f:
                    parts = line.split()
                    fields.update(zip(parts[0::2], parts[1::2]))
        except OSError:
            pass
        return fields

    def child_pid(self):
        deadline = time.monotonic() + 5
        while True:
            pid = self._read_report().get("child")
            if pid or self.p.poll() is not None or time.monotonic() > deadline:
                return int(pid) if pid else None
            time.sleep(0.001)

    def wait(self, timeout=TIMEOUT):
        if self.status is not None:
            return self
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.p.wait()
        f = self._read_report()
        try:
            os.unlink(self.report)
        except OSError:
            pass
        if "status" not in f:
            raise BenchError(f"{qcmd(self.argv)}: the spawn wrapper ended with status "
                             f"{self.p.returncode} and no report")
        self.status = int(f["status"])
        self.t0 = int(f["start_ns"]) / 1e9
        self.t1 = int(f["end_ns"]) / 1e9
        self.cpu = (int(f["utime_us"]) + int(f["stime_us"])) / 1e6
        self.rss_kib = int(f["maxrss_kib"])
        return self

    def _kill(self):
        pid = self.child_pid()
        for target in (pid, self.p.pid):
            if target:
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass

    def running(self):
        return self.status is None and self.p.poll() is None

    def signal(self, sig):
        """Sends sig to the command (the wrapper forwards it)."""
        self.p.send_signal(sig)

    def kill(self):
        if self.running():
            self._kill()
        self.p.wait()

    @property
    def wall(self):
        return self.t1 - self.t0

    def describe_status(self):
        s = self.status
        if s is not None and s < 0:
            try:
                return f"killed by {signal.Signals(-s).name}"
            except ValueError:
                return f"killed by signal {-s}"
        return f"exit status {s}"


def run_timed(argv, out_path, env=None, cwd=None):
    """Runs argv to completion with stdout to out_path; returns the Proc."""
    with open(out_path, "wb") as out:
        p = Proc(argv, env=env or base_env(), stdin=subprocess.DEVNULL, stdout=out,
                 stderr=subprocess.STDOUT, cwd=cwd)
    return p.wait()


# --- tools -----------------------------------------------------------------------------

class Heaptrack:
    """Paths of heaptrack's parts, found the way the heaptrack script finds them."""

    def __init__(self):
        script = shutil.which("heaptrack")
        self.print_ = shutil.which("heaptrack_print")
        if not script or not self.print_:
            raise BenchError("heaptrack is not installed (apt-get install -y heaptrack)")
        self.script = script
        exe_dir = os.path.dirname(os.path.realpath(script))
        self.preload = os.path.realpath(os.path.join(exe_dir, "..", "lib", "heaptrack",
                                                     "libheaptrack_preload.so"))
        self.interpret = os.path.realpath(os.path.join(exe_dir, "..", "lib", "heaptrack", "libexec",
                                                       "heaptrack_interpret"))
        for p in (self.preload, self.interpret):
            if not os.path.exists(p):
                raise BenchError(f"heaptrack: {p} is missing")
        if shutil.which("zstd"):
            self.suffix, self.compressor = "zst", [shutil.which("zstd"), "-c"]
        else:
            self.suffix, self.compressor = "gz", [shutil.which("gzip") or "gzip", "-c"]
        try:
            self.version = subprocess.run([script, "--version"], capture_output=True, text=True,
                                          timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            self.version = "heaptrack (version unknown)"


class Launch:
    """One program started under one tool; finish() reaps it and the tool's helpers."""

    def __init__(self, tool, argv, workdir, ht, stdout_path):
        self.tool = tool
        self.workdir = workdir
        self.helpers = []           # heaptrack_interpret, zstd
        self.trace = None
        self.trace_dir = os.path.join(workdir, "traces")
        os.makedirs(self.trace_dir, exist_ok=True)
        env = {}
        if tool in ("leakshim", "leakshim-sampled"):
            env["LD_PRELOAD"] = SHIM
            env["LEAKSHIM_OUTPUT"] = os.path.join(self.trace_dir, "leakshim.%e.%p.trace")
            if tool == "leakshim-sampled":
                env["LEAKSHIM_SAMPLE"] = SAMPLE_PERIOD
        elif tool in ("heaptrack", "heaptrack-script"):
            self.trace = os.path.join(self.trace_dir, f"heaptrack.{os.path.basename(argv[0])}")
            if tool == "heaptrack":
                self.fifo = os.path.join(workdir, "heaptrack.fifo")
                if os.path.exists(self.fifo):
                    os.unlink(self.fifo)
                os.mkfifo(self.fifo, 0o600)
                err = open(os.path.join(workdir, "heaptrack_interpret.log"), "wb")
                # `"$INTERPRETER" < $pipe | $COMPRESSOR > "$output" &`, as in the script.
                interp = Proc(["sh", "-c", 'exec "$0" < "$1"', ht.interpret, self.fifo],
                              env=base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=err)
                with open(f"{self.trace}.{ht.suffix}", "wb") as out:
                    comp = Proc(ht.compressor, env=base_env(), stdin=interp.p.stdout, stdout=out,
                                stderr=err)
                interp.p.stdout.close()
                err.close()
                self.helpers = [interp, comp]
                env["LD_PRELOAD"] = ht.preload
                env["DUMP_HEAPTRACK_OUTPUT"] = self.fifo
            else:
                argv = [ht.script, "-o", self.trace] + argv
            self.trace = f"{self.trace}.{ht.suffix}"
        self.stdout_path = stdout_path
        with open(stdout_path, "wb") as out:
            self.proc = Proc(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             cwd=workdir, extra_env=env)

    def finish(self, timeout=TIMEOUT):
        """Waits for the program, then for the tool's helpers; returns the end of the trace."""
        self.proc.wait(timeout)
        if self.helpers:
            # If the program never opened the fifo, the interpreter still waits in open():
            # open and close the write end once so that it sees end-of-file.
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
            for h in self.helpers:
                h.wait(timeout)
            os.unlink(self.fifo)
            bad = [h for h in self.helpers if h.status != 0]
            if bad:
                raise BenchError(
                    f"{qcmd(bad[0].argv)}: {bad[0].describe_status()} (program: "
                    f"{self.proc.describe_status()}): "
                    f"{tail(os.path.join(self.workdir, 'heaptrack_interpret.log'))}")
            return max(h.t1 for h in self.helpers)
        return self.proc.t1

    def kill(self):
        for p in [self.proc] + self.helpers:
            try:
                p.kill()
            except Exception:
                pass

    def helper_cpu(self):
        return sum(h.cpu for h in self.helpers)

    def helper_rss_kib(self):
        return max((h.rss_kib for h in self.helpers), default=0)

    def trace_file(self):
        if self.tool.startswith("leakshim"):
            names = sorted(os.listdir(self.trace_dir))
            names = [n for n in names if n.startswith("leakshim.")]
            if len(names) != 1:
                raise BenchError(f"expected one leakshim trace in {self.trace_dir}, found {names}")
            return os.path.join(self.trace_dir, names[0])
        if self.tool in ("heaptrack", "heaptrack-script"):
            if not os.path.exists(self.trace):
                raise BenchError(f"no heaptrack output {self.trace}")
            return self.trace
        return None


def analyze(tool, trace, workdir, ht):
    """Times each tool's analyzer on its own trace; returns a dict of results."""
    out_path = os.path.join(workdir, f"analysis.{tool}.out")
    if tool == "leakshim":
        p = run_timed([CLI, "report", "--format", "json", trace], out_path)
        if p.status != 0:
            raise BenchError(f"leakshim report {trace}: {p.describe_status()}: {tail(out_path)}")
        with open(out_path, "rb") as f:
            rep = json.loads(f.read())
        s = rep["summary"]
        return {"analysis_wall": p.wall, "analysis_cpu": p.cpu, "analysis_rss_kib": p.rss_kib,
                "allocations": s["allocations"], "frees": s["frees"],
                "events": s["allocations"] + s["frees"], "lost_events": s.get("lost_events"),
                "complete": rep["process"].get("complete"), "leaked_bytes": s["leaked_bytes"],
                "report": rep}
    p = run_timed([ht.print_, trace], out_path)
    if p.status != 0:
        raise BenchError(f"heaptrack_print {trace}: {p.describe_status()}: {tail(out_path)}")
    with open(out_path, "r", errors="replace") as f:
        text = f.read()
    m = re.search(r"calls to allocation functions: (\d+)", text)
    return {"analysis_wall": p.wall, "analysis_cpu": p.cpu, "analysis_rss_kib": p.rss_kib,
            "allocations": int(m.group(1)) if m else None}


# --- workloads -------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.work = os.path.join(self.out, "work")
        self.ht = Heaptrack() if any(t.startswith("heaptrack") for t in args.tools) else None
        self.churn = os.path.join(self.out, "churn")
        self.redis_server = self.redis_benchmark = None
        self.redis_cli = shutil.which("redis-cli")
        self.commands = {}

    # Setup ---------------------------------------------------------------------------
    def prepare(self):
        for p in (SHIM, CLI):
            if not os.path.exists(p):
                raise BenchError(f"{rel(p)} is missing: run `make` first")
        os.makedirs(self.out, exist_ok=True)
        os.makedirs(self.work, exist_ok=True)
        Proc.report_dir = self.work
        cc = os.environ.get("CC") or shutil.which("gcc") or "cc"
        builds = [("spawn", [cc, "-std=c11", "-O2", "-Wall", "-Wextra", SPAWN_SRC, "-o", SPAWN],
                   SPAWN_SRC, SPAWN)]
        if any(w.startswith("churn") for w in self.args.workloads):
            builds.append(("churn", [cc] + CHURN_CFLAGS + [CHURN_SRC, "-o", self.churn],
                           CHURN_SRC, self.churn))
        if "leakshim-sampled" in self.args.tools and self.args.accuracy_runs:
            builds.append(("sampled_leak", [cc, "-std=c11", "-O2", "-g", "-Wall", "-Wextra",
                                            ACCURACY_SRC, "-o", ACCURACY, "-lm"],
                           ACCURACY_SRC, ACCURACY))
        for name, cmd, src, exe in builds:
            self.commands[f"build {name}"] = qcmd(cmd)
            if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
                say("build: " + qcmd(cmd))
                os.makedirs(os.path.dirname(exe), exist_ok=True)
                subprocess.run(cmd, check=True)
        if "server" in self.args.workloads:
            for p in ("server", "loadgen"):
                if not os.path.exists(os.path.join(EXAMPLES, p)):
                    raise BenchError(f"build/examples/{p} is missing: run `make` first")
        if "redis" in self.args.workloads:
            p = subprocess.run([BUILD_REDIS, os.path.join(BUILD, "redis")], stdout=subprocess.PIPE,
                               timeout=1800)
            if p.returncode == 77:
                say(f"bench: warning: {rel(BUILD_REDIS)} cannot get redis's sources here; "
                    f"the redis workload is left out")
                self.args.workloads.remove("redis")
                return
            if p.returncode != 0:
                raise BenchError(f"{rel(BUILD_REDIS)} failed with status {p.returncode}")
            bindir = p.stdout.decode().strip().splitlines()[-1]
            self.redis_server = os.path.join(bindir, "redis-server")
            self.redis_benchmark = os.path.join(bindir, "redis-benchmark")

    def redis_load_args(self):
        a = self.args
        pipeline = ["-P", str(a.redis_pipeline)] if a.redis_pipeline > 1 else []
        return (["-n", str(a.redis_requests), "-c", "50"] + pipeline
                + ["-t", "set,get,lpush,lpop", "-q", "--csv"])

    def workload_argv(self, w):
        a = self.args
        if w.startswith("churn"):
            threads = 2 if w == "churn-2t" else 1
            return [self.churn, "--threads", str(threads), "--ops", str(a.ops)]
        if w == "redis":
            return [self.redis_server, "--save", "", "--appendonly", "no", "--port", "PORT",
                    "--bind", "127.0.0.1"]
        if w == "server":
            return [os.path.join(EXAMPLES, "server"), "--port", "0"]
        raise ValueError(w)

    def record_commands(self):
        a = self.args
        c = self.commands
        for w in a.workloads:
            c[f"{w}"] = qcmd(self.workload_argv(w))
        if "redis" in a.workloads:
            c["redis load"] = qcmd([self.redis_benchmark, "-h", "127.0.0.1", "-p", "PORT"]
                                   + self.redis_load_args())
            c["redis stop"] = "redis-cli -p PORT shutdown nosave"
        if "server" in a.workloads:
            c["server load"] = qcmd([os.path.join(EXAMPLES, "loadgen"), "--port", "PORT",
                                     "--requests", str(a.server_requests), "--connections", "8"])
            c["server stop"] = "kill -TERM PID"
        c["tool none"] = "CMD"
        c["tool leakshim"] = f"LD_PRELOAD={rel(SHIM)} LEAKSHIM_OUTPUT=DIR/leakshim.%e.%p.trace CMD"
        c["tool leakshim-sampled"] = (f"LD_PRELOAD={rel(SHIM)} LEAKSHIM_SAMPLE={SAMPLE_PERIOD} "
                                      f"LEAKSHIM_OUTPUT=DIR/leakshim.%e.%p.trace CMD")
        if self.ht:
            ht = self.ht
            c["tool heaptrack"] = (
                f"mkfifo FIFO; {ht.interpret} < FIFO | {' '.join(ht.compressor)} > FILE.{ht.suffix} & "
                f"LD_PRELOAD={ht.preload} DUMP_HEAPTRACK_OUTPUT=FIFO CMD   "
                f"(what `heaptrack -o FILE CMD` runs; {ht.version})")
            if "heaptrack-script" in a.tools:
                c["tool heaptrack-script"] = "heaptrack -o FILE CMD"
            c["analysis heaptrack"] = f"heaptrack_print FILE.{ht.suffix}"
        c["analysis leakshim"] = f"{rel(CLI)} report --format json TRACE"

    # One measurement -----------------------------------------------------------------
    def measure(self, w, tool, run_no):
        wd = os.path.join(self.work, f"{w}.{tool}.{run_no}")
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(wd)
        if w.startswith("churn"):
            r = self.measure_churn(w, tool, wd)
        elif w == "redis":
            r = self.measure_redis(tool, wd)
        else:
            r = self.measure_server(tool, wd)
        if not self.args.keep_traces:
            shutil.rmtree(wd, ignore_errors=True)
        return r

    def common(self, launch, end, r):
        p = launch.proc
        r["cpu"] = p.cpu + launch.helper_cpu()
        r["program_cpu"] = p.cpu
        r["rss_kib"] = p.rss_kib
        if launch.helpers:
            r["helper_cpu"] = launch.helper_cpu()
            r["helper_rss_kib"] = launch.helper_rss_kib()
            r["program_wall"] = p.wall
        trace = launch.trace_file()
        if trace:
            r["trace_bytes"] = os.path.getsize(trace)
            tool = "leakshim" if launch.tool.startswith("leakshim") else "heaptrack"
            a = analyze(tool, trace, launch.workdir, self.ht)
            rep = a.pop("report", None)
            r.update(a)
            if rep is not None and launch.tool == "leakshim":  # the sampled run only estimates
                r["checks"] = self.leak_check(r["workload"], rep)
                if a["complete"] is not True or a["lost_events"]:
                    r.setdefault("problems", []).append(
                        f"trace complete={a['complete']} lost_events={a['lost_events']}")
        return r

    def leak_check(self, w, rep):
        """What leakshim found against the workload's known leak (a sanity check)."""
        if w.startswith("churn"):
            hits = [s for s in rep["suspects"]
                    if any(f.get("function") == "leak_on_purpose" for f in s["stack"][:1])]
            got = (sum(s["leaked_bytes"] for s in hits), sum(s["leaked_allocations"] for s in hits))
            return {"expected": list(CHURN_LEAK), "found": list(got), "ok": got == CHURN_LEAK}
        if w == "server":
            exp = SERVER_LEAK_PER_100 * (self.args.server_requests // 100)
            hits = [s for s in rep["suspects"]
                    if any(f.get("function") == "copy_header_value" for f in s["stack"][:1])]
            got = sum(s["leaked_bytes"] for s in hits)
            return {"expected": exp, "found": got, "ok": got == exp}
        return None

    def measure_churn(self, w, tool, wd):
        argv = self.workload_argv(w)
        launch = Launch(tool, argv, wd, self.ht, os.path.join(wd, "stdout"))
        try:
            end = launch.finish()
        except BaseException:
            launch.kill()
            raise
        p = launch.proc
        if p.status != 0:
            raise BenchError(f"{w} under {tool}: {p.describe_status()}: {tail(launch.stdout_path)}")
        r = {"workload": w, "tool": tool, "wall": end - p.t0}
        if tool == "heaptrack-script":
            r["program_wall"] = p.wall
        return self.common(launch, end, r)

    def measure_redis(self, tool, wd):
        port = free_port()
        argv = [a if a != "PORT" else str(port) for a in self.workload_argv("redis")]
        launch = Launch(tool, argv, wd, self.ht, os.path.join(wd, "redis.log"))
        try:
            deadline = time.monotonic() + 60
            while not redis_ping(port):
                if not launch.proc.running() or time.monotonic() > deadline:
                    raise BenchError(f"redis-server under {tool} did not start: "
                                     f"{tail(launch.stdout_path)}")
                time.sleep(0.02)
            out = os.path.join(wd, "benchmark.csv")
            b = run_timed([self.redis_benchmark, "-h", "127.0.0.1", "-p", str(port)]
                          + self.redis_load_args(), out)
            if b.status != 0:
                raise BenchError(f"redis-benchmark under {tool}: {b.describe_status()}: {tail(out)}")
            rps = {}
            with open(out, errors="replace") as f:
                for line in f:
                    m = re.match(r'"([A-Z]+)","([0-9.]+)"', line.strip())
                    if m:
                        rps[m.group(1)] = float(m.group(2))
            if sorted(rps) != sorted(REDIS_TESTS):
                raise BenchError(f"redis-benchmark printed no rate for some commands: {tail(out)}")
            self.redis_stop(port)
            end = launch.finish(timeout=120)
        except BaseException:
            launch.kill()
            raise
        if launch.proc.status != 0:
            raise BenchError(f"redis-server under {tool}: {launch.proc.describe_status()}: "
                             f"{tail(launch.stdout_path)}")
        r = {"workload": "redis", "tool": tool, "wall": b.wall, "rps_by_command": rps,
             "rps": geomean(rps.values()), "client_cpu": b.cpu}
        return self.common(launch, end, r)

    def redis_stop(self, port):
        if self.redis_cli:
            subprocess.run([self.redis_cli, "-p", str(port), "shutdown", "nosave"],
                           capture_output=True, timeout=60, env=base_env())
        else:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"SHUTDOWN NOSAVE\r\n")
                    s.recv(64)
            except OSError:
                pass

    def measure_server(self, tool, wd):
        argv = self.workload_argv("server")
        launch = Launch(tool, argv, wd, self.ht, os.path.join(wd, "server.log"))
        try:
            deadline = time.monotonic() + 60
            port = None
            while port is None:
                m = re.search(r"listening on [^\s]*:(\d+)", tail(launch.stdout_path))
                if m:
                    port = int(m.group(1))
                    break
                if not launch.proc.running() or time.monotonic() > deadline:
                    raise BenchError(f"example server under {tool} did not start: "
                                     f"{tail(launch.stdout_path)}")
                time.sleep(0.02)
            out = os.path.join(wd, "loadgen.out")
            b = run_timed([os.path.join(EXAMPLES, "loadgen"), "--port", str(port), "--requests",
                           str(self.args.server_requests), "--connections", "8"], out)
            text = tail(out, 4000)
            if b.status != 0:
                raise BenchError(f"loadgen under {tool}: {b.describe_status()}: {text}")
            m = re.search(r"requests_per_second:\s*([0-9.]+)", text)
            if not m:
                raise BenchError(f"loadgen printed no requests_per_second: {text}")
            launch.proc.signal(signal.SIGTERM)
            end = launch.finish(timeout=120)
        except BaseException:
            launch.kill()
            raise
        if launch.proc.status != 0:
            raise BenchError(f"example server under {tool}: {launch.proc.describe_status()}: "
                             f"{tail(launch.stdout_path)}")
        r = {"workload": "server", "tool": tool, "wall": b.wall, "rps": float(m.group(1)),
             "client_cpu": b.cpu}
        return self.common(launch, end, r)

    # The whole run -------------------------------------------------------------------
    def warm_up(self):
        """One small untimed run per tool, so that no measured run pays for cold caches."""
        if not any(w.startswith("churn") for w in self.args.workloads):
            return
        for tool in self.args.tools:
            wd = os.path.join(self.work, f"warmup.{tool}")
            shutil.rmtree(wd, ignore_errors=True)
            os.makedirs(wd)
            launch = Launch(tool, [self.churn, "--ops", "20000"], wd, self.ht,
                            os.path.join(wd, "stdout"))
            launch.finish()
            shutil.rmtree(wd, ignore_errors=True)

    def run(self):
        a = self.args
        results = []
        plan = [(w, t) for w in a.workloads for t in a.tools
                if not (t == "heaptrack-script" and not w.startswith("churn"))]
        self.warm_up()
        t_start = time.monotonic()
        for i in range(1, a.runs + 1):
            for w, t in plan:
                r = self.measure(w, t, i)
                r["run"] = i
                results.append(r)
                extra = ""
                if "rps" in r:
                    extra = f", {r['rps']:,.0f} req/s"
                if "analysis_wall" in r:
                    extra += f", analysis {r['analysis_wall']:.2f} s"
                say(f"  run {i}/{a.runs} {w:<9} {t:<16} wall {r['wall']:7.3f} s  "
                    f"CPU {r['cpu']:7.3f} s  RSS {r['rss_kib'] / 1024:7.1f} MiB{extra}")
                for prob in r.get("problems", []):
                    say(f"    warning: {prob}")
        return results, time.monotonic() - t_start

    # Sampling accuracy -------------------------------------------------------------------
    def accuracy(self):
        """Runs bench/sampled_leak under LEAKSHIM_SAMPLE for each leak of ACCURACY_CASES with
        the sampler seeds 1..N, and compares leakshim's estimate of what leak_entry() leaked
        with the exact leak the program prints. Returns one dict per run."""
        a = self.args
        rows = []
        for seed in range(1, a.accuracy_runs + 1):
            for name, extra, _ in ACCURACY_CASES:
                wd = os.path.join(self.work, f"accuracy.{seed}")
                shutil.rmtree(wd, ignore_errors=True)
                os.makedirs(wd)
                trace = os.path.join(wd, "leakshim.trace")
                argv = [ACCURACY, "--ops", str(a.ops)] + extra
                env = dict(base_env(), LD_PRELOAD=SHIM, LEAKSHIM_OUTPUT=trace,
                           LEAKSHIM_SAMPLE=SAMPLE_PERIOD, LEAKSHIM_SAMPLE_SEED=str(seed))
                p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, timeout=TIMEOUT)
                m = re.search(rb"leaked_bytes (\d+) leaked_blocks (\d+) sd_bytes (\d+)", p.stdout)
                if p.returncode != 0 or not m:
                    raise BenchError(f"{qcmd(argv)}: status {p.returncode}: {p.stdout[-300:]!r}")
                exact, blocks, sd = (int(x) for x in m.groups())
                rep = subprocess.run([CLI, "report", "--format", "json", trace],
                                     stdout=subprocess.PIPE, timeout=TIMEOUT, check=True)
                suspects = json.loads(rep.stdout)["suspects"]
                estimate = sum(s["leaked_bytes"] for s in suspects
                               if any(f.get("function") == "leak_entry" for f in s["stack"][:1]))
                row = {"case": name, "seed": seed, "exact": exact, "blocks": blocks, "sd": sd,
                       "estimate": estimate, "error": estimate / exact - 1}
                rows.append(row)
                say(f"  accuracy seed {seed} {name:<22} exact {exact:>11,} B  estimate "
                    f"{estimate:>11,} B  {100 * row['error']:+6.1f}%  (1 sd {100 * sd / exact:.1f}%)")
                shutil.rmtree(wd, ignore_errors=True)
        self.commands["accuracy"] = (f"LD_PRELOAD={rel(SHIM)} LEAKSHIM_SAMPLE={SAMPLE_PERIOD} "
                                     f"LEAKSHIM_SAMPLE_SEED=N {rel(ACCURACY)} --ops {a.ops} "
                                     f"--leak BYTES --mix small|mixed")
        return rows


# --- statistics and the report ---------------------------------------------------------

def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def med(rows, key):
    xs = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(xs) if xs else None


def fnum(x, fmt="{:.2f}", none="–"):
    return none if x is None else fmt.format(x)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def summarize(results, args):
    """Medians per (workload, tool), and the derived quantities."""
    S = {}
    for w in args.workloads:
        for t in args.tools:
            rows = [r for r in results if r["workload"] == w and r["tool"] == t]
            if not rows:
                continue
            m = {k: med(rows, k) for k in ("wall", "cpu", "rss_kib", "trace_bytes", "events",
                                            "allocations", "frees", "analysis_wall",
                                            "analysis_cpu", "rps", "helper_cpu",
                                            "helper_rss_kib", "program_wall", "program_cpu",
                                            "client_cpu")}
            m["n"] = len(rows)
            m["wall_min"] = min(r["wall"] for r in rows)
            m["wall_max"] = max(r["wall"] for r in rows)
            if w == "redis":
                m["rps_by_command"] = {c: statistics.median(r["rps_by_command"][c] for r in rows)
                                       for c in REDIS_TESTS}
                m["rps"] = geomean(m["rps_by_command"].values())
            checks = [r.get("checks") for r in rows if r.get("checks")]
            if checks:
                m["checks_ok"] = all(c["ok"] for c in checks)
                m["check_example"] = checks[0]
            S[(w, t)] = m
    # heaptrack's event count: its allocation calls, with frees in leakshim's proportion.
    for w in args.workloads:
        ls = S.get((w, "leakshim"))
        for t in ("heaptrack", "heaptrack-script"):
            ht = S.get((w, t))
            if not ht or not ht.get("allocations"):
                continue
            if ls and ls.get("allocations"):
                ht["events"] = ht["allocations"] * (1 + ls["frees"] / ls["allocations"])
    for (w, t), m in S.items():
        base = S.get((w, "none"))
        m["wall_x"] = ratio(m["wall"], base["wall"]) if base else None
        m["cpu_x"] = ratio(m["cpu"], base["cpu"]) if base else None
        m["rss_plus_kib"] = (m["rss_kib"] - base["rss_kib"]) if base and m["rss_kib"] else None
        m["bytes_per_event"] = ratio(m.get("trace_bytes"), m.get("events"))
        m["rps_ratio"] = ratio(m.get("rps"), base.get("rps")) if base else None
    return S


def added_fraction(S, w, key):
    n, l, h = S.get((w, "none")), S.get((w, "leakshim")), S.get((w, "heaptrack"))
    if not (n and l and h) or n.get(key) is None or l.get(key) is None or h.get(key) is None:
        return None
    den = h[key] - n[key]
    # When heaptrack adds (almost) nothing, the fraction means nothing.
    return (l[key] - n[key]) / den if den > 0.05 * n[key] else None


def fmt_fraction(x):
    if x is None:
        return "–"
    return "< 0 (noise)" if x < 0 else f"{x:.0%}"


def tables(S, args):
    lines = []
    L = lines.append
    L("| workload | tool | wall s | CPU s | wall × | CPU × | peak RSS MiB | +RSS MiB | trace MiB "
      "| B/event | analysis s | req/s |")
    L("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for w in args.workloads:
        for t in args.tools:
            m = S.get((w, t))
            if not m:
                continue
            rss = fnum(m["rss_kib"] / 1024 if m["rss_kib"] else None, "{:.1f}")
            if m.get("helper_rss_kib"):
                rss += f" (+{m['helper_rss_kib'] / 1024:.0f} interp.)"
            L("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                w, t, fnum(m["wall"], "{:.3f}"), fnum(m["cpu"], "{:.3f}"),
                fnum(m["wall_x"], "{:.2f}"), fnum(m["cpu_x"], "{:.2f}"), rss,
                fnum(m["rss_plus_kib"] / 1024 if m["rss_plus_kib"] is not None and t != "none" else None,
                     "{:+.1f}"),
                fnum(m["trace_bytes"] / 2**20 if m.get("trace_bytes") else None, "{:.1f}"),
                fnum(m.get("bytes_per_event"), "{:.2f}"),
                fnum(m.get("analysis_wall"), "{:.3f}"),
                fnum(m.get("rps"), "{:,.0f}")))
    lines.append("")
    if "leakshim" in args.tools and "heaptrack" in args.tools:
        L("leakshim against heaptrack (medians; added cost = tool minus untraced):")
        L("")
        L("| workload | added wall: leakshim / heaptrack | added CPU | added RSS "
          "| B/event leakshim / heaptrack | analysis: heaptrack_print / leakshim report "
          "| allocations seen leakshim / heaptrack |")
        L("|---|--:|--:|--:|--:|--:|--:|")
        for w in args.workloads:
            l, h = S.get((w, "leakshim")), S.get((w, "heaptrack"))
            if not (l and h):
                continue
            rss_frac = None
            if l.get("rss_plus_kib") is not None and h.get("rss_plus_kib"):
                rss_frac = l["rss_plus_kib"] / h["rss_plus_kib"] if h["rss_plus_kib"] > 0 else None
            L("| {} | {} | {} | {} | {} / {} | {} | {} / {} |".format(
                w, fmt_fraction(added_fraction(S, w, "wall")),
                fmt_fraction(added_fraction(S, w, "cpu")), fnum(rss_frac, "{:.0%}"),
                fnum(l.get("bytes_per_event"), "{:.2f}"), fnum(h.get("bytes_per_event"), "{:.2f}"),
                fnum(ratio(h.get("analysis_wall"), l.get("analysis_wall")), "{:.1f}×"),
                fnum(l.get("allocations"), "{:,.0f}"), fnum(h.get("allocations"), "{:,.0f}")))
        L("")
    if "redis" in args.workloads:
        L("redis-benchmark, requests per second (medians):")
        L("")
        L("| tool | " + " | ".join(REDIS_TESTS) + " | geometric mean | vs untraced "
          "| redis-server CPU s | redis-benchmark CPU s |")
        L("|---|" + "--:|" * (len(REDIS_TESTS) + 4))
        for t in args.tools:
            m = S.get(("redis", t))
            if not m:
                continue
            L("| {} | {} | {} | {} | {} | {} |".format(
                t, " | ".join(f"{m['rps_by_command'][c]:,.0f}" for c in REDIS_TESTS),
                fnum(m["rps"], "{:,.0f}"), fnum(m["rps_ratio"], "{:.1%}"),
                fnum(m["program_cpu"], "{:.2f}"), fnum(m["client_cpu"], "{:.2f}")))
        L("")
    return lines


def accuracy_table(accuracy):
    lines = [f"Sampling accuracy: leakshim's estimate of the leak of bench/sampled_leak.c under "
             f"LEAKSHIM_SAMPLE={SAMPLE_PERIOD}, one run per sampler seed (1 sd: the standard "
             f"deviation that sampling gives the estimate of this leak, from its block sizes):",
             "",
             "| leak | blocks | exact bytes | 1 sd | runs | median error | largest error "
             "| within 10% |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name, _, _ in ACCURACY_CASES:
        rows = [r for r in accuracy if r["case"] == name]
        if not rows:
            continue
        errs = [r["error"] for r in rows]
        lines.append("| {} | {:,} | {:,} | {:.1f}% | {} | {:+.1f}% | {:+.1f}% | {} of {} |".format(
            name, rows[0]["blocks"], rows[0]["exact"], 100 * rows[0]["sd"] / rows[0]["exact"],
            len(rows), 100 * statistics.median(errs), 100 * max(errs, key=abs),
            sum(abs(e) <= 0.10 for e in errs), len(rows)))
    lines.append("")
    return lines


def target_lines(S, args, accuracy):
    out = []

    def line(ok, text):
        verdict = "not measured" if ok is None else ("met" if ok else "NOT MET")
        out.append(f"- {text}: **{verdict}**")

    c1, c1n = S.get(("churn-1t", "leakshim")), S.get(("churn-1t", "none"))
    c2 = S.get(("churn-2t", "leakshim"))
    s1 = c1["wall_x"] if c1 else None
    line(None if s1 is None else s1 <= 3.0,
         f"churn, 1 thread: slowdown {fnum(s1, '{:.2f}x')} (target <= 3x)")
    s2 = c2["wall_x"] if c2 else None
    rel2 = ratio(s2, s1)
    line(None if rel2 is None else rel2 <= 1.3,
         f"churn, 2 threads: slowdown {fnum(s2, '{:.2f}x')} = {fnum(rel2, '{:.2f}')} x the 1-thread "
         f"slowdown (target <= 1.3)")
    for w in ("churn-1t", "churn-2t"):
        m = S.get((w, "leakshim-sampled"))
        x = m["wall_x"] if m else None
        line(None if x is None else x <= 1.05,
             f"{w}, sampled (LEAKSHIM_SAMPLE={SAMPLE_PERIOD}): wall {fnum(x, '{:.3f}x')} untraced, "
             f"CPU {fnum(m['cpu_x'] if m else None, '{:.3f}x')} (target <= 1.05x)")
    r = S.get(("redis", "leakshim"))
    rr = r["rps_ratio"] if r else None
    line(None if rr is None else rr >= 0.97,
         f"redis: throughput under leakshim {fnum(rr, '{:.1%}')} of untraced (geometric mean over "
         f"commands; target >= 97%)")
    bpe = [(w, S[(w, "leakshim")].get("bytes_per_event")) for w in ("churn-1t", "churn-2t")
           if (w, "leakshim") in S]
    bpe = [(w, b) for w, b in bpe if b is not None]
    line(None if not bpe else all(b <= 1.5 for _, b in bpe),
         "trace size on churn: " + (", ".join(f"{w} {b:.2f} B/event" for w, b in bpe) or "–")
         + " (target <= 1.5)")
    sp = []
    for w in ("churn-1t", "churn-2t"):
        l, h = S.get((w, "leakshim")), S.get((w, "heaptrack"))
        if l and h:
            sp.append((w, ratio(h.get("analysis_wall"), l.get("analysis_wall"))))
    sp = [(w, x) for w, x in sp if x is not None]
    line(None if not sp else all(x >= 10 for _, x in sp),
         "analysis of the churn trace: `leakshim report` "
         + (", ".join(f"{x:.1f}x ({w})" for w, x in sp) or "–")
         + " as fast as heaptrack_print (target >= 10x)")
    for name, _, is_target in ACCURACY_CASES:
        rows = [r for r in accuracy if r["case"] == name]
        if not rows:
            continue
        within = sum(abs(r["error"]) <= 0.10 for r in rows)
        text = (f"sampled estimate of a {name} leak (LEAKSHIM_SAMPLE={SAMPLE_PERIOD}): {within} of "
                f"{len(rows)} runs within 10% of the exact leak, errors "
                + ", ".join(f"{100 * r['error']:+.1f}%" for r in rows)
                + f"; sampling's own standard deviation for this leak is "
                f"{100 * rows[0]['sd'] / rows[0]['exact']:.1f}%")
        if is_target:
            line(within == len(rows), text + " (target: within 10%)")
        else:
            out.append(f"- {text} (no target: the limit of sampling at this period)")
    mem = []
    for w in args.workloads:
        l, h = S.get((w, "leakshim")), S.get((w, "heaptrack"))
        if l and h and l.get("rss_plus_kib") is not None and h.get("rss_plus_kib") is not None:
            mem.append((w, l["rss_plus_kib"] / 1024, h["rss_plus_kib"] / 1024,
                        (h.get("helper_rss_kib") or 0) / 1024))
    line(None if not mem else all(lp <= hp / 2 for _, lp, hp, _ in mem),
         "memory overhead (peak RSS of the traced program minus untraced), leakshim vs heaptrack: "
         + (", ".join(f"{w} {lp:+.1f} vs {hp:+.1f} MiB" for w, lp, hp, _ in mem) or "–")
         + " (target: leakshim <= half of heaptrack's, on every workload; counting the peak RSS "
         + "of heaptrack_interpret too, heaptrack's is "
         + (", ".join(f"{hp + ip:+.0f} MiB" for _, _, hp, ip in mem) or "–") + ")")
    return out


def render(S, args, elapsed, env_info, commands, results, accuracy):
    md = []
    md.append(f"Benchmark ({'quick' if args.quick else 'full'} run): {args.runs} interleaved "
              f"runs per configuration, medians; churn {args.ops:,} operations per thread, redis "
              f"{args.redis_requests:,} requests per command"
              f"{f' (pipeline {args.redis_pipeline})' if args.redis_pipeline > 1 else ''}, "
              f"server {args.server_requests:,} "
              f"requests; {env_info}.")
    md.append("")
    md += tables(S, args)
    if accuracy:
        md += accuracy_table(accuracy)
    md.append("Targets (goals for the benchmark, not tests):")
    md.append("")
    md += target_lines(S, args, accuracy)
    md.append("")
    md.append("Notes: wall for the servers is the duration of the fixed load; heaptrack's CPU "
              "includes heaptrack_interpret and the compressor, its wall lasts until its file is "
              "written, its +RSS is the traced program's (the interpreter's own peak is shown "
              "apart as \"interp.\"). heaptrack's events are its allocation calls plus frees in "
              "leakshim's proportion. '×' columns are ratios to the untraced medians. heaptrack "
              "symbolizes while recording (in heaptrack_interpret, whose CPU time is in its "
              "row), leakshim when reporting (in the analysis time).")
    checks = []
    for w in args.workloads:
        m = S.get((w, "leakshim"))
        if m and "checks_ok" in m:
            ex = m["check_example"]
            checks.append(f"{w}: leak expected {ex['expected']}, found {ex['found']} "
                          f"({'ok in every run' if m['checks_ok'] else 'MISMATCH in some run'})")
    if checks:
        md.append("")
        md.append("Sanity checks on leakshim's reports: " + "; ".join(checks) + ".")
    spread = []
    for (w, t), m in S.items():
        if m["n"] > 1 and m["wall"]:
            spread.append(f"{w}/{t} {m['wall_min']:.3f}–{m['wall_max']:.3f}")
    md.append("")
    md.append("Wall time range over runs (s): " + ", ".join(spread) + ".")
    md.append("")
    md.append("Commands:")
    md.append("")
    md.append("```")
    for k, v in commands.items():
        md.append(f"{k + ':':<22}{v}")
    md.append("```")
    md.append("")
    md.append(f"Total measured time: {elapsed:.0f} s.")
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, help="runs per configuration (default 5, quick 3)")
    ap.add_argument("--quick", action="store_true",
                    help="3 runs and smaller workloads (under a minute on 2 cores)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated, from {','.join(WORKLOADS)} (default: all)")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help=f"comma-separated, from {','.join(TOOLS)} (default: all)")
    ap.add_argument("--ops", type=int, help="churn operations per thread (default 3000000, quick 1000000)")
    ap.add_argument("--redis-requests", type=int,
                    help="redis-benchmark -n (default 200000, quick 50000)")
    ap.add_argument("--redis-pipeline", type=int, default=1,
                    help="redis-benchmark -P (default: none); with 2 cores the single-threaded "
                         "redis-benchmark is the bottleneck, pipelining moves it to the server")
    ap.add_argument("--server-requests", type=int,
                    help="loadgen --requests (default 200000, quick 50000)")
    ap.add_argument("--accuracy-runs", type=int,
                    help="runs (sampler seeds) of each leak of the sampling accuracy section "
                         "(default: --runs; 0 leaves it out; needs the leakshim-sampled tool)")
    ap.add_argument("--keep-traces", action="store_true",
                    help="keep every run's directory (traces, logs) under OUT/work")
    ap.add_argument("--heaptrack-script", action="store_true",
                    help="also run the literal `heaptrack -o FILE CMD` on the churn workloads, "
                         "measured with wait4 on the script (whole process tree)")
    ap.add_argument("--out", default=os.path.join(BUILD, "bench"), help="output directory")
    args = ap.parse_args()
    args.runs = args.runs or (3 if args.quick else 5)
    if args.accuracy_runs is None:
        args.accuracy_runs = args.runs
    args.ops = args.ops or (1000000 if args.quick else 3000000)
    args.redis_requests = args.redis_requests or (50000 if args.quick else 200000)
    args.server_requests = args.server_requests or (50000 if args.quick else 200000)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.tools = [t for t in args.tools.split(",") if t]
    for w in args.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}")
    for t in args.tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}")
    if "none" not in args.tools:
        args.tools.insert(0, "none")
    if args.heaptrack_script:
        args.tools.append("heaptrack-script")
    args.out = os.path.abspath(args.out)

    bench = Bench(args)
    try:
        bench.prepare()
        bench.record_commands()
        load = os.getloadavg()
        env_info = (f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at start")
        say(f"bench: {args.runs} runs x {len(args.workloads)} workloads x {len(args.tools)} tools, "
            f"interleaved; {env_info}")
        if load[0] > 1.0:
            say(f"bench: warning: the machine is busy (load average {load[0]:.2f}); "
                f"timings will be noisy")
        results, elapsed = bench.run()
        accuracy = bench.accuracy() if ("leakshim-sampled" in args.tools
                                        and args.accuracy_runs) else []
    except BenchError as e:
        say(f"bench: error: {e}")
        return 1
    except subprocess.CalledProcessError as e:
        say(f"bench: error: {e}")
        return 1
    load_end = os.getloadavg()[0]
    env_info += f", {load_end:.2f} at the end"
    S = summarize(results, args)
    md = render(S, args, elapsed, env_info, bench.commands, results, accuracy)
    text = "\n".join(md) + "\n"
    say("")
    say(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items()}, "results": results,
                   "medians": {f"{w}/{t}": m for (w, t), m in S.items()},
                   "accuracy": accuracy,
                   "commands": bench.commands}, f, indent=1, default=str)
    say(f"bench: wrote {rel(os.path.join(args.out, 'results.md'))} and results.json")
    if not args.keep_traces:
        shutil.rmtree(bench.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
