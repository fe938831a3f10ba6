"""Threads: exact leaks from 8 workers that churn 50,000 blocks each, and blocks freed by a
different thread than the one that allocated them."""
from lib import leaked, signame, tail


def test_exact_totals(t):
    exe = t.build("threads.c")
    r = t.run_ok([exe], timeout=120)
    t.eq(r.out, "kept 100 blocks\n", "program output")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    # thread_leak: 1000 * (index + 1) bytes for index 0..7 = 36000 B in 8 blocks.
    t.expect_leaks(rep, {
        "thread_leak": (36000, 8),
        "churn_alloc": (0, 0),
        "worker": (36000, 8),          # every leak of a worker is its thread_leak
    })
    # One call site, one stack.
    stacks = [s for s in rep["suspects"] if any(f.get("function") == "thread_leak" for f in s["stack"][:1])]
    t.eq(len(stacks), 1, "distinct suspects whose first frame is thread_leak")
    s = rep["summary"]
    own_allocs = 8 * 50000 + 8 * 100 * 2 + 4 * 20000 + 100 + 8
    t.check(s["allocations"] >= own_allocs, f"summary.allocations {s['allocations']} < {own_allocs} made by the program")


def test_cross_thread_frees(t):
    exe = t.build("threads.c")
    r = t.run_ok([exe], timeout=120)
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {
        "main_alloc_for_workers": (0, 0),   # allocated by main, freed by the workers
        "worker_alloc_for_main": (0, 0),    # allocated by the workers, freed by main
        "xt_alloc": (0, 0),                 # 80,000 blocks freed by the consumers
        "xt_alloc_kept": (2400, 100),       # 100 x 24 B kept by the consumers
        "producer": (2400, 100),
    })


def test_repeatable(t):
    """Three more runs give the same exact totals (an ordering race would show up as a
    varying false leak or a missing one)."""
    exe = t.build("threads.c")
    for i in range(3):
        r = t.run([exe], timeout=120)
        t.require(r.rc == 0 and len(r.traces) == 1, f"run {i}: {signame(r.rc)}, {len(r.traces)} traces; {tail(r.stderr)}")
        rep = t.report(r.traces[0])
        own = [s for s in rep["suspects"] if any(fn in (f.get("function") or "") for f in s["stack"]
                                                  for fn in ("worker", "producer", "consumer", "main_alloc"))]
        got = (sum(s["leaked_bytes"] for s in own), sum(s["leaked_allocations"] for s in own))
        t.eq(got, (36000 + 2400, 8 + 100), f"run {i}: leaks through the program's own threads")
        t.eq(leaked(rep, "main_alloc_for_workers"), (0, 0), f"run {i}: main_alloc_for_workers")
