"""Growth-aware ranking on real runs (tests/programs/growth_cases.c): what keeps growing
ranks before what merely stays allocated, with exact leak numbers; windows by mark, signal
and seconds; the heap time line and the mark API without the shim."""
import csv
import io
import json
import os

import lib

INCLUDE = ["-I", os.path.join(lib.ROOT, "shim")]


def _program(t):
    return t.build("growth_cases.c", extra=INCLUDE)


def _record(t, mode, **env):
    r = t.run_ok([_program(t), mode], env=env or None)
    return r.traces[0]


def _report(t, trace, *args):
    p = t.cli(["report", "--format", "json", *args, trace])
    t.require(p.returncode == 0, f"report {' '.join(args)}: rc={p.returncode} {lib.tail(p.stderr)}")
    return json.loads(p.stdout)


def _suspect(t, rep, fn):
    """The best-ranked suspect through fn (the compiler may call it from two places)."""
    ss = [s for s in rep["suspects"] if lib.through(s, fn)]
    t.require(ss, f"no suspect through {fn}")
    return ss[0]


def _rank_of(rep, fn):
    for s in rep["suspects"]:
        if lib.through(s, fn):
            return s["rank"]
    return None


def test_startup_allocation_is_not_growth(t):
    rep = _report(t, _record(t, "startup"))
    t.expect_leaks(rep, {"leak_request_id": (500 * 24, 500), "load_config": (256 * 1024, 1)})
    leak, config = _suspect(t, rep, "leak_request_id"), _suspect(t, rep, "load_config")
    t.eq(leak["rank"], 1, "the per-request leak's rank")
    t.eq(leak["growing"], True, "leak growing")
    t.eq(config["growing"], False, "startup configuration growing")
    t.eq(config["recent_growth_bytes_per_s"], 0.0, "startup configuration recent growth")
    t.check(config["score"] < 0.5 <= leak["score"], f"scores {config['score']} / {leak['score']}")
    # the leak's bytes over the time its blocks span, whatever the machine's pace: 24 bytes per
    # request, a request every 2 ms or more
    span = leak["oldest_age_s"] - leak["youngest_age_s"]
    t.check(span > 0.9 and leak["youngest_age_s"] < 0.05,
            f"leak ages {leak['oldest_age_s']} / {leak['youngest_age_s']}")
    t.check(abs(leak["growth_bytes_per_s"] - 500 * 24 / span) < 0.2 * 500 * 24 / span,
            f"leak growth {leak['growth_bytes_per_s']} vs {500 * 24 / span:.0f} (bytes over the span)")
    t.eq(leak["freed_share"], 0.0, "leak freed share")
    # by bytes the configuration comes first
    t.eq(_rank_of(_report(t, _record(t, "startup"), "--sort", "bytes"), "load_config"), 1,
         "load_config's rank by bytes")


def test_cache_that_fills_then_evicts_is_not_growth(t):
    rep = _report(t, _record(t, "cache"))
    t.expect_leaks(rep, {"leak_request_id": (125 * 24, 125), "cache_put": (128 * 1000, 128)})
    cache = _suspect(t, rep, "cache_put")
    t.eq(_rank_of(rep, "leak_request_id"), 1, "the leak's rank")
    t.eq(cache["growing"], False, "cache growing")
    t.eq(cache["allocations"], 500, "cache allocations")
    t.check(abs(cache["freed_share"] - 372 / 500) < 1e-3, f"cache freed share {cache['freed_share']}")


def test_leak_after_a_mark_and_the_window(t):
    trace = _record(t, "after_mark")
    whole = _report(t, trace)
    t.eq([m["name"] for m in whole["marks"]], ["warm"], "marks")
    t.eq(whole["marks"][0]["origin"], "call", "mark origin")
    t.expect_leaks(whole, {"leak_request_id": (200 * 24, 200)})
    t.eq(_suspect(t, whole, "leak_request_id")["growing"], True, "leak growing")
    since = _report(t, trace, "--since", "warm")
    t.expect_leaks(since, {"leak_request_id": (200 * 24, 200)})
    t.check(abs(since["window"]["since_s"] - whole["marks"][0]["t_s"]) < 0.0015,
            f"window starts at the mark: {since['window']} vs {whole['marks']}")
    # no one-time allocation of the start-up (libc's) is left in the window
    t.eq(since["summary"]["leaked_allocations"], 200, "leaked allocations after the mark")
    t.check(all(lib.through(s, "leak_request_id") for s in since["suspects"]),
            f"only the leak after the mark: {[lib.describe(s) for s in since['suspects']]}")
    until = _report(t, trace, "--until", "warm")
    t.eq(lib.leaked(until, "leak_request_id"), (0, 0), "leak before the mark")
    p = t.cli(["report", "--since", "no-such-mark", trace])
    t.eq(p.returncode, 2, "unknown mark: exit status")
    t.check(b"no mark named 'no-such-mark' (leakshim timeline lists the marks)" in p.stderr,
            f"unknown mark message: {lib.tail(p.stderr)}")
    for bound in ("3.5s", "500ms"):
        p = t.cli(["report", "--since", bound, trace])
        t.eq(p.returncode, 2, f"--since {bound}: exit status")
        t.check(f"no mark named '{bound}' (seconds are written as a plain number, such as 2.5)"
                .encode() in p.stderr, f"--since {bound}: message {lib.tail(p.stderr)}")


