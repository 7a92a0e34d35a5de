"""Issue #20, faults: a full disk, an unwritable folder, a file where a folder should be, a lost cluster.

A write the machine refuses is the user's to fix: one line naming the folder or file and the cause,
exit code 2, no traceback; nothing half-written is read back as a record, what finished stays, and
the same command once the cause is fixed resumes and writes the same bytes as a run never
interrupted. The faults are simulated at the write (so the tests run anywhere, as any user); where
the machine allows it (root, and tmpfs mounts permitted), two tests also fill a real small file
system and write to a real read-only one. Root ignores permissions, so as root EACCES is simulated
(every file created in the folder refused); as another user the folder is chmod 0500. A Dask
scheduler killed mid-run is reported within the cluster timeout, with the records that finished
kept and no process of loyalsim's left.
"""
import errno
import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, invoke
from test_hardening import GOOD, one_line, write

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0  # root ignores permissions: EACCES is simulated then
SERIAL = ("--backend", "serial")
REPS = ("-r", "6")  # 6 replications, 2 arms: 12 records, so a failure after 5 leaves some done and some not


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """One scenario file for every test (summary.json names the file, so the bytes compared share it)."""
    return write(tmp_path_factory.mktemp("scenario") / "s.yaml", GOOD)


def records(store: Path):
    return sorted((store / "records").glob("*/*.parquet"))


def leftovers(folder: Path):
    """Temporary files a write left behind (there must be none)."""
    return sorted(p for p in folder.rglob("*") if p.name.startswith(".") and ".tmp" in p.name)


def same_files(a: Path, b: Path, names):
    for name in names:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def refuse_writes_after(monkeypatch, k, code=errno.ENOSPC):
    """The record writer (pyarrow's write_table) writes ``k`` files, then leaves half a file and fails with
    ``code``, as a file system that fills up (or turns read-only) mid-run does."""
    import pyarrow.parquet as pq
    real = pq.write_table
    calls = {"n": 0}

    def write_table(table, where, *args, **kwargs):
        if calls["n"] >= k:
            Path(where).write_bytes(b"PAR1" + b"\0" * 64)  # the half a file a full disk leaves
            raise OSError(code, os.strerror(code))
        calls["n"] += 1
        return real(table, where, *args, **kwargs)
    monkeypatch.setattr(pq, "write_table", write_table)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, scenario):
    """The same run, never interrupted: the bytes every resumed run must give."""
    folder = tmp_path_factory.mktemp("reference")
    r = invoke("run", scenario, *REPS, *SERIAL, "--out", folder / "out", "--no-plots")
    assert r.returncode == 0, r.stderr
    return folder / "out"


OUTPUTS = ("summary.json", "monthly.csv", "scenario.resolved.yaml", "cost_lines.csv", "assumptions.json")


# =========================================================================== 1. the disk fills up mid-run

@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "permission denied")])
def test_a_store_that_cannot_take_a_record_stops_in_one_line_and_resumes_to_the_same_bytes(
        tmp_path, scenario, monkeypatch, uninterrupted, code, words):
    out = tmp_path / "out"
    refuse_writes_after(monkeypatch, 5, code)
    line = one_line(invoke("run", scenario, *REPS, *SERIAL, "--out", out, "--no-plots"), out / "store", words,
                    "run the same command again")
    assert "kept" in line
    kept = records(out / "store")
    assert len(kept) == 5 and not leftovers(out)  # the half-written sixth is gone, not filed as a record
    assert not (out / "summary.json").exists()   # no summary of a run that did not finish
    from sim.store import ResultStore
    st = ResultStore(out / "store")
    assert all(st.get(p.stem) is not None for p in kept) and not st.rejected  # what finished is whole

    monkeypatch.undo()  # the space is back
    r = invoke("run", scenario, *REPS, *SERIAL, "--out", out, "--no-plots")
    assert r.returncode == 0, r.stderr
    same_files(out, uninterrupted, OUTPUTS)
    assert [p.name for p in records(out / "store")] == [p.name for p in records(uninterrupted / "store")]
    for p in records(out / "store"):
        assert filecmp.cmp(p, uninterrupted / "store" / p.relative_to(out / "store"), shallow=False)


