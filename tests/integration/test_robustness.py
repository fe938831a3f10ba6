"""Staying out of the program's way under the shim: descriptors (closing every one, dup2 onto
high numbers, the trace held across changes of identity or root), signals (no handler of the shim, a sigwait thread, a SIGALRM handler that
allocates at high frequency, SIGCHLD without SA_RESTART), odd stacks (swapcontext coroutines,
longjmp out of deep recursion) and loader corner cases (ldd, running through ld.so, bad
LEAKSHIM_* values, allocation before libc's initializer, setuid programs). Leaks come from noinline functions of tests/programs/life_*.c with exact
sizes."""
import glob
import os
import subprocess
import re
import shutil
import signal
import stat
import time

import lib
from lib import Skip, Spawned, one_match, signame, tail


# --- 6. descriptors -----------------------------------------------------------------------------


def test_close_every_descriptor(t):
    """The program closes every descriptor 0..1023 (and close_range), then, 20 times over, closes
    them all again, opens 3 files (they get 0, 1 and 2) and writes 1000 lines into each while
    making 40 allocations per line: every file holds exactly what the program wrote (no trace
    bytes, no shim message), and the trace is whole and exact."""
    exe = t.build("life_fds.c")
    d = t.mkdir("files")
    rounds = 20
    r = t.run([exe, "closeall", d, str(rounds)], timeout=120)
    t.require(r.rc == 0, f"life_fds closeall: {signame(r.rc)} (10 + error code: 11 open, 12 write, 13 close)")
    want_names = sorted(f"f{rr}-{k}" for rr in range(rounds) for k in range(3))
    t.eq(sorted(os.listdir(d)), want_names, "files in the program's directory")
    bad = []
    for rr in range(rounds):
        for k in range(3):
            path = os.path.join(d, f"f{rr}-{k}")
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                got = f.read()
            want = "".join(f"{rr} {k} {line}\n" for line in range(1000)).encode()
            if got != want:
                bad.append(f"f{rr}-{k}: {len(got)} bytes, expected {len(want)}; starts {got[:40]!r}")
    t.check(not bad, f"{len(bad)} files differ from what the program wrote: {'; '.join(bad[:3])}")
    t.require(len(r.traces) == 1, f"{len(r.traces)} traces")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"fd_leak": (24 * rounds, rounds), "fd_churn": (0, 0)})


def test_shim_takes_no_low_descriptor(t):
    """The program closes every descriptor, then 50,000 times allocates and opens /dev/null,
    which must get 0 every time, while the writer opens files all along (the trace, every
    256 KiB; statm, every 10 ms here): the writer's descriptors live in a table of its own, so
    none of its opens takes a number from the program, even for a moment. The trace is exact."""
    exe = t.build("life_fds.c")
    r = t.run([exe, "lowest", "50000"], env={"LEAKSHIM_INTERVAL": "10ms"}, timeout=120)
    t.require(r.rc == 0, f"life_fds lowest: {signame(r.rc)} (11: open did not get descriptor 0)")
    t.require(len(r.traces) == 1, f"{len(r.traces)} traces")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"fd_leak": (24, 1), "fd_churn": (0, 0)})
    t.check(rep["summary"]["allocations"] >= 50000 * 200,
            f"{rep['summary']['allocations']} allocations")


def test_first_descriptor_is_the_program_s(t):
    """A program's first open() gets descriptor 3 under the shim as without it: nothing the shim
    or libunwind opens (libunwind makes a pipe of its own when it starts) stays at a low
    number."""
    exe = t.build("life_fds.c")
    plain = t.run([exe, "first"], traced=False, timeout=60)
    t.eq(plain.rc, 0, "exit status without the shim (11: open did not get descriptor 3)")
    r = t.run([exe, "first"], timeout=60)
    t.eq(r.rc, 0, "exit status under the shim (11: open did not get descriptor 3)")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"fd_leak": (24, 1), "fd_churn": (0, 0)})


