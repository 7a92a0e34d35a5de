"""The run layer: the Python API, executors (serial, process pool, Dask) and the result store."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim
from conftest import ROOT, SCENARIOS, invoke, run_cli
from sim.errors import ScenarioError
from sim.metrics import HEADLINE

SMALL = ["--set", "customers.initial=1500", "--set", "horizon_days=200", "--set", "customers.history_days=200"]


def _children(pid):
    """Live processes whose parent is pid (from /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(d.name))
    return kids


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pids, seconds=10.0):
    deadline = time.time() + seconds
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _records(store):
    return sorted(Path(store, "records").glob("*/*.parquet"))


# --------------------------------------------------------------------------- the API

@pytest.mark.slow
def test_python_api_summary_is_the_cli_json():
    doc = sim.run("scenarios/points_and_tiers.yaml", replications=2, seed=3).summary()
    cli = run_cli("run", "scenarios/points_and_tiers.yaml", "-r", "2", "--seed", "3", "--json")
    assert cli.returncode == 0, cli.stderr
    assert doc == json.loads(cli.stdout)


def test_result_tables_are_tidy_and_agree_with_the_summary():
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml", {"customers.initial": 1500, "horizon_days": 200,
                                                        "customers.history_days": 200})
    res = sim.run(sc, replications=3, backend="serial")
    m = res.metrics
    assert list(m.columns) == ["arm", "replication", "metric", "value"]
    assert len(m) == 2 * 3 * len(HEADLINE) and set(m.arm) == {"baseline", "programme"}
    wide = res.metrics_wide()
    assert len(wide) == 6 and "revenue" in wide.columns
    monthly = res.monthly
    assert {"arm", "replication", "month", "revenue", "profit"} <= set(monthly.columns)
    assert len(monthly) == 2 * 3 * res.records("baseline")[0].monthly.shape[0]
    # the monthly series add up to the headline totals
    rev = monthly.groupby(["arm", "replication"]).revenue.sum()
    for _, row in m[m.metric == "revenue"].iterrows():
        assert rev[(row.arm, row.replication)] == pytest.approx(row.value, rel=1e-9)
    lines = res.cost_lines
    assert {"points", "tiers", "programme"} <= set(lines[lines.arm == "programme"].mechanic)
    doc = res.summary()
    assert res.lift("revenue") == doc["lift"]["revenue"]
    assert res.lifts.revenue.mean() == pytest.approx(doc["lift"]["revenue"]["absolute"]["mean"])


def test_scenarios_are_immutable_and_overrides_revalidate():
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml")
    with pytest.raises(TypeError):
        sc.cfg.programme.points["earn_per_currency"] = 3.0
    with pytest.raises(TypeError):
        sc.cfg["horizon_days"] = 10
    with pytest.raises(TypeError):
        sc.cfg = None
    richer = sc.with_overrides({"programme.points.earn_per_currency": 0.2, "programme.tiers.levels.1.threshold": 2500})
    assert richer.cfg.programme.points.earn_per_currency == 0.2
    assert richer.cfg.programme.tiers.levels[1].threshold == 2500
    assert sc.cfg.programme.points.earn_per_currency == 0.1  # the original is untouched
    with pytest.raises(ScenarioError) as e:
        sc.with_overrides({"programme.points.earn_per_currency": -1})
    assert "programme.points.earn_per_currency" in str(e.value)
    # the same field set through the mapping and through --set gives the same scenario
    assert sim.load(SCENARIOS / "points_and_tiers.yaml", ["programme.points.earn_per_currency=0.2"]).resolved() == \
        sim.load(SCENARIOS / "points_and_tiers.yaml", {"programme.points.earn_per_currency": 0.2}).resolved()


# --------------------------------------------------------------------------- backends

@pytest.mark.slow
def test_serial_process_and_dask_give_the_same_bytes():
    args = ["run", "scenarios/points_and_tiers.yaml", "--json", *SMALL, "-r", "4"]
    serial = run_cli(*args, "--backend", "serial")
    pool = run_cli(*args, "--backend", "process", "-j", "2")
    dask = run_cli(*args, "--backend", "dask", "-j", "2")
    for r in (serial, pool, dask):
        assert r.returncode == 0, r.stderr
    assert serial.stdout == pool.stdout == dask.stdout


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_an_existing_dask_cluster_runs_the_same_numbers():
    distributed = pytest.importorskip("distributed")
    import logging
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml", {"customers.initial": 1200, "horizon_days": 120,
                                                        "customers.history_days": 120})
    serial = sim.run(sc, replications=3, backend="serial").summary()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        on_cluster = sim.run(sc, replications=3, scheduler=cluster.scheduler_address).summary()
        host_port = cluster.scheduler_address.replace("tcp://", "")
        by_url = sim.run(sc, replications=3, backend=f"dask://{host_port}").summary()
    assert on_cluster == serial == by_url


def test_bad_backends_and_workers_are_refused():
    r = invoke("run", "scenarios/points_and_tiers.yaml", "--backend", "spark")
    assert r.returncode == 2 and "--backend" in r.stderr and "Traceback" not in r.stderr
    r = invoke("run", "scenarios/points_and_tiers.yaml", "-j", "0")
    assert r.returncode == 2 and "--workers" in r.stderr


# --------------------------------------------------------------------------- the store

