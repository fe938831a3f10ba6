"""Every allocation entry point: exact requested sizes per leaking function, nothing recorded
for failed calls, libc's results and errno unchanged by the shim."""
import os

import lib
from lib import Fail, Skip, leaked, signame, tail

# Leaks of tests/programs/entry_points.c, by function: (bytes, allocations). Requested sizes,
# never usable sizes (pvalloc(100) leaks 100, not a page).
LEAKS = {
    "ep_malloc": (1001, 1),
    "ep_malloc_zero": (0, 1),
    "ep_calloc": (221, 1),
    "ep_grow_src": (0, 0),          # malloc(3000), grown in place by realloc
    "ep_realloc_grow": (6000, 1),
    "ep_move_src": (0, 0),          # malloc(200), moved by realloc
    "ep_move_blocker": (200, 1),
    "ep_realloc_move": (50000, 1),
    "ep_shrink_src": (0, 0),        # malloc(5000), shrunk by realloc
    "ep_realloc_shrink": (300, 1),
    "ep_realloc_null": (777, 1),
    "ep_realloc_null_zero": (0, 1),
    "ep_realloc_zero_src": (0, 0),  # malloc(555), freed by realloc(p, 0)
    "ep_realloc_zero": (0, 0),
    "ep_reallocarray": (660, 1),    # reallocarray(NULL, 10, 33) grown to (20, 33)
    "ep_reallocarray_zero_src": (0, 0),
    "ep_reallocarray_zero": (0, 0),
    "ep_posix_memalign": (2000, 1),
    "ep_aligned_alloc": (1536, 1),
    "ep_memalign": (3000, 1),
    "ep_valloc": (5000, 1),
    "ep_pvalloc": (100, 1),
    "ep_free_errno": (0, 0),
    "ep_survivor_src": (88, 2),     # 40 + 48, untouched by the failed reallocarray and realloc
}
FAILING = ["ep_fail_reallocarray", "ep_fail_realloc", "ep_fail_malloc", "ep_fail_calloc",
           "ep_fail_posix_memalign", "ep_fail_aligned_alloc", "ep_fail_memalign", "ep_fail_valloc"]


def _run(t, *args):
    exe = t.build("entry_points.c")
    plain = t.run([exe, *args], traced=False)
    if plain.rc != 0:
        raise Fail(f"entry_points {' '.join(args)} fails without the shim ({signame(plain.rc)}): "
                   f"{tail(plain.stderr)}")
    traced = t.run([exe, *args])
    return plain, traced


def test_exact_leaks(t):
    plain, r = _run(t)
    t.require(r.rc == 0, f"under the shim: {signame(r.rc)}; stderr: {tail(r.stderr)}")
    t.require(len(r.traces) == 1, f"expected 1 trace, found {len(r.traces)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, LEAKS)
    for fn in FAILING:
        got = leaked(rep, fn)
        t.check(got == (0, 0), f"{fn} (failing calls only) leaks {got[0]} B in {got[1]}")


def test_errno_and_results_unchanged(t):
    """The program checks results, errno and contents itself (exit 1 on a mismatch); with
    the shim its output (errno values, in-place/moved facts) must equal the output without."""
    plain, r = _run(t)
    t.require(r.rc == 0, f"under the shim: {signame(r.rc)}; stderr: {tail(r.stderr)}")
    t.eq(r.stdout, plain.stdout, "stdout with the shim vs without")
    t.eq(r.stderr, plain.stderr, "stderr with the shim vs without")


def test_failed_calls_record_nothing(t):
    """The same program with and without its failing calls: the failing calls must add no
    allocation, free or leak to the trace."""
    _, with_fail = _run(t)
    _, without = _run(t, "nofail")
    for r in (with_fail, without):
        t.require(r.rc == 0 and len(r.traces) == 1, f"run failed: {signame(r.rc)} {tail(r.stderr)}")
    a = t.report(with_fail.traces[0])["summary"]
    b = t.report(without.traces[0])["summary"]
    for field in ("allocations", "frees", "leaked_bytes", "leaked_allocations", "peak_bytes"):
        t.eq(a[field], b[field], f"summary.{field} with failing calls vs without")


def test_jemalloc_linked_program(t):
    """A program linked with another allocator (jemalloc, as Debian's redis-server is) keeps
    working under the shim: its malloc_usable_size/free see blocks of their own allocator."""
    so = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    if not os.path.exists(so):
        raise Skip(f"{so} not installed (Debian package libjemalloc2)")
    exe = t.build("jemalloc_user.c", extra=[so])
    plain = t.run([exe], traced=False)
    t.require(plain.rc == 0, f"fails without the shim: {signame(plain.rc)}")
    r = t.run([exe], timeout=60)
    t.require(r.rc == 0, f"under the shim: {signame(r.rc)} (without: exit 0); stderr: {tail(r.stderr)}")
    t.eq(r.stdout, plain.stdout, "stdout with the shim vs without")
    t.require(len(r.traces) == 1, f"expected 1 trace, found {len(r.traces)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"jm_leak": (1000, 1), "jm_leak_aligned": (512, 1)})


def test_malloc_bound_elsewhere_is_said(t):
    """When the program's malloc is not the shim's (an allocator ahead of the shim in
    LD_PRELOAD, or the program's own malloc), no allocation can be recorded: the program runs
    as without the shim, and the shim says so once on stderr, naming the library or the
    program, instead of leaving a complete trace of nothing as its only word."""
    cases = [("own", t.build("own_malloc.c", extra=["-DOWN_MALLOC"], name="own_malloc_defined"), None,
              "leakshim: the program defines malloc itself: no allocation is recorded\n")]
    plain_exe = t.build("own_malloc.c")
    for so in ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
               "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"):
        if os.path.exists(so):
            cases.append((os.path.basename(so), plain_exe, so,
                          f"leakshim: malloc is {so}'s, ahead of the shim in the lookup order: no "
                          "allocation is recorded (put libleakshim.so first in LD_PRELOAD)\n"))
    for what, exe, ahead, message in cases:
        out = os.path.join(t.tmp, f"ahead-{what}.%p")
        env = {"LD_PRELOAD": f"{ahead}:{lib.SHIM}" if ahead else lib.SHIM, "LEAKSHIM_OUTPUT": out}
        r = t.run([exe], traced=False, env=env, timeout=30)
        t.check(r.rc == 0, f"{what}: {signame(r.rc)}")
        t.eq(r.stdout, b"ok\n", f"{what}: stdout")
        t.eq(r.stderr.decode(errors="replace"), message, f"{what}: stderr")
    # and no word of it when the shim comes first
    r = t.run([plain_exe], preload_after=cases[-1][2]) if len(cases) > 1 else t.run([plain_exe])
    t.eq(r.stderr, b"", "stderr with the shim first")
    t.expect_leaks(t.report(r.traces[0]), {"own_leak": (100, 1)})