def test_first_descriptor_under_a_low_limit(t):
    """Under a descriptor limit of 128 or less (RLIMIT_NOFILE 8, 16, 64, 100), where the shim's
    usual high numbers do not exist, the program's first open() still gets 3: libunwind's pipe
    goes to the top of the table, not to the lowest free numbers. The trace is whole and exact."""
    exe = t.build("life_fds.c")
    for limit in (8, 16, 64, 100):
        # the shell's own trace ends at its exec; the program's is the last of its pid
        r = t.run(["/bin/sh", "-c", f'ulimit -n {limit} && exec "$0" first', exe], timeout=60)
        t.check(r.rc == 0, f"limit {limit}: {signame(r.rc)} (11: open did not get descriptor 3)")
        t.check("leakshim:" not in r.err, f"limit {limit}: shim messages on stderr: {tail(r.stderr)}")
        if not t.check(len(r.traces) == 2, f"limit {limit}: traces {[os.path.basename(x) for x in r.traces]}"):
            continue
        rep = t.report(max(r.traces, key=len))
        t.expect_complete(rep, f"limit {limit}")
        t.expect_leaks(rep, {"fd_leak": (24, 1), "fd_churn": (0, 0)})


def test_writer_warning_reaches_the_program_stderr(t):
    """The writer thread, which has a table of descriptors of its own, still warns on the
    program's stderr (it copies the program's descriptor 2 to write there): a trace on a full
    file system (a 1 MiB tmpfs, which holds the ring file and a few extensions) stops with one
    message there, and the program runs on with its own output and exit status."""
    if os.geteuid() != 0:
        t.note("skipped: mounting a tmpfs needs root")
        return
    d = t.mkdir("tiny")
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], capture_output=True)
    if m.returncode != 0:
        t.note(f"skipped: cannot mount a tmpfs: {m.stderr.decode(errors='replace').strip()}")
        return
    try:
        exe = t.build("threads.c")
        r = t.run([exe], output=os.path.join(d, "t.trace"), timeout=120)
        t.eq(r.rc, 0, "exit status")
        t.eq(r.out, "kept 100 blocks\n", "the program's output")
        err = r.stderr.decode(errors="replace")
        t.check(err.count("leakshim: cannot extend trace file") == 1 and "No space left" in err,
                f"stderr: {tail(r.stderr)}")
    finally:
        subprocess.run(["umount", d], capture_output=True)


def test_shim_descriptors_are_high(t):
    """The descriptors the shim works on its files through (to map, extend and check the trace,
    hundreds of times here, uncompressed, and the ring file) are high (4000, or 64 below the
    limit when it is lower): a program that closes every descriptor and opens files gets the
    low ones back, never the shim's. open(2) takes the lowest free number, so each is opened
    low and moved up at once; strace -y names the file behind every descriptor of every call,
    and on the shim's files no call but that move (fcntl F_DUPFD_CLOEXEC) and the close of the
    low number uses a low descriptor. (A watcher of /proc/self/fd would see the low number in
    that instant, now and then.)"""
    import resource
    exe = t.build("fd_numbers.c")
    d = t.mkdir("fdtrace")
    log = os.path.join(d, "strace.log")
    r = t.run(["strace", "-f", "-qq", "-y", "-e", "trace=%desc", "-o", log,
               "-E", f"LD_PRELOAD={lib.SHIM}", exe], traced=False,
              env={"LEAKSHIM_COMPRESS": "0", "LEAKSHIM_OUTPUT": os.path.join(d, "t.%p")},
              timeout=180)
    t.require(r.rc == 0, f"strace fd_numbers: {signame(r.rc)} {tail(r.stderr)}")
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    high = 4000 if soft > 4096 else soft - 64
    low_uses, high_uses = [], 0
    with open(log, errors="replace") as f:
        for line in f:
            call = re.match(r"(?:\d+\s+)?(\w+)\((.*)\)\s+=", line)
            if not call:
                continue
            name, args = call.groups()
            for fd, path in re.findall(r"(\d+)<([^>]*)>", args):
                if not path.startswith(d) or path == log:
                    continue
                if int(fd) >= high:
                    high_uses += 1
                elif not (name == "close" or (name == "fcntl" and "F_DUPFD_CLOEXEC" in args)):
                    low_uses.append(line.strip())
    t.check(not low_uses, f"{len(low_uses)} calls on the shim's files at a low descriptor, "
                          f"e.g. {low_uses[:3]}")
    t.check(high_uses >= 200, f"{high_uses} calls on the shim's files seen (the test proves "
                              f"nothing with too few)")
    traces = [p for p in glob.glob(os.path.join(d, "t.*"))]
    t.require(len(traces) == 1, f"traces {traces}")
    rep = t.report(traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"fd_numbers_leak": (231, 3)})


