"""Process lifecycle under the shim: fork (also in a loop and while another thread allocates),
vfork/posix_spawn/system, every exec form and failed execs, every way to end (return, exit,
_exit, _Exit, abort, aborts inside libc, fatal signals, SIGKILL), thousands of short threads,
and dlopen/dlclose. Every leak comes from a noinline function of tests/programs/life_*.c with
an exact size; each test checks the exact numbers in each process's own trace."""
import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import lib
from lib import Fail, Spawned, leaked, marker_line, one_match, signame, tail

# --- local helpers -------------------------------------------------------------------------


def _by_name(traces):
    return {os.path.basename(x): x for x in traces}


def _report_raw(t, trace):
    """(exit status, JSON report or None, stderr) of `leakshim report --format json`."""
    p = t.cli(["report", "--format", "json", trace])
    rep = None
    if p.returncode == 0:
        try:
            rep = json.loads(p.stdout)
        except ValueError:
            rep = None
    return p.returncode, rep, p.stderr.decode(errors="replace")


def _reports(t, traces, allow_warning=False):
    """{trace: report} for many traces, one analyzer per core at a time. A trace whose report
    fails is recorded as a problem and left out of the result."""
    out = {}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
        futures = {tr: ex.submit(t.report, tr, allow_warning=allow_warning) for tr in traces}
    for tr, f in futures.items():
        try:
            out[tr] = f.result()
        except Fail as e:
            t.check(False, str(e))
    return out


def _leaked_over(reps, fn):
    """leaked() summed over several reports (the traces of one pid)."""
    got = [leaked(rep, fn) for rep in reps]
    return sum(b for b, _ in got), sum(n for _, n in got)


# --- 1. fork without exec ---------------------------------------------------------------------


