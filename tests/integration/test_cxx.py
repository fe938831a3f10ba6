"""C++ (g++): operator new/delete through libstdc++, exact leaks with the user's function as
the first frame, and exceptions (also across a dlopen'd C++ shared object) under the shim."""
import os

from lib import Skip, describe, is_function, leaked, signame, tail

WIDGET_LEAKS = {
    "make_leaked_widget": (48, 1),
    "make_leaked_widget_array": (152, 1),   # 3 * 48 + 8 (array cookie: Widget has a destructor)
    "make_leaked_nothrow": (77, 1),
    "make_leaked_aligned": (128, 1),        # aligned operator new (alignas(64))
    "churn_new_delete": (0, 0),
    "churn_string": (0, 0),
    "churn_vector": (0, 0),
}


def test_new_delete_exact(t):
    exe = t.build("cxx_basic.cc")
    plain = t.run([exe], traced=False)
    t.require(plain.rc == 0, f"fails without the shim: {signame(plain.rc)}")
    r = t.run_ok([exe])
    t.eq(r.stdout, plain.stdout, "stdout with the shim vs without")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, WIDGET_LEAKS)


def test_container_leak_names_user_function(t):
    """new std::vector<int>(100) in make_leaked_vector: the vector (24 B) and its buffer
    (400 B, allocated by std::allocator code inlined into make_leaked_vector) both count as
    make_leaked_vector's."""
    exe = t.build("cxx_basic.cc")
    rep = t.report(t.run_ok([exe]).traces[0])
    t.expect_leaks(rep, {"make_leaked_vector": (424, 2)})


def test_first_frame_is_user_function(t):
    exe = t.build("cxx_basic.cc")
    r = t.run_ok([exe])
    rep = t.report(r.traces[0])
    for fn in ("make_leaked_widget", "make_leaked_widget_array", "make_leaked_nothrow",
               "make_leaked_aligned"):
        ss = [s for s in rep["suspects"] if any(is_function(f, fn) for f in s["stack"])]
        if not t.check(len(ss) == 1, f"{len(ss)} suspects through {fn}, expected 1"):
            continue
        first = ss[0]["stack"][0] if ss[0]["stack"] else {}
        t.check(is_function(first, fn),
                f"first frame of the {fn} suspect is {first.get('function')!r}: {describe(ss[0])}")
        t.check(isinstance(first.get("line"), int) and first.get("file", "").endswith("cxx_basic.cc"),
                f"{fn} frame has no file:line in cxx_basic.cc: {first}")


def test_exceptions(t):
    exe = t.build("cxx_throw.cc")
    plain = t.run([exe], traced=False)
    t.require(plain.rc == 0, f"fails without the shim: {signame(plain.rc)}")
    r = t.run_ok([exe])
    t.eq(r.stdout, plain.stdout, "stdout with the shim vs without")
    t.eq(r.stderr, b"", "stderr under the shim")
    t.eq(r.out, "app=1000 range=1000 ints=1500500 codes=1498500 destroyed=9000\n", "program output")
    t.expect_complete(t.report(r.traces[0]))


def test_exceptions_across_dlopen(t):
    exe = t.build("cxx_throw.cc")
    plugin = t.build("cxx_throw_plugin.cc", shared=True)
    plain = t.run([exe, plugin], traced=False)
    t.require(plain.rc == 0, f"fails without the shim: {signame(plain.rc)}: {tail(plain.stdout)}")
    r = t.run_ok([exe, plugin])
    t.eq(r.stdout, plain.stdout, "stdout with the shim vs without")
    t.check(b"plugin: caught=1000 returned=7000 last=plugin error 1999" in r.stdout,
            f"plugin exceptions not caught as expected: {tail(r.stdout)}")
    t.expect_complete(t.report(r.traces[0]))


OTHER_ALLOCATORS = {
    "jemalloc": ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "libjemalloc2"),
    "tcmalloc": ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
}


def test_allocator_preloaded_after_shim(t):
    """LD_PRELOAD=libleakshim.so:ALLOCATOR with an allocator that brings its own operator new
    and delete (jemalloc, tcmalloc: they never call malloc or free): every C++ allocation and
    delete is still seen (each variant: plain, array, nothrow, aligned, sized delete), so the
    leaks are exact, as with glibc's allocator, and no delete is a free of an unknown block."""
    exe = t.build("cxx_basic.cc")
    plain = t.run([exe], traced=False)
    t.require(plain.rc == 0, f"fails without the shim: {signame(plain.rc)}")
    tried = 0
    for name, (so, package) in OTHER_ALLOCATORS.items():
        if not os.path.exists(so):
            continue
        tried += 1
        r = t.run([exe], preload_after=so)
        t.require(r.rc == 0 and len(r.traces) == 1,
                  f"{name}: {signame(r.rc)}, {len(r.traces)} traces; stderr: {tail(r.stderr)}")
        t.eq(r.stdout, plain.stdout, f"{name}: stdout with the shim vs without")
        rep = t.report(r.traces[0])
        t.expect_complete(rep, name)
        t.eq(rep["summary"]["unmatched_frees"], 0, f"{name}: summary.unmatched_frees")
        for fn, want in dict(WIDGET_LEAKS, make_leaked_vector=(424, 2)).items():
            got = leaked(rep, fn)
            t.check(got == want, f"{name}: {fn}: {got[0]} B in {got[1]}, expected {want[0]} B in {want[1]}")
    if not tried:
        raise Skip("neither " + " nor ".join(p for _, p in OTHER_ALLOCATORS.values()) + " is installed")
