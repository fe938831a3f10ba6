"""Trace file naming: %p and %e, the default name, never overwriting (NAME.1, NAME.2), mode
0600, relative templates, and a new trace after exec."""
import os
import re
import stat

from lib import signame, tail


def _pid(t, r, prefix="pid="):
    m = re.search(re.escape(prefix) + r"(\d+)", r.out)
    t.require(m, f"the program did not print its pid: {tail(r.stdout)} {tail(r.stderr)}")
    return int(m.group(1))


def _only_files(d):
    return sorted(os.listdir(d))


def test_pid_and_exe_expand(t):
    exe = t.build("naming.c")
    d = t.mkdir("out")
    r = t.run([exe], output=os.path.join(d, "x.%e.%p.trace"))
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    pid = _pid(t, r)
    t.eq(_only_files(d), [f"x.naming.{pid}.trace"], "files written")
    path = os.path.join(d, f"x.naming.{pid}.trace")
    if os.path.exists(path):
        rep = t.report(path)
        t.eq(rep["process"]["pid"], pid, "process.pid")
        t.eq(os.path.basename(rep["process"]["exe"] or ""), "naming", "basename of process.exe")
        t.expect_leaks(rep, {"naming_leak": (123, 1)})


def test_percent_escape(t):
    exe = t.build("naming.c")
    d = t.mkdir("out")
    r = t.run([exe], output=os.path.join(d, "a%%p-%p"))
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    pid = _pid(t, r)
    t.eq(_only_files(d), [f"a%p-{pid}"], "files written for template a%%p-%p")


def test_default_name_in_working_directory(t):
    exe = t.build("naming.c")
    cwd = t.mkdir("cwd")
    r = t.run([exe], output=False, cwd=cwd)
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    pid = _pid(t, r)
    t.eq(_only_files(cwd), [f"leakshim.naming.{pid}.trace"], "files in the working directory")
    path = os.path.join(cwd, f"leakshim.naming.{pid}.trace")
    if os.path.exists(path):
        t.expect_leaks(t.report(path), {"naming_leak": (123, 1)})


def test_existing_file_untouched(t):
    exe = t.build("naming.c")
    d = t.mkdir("out")
    name = os.path.join(d, "fixed.trace")
    with open(name, "wb") as f:
        f.write(b"precious, not a trace\n")
    os.chmod(name, 0o644)
    before = os.stat(name)
    runs = []
    for i in range(2):
        r = t.run([exe], output=name)
        t.require(r.rc == 0, f"run {i}: {signame(r.rc)}: {tail(r.stderr)}")
        runs.append(_pid(t, r))
    with open(name, "rb") as f:
        t.eq(f.read(), b"precious, not a trace\n", "contents of the existing file")
    after = os.stat(name)
    t.eq((after.st_mtime_ns, after.st_size, after.st_ino, stat.S_IMODE(after.st_mode)),
         (before.st_mtime_ns, before.st_size, before.st_ino, 0o644), "existing file's mtime, size, inode, mode")
    t.eq(_only_files(d), ["fixed.trace", "fixed.trace.1", "fixed.trace.2"], "files written")
    for suffix, pid in ((".1", runs[0]), (".2", runs[1])):
        path = name + suffix
        if os.path.exists(path):
            rep = t.report(path)
            t.eq(rep["process"]["pid"], pid, f"process.pid in fixed.trace{suffix}")
            t.expect_leaks(rep, {"naming_leak": (123, 1)})


def test_existing_non_file_refused(t):
    """A template that names a device, a FIFO or a directory (LEAKSHIM_OUTPUT=/dev/null) is
    refused with one message, and nothing is written beside it (it used to write /dev/null.1,
    /dev/null.2, ...): the program runs as without the shim."""
    exe = t.build("naming.c")
    d = t.mkdir("out")
    fifo = os.path.join(d, "a.fifo")
    os.mkfifo(fifo)
    sub = t.mkdir("out/a.dir")
    before = sorted(os.listdir("/dev"))
    for path in ("/dev/null", fifo, sub):
        r = t.run([exe], output=path)
        t.require(r.rc == 0, f"{path}: {signame(r.rc)}: {tail(r.stderr)}")
        t.check(r.out.startswith("pid="), f"{path}: program output {tail(r.stdout)}")
        t.eq(r.err, f"leakshim: trace path {path} exists and is not a regular file; not tracing\n",
             f"{path}: standard error")
    t.eq(_only_files(d), ["a.dir", "a.fifo"], "files beside the FIFO and the directory")
    t.eq(sorted(os.listdir("/dev")), before, "files in /dev")


def test_mode_0600(t):
    exe = t.build("naming.c")
    for umask in (0o000, 0o022, 0o077):
        d = t.mkdir(f"umask{umask:03o}")
        r = t.run([exe], output=os.path.join(d, "t.%p"), umask=umask)
        t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
        files = _only_files(d)
        if t.check(len(files) == 1, f"umask {umask:03o}: files {files}"):
            mode = stat.S_IMODE(os.stat(os.path.join(d, files[0])).st_mode)
            t.check(mode == 0o600, f"umask {umask:03o}: trace mode {mode:04o}, expected 0600")


def test_relative_template_is_relative_to_start_directory(t):
    exe = t.build("naming.c")
    start = t.mkdir("start")
    os.makedirs(os.path.join(start, "rel"))
    elsewhere = t.mkdir("elsewhere")
    os.makedirs(os.path.join(elsewhere, "rel"))
    r = t.run([exe, "chdir", elsewhere], output="rel/t.%p", cwd=start)
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    pid = _pid(t, r)
    t.eq(_only_files(os.path.join(start, "rel")), [f"t.{pid}"], "files in START/rel")
    t.eq(_only_files(os.path.join(elsewhere, "rel")), [], "files in the directory the program moved to")


def test_exec_starts_new_trace(t):
    """exec keeps the pid: the new image's trace takes the next free name, and what the old
    image recorded before exec is in its own (complete or not, but readable) trace."""
    exe = t.build("naming.c")
    d = t.mkdir("out")
    r = t.run([exe, "exec"], output=os.path.join(d, "t.%p"))
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    pid = _pid(t, r)
    t.eq(_pid(t, r, "after exec pid="), pid, "pid after exec")
    files = _only_files(d)
    t.eq(files, [f"t.{pid}", f"t.{pid}.1"], "trace files")
    if files == [f"t.{pid}", f"t.{pid}.1"]:
        before = t.report(os.path.join(d, files[0]), allow_warning=True)
        after = t.report(os.path.join(d, files[1]))
        t.expect_leaks(before, {"leak_before_exec": (111, 1), "leak_after_exec": (0, 0)})
        t.expect_leaks(after, {"leak_after_exec": (222, 1), "leak_before_exec": (0, 0)})
        t.eq(after["process"]["complete"], True, "trace after exec: process.complete")
