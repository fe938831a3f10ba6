"""`leakshim check` (the CI gate) and `leakshim diff`: exit codes, budgets, suppressions
(files, defaults, counts, warnings), baselines from traces and JSON reports matched across
runs with different addresses, the JUnit and SARIF outputs validated by real consumers
(xmllint with the Jenkins JUnit schema, ajv with the official SARIF 2.1.0 schema), the
example gate script, and no false positives on the shared leak cases with the defaults.

tests/programs/check_prog.c leaks 10 blocks of 100 bytes in site_one (mode base), 20 (grown),
or those 10 and 64 bytes in site_two (new); stdout's buffer (4096 bytes, stdout a pipe) is
outstanding too and suppressed by default."""
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from lib import CLI, ROOT, Skip, clean_env, marker_line, tail

SCHEMA = os.path.join(ROOT, "tests", "schemas", "jenkins-junit.xsd")
NPM_TOOLS = os.path.join(ROOT, "build", "tools", "npm")
SARIF_VALIDATOR = os.path.join(ROOT, "tests", "integration", "validate_sarif.js")
CASES = os.path.join(ROOT, "..", "shared", "cases")


def _trace(t, mode):
    exe = t.build("check_prog.c")
    return t.run_ok([exe, mode]).traces[0]


def _check(t, args, *, want_rc=None):
    """Runs `leakshim check ARGS --json V`; returns (rc, stdout, stderr, verdict or None)."""
    verdict_path = os.path.join(t.tmp, "verdict.json")
    if os.path.exists(verdict_path):
        os.unlink(verdict_path)
    p = t.cli(["check"] + list(args) + ["--json", verdict_path])
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if want_rc is not None:
        t.require(p.returncode == want_rc, f"check {' '.join(args)}: exit {p.returncode}, expected "
                                           f"{want_rc}; stdout: {tail(out, 1500)} stderr: {tail(err)}")
    verdict = None
    if os.path.exists(verdict_path):
        with open(verdict_path) as f:
            verdict = json.load(f)
    return p.returncode, out, err, verdict


def _budget(verdict, name):
    found = [b for b in verdict["budgets"] if b["name"] == name]
    return found[0] if found else None


def _suppression(verdict, pattern):
    found = [s for s in verdict["suppressions"] if s["pattern"] == pattern]
    return found[0] if found else None


def _functions(suspect):
    return [f.get("function") for f in suspect["stack"]]


def test_default_budget_and_default_suppressions(t):
    trace = _trace(t, "base")
    rc, out, err, v = _check(t, [trace], want_rc=1)
    t.eq(v["verdict"], "fail", "verdict")
    t.eq(v["counted"], {"leaked_bytes": 1000, "leaked_allocations": 10, "suspects": 1}, "counted")
    t.eq(_budget(v, "max-leaked-bytes"), {"name": "max-leaked-bytes", "limit": 0, "actual": 1000,
                                          "pass": False}, "the default budget")
    t.eq(len(v["budgets"]), 1, "budgets without options")
    t.eq([_functions(s)[0] for s in v["suspects"]], ["site_one"], "unsuppressed suspects")
    t.eq(v["suspects"][0]["over_budget"], ["max-leaked-bytes"], "site_one over_budget")
    t.eq(v["suspects"][0]["leaked_bytes"], 1000, "site_one leaked_bytes (contract field)")
    t.eq(v["suspects"][0]["leaked_allocations"], 10, "site_one leaked_allocations (contract field)")
    stdio = _suppression(v, "^_IO_file_doallocate$")
    t.eq((stdio["source"], stdio["suspects"], stdio["bytes"], stdio["blocks"]), (None, 1, 4096, 1),
         "stdout's buffer, suppressed by default (source, suspects, bytes, blocks)")
    t.eq(v["suppressed"]["leaked_bytes"], sum(s["bytes"] for s in v["suppressions"]),
         "suppressed bytes = sum of what the suppressions matched")
    t.check(re.search(r"^  FAIL  max-leaked-bytes\s+1,000 bytes leaked, limit 0$", out, re.M),
            f"budget line in the text: {tail(out, 1500)}")
    t.check(re.search(r"^\s+site_one \S+/check_prog\.c:%d$" % marker_line("check_prog.c", "SITE-ONE-MALLOC"),
                      out, re.M), f"site_one's frame with file:line in the text: {tail(out, 1500)}")
    t.check(out.rstrip().endswith("leakshim check: FAILED: 1 of 1 budget exceeded (max-leaked-bytes)"),
            f"last line: {tail(out, 200)}")
    t.eq(err, "", "stderr")

    rc, out, err, v = _check(t, [trace, "--no-default-suppressions"], want_rc=1)
    t.eq(v["counted"], {"leaked_bytes": 5096, "leaked_allocations": 11, "suspects": 2},
         "counted without the defaults")
    t.eq(v["suppressions"], [], "suppressions without the defaults")


