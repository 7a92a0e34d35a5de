"""Benchmark: the flagship programme on a twin of N real-looking customers against synthetic bases of N.

A twin is calibrated from a synthetic log (calibration.synthetic: an existing base seen from a date plus
newcomers), then tiled to N customers with fresh hashes (the engine's cost depends on the customers'
rates and spend, which tiling keeps). One replication of scenarios/points_and_tiers.yaml runs as
``sim.work.simulate`` runs it, in a fresh process for each base (benchmarks/bench_engine.py's worker):
the twin, the scenario's own mature base of the same size, and a base of the twin's activity. Prints,
for each phase, customer-days a second, the orders placed and orders a second, and the peak memory of
each process.

Why three bases: a day costs one pass over every customer's purchase clock plus the work of each order,
and most of an arm's time is orders. Every twin customer bought within the log's window (a log sees the
frequent buyers more often than the rare ones), so more of them are alive and buying than in the mature
base, which carries three years of lapsed customers: the twin places about 2.6 times the orders per
customer-day, and its customer-days a second are lower for that reason alone. The third base is the same
engine, programme and size at the twin's activity: a mature base acquired over one year rather than three,
of heavier buyers (``ACTIVE``: alpha 13 weeks rather than 22, dropout b 14 rather than 6), which places
about as many orders per customer-day as the twin (at 1,000,000 customers and 365 days, about 6.1 per 1,000
against the twin's 6.2 and the mature base's 2.4). The twin
against it, and orders a second against the mature base, show what is the twin's own cost and what is its
customers' activity.

    python benchmarks/bench_twin.py [--customers 1000000] [--days 365] [--repeats 3]

Not a test: timings depend on the machine. With ``--repeats N`` each base runs N times, in turn, and each
phase keeps its fastest run (a shared machine only ever slows a run down); the peak memory is the largest.
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


def fastest(runs: list[dict]) -> dict:
    """One result of several runs of a base: each phase's fastest run, the largest peak memory."""
    out = dict(runs[0])
    out["phases"] = [min((r["phases"][i] for r in runs), key=lambda x: x["seconds"])
                     for i in range(len(runs[0]["phases"]))]
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return out


def activity(phase: dict) -> float:
    """Orders per customer-day of an arm."""
    return phase["orders"] / phase["customer_days"] if phase["customer_days"] else 0.0


def rate_ratio(a: dict, b: dict, what: str) -> float:
    """a's customer-days (or orders) a second over b's."""
    return (a[what] / a["seconds"]) / (b[what] / b["seconds"]) if a["seconds"] and b["seconds"] and b[what] else 0.0


# a synthetic base as active as the twin: acquired over one year, heavier buyers (see the module's docstring)
ACTIVE = ("customers.history_days=365", "customers.purchase.alpha=13", "customers.purchase.b=14")


def run(start: str, args, settings=()) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"), "--worker",
           str(ROOT / "scenarios" / "points_and_tiers.yaml"), "--customers", str(args.customers), "--days",
           str(args.days), "--start", start, "--seed", "0"] + [x for kv in settings for x in ("--set", kv)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"engine run failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeats", type=int, default=1, help="runs of each base, in turn; each phase keeps its fastest")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        twin = make_twin(args.customers, Path(tmp))
        starts = {"twin": (f"twin={twin}", ()), "synthetic (mature)": ("mature", ()),
                  "synthetic (as active as the twin)": ("mature", ACTIVE)}
        runs = {name: [] for name in starts}
        for _ in range(max(args.repeats, 1)):
            for name, (start, settings) in starts.items():
                runs[name].append(run(start, args, settings))
        results = {name: fastest(r) for name, r in runs.items()}
    if args.repeats > 1:
        print(f"each phase: the fastest of {args.repeats} runs")
    arms = {}
    for name, r in results.items():
        print(f"{name}: {r['customers']:,} customers x {r['days']} days, peak memory {r['peak_rss_mb']:,.0f} MB")
        for x in r["phases"]:
            rate = x["customer_days"] / x["seconds"] if x["seconds"] else 0.0
            line = f"  {x['phase']:<26}{x['seconds']:>8.2f} s {rate:>16,.0f} customer-days/s"
            if "orders" in x:
                per = 1000 * x["orders"] / x["customer_days"] if x["customer_days"] else 0.0
                line += (f" {x['orders']:>12,} orders ({per:.2f} per 1,000 customer-days) "
                         f"{x['orders'] / x['seconds'] if x['seconds'] else 0.0:>12,.0f} orders/s")
                arms[name, x["phase"]] = x
            print(line)
    for arm in ("programme arm", "baseline arm"):
        t, m, a = (arms.get((name, arm)) for name in starts)
        if not (t and m and a):
            continue
        print(f"{arm} on the twin: {rate_ratio(t, m, 'customer_days'):.0%} of the mature base's customer-days "
              f"a second (the twin places {activity(t) / activity(m):.1f}x its orders per customer-day), "
              f"{rate_ratio(t, m, 'orders'):.0%} of its orders a second; "
              f"{rate_ratio(t, a, 'customer_days'):.0%} of the customer-days a second of the base as active as the "
              f"twin (which places {activity(a) / activity(t):.2f}x the twin's orders per customer-day)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
