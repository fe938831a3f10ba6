"""LEAKSHIM_DEPTH and LEAKSHIM_BUFFER: honoured, and a bad value is reported once on stderr
and replaced by the default (README, "Recording")."""
from lib import signame, tail


def _warnings(t, r, var):
    lines = [l for l in r.err.splitlines() if var in l]
    t.eq(len(lines), 1, f"stderr lines naming {var} ({r.err.strip()!r})")


def test_depth(t):
    exe = t.build("report_prog.c")
    r = t.run_ok([exe, "10"], env={"LEAKSHIM_DEPTH": "2"})
    t.eq(r.stderr, b"", "stderr")
    rep = t.report(r.traces[0])
    t.check(all(len(s["stack"]) <= 2 for s in rep["suspects"]),
            f"stacks longer than 2 frames: {[len(s['stack']) for s in rep['suspects']]}")
    for fn in ("text_site", "big_site", "mid_site"):
        ss = [s for s in rep["suspects"] if s["stack"] and s["stack"][0].get("function") == fn]
        if t.check(len(ss) == 1, f"{len(ss)} suspects start at {fn}"):
            t.eq([f.get("function") for f in ss[0]["stack"]], [fn, "main"], f"{fn} stack with depth 2")
    t.expect_leaks(rep, {"big_site": (30000, 1), "mid_site": (3000, 3), "text_site": (4321, 1)})


def test_bad_values_reported_once(t):
    exe = t.build("threads.c")  # many threads: still one message
    for var, value in (("LEAKSHIM_DEPTH", "lots"), ("LEAKSHIM_DEPTH", "0"), ("LEAKSHIM_BUFFER", "12Q"),
                       ("LEAKSHIM_BUFFER", "1K"), ("LEAKSHIM_INTERVAL", "5ms"),
                       ("LEAKSHIM_INTERVAL", "fast"), ("LEAKSHIM_INTERVAL", "2h"),
                       ("LEAKSHIM_MARK_SIGNAL", "KILL"), ("LEAKSHIM_MARK_SIGNAL", "SIGSEGV"),
                       ("LEAKSHIM_MARK_SIGNAL", "9"), ("LEAKSHIM_MARK_SIGNAL", "RTMIN+99")):
        r = t.run([exe], env={var: value}, timeout=120)
        if not t.check(r.rc == 0 and len(r.traces) == 1,
                       f"{var}={value}: {signame(r.rc)}, {len(r.traces)} traces; {tail(r.stderr)}"):
            continue
        _warnings(t, r, var)
        rep = t.report(r.traces[0])
        t.expect_complete(rep, f"{var}={value}")
        t.expect_leaks(rep, {"thread_leak": (36000, 8), "xt_alloc_kept": (2400, 100)})
        if var == "LEAKSHIM_DEPTH":  # the default, 64, keeps every frame of these stacks
            t.check(any(f.get("function") == "main" for s in rep["suspects"] for f in s["stack"]),
                    f"{var}={value}: no stack reaches main")


def test_interval_and_mark_signal_values(t):
    """Good spellings of the newer settings pass without a warning (test_growth checks that the
    interval takes effect, and the signal mark); signal names in either case, as kill(1) takes
    them; a misspelt one warns."""
    exe = t.build("threads.c")
    for env in ({"LEAKSHIM_INTERVAL": "2s"}, {"LEAKSHIM_INTERVAL": "250"},
                {"LEAKSHIM_MARK_SIGNAL": "SIGUSR1"}, {"LEAKSHIM_MARK_SIGNAL": "rtmin+2"},
                {"LEAKSHIM_MARK_SIGNAL": "RTMIN+2"}, {"LEAKSHIM_MARK_SIGNAL": "usr2"},
                {"LEAKSHIM_MARK_SIGNAL": "SigUsr1"}, {"LEAKSHIM_MARK_SIGNAL": "off"},
                {"LEAKSHIM_MARK_SIGNAL": "OFF"}, {"LEAKSHIM_MARK_SIGNAL": "0"},
                {"LEAKSHIM_MARK_SIGNAL": "usr3"},
                {"LEAKSHIM_SAMPLE": "1T"}, {"LEAKSHIM_SAMPLE": "2G"}):
        r = t.run([exe], env=env, timeout=120)
        want_warning = env.get("LEAKSHIM_MARK_SIGNAL") == "usr3"
        t.check((b"leakshim" in r.stderr) == want_warning, f"{env}: stderr {tail(r.stderr)}")
        t.check(r.rc == 0 and len(r.traces) == 1, f"{env}: {signame(r.rc)}, {len(r.traces)} traces")


def test_small_buffer_loses_nothing(t):
    """The smallest ring (1M) under 16 threads: producers wait, nothing is lost, totals exact."""
    exe = t.build("threads.c")
    r = t.run_ok([exe], env={"LEAKSHIM_BUFFER": "1M"}, timeout=120)
    t.eq(r.stderr, b"", "stderr")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"thread_leak": (36000, 8), "xt_alloc_kept": (2400, 100), "xt_alloc": (0, 0),
                         "churn_alloc": (0, 0), "main_alloc_for_workers": (0, 0), "worker_alloc_for_main": (0, 0)})