def test_dup2_onto_high_descriptors(t):
    """dup2 onto descriptors 1000..1023 between bouts of heavy allocation: each still refers to its
    own file, which holds exactly the lines written; the trace is exact."""
    exe = t.build("life_fds.c")
    d = t.mkdir("files")
    r = t.run_ok([exe, "dup2", d], timeout=60)
    t.eq(r.out, "dup2 ok\n", "program output")
    for k in range(24):
        with open(os.path.join(d, f"g{k}"), "rb") as f:
            got = f.read()
        want = "".join(f"{k} {line}\n" for line in range(400)).encode()
        t.check(got == want, f"g{k}: {len(got)} bytes, expected {len(want)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"fd_leak": (72, 3), "fd_churn": (0, 0)})


DROP_CHURN = 300000  # about 950 KiB of trace after the change: three extensions of 256 KiB


def drop_run(t, args):
    """Runs life_drop ARGS untraced, then traced; requires the same exit status 0 and output,
    no word of the shim's, and no ring file left beside the traces. Returns the traced run."""
    if os.geteuid() != 0:
        raise Skip("needs root")
    exe = t.build("life_drop.c")
    plain = t.run([exe] + args, traced=False, timeout=60)
    r = t.run([exe] + args, timeout=60)
    t.require(r.rc == 0 and plain.rc == 0,
              f"{args[0]}: {signame(r.rc)} traced, {signame(plain.rc)} untraced; {tail(r.stderr)}")
    t.eq(r.out, plain.out, f"{args[0]}: output under the shim against without it")
    t.eq([line for line in r.err.splitlines() if line.startswith("leakshim:")], [],
         f"{args[0]}: the shim's messages")
    t.eq(sorted(os.listdir(r.trace_dir)), sorted(os.path.basename(x) for x in r.traces),
         f"{args[0]}: files beside the traces")
    return r


def expect_whole_after_change(t, what, trace, leaks):
    """The trace is complete and exact, and the writer extended it after the change."""
    size = os.path.getsize(trace)
    t.check(size > 3 * 256 * 1024, f"{what}: trace of {size} bytes, too short to have been "
            f"extended after the change")
    rep = t.report(trace)
    t.expect_complete(rep, what)
    t.expect_leaks(rep, leaks)
    summary = rep.get("summary", {})
    t.check(summary.get("allocations", 0) >= DROP_CHURN and summary.get("frees", 0) >= DROP_CHURN,
            f"{what}: {summary.get('allocations')} allocations and {summary.get('frees')} frees, "
            f"expected at least {DROP_CHURN} of each")


DROPPED = {"drop_leak_before": (128, 2), "drop_leak_after": (48, 3), "drop_churn": (0, 0)}


def test_identity_change_keeps_the_trace(t):
    """A program started by root that becomes nobody (setgid then setuid; setresgid then
    setresuid), or changes its root directory, keeps a whole trace (README, "What leakshim
    guarantees", Descriptors): the shim holds the trace open before the change and removes the
    ring file then, so the writer extends the trace three times after it (through the held
    descriptor: the trace is root's, mode 0600, and out of reach after a chroot), the trace
    ends complete and exact, and no ring file is left. The program's calls return what they
    return without the shim, with the same errno: EDOM, set before each, after a call that
    succeeds; EPERM for nobody's setuid(0) and setresuid(0,0,0); ENOENT for a chroot into a
    missing directory."""
    cases = [
        (["setuid"], "setgid 0 EDOM\nsetuid 0 EDOM\nsetuid -1 EPERM\ndone\n"),
        (["setresuid"], "setresgid 0 EDOM\nsetresuid 0 EDOM\nsetresuid -1 EPERM\ndone\n"),
        (["chroot", t.mkdir("jail")], "chroot -1 ENOENT\nchroot 0 EDOM\ndone\n"),
    ]
    for args, want in cases:
        r = drop_run(t, [args[0], str(DROP_CHURN)] + args[1:])
        t.eq(r.out, want, f"{args[0]}: program output")
        if t.check(len(r.traces) == 1, f"{args[0]}: traces {r.traces}"):
            expect_whole_after_change(t, args[0], r.traces[0], DROPPED)


def test_identity_change_in_a_forked_child(t):
    """A root server's forked child that becomes nobody at once, before any allocation of its
    own: its trace is created at that call, while the child may still create it (the traces'
    directory is root's), and held; both traces are complete and exact (the child's own leaks
    only), and no ring file is left."""
    r = drop_run(t, ["fork", str(DROP_CHURN)])
    t.eq(r.out, "child 0\ndone\n", "program output")
    t.require(len(r.traces) == 2, f"traces {r.traces}")
    parent, child = sorted(r.traces, key=os.path.getsize)
    rep = t.report(parent)
    t.expect_complete(rep, "parent")
    t.expect_leaks(rep, {"drop_leak_before": (128, 2), "drop_leak_after": (0, 0)})
    expect_whole_after_change(t, "child", child,
                              {"drop_leak_before": (0, 0), "drop_leak_after": (48, 3),
                               "drop_churn": (0, 0)})


def test_held_descriptor_replaced(t):
    """After a setuid (to root itself), the program finds the one descriptor open in the
    traces' directory (the shim's hold on its trace), puts a file of its own on that number and
    writes through it between bouts of allocation: the shim sees the number hold another file,
    opens the trace by its path instead, and never writes into the program's file; the trace is
    complete and exact."""
    if os.geteuid() != 0:
        raise Skip("needs root")
    exe = t.build("life_drop.c")
    d, traces = t.mkdir("own"), t.mkdir("replaced")
    r = t.run([exe, "replace", str(DROP_CHURN), traces, d], output=os.path.join(traces, "t.%p"),
              timeout=60)
    t.require(r.rc == 0, f"life_drop replace: {signame(r.rc)}; {tail(r.stderr)}")
    t.eq(r.out, "setuid 0 EDOM\nheld 1\ndone\n", "program output")
    t.eq(r.err, "", "stderr")
    with open(os.path.join(d, "own"), "rb") as f:
        t.eq(f.read(), "".join(f"own {i}\n" for i in range(10)).encode(), "the program's file")
    files = os.listdir(traces)
    t.require(len(files) == 1, f"files beside the trace: {files}")
    expect_whole_after_change(t, "replace", os.path.join(traces, files[0]), DROPPED)


# --- 7. signals ---------------------------------------------------------------------------------


def test_no_signal_handler_installed(t):
    """Every signal 1..31 has the same disposition and flags with and without the shim (SIG_DFL),
    so do the blocked masks of the main thread and of a new thread, and SigIgn/SigCgt."""
    exe = t.build("life_signals.c")
    plain = t.run([exe, "dispositions"], traced=False)
    t.require(plain.rc == 0, f"without the shim: {signame(plain.rc)}")
    r = t.run_ok([exe, "dispositions"])
    t.eq(r.out, plain.out, "dispositions, masks and SigIgn/SigCgt with the shim vs without")
    t.check("HANDLER" not in r.out, f"a signal has a handler under the shim: {tail(r.stdout, 1000)}")
    t.eq(len(re.findall(r"^signal \d+: DFL flags=0x0$|^signal \d+: DFL flags=0$", r.out, re.M)), 31,
         "signals 1..31 at SIG_DFL with no flags")


def test_sigwait_thread_receives_sigterm(t):
    """All threads of the program block SIGTERM but one that sigwait()s for it; kill(pid, SIGTERM)
    from outside reaches that thread (the shim's writer must not take it): the program stops its
    workers and exits 0 with exact leaks."""
    exe = t.build("life_signals.c")
    s = Spawned(t, [exe, "sigwait"])
    try:
        t.require(s.wait_for("ready\n", 30), f"no 'ready' from life_signals sigwait: {tail(s.out)}")
        time.sleep(0.1)
        s.p.send_signal(signal.SIGTERM)
        s.finish(30)
    finally:
        s.kill_now()
    t.require(s.rc == 0, f"{signame(s.rc)} after SIGTERM (the sigwait thread must take it); "
                         f"{tail(s.out)} {tail(s.err)}")
    t.check(b"clean exit after SIGTERM" in s.out, f"program output: {tail(s.out)}")
    t.require(len(s.traces) == 1, f"{len(s.traces)} traces")
    rep = t.report(s.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"sw_worker_leak": (96, 3), "sw_main_leak": (64, 1), "sig_churn": (0, 0)})


