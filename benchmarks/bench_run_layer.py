"""The run layer's costs: fixed overhead of a tiny run, and throughput on each backend.

    python benchmarks/bench_run_layer.py overhead          # a tiny scenario through the CLI, end to end
    python benchmarks/bench_run_layer.py backends          # 40 flagship replications: 1 vs 2 workers vs Dask
    python benchmarks/bench_run_layer.py memory            # a worker's memory over many units

overhead: ``loyalsim run`` on 1,000 customers for 30 days, one replication,
timed as a whole process (interpreter start, imports, simulation, the table),
best and median of several runs. Two bases: a fresh cohort (nothing before
launch: the fixed cost itself) and the flagship's mature base (its three-year
history is simulated too, so this one measures a small run, not start-up).

backends: the same batch of replications of scenarios/points_and_tiers.yaml
on the process pool with 1 and 2 workers, and on a 2-worker Dask
LocalCluster started by the command; wall time, replications per second,
speed-up over one worker, and whether the JSON is byte-identical. Then the
Dask run's fixed cost, timed on its own in this process: starting the
cluster, the first task on each worker (a spawned worker imports loyalsim
there) and closing it, and the speed-up without it (what a long batch, or an
already running cluster, gets).

memory: what a worker process holds as it runs unit after unit. One process
runs the units of work a worker would get (``sim.work.simulate``: the launch
base, the baseline and the programme arm of every mechanic's scenario, a new
replication each time, so nothing is reused from the worker's cache) with
automatic garbage collection off, so that only reference counting frees
memory, as it must: each finished arm is released with ``LoyaltyModel.close()``
and nothing of it may stay behind in a reference cycle. It prints the resident
memory after the warm-up units and after the last one, and fails (exit code 1)
if it grew by more than 10 MB (measured: a unit whose models are not released
leaves about 12 MB behind, so 12 units without the release grow by ~150 MB).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = "scenarios/points_and_tiers.yaml"


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # as on a user's machine: compiled bytecode is kept (a sandbox may switch that off)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"loyalsim {' '.join(args)} failed:\n{r.stderr}")
    return wall, r.stdout


def overhead(repeats):
    tiny = ["--set", "customers.initial=1000", "--set", "horizon_days=30", "-r", "1"]
    cases = {
        "fresh cohort (fixed cost)": ["--set", "customers.start=fresh", "--set", "customers.acquisition.per_day=0"],
        "mature base (+ 3-year history)": [],
    }
    print(f"tiny scenario: 1,000 customers x 30 days, 1 replication, {repeats} runs each (wall seconds, whole process)")
    _cli("run", FLAGSHIP, *tiny)  # warm-up: compiles the bytecode once, as an install does
    for label, extra in cases.items():
        times = [_cli("run", FLAGSHIP, *tiny, *extra)[0] for _ in range(repeats)]
        print(f"  {label:34} best {min(times):.2f} s   median {statistics.median(times):.2f} s")


def backends(replications):
    runs = {
        "process pool, 1 worker": ["--backend", "process", "-j", "1"],
        "process pool, 2 workers": ["--backend", "process", "-j", "2"],
        "Dask LocalCluster, 2 workers": ["--backend", "dask", "-j", "2"],
    }
    print(f"{replications} replications of {FLAGSHIP} (20,000 customers x 730 days after a 3-year history)")
    base = None
    outputs = {}
    for label, extra in runs.items():
        wall, out = _cli("run", FLAGSHIP, "-r", str(replications), "--json", *extra)
        outputs[label] = out
        base = base or wall
        last = wall
        print(f"  {label:30} {wall:7.1f} s   {replications / wall:5.2f} replications/s   x{base / wall:4.2f}")
    same = len(set(outputs.values())) == 1
    print(f"  JSON byte-identical across backends: {'yes' if same else 'NO'}")
    fixed = dask_fixed_cost()
    print(f"  Dask's fixed cost: {fixed['start']:.1f} s to start the cluster, {fixed['first']:.1f} s for the first "
          f"task on each worker (imports), {fixed['close']:.1f} s to close it; without them the Dask run takes "
          f"{last - fixed['total']:.1f} s, x{base / (last - fixed['total']):4.2f}")
    return 0 if same else 1


def _resident_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(units):
    import gc
    sys.path.insert(0, str(ROOT))
    from sim import scenario
    from sim.work import Unit, record_key, simulate
    sc = scenario.load(ROOT / "scenarios" / "strategy_all_mechanics.yaml",
                       ["customers.initial=20000", "horizon_days=120", "customers.history_days=120"])
    gc.collect()
    gc.disable()  # reference counting alone must free every finished arm
    warm, seen = 3, []
    for r in range(warm + units):
        simulate(Unit(sc, r, ((record_key(sc, r, sc), sc),), True))
        seen.append(_resident_mb())
    gc.enable()
    grew = seen[-1] - seen[warm - 1]
    print(f"{units} units of work of strategy_all_mechanics (20,000 customers, 120 days) in one process, "
          "automatic garbage collection off")
    print(f"  resident memory after {warm} warm-up units {seen[warm - 1]:.0f} MB, after the last {seen[-1]:.0f} MB "
          f"(peak {max(seen):.0f} MB): grew {grew:+.1f} MB")
    return 0 if grew < 10 else 1


def _import_loyalsim():
    import sim.work  # noqa: F401  (what a worker's first replication imports)
    return os.getpid()


def dask_fixed_cost():
    sys.path.insert(0, str(ROOT))
    from sim.executors import make_executor
    t0 = time.perf_counter()
    ex = make_executor("dask", workers=2)
    t1 = time.perf_counter()
    ex.client.run(_import_loyalsim)  # on every worker at once
    t2 = time.perf_counter()
    ex.close()
    t3 = time.perf_counter()
    return {"start": t1 - t0, "first": t2 - t1, "close": t3 - t2, "total": t3 - t0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--repeats", type=int, default=7)
    p = sub.add_parser("backends")
    p.add_argument("--replications", type=int, default=40)
    p = sub.add_parser("memory")
    p.add_argument("--units", type=int, default=12)
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs")
    if args.what == "overhead":
        return overhead(args.repeats)
    if args.what == "memory":
        return memory(args.units)
    return backends(args.replications)


if __name__ == "__main__":
    sys.exit(main())
