"""redis under the shim: real input beyond our own code.

redis-server and redis-benchmark come from Debian's source package, built with -O2 -g and
glibc's malloc by build-redis.sh into build/redis/ (cached; see the script for why Debian's own
binary cannot be used for this). The server runs under the shim on a free loopback port while
redis-benchmark drives it, then shuts down cleanly; its trace must read completely and name
redis functions with files and lines. test_overhead prints redis-benchmark's throughput with
and without the shim (interleaved runs, medians); it asserts nothing about speed."""
import os
import re
import shutil
import socket
import statistics
import subprocess
import time

from lib import BUILD, SHIM, Fail, Skip, clean_env, signame, tail

HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS = ["SET", "GET", "INCR", "LPUSH", "LPOP"]
BENCH_ARGS = ["-n", "50000", "-c", "20", "-t", "set,get,incr,lpush,lpop", "-q"]
_bindir = None


def _binaries(t):
    global _bindir
    if _bindir is None:
        p = subprocess.run([os.path.join(HERE, "build-redis.sh"), os.path.join(BUILD, "redis")],
                           capture_output=True, timeout=600)
        if p.returncode == 77:
            raise Skip(f"cannot get redis sources: {tail(p.stderr, 300)}")
        if p.returncode != 0:
            raise Fail(f"build-redis.sh failed ({signame(p.returncode)}): {tail(p.stderr)}")
        _bindir = p.stdout.decode().strip().splitlines()[-1]
    return os.path.join(_bindir, "redis-server"), os.path.join(_bindir, "redis-benchmark")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    def __init__(self, t, server, traced, log_name):
        self.port = _free_port()
        self.trace_dir = t.mkdir(f"{log_name}.traces")
        env = {}
        if traced:
            env = {"LD_PRELOAD": SHIM, "LEAKSHIM_OUTPUT": os.path.join(self.trace_dir, "t.%p")}
        self.log_path = os.path.join(t.tmp, f"{log_name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [server, "--save", "", "--appendonly", "no", "--port", str(self.port),
             "--bind", "127.0.0.1"],
            env=clean_env(**env), cwd=t.tmp, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not _ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise Fail(f"redis-server did not start ({signame(self.proc.returncode)}): {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return tail(f.read())

    def shutdown(self):
        """`redis-cli -p P shutdown nosave`, then the exit status."""
        cli = shutil.which("redis-cli")
        if cli:
            subprocess.run([cli, "-p", str(self.port), "shutdown", "nosave"], capture_output=True,
                           timeout=30, env=clean_env())
        else:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(b"SHUTDOWN NOSAVE\r\n")
                    s.recv(64)
            except OSError:
                pass
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("redis-server did not exit within 60 s of SHUTDOWN NOSAVE")
        self.log.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log.closed:
            self.log.close()


def _benchmark(bench, port, args=BENCH_ARGS, timeout=300):
    """Runs redis-benchmark; returns ({command: requests per second}, output)."""
    p = subprocess.run([bench, "-h", "127.0.0.1", "-p", str(port)] + args, capture_output=True,
                       timeout=timeout, env=clean_env())
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    rps = {m.group(1): float(m.group(2))
           for m in re.finditer(r"\b([A-Z]+): ([0-9.]+) requests per second", out)}
    return p.returncode, rps, out


def _frames_in(rep, source_file):
    return [f for s in rep["suspects"] for f in s["stack"]
            if (f.get("file") or "").endswith("/" + source_file)]


def test_benchmark_under_shim(t):
    server, bench = _binaries(t)
    srv = Server(t, server, traced=True, log_name="redis")
    try:
        rc, rps, out = _benchmark(bench, srv.port)
    except BaseException:
        srv.kill()
        raise
    status = srv.shutdown()
    t.eq(rc, 0, "redis-benchmark exit status")
    t.eq(sorted(rps), sorted(COMMANDS), f"commands that report requests per second ({tail(out, 300)!r})")
    t.check(all(v > 0 for v in rps.values()), f"requests per second: {rps}")
    t.require(status == 0, f"redis-server under the shim: {signame(status)}, expected exit 0; log: {srv.log_tail()}")
    traces = sorted(os.listdir(srv.trace_dir))
    t.require(len(traces) == 1, f"expected 1 trace, found {traces}")
    trace = os.path.join(srv.trace_dir, traces[0])
    rep = t.report(trace)
    t.expect_complete(rep, "redis-server trace")
    t.eq(rep["process"]["exe"], server, "process.exe")
    s = rep["summary"]
    # Every request allocates at least its query buffer's object: 250,000 requests.
    t.check(s["allocations"] >= 250000, f"summary.allocations {s['allocations']} < 250000 requests")
    t.check(s["leaked_bytes"] > 0 and rep["suspects"], "no outstanding allocations at exit")
    # redis functions, each with its source file and a line.
    for fn, src in (("createObject", "object.c"), ("initServer", "server.c"), ("main", "server.c"),
                    ("readQueryFromClient", "networking.c"), ("dictAddRaw", "dict.c")):
        hits = [f for f in _frames_in(rep, src) if f.get("function") == fn]
        t.check(hits and all(isinstance(f.get("line"), int) and f["line"] > 0 for f in hits),
                f"no frame of {fn} in {src} with a line: {hits[:2]}")
    for src in ("zmalloc.c", "sds.c"):
        hits = _frames_in(rep, src)
        t.check(hits and all(f.get("function") and isinstance(f.get("line"), int) for f in hits),
                f"no frame in {src} with a function and a line: {hits[:2]}")
    # Every frame in redis-server itself (but _start, which has no line info) has file and line.
    bare = [f for s_ in rep["suspects"] for f in s_["stack"]
            if f.get("module") == server and f.get("function") != "_start"
            and not (f.get("file") and f.get("line"))]
    t.check(not bare, f"{len(bare)} redis-server frames without file:line, e.g. {bare[:2]}")
    top = rep["suspects"][0]["stack"][0] if rep["suspects"] and rep["suspects"][0]["stack"] else {}
    t.note(f"redis under the shim: {s['allocations']} allocations, {s['frees']} frees, "
           f"{s['leaked_bytes']} B outstanding at exit in {len(rep['suspects'])} stacks; "
           f"rank 1 at {top.get('function')} {os.path.basename(top.get('file') or '?')}:{top.get('line')}")


def test_debian_binary_under_shim(t):
    """Debian's own redis-server (linked with jemalloc) must keep working under the shim."""
    server = "/usr/bin/redis-server"
    if not os.path.exists(server):
        raise Skip("Debian's redis-server is not installed")
    _, bench = _binaries(t)
    srv = Server(t, server, traced=True, log_name="debian-redis")
    try:
        rc, rps, out = _benchmark(bench, srv.port, ["-n", "5000", "-c", "5", "-t", "set,get,lpush,lpop", "-q"])
    except BaseException:
        srv.kill()
        raise
    status = srv.shutdown()
    t.eq(rc, 0, "redis-benchmark exit status")
    t.eq(sorted(rps), ["GET", "LPOP", "LPUSH", "SET"], "commands that report requests per second")
    t.require(status == 0, f"redis-server under the shim: {signame(status)}, expected exit 0")
    traces = sorted(os.listdir(srv.trace_dir))
    t.require(len(traces) == 1, f"expected 1 trace, found {traces}")
    t.expect_complete(t.report(os.path.join(srv.trace_dir, traces[0])), "Debian redis-server trace")


def test_overhead(t):
    """Throughput of redis-benchmark against the same redis-server with and without the shim:
    5 interleaved pairs of runs (IT_REDIS_REPS), medians per command. Printed (and saved to
    build/redis/overhead.txt), not asserted."""
    server, bench = _binaries(t)
    reps = int(os.environ.get("IT_REDIS_REPS", "5"))
    results = {False: [], True: []}
    for i in range(reps):
        for traced in (False, True):
            srv = Server(t, server, traced=traced, log_name=f"overhead{i}{'s' if traced else 'p'}")
            try:
                rc, rps, out = _benchmark(bench, srv.port)
            except BaseException:
                srv.kill()
                raise
            status = srv.shutdown()
            t.require(rc == 0 and sorted(rps) == sorted(COMMANDS),
                      f"benchmark run {i} ({'shim' if traced else 'plain'}) incomplete: {tail(out, 300)!r}")
            t.require(status == 0, f"redis-server ({'shim' if traced else 'plain'}) {signame(status)}")
            results[traced].append(rps)
    lines = [f"redis-benchmark -h 127.0.0.1 -p P {' '.join(BENCH_ARGS)}; redis-server "
             f"--save '' --appendonly no (build/redis, MALLOC=libc -O2 -g); median of {reps} "
             f"interleaved runs, requests per second without -> with the shim:"]
    ratios = []
    for c in COMMANDS:
        plain = statistics.median(r[c] for r in results[False])
        shim = statistics.median(r[c] for r in results[True])
        ratios.append(shim / plain)
        lines.append(f"  {c:<6} {plain:>10.0f} -> {shim:>10.0f}  ({100 * (shim / plain - 1):+.1f}%)")
    geo = statistics.geometric_mean(ratios)
    lines.append(f"  geometric mean of the ratios: {geo:.3f} ({100 * (geo - 1):+.1f}% throughput)")
    for line in lines:
        t.note(line)
    try:
        with open(os.path.join(BUILD, "redis", "overhead.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    except OSError:
        pass