def _sigalrm_run(t, extra=()):
    """life_signals alarm for 2 s (with `extra` arguments): the report and the counts."""
    exe = t.build("life_signals.c")
    plain = t.run([exe, "alarm", "0.5", *extra], traced=False, timeout=30)
    t.require(plain.rc == 0, f"without the shim: {signame(plain.rc)} (the test's premise fails)")
    # 64 MiB: room for a few tenths of a second of the main loop's events, so that a writer
    # kept off the CPU that long on a busy machine never makes a handler's nested event find
    # the ring full (it would be counted as lost, by design)
    r = t.run_ok([exe, "alarm", "2", *extra], env={"LEAKSHIM_BUFFER": "64M"}, timeout=40)
    m = re.search(r"leaks=(\d+) alarms=(\d+) swapped=(\d+)", r.out)
    t.require(m, f"program output: {tail(r.stdout)}")
    leaks, alarms, swapped = (int(g) for g in m.groups())
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"pool_leak": (64 * (40000 - swapped), 40000 - swapped),
                         "handler_leak": (64 * swapped, swapped)})
    return rep, leaks, alarms


def test_sigalrm_handler_during_dlclose(t):
    """The same handler while main spends its time in dlclose, which the shim hooks (dlclose
    waits for the writer, under the shim's guard): the handler's frees and leaks that interrupt
    it are recorded too (they were dropped without a word: 16,000 false leaks in 2 s in one
    run). The plugin stays loaded, so that dlclose only counts references: a handler that
    allocates while its thread adds or removes a library waits for the loader's lock
    (README, signals)."""
    plugin = t.build("life_plugin_loop.c", shared=True)
    rep, leaks, alarms = _sigalrm_run(t, [plugin])
    t.check(alarms > 2000, f"only {alarms} SIGALRM handler runs in 2 s")


