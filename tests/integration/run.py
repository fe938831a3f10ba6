#!/usr/bin/env python3
"""leakshim integration tests: programs from tests/programs/ run under build/libleakshim.so,
their traces read with `build/leakshim report --format json`, exact leaks asserted.

Usage: tests/integration/run.py [--list] [--keep] [--times] [FILTER ...]
  FILTER   run the tests whose name (GROUP.NAME) contains FILTER or matches it as a glob;
           several filters select the union
  --list   print the test names and exit
  --keep   keep the temporary directory (programs, traces) and print where it is
  --times  add each test's duration to its line, and the total at the end
IT_REDIS_REPS=N sets the number of interleaved runs of redis.overhead (default 5).

Tests are the functions test_NAME(t) of tests/integration/test_GROUP.py, run in file and
definition order. Prints one line per test ('ok   NAME', 'FAIL NAME: reason', 'skip NAME:
reason'; lines starting with '#' are notes, such as measurements) and ends with
'N passed, N failed' (', N skipped' when some were); exits 1 if any test failed.
Run `make` first: the tests use build/libleakshim.so and build/leakshim."""
import fnmatch
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lib  # noqa: E402


def discover():
    tests = []
    for path in sorted(os.listdir(HERE)):
        if not (path.startswith("test_") and path.endswith(".py")):
            continue
        module = importlib.import_module(path[:-3])
        group = path[len("test_"):-3]
        for attr, fn in vars(module).items():
            if attr.startswith("test_") and callable(fn) and getattr(fn, "__module__", None) == module.__name__:
                tests.append((f"{group}.{attr[len('test_'):]}", fn))
    return tests


def selected(name, filters):
    return not filters or any(f in name or fnmatch.fnmatchcase(name, f) for f in filters)


def main():
    args = sys.argv[1:]
    keep = "--keep" in args
    listing = "--list" in args
    times = "--times" in args
    if "-h" in args or "--help" in args:
        print(__doc__)
        return 0
    unknown = [a for a in args if a.startswith("-") and a not in ("--keep", "--list", "--times")]
    if unknown:
        print(f"run.py: unknown option {unknown[0]}\n{__doc__}", file=sys.stderr)
        return 2
    filters = [a for a in args if not a.startswith("-")]
    tests = [(n, f) for n, f in discover() if selected(n, filters)]
    if listing:
        for n, _ in tests:
            print(n)
        return 0
    if not tests:
        print(f"no test matches {' '.join(filters)}")
        print("0 passed, 1 failed")
        return 1
    missing = [p for p in (lib.SHIM, lib.CLI) if not os.path.exists(p)]
    session = lib.Session(keep=keep)
    passed = failed = skipped = 0
    started = time.monotonic()
    try:
        for name, fn in tests:
            case = lib.Case(session, name)
            session.notes = []
            status, why = "ok", None
            t0 = time.monotonic()
            try:
                if missing:
                    raise lib.Fail(f"{', '.join(missing)} missing: run `make` first")
                fn(case)
                if case.problems:
                    status, why = "FAIL", "; ".join(case.problems)
            except lib.Skip as ex:
                status, why = "skip", str(ex)
            except lib.Fail as ex:
                status, why = "FAIL", "; ".join([str(ex)] + case.problems)
            except Exception as ex:  # a harness error is a failed test, never a pass
                tb = traceback.extract_tb(ex.__traceback__)[-1]
                status, why = "FAIL", f"harness error: {type(ex).__name__}: {ex} " \
                                      f"({os.path.basename(tb.filename)}:{tb.lineno})"
            for note in session.notes:
                print(f"# {note}")
            label = {"ok": "ok  ", "FAIL": "FAIL", "skip": "skip"}[status]
            line = f"{label} {name}" + (f": {why}" if why else "")
            if times:
                line += f" ({time.monotonic() - t0:.1f} s)"
            print(line, flush=True)
            passed += status == "ok"
            failed += status == "FAIL"
            skipped += status == "skip"
    finally:
        session.close()
    if keep:
        print(f"# kept {session.tmp}")
    if times:
        print(f"# {time.monotonic() - started:.1f} s")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