def test_window_that_cannot_hold_anything_is_an_error(t):
    """A start after the trace's end or an end before the start would make every budget of
    check pass: both are refused (exit 2), in report and check alike. Equal bounds are an
    empty window, not an error, and the span shown for it is 0."""
    trace = _record(t, "after_mark")
    whole = _report(t, trace)
    end_s = whole["process"]["duration_s"]
    for args, want in ((["--since", "300"], "the window starts at 300.000 s, after the end of the trace"),
                       (["--since", "warm", "--until", "0.0001"], "the window ends (0.000 s) before it starts"),
                       (["--since", f"{end_s / 2:.3f}", "--until", f"{end_s / 4:.3f}"], "before it starts"),
                       (["--since", "-1"], "not '-1'"), (["--until", "-0.5"], "not '-0.5'")):
        for command in ("report", "check"):
            p = t.cli([command, *args, trace])
            t.eq(p.returncode, 2, f"{command} {' '.join(args)}: exit status")
            t.check(want.encode() in p.stderr, f"{command} {' '.join(args)}: {lib.tail(p.stderr)}")
    half = f"{end_s / 2:.3f}"
    empty = _report(t, trace, "--since", half, "--until", half)
    t.eq((empty["window"]["since_s"], empty["window"]["until_s"]), (float(half), float(half)), "window")
    t.eq(empty["summary"]["leaked_bytes"], 0, "leaked in an empty window")
    p = t.cli(["report", "--since", half, "--until", half, trace])
    t.require(p.returncode == 0, f"text report of an empty window: {lib.tail(p.stderr)}")
    t.check(b"(live bytes, 0.0 s)" in p.stdout, f"span of an empty window: {lib.tail(p.stdout)}")


def test_mark_names_printable_in_text(t):
    """Mark names come from the program: the text outputs show each on one line, control
    characters and bytes that are not UTF-8 as '?'; JSON keeps them exactly."""
    trace = _record(t, "odd_marks")
    names = ["line\nbreak", "esc\033[31mred", "bad\ufffd byte"]
    t.eq([m["name"] for m in _report(t, trace)["marks"]], names, "marks in JSON")
    p = t.cli(["timeline", trace])
    t.require(p.returncode == 0, f"timeline: {lib.tail(p.stderr)}")
    rows = [line.split("-- mark ", 1)[1] for line in p.stdout.decode(errors="replace").splitlines()
            if "-- mark " in line]
    t.eq(rows, ["'line?break' (call)", "'esc?[31mred' (call)", "'bad? byte' (call)"], "timeline rows")
    p = t.cli(["report", "--since", "line\nbreak", "--until", "esc\033[31mred", trace])
    t.require(p.returncode == 0, f"report: {lib.tail(p.stderr)}")
    window = [line for line in p.stdout.decode(errors="replace").splitlines() if line.startswith("  window:")]
    t.eq(len(window), 1, f"one window line: {lib.tail(p.stdout)}")
    t.check(window and "after mark 'line?break' (" in window[0] and "until mark 'esc?[31mred' (" in window[0],
            f"window line: {window}")


def test_mark_by_signal(t):
    trace = _record(t, "signal", LEAKSHIM_MARK_SIGNAL="USR2")
    rep = _report(t, trace, "--since", "signal-1")
    t.eq([(m["name"], m["origin"]) for m in rep["marks"]], [("signal-1", "signal")], "marks")
    t.expect_leaks(rep, {"leak_request_id": (200 * 24, 200)})
    t.eq(rep["summary"]["leaked_allocations"], 200, "leaked allocations after the signal")


def test_mark_of_a_killed_process(t):
    """SIGKILL right after a mark and 50 leaks: whether the writer wrote them or they are
    replayed from the ring file, the window after the mark holds exactly the 50 leaks."""
    for attempt in range(3):  # the kill lands at a different point of the writer's work each time
        r = t.run([_program(t), "killed"])
        t.require(r.rc == -9 and len(r.traces) == 1, f"{lib.signame(r.rc)}, {len(r.traces)} traces")
        p = t.cli(["report", "--format", "json", "--since", "warm", r.traces[0]])
        t.require(p.returncode == 0, f"report: rc={p.returncode} {lib.tail(p.stderr)}")
        rep = json.loads(p.stdout)
        t.eq(rep["process"]["complete"], False, "complete")
        t.eq([m["name"] for m in rep["marks"]], ["warm"], f"marks (attempt {attempt})")
        t.expect_leaks(rep, {"leak_request_id": (50 * 24, 50)})
        t.eq(rep["summary"]["leaked_allocations"], 50, f"leaked after the mark (attempt {attempt})")


