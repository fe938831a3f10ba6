"""The analyzer treats every trace, ring file and module it names as untrusted input: a real
trace cut at a dense sample of offsets, a ring file left by a killed process with bytes
overwritten, traced binaries that were changed or removed afterwards, and paths that are no
regular file (a FIFO nobody writes to, a directory, a device) given to every command."""
import json
import os
import random
import shutil
import subprocess

from lib import leaked, signame, tail


def _report(t, path):
    p = t.cli(["report", "--format", "json", path], timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def test_real_trace_cut_at_dense_offsets(t):
    """Every cut inside the 16-byte header is invalid (exit 2, the file and offset named);
    every cut after it reads (exit 0, complete false, a warning naming the file), and the
    allocations seen never decrease as the cut moves forward."""
    exe = t.build("bad_input_prog.c")
    full = t.run_ok([exe]).traces[0]
    with open(full, "rb") as f:
        data = f.read()
    size = len(data)
    offsets = sorted(set(list(range(0, 48)) + [size * k // 120 for k in range(120)]))
    d = t.mkdir("cuts")
    previous = -1
    for n in offsets:
        path = os.path.join(d, f"cut{n}")
        with open(path, "wb") as f:
            f.write(data[:n])
        rc, out, err = _report(t, path)
        if n < 16:
            t.check(rc == 2 and path in err and "offset" in err.lower() or (rc == 2 and n == 0 and "empty" in err),
                    f"cut at {n}: exit {rc}, stderr {err.strip()[:120]!r}")
            continue
        if not t.check(rc == 0 and path in err, f"cut at {n} of {size}: exit {signame(rc)}, stderr {err.strip()[:160]!r}"):
            continue
        rep = json.loads(out)
        t.check(rep["process"]["complete"] is False, f"cut at {n}: complete is not false")
        allocations = rep["summary"]["allocations"]
        t.check(allocations >= previous, f"cut at {n}: {allocations} allocations after {previous} at an earlier cut")
        previous = allocations
    whole = t.report(full)
    t.check(previous <= whole["summary"]["allocations"], "cuts saw more allocations than the whole trace")
    t.eq(leaked(whole, "bad_input_leak"), (4000, 40), "bad_input_leak in the whole trace")


def test_killed_process_ring_file(t):
    """SIGKILL right after the last allocation: the ring file left beside the trace gives back
    what the writer had not written, exactly. Then the same ring file with bytes overwritten at
    random (header and records): the analyzer exits 0 or 2, never crashes or hangs."""
    exe = t.build("bad_input_prog.c")
    r = t.run([exe, "kill"], timeout=60)
    t.require(r.rc == -9, f"bad_input_prog kill: {signame(r.rc)}")
    t.require(len(r.traces) == 1, f"traces: {r.traces}")
    trace = r.traces[0]
    ring = os.path.join(os.path.dirname(trace), "." + os.path.basename(trace) + ".ring")
    t.require(os.path.exists(ring), "the killed process left no ring file")
    rep = t.report(trace, allow_warning=True)
    t.eq(rep["process"]["complete"], False, "process.complete")
    t.eq(leaked(rep, "bad_input_leak"), (4000, 40), "bad_input_leak after recovery")
    with open(ring, "rb") as f:
        ring_data = f.read()
    d = t.mkdir("rings")
    rng = random.Random(7)
    problems = []
    for i in range(40):
        b = bytearray(ring_data)
        for _ in range(rng.randrange(1, 6)):
            # half of the damage in the header page, half in the first records
            at = rng.randrange(0, 64) if rng.random() < 0.5 else rng.randrange(4096, min(len(b), 4096 + 65536))
            b[at] = rng.randrange(256)
        tcopy = os.path.join(d, f"t{i}")
        shutil.copyfile(trace, tcopy)
        with open(os.path.join(d, f".t{i}.ring"), "wb") as f:
            f.write(b)
        rc, out, err = _report(t, tcopy)
        if rc not in (0, 2):
            problems.append(f"damaged ring {i}: {signame(rc)} {err.strip()[:100]!r}")
        elif rc == 0:
            json.loads(out)
    t.check(not problems, "; ".join(problems))


def test_changed_and_missing_binary(t):
    """After tracing, the program's binary is rebuilt (another build-id) or removed: the report
    still exits 0, the program's own frames have null function/file/line but keep their
    module, and one warning names the binary."""
    src = os.path.join(t.tmp, "prog.c")
    shutil.copyfile(os.path.join(os.path.dirname(__file__), "..", "programs", "bad_input_prog.c"), src)
    exe = os.path.join(t.tmp, "prog")
    subprocess.run(["gcc", "-O2", "-g", "-fno-optimize-sibling-calls", src, "-o", exe], check=True)
    trace = t.run_ok([exe]).traces[0]
    t.eq(leaked(t.report(trace), "bad_input_leak"), (4000, 40), "before the rebuild")
    for what in ("changed", "missing"):
        if what == "changed":
            subprocess.run(["gcc", "-O0", "-g", "-DREBUILT=1", src, "-o", exe], check=True)
        else:
            os.unlink(exe)
        rc, out, err = _report(t, trace)
        if not t.check(rc == 0, f"{what} binary: exit {rc}: {tail(err)}"):
            continue
        t.check(err.count(exe + ":") == 1, f"{what} binary: one warning naming it expected, stderr: {err.strip()[:300]!r}")
        rep = json.loads(out)
        own = [f for s in rep["suspects"] for f in s["stack"] if f.get("module") == exe]
        t.check(own, f"{what} binary: no frame keeps the module {exe}")
        t.check(all(f["function"] is None and f["file"] is None and f["line"] is None for f in own),
                f"{what} binary: frames of the binary are not all null: {own[:2]}")
        t.eq(rep["summary"]["leaked_allocations"] >= 40, True, f"{what} binary: leaks still counted")


def test_every_command_refuses_what_is_not_a_regular_file(t):
    """A FIFO that no one writes to, a directory, /dev/zero and a missing file, as the TRACE of
    report, timeline, check and watch, as either side of diff and as check's baseline: each
    command exits 2 at once (opening a FIFO for reading must not wait for a writer) with a
    message naming the path, and prints no result on stdout."""
    exe = t.build("bad_input_prog.c")
    good = t.run_ok([exe]).traces[0]
    d = t.mkdir("odd")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    paths = {"a FIFO": fifo, "a directory": d, "a device": "/dev/zero",
             "a missing file": os.path.join(d, "missing")}
    for what, path in paths.items():
        for args in (["report", path], ["timeline", path], ["check", path],
                     ["watch", "--wait", "1", path], ["diff", path, good], ["diff", good, path],
                     ["check", "--baseline", path, good]):
            p = t.cli(args, timeout=20)
            err = p.stderr.decode(errors="replace")
            t.check(p.returncode == 2 and path in err and p.stdout == b"",
                    f"leakshim {' '.join(args)} ({what}): exit {signame(p.returncode)}, "
                    f"stdout {tail(p.stdout, 80)!r}, stderr {err.strip()[:160]!r}")