def test_budgets_exact(t):
    trace = _trace(t, "base")
    cases = [
        (["--max-leaked-bytes", "1000"], 0), (["--max-leaked-bytes", "999"], 1),
        (["--max-leaked-bytes", "1K"], 0), (["--max-leaked-bytes", "0"], 1),
        (["--max-leaked-blocks", "10"], 0), (["--max-leaked-blocks", "9"], 1),
        (["--max-leaked-bytes", "1K", "--max-leaked-blocks", "9"], 1),
    ]
    for args, want in cases:
        rc, out, err, v = _check(t, [trace] + args)
        t.eq(rc, want, f"exit of check {' '.join(args)}")
    rc, out, err, v = _check(t, [trace, "--max-leaked-bytes", "1K", "--max-leaked-blocks", "9"])
    t.eq(_budget(v, "max-leaked-bytes"), {"name": "max-leaked-bytes", "limit": 1024, "actual": 1000,
                                          "pass": True}, "1K = 1024 bytes")
    t.eq(_budget(v, "max-leaked-blocks"), {"name": "max-leaked-blocks", "limit": 9, "actual": 10,
                                           "pass": False}, "blocks budget")
    t.check("leakshim check: FAILED: 1 of 2 budgets exceeded (max-leaked-blocks)" in out, tail(out, 300))
    rc, out, err, v = _check(t, [_trace(t, "none")], want_rc=0)
    t.eq(v["counted"]["leaked_bytes"], 0, "a run that leaks nothing")
    t.check(out.rstrip().endswith("leakshim check: PASSED: 1 budget held"), tail(out, 200))


def test_suppression_files(t):
    trace = _trace(t, "new")
    one = os.path.join(t.tmp, "one.supp")
    with open(one, "w") as f:
        f.write("# accepted until fixed\n\nleak:site_one\nleak:nothing_is_called_this\n")
    two = os.path.join(t.tmp, "two.supp")
    with open(two, "w") as f:
        f.write("leak:check_prog.c$\n")
    rc, out, err, v = _check(t, [trace, "--suppressions", one, "--suppressions", two], want_rc=0)
    t.eq(v["counted"], {"leaked_bytes": 0, "leaked_allocations": 0, "suspects": 0}, "counted")
    got = [(s["source"], s["line"], s["pattern"], s["suspects"], s["bytes"], s["blocks"])
           for s in v["suppressions"] if s["source"]]
    t.eq(got, [(one, 3, "site_one", 1, 1000, 10), (one, 4, "nothing_is_called_this", 0, 0, 0),
               (two, 1, "check_prog.c$", 2, 4160, 2)],
         "user suppressions and what they matched (user files before the defaults: two.supp "
         "takes stdout's buffer too, allocated from main in check_prog.c)")
    t.eq(err.strip(), f"leakshim check: warning: {one}:4: suppression 'leak:nothing_is_called_this' "
                      "matched nothing", "the warning about an unused suppression")
    t.check(re.search(r"^  1,000 bytes in 10 blocks from 1 stack  %s:3  leak:site_one$" % re.escape(one),
                      out, re.M), f"suppression line in the text: {tail(out, 1200)}")
    # matched by module name, and by file name with a wildcard
    exe = t.build("check_prog.c")
    for pattern in (f"^{exe}$", "check_*.c"):
        with open(one, "w") as f:
            f.write(f"leak:{pattern}\n")
        rc, out, err, v = _check(t, [trace, "--suppressions", one], want_rc=0)
        t.eq(v["counted"]["suspects"], 0, f"suspects left after leak:{pattern}")
    # as in LeakSanitizer, the rest of the line is the pattern: a trailing comment is part of it
    with open(one, "w") as f:
        f.write("leak:site_one   # accepted until fixed\n")
    rc, out, err, v = _check(t, [trace, "--suppressions", one], want_rc=1)
    t.eq([(s["pattern"], s["suspects"]) for s in v["suppressions"] if s["source"]],
         [("site_one   # accepted until fixed", 0)], "a trailing comment is part of the pattern")
    t.eq(err.strip(), f"leakshim check: warning: {one}:1: suppression 'leak:site_one   # accepted until "
                      "fixed' matched nothing (a '#' starts a comment only at the start of a line)",
         "the warning about a trailing comment")
    # bad files: exit 2, the file and line named
    with open(one, "w") as f:
        f.write("leak:ok\n# fine\nrace:foo\n")
    rc, out, err, v = _check(t, [trace, "--suppressions", one], want_rc=2)
    t.eq(err.strip(), f"leakshim check: {one}:3: unknown suppression type 'race' (only leak: is understood)",
         "message for a bad line")
    rc, out, err, v = _check(t, [trace, "--suppressions", os.path.join(t.tmp, "missing.supp")], want_rc=2)
    t.check("missing.supp: No such file or directory" in err, err)


