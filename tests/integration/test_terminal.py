"""The text report on a terminal (a pseudo-terminal here): fitted to the width (COLUMNS, or
the terminal's own), coloured unless NO_COLOR or --color never, and the same bytes as ever
when not a terminal; --color always colours a pipe too. The progress bar shows on a
terminal's stderr only."""
import fcntl
import os
import re
import struct
import subprocess
import termios

import lib

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LOCATION = re.compile(r" (\S+:\d+|\[\S+\+0x[0-9a-f]+\])$")


def _trace(t):
    program = t.build("html_prog.c", extra=["-I", os.path.join(lib.ROOT, "shim")])
    return t.run_ok([program], env={"LEAKSHIM_INTERVAL": "20ms"}).traces[0]


def _piped(t, args, **env):
    p = subprocess.run([lib.CLI] + args, capture_output=True, timeout=120, env=lib.clean_env(**env))
    t.require(p.returncode == 0, f"leakshim {' '.join(args)}: rc={p.returncode} {lib.tail(p.stderr)}")
    return p.stdout.decode(), p.stderr.decode()


def _on_terminal(t, args, columns=None, winsize=100, which="stdout", **env):
    """Runs leakshim with `which` (stdout or stderr) on a pseudo-terminal `winsize` columns
    wide, the other stream piped; COLUMNS is set only when `columns` is given. Returns
    (terminal text with CR LF as LF, piped text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, winsize, 0, 0))
    environment = lib.clean_env(**env)
    environment.pop("COLUMNS", None)
    if columns is not None:
        environment["COLUMNS"] = str(columns)
    streams = {"stdout": slave, "stderr": subprocess.PIPE} if which == "stdout" else \
              {"stdout": subprocess.PIPE, "stderr": slave}
    p = subprocess.Popen([lib.CLI] + args, stdin=subprocess.DEVNULL, env=environment, **streams)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    piped = (p.stderr if which == "stdout" else p.stdout).read()
    t.require(p.wait(timeout=120) == 0, f"leakshim {' '.join(args)}: rc={p.returncode}")
    return data.decode().replace("\r\n", "\n"), piped.decode()


def test_color_always_never_and_no_color(t):
    trace = _trace(t)
    plain, _ = _piped(t, ["report", trace])
    t.eq(_piped(t, ["report", "--color", "never", trace])[0], plain, "--color never on a pipe")
    always, _ = _piped(t, ["report", "--color", "always", trace])
    t.check("\x1b[" in always, "--color always: no colour on a pipe")
    t.eq(ANSI.sub("", always), plain, "--color always without its colours")
    t.check("\x1b[1;31mGROWING" in always, "the growing suspect is not in red")
    t.eq(_piped(t, ["report", "--color", "always", trace], NO_COLOR="1")[0], always,
         "--color always wins over NO_COLOR")
    wide = 400  # wide enough that nothing is fitted: only the colours differ
    tty, _ = _on_terminal(t, ["report", trace], winsize=wide)
    t.check("\x1b[" in tty, "no colour on a terminal")
    t.eq(ANSI.sub("", tty), plain, "terminal output without its colours")
    t.eq(_on_terminal(t, ["report", trace], winsize=wide, NO_COLOR="1")[0], plain, "NO_COLOR on a terminal")
    t.eq(_on_terminal(t, ["report", trace], winsize=wide, NO_COLOR="")[0], tty, "NO_COLOR empty (unset)")
    t.eq(_on_terminal(t, ["report", "--color", "never", trace], winsize=wide)[0], plain, "--color never on a terminal")
    p = t.cli(["report", "--color", "sometimes", trace])
    t.eq((p.returncode, p.stderr.decode().strip()),
         (2, "leakshim report: --color takes auto, always or never, not 'sometimes'"), "bad --color")


def _check_fitted(t, text, plain, width, what):
    cols = lambda s: len(ANSI.sub("", s))  # noqa: E731 (code points: the report's characters are one column)
    wide = [ln for ln in text.splitlines() if cols(ln) > width]
    t.eq(wide, [], f"{what}: lines wider than {width}")
    # every frame keeps its whole location, and its function or the function's start
    frames = [ln for ln in plain.splitlines() if ln.startswith("    ") and LOCATION.search(ln)]
    fitted = [ANSI.sub("", ln) for ln in text.splitlines() if ln.startswith("    ") and LOCATION.search(ANSI.sub("", ln))]
    t.eq(len(fitted), len(frames), f"{what}: frame lines")
    for full, cut in zip(frames, fitted):
        t.eq(LOCATION.search(cut).group(1), LOCATION.search(full).group(1), f"{what}: location")
        name, short = full.split()[0], cut.split()[0]
        t.check(short == name or (short.endswith("\u2026") and name.startswith(short[:-1])),
                f"{what}: {short!r} for {name!r}")


def test_fitted_to_the_width(t):
    trace = _trace(t)
    plain, _ = _piped(t, ["report", trace])
    # room for the longest location and 10 columns of function name
    width = max(len(LOCATION.search(ln).group(1)) for ln in plain.splitlines()
                if ln.startswith("    ") and LOCATION.search(ln)) + 5 + 10
    text, _ = _on_terminal(t, ["report", trace], columns=width)
    _check_fitted(t, text, plain, width, f"COLUMNS={width}")
    t.check(re.search(r"^    remember_\u2026 ", ANSI.sub("", text), re.M),
            f"remember_session not cut to 10 columns: {lib.tail(text)}")
    text, _ = _on_terminal(t, ["report", "--color", "never", trace], winsize=width + 4)
    _check_fitted(t, text, plain, width + 4, f"a terminal {width + 4} wide")
    t.check("\x1b" not in text, "--color never")
    # a wide terminal changes nothing but the colours
    text, _ = _on_terminal(t, ["report", "--color", "never", trace], columns=500)
    t.eq(text, plain, "COLUMNS=500")
    # not a terminal: COLUMNS is ignored
    t.eq(_piped(t, ["report", trace], COLUMNS="40")[0], plain, "COLUMNS on a pipe")


def _varint(v):
    out = bytearray()
    while True:
        byte, v = v & 0x7F, v >> 7
        out.append(byte | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _record(kind, payload):
    return bytes([kind]) + _varint(len(payload)) + payload


def _churn_trace(path, pairs):
    """A trace in the writer's format (shim/FORMAT.md) of `pairs` malloc/free pairs from one
    stack, each block 16 bytes after the last; one 32-byte block is leaked first. Big enough
    that reading it takes most of a second."""
    process = _varint(4242) + _varint(1) + _varint(0) + _varint(64) + _varint(10) + b"/bin/churn"
    with open(path, "wb") as f:
        f.write(b"LEAKSHIM" + struct.pack("<HHI", 1, 0, 0))
        f.write(_record(1, process))                                     # PROCESS
        f.write(_record(3, _varint(0) + _varint(1) + _varint(0x401000 << 1)))  # STACK 0
        f.write(_record(4, _varint(0x10000 << 1) + _varint(32) + _varint(0)))  # the leak
        pair = _record(4, _varint(16 << 1) + _varint(32) + _varint(0)) + _record(5, _varint(0))
        chunk = pair * 100000
        for _ in range(pairs // 100000):
            f.write(chunk)
        f.write(_record(9, _varint(2 * pairs + 1)))                       # END


def test_progress_bar_on_a_terminal_only(t):
    trace = os.path.join(t.tmp, "churn.trace")
    _churn_trace(trace, 20_000_000)
    err, out = _on_terminal(t, ["report", "--format", "json", "-o", os.devnull, trace], which="stderr", winsize=90)
    bars = [b for b in err.split("\r") if b.startswith("leakshim report: reading")]
    t.require(bars, f"no progress bar on a terminal: {err!r}")
    t.check(all(re.search(r"\[[=> ]+\]\s+\d+%  [\d.]+ of [\d.]+ MiB\x1b\[K$", b) for b in bars),
            f"bar format: {bars[:2]!r}")
    t.check(all(len(ANSI.sub("", b)) < 90 for b in bars), "a bar wider than the terminal")
    t.check(err.endswith("\r\x1b[K"), f"the bar is not erased at the end: {err[-40:]!r}")
    t.check(len(bars) <= 10 * 30, f"{len(bars)} redraws")  # at most ~10 a second
    _, err = _piped(t, ["report", "--format", "json", "-o", os.devnull, trace])
    t.eq(err, "", "stderr when not a terminal")
    os.unlink(trace)