def test_mark_call_is_harmless_untraced(t):
    r = t.run([_program(t), "after_mark"], traced=False)
    t.eq(r.rc, 0, "exit status without the shim")
    t.eq(r.traces, [], "traces without the shim")


def test_two_leaks_faster_first(t):
    rep = _report(t, _record(t, "two_rates"))
    t.expect_leaks(rep, {"leak_fast": (500 * 16, 500), "leak_slow": (125 * 16, 125)})
    fast, slow = _suspect(t, rep, "leak_fast"), _suspect(t, rep, "leak_slow")
    t.eq((fast["rank"], slow["rank"]), (1, 2), "ranks of the fast and slow leak")
    t.check(fast["growing"] and slow["growing"], "both leaks grow")
    ratio = fast["recent_growth_bytes_per_s"] / max(slow["recent_growth_bytes_per_s"], 1e-9)
    t.check(3 < ratio < 5, f"growth ratio fast/slow {ratio:.2f}, expected about 4")
    t.eq(fast["score"], 1.0, "the fastest leak's score")


def test_bursty_leak_ranks_above_a_larger_pool(t):
    rep = _report(t, _record(t, "bursty"))
    t.expect_leaks(rep, {"bursty_leak": (6 * 50 * 32, 300), "fill_pool": (64 * 4096, 64)})
    t.eq(_rank_of(rep, "bursty_leak"), 1, "the bursty leak's rank")
    t.eq(_suspect(t, rep, "bursty_leak")["growing"], True, "bursty leak growing")
    t.eq(_suspect(t, rep, "fill_pool")["growing"], False, "pool growing")


def test_timeline_formats_agree(t):
    trace = _record(t, "after_mark", LEAKSHIM_INTERVAL="50ms")
    p = t.cli(["timeline", "--format", "json", trace])
    t.require(p.returncode == 0, f"timeline rc={p.returncode}: {lib.tail(p.stderr)}")
    tl = json.loads(p.stdout)
    t.eq(p.stderr, b"", "timeline stderr (totals agree with the events)")
    points = tl["points"]
    rep = _report(t, trace)
    duration = rep["process"]["duration_s"]
    # one point at the start, one per 50 ms, one at exit; a writer that was late (a loaded
    # machine) writes one point for the intervals it missed, never more
    want = duration / 0.05 + 2
    t.check(want / 2 <= len(points) <= want + 1, f"{len(points)} points over {duration} s")
    slots = [int(p["t_s"] / 0.05 + 1e-9) for p in points[1:-1]]  # each due at a multiple of 50 ms
    t.check(all(a < b for a, b in zip(slots, slots[1:])), f"two points in one interval: {slots}")
    t.eq(points[0]["allocations"], 0, "first point's allocations")
    last = points[-1]
    t.eq(last["allocations"], rep["summary"]["allocations"], "last point's allocations")
    t.eq(last["frees"], rep["summary"]["frees"], "last point's frees")
    t.eq(last["live_bytes"], rep["summary"]["leaked_bytes"], "last point's live bytes")
    t.eq(last["allocated_bytes"] - last["freed_bytes"], last["live_bytes"], "bytes balance")
    t.check(all(a["t_s"] <= b["t_s"] and a["allocations"] <= b["allocations"]
                for a, b in zip(points, points[1:])), "points in order")
    t.check(all(pt["rss_bytes"] > 1 << 20 for pt in points), "RSS in every point")
    t.eq([m["name"] for m in tl["marks"]], ["warm"], "timeline marks")
    rows = list(csv.DictReader(io.StringIO(t.cli(["timeline", "--format", "csv", trace]).stdout.decode())))
    t.eq(len(rows), len(points), "CSV rows")
    t.eq(rows[-1]["live_bytes"], str(last["live_bytes"]), "CSV last live bytes")
    marked = [r for r in rows if r["marks"]]
    mark_t = tl["marks"][0]["t_s"]
    t.eq([r["marks"] for r in marked], ["warm"], "CSV marks")
    t.check(marked and float(marked[0]["t_s"]) >= mark_t and
            all(float(r["t_s"]) < mark_t for r in rows[:rows.index(marked[0])]),
            f"the mark's row is the first point at or after it ({mark_t} s)")
    text = t.cli(["timeline", trace]).stdout.decode()
    t.check("-- mark 'warm' (call)" in text, f"text timeline shows the mark: {lib.tail(text)}")


def test_text_report_shows_growth(t):
    trace = _record(t, "startup")
    out = t.cli(["report", trace]).stdout.decode()
    lib.one_match(t, out, r"#1 .* in 500 blocks, GROWING ([0-9.]+) KiB/s \(steady 100%\)  [\u2581-\u2588]+\n"
                  r"    leak_request_id ", "the growing suspect's line")
    lib.one_match(t, out, r"in 1 block, (not growing) \(0% of its blocks freed\)\s+[\u2581-\u2588]+\n"
                  r"    load_config ", "the startup line")
    lib.one_match(t, out, r"\n  heap ([\u2581-\u2588]+)  \(live bytes", "the heap sparkline")