def test_usage_errors(t):
    trace = _trace(t, "base")
    junk = os.path.join(t.tmp, "junk")
    with open(junk, "wb") as f:
        f.write(b"not a trace at all")
    for args, message in [
        ([], "usage: leakshim check"),
        ([trace, trace], "usage: leakshim check"),
        ([trace, "--max-leaked-bytes", "1X"], "--max-leaked-bytes takes a size"),
        ([trace, "--max-leaked-blocks", "-1"], "--max-leaked-blocks takes a whole number"),
        ([trace, "--max-growth", "fast"], "--max-growth takes bytes per second"),
        ([trace, "--baseline-threshold", "10%,20%"], "--baseline-threshold takes a threshold"),
        ([trace, "--since", "-3"], "--since takes seconds from the start"),
        ([trace, "--bogus"], "unrecognized option"),
        ([junk], junk),
        ([os.path.join(t.tmp, "nope.trace")], "nope.trace"),
        ([trace, "--baseline", junk], "baseline: " + junk),
    ]:
        p = t.cli(["check"] + args)
        err = p.stderr.decode(errors="replace")
        t.check(p.returncode == 2 and message in err,
                f"check {' '.join(args)}: exit {p.returncode} (expected 2), stderr {tail(err)}")


def test_windows_and_growth_budget(t):
    """A window by mark counts only what leaked after it (growth_cases after_mark: 200 x 24
    bytes after the mark "warm", libc's start-up allocations before it); --max-growth holds
    the steady growth of the growing suspects, from a trace or from its JSON report; a JSON
    report cannot be cut to a window; an unknown mark is an error."""
    exe = t.build("growth_cases.c", extra=["-I", os.path.join(ROOT, "shim")])
    trace = t.run_ok([exe, "after_mark"]).traces[0]
    args = [trace, "--since", "warm", "--no-default-suppressions"]
    rc, out, err, v = _check(t, args + ["--max-leaked-bytes", "4800"], want_rc=0)
    t.eq(_budget(v, "max-leaked-bytes"), {"name": "max-leaked-bytes", "limit": 4800, "actual": 4800,
                                          "pass": True}, "leaked bytes after the mark")
    _check(t, args + ["--max-leaked-bytes", "4799"], want_rc=1)
    _check(t, args + ["--max-leaked-blocks", "200"], want_rc=0)
    # 24 bytes per request after the mark, a request every 2 ms or more: the leak's bytes
    # over the time its blocks span, within the bucket rounding
    rc, out, err, v = _check(t, args + ["--max-growth", "1K"], want_rc=1)
    growth = _budget(v, "max-growth")["actual"]
    leak = [s for s in v["suspects"] if s["growing"]][0]
    span = leak["oldest_age_s"] - leak["youngest_age_s"]
    t.check(abs(growth - leak["leaked_bytes"] / span) < 0.2 * leak["leaked_bytes"] / span,
            f"steady growth {growth} bytes/s vs {leak['leaked_bytes'] / span:.0f} over the span")
    t.check(all("max-growth" in s["over_budget"] for s in v["suspects"] if s["growing"]),
            "growing suspects over the growth budget")
    # the text's rate has its thousands grouped and one decimal, as the JSON's value
    m = re.search(r"^  FAIL  max-growth\s+(\d{1,3}(?:,\d{3})*\.\d) bytes/s of steady growth, "
                  r"limit 1,024\.0$", out, re.M)
    if t.check(m, f"max-growth line in the text: {out!r}"):
        t.check(abs(float(m.group(1).replace(",", "")) - growth) <= 0.051,
                f"max-growth in the text {m.group(1)} vs {growth} in the JSON")
    _check(t, args + ["--max-growth", "1M"], want_rc=0)
    report = os.path.join(t.tmp, "after_mark.json")
    with open(report, "wb") as f:
        f.write(t.cli(["report", "--format", "json", "--since", "warm", trace]).stdout)
    rc, out, err, v = _check(t, [report, "--max-growth", "1K", "--no-default-suppressions"], want_rc=1)
    t.check(abs(_budget(v, "max-growth")["actual"] - growth) < 0.001,  # the report has 3 decimals
            f"growth read back from the JSON report: {_budget(v, 'max-growth')} vs {growth}")
    rc, out, err, v = _check(t, [report, "--since", "1"], want_rc=2)
    t.check("cannot be cut to a window" in err, err)
    rc, out, err, v = _check(t, [trace, "--since", "no-such-mark"], want_rc=2)
    t.check("no mark named 'no-such-mark'" in err, err)


