"""`leakshim report`: text and JSON output, --top, ordering, exit status 2 for files that are
not traces, traces cut short, and exact summary counts."""
import json
import os
import random
import re
import shutil

from lib import leaked, marker_line, signame, tail

OWN_LEAKS = {"big_site": (30000, 1), "mid_site": (3000, 3), "text_site": (4321, 1),
             "counted_alloc": (0, 0), "counted_free": (0, 0)}


def _trace(t, n=0, env=None):
    exe = t.build("report_prog.c")
    return t.run_ok([exe, str(n)], env=env).traces[0]


def test_text_function_and_line(t):
    trace = _trace(t)
    line = marker_line("report_prog.c", "/* TEXT-SITE-CALL */")
    p = t.cli(["report", "--format", "text", trace])
    t.require(p.returncode == 0, f"report rc={p.returncode}: {tail(p.stderr)}")
    text = p.stdout.decode(errors="replace")
    found = re.findall(r"^\s*text_site\s+(\S+):(\d+)\s*$", text, re.M)
    t.require(found, f"no 'text_site FILE:LINE' frame in the text report:\n{tail(text, 1500)}")
    files_lines = {(os.path.basename(f), int(n)) for f, n in found}
    t.eq(files_lines, {("report_prog.c", line)}, "text_site frames (file, line)")
    for fn in ("big_site", "mid_site"):
        t.check(re.search(rf"^\s*{fn}\s+\S*report_prog\.c:\d+\s*$", text, re.M),
                f"no '{fn} report_prog.c:LINE' frame in the text report")


def test_json_line_of_the_call(t):
    rep = t.report(_trace(t))
    line = marker_line("report_prog.c", "/* TEXT-SITE-CALL */")
    ss = [s for s in rep["suspects"] if s["stack"] and s["stack"][0].get("function") == "text_site"]
    t.require(len(ss) == 1, f"{len(ss)} suspects start at text_site, expected 1")
    f = ss[0]["stack"][0]
    t.eq(f.get("line"), line, "line of text_site's frame")
    t.check((f.get("file") or "").endswith("/report_prog.c"), f"file of text_site's frame: {f.get('file')!r}")
    t.check(f.get("module") and os.path.basename(f["module"]) == "report_prog",
            f"module of text_site's frame: {f.get('module')!r}")
    t.check(re.fullmatch(r"0x[0-9a-f]+", f.get("address") or ""), f"address {f.get('address')!r}")
    t.eq((rep.get("format"), rep.get("version")), ("leakshim-report", 1), "format, version")


def test_top_1(t):
    trace = _trace(t)
    rep = t.report(trace, top=1)
    t.eq(len(rep["suspects"]), 1, "suspects with --top 1")
    if rep["suspects"]:
        s = rep["suspects"][0]
        t.eq((s["rank"], s["leaked_bytes"], s["leaked_allocations"]), (1, 30000, 1), "the one suspect (rank, bytes, allocations)")
    full = t.report(trace)
    t.eq(rep["summary"], full["summary"], "summary with --top 1 vs without")
    p = t.cli(["report", "--format", "text", "--top", "1", trace])
    text = p.stdout.decode(errors="replace")
    t.eq((p.returncode, len(re.findall(r"^#\d+ ", text, re.M))), (0, 1), "text --top 1: (rc, suspects shown)")


def test_sorted_and_complete_list(t):
    exe = t.build("threads.c")  # many suspects from libc, threads and the program
    rep_path = t.run_ok([exe]).traces[0]
    rep = t.report(rep_path)
    bytes_ = [s["leaked_bytes"] for s in rep["suspects"]]
    t.check(len(bytes_) >= 2, f"only {len(bytes_)} suspects")
    scores = [s["score"] for s in rep["suspects"]]
    t.eq(scores, sorted(scores, reverse=True), "scores of the suspects in order")
    t.check(all((s["score"] >= 0.5) == s["growing"] for s in rep["suspects"]),
            "growing suspects score 0.5 and more, the others less")
    for order, key in (("bytes", "leaked_bytes"), ("count", "leaked_allocations"),
                       ("growth", "growth_bytes_per_s")):
        p = t.cli(["report", "--format", "json", "--sort", order, rep_path])
        got = [s[key] for s in json.loads(p.stdout)["suspects"]]
        t.eq(got, sorted(got, reverse=True), f"--sort {order}: {key} in order")
    t.eq(t.cli(["report", "--sort", "size", rep_path]).returncode, 2, "--sort size: exit status")
    t.eq([s["rank"] for s in rep["suspects"]], list(range(1, len(bytes_) + 1)), "ranks")
    s = rep["summary"]
    t.eq(sum(bytes_), s["leaked_bytes"], "sum of the suspects' leaked_bytes vs summary.leaked_bytes")
    t.eq(sum(x["leaked_allocations"] for x in rep["suspects"]), s["leaked_allocations"],
         "sum of the suspects' leaked_allocations vs summary.leaked_allocations")
    t.check(all(x["leaked_allocations"] > 0 for x in rep["suspects"]), "a suspect without outstanding allocations")