def test_a_full_disk_while_writing_the_outputs_leaves_no_half_file_and_resumes(tmp_path, scenario, monkeypatch,
                                                                                uninterrupted):
    """The simulation finished and is in the store; summary.json cannot be written: one line, no half
    summary.json, and the rerun (which computes nothing again) writes the same bytes."""
    out = tmp_path / "out"
    real = Path.write_text

    def write_text(self, text, *args, **kwargs):
        if self.name.startswith(".summary.json"):
            real(self, text[:10], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, text, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", write_text)
    one_line(invoke("run", scenario, *REPS, *SERIAL, "--out", out, "--no-plots"), out / "summary.json",
             "no space left")
    assert not (out / "summary.json").exists() and not leftovers(out)
    assert len(records(out / "store")) == 12  # every replication is kept
    monkeypatch.undo()
    import sim.runner
    computed = []
    real_simulate = sim.runner.simulate
    monkeypatch.setattr(sim.runner, "simulate", lambda unit: computed.append(unit) or real_simulate(unit))
    r = invoke("run", scenario, *REPS, *SERIAL, "--out", out, "--no-plots")
    assert r.returncode == 0, r.stderr
    assert computed == []  # nothing simulated again
    same_files(out, uninterrupted, OUTPUTS)


@pytest.mark.parametrize("command, extra, table", [
    ("sweep", ("--vary", "programme.points.point_value=0.1,0.2,0.3"), "sweep.parquet"),
    ("psa", ("--draws", "3", "--no-tornado"), "draws.parquet"),
])
def test_a_study_whose_store_fills_up_resumes_to_the_same_table(tmp_path, scenario, monkeypatch, command, extra, table):
    argv = (command, scenario, *extra, "-r", "2", *SERIAL)
    assert invoke(*argv, "--out", tmp_path / "whole").returncode == 0
    refuse_writes_after(monkeypatch, 3)
    one_line(invoke(*argv, "--out", tmp_path / "out"), tmp_path / "out" / "store", "no space left")
    assert len(records(tmp_path / "out" / "store")) == 3 and not leftovers(tmp_path / "out")
    monkeypatch.undo()
    r = invoke(*argv, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    same_files(tmp_path / "out", tmp_path / "whole", [table, "summary.json"])


def full_disk_at(monkeypatch, name):
    """Path.write_text fails with ENOSPC, after half the text, for files whose name starts with ``name``."""
    real = Path.write_text

    def write_text(self, text, *args, **kwargs):
        if self.name.lstrip(".").startswith(name):
            real(self, text[: len(text) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, text, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", write_text)


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_a_full_disk_under_optimise_out_is_one_line_and_the_rerun_finishes(tmp_path, scenario, monkeypatch):
    """optimise writes its own tables (sim.studies.optimise); a refused write there is caught by the
    command line's last resort: one line naming --out DIR and the cause."""
    out = tmp_path / "out"
    argv = ("optimise", scenario, "--vary", "programme.points.point_value=0.1:0.2", "--budget", "2", "-r", "1",
            *SERIAL, "--initial", "2", "--confirm", "2", "--max-replications", "4", "--finalists", "2", "--out", out)
    full_disk_at(monkeypatch, "summary.json")
    one_line(invoke(*argv), out, "no space left", "run the same command again")
    monkeypatch.undo()
    r = invoke(*argv)
    assert r.returncode == 0, r.stderr
    assert (out / "summary.json").exists()


def test_a_full_disk_under_calibrate_out_is_one_line(tmp_path, monkeypatch):
    from test_hardening import cdnow_log
    log = write(tmp_path / "log.csv", cdnow_log().to_csv(index=False))
    out = tmp_path / "population.yaml"
    full_disk_at(monkeypatch, "population")
    one_line(invoke("calibrate", log, "--out", out), out, "o space left")


def test_a_full_html_report_write_is_one_line_and_leaves_no_half_page(tmp_path, scenario, monkeypatch):
    real = Path.write_text

    def write_text(self, text, *args, **kwargs):
        if self.name.startswith(".r.html"):
            real(self, text[:100], *args, **kwargs)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, text, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", write_text)
    html = tmp_path / "r.html"
    one_line(invoke("run", scenario, "-r", "1", *SERIAL, "--html", html), "--html", html, "no space left")
    assert not html.exists() and not leftovers(tmp_path)


def test_a_real_small_file_system_fills_up_and_the_rerun_elsewhere_matches(tmp_path, scenario, uninterrupted):
    """Where the machine allows it (root, tmpfs mounts permitted): a 256 kB tmpfs takes part of the
    store, then the disk is really full (no simulation). The kept records are copied to a folder with
    room (the space is freed), and the same command there finishes with the same bytes."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not ROOT_USER or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                                       capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root and a machine that allows it; the simulated tests cover it")
    try:
        ballast = mnt / "ballast"
        ballast.write_bytes(b"\0" * (256 * 1024 - 40 * 1024))  # leave room for a few records only
        r = invoke("run", scenario, *REPS, *SERIAL, "--store", mnt / "store")
        one_line(r, mnt / "store", "no space left")
        kept = records(mnt / "store")
        assert 0 < len(kept) < 12 and not leftovers(mnt)
        import shutil
        shutil.copytree(mnt / "store", tmp_path / "store")
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    r = invoke("run", scenario, *REPS, *SERIAL, "--store", tmp_path / "store", "--out", tmp_path / "out",
               "--no-plots")
    assert r.returncode == 0, r.stderr
    same_files(tmp_path / "out", uninterrupted, OUTPUTS)


# =========================================================================== 2. folders that cannot be written

@pytest.fixture
def unwritable(tmp_path, monkeypatch):
    """A folder this user cannot write: chmod 0500 as a normal user; as root (who ignores permissions)
    every file created in it is refused with EACCES, as the kernel would for a normal user."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if not ROOT_USER:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    import builtins
    real_open, real_mkdir, real_builtin_open = os.open, os.mkdir, builtins.open

    def inside(path):
        try:
            return Path(os.fspath(path)).resolve().is_relative_to(folder.resolve())
        except TypeError:
            return False

    def refuse(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path) and Path(os.fspath(path)).resolve() != folder.resolve():
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def builtin_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+") and inside(file):
            refuse(file)
        return real_builtin_open(file, mode, *args, **kwargs)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(builtins, "open", builtin_open)
    import io
    monkeypatch.setattr(io, "open", builtin_open)  # what pathlib opens files with
    yield folder


def tiny_calls(scenario):
    """Every command that writes, at the smallest size, as (command..., option) without the target."""
    return {
        "run": ("run", scenario, "-r", "1", *SERIAL),
        "compare": ("compare", scenario, scenario, "-r", "1", *SERIAL),
        "sweep": ("sweep", scenario, "--vary", "programme.points.point_value=0.1,0.2", "-r", "1", *SERIAL),
        "psa": ("psa", scenario, "--draws", "2", "--no-tornado", "-r", "1", *SERIAL),
        "pilot": ("pilot", scenario, "--set", "horizon_days=90", "--members", "50", "--control", "50", "--months", "1",
                  "--no-evsi",
                  "--pilot-replications", "1", *SERIAL),
        "optimise": ("optimise", scenario, "--vary", "programme.points.point_value=0.1:0.2", "--budget", "2",
                     "-r", "1", *SERIAL),
    }


COMMANDS = ("run", "compare", "sweep", "psa", "pilot", "optimise")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("option", ["--out", "--store", "--html"])
def test_an_unwritable_folder_is_refused_before_any_work(tmp_path, scenario, unwritable, monkeypatch, command,
                                                          option):
    if command == "pilot" and option == "--html":
        pytest.skip("pilot writes no HTML report")
    import sim.runner
    monkeypatch.setattr(sim.runner, "simulate", lambda unit: pytest.fail("simulated before refusing the folder"))
    target = unwritable / ("r.html" if option == "--html" else "out")
    one_line(invoke(*tiny_calls(scenario)[command], option, target), option, unwritable, "permission denied")


def test_a_real_read_only_file_system_is_refused_before_any_work(tmp_path, scenario):
    """Where the machine allows it (root, tmpfs mounts permitted): a read-only mount, for real."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if not ROOT_USER or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mnt)],
                                       capture_output=True).returncode != 0:
        pytest.skip("mounting a read-only tmpfs needs root and a machine that allows it; the simulated tests cover it")
    try:
        for option, target in (("--out", mnt / "out"), ("--store", mnt), ("--html", mnt / "r.html")):
            one_line(invoke("run", scenario, "-r", "1", *SERIAL, option, target), option, mnt, "read-only file system")
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("option", ["--out", "--store"])
def test_a_file_where_the_folder_should_be_is_refused(tmp_path, scenario, command, option):
    target = write(tmp_path / "taken", "a file\n")
    one_line(invoke(*tiny_calls(scenario)[command], option, target), option, target, "not a folder")
    assert target.read_text() == "a file\n"


def test_a_path_through_a_file_is_refused(tmp_path, scenario):
    target = write(tmp_path / "taken", "a file\n") / "out"
    one_line(invoke("run", scenario, "-r", "1", *SERIAL, "--out", target), "--out", target, "not a folder")
    one_line(invoke("run", scenario, "-r", "1", *SERIAL, "--html", target / "r.html"), "--html", "does not exist")


def test_report_into_an_unwritable_folder_is_one_line(tmp_path, scenario, unwritable):
    out = tmp_path / "saved"
    assert invoke("run", scenario, "-r", "1", *SERIAL, "--out", out, "--no-plots").returncode == 0
    one_line(invoke("report", out, "--html", unwritable / "r.html"), "--html", unwritable, "permission denied")


def test_calibrate_out_into_an_unwritable_folder_is_one_line(tmp_path, unwritable):
    from test_hardening import cdnow_log
    log = write(tmp_path / "log.csv", cdnow_log().to_csv(index=False))
    one_line(invoke("calibrate", log, "--out", unwritable / "population.yaml"), unwritable, "ermission denied")


def test_calibrate_out_onto_a_folder_is_one_line(tmp_path):
    from test_hardening import cdnow_log
    log = write(tmp_path / "log.csv", cdnow_log().to_csv(index=False))
    folder = tmp_path / "a_folder"
    folder.mkdir()
    one_line(invoke("calibrate", log, "--out", folder), folder)


# =========================================================================== 3. a lost Dask cluster

class Cluster:
    """A Dask scheduler and one worker as separate processes, on ports the OS picks; stopped on exit."""

    def __init__(self, folder: Path, nanny=True):
        import json
        self.folder, self.nanny, self.procs = folder, nanny, []
        self.log = open(folder / "dask.log", "a")
        info = folder / "scheduler.json"
        info.unlink(missing_ok=True)
        self.scheduler = self._start("scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info))
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        self.worker = self._start("worker", self.address, "--nthreads", "1", "--no-dashboard",
                                  *(() if nanny else ("--no-nanny",)))

    def _start(self, what, *args):
        p = subprocess.Popen([sys.executable, "-m", f"distributed.cli.dask_{what}", *args], cwd=ROOT, stdout=self.log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import signal
        for p in self.procs:  # each started in its own session: its group is it and its children (a nanny's worker)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
        self.log.close()


def loyalsim_against(address, scenario, store, bound, replications=10):
    """`loyalsim run` against an existing cluster, as a user runs it (a subprocess)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LOYALSIM_CLUSTER_TIMEOUT=str(bound))
    args = [sys.executable, "-X", "faulthandler", "-m", "sim", "run", str(scenario), "-r", str(replications), "--set",
            "customers.initial=2000", "--set", "horizon_days=365", "--set", "customers.history_days=365", "--store",
            str(store), "--json"]
    run = subprocess.Popen([*args, "--scheduler", address], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    return run, args, env


def wait_for_records(run, store, n, timeout=120):
    """Until ``n`` records are in the store; returns the pids of the run's children seen meanwhile."""
    import psutil
    seen, deadline = set(), time.monotonic() + timeout
    while len(records(store)) < n and run.poll() is None and time.monotonic() < deadline:
        try:
            seen |= {c.pid for c in psutil.Process(run.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    assert run.poll() is None, ("the run ended before the cluster was lost", run.communicate())
    return seen


def stopped_in_one_line(run, bound, seen, *words):
    """The run ends within the bound (and some seconds for Python to wind down on a busy machine), in one
    line holding every word, exit code 2, and leaves no process behind."""
    import psutil
    lost = time.monotonic()
    try:
        _, err = run.communicate(timeout=bound + 60)
    except subprocess.TimeoutExpired:  # it hangs: its threads' stacks (faulthandler) say where
        import signal
        run.send_signal(signal.SIGABRT)
        pytest.fail(f"still running {bound + 60} s after the cluster was lost:\n{run.communicate()[1][-6000:]}")
    took = time.monotonic() - lost
    assert run.returncode == 2, (run.returncode, err[-3000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    assert all(str(w) in lines[0] for w in words), (words, lines[0])
    assert took < bound + 10, took
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in seen)
    return took


@pytest.mark.slow
def test_a_scheduler_killed_mid_run_is_reported_within_the_bound_and_the_rerun_resumes(tmp_path, scenario):
    """A scheduler and one worker as separate processes (ports from the OS); loyalsim runs against
    them, the scheduler is killed once some records are stored: loyalsim ends within the cluster
    timeout with one line naming the address, keeps the records, leaves no process of its own; a
    rerun against a new live cluster resumes and gives the same bytes as a serial run."""
    bound, store = 5, tmp_path / "store"
    with Cluster(tmp_path) as cluster:
        run, args, env = loyalsim_against(cluster.address, scenario, store, bound)
        seen = wait_for_records(run, store, 4)
        cluster.scheduler.kill()
        took = stopped_in_one_line(run, bound, seen, cluster.address, "went away", store, "run the same command again")
    kept = records(store)
    assert 4 <= len(kept) < 20
    print(f"stopped {took:.1f} s after the scheduler was killed (bound {bound} s); {len(kept)} records kept")
    with Cluster(tmp_path) as cluster:  # a live cluster again: the rerun computes only what is missing
        again = subprocess.run([*args, "--scheduler", cluster.address], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    serial = subprocess.run([*args[:args.index("--store")], "--backend", "serial", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert serial.returncode == 0 and serial.stdout == again.stdout


@pytest.mark.slow
def test_a_cluster_whose_only_worker_dies_stops_after_the_timeout(tmp_path, scenario):
    """The scheduler stays, its one worker (no nanny to restart it) is killed: the run is not left
    waiting for a worker that never comes; it stops after the cluster timeout, naming the address."""
    bound, store = 3, tmp_path / "store"
    with Cluster(tmp_path, nanny=False) as cluster:
        run, _, _ = loyalsim_against(cluster.address, scenario, store, bound)
        seen = wait_for_records(run, store, 2)
        cluster.worker.kill()
        took = stopped_in_one_line(run, bound, seen, cluster.address, "has no worker left", store)
    assert took >= bound - 1  # it did wait for a worker to come back, for about the bound (its 1 s poll)
    assert 2 <= len(records(store)) < 20
    print(f"stopped {took:.1f} s after the last worker was killed (bound {bound} s)")


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
@pytest.mark.parametrize("finished", [False, True])
def test_a_cluster_without_workers_is_not_waited_on(tmp_path, monkeypatch, finished):
    """A scheduler whose workers are all gone: the run stops after the cluster timeout (here 1 s),
    naming the address, instead of waiting for ever (simulated: the scheduler answers, with no worker).
    ``finished``: an item finished on a worker that died before its result was fetched, so the
    scheduler must compute it again and the fetch waits (the race the real test met once under load)."""
    from sim.executors import ClusterLost, DaskExecutor, set_cluster_timeout

    class Future:
        status = "finished" if finished else "pending"

        def result(self, timeout=None):
            time.sleep(timeout)
            raise TimeoutError

    class Client:
        status = "running"

        def submit(self, *args, **kwargs):
            return Future()

    import distributed

    def wait(pending, timeout, return_when):
        if finished:
            return set(pending), set()
        time.sleep(timeout)
        return set(), pending
    monkeypatch.setattr(distributed, "wait", wait)
    ex = DaskExecutor.__new__(DaskExecutor)
    ex.client, ex.cluster, ex.address, ex._lost, ex._futures = Client(), None, "tcp://10.0.0.1:8786", False, []
    monkeypatch.setattr(ex, "_workers", lambda bound: 0)
    set_cluster_timeout(1)
    try:
        started = time.monotonic()
        with pytest.raises(ClusterLost, match="tcp://10.0.0.1:8786 has no worker left for 1 s"):
            list(ex.map(abs, [1, 2, 3]))
        assert time.monotonic() - started < 4
    finally:
        set_cluster_timeout(None)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "1e9"])
def test_the_cluster_timeout_is_checked(tmp_path, scenario, value, monkeypatch):
    one_line(invoke("run", scenario, "-r", "1", *SERIAL, "--cluster-timeout", value), "--cluster-timeout", "seconds")
    monkeypatch.setenv("LOYALSIM_CLUSTER_TIMEOUT", value)
    one_line(invoke("run", scenario, "-r", "1", "--scheduler", "tcp://127.0.0.1:1"), "LOYALSIM_CLUSTER_TIMEOUT",
             "seconds")
