"""`leakshim report --format html`: the page's data against the JSON report, and the page
itself in headless Chromium (html_browser.mjs, playwright-core from build/node, the system's
chromium): no console error, no request but the file, the top suspect in the table and the
flame graph, search, zoom, the allocated toggle, the source line of an expanded row, marks
and alerts on the time line. A trace of 100,000 distinct stacks (many_stacks.c) checks that
the page stays quick. A screenshot of the first page goes to build/html-test/report.png."""
import json
import os
import re
import shutil
import subprocess
import time

import lib

INCLUDE = ["-I", os.path.join(lib.ROOT, "shim")]
NODE_MODULES = os.path.join(lib.BUILD, "node", "node_modules", "playwright-core")
BROWSER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "html_browser.mjs")
SCREENSHOTS = os.path.join(lib.BUILD, "html-test")
DATA = re.compile(r'<script type="application/json" id="leakshim-data">(.*?)</script>', re.S)


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            break
    else:
        raise lib.Skip("chromium is not installed (tests/install-deps.sh installs it)")
    if not shutil.which("node") or not os.path.isdir(NODE_MODULES):
        raise lib.Skip("node or build/node/node_modules/playwright-core missing (tests/install-deps.sh)")
    return path


def _browse(t, report, function, **options):
    args = {"report": report, "function": function, "chromium": _chromium(), **options}
    try:
        p = subprocess.run(["node", BROWSER_SCRIPT, json.dumps(args)], capture_output=True,
                           timeout=180, env=lib.clean_env())
    except subprocess.TimeoutExpired:
        t.fail("the browser did not finish within 180 s")
    t.require(p.returncode == 0, f"html_browser.mjs rc={p.returncode}: {lib.tail(p.stderr, 1500)}")
    return json.loads(p.stdout)


def _html(t, trace, *args):
    out = os.path.join(t.tmp, "report.html")
    started = time.monotonic()
    p = t.cli(["report", "--format", "html", "-o", out, *args, trace])
    elapsed = time.monotonic() - started
    t.require(p.returncode == 0, f"report --format html rc={p.returncode}: {lib.tail(p.stderr)}")
    with open(out, encoding="utf-8") as f:
        page = f.read()
    return out, page, elapsed


def _data(t, page):
    blocks = DATA.findall(page)
    t.require(len(blocks) == 1, f"{len(blocks)} data blocks in the page")
    t.eq(blocks[0].count("<"), 0, "'<' inside the data block (must be escaped)")
    return json.loads(blocks[0])


def _no_trouble(t, facts, report):
    t.eq(facts["consoleErrors"], [], "console errors")
    t.eq(facts["pageErrors"], [], "uncaught page errors")
    t.eq(facts["requests"], ["file://" + report], "network requests")


def _alerts_file(t):
    path = os.path.join(t.tmp, "alerts.jsonl")
    with open(path, "w") as f:
        f.write('{"time_s": 0.25, "kind": "growth", "stacks": [{"function": "x"}], "new": {"a": [1, null]}}\n')
        f.write("\n")
        f.write('{"kind": "rss </script><script>document.title=\\"pwned\\"</script>", "time_s": 0.5}\n')
    return path, ["growth", 'rss </script><script>document.title="pwned"</script>']


