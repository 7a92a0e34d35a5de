"""Speed and memory of the engine, side by side with the naive per-agent Mesa model.

    python benchmarks/bench_engine.py                      # 1,000,000 customers x 365 days
    python benchmarks/bench_engine.py --customers 200000 --days 180 --all-mechanics

What runs:

* the naive model (benchmarks/naive_mesa.py: one mesa.Agent per customer,
  BG/NBD and a points programme) in a subprocess at a size it can handle
  (default 20,000 customers x 365 days); its customer-days per second;
* the engine on scenarios/points_and_tiers.yaml (and, with --all-mechanics,
  scenarios/strategy_all_mechanics.yaml), one replication as ``sim.work.simulate``
  runs it: the launch base (by default the scenario's mature base living its
  history; with --start fresh a cohort whose first order is on day 0), then the
  baseline arm and the programme arm.
  Each phase is timed. Customer-days count every customer present (arrived) on
  every simulated day of that phase, dropped-out customers included (the engine
  carries them), customers not yet arrived excluded; "end to end" counts all
  phases against the total wall time, including building the base.

Peak memory is the process's maximum resident set size (resource.getrusage),
measured in a fresh subprocess per scenario so one run does not inherit
another's peak.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _present_days(customers, first_day, last_day):
    """Customer-days simulated between first_day and last_day by customers present then."""
    import numpy as np
    c = customers
    born = c.born_day[: c.n].astype(np.int64)
    present = c.present[: c.n]
    start = np.maximum(born, first_day)
    return int(np.clip(last_day - start, 0, None)[present].sum())


def engine_worker(path, customers, days, start, seed, settings=()):
    """One replication exactly as ``sim.work.simulate`` runs it, each phase timed
    (wall and CPU); prints one JSON line. Runs in its own process for a clean peak RSS."""
    sys.path.insert(0, str(ROOT))
    from sim import scenario, work
    from sim.engine import LoyaltyModel

    over = [f"customers.initial={customers}", f"horizon_days={days}", f"customers.start={start}"]
    if start.startswith("twin="):  # a twin file (benchmarks/bench_twin.py makes one): its customers are the base
        over = [f"horizon_days={days}", "customers.start=twin", f"customers.twin={start[5:]}"]
        start = "twin"
    sc = scenario.load(path, over + list(settings))
    phases = []
    hist = sc.cfg.customers.history_days if start == "mature" else 0

    real_launch_base, real_run = work.launch_base, LoyaltyModel.run

    def timed_launch_base(scenario_, seed_):
        w, c = time.perf_counter(), time.process_time()
        base = real_launch_base(scenario_, seed_)
        phases.append({"phase": "launch base" + (" (history)" if hist else " (drawn)"),
                       "seconds": time.perf_counter() - w, "cpu_seconds": time.process_time() - c,
                       "customer_days": _present_days(base, -hist, 0)})
        return base

    def timed_run(model):
        if model.last_day <= 0:  # the history, timed as part of the launch base
            return real_run(model)
        w, c = time.perf_counter(), time.process_time()
        real_run(model)
        phases.append({"phase": "programme arm" if model.mechanics else "baseline arm",
                       "seconds": time.perf_counter() - w, "cpu_seconds": time.process_time() - c,
                       "customer_days": _present_days(model.customers, 0, days),
                       "orders": int(model.monthly["orders"].sum()),  # placed over the horizon
                       "mechanics": [m.name for m in model.mechanics]})
        return model

    work.launch_base, LoyaltyModel.run = timed_launch_base, timed_run
    w, c = time.perf_counter(), time.process_time()
    work.simulate(work.Unit(sc, seed, ((work.record_key(sc, seed, sc), sc),), True))
    out = {"scenario": sc.name, "customers": customers, "days": days, "start": start, "phases": phases,
           "total_seconds": time.perf_counter() - w, "total_cpu_seconds": time.process_time() - c,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # kB on Linux
    print(json.dumps(out))


def run_engine(path, args):
    cmd = [sys.executable, __file__, "--worker", str(path), "--customers", str(args.customers),
           "--days", str(args.days), "--start", args.start, "--seed", str(args.seed)]
    cmd += [x for kv in args.set for x in ("--set", kv)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"engine run failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_naive(path, customers, days):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(path), str(customers), str(days), "0"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"naive model failed:\n{res.stderr}")
    m = re.search(r"seconds=([0-9.]+) customer_days_per_s=(\d+)", res.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"customers": customers, "days": days, "customer_days_per_s": float(m.group(2)),
            "model_seconds": float(m.group(1)), "wall_seconds": wall, "process_cpu_seconds": cpu,
            # CPU rate: the process's CPU time includes interpreter start-up and imports (~1 s),
            # so it understates the naive model a little; fair when the machine is shared
            "customer_days_per_cpu_s": customers * days / cpu,
            "peak_rss_mb": after.ru_maxrss / 1024, "line": res.stdout.strip()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--start", default="mature", metavar="fresh|mature|twin=FILE",
                    help="mature (default, as the library scenarios are written): the base with its history; "
                         "fresh: a cohort whose first order is on day 0 (a million first orders on day 0); "
                         "twin=FILE: the customers of a twin file (benchmarks/bench_twin.py)")
    ap.add_argument("--seed", type=int, default=0, help="replication number")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "points_and_tiers.yaml"))
    ap.add_argument("--all-mechanics", action="store_true", help="also run scenarios/strategy_all_mechanics.yaml")
    ap.add_argument("--naive", default=str(ROOT / "benchmarks" / "naive_mesa.py"),
                    help="path to the naive per-agent Mesa model (default benchmarks/naive_mesa.py)")
    ap.add_argument("--naive-customers", type=int, default=20_000)
    ap.add_argument("--naive-days", type=int, default=365)
    ap.add_argument("--no-naive", action="store_true", help="skip the naive model")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON document")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a scenario override for the engine runs (as loyalsim run --set), e.g. customers.history_days=365")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.start not in ("fresh", "mature") and not args.start.startswith("twin="):
        ap.error(f"--start {args.start}: allowed: fresh, mature, twin=FILE")
    if args.worker:
        engine_worker(args.worker, args.customers, args.days, args.start, args.seed, args.set)
        return 0

    naive = None
    naive_path = Path(args.naive)
    if args.no_naive:
        pass
    elif not naive_path.exists():
        print(f"naive model not found at {naive_path}: skipped (use --naive PATH)", file=sys.stderr)
    else:
        naive = run_naive(naive_path, args.naive_customers, args.naive_days)

    scenarios = [Path(args.scenario)]
    if args.all_mechanics:
        allm = ROOT / "scenarios" / "strategy_all_mechanics.yaml"
        if allm.exists():
            scenarios.append(allm)
        else:
            print(f"{allm.relative_to(ROOT)} does not exist yet: skipped", file=sys.stderr)
    results = [run_engine(p, args) for p in scenarios]

    if args.json:
        print(json.dumps({"naive": naive, "engine": results, "cpus": os.cpu_count(),
                          "load_average": os.getloadavg()}, indent=2))
        return 0
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end "
          "(wall-clock rates suffer when others share the machine; CPU rates less so)")
    if naive:
        print(f"naive per-agent Mesa model, {naive['customers']:,} customers x {naive['days']} days: "
              f"{naive['customer_days_per_s']:,.0f} customer-days/s wall, "
              f"{naive['customer_days_per_cpu_s']:,.0f} per CPU-second, peak {naive['peak_rss_mb']:.0f} MB")
    for r in results:
        prog = next(x for x in r["phases"] if x["phase"] == "programme arm")
        print(f"\n{r['scenario']}: {r['customers']:,} customers ({r['start']} start) x {r['days']} days, "
              f"mechanics {', '.join(prog['mechanics']) or 'none'}")
        print(f"  {'phase':<26}{'wall s':>8}{'CPU s':>8}{'customer-days':>15}{'cd/s wall':>13}{'cd/CPU-s':>13}"
              f"{'x naive':>9}")
        total_cd = sum(x["customer_days"] for x in r["phases"])
        rows = r["phases"] + [{"phase": "end to end (one unit)", "seconds": r["total_seconds"],
                               "cpu_seconds": r["total_cpu_seconds"], "customer_days": total_cd}]
        for x in rows:
            wall = x["customer_days"] / x["seconds"] if x["seconds"] > 0 else 0.0
            cpu = x["customer_days"] / x["cpu_seconds"] if x["cpu_seconds"] > 0 else 0.0
            # the ratio is of CPU rates, robust to a shared machine
            ratio = f"{cpu / naive['customer_days_per_cpu_s']:,.0f}x" if naive and cpu else ""
            print(f"  {x['phase']:<26}{x['seconds']:>8.2f}{x['cpu_seconds']:>8.2f}{x['customer_days']:>15,}"
                  f"{wall:>13,.0f}{cpu:>13,.0f}{ratio:>9}")
        print(f"  peak memory {r['peak_rss_mb']:,.0f} MB (max resident set size of the whole run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
