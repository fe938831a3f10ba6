"""The shim changes nothing a program shows: stdout, stderr and exit status are byte-identical
with and without it."""
import os
import shutil

from lib import Skip, tail


def _same(t, argv, want_rc=None, **kw):
    plain = t.run(argv, traced=False, **kw)
    traced = t.run(argv, **kw)
    name = os.path.basename(argv[0])
    if want_rc is not None:
        t.eq(plain.rc, want_rc, f"{name}: exit status without the shim")
    t.eq(traced.rc, plain.rc, f"{name}: exit status with the shim vs without")
    t.check(traced.stdout == plain.stdout,
            f"{name}: stdout differs ({len(traced.stdout)} bytes with the shim, {len(plain.stdout)} without)")
    t.check(traced.stderr == plain.stderr,
            f"{name}: stderr differs: with the shim {tail(traced.stderr, 200)!r}, without {tail(plain.stderr, 200)!r}")
    t.check(len(traced.traces) >= 1, f"{name}: no trace written")
    return traced


def test_stdio_mix(t):
    r = _same(t, [t.build("output_mix.c")], want_rc=5)
    t.check(r.stdout.endswith(b"\nno newline at the endatexit handler ran\n"), f"stdout ends {r.stdout[-60:]!r}")
    if r.traces:
        t.expect_leaks(t.report(r.traces[0]), {"output_leak": (1234, 1), "make_line": (0, 0)})


def test_stdin_to_stdout(t):
    if not shutil.which("sort"):
        raise Skip("no sort")
    data = "".join(f"{(i * 7919) % 100003}\n" for i in range(50000)).encode()
    _same(t, ["sort", "-n"], want_rc=0, input=data)


def test_python(t):
    _same(t, ["python3", "-c", "import json,sys; d={str(i): list(range(i % 50)) for i in range(20000)};"
              "print(len(json.dumps(d))); print('err', file=sys.stderr); sys.exit(4)"], want_rc=4)