def test_page_shows_the_leak(t):
    program = t.build("html_prog.c", extra=INCLUDE)
    trace = t.run_ok([program], env={"LEAKSHIM_INTERVAL": "20ms"}).traces[0]
    rep = t.report(trace)
    t.expect_leaks(rep, {"remember_session": (200 * 64, 200), "load_settings": (4096, 1),
                         "parse_request": (0, 0)})
    alerts, kinds = _alerts_file(t)
    report, page, _ = _html(t, trace, "--alerts", alerts)
    t.check("<script src" not in page and "<link" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", ""), "the page refers to nothing outside itself")

    # the data, against the JSON report
    d = _data(t, page)
    for key in ("allocations", "frees", "peak_bytes", "leaked_bytes", "leaked_allocations"):
        t.eq(d["summary"][key], rep["summary"][key], f"summary.{key}")
    t.eq(d["process"]["pid"], rep["process"]["pid"], "process.pid")
    s = d["suspects"]
    t.eq(s["table"], len(rep["suspects"]), "suspects in the table")
    t.eq(s["leaked"][:s["table"]], [x["leaked_bytes"] for x in rep["suspects"]], "leaked bytes by rank")
    t.eq([[d["frames"][i][0] for i in stack] for stack in s["stacks"][:s["table"]]],
         [lib.frames(x) for x in rep["suspects"]], "stacks by rank")
    allocated = {d["frames"][stack[0]][0]: s["allocated"][i] for i, stack in enumerate(s["stacks"])}
    t.eq(allocated.get("parse_request"), 200 * 512, "parse_request's allocated bytes (freed stack)")
    t.eq([a["kind"] for a in d["timeline"]["alerts"]], kinds, "alerts")
    t.eq([m["name"] for m in d["timeline"]["marks"]], ["warm"], "marks")
    line = lib.marker_line("html_prog.c", "SESSION-LEAK")
    top = d["frames"][s["stacks"][0][0]]
    t.eq((top[0], top[2]), ("remember_session", line), "top frame and line")
    t.require(top[5], "no source lines for the top frame")
    t.eq(top[5][1][line - top[5][0]].strip(), "char *session = malloc(64); /* SESSION-LEAK */",
         "the source line embedded")

    # the page in a browser
    os.makedirs(SCREENSHOTS, exist_ok=True)
    shot = os.path.join(SCREENSHOTS, "report.png")
    f = _browse(t, report, "remember_session", interactions=True, screenshot=shot)
    _no_trouble(t, f, report)
    t.eq(f["title"], "leakshim: html_prog", "title (an alert's </script> must not run)")
    t.eq(f["firstRowFunction"], "remember_session", "the table's first row")
    t.check(f["firstRowFunctionVisible"], "the top suspect's name is not visible")
    t.eq(f["warnings"], "", "warnings of a complete trace")
    t.eq(f["firstRowCells"][:5], ["1", "12.5 KiB", "200", f["firstRowCells"][3], "yes"], "first row")
    t.check("16.5 KiB (16,896 bytes) in 201 blocks from 2 stacks" in f["summary"],
            f"summary shows the leak: {f['summary']!r}")
    t.eq(len(f["flameNamed"]), 1, "flame graph nodes named remember_session")
    t.check(all(not n["match"] for n in f["flameNamed"]), "highlighted before any search")
    t.check(f["searchNamed"] and all(n["match"] for n in f["searchNamed"]), "search highlights the frame")
    t.eq(sorted(set(f["searchMatches"])), ["remember_session"], "frames highlighted by the search")
    t.eq(f["matchColor"], "rgb(192, 38, 211)", "a highlighted frame's colour")
    t.check("matched 12.5 KiB of 16.5 KiB" in f["searchStatus"], f"search status {f['searchStatus']!r}")
    # remember_session holds 12800 of 16896 leaked bytes: 75.8% of the width, all of it zoomed
    width = f["flameWidth"]
    t.check(abs(f["flameNamed"][0]["width"] - width * 12800 / 16896) < 2,
            f"unzoomed width {f['flameNamed'][0]['width']} of {width}")
    t.check(abs(f["zoomedNamed"][0]["width"] - width) < 2, f"zoomed width {f['zoomedNamed']} of {width}")
    t.eq([n["width"] for n in f["unzoomedNamed"]], [n["width"] for n in f["flameNamed"]],
         "widths after a click on the root")
    t.eq(f["unzoomedNodeCount"], f["flameNodeCount"], "nodes after a click on the root")
    t.check("parse_request" in f["allocatedNames"], "parse_request missing from the allocated flame graph")
    t.check("remember_session" in f["allocatedNames"], "remember_session missing from the allocated flame graph")
    det = f["details"]
    t.require(det, "expanding the first row shows nothing")
    t.eq(det["frames"][:3], ["remember_session", "serve", "main"], "expanded stack")
    t.check(det["locations"][0].endswith(f"html_prog.c:{line}"), f"location {det['locations'][0]}")
    t.eq(det["hitLine"], f"{line}    char *session = malloc(64); /* SESSION-LEAK */", "highlighted source line")
    t.check(det["hitVisible"], "the source line is not visible")
    tl = f["timeline"]
    t.check(tl["livePoints"] >= 20, f"{tl['livePoints']} points on the time line")
    t.eq(tl["marks"], ["warm"], "marks drawn")
    t.eq(tl["alerts"], kinds, "alerts drawn")
    t.check(os.path.getsize(shot) > 10000, "screenshot missing or empty")
    t.note(f"html: page drawn in {f['renderMs']} ms, loaded in {f['loadMs']} ms; screenshot {shot}")


def test_hundred_thousand_stacks(t):
    """100,000 distinct leaking stacks: generated in seconds, drawn within a few seconds, one
    page of rows, a bounded flame graph."""
    _chromium()
    trace = t.run_ok([t.build("many_stacks.c")]).traces[0]
    report, page, generate_s = _html(t, trace)
    d = _data(t, page)
    t.eq(d["suspects"]["table"], 100000, "suspects")
    t.eq(d["summary"]["leaked_bytes"], sum(16 + 8 * (n % 7) for n in range(100000)), "leaked bytes")
    t.check(len(d["frames"]) < 100, f"{len(d['frames'])} distinct frames (interned)")
    f = _browse(t, report, "digit7", interactions=True, pageTwo=True)
    _no_trouble(t, f, report)
    t.eq(f["tableRows"], 50, "rows drawn")
    t.eq(f["pageInfo"], "1\u201350 of 100,000 suspects", "page info")
    t.eq((f["pageTwoInfo"], f["pageTwoFirstRank"]), ("51\u2013100 of 100,000 suspects", "51"), "page two")
    # 1 + 1111 digit nodes at least 1 px wide (10,000 at the fourth level are not), their descends
    t.check(1000 < f["flameNodeCount"] < 5000, f"{f['flameNodeCount']} flame graph nodes drawn")
    t.eq(len(f["searchMatches"]), 111, "digit7 frames highlighted (1 + 10 + 100 drawn)")
    t.check(f["details"] and f["details"]["hitLine"] and "LEAF-ALLOCATION" in f["details"]["hitLine"],
            "expanded row's source line")
    t.check(f["loadMs"] < 5000, f"page loaded in {f['loadMs']} ms")
    t.note(f"html 100k stacks: report {generate_s:.1f} s, {os.path.getsize(report) / 1e6:.1f} MB; "
           f"page drawn in {f['renderMs']} ms, loaded in {f['loadMs']} ms; {f['flameNodeCount']} flame nodes")


def test_no_leak_and_cut_trace(t):
    """A window without leaks draws an empty table and flame graph; a trace cut short says so."""
    program = t.build("html_prog.c", extra=INCLUDE)
    trace = t.run_ok([program], env={"LEAKSHIM_INTERVAL": "20ms"}).traces[0]
    report, page, _ = _html(t, trace, "--until", "0")
    t.eq(_data(t, page)["suspects"]["table"], 0, "suspects in an empty window")
    f = _browse(t, report, "remember_session")
    _no_trouble(t, f, report)
    t.eq((f["tableRows"], f["tableText"]), (0, "No leaks: every block allocated in the window was freed."),
         "empty table")
    t.eq((f["flameNodeCount"], f["flameText"]), (0, ["Nothing leaked."]), "empty flame graph")
    cut = os.path.join(t.tmp, "cut.trace")
    with open(trace, "rb") as src, open(cut, "wb") as dst:
        data = src.read()
        dst.write(data[:len(data) * 2 // 3])
    p = t.cli(["report", "--format", "html", "-o", os.path.join(t.tmp, "cut.html"), cut])
    t.eq(p.returncode, 0, "report of a cut trace")
    f = _browse(t, os.path.join(t.tmp, "cut.html"), "remember_session")
    _no_trouble(t, f, os.path.join(t.tmp, "cut.html"))
    t.check("Trace\nINCOMPLETE" in f["summary"], f"summary of a cut trace: {f['summary']!r}")
    t.eq(f["warnings"], "The process did not finish its trace: what it did after the cut is missing.",
         "warning of a cut trace")
    t.eq(f["firstRowFunction"], "remember_session", "top suspect of the cut trace")


def test_alerts_file_errors(t):
    trace = t.run_ok([t.build("export_prog.c")]).traces[0]
    bad = os.path.join(t.tmp, "bad.jsonl")
    cases = [('{"time_s": 1, "kind": "a"}\n{"time_s": 2, "kind": }\n', f"{bad}:2: not valid JSON"),
             ('{"time_s": 1}\n', f'{bad}:1: an alert needs "time" (a number: seconds since the process '
              'started) and "kind" (a string)'),
             ('{"time": "1", "kind": "a"}\n', f'{bad}:1: an alert needs "time" (a number: seconds since the '
              'process started) and "kind" (a string)'),
             ('[1, 2]\n', f"{bad}:1: not a JSON object"),
             ('{"time_s": 1, "kind": "a"} x\n', f"{bad}:1: not one JSON object")]
    for text, message in cases:
        with open(bad, "w") as f:
            f.write(text)
        p = t.cli(["report", "--format", "html", "--alerts", bad, "-o", os.path.join(t.tmp, "x.html"), trace])
        t.eq((p.returncode, p.stderr.decode().strip()), (2, f"leakshim report: {message}"), f"alerts {text!r}")
    p = t.cli(["report", "--alerts", bad, trace])
    t.eq((p.returncode, p.stderr.decode().strip()),
         (2, "leakshim report: --alerts applies to --format html only"), "--alerts with text")
    p = t.cli(["report", "--format", "html", "--alerts", os.path.join(t.tmp, "none"), trace])
    t.eq(p.returncode, 2, "a missing alerts file")
