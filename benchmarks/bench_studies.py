"""What sweeps and the uncertainty analysis cost on the flagship.

    python benchmarks/bench_studies.py sweep     # 100 earn rates x 2 replications at 20,000 customers x 730 days
    python benchmarks/bench_studies.py psa       # a 200-draw PSA of the flagship on every core

sweep: the sweep as loyalsim runs it (serial, so CPU time is easy to read),
against its programme arms alone: the same 200 programme arms run from launch
bases computed beforehand and not counted. The ratio is what sharing the
customers' history and the baseline arm across points buys: the issue asks
for at most 1.3x.

psa: ``loyalsim psa scenarios/points_and_tiers.yaml`` with its defaults (200
draws, 4 replication seeds, the one-way tornado) on the local process pool,
timed as a whole command.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sweep(points=100, replications=2):
    import sim
    from sim.engine import LoyaltyModel
    from sim.studies.sweep import factor, run_sweep
    from sim.work import SHARED, launch_base, replication_seed
    sc = sim.load(ROOT / "scenarios" / "points_and_tiers.yaml")
    f = factor("programme.points.earn_per_currency", f"0.02:0.5:{points}")
    # the programme arms alone: bases computed first, outside the clock
    seeds = [replication_seed(sc.cfg.seed, r) for r in range(replications)]
    bases = [launch_base(sc, s) for s in seeds]
    variants = [sc.with_overrides({f.field: v}) for v in f.grid()]
    c0 = time.process_time()
    for base, seed in zip(bases, seeds):
        for v in variants:
            LoyaltyModel(v, seed, programme=v.cfg.programme, customers=base, first_day=0).run()
    arms = time.process_time() - c0
    del bases
    SHARED.clear()
    # the sweep itself: history, baseline and every point, as loyalsim sweep runs them
    c0, w0 = time.process_time(), time.perf_counter()
    res = run_sweep(sc, [f], "grid", replications=replications, backend="serial")
    total, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"{points}-point sweep of the flagship's earn rate, {replications} replications each "
          f"({len(res.table)} programme arms; 20,000 customers x 730 days):")
    print(f"  programme arms alone: {arms:7.1f} CPU s ({arms / len(res.table):.2f} s an arm)")
    print(f"  the whole sweep:      {total:7.1f} CPU s ({wall:.1f} s wall, serial)")
    print(f"  ratio: {total / arms:.3f}x the programme arms alone (history and baseline shared per replication)")


def psa(draws=200):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sim", "psa", "scenarios/points_and_tiers.yaml", "--draws", str(draws)],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(r.stderr)
    print(r.stdout)
    print(f"loyalsim psa, {draws} draws of the flagship (+ tornado, 4 replication seeds) on {os.cpu_count()} cores: "
          f"{wall:.0f} s wall")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("sweep")
    p.add_argument("--points", type=int, default=100)
    p.add_argument("--replications", type=int, default=2)
    p = sub.add_parser("psa")
    p.add_argument("--draws", type=int, default=200)
    args = ap.parse_args(argv)
    if args.what == "sweep":
        sweep(args.points, args.replications)
    else:
        psa(args.draws)


if __name__ == "__main__":
    main()