def test_sigalrm_handler_allocates(t):
    """A SIGALRM handler mallocs and frees every 100 us (setitimer), frees one of main's pool
    blocks and leaks one in its place, while the main thread runs malloc/free in a loop for 2 s:
    no deadlock, no crash, the handler ran thousands of times, and every leak is exact, the
    handler's too. A handler that interrupts a hook has its events recorded as nested ones
    (shim/record.h): without that, the frees it made of pool blocks were lost and the blocks
    reported as leaks. The ring is large enough here that no nested event waits for room (one
    that would is counted as lost instead). (The sizes keep glibc itself safe: the same
    program runs without the shim first.)"""
    rep, leaks, alarms = _sigalrm_run(t)
    t.note(f"sigalrm_handler_allocates: {alarms} handler runs, {leaks} leaks of the main thread")
    t.check(alarms > 2000, f"only {alarms} SIGALRM handler runs in 2 s")
    t.check(leaks > 0, "the main thread made no progress")
    # the handler's stacks go on through the signal frame into the code it interrupted
    mains = [s for s in rep["suspects"] if not lib.through(s, "handler_leak")]
    t.expect_leaks({"suspects": mains}, {"alarm_main_leak": (16 * leaks, leaks),
                                        "sig_churn": (0, 0)})


def test_sigchld_without_restart(t):
    """SIGCHLD without SA_RESTART arrives all the time (a thread forks children that exit at once)
    while the main thread allocates heavily: the trace is complete and exact."""
    exe = t.build("life_signals.c")
    r = t.run([exe, "sigchld", "1.5"], timeout=60)
    t.require(r.rc == 0, f"life_signals sigchld: {signame(r.rc)}; {tail(r.stderr)}")
    m = re.search(r"leaks=(\d+) children=(\d+) pid=(\d+)", r.out)
    t.require(m, f"program output: {tail(r.stdout)}")
    leaks, children, pid = (int(x) for x in m.groups())
    t.check(children > 100, f"only {children} children in 1.5 s")
    t.eq(len(re.findall(r"^progress \d+$", r.out, re.M)), leaks, "progress lines written (write retried on EINTR)")
    mine = [x for x in r.traces if os.path.basename(x) == f"t.{pid}"]
    t.require(mine, f"no trace t.{pid} among {len(r.traces)}")
    rep = t.report(mine[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"chld_leak": (24 * leaks, leaks), "sig_churn": (0, 0)})