def _start(store, reps, extra=()):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "sim", "run", "scenarios/points_and_tiers.yaml", "--json", "--store", str(store),
            "-r", str(reps), "-j", "2", "--set", "customers.initial=3000", "--set", "horizon_days=365",
            "--set", "customers.history_days=365", *extra]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_records(store, n, proc, seconds=180):
    deadline = time.time() + seconds
    while time.time() < deadline and len(_records(store)) < n and proc.poll() is None:
        time.sleep(0.05)
    assert len(_records(store)) >= n, "no replication finished in time"


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_reuses_finished_replications(tmp_path):
    store = tmp_path / "store"
    proc = _start(store, 8)
    _wait_for_records(store, 4, proc)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert workers, "the run should have had worker processes"
    assert not _wait_gone(workers), "worker processes outlived a killed parent"
    kept = {p: p.stat().st_mtime_ns for p in _records(store)}
    assert 4 <= len(kept) < 16
    assert not list(Path(store, "records").glob("*/.*.tmp"))
    resumed = run_cli("run", "scenarios/points_and_tiers.yaml", "--json", "--store", store, "-r", "8", "-j", "2",
                      "--set", "customers.initial=3000", "--set", "horizon_days=365",
                      "--set", "customers.history_days=365")
    fresh = run_cli("run", "scenarios/points_and_tiers.yaml", "--json", "-r", "8", "-j", "2",
                    "--set", "customers.initial=3000", "--set", "horizon_days=365",
                    "--set", "customers.history_days=365")
    assert resumed.returncode == 0 and fresh.returncode == 0, resumed.stderr + fresh.stderr
    assert resumed.stdout == fresh.stdout
    # what finished before the kill was read back, not computed again
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert len(_records(store)) == 16


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_sigterm_keeps_what_finished_and_leaves_no_process(tmp_path):
    store = tmp_path / "store"
    proc = _start(store, 12)
    _wait_for_records(store, 2, proc)
    workers = _children(proc.pid)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 10, "SIGTERM must not wait for queued replications"
    assert proc.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    doc = json.loads(out)
    assert doc["interrupted"] is True and 1 <= doc["replications"] < 12
    assert not _wait_gone(workers)


@pytest.mark.slow  # 2 s measured: out of the fast tier (-m 'not slow')
def test_torn_or_foreign_record_files_are_recomputed(tmp_path):
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml", {"customers.initial": 1200, "horizon_days": 120,
                                                        "customers.history_days": 120})
    store = tmp_path / "store"
    first = sim.run(sc, replications=3, backend="serial", store=store).summary()
    files = _records(store)
    assert len(files) == 6
    files[0].write_bytes(files[0].read_bytes()[:100])           # truncated mid-write
    files[1].write_bytes(b"[]")                                  # parses as something, not a record
    files[2].write_bytes(files[3].read_bytes())                  # a valid file under the wrong key
    again = sim.run(sc, replications=3, backend="serial", store=store)
    assert again.summary() == first
    from sim.store import ResultStore
    st = ResultStore(store)
    assert all(st.get(p.stem) is not None for p in _records(store))


def _rewrite(path, meta_edit=None, drop_column=None, rows=None):
    """Rewrite a stored record as a different program might have: valid Parquet under its own key,
    with its metadata edited, a series dropped or months cut."""
    import pyarrow.parquet as pq

    from sim.store import META_KEY
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[META_KEY])
    if meta_edit:
        meta_edit(meta)
    if drop_column:
        table = table.drop_columns([drop_column])
    if rows is not None:
        table = table.slice(0, rows)
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path)


@pytest.mark.slow  # 3 s measured: out of the fast tier (-m 'not slow')
def test_records_of_another_shape_or_other_code_are_recomputed(tmp_path, monkeypatch):
    """Files that parse and carry the right key but not what the results read (a headline metric
    missing or not a number, a series missing, months cut) are recomputed, never read and never a
    traceback; and records made by other code (another fingerprint of sim/) are not reused."""
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml", {"customers.initial": 1200, "horizon_days": 120,
                                                        "customers.history_days": 120})
    store = tmp_path / "store"
    first = sim.run(sc, replications=3, backend="serial", store=store).summary()
    files = _records(store)
    _rewrite(files[0], meta_edit=lambda m: m["metrics"].pop("profit"))
    _rewrite(files[1], meta_edit=lambda m: m["metrics"].update(revenue="71.25m"))
    _rewrite(files[2], drop_column="profit")
    _rewrite(files[3], rows=1)
    from sim.store import ResultStore
    st = ResultStore(store)
    assert [st.get(p.stem) is None for p in files[:4]] == [True] * 4
    assert sim.run(sc, replications=3, backend="serial", store=store).summary() == first
    # another program's records: the same scenario under other code gets other keys
    import sim.work as work
    before = set(ResultStore(store).keys())
    monkeypatch.setattr(work, "_FINGERPRINT", "another-build")
    sim.run(sc, replications=1, backend="serial", store=store)
    assert len(set(ResultStore(store).keys()) - before) == 2


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_more_replications_compute_only_the_new_ones(tmp_path, monkeypatch):
    import sim.runner as runner
    sc = sim.load(SCENARIOS / "points_and_tiers.yaml", {"customers.initial": 1200, "horizon_days": 120,
                                                        "customers.history_days": 120})
    store = tmp_path / "store"
    sim.run(sc, replications=2, backend="serial", store=store)
    ran = []
    real = runner.simulate

    def counting(unit):
        ran.append(unit.replication)
        return real(unit)
    monkeypatch.setattr(runner, "simulate", counting)
    four = sim.run(sc, replications=4, backend="serial", store=store)
    assert sorted(ran) == [2, 3]
    assert four.summary() == sim.run(sc, replications=4, backend="serial").summary()