def test_json_report_cut_by_top_is_refused(t):
    """A report saved with --top lists only its best suspects: a budget checked on it would
    miss the others and pass, a baseline or diff side would make them all look new."""
    trace = _trace(t, "new")
    whole = t.report(trace)
    t.require(len(whole["suspects"]) >= 2, f"suspects: {[s['leaked_bytes'] for s in whole['suspects']]}")
    total, blocks = whole["summary"]["leaked_bytes"], whole["summary"]["leaked_allocations"]
    top1 = os.path.join(t.tmp, "top1.json")
    with open(top1, "wb") as f:
        f.write(t.cli(["report", "--format", "json", "--top", "1", trace]).stdout)
    first = whole["suspects"][0]
    want = (f"top1.json: the suspects listed hold {first['leaked_bytes']} bytes in "
            f"{first['leaked_allocations']} blocks, the summary {total} bytes in {blocks} blocks; "
            "a report saved with --top lists only some of the leaks (save it without --top)")
    for args in (["check", top1, "--max-leaked-bytes", str(total - 1), "--no-default-suppressions"],
                 ["check", trace, "--baseline", top1], ["diff", top1, trace]):
        p = t.cli(args)
        t.eq(p.returncode, 2, f"{' '.join(args)}: exit status")
        t.check(want in p.stderr.decode(errors="replace"), f"{' '.join(args)}: {tail(p.stderr)}")
    whole_json = os.path.join(t.tmp, "whole.json")
    with open(whole_json, "wb") as f:
        f.write(t.cli(["report", "--format", "json", "--top", "0", trace]).stdout)
    _check(t, [whole_json, "--max-leaked-bytes", str(total - 1), "--no-default-suppressions"], want_rc=1)
    _check(t, [whole_json, "--max-leaked-bytes", str(total), "--no-default-suppressions"], want_rc=0)