def test_fork_child_keeps_own_books(t):
    """Parent and child each write their own trace, named by pid. The child's trace holds only
    what the child allocated after fork (its frees of inherited blocks are ignored, its realloc
    of one is a new block); the parent's trace is untouched by the child."""
    exe = t.build("life_fork.c")
    r = t.run([exe, "basic"], timeout=60)
    t.require(r.rc == 0, f"life_fork basic: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    parent = int(one_match(t, r.out, r"parent pid=(\d+)", "parent"))
    child = int(one_match(t, r.out, r"child pid=(\d+)\n", "child"))
    t.eq(int(one_match(t, r.out, r"status=(\d+)", "child status")), 0, "child's wait status")
    files = _by_name(r.traces)
    t.require(sorted(files) == sorted([f"t.{parent}", f"t.{child}"]),
              f"trace files {sorted(files)}, expected t.{parent} and t.{child}")
    reps = _reports(t, [files[f"t.{parent}"], files[f"t.{child}"]])
    t.require(len(reps) == 2, "both traces must be readable")
    prep, crep = reps[files[f"t.{parent}"]], reps[files[f"t.{child}"]]
    t.expect_complete(prep, "parent trace")
    t.expect_complete(crep, "child trace")
    t.eq(prep["process"]["pid"], parent, "parent trace: process.pid")
    t.eq(crep["process"]["pid"], child, "child trace: process.pid")
    t.eq(crep["process"].get("ppid"), parent, "child trace: process.ppid")
    t.expect_leaks(prep, {
        "parent_before_fork": (1000, 1),
        "inherited_block": (640, 10),     # the parent never frees them; the child's frees are not its own
        "parent_after_fork": (555, 1),
        "child_leak": (0, 0), "child_realloc": (0, 0), "child_churn": (0, 0),
    })
    t.expect_leaks(crep, {
        "child_leak": (999, 3),
        "child_realloc": (5000, 1),       # realloc of an inherited block: a new block of the child
        "child_churn": (0, 0),
        "parent_before_fork": (0, 0), "inherited_block": (0, 0), "parent_after_fork": (0, 0),
    })


def test_fork_loop_300_children(t):
    """300 children one after the other, ending by exit, _exit or return from main: 301 valid,
    complete traces, each child's with exactly its own leak, and the exact sum."""
    exe = t.build("life_fork.c")
    n = 300
    r = t.run([exe, "loop", str(n)], timeout=120)
    t.require(r.rc == 0, f"life_fork loop: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    children = {int(i): int(p) for i, p in re.findall(r"child (\d+) pid=(\d+)", r.out)}
    t.require(len(children) == n and "loop done" in r.out, f"{len(children)} children reported: {tail(r.stdout)}")
    t.eq(len(r.traces), n + 1, "number of trace files")
    reps = _reports(t, r.traces)
    by_pid = {}
    for tr, rep in reps.items():
        pid = rep["process"]["pid"]
        t.check(pid not in by_pid, f"two traces for pid {pid}")
        by_pid[pid] = (tr, rep)
        t.check(os.path.basename(tr) == f"t.{pid}", f"{os.path.basename(tr)} holds pid {pid}")
    parent_pids = set(by_pid) - set(children.values())
    t.require(len(parent_pids) == 1, f"traces of pids other than the children: {sorted(parent_pids)}")
    _, prep = by_pid[parent_pids.pop()]
    t.expect_complete(prep, "parent trace")
    t.expect_leaks(prep, {"parent_loop_leak": (77, 1), "child_loop_leak": (0, 0)})
    total = [0, 0]
    bad = []
    for i, pid in sorted(children.items()):
        if pid not in by_pid:
            bad.append(f"child {i} (pid {pid}): no trace")
            continue
        _, rep = by_pid[pid]
        got = leaked(rep, "child_loop_leak")
        total[0] += got[0]
        total[1] += got[1]
        if got != (100 + i, 1) or rep["process"]["complete"] is not True or rep["summary"]["lost_events"] != 0:
            bad.append(f"child {i} (pid {pid}): child_loop_leak {got}, complete {rep['process']['complete']}")
        if leaked(rep, "parent_loop_leak") != (0, 0):
            bad.append(f"child {i}: parent_loop_leak in its trace")
    t.check(not bad, f"{len(bad)} children wrong: {'; '.join(bad[:5])}")
    t.eq(tuple(total), (sum(100 + i for i in range(n)), n), "sum of child_loop_leak over all children")


def test_library_destructors_are_in_the_trace(t):
    """A needed library's destructor frees what its constructor allocated and leaks a little:
    the trace ends after every library's destructor (the shim's own runs among them, and ends
    the trace from an exit handler that runs once they all did), so the frees are there and
    the leak too, whether main returns or calls exit()."""
    lib_so = t.build("life_dtor_lib.c", shared=True, name="libdtor_lib.so")
    exe = t.build("life_dtor.c",
                  extra=["-Wl,--no-as-needed", lib_so, f"-Wl,-rpath,{os.path.dirname(lib_so)}"])
    for mode in ("return", "exit"):
        r = t.run_ok([exe, mode], timeout=30)
        rep = t.report(r.traces[0])
        t.expect_complete(rep, f"{mode}: trace")
        t.expect_leaks(rep, {"dtor_lib_blocks": (0, 0), "dtor_lib_leak": (51, 3),
                             "main_leak": (40, 1)})


def test_children_that_allocate_before_the_atfork_handler(t):
    """A forked child may allocate before the shim's atfork handler has reset its books: glibc's
    _Fork runs no handler at all, and another library's handler registered before the shim's
    runs first. Such a child must not write into the parent's ring (it shares the ring file's
    mapping): its first hook finds the fork sentinel cleared and starts the child's own trace.
    Both traces are exact, and the parent's has nothing of the child's."""
    lib_so = t.build("life_atfork_lib.c", shared=True, name="libatfork_first.so")
    plain = t.build("life_atfork.c")
    linked = t.build("life_atfork.c", name="life_atfork_linked",
                     extra=["-Wl,--no-as-needed", lib_so, f"-Wl,-rpath,{os.path.dirname(lib_so)}"])
    for exe, mode, child_fn, child_leak in [(plain, "raw", "child_first_leak", (5 << 20, 5)),
                                            (linked, "handler", "atfork_leak", (4 << 20, 4))]:
        r = t.run([exe, mode], timeout=60)
        t.require(r.rc == 0, f"life_atfork {mode}: {signame(r.rc)}; {tail(r.stderr)}")
        parent = int(one_match(t, r.out, r"parent pid=(\d+)", "parent"))
        child = int(one_match(t, r.out, r"child=(\d+)", "child"))
        t.eq(int(one_match(t, r.out, r"status=(\d+)", "status")), 0, f"{mode}: child's status")
        files = _by_name(r.traces)
        t.require(sorted(files) == sorted([f"t.{parent}", f"t.{child}"]),
                  f"{mode}: trace files {sorted(files)}, expected t.{parent} and t.{child}")
        reps = _reports(t, [files[f"t.{parent}"], files[f"t.{child}"]])
        prep, crep = reps[files[f"t.{parent}"]], reps[files[f"t.{child}"]]
        t.expect_complete(prep, f"{mode}: parent trace")
        t.expect_complete(crep, f"{mode}: child trace")
        t.expect_leaks(prep, {"parent_leak": (1000 + 7 * 2000, 8), child_fn: (0, 0)})
        t.expect_leaks(crep, {child_fn: child_leak, "parent_leak": (0, 0)})


def test_fork_while_thread_allocates(t):
    """200 forks while another thread churns malloc/free/realloc without pause: no child hangs
    (each must end within 10 s), each child's trace is complete with exactly its own leak, and
    the parent's trace stays exact."""
    exe = t.build("life_fork.c")
    n = 200
    r = t.run([exe, "hammer", str(n)], timeout=150)
    hangs = re.findall(r"HANG child (\d+)", r.out)
    t.require(not hangs, f"{len(hangs)} forked children hung (killed after 10 s), first: child {hangs[:1]}")
    t.require(r.rc == 0, f"life_fork hammer: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    children = {int(i): int(p) for i, p in re.findall(r"child (\d+) pid=(\d+)", r.out)}
    t.require(len(children) == n, f"{len(children)} children reported, expected {n}")
    reps = _reports(t, r.traces)
    by_pid = {rep["process"]["pid"]: rep for rep in reps.values()}
    parent = set(by_pid) - set(children.values())
    t.require(len(parent) == 1, f"traces of pids other than the children: {sorted(parent)}")
    prep = by_pid[parent.pop()]
    t.expect_complete(prep, "parent trace")
    t.expect_leaks(prep, {"parent_hammer_leak": (99, 1), "hammer": (0, 0), "child_hammer_leak": (0, 0)})
    bad = []
    for i, pid in sorted(children.items()):
        rep = by_pid.get(pid)
        if rep is None:
            bad.append(f"child {i} (pid {pid}): no trace")
            continue
        got = leaked(rep, "child_hammer_leak")
        if got != (96, 2) or rep["process"]["complete"] is not True or rep["summary"]["lost_events"] != 0:
            bad.append(f"child {i} (pid {pid}): child_hammer_leak {got}, complete {rep['process']['complete']}")
        if leaked(rep, "hammer") != (0, 0) or leaked(rep, "parent_hammer_leak") != (0, 0):
            bad.append(f"child {i}: the parent's blocks in its trace")
    t.check(not bad, f"{len(bad)} of {n} children wrong: {'; '.join(bad[:5])}")


# --- 2. vfork + exec, posix_spawn, system ---------------------------------------------------


CHILD_LEAKS = {"child_prog_leak": (4321, 1), "child_prog_small": (300, 3), "child_prog_churn": (0, 0)}


def test_vfork_exec(t):
    """vfork + execv of a program of ours, and vfork + a failing execv + _exit(127), while a
    thread churns: the parent's trace is complete and exact (the vfork children, which share
    its memory, neither finish nor write it); the exec'd child writes its own exact trace."""
    exe = t.build("life_fork.c")
    child_exe = t.build("life_child.c")
    r = t.run([exe, "vfork", child_exe], timeout=60)
    t.require(r.rc == 0, f"life_fork vfork: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    parent = int(one_match(t, r.out, r"parent pid=(\d+)", "parent"))
    child = int(one_match(t, r.out, r"vfork-exec pid=(\d+) status=0", "vfork-exec child"))
    t.eq(int(one_match(t, r.out, r"life_child pid=(\d+)", "exec'd child")), child, "pid printed by the exec'd child")
    one_match(t, r.out, r"vfork-fail pid=\d+ status=(127)", "vfork child whose exec failed (ENOENT, _exit 127)")
    files = _by_name(r.traces)
    t.require(sorted(files) == sorted([f"t.{parent}", f"t.{child}"]),
              f"trace files {sorted(files)}, expected t.{parent} and t.{child} (the vfork children that did "
              f"not exec must leave none)")
    reps = _reports(t, [files[f"t.{parent}"], files[f"t.{child}"]])
    prep, crep = reps.get(files[f"t.{parent}"]), reps.get(files[f"t.{child}"])
    if prep:
        t.expect_complete(prep, "parent trace")
        t.expect_leaks(prep, {"parent_spawn_leak": (1234, 1), "parent_after_spawn": (432, 1),
                              "hammer": (0, 0), "child_prog_leak": (0, 0)})
    if crep:
        t.expect_complete(crep, "child trace")
        t.eq(crep["process"]["pid"], child, "child trace: process.pid")
        t.expect_leaks(crep, CHILD_LEAKS)


def test_posix_spawn_and_system(t):
    """posix_spawn, posix_spawnp and system() of a program of ours, while a thread churns: the
    parent's trace is complete and exact; each spawned program (and the shell system() runs)
    writes its own valid, complete trace; the program's children have exact leaks."""
    exe = t.build("life_fork.c")
    child_exe = t.build("life_child.c")
    r = t.run([exe, "spawn", child_exe], timeout=60)
    t.require(r.rc == 0, f"life_fork spawn: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    parent = int(one_match(t, r.out, r"parent pid=(\d+)", "parent"))
    kids = [int(x) for x in re.findall(r"life_child pid=(\d+)", r.out)]
    t.eq(len(kids), 3, "life_child runs (posix_spawn, posix_spawnp, system)")
    t.check("system status=0" in r.out, f"system() status: {tail(r.stdout)}")
    reps = _reports(t, r.traces, allow_warning=True)  # /bin/sh has no debug info
    by_pid = {}
    for tr, rep in reps.items():
        by_pid.setdefault(rep["process"]["pid"], []).append((tr, rep))
        t.check(rep["process"]["complete"] is True, f"{os.path.basename(tr)} ({rep['process']['exe']}) is not complete")
    t.require(parent in by_pid, f"no trace for the parent {parent}")
    t.eq(len(by_pid[parent]), 1, "traces of the parent's pid")
    prep = by_pid[parent][0][1]
    t.expect_complete(prep, "parent trace")
    t.expect_leaks(prep, {"parent_spawn_leak": (1234, 1), "parent_after_spawn": (432, 1),
                          "hammer": (0, 0), "child_prog_leak": (0, 0)})
    for pid in kids:
        mine = [rep for _, rep in by_pid.get(pid, []) if os.path.basename(rep["process"]["exe"] or "") == "life_child"]
        if t.check(len(mine) == 1, f"life_child pid {pid}: {len(mine)} traces of life_child"):
            t.expect_leaks(mine[0], CHILD_LEAKS)


def _daemon_facts(path, timeout=15):
    """The lines the daemon wrote to `path`, once its last line "done" is there (None if never)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if text.endswith("done\n"):
                return text
        time.sleep(0.05)
    return None


def test_daemon(t):
    """daemon(3), with and without noclose: glibc's parent ends inside daemon with an internal
    _exit that no interposed symbol sees, yet its trace is complete and exact (its leaks
    only); the daemon (a forked child) writes its own complete trace with its own leaks only;
    no ring file is left behind; the daemon becomes what it becomes without the shim (working
    directory /, descriptors 0..2 on /dev/null unless noclose, a session leader). The daemon
    allocates only once its parent has exited: its trace still names that parent as its ppid
    (the process it was forked from, where getppid() then says 1)."""
    exe = t.build("life_daemon.c")
    for mode in ("close", "noclose"):
        plain_facts = os.path.join(t.tmp, f"plain-{mode}.txt")
        plain = t.run([exe, plain_facts, mode], traced=False, timeout=30)
        t.require(plain.rc == 0, f"{mode}: without the shim {signame(plain.rc)}")
        want = _daemon_facts(plain_facts)
        t.require(want, f"{mode}: the daemon never wrote its facts without the shim")
        facts = os.path.join(t.tmp, f"traced-{mode}.txt")
        r = t.run([exe, facts, mode], timeout=30)
        t.check(r.rc == 0, f"{mode}: {signame(r.rc)} under the shim; {tail(r.stderr)}")
        t.eq(_daemon_facts(facts), want, f"{mode}: what the daemon became under the shim")
        end = time.monotonic() + 15
        while time.monotonic() < end and (len(os.listdir(r.trace_dir)) != 2 or
                                          any(n.startswith(".") for n in os.listdir(r.trace_dir))):
            time.sleep(0.05)
        names = sorted(os.listdir(r.trace_dir))
        t.check(not [n for n in names if n.startswith(".")], f"{mode}: files left beside the traces: {names}")
        traces = sorted(os.path.join(r.trace_dir, n) for n in names if not n.startswith("."))
        if not t.check(len(traces) == 2, f"{mode}: traces {names}, expected the parent's and the daemon's"):
            continue
        reps = _reports(t, traces)
        if len(reps) != 2:
            continue
        parent, child = sorted(reps.values(), key=lambda rep: leaked(rep, "daemon_child_leak"))
        t.check(child["process"]["ppid"] == parent["process"]["pid"],
                f"{mode}: the daemon's ppid {child['process']['ppid']}, parent {parent['process']['pid']}")
        for who, rep, table in (("parent", parent, {"daemon_parent_leak": (60, 2), "daemon_child_leak": (0, 0)}),
                                ("daemon", child, {"daemon_parent_leak": (0, 0), "daemon_child_leak": (150, 3)})):
            t.expect_complete(rep, f"{mode}: the {who}'s trace")
            t.eq(rep["process"]["end"], "exit", f"{mode}: the {who}'s process.end")
            t.expect_leaks(rep, table)


# --- 3. exec ---------------------------------------------------------------------------------

BEFORE = {"leak_before_exec": (1111, 1), "leak_before_small": (150, 3), "leak_after_exec": (0, 0)}
AFTER = {"leak_after_exec": (2222, 1), "leak_before_exec": (0, 0), "leak_before_small": (0, 0)}


def _check_exec(t, mode):
    exe = t.build("life_exec.c")
    env = {"PATH": os.path.dirname(exe) + ":" + os.environ.get("PATH", "/usr/bin:/bin")}  # for execvp & co
    r = t.run([exe, mode], env=env, timeout=60)
    if not t.check(r.rc == 0, f"{mode}: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}"):
        return
    m1, m2 = re.search(r"before pid=(\d+)", r.out), re.search(r"after pid=(\d+)", r.out)
    if not t.check(m1 and m2 and m1.group(1) == m2.group(1), f"{mode}: pids before/after exec: {tail(r.stdout)}"):
        return
    pid = m1.group(1)
    files = _by_name(r.traces)
    if not t.check(sorted(files) == [f"t.{pid}", f"t.{pid}.1"], f"{mode}: trace files {sorted(files)}, expected t.{pid} and t.{pid}.1"):
        return
    for name, want in ((f"t.{pid}", BEFORE), (f"t.{pid}.1", AFTER)):
        rc, rep, err = _report_raw(t, files[name])
        if not t.check(rc == 0 and rep, f"{mode}: report of {name} rc={rc}: {tail(err)}"):
            continue
        t.check(rep["process"]["complete"] is True,
                f"{mode}: {name} is not complete (the old image's trace must be finished before exec): {tail(err)}")
        t.eq(rep["process"]["pid"], int(pid), f"{mode}: {name} process.pid")
        if name == f"t.{pid}":
            t.eq(rep["process"]["end"], "exec", f"{mode}: {name} process.end")
            with open(files[name], "rb") as f:
                data = f.read()
            # Space reserved for records and never written reads as zeros at the end of the file.
            t.check(not data.endswith(bytes(64)),
                    f"{mode}: {name} ends with zeros: the space reserved for more records was not given back before exec")
            t.check(not os.path.exists(os.path.join(os.path.dirname(files[name]), f".{name}.ring")),
                    f"{mode}: {name}'s ring file is still there after the exec")
        for fn, (b, n) in want.items():
            got = leaked(rep, fn)
            t.check(got == (b, n), f"{mode}: {name}: {fn}: {got[0]} B in {got[1]}, expected {b} B in {n}")


def test_exec_forms(t):
    """execv, execvp, execl, execlp, execle, execve, execvpe, fexecve of the program itself: two
    traces for the same pid, NAME with exactly the old image's leaks (complete), NAME.1 with
    exactly the new image's."""
    for mode in ("execv", "execvp", "execl", "execlp", "execle", "execve", "execvpe", "fexecve"):
        _check_exec(t, mode)


def test_exec_execveat(t):
    """execveat (glibc 2.34+), the remaining member of the exec family: the same guarantees."""
    _check_exec(t, "execveat")


def test_exec_while_thread_allocates(t):
    """execv while a second thread churns malloc/free: the old image's trace is complete with
    exactly its leaks, the new image's has its own."""
    _check_exec(t, "thread-execv")


def test_exec_failure_resumes_recording(t):
    """A failed execv (missing path) and a failed execvp (missing name) return -1 with ENOENT and
    the program goes on: every trace of that pid is valid, the last one is complete, and the
    leaks made before and after the failed execs are all in them exactly (whether recording goes
    on in the same trace or in a new one)."""
    exe = t.build("life_exec.c")
    r = t.run([exe, "fail"], timeout=60)
    t.require(r.rc == 0, f"life_exec fail: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    t.check("fail1 rc=-1 errno=ENOENT" in r.out, f"failed execv: {tail(r.stdout)}")
    t.check("fail2 rc=-1 errno=ENOENT" in r.out, f"failed execvp: {tail(r.stdout)}")
    pid = int(one_match(t, r.out, r"still running pid=(\d+)", "program after the failed execs"))
    files = _by_name(r.traces)
    ordered = sorted(files, key=lambda n: (len(n), n))  # t.PID, t.PID.1, t.PID.2, ...
    t.require(ordered and ordered[0] == f"t.{pid}", f"trace files {ordered}")
    reps = []
    for name in ordered:
        rc, rep, err = _report_raw(t, files[name])
        if t.check(rc == 0 and rep, f"{name} is not a valid trace: rc={rc}: {tail(err)}"):
            reps.append((name, rep))
    want = {"leak_before_exec": (1111, 1), "leak_before_small": (150, 3),
            "leak_after_fail": (3333, 1), "leak_after_fail2": (444, 1)}
    for fn, w in want.items():
        t.eq(_leaked_over([rep for _, rep in reps], fn), w, f"{fn} over all traces of pid {pid}")
    if reps:
        t.check(reps[-1][1]["process"]["complete"] is True, f"{reps[-1][0]} (the last trace) is not complete")


def test_exec_failure_while_thread_allocates(t):
    """20 failed execv while a second thread allocates without pause and leaks 8 B every 8th
    round: the program survives, every trace of its pid is valid and complete, and the thread's
    leaks over all of them are exactly what it made (none made while an exec was tried may be
    dropped silently)."""
    exe = t.build("life_exec.c")
    r = t.run([exe, "thread-fail"], timeout=60)
    t.require(r.rc == 0, f"life_exec thread-fail: {signame(r.rc)}; {tail(r.stdout)} {tail(r.stderr)}")
    n = int(one_match(t, r.out, r"thread leaks=(\d+)", "thread leaks"))
    reps = _reports(t, r.traces)
    t.eq(len(reps), len(r.traces), "valid traces")
    for tr, rep in reps.items():
        t.check(rep["process"]["complete"] is True and rep["summary"]["lost_events"] == 0,
                f"{os.path.basename(tr)}: complete {rep['process']['complete']}, lost {rep['summary']['lost_events']}")
    for fn, want in (("thread_fail_leak", (8 * n, n)), ("leak_before_exec", (1111, 1)), ("leak_after_fail", (3333, 1))):
        t.eq(_leaked_over(reps.values(), fn), want, f"{fn} over all {len(reps)} traces")


# --- 4. exit paths ---------------------------------------------------------------------------

EXIT_LEAKS = {"exit_leak": (120, 3), "exit_thread_leak": (500, 1), "exit_churn": (0, 0), "exit_double_freed": (0, 0)}
EXIT_MODES = [  # mode, status (negative: signal), complete
    ("return", 3, True), ("exit", 4, True), ("_exit", 5, True), ("_Exit", 6, True),
    ("thread-exit", 7, True), ("main-pthread-exit", 0, True), ("abort", -signal.SIGABRT, False),
    ("segv", -signal.SIGSEGV, False), ("term", -signal.SIGTERM, False),
]


def _check_exit(t, mode, status, complete):
    exe = t.build("life_exit.c")
    plain = t.run([exe, mode], traced=False, timeout=30)
    t.check(plain.rc == status, f"{mode}: without the shim {signame(plain.rc)}, expected {signame(status)}")
    r = t.run([exe, mode], timeout=30)
    t.check(r.rc == plain.rc, f"{mode}: {signame(r.rc)} under the shim, {signame(plain.rc)} without")
    t.check(r.stdout == plain.stdout, f"{mode}: stdout {r.stdout!r} under the shim, {plain.stdout!r} without")
    if not t.check(len(r.traces) == 1, f"{mode}: {len(r.traces)} traces"):
        return
    rc, rep, err = _report_raw(t, r.traces[0])
    if not t.check(rc == 0 and rep, f"{mode}: report rc={rc}: {tail(err)}"):
        return
    t.check(rep["process"]["complete"] is complete, f"{mode}: process.complete {rep['process']['complete']}, expected {complete}")
    name = os.path.basename(r.traces[0])
    if complete:
        t.check(name not in err, f"{mode}: the report warns about a complete trace: {tail(err)}")
    else:
        t.check("warning" in err and name in err, f"{mode}: no warning naming the incomplete trace: {err.strip()!r}")
    for fn, (b, n) in EXIT_LEAKS.items():
        got = leaked(rep, fn)
        t.check(got == (b, n), f"{mode}: {fn}: {got[0]} B in {got[1]}, expected {b} B in {n}")


def test_exit_paths(t):
    """return from main, exit, _exit, _Exit, exit from another thread, pthread_exit from main
    (the process ends with its last thread: the shim's writer thread must not count as one),
    abort, raise(SIGSEGV) and kill(getpid(), SIGTERM): the program's status or signal is kept,
    the leaks recorded before are exactly in the trace, complete for the first six; for the
    others the analyzer still reports (exit 0), with process.complete false and a warning."""
    for mode, status, complete in EXIT_MODES:
        _check_exit(t, mode, status, complete)


def test_exit_aborts_inside_libc(t):
    """A failed assert() and a double free that glibc detects both abort from inside libc (not
    through the program's call to abort): as with abort(), everything recorded before must be in
    the trace (marked incomplete), and the program still dies of SIGABRT."""
    _check_exit(t, "assert", -signal.SIGABRT, False)
    _check_exit(t, "double-free", -signal.SIGABRT, False)


# --- 5. SIGKILL ------------------------------------------------------------------------------


def _sigkill_after_ready(t, delay):
    exe = t.build("life_exit.c")
    s = Spawned(t, [exe, "ready"])
    try:
        t.require(s.wait_for("ready\n", 30), f"no 'ready' from life_exit: {tail(s.out)}")
        time.sleep(delay)
        s.p.send_signal(signal.SIGKILL)
        s.finish(20)
    finally:
        s.kill_now()
    t.eq(s.rc, -signal.SIGKILL, "termination")
    t.require(len(s.traces) == 1, f"{len(s.traces)} traces")
    rc, rep, err = _report_raw(t, s.traces[0])
    t.require(rc == 0 and rep, f"report rc={rc}: {tail(err)}")
    t.eq(rep["process"]["complete"], False, "process.complete")
    t.check("warning" in err and os.path.basename(s.traces[0]) in err, f"no warning on stderr: {err.strip()!r}")
    t.expect_leaks(rep, EXIT_LEAKS)


def test_sigkill_after_ready(t):
    """SIGKILL 300 ms after the program printed "ready" (after its last allocation): the trace
    holds exactly the leaks, the analyzer reports it (exit 0) with a warning and
    process.complete false."""
    _sigkill_after_ready(t, 0.3)


def test_killed_at_once_loses_nothing(t):
    """A process killed at any instant loses nothing recorded (README): raise(SIGSEGV) right after
    the last allocation, and SIGKILL as soon as "ready" is read, give the same exact leaks."""
    _check_exit(t, "segv-now", -signal.SIGSEGV, False)
    _sigkill_after_ready(t, 0)


def test_live_trace_within_100ms(t):
    """A trace followed while its process runs shows every event within 100 ms: 150 ms after
    "ready" (the last allocation), a copy of the trace alone (no ring file) holds exactly the
    leaks; the process is then killed and its own trace still reports them with its ring."""
    exe = t.build("life_exit.c")
    s = Spawned(t, [exe, "ready"])
    try:
        t.require(s.wait_for("ready\n", 30), f"no 'ready' from life_exit: {tail(s.out)}")
        time.sleep(0.15)
        t.require(len(s.traces) == 1, f"{len(s.traces)} traces while it runs")
        copy = os.path.join(t.mkdir("live"), "copy.trace")
        with open(s.traces[0], "rb") as src, open(copy, "wb") as dst:
            dst.write(src.read())
        s.p.send_signal(signal.SIGKILL)
        s.finish(20)
    finally:
        s.kill_now()
    rc, rep, err = _report_raw(t, copy)
    t.require(rc == 0 and rep, f"report of the live copy rc={rc}: {tail(err)}")
    t.eq(rep["summary"]["recovered_events"], 0, "recovered_events of the copy (it has no ring file)")
    t.expect_leaks(rep, EXIT_LEAKS)


# --- 8. threads ------------------------------------------------------------------------------


def test_5000_short_threads(t):
    """5000 threads, 4 at a time, each leaking 8 bytes: exact totals, complete trace, and a peak
    RSS (VmHWM) under the shim no more than 64 MiB above the untraced run's."""
    exe = t.build("life_threads.c")
    plain = t.run([exe, "5000", "4"], traced=False, timeout=60)
    t.require(plain.rc == 0, f"without the shim: {signame(plain.rc)}")
    r = t.run_ok([exe, "5000", "4"], timeout=120)
    t.eq(r.out.splitlines()[0] if r.out else "", "threads=5000", "program output")
    base = int(one_match(t, plain.out, r"VmHWM=(\d+)", "untraced VmHWM"))
    traced = int(one_match(t, r.out, r"VmHWM=(\d+)", "traced VmHWM"))
    t.note(f"5000_short_threads: VmHWM {traced} KiB under the shim, {base} KiB without")
    t.check(traced - base <= 64 * 1024, f"peak RSS {traced} KiB under the shim, {base} KiB without: more than 64 MiB above")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"thread_leak8": (40000, 5000), "thread_churn": (0, 0)})


# --- 9. dlopen / dlclose ------------------------------------------------------------------------


def _frame_of(t, rep, fn):
    """The first frame of the one suspect that starts at fn (None, and a problem, otherwise)."""
    ss = [s for s in rep["suspects"] if s["stack"] and s["stack"][0].get("function") == fn]
    firsts = [(s["leaked_bytes"], s["stack"][0].get("function"), os.path.basename(s["stack"][0].get("module") or ""))
              for s in rep["suspects"] if s["stack"]]
    if not t.check(len(ss) == 1, f"{len(ss)} suspects start at {fn}; (bytes, first function, module): {firsts}"):
        return None
    return ss[0]["stack"][0]


def test_dlclosed_plugin_named(t):
    """A plugin that leaks in plugin_leak and is dlclose'd before exit: the leak is reported with
    the plugin's function, file, line of the call and module path."""
    exe = t.build("life_dl.c")
    plugin = t.build("life_plugin.c", shared=True)
    r = t.run_ok([exe, "leak", plugin], timeout=60)
    t.check("unloaded" in r.out, f"program output: {tail(r.stdout)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"plugin_leak": (777, 1), "call_plugin": (777, 1)})
    f = _frame_of(t, rep, "plugin_leak")
    if f:
        t.check((f.get("file") or "").endswith("/life_plugin.c"), f"plugin_leak frame: file {f.get('file')!r}")
        t.eq(f.get("line"), marker_line("life_plugin.c", "/* PLUGIN-LEAK-CALL */"), "plugin_leak frame: line")
        t.eq(f.get("module"), os.path.realpath(plugin), "plugin_leak frame: module")


def _swap(t, first, second, rounds=1):
    """Runs `life_dl swap` with (plugin path, function) pairs; returns the report."""
    exe = t.build("life_dl.c")
    r = t.run_ok([exe, "swap", *first, *second, str(rounds)], timeout=60)
    m = re.search(r"base A=(\S+) B=(\S+)", r.out)
    t.require(m, f"program output: {tail(r.stdout)}")
    if m.group(1) != m.group(2):
        t.note(f"{t.name}: the second plugin loaded at {m.group(2)}, not at the first's {m.group(1)}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    return rep


def _leaks_by_module(rep, fn):
    """{module of fn's frame: (bytes, allocations)} over the suspects whose first frame is fn."""
    out = {}
    for s in rep["suspects"]:
        if s["stack"] and s["stack"][0].get("function") == fn:
            b, n = out.get(s["stack"][0].get("module"), (0, 0))
            out[s["stack"][0].get("module")] = (b + s["leaked_bytes"], n + s["leaked_allocations"])
    return out


def test_plugin_loaded_where_another_was(t):
    """Plugin A leaks in plugin_leak and is dlclose'd; plugin B, loaded afterwards (usually at
    A's address) and called from the same call site, leaks in plugin_b_leak: each leak is named
    with its own plugin's function, file, line and module."""
    a = t.build("life_plugin.c", shared=True)
    b = t.build("life_plugin_b.c", shared=True)
    rep = _swap(t, (a, "plugin_leak"), (b, "plugin_b_leak"))
    t.expect_leaks(rep, {"plugin_leak": (777, 1), "plugin_b_leak": (888, 1), "call_plugin": (777 + 888, 2)})
    fa = _frame_of(t, rep, "plugin_leak")
    if fa:
        t.eq(fa.get("module"), os.path.realpath(a), "plugin_leak frame: module")
        t.eq(fa.get("line"), marker_line("life_plugin.c", "/* PLUGIN-LEAK-CALL */"), "plugin_leak frame: line")
    fb = _frame_of(t, rep, "plugin_b_leak")
    if fb:
        t.eq(fb.get("module"), os.path.realpath(b), "plugin_b_leak frame: module")
        t.check((fb.get("file") or "").endswith("/life_plugin_b.c"), f"plugin_b_leak frame: file {fb.get('file')!r}")
        t.eq(fb.get("line"), marker_line("life_plugin_b.c", "/* PLUGIN-B-LEAK-CALL */"), "plugin_b_leak frame: line")


def test_plugin_copy_loaded_where_original_was(t):
    """The same plugin built into two files (as hot-reloading programs load fresh copies), loaded
    in turn three times each: each is dlclose'd before the other loads at its address and leaks
    through the very same return addresses. Each leak is reported with the module it was made
    in, and each module's is one suspect, however often the plugins took turns (the shim writes
    every stack again after each dlclose; stack_merge.h)."""
    a = t.build("life_plugin.c", shared=True)
    copy = t.build("life_plugin.c", shared=True, name="liblife_plugin_copy.so")
    rep = _swap(t, (a, "plugin_leak"), (copy, "plugin_leak"), rounds=3)
    t.expect_leaks(rep, {"plugin_leak": (3 * (777 + 888), 6)})
    t.eq(_leaks_by_module(rep, "plugin_leak"), {os.path.realpath(a): (3 * 777, 3),
                                                os.path.realpath(copy): (3 * 888, 3)},
         "plugin_leak's leaks by the module of its frame")
    t.eq(len([s for s in rep["suspects"] if lib.through(s, "plugin_leak")]), 2,
         "suspects through plugin_leak")


def test_dlopen_loop_while_allocating(t):
    """A thread dlopens, uses and dlcloses a plugin (whose constructor leaks 16 B) in a loop for
    2 s while 2 threads allocate without pause: no deadlock, exact counts for both. The shim
    writes every stack again after each dlclose; the threads' leak, whose frames stay in the
    same modules all along, is still one suspect (stack_merge.h), not one per unload."""
    exe = t.build("life_dl.c")
    plugin = t.build("life_plugin_loop.c", shared=True)
    r = t.run_ok([exe, "loop", plugin, "2"], timeout=60)
    m = re.search(r"loads=(\d+) leaks=(\d+)", r.out)
    t.require(m, f"program output: {tail(r.stdout)}")
    loads, leaks = int(m.group(1)), int(m.group(2))
    t.check(loads > 10 and leaks > 10, f"too little done in 2 s: loads={loads} leaks={leaks}")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"plugin_ctor_leak": (16 * loads, loads), "dl_thread_leak": (24 * leaks, leaks),
                         "plugin_work_alloc": (0, 0), "dl_churn": (0, 0)})
    thread_leaks = [s for s in rep["suspects"] if lib.through(s, "dl_thread_leak")]
    t.eq(len(thread_leaks), 1, "suspects through dl_thread_leak")


# --- tests/programs/lifecycle.c ------------------------------------------------------------------
# The project's own lifecycle program, checked against what its header comment promises.


def test_lifecycle_program_abort(t):
    """lifecycle abort: lc_leak's 321 B reach the trace although abort() follows at once."""
    exe = t.build("lifecycle.c")
    r = t.run([exe, "abort"], timeout=30)
    t.eq(r.rc, -signal.SIGABRT, "termination")
    t.require(len(r.traces) == 1, f"{len(r.traces)} traces")
    rc, rep, err = _report_raw(t, r.traces[0])
    t.require(rc == 0 and rep, f"report rc={rc}: {tail(err)}")
    t.eq(rep["process"]["complete"], False, "process.complete")
    t.expect_leaks(rep, {"lc_leak": (321, 1)})


def test_lifecycle_program_exec_fail(t):
    """lifecycle exec-fail: the program carries on after the failed execl; lc_before_exec (111 B)
    and lc_after_failed_exec (333 B) are recorded exactly in valid traces of its pid."""
    exe = t.build("lifecycle.c")
    r = t.run([exe, "exec-fail"], timeout=30)
    t.require(r.rc == 0, f"{signame(r.rc)}: {tail(r.stderr)}")
    t.eq(r.out, "exec failed, carried on\n", "program output")
    reps = _reports(t, r.traces).values()
    for fn, want in (("lc_before_exec", (111, 1)), ("lc_after_failed_exec", (333, 1))):
        t.eq(_leaked_over(reps, fn), want, f"{fn} over all traces")


def test_lifecycle_program_sigwait(t):
    """lifecycle sigwait: 200 process-directed SIGUSR1/SIGTERM all reach the sigwait thread."""
    exe = t.build("lifecycle.c")
    r = t.run_ok([exe, "sigwait"], timeout=60)
    t.eq(r.out, "SIGUSR1 taken 100, SIGTERM taken 100\n", "program output")
    t.expect_complete(t.report(r.traces[0]))


def test_lifecycle_program_handlers(t):
    """lifecycle handlers: no signal has a disposition other than SIG_DFL under the shim."""
    exe = t.build("lifecycle.c")
    r = t.run_ok([exe, "handlers"], timeout=30)
    t.eq(r.out, "", "signals with a disposition other than SIG_DFL")
    rep = t.report(r.traces[0])
    t.expect_complete(rep)
    t.expect_leaks(rep, {"lc_leak": (321, 1)})


def _run_group(t, argv, traced, timeout):
    """Runs argv in a process group of its own with its output in a file, and kills the whole
    group if it has not ended within `timeout`: a child left behind must not hold a pipe open.
    Returns (status or None on a hang, stdout, trace files)."""
    trace_dir = os.path.join(t.tmp, f"group{len(os.listdir(t.tmp))}")
    os.makedirs(trace_dir)
    extra = {"LD_PRELOAD": lib.SHIM, "LEAKSHIM_OUTPUT": os.path.join(trace_dir, "t.%p")} if traced else {}
    out_path = os.path.join(trace_dir, ".stdout")
    with open(out_path, "wb") as out:
        p = subprocess.Popen(argv, env=lib.clean_env(**extra), stdout=out, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    with open(out_path, "rb") as f:
        stdout = f.read()
    traces = sorted(os.path.join(trace_dir, n) for n in os.listdir(trace_dir) if not n.startswith("."))
    return rc, stdout, traces


def test_raw_clone_child(t):
    """A child made by clone(2) called directly (no atfork handler runs) ends, as it does
    without the shim, when its function returns (the exit system call of its only thread, not
    exit_group), with that function's status, even if it started and joined a thread of its
    own; the parent is not left waiting for it. Each process writes a complete trace with its
    own leaks only."""
    exe = t.build("life_clone.c")
    for mode in ("plain", "threads"):
        rc, plain_out, _ = _run_group(t, [exe, mode], traced=False, timeout=30)
        t.require(rc == 0 and plain_out == b"child exit 7\n", f"{mode}: without the shim: {rc} {plain_out!r}")
        rc, out, traces = _run_group(t, [exe, mode], traced=True, timeout=30)
        t.require(rc is not None, f"{mode}: under the shim the program did not end within 30 s "
                                  f"(stdout so far {out!r})")
        t.eq(rc, 0, f"{mode}: exit status under the shim")
        t.eq(out, plain_out, f"{mode}: stdout under the shim")
        t.require(len(traces) == 2, f"{mode}: expected 2 traces, found {traces}")
        reports = {}
        for tr in traces:
            rep = t.report(tr)
            t.expect_complete(rep, f"{mode}: {os.path.basename(tr)}")
            reports[os.path.basename(tr)] = rep
        parent = [r for r in reports.values() if any(lib.through(s, "parent_leak") for s in r["suspects"])]
        child = [r for r in reports.values() if any(lib.through(s, "child_leak") for s in r["suspects"])]
        t.require(len(parent) == 1 and len(child) == 1, f"{mode}: one trace each for parent and child")
        t.expect_leaks(parent[0], {"parent_leak": (77, 1)})
        t.expect_leaks(child[0], {"child_leak": (555, 1)})