def _expect_invalid(t, path, what):
    p = t.cli(["report", "--format", "json", path])
    err = p.stderr.decode(errors="replace")
    t.check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2")
    t.check(path in err, f"{what}: the message does not name {path}: {err.strip()!r}")
    t.check(p.stdout == b"", f"{what}: printed a report anyway: {tail(p.stdout)}")
    p = t.cli(["report", path])
    t.check(p.returncode == 2, f"{what} (text format): exit {p.returncode}, expected 2")


def test_invalid_files_exit_2(t):
    d = t.mkdir("bad")
    missing = os.path.join(d, "missing.trace")
    empty = os.path.join(d, "empty.trace")
    noise = os.path.join(d, "noise.trace")
    open(empty, "wb").close()
    with open(noise, "wb") as f:
        f.write(random.Random(1234).randbytes(64 * 1024))
    _expect_invalid(t, missing, "missing file")
    _expect_invalid(t, empty, "empty file")
    _expect_invalid(t, noise, "random bytes")
    _expect_invalid(t, d, "a directory")


def test_usage_errors_exit_2(t):
    trace = _trace(t)
    for args in (["report"], ["report", "--format", "xml", trace], ["report", "--top", "x", trace],
                 ["report", "--top", "-1", trace], ["report", trace, trace], ["frobnicate"], []):
        p = t.cli(args)
        t.check(p.returncode == 2, f"leakshim {' '.join(args)}: exit {p.returncode}, expected 2")
        t.check(p.stderr.strip(), f"leakshim {' '.join(args)}: no message on stderr")


def test_complete_trace(t):
    rep = t.report(_trace(t, 1000))
    t.expect_complete(rep)


def test_truncated_trace(t):
    """A trace cut short anywhere is read up to its cut and reported incomplete: plain records
    (LEAKSHIM_COMPRESS=0) and chunks."""
    _truncated_trace(t, _trace(t, 200000, env={"LEAKSHIM_COMPRESS": "0"}), 100000)
    _truncated_trace(t, _trace(t, 200000), 1000)