def test_baseline_from_trace_and_json(t):
    base, base2 = _trace(t, "base"), _trace(t, "base")
    grown, new = _trace(t, "grown"), _trace(t, "new")
    base_json = os.path.join(t.tmp, "base.json")
    with open(base_json, "wb") as f:
        f.write(t.cli(["report", "--format", "json", base]).stdout)
    # two runs of the same program load at different addresses: matched all the same
    a1 = t.report(base)["suspects"]
    a2 = t.report(base2)["suspects"]
    one = lambda ss: [s for s in ss if _functions(s)[0] == "site_one"][0]["stack"][0]["address"]
    t.check(one(a1) != one(a2), "two runs with the same addresses: ASLR is off, the test proves less")
    for baseline in (base, base_json):
        rc, out, err, v = _check(t, [base2, "--baseline", baseline], want_rc=0)
        t.eq(_budget(v, "max-new-suspects"), {"name": "max-new-suspects", "limit": 0, "actual": 0,
                                              "pass": True}, f"same program against {baseline}")
        t.eq(len(v["budgets"]), 1, "budgets with --baseline alone")
        t.eq(v["suspects"][0]["baseline"], {"change": "same", "old_bytes": 1000, "old_allocations": 10},
             "site_one against the baseline")

        # the default threshold, 10% and 1 KiB: +1000 bytes is not above 1 KiB
        rc, out, err, v = _check(t, [grown, "--baseline", baseline], want_rc=0)
        t.eq(v["suspects"][0]["baseline"]["change"], "same", "site_one +1000 bytes, default threshold")
        rc, out, err, v = _check(t, [grown, "--baseline", baseline, "--baseline-threshold", "10%"], want_rc=1)
        t.eq(v["suspects"][0]["baseline"], {"change": "grown", "old_bytes": 1000, "old_allocations": 10},
             "site_one grown")
        t.eq(v["suspects"][0]["over_budget"], ["max-new-suspects"], "grown site_one over budget")
        t.check("site_one leaks 2,000 bytes in 20 blocks (grown: 1,000 bytes in the baseline)" in out,
                tail(out, 1500))
        # +1000 bytes is +100%: not above "100%", above "99%"; not above "1000", above "999"
        for threshold, want in (("100%", 0), ("99%", 1), ("1000", 0), ("999", 1), ("50%,1000", 0)):
            rc, out, err, v = _check(t, [grown, "--baseline", baseline, "--baseline-threshold", threshold])
            t.eq(rc, want, f"grown against the baseline with --baseline-threshold {threshold}")

        rc, out, err, v = _check(t, [new, "--baseline", baseline], want_rc=1)
        changes = {_functions(s)[0]: s["baseline"]["change"] for s in v["suspects"]}
        t.eq(changes, {"site_one": "same", "site_two": "new"}, "changes of the new run")
        t.eq(_budget(v, "max-new-suspects")["actual"], 1, "new stacks")
        rc, out, err, v = _check(t, [new, "--baseline", baseline, "--max-new-suspects", "1"], want_rc=0)
    # a baseline plus an absolute budget: both apply
    rc, out, err, v = _check(t, [new, "--baseline", base, "--max-new-suspects", "1",
                                 "--max-leaked-bytes", "1063"], want_rc=1)
    t.eq([(b["name"], b["pass"]) for b in v["budgets"]],
         [("max-leaked-bytes", False), ("max-new-suspects", True)], "both budgets")


def _junit_valid(t, path):
    p = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, path], capture_output=True)
    t.check(p.returncode == 0, f"xmllint --schema jenkins-junit.xsd {os.path.basename(path)}: "
                               f"{tail(p.stderr)}")


def _npm_tools(t):
    p = subprocess.run([os.path.join(ROOT, "tests", "install-deps.sh"), "npm"], capture_output=True)
    if p.returncode != 0:
        if not shutil.which("npm"):
            raise Skip(f"npm is not installed and cannot be: {tail(p.stderr)}")
        t.fail(f"tests/install-deps.sh npm failed: {tail(p.stderr)}")


def _sarif_check(t, paths, want_valid=True):
    p = subprocess.run(["node", SARIF_VALIDATOR, NPM_TOOLS] + paths, capture_output=True)
    out = p.stdout.decode(errors="replace")
    t.check((p.returncode == 0) == want_valid,
            f"SARIF validation (want {'valid' if want_valid else 'invalid'}): rc={p.returncode} {tail(out, 1500)}")