# --- 10. odd stacks ------------------------------------------------------------------------------


def test_swapcontext_coroutines(t):
    """Coroutines on their own stacks (makecontext/swapcontext) allocate, free and leak inside the
    coroutine: exact counts, no crash, and the leak's stack starts in the coroutine's code."""
    exe = t.build("life_stacks.c")
    r = t.run_ok([exe, "coroutines"], timeout=60)
    t.eq(r.out, "coroutines done\n", "program output")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"co_leak": (1600, 40), "co_deep": (1600, 40), "coroutine": (1600, 40), "co_churn": (0, 0)})


def test_longjmp_out_of_recursion(t):
    """longjmp out of 300 levels of recursion that allocated at every level, 10 times; main frees
    the even levels: exact counts."""
    exe = t.build("life_stacks.c")
    r = t.run_ok([exe, "longjmp"], timeout=60)
    t.eq(r.out, "jumps done\n", "program output")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"deep_alloc": (24000, 1500), "descend": (24000, 1500)})


# --- 11. loader corner cases ----------------------------------------------------------------------


def _ldd_names(text):
    return sorted({line.split()[0] for line in text.splitlines() if line.strip()})


def test_ldd_under_shim(t):
    """LD_PRELOAD=libleakshim.so ldd /bin/true: exit 0, the usual lines (every library of the plain
    run), no message from the shim; whatever traces the shell left are valid."""
    plain = t.run(["ldd", "/bin/true"], traced=False, timeout=30)
    t.require(plain.rc == 0, f"ldd without the shim: {signame(plain.rc)}")
    r = t.run(["ldd", "/bin/true"], timeout=30)
    t.eq(r.rc, 0, "ldd exit status under the shim")
    missing = set(_ldd_names(plain.out)) - set(_ldd_names(r.out))
    t.check(not missing, f"ldd under the shim lacks {sorted(missing)}: {tail(r.stdout)}")
    t.check("leakshim:" not in r.err, f"shim messages on stderr: {tail(r.stderr)}")
    t.check("libleakshim.so" in r.out, f"the preloaded shim is not listed: {tail(r.stdout)}")
    for trace in r.traces:
        t.report(trace, allow_warning=True)


