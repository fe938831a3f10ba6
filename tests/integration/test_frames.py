"""Stacks walked from the shim's per-thread cache of frame rules (shim/frame_cache.h) are the
stacks unw_backtrace gives: the same program, with every form of frame the walks meet
(frame_shapes.c), leaks the same blocks from the same stacks, frame for frame, with the cache
(the default) and without it (LEAKSHIM_FRAME_CACHE=0)."""
import lib

LEAKS = 5
# path: (a function only its stacks pass through, size of each block)
PATHS = {
    "alloca": ("with_alloca", 120),
    "aligned": ("realigned", 130),
    "deep": ("deep", 140),
    "signal": ("on_usr1", 150),
    "thread": ("thread_main", 170),
    "plugin": ("plugin_leak", 180),
    "plugin_b": ("plugin_b_leak", 190),
}


def _run(t, frame_cache):
    exe = t.build("frame_shapes.c")
    a = t.build("life_plugin.c", shared=True)
    b = t.build("life_plugin_b.c", shared=True)
    r = t.run_ok([exe, a, b], env={"LEAKSHIM_FRAME_CACHE": frame_cache})
    t.eq(r.out, "frame_shapes done\n", "program output")
    t.eq(r.err, "", "the program's standard error (the shim says when walks differ)")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    return rep


def _stacks(rep):
    """Each suspect as (bytes, blocks, its frames as function, file, line, module), sorted."""
    return sorted((s["leaked_bytes"], s["leaked_allocations"],
                   tuple((f.get("function"), f.get("file"), f.get("line"), f.get("module"))
                         for f in s["stack"]))
                  for s in rep["suspects"])


def test_cache_walks_as_libunwind(t):
    """Each path's leaks are exact and one suspect with the cache (the first stack of a path
    fills it, the other four are walked from it); the deep recursion is cut at 64 frames both
    ways; and every suspect, frame for frame, and the number of distinct stacks are the same
    without the cache."""
    cached, plain = _run(t, "1"), _run(t, "0")
    for rep, how in ((cached, "with the cache"), (plain, "without it")):
        for path, (fn, size) in PATHS.items():
            ss = [s for s in rep["suspects"] if lib.through(s, fn)]
            t.eq([(s["leaked_bytes"], s["leaked_allocations"]) for s in ss],
                 [(LEAKS * size, LEAKS)], f"{path} path's suspects {how}")
        t.expect_leaks(rep, {"chain1": (LEAKS * (110 + 150 + 170), 3 * LEAKS)})
        deep = [s for s in rep["suspects"] if lib.through(s, "deep")]
        if deep:
            t.eq(len(deep[0]["stack"]), 64, f"frames of the deep path's stack {how}")
    t.eq(cached["summary"]["stacks"], plain["summary"]["stacks"], "distinct stacks")
    t.eq(_stacks(cached), _stacks(plain), "suspects with the cache and without it")