def test_junit_and_sarif_validate(t):
    if not shutil.which("xmllint"):
        t.fail("xmllint missing: tests/install-deps.sh installs libxml2-utils")
    _npm_tools(t)
    new, base = _trace(t, "new"), _trace(t, "base")
    junit_fail, junit_pass = os.path.join(t.tmp, "fail.xml"), os.path.join(t.tmp, "pass.xml")
    sarif_fail, sarif_pass = os.path.join(t.tmp, "fail.sarif"), os.path.join(t.tmp, "pass.sarif")
    p = subprocess.run([CLI, "check", new, "--baseline", base, "--max-leaked-bytes", "1000",
                        "--junit", junit_fail, "--sarif", sarif_fail], capture_output=True,
                       env=clean_env(), cwd=ROOT)
    t.eq(p.returncode, 1, "exit of the failing check")
    p = subprocess.run([CLI, "check", base, "--max-leaked-bytes", "1000", "--junit", junit_pass,
                        "--sarif", sarif_pass], capture_output=True, env=clean_env(), cwd=ROOT)
    t.eq(p.returncode, 0, "exit of the passing check")
    for path in (junit_fail, junit_pass):
        _junit_valid(t, path)
    _sarif_check(t, [sarif_fail, sarif_pass])
    # the validator does reject a broken document
    with open(sarif_fail) as f:
        doc = json.load(f)
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    broken = os.path.join(t.tmp, "broken.sarif")
    with open(broken, "w") as f:
        json.dump(doc, f)
    _sarif_check(t, [broken], want_valid=False)

    # JUnit: a case per budget, a failed case per suspect over budget
    suite = ET.parse(junit_fail).getroot().find("testsuite")
    cases = [(c.get("classname"), c.get("name").split(" ")[0], c.find("failure") is not None)
             for c in suite.findall("testcase")]
    t.eq(cases, [("leakshim.budget", "max-leaked-bytes", True), ("leakshim.budget", "max-new-suspects", True),
                 ("leakshim.suspect", "site_one", True), ("leakshim.suspect", "site_two", True)],
         "JUnit test cases (class, name, failed)")
    t.eq((suite.get("tests"), suite.get("failures")), ("4", "4"), "JUnit tests, failures")
    suite = ET.parse(junit_pass).getroot().find("testsuite")
    t.eq([(c.get("name"), c.find("failure") is not None) for c in suite.findall("testcase")],
         [("max-leaked-bytes", False)], "JUnit cases of the passing check")

    # SARIF: one result per offending suspect, at the malloc's line, relative to SRCROOT
    with open(sarif_fail) as f:
        run = json.load(f)["runs"][0]
    t.eq([r["id"] for r in run["tool"]["driver"]["rules"]],
         ["max-leaked-bytes", "max-leaked-blocks", "max-new-suspects", "max-growth"], "rule ids")
    t.eq(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file://" + ROOT + "/", "SRCROOT")
    got = []
    for r in run["results"]:
        loc = r["locations"][0]["physicalLocation"]
        got.append((r["ruleId"], r["level"], loc["artifactLocation"]["uri"],
                    loc["artifactLocation"].get("uriBaseId"), loc["region"]["startLine"],
                    r["locations"][0]["logicalLocations"][0]["name"]))
    t.eq(got, [("max-leaked-bytes", "error", "tests/programs/check_prog.c", "SRCROOT",
                marker_line("check_prog.c", "SITE-ONE-MALLOC"), "site_one"),
               ("max-leaked-bytes", "error", "tests/programs/check_prog.c", "SRCROOT",
                marker_line("check_prog.c", "SITE-TWO-MALLOC"), "site_two")], "SARIF results")
    t.eq(run["results"][0]["message"]["text"], "site_one leaks 1,000 bytes in 10 blocks",
         "message of the first result (site_one is unchanged against the baseline)")
    # the fingerprint is the stack's identity: the same in another run of the same program
    p = subprocess.run([CLI, "check", _trace(t, "base"), "--sarif", sarif_pass], capture_output=True,
                       env=clean_env(), cwd=ROOT)
    with open(sarif_pass) as f:
        other = json.load(f)["runs"][0]["results"][0]
    t.eq(other["partialFingerprints"], run["results"][0]["partialFingerprints"], "fingerprint across runs")


def test_diff(t):
    base, grown, new = _trace(t, "base"), _trace(t, "grown"), _trace(t, "new")
    base_json = os.path.join(t.tmp, "base.json")
    with open(base_json, "wb") as f:
        f.write(t.cli(["report", "--format", "json", base]).stdout)

    def diff(old, newer):
        p = t.cli(["diff", old, newer])
        t.require(p.returncode == 0, f"diff rc={p.returncode}: {tail(p.stderr)}")
        return p.stdout.decode(errors="replace")

    out = diff(base, grown)
    t.check("change: +1,000 bytes, +10 blocks" in out, tail(out, 800))
    t.check(re.search(r"^grown: leaking more \(1 stack, \+1,000 bytes\)\n"
                      r"  \+1,000 bytes, \+10 blocks  \(1,000 -> 2,000 bytes, \+100\.0%\)\n"
                      r"      site_one \S+check_prog\.c:\d+$", out, re.M), tail(out, 800))
    out = diff(grown, base)
    t.check(re.search(r"^shrunk: leaking less \(1 stack, -1,000 bytes\)\n"
                      r"  -1,000 bytes, -10 blocks  \(2,000 -> 1,000 bytes, -50\.0%\)$", out, re.M), tail(out, 800))
    for old in (base, base_json):
        out = diff(old, new)
        t.check(re.search(r"^new: leaking now, not before \(1 stack, \+64 bytes\)\n"
                          r"  \+64 bytes, \+1 block  \(0 -> 64 bytes\)\n"
                          r"      site_two \S+check_prog\.c:%d$" % marker_line("check_prog.c", "SITE-TWO-MALLOC"),
                          out, re.M), tail(out, 800))
        t.check(re.search(r"^unchanged: 2 stacks$", out, re.M), f"site_one and stdout's buffer unchanged: {tail(out, 300)}")
    out = diff(new, base)
    t.check(re.search(r"^gone: not leaking any more \(1 stack, -64 bytes\)$", out, re.M), tail(out, 800))
    out = diff(base, base_json)
    t.check(not re.search(r"^(new|grown|shrunk|gone):", out, re.M) and "unchanged: 2 stacks" in out,
            f"a trace against its own report: {tail(out, 500)}")
    p = t.cli(["diff", base])
    t.eq(p.returncode, 2, "diff with one file")
    p = t.cli(["diff", base, os.path.join(t.tmp, "missing")])
    t.eq(p.returncode, 2, "diff with a missing file")
    bad = os.path.join(t.tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"format": "leakshim-report", "version": 1, "summary": {}, "suspects": []}')
    p = t.cli(["diff", base, bad])
    t.check(p.returncode == 2 and "summary.leaked_bytes" in p.stderr.decode(), tail(p.stderr))
    with open(bad, "w") as f:
        f.write('{"format": "leakshim-report",\n "version": 1,,}')
    p = t.cli(["diff", base, bad])
    t.check(p.returncode == 2 and f"{bad}:2:" in p.stderr.decode(), f"line of a JSON syntax error: {tail(p.stderr)}")


def test_example_gate(t):
    """examples/ci-gate.sh: fails on the example server's leak, passes with it suppressed.
    500 warm-up + 5000 requests: 5 + 50 bad logins of 34 bytes; the gate counts what the load
    left after the warm-up's mark (50), or the whole run with GATE_SINCE empty (55)."""
    script = os.path.join(ROOT, "examples", "ci-gate.sh")
    results = {}
    for name, extra, since in (("plain", [], None), ("whole", [], ""),
                               ("suppressed", ["--suppressions", os.path.join(ROOT, "examples", "server.supp")], None)):
        out_dir = t.mkdir(f"gate-{name}")
        env = clean_env(GATE_OUTPUT=out_dir, GATE_WARMUP_REQUESTS="500", GATE_REQUESTS="5000",
                        GATE_SINCE=since)
        p = subprocess.run([script] + extra, capture_output=True, env=env, timeout=300)
        verdict = os.path.join(out_dir, "leakshim.json")
        if not os.path.exists(verdict):
            server_err = os.path.join(out_dir, "server.err")
            t.fail(f"gate {name}: no verdict, exit {p.returncode}; stdout: {tail(p.stdout)}; "
                   f"stderr: {tail(p.stderr)}; server: "
                   f"{tail(open(server_err, 'rb').read()) if os.path.exists(server_err) else '-'}")
        with open(verdict) as f:
            results[name] = (p.returncode, json.load(f), p.stdout.decode(errors="replace"))
        _junit_valid(t, os.path.join(out_dir, "leakshim.junit.xml"))
    rc, v, out = results["plain"]
    t.eq(rc, 1, f"exit of the gate without suppressions ({tail(out, 600)})")
    t.eq(v["counted"], {"leaked_bytes": 1700, "leaked_allocations": 50, "suspects": 1}, "the leak")
    t.eq(_functions(v["suspects"][0])[:2], ["copy_header_value", "handle_login"], "the leaking stack")
    rc, v, out = results["whole"]
    t.eq(rc, 1, f"exit of the gate over the whole run ({tail(out, 600)})")
    t.eq(v["counted"]["leaked_bytes"], 1870, "the leak over the whole run, warm-up included")
    rc, v, out = results["suppressed"]
    t.eq(rc, 0, f"exit of the gate with the leak suppressed ({tail(out, 600)})")
    t.eq(v["counted"]["leaked_bytes"], 0, "counted with the leak suppressed")
    supp = [s for s in v["suppressions"] if s["source"]]
    t.eq([(s["pattern"], s["suspects"], s["bytes"], s["blocks"]) for s in supp],
         [("copy_header_value", 1, 1700, 50)], "what server.supp matched")


def _load_cases_runner():
    spec = importlib.util.spec_from_file_location("shared_cases_run", os.path.join(CASES, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_false_positives_on_shared_cases(t):
    """Every shared case, built as ../shared/cases/run.py builds it and traced with stdout and
    stderr on pipes: with the default suppressions, every suspect left passes through a
    function the case leaks on purpose (its .expect file), and every one of those leaks is
    still reported, none hidden by a default."""
    if not os.path.exists(os.path.join(CASES, "run.py")):
        raise Skip("../shared/cases is not present")
    runner = _load_cases_runner()
    programs = os.path.join(CASES, "programs")
    for expect_path in sorted(glob.glob(os.path.join(programs, "*.expect"))):
        name = os.path.basename(expect_path)[:-len(".expect")]
        expect = [line.split() for line in open(expect_path) if line.strip()]
        reserved = {"exit", "rank1", "line", "stacks", "incomplete"}
        leaking = {e[0]: int(e[1]) for e in expect if e[0] not in reserved and len(e) == 3}
        on_purpose = {fn for fn, size in leaking.items() if size > 0}
        build_dir = t.mkdir(f"case-{name}")
        exe = runner.build(programs, name, build_dir)
        r = t.run([exe], cwd=build_dir)
        t.require(r.traces, f"{name}: no trace")
        found = {}
        for trace in r.traces:
            rc, out, err, v = _check(t, [trace])
            t.check(rc in (0, 1) and v is not None, f"{name}: check exit {rc}: {tail(err)}")
            if v is None:
                continue
            for s in v["suspects"]:
                fns = [fn for fn in on_purpose if fn in _functions(s)]
                t.check(fns, f"{name}: a false positive: {' < '.join(str(f) for f in _functions(s)[:6])}")
                for fn in fns:
                    found[fn] = found.get(fn, 0) + s["leaked_bytes"]
        t.eq(found, {fn: size for fn, size in leaking.items() if size > 0},
             f"{name}: bytes leaked on purpose, still reported with the defaults")
