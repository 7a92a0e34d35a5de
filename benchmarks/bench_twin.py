"""Benchmark: the flagship programme on a twin of N real-looking customers against the synthetic base of N.

A twin is calibrated from a synthetic log (calibration.synthetic: an existing base seen from a date plus
newcomers), then tiled to N customers with fresh hashes (the engine's cost depends on the customers'
rates and spend, which tiling keeps). One replication of scenarios/points_and_tiers.yaml runs as
``sim.work.simulate`` runs it, in a fresh process for each base (benchmarks/bench_engine.py's worker):
the twin, then the scenario's own mature base of the same size. Prints customer-days a second of each
phase and the peak memory of each process.

    python benchmarks/bench_twin.py [--customers 1000000] [--days 365]

Not a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_twin(customers: int, folder: Path) -> Path:
    from calibration.pipeline import calibrate
    from calibration.synthetic import make_log
    from calibration.transactions import read_transactions
    from calibration.twin import twin_table, write_twin
    # the flagship's own customers (scenarios/bases/retailer.yaml): r 0.9, alpha 22 weeks (154 days), a mean
    # life of about 2.4 years (mu = s / beta = 0.6 / 525 a day), orders of about 1,500
    log, _ = make_log(existing=20_000, acquisition_per_day=10.0, days=547, seed=1, r=0.9, alpha=154.0, s=0.6,
                      beta=525.0, p=6.25, q=3.74, gamma=658.0)
    path = folder / "log.parquet"
    log.to_parquet(path, index=False)
    result = calibrate(read_transactions(path), calibration_end="2024-12-30")
    table = twin_table(result, b"bench-twin-salt!")
    reps = -(-customers // len(table))
    big = table.iloc[np.tile(np.arange(len(table)), reps)[:customers]].reset_index(drop=True)
    big["customer_hash"] = np.random.default_rng(1).integers(0, 2**63, len(big), dtype=np.int64).astype(np.uint64)
    return write_twin(folder / "bench.twin.parquet", big, result)


def run(start: str, args) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--worker",
           str(ROOT / "scenarios" / "points_and_tiers.yaml"), "--customers", str(args.customers), "--days",
           str(args.days), "--start", start, "--seed", "0"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"engine run failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        twin = make_twin(args.customers, Path(tmp))
        results = {"twin": run(f"twin={twin}", args), "synthetic (mature)": run("mature", args)}
    rates = {}
    for name, r in results.items():
        print(f"{name}: {r['customers']:,} customers x {r['days']} days, peak memory {r['peak_rss_mb']:,.0f} MB")
        for x in r["phases"]:
            rate = x["customer_days"] / x["seconds"] if x["seconds"] else 0.0
            print(f"  {x['phase']:<26}{x['seconds']:>8.2f} s {rate:>16,.0f} customer-days/s")
            if x["phase"] == "programme arm":
                rates[name] = rate
    if len(rates) == 2:
        print(f"programme arm on the twin: {rates['twin'] / rates['synthetic (mature)']:.0%} of the synthetic base's "
              "customer-days a second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