def _truncated_trace(t, full, min_size):
    size = os.path.getsize(full)
    t.require(size > min_size, f"the trace is only {size} bytes")
    cut = os.path.join(t.mkdir("cut"), "cut.trace")
    shutil.copyfile(full, cut)
    os.truncate(cut, size * 6 // 10)
    p = t.cli(["report", "--format", "json", cut])
    err = p.stderr.decode(errors="replace")
    t.require(p.returncode == 0, f"exit {p.returncode} on a trace cut short, expected 0: {err.strip()}")
    t.check("warning" in err.lower() and cut in err, f"no warning naming the file on stderr: {err.strip()!r}")
    rep = json.loads(p.stdout)
    t.eq(rep["process"]["complete"], False, "process.complete of the cut trace")
    whole = t.report(full)
    t.check(0 < rep["summary"]["allocations"] < whole["summary"]["allocations"],
            f"cut trace: {rep['summary']['allocations']} allocations, whole: {whole['summary']['allocations']}")
    p = t.cli(["report", cut])
    t.check(p.returncode == 0 and b"INCOMPLETE" in p.stdout.upper(),
            f"text report of the cut trace: exit {p.returncode}, says incomplete: {b'INCOMPLETE' in p.stdout.upper()}")
    # Other cuts, anywhere in a record: still read, still incomplete.
    for frac in (0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999):
        n = max(16, int(size * frac))
        shutil.copyfile(full, cut)
        os.truncate(cut, n)
        p = t.cli(["report", "--format", "json", cut])
        if not t.check(p.returncode == 0, f"cut at {n} of {size} bytes: exit {p.returncode}: {tail(p.stderr)}"):
            continue
        t.eq(json.loads(p.stdout)["process"]["complete"], False, f"cut at {n} of {size} bytes: process.complete")


def test_exact_counts(t):
    """N allocations and N frees of the program's own: the summary grows by exactly N each,
    the program's leaks are exact, and the totals hold at least the program's own calls."""
    n = 100000
    base = t.report(_trace(t, 0))
    big = t.report(_trace(t, n))
    for rep, k in ((base, 0), (big, n)):
        t.expect_leaks(rep, OWN_LEAKS)
        t.expect_complete(rep, f"N={k}")
        t.check(rep["summary"]["allocations"] >= k + 5, f"N={k}: summary.allocations {rep['summary']['allocations']} < {k + 5}")
        t.check(rep["summary"]["frees"] >= k, f"N={k}: summary.frees {rep['summary']['frees']} < {k}")
    for field, want in (("allocations", n), ("frees", n), ("leaked_bytes", 0), ("leaked_allocations", 0)):
        t.eq(big["summary"][field] - base["summary"][field], want, f"summary.{field} for N={n} minus N=0")
    # The program makes no other call: its leaks are all there is, whatever libc did.
    own = sum(leaked(base, fn)[0] for fn in OWN_LEAKS)
    t.check(base["summary"]["leaked_bytes"] >= own, f"summary.leaked_bytes {base['summary']['leaked_bytes']} < {own}")
    t.check(base["summary"]["peak_bytes"] >= 37321, f"summary.peak_bytes {base['summary']['peak_bytes']} < 37321")


def test_inlined_callee_keeps_caller(t):
    """A helper inlined into its caller: the caller (the function whose frame is on the
    machine stack) is named, with the line of the inlined call."""
    exe = t.build("inlined.c")
    rep = t.report(t.run_ok([exe]).traces[0])
    t.expect_leaks(rep, {"outer_leak": (555, 1), "outer_leak2": (777, 1)})
    line = marker_line("inlined.c", "/* OUTER-CALL */")
    lines = [f.get("line") for s in rep["suspects"] for f in s["stack"] if f.get("function") == "outer_leak"]
    t.check(line in lines, f"outer_leak frames at lines {lines}, expected {line}")
    for fn in ("outer_leak", "outer_leak2"):
        ss = [s for s in rep["suspects"] if any(f.get("function") == fn for f in s["stack"])]
        t.check(all(any(f.get("function") == "main" for f in s["stack"]) for s in ss),
                f"{fn}: stack does not reach main")


def test_corrupt_traces_never_crash(t):
    """Untrusted input: a valid header followed by random bytes, and real traces with random
    bytes overwritten. Every report exits 0 (read, maybe with a warning) or 2 (invalid, with
    a message naming the file), never crashes or hangs."""
    full = _trace(t, 2000)
    with open(full, "rb") as f:
        data = f.read()
    d = t.mkdir("corrupt")
    rng = random.Random(99)
    bad = []
    for i in range(60):
        if i < 20:
            blob = data[:16] + rng.randbytes(rng.randrange(1, 5000))
        else:
            b = bytearray(data)
            for _ in range(rng.randrange(1, 8)):
                b[rng.randrange(16, len(b))] = rng.randrange(256)
            blob = bytes(b)
        path = os.path.join(d, f"c{i}.trace")
        with open(path, "wb") as f:
            f.write(blob)
        p = t.cli(["report", "--format", "json", path], timeout=60)
        err = p.stderr.decode(errors="replace")
        if p.returncode not in (0, 2):
            bad.append(f"c{i}: {signame(p.returncode)}")
        elif p.returncode == 2 and path not in err:
            bad.append(f"c{i}: exit 2 without naming the file: {err.strip()[:100]!r}")
        elif p.returncode == 0:
            try:
                json.loads(p.stdout)
            except ValueError:
                bad.append(f"c{i}: exit 0 with output that is not JSON")
        else:
            continue
        if len(bad) >= 3:
            break
    t.check(not bad, "; ".join(bad) + " (inputs kept under --keep)")


def test_frames_left_out_are_counted(t):
    """The text of report (12 frames shown) and check (8) ends a longer stack with how many
    frames it left out, in the singular for one. LEAKSHIM_DEPTH cuts the 300-level recursion
    of life_stacks to exactly that many frames."""
    exe = t.build("life_stacks.c")
    for tool, depth, shown in (("report", 13, "    ... 1 more frame (--format json shows all)"),
                               ("report", 14, "    ... 2 more frames (--format json shows all)"),
                               ("check", 9, "        ... 1 more frame"),
                               ("check", 10, "        ... 2 more frames")):
        trace = t.run_ok([exe, "longjmp"], env={"LEAKSHIM_DEPTH": str(depth)}, timeout=60).traces[0]
        p = t.cli([tool, trace])
        text = p.stdout.decode(errors="replace")
        t.eq((p.returncode, shown in text.splitlines()), ({"report": 0, "check": 1}[tool], True),
             f"{tool} of a trace of depth {depth}: (rc, {shown.strip()!r} shown)\n{tail(text, 1200)}")
        t.check(not re.search(r"\b1 more frames\b", text), f"'1 more frames' in {tool}'s text")
