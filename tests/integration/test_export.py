"""`leakshim report` exports: folded stacks (--format collapsed) and pprof's profile.proto
(--format pprof), read back by `go tool pprof`; -o FILE. The program (export_prog.c) leaks
3 x 48 B through keep_name and 1000 B through grow_cache (inlined into fill_cache), and churn
allocates 10 x 100 B that it frees. No flame-graph renderer is packaged for Debian, so the
folded format is checked line by line (flamegraph.pl, inferno and speedscope read exactly
`frame;frame;... value`)."""
import gzip
import os
import re
import shutil
import subprocess

from lib import ROOT, Skip, clean_env, marker_line, tail

SRC = "export_prog.c"


def _trace(t):
    return t.run_ok([t.build(SRC)]).traces[0]


def _out(t, args):
    p = t.cli(["report"] + args)
    t.require(p.returncode == 0, f"report {' '.join(args[:-1])} rc={p.returncode}: {tail(p.stderr)}")
    return p.stdout.decode()


def _root(t, trace):
    """The frames outside main (libc's start-up), outermost first, as the JSON report names
    them: the collapsed lines must start with exactly these."""
    rep = t.report(trace)
    s = next((s for s in rep["suspects"] if s["stack"] and s["stack"][0]["function"] == "keep_name"), None)
    t.require(s, "no suspect starting at keep_name in the JSON report")
    names = [f["function"] for f in s["stack"]]
    t.require("main" in names, f"no main in {names}")
    outer = names[names.index("main") + 1:]
    return ";".join(reversed(outer)) + ";" if outer else ""


def test_collapsed_exact_lines(t):
    trace = _trace(t)
    root = _root(t, trace)
    leaked = [f"{root}main;fill_cache;grow_cache 1000", f"{root}main;build_table;keep_name 144"]
    t.eq(_out(t, ["--format", "collapsed", trace]).splitlines(), leaked, "collapsed (leaked bytes)")
    t.eq(_out(t, ["--format", "collapsed", "--value", "leaked", trace]).splitlines(), leaked,
         "collapsed --value leaked")
    t.eq(_out(t, ["--format", "collapsed", "--value", "count", trace]).splitlines(),
         [f"{root}main;build_table;keep_name 3", f"{root}main;fill_cache;grow_cache 1"],
         "collapsed --value count (leaked blocks)")
    # allocated: churn's stack freed everything but allocated 1000 B; equal values in byte order
    t.eq(_out(t, ["--format", "collapsed", "--value", "allocated", trace]).splitlines(),
         [f"{root}main;churn 1000", f"{root}main;fill_cache;grow_cache 1000",
          f"{root}main;build_table;keep_name 144"], "collapsed --value allocated")


def test_collapsed_format_and_totals(t):
    """Every line for a program with many stacks (threads.c, libc's included) is
    `frame;...;frame value` with a positive value, each stack comes once, and the values add
    up to the JSON summary."""
    trace = t.run_ok([t.build("threads.c")]).traces[0]
    rep = t.report(trace)
    for value, want in (("leaked", rep["summary"]["leaked_bytes"]),
                        ("count", rep["summary"]["leaked_allocations"])):
        lines = _out(t, ["--format", "collapsed", "--value", value, trace]).splitlines()
        bad = [ln for ln in lines if not re.fullmatch(r"[^;\n]+(;[^;\n]+)* [1-9][0-9]*", ln)]
        t.eq(bad, [], f"malformed collapsed lines (--value {value})")
        stacks = [ln.rsplit(" ", 1)[0] for ln in lines]
        t.eq(len(stacks), len(set(stacks)), f"each stack once (--value {value})")
        t.eq(sum(int(ln.rsplit(" ", 1)[1]) for ln in lines), want, f"sum of --value {value}")


def _pprof(t, args):
    go = shutil.which("go")
    if not go:
        raise Skip("go (golang-go) is not installed")
    p = subprocess.run([go, "tool", "pprof"] + args, capture_output=True, timeout=120,
                       env=clean_env())
    t.require(p.returncode == 0, f"go tool pprof {' '.join(args)}: rc={p.returncode}: {tail(p.stderr)}")
    return p.stdout.decode()


def _top(text):
    """{function: (flat, cum)} from `pprof -top`."""
    rows = {}
    for m in re.finditer(r"^ *(\S+) +\S+% +\S+% +(\S+) +\S+% +(.+?) *$", text, re.M):
        rows[m.group(3)] = (m.group(1), m.group(2))
    return rows