def test_run_through_dynamic_loader(t):
    """/lib64/ld-linux-x86-64.so.2 PROGRAM under the shim works, and its trace has exact leaks."""
    loader = "/lib64/ld-linux-x86-64.so.2"
    t.require(os.path.exists(loader), f"{loader} missing")
    exe = t.build("life_child.c")
    r = t.run_ok([loader, exe, "pid"], timeout=30)
    pid = int(one_match(t, r.out, r"life_child pid=(\d+)", "pid"))
    t.check(r.out.startswith("life_child hello\n"), f"program output: {tail(r.stdout)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.eq(rep["process"]["pid"], pid, "process.pid")
    t.expect_leaks(rep, {"child_prog_leak": (4321, 1), "child_prog_small": (300, 3), "child_prog_churn": (0, 0)})


def test_bad_setting_values(t):
    """LEAKSHIM_DEPTH=abc, LEAKSHIM_BUFFER=12Q, LEAKSHIM_DEPTH=0, LEAKSHIM_OUTPUT='': exactly one
    line on stderr, naming the variable; the program's output and status unchanged; the trace
    still written with the default (for OUTPUT, leakshim.%e.%p.trace in the working directory)."""
    exe = t.build("life_child.c")
    plain = t.run([exe, "status", "7"], traced=False)
    t.require(plain.rc == 7, f"without the shim: {signame(plain.rc)}")
    for var, value in (("LEAKSHIM_DEPTH", "abc"), ("LEAKSHIM_BUFFER", "12Q"), ("LEAKSHIM_DEPTH", "0"),
                       ("LEAKSHIM_OUTPUT", "")):
        what = f"{var}={value!r}"
        cwd = t.mkdir(f"cwd-{var}-{value or 'empty'}")
        if var == "LEAKSHIM_OUTPUT":
            r = t.run([exe, "status", "7"], output="", cwd=cwd)
            traces = sorted(glob.glob(os.path.join(cwd, "leakshim.life_child.*.trace")))
            t.check(sorted(os.listdir(cwd)) == [os.path.basename(x) for x in traces],
                    f"{what}: files in the working directory: {sorted(os.listdir(cwd))}")
        else:
            r = t.run([exe, "status", "7"], env={var: value}, cwd=cwd)
            traces = r.traces
        t.check(r.rc == 7, f"{what}: {signame(r.rc)}, expected exit status 7")
        t.check(r.stdout == plain.stdout, f"{what}: stdout {r.stdout!r}, without the shim {plain.stdout!r}")
        lines = r.err.splitlines()
        t.check(len(lines) == 1 and var in lines[0], f"{what}: stderr {r.err!r}, expected one line naming {var}")
        if not t.check(len(traces) == 1, f"{what}: {len(traces)} traces written"):
            continue
        rep = t.report(traces[0])
        t.expect_complete(rep, what)
        t.expect_leaks(rep, {"child_prog_leak": (4321, 1), "child_prog_small": (300, 3)})
        ss = [s for s in rep["suspects"] if s["stack"] and s["stack"][0].get("function") == "child_prog_leak"]
        if t.check(len(ss) == 1, f"{what}: {len(ss)} suspects start at child_prog_leak"):
            t.check(any(f.get("function") == "main" for f in ss[0]["stack"]),
                    f"{what}: the stack does not reach main (default depth 64 not used?)")


def test_bad_value_reported_once_across_failed_exec(t):
    """A bad LEAKSHIM_DEPTH is reported once per process, also when recording restarts in a new
    trace after failed execs (the settings are read once, at start)."""
    exe = t.build("life_exec.c")
    r = t.run([exe, "fail"], env={"LEAKSHIM_DEPTH": "abc"}, timeout=60)
    t.require(r.rc == 0, f"life_exec fail: {signame(r.rc)}; {tail(r.stderr)}")
    lines = [line for line in r.err.splitlines() if "LEAKSHIM_DEPTH" in line]
    t.eq(len(lines), 1, f"stderr lines naming LEAKSHIM_DEPTH ({r.err.strip()!r})")


def test_setuid_program_left_alone(t):
    """A setuid program (owned by nobody, run by root: a secure execution) is not traced: it
    runs as without the shim and leaves no trace file. Skipped where the file system ignores
    the setuid bit or the tests do not run as root."""
    if os.geteuid() != 0:
        raise Skip("needs root to make a setuid binary owned by nobody")
    exe = t.build("bad_input_prog.c")
    d = t.mkdir("setuid")
    os.chmod(d, 0o777)
    suid = os.path.join(d, "suid_prog")
    shutil.copyfile(exe, suid)
    os.chown(suid, 65534, 65534)
    os.chmod(suid, 0o4755)
    if not os.stat(suid).st_mode & stat.S_ISUID:
        raise Skip("the file system does not keep the setuid bit")
    r = t.run([suid], timeout=60)
    t.eq(r.rc, 0, "exit status of the setuid program")
    t.eq(r.traces, [], "traces written by the setuid program")
    t.eq(r.err, "", "stderr of the setuid program")


def test_allocation_before_libc_initialized(t):
    """A program whose DT_PREINIT_ARRAY function allocates and starts threads that allocate
    runs before libc's initializer has set `environ` (getenv finds nothing there): the shim,
    started by that first allocation, still reads every LEAKSHIM_* setting (from the initial
    environment). The trace goes to LEAKSHIM_OUTPUT (nothing in the working directory),
    LEAKSHIM_DEPTH holds (no stack deeper), a bad value is reported once; leaks exact, also
    when run through the dynamic loader."""
    exe = t.build("life_preinit.c")
    plain = t.run([exe], traced=False, timeout=30)
    t.require(plain.rc == 0, f"without the shim: {signame(plain.rc)}")
    t.require(plain.out == "environ was unset: 1\nthreads joined\n",
              f"the preinit function did not run before libc's initializer: {tail(plain.stdout)}")
    loader = "/lib64/ld-linux-x86-64.so.2"
    for how, argv in (("direct", [exe]), ("through ld.so", [loader, exe])):
        for depth in (3, 64):
            what = f"{how}, LEAKSHIM_DEPTH={depth}"
            cwd = t.mkdir(f"cwd-{how.replace(' ', '_')}-{depth}")
            env = {"LEAKSHIM_DEPTH": str(depth), "LEAKSHIM_BUFFER": "12Q"}
            r = t.run(argv, env=env, cwd=cwd, timeout=60)
            t.check(r.rc == 0, f"{what}: {signame(r.rc)}")
            t.check(r.stdout == plain.stdout, f"{what}: stdout {r.stdout!r}, without the shim {plain.stdout!r}")
            t.eq(r.err.count("LEAKSHIM_BUFFER"), 1, f"{what}: lines naming LEAKSHIM_BUFFER on stderr ({r.err!r})")
            t.eq(os.listdir(cwd), [], f"{what}: files in the working directory")
            if not t.check(len(r.traces) == 1, f"{what}: {len(r.traces)} traces in LEAKSHIM_OUTPUT's directory"):
                continue
            rep = t.report(r.traces[0])
            t.expect_complete(rep, what)
            t.expect_leaks(rep, {"preinit_leak": (176, 2), "preinit_thread_leak": (288, 4),
                                 "preinit_churn": (0, 0)})
            # inlined functions share their caller's address: a recorded frame is an address
            deepest = max(len({f["address"] for f in s["stack"]}) for s in rep["suspects"])
            if depth == 3:
                t.check(deepest <= 3, f"{what}: a stack of {deepest} recorded frames")
            else:
                t.check(deepest > 3, f"{what}: no stack deeper than {deepest} recorded frames")