def test_pprof_read_by_go_pprof(t):
    trace = _trace(t)
    profile = os.path.join(t.tmp, "heap.pb.gz")
    p = t.cli(["report", "--format", "pprof", "-o", profile, trace])
    t.require(p.returncode == 0, f"report --format pprof rc={p.returncode}: {tail(p.stderr)}")
    with open(profile, "rb") as f:
        t.require(f.read(2) == b"\x1f\x8b", "the profile is not gzip-compressed")
    with gzip.open(profile) as f:
        t.check(len(f.read()) > 100, "the profile is nearly empty")

    top = _top(_pprof(t, ["-top", profile]))  # the default sample: inuse_space
    t.eq(top.get("keep_name"), ("144B", "144B"), "inuse_space of keep_name (flat, cum)")
    t.eq(top.get("grow_cache (inline)"), ("1000B", "1000B"), "inuse_space of grow_cache")
    t.eq(top.get("fill_cache"), ("0", "1000B"), "inuse_space of fill_cache")
    t.eq(top.get("main"), ("0", "1144B"), "inuse_space of main")
    t.check("churn" not in top, "churn (freed everything) in the in-use profile")

    top = _top(_pprof(t, ["-sample_index=alloc_space", "-top", profile]))
    t.eq(top.get("churn"), ("1000B", "1000B"), "alloc_space of churn")
    t.eq(top.get("keep_name"), ("144B", "144B"), "alloc_space of keep_name")
    t.eq(top.get("main"), ("0", "2144B"), "alloc_space of main")
    top = _top(_pprof(t, ["-sample_index=inuse_objects", "-top", profile]))
    t.eq(top.get("keep_name"), ("3", "3"), "inuse_objects of keep_name")
    top = _top(_pprof(t, ["-sample_index=alloc_objects", "-top", profile]))
    t.eq(top.get("churn"), ("10", "10"), "alloc_objects of churn")

    # file:line of every frame of ours, the inlined call as a line of its own location
    traces = _pprof(t, ["-traces", "-lines", profile])
    src = os.path.join("tests", "programs", SRC)
    line = {m: marker_line(SRC, f"/* {m} */") for m in
            ("KEEP-NAME-CALL", "BUILD-TABLE-CALL", "GROW-CACHE-CALL", "FILL-CACHE-CALL",
             "MAIN-BUILD-CALL", "MAIN-FILL-CALL")}
    inline_block = [f"grow_cache {src}:{line['GROW-CACHE-CALL']} (inline)",
                    f"fill_cache {src}:{line['FILL-CACHE-CALL']}", f"main {src}:{line['MAIN-FILL-CALL']}"]
    leak_block = [f"keep_name {src}:{line['KEEP-NAME-CALL']}",
                  f"build_table {src}:{line['BUILD-TABLE-CALL']}", f"main {src}:{line['MAIN-BUILD-CALL']}"]
    blocks = [[re.sub(r"^ *(\d+B +)?", "", ln).replace(ROOT + os.sep, "")
               for ln in b.strip().splitlines()] for b in re.split(r"^-+\+-+$", traces, flags=re.M)[1:]]
    t.check(any(b[:3] == inline_block for b in blocks), f"no trace {inline_block} in:\n{tail(traces, 1500)}")
    t.eq(sum(b[:3] == leak_block for b in blocks), 3, f"traces {leak_block} (one per call site)")

    raw = _pprof(t, ["-raw", profile])
    t.check(re.search(r"^\s*1\s+1000\s+1\s+1000: ", raw, re.M), f"no raw sample 1 1000 1 1000:\n{tail(raw, 800)}")
    t.check(re.search(r"^\s*10\s+1000\s+0\s+0: ", raw, re.M), "no raw sample for churn (10 1000 0 0)")
    t.check(re.search(r"^alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\[dflt\]",
                      raw, re.M), "sample types and default")
    exe = t.build(SRC)
    t.check(re.search(rf"^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x0 {re.escape(exe)} [0-9a-f]{{40}} \[FN\]\[FL\]\[LN\]\[IN\]",
                      raw, re.M), f"mapping 1 is the program with its build-id:\n{tail(raw, 600)}")


def test_output_file_and_usage_errors(t):
    trace = _trace(t)
    out = os.path.join(t.tmp, "report.txt")
    p = t.cli(["report", "--format", "collapsed", "--output", out, trace])
    t.eq((p.returncode, p.stdout), (0, b""), "collapsed -o FILE: (rc, stdout)")
    with open(out) as f:
        t.eq(f.read(), _out(t, ["--format", "collapsed", "-o", "-", trace]), "the file vs stdout (-o -)")
    for args, what in ((["--format", "json", "--value", "count"], "--value with json"),
                       (["--format", "collapsed", "--value", "bytes"], "an unknown --value"),
                       (["--format", "flame"], "an unknown format"),
                       (["--format", "pprof", "-o", os.path.join(t.tmp, "no", "such", "dir")],
                        "an output file that cannot be created")):
        p = t.cli(["report"] + args + [trace])
        t.eq(p.returncode, 2, f"exit status for {what}")
        t.check(p.stderr.decode().startswith("leakshim report: "), f"{what}: message {p.stderr!r}")
    # pprof carries every value: --value is collapsed's alone, and --help says so
    p = t.cli(["report", "--format", "pprof", "--value", "allocated", "-o", os.path.join(t.tmp, "x.pb.gz"), trace])
    t.eq((p.returncode, p.stderr.decode()), (2, "leakshim report: --value applies to --format collapsed only\n"),
         "--value with pprof")
    t.check(b"--value: what collapsed counts (pprof has every value)" in t.cli(["report", "--help"]).stdout,
            "report --help on --value")
