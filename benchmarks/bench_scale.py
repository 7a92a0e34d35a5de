"""Benchmark: a sample of a large twin scaled to the whole base covers the whole base's answer.

A twin is calibrated from a synthetic log (calibration.synthetic, 40,000 existing customers seen from a
date), then tiled to N customers with fresh hashes (bench_twin.py's way to a large twin: the rows keep
the real spread of histories and posteriors). The same scenario (a points programme, a short horizon)
runs three ways:

* the whole twin (``--full-reps`` replications): the answer;
* ``customers.sample: n, scale_to: N``: a fresh stratified sample each replication, totals scaled;
* ``customers.sample: n`` without scale_to, scaled by hand (N / n): the fixed sample, which carries
  no sampling error in its interval.

Prints, per total, each way's mean and 95% interval, whether the scaled interval covers the whole run's
mean, and the wall time and peak memory of each.

    python benchmarks/bench_scale.py [--customers 2000000] [--sample 100000] [--days 90] [--reps 20]

Not a test: timings depend on the machine (tests/test_scale.py checks coverage at a small size).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METRICS = ("revenue", "orders", "profit", "active_customers_end")


def make_twin(customers: int, folder: Path):
    from calibration.pipeline import calibrate
    from calibration.synthetic import make_log, write_csv
    from calibration.twin import twin_table, write_twin
    log, _ = make_log(existing=40_000, days=400, seed=11)
    write_csv(log, folder / "log.csv")
    result = calibrate(folder / "log.csv", calibration_end="2024-12-30")
    table = twin_table(result, b"bench-scale-salt")
    reps = -(-customers // len(table))
    big = table.iloc[np.tile(np.arange(len(table)), reps)[:customers]].reset_index(drop=True)
    big["customer_hash"] = np.random.default_rng(1).integers(0, 2**63, len(big), dtype=np.int64).astype(np.uint64)
    block = {k: v for k, v in result.population_block()["customers"].items() if k != "twin"}
    return write_twin(folder / "bench.twin.parquet", big, result), block


def run(twin, block, extra, reps, days, seed):
    from sim.metrics import interval
    from sim.runner import run_arms
    from sim.scenario import validate
    s = validate({"name": "bench-scale", "horizon_days": days, "start_date": "2024-12-31", "replications": reps,
                  "seed": seed, "customers": {**block, "start": "twin", "twin": str(twin), **extra},
                  "programme": {"points": {"earn_per_currency": 1.0}}})
    t = time.perf_counter()
    res = run_arms(s, {"programme": s}, reps)
    seconds = time.perf_counter() - t
    doc = res.summary()
    out = {k: [r.metrics[k] for r in res.records("baseline")] for k in METRICS}
    out["incremental_profit"] = res.incremental_profit().tolist()
    return {"seconds": seconds, "customers_at_launch": doc["customers_at_launch"], "scaling": doc.get("scaling"),
            "values": out, "intervals": {k: interval(v) for k, v in out.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--sample", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--full-reps", type=int, default=4)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        twin, block = make_twin(args.customers, Path(tmp))
        print(f"twin of {args.customers:,} customers made in {time.perf_counter() - t:.0f} s", flush=True)
        ways = {}
        for name, extra, reps in (
                ("whole twin", {}, args.full_reps),
                ("scaled sample", {"sample": args.sample, "scale_to": args.customers}, args.reps),
                ("fixed sample x N/n", {"sample": args.sample}, args.reps)):
            ways[name] = run(twin, block, extra, reps, args.days, args.seed)
            print(f"{name}: {reps} replications in {ways[name]['seconds']:.0f} s", flush=True)
    f = args.customers / args.sample
    fixed = ways["fixed sample x N/n"]
    fixed["intervals"] = {k: {x: (v * f if v is not None else None) for x, v in iv.items()}
                          for k, iv in fixed["intervals"].items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full, scaled = ways["whole twin"]["intervals"], ways["scaled sample"]["intervals"]
    print(f"\n{args.sample:,} of {args.customers:,} customers, {args.days} days; peak memory {peak:,.0f} MB")
    print(f"{'':22}{'whole twin':>16}{'scaled sample (95%)':>38}{'fixed sample x N/n (95%)':>38}  covers")
    for k in (*METRICS, "incremental_profit"):
        a, b, c = full[k], scaled[k], fixed["intervals"][k]
        covers = b["ci_low"] <= a["mean"] <= b["ci_high"]
        fixed_covers = c["ci_low"] <= a["mean"] <= c["ci_high"]
        print(f"{k:22}{a['mean']:>16,.0f}{b['mean']:>14,.0f} [{b['ci_low']:>10,.0f}, {b['ci_high']:>10,.0f}]"
              f"{c['mean']:>14,.0f} [{c['ci_low']:>10,.0f}, {c['ci_high']:>10,.0f}]  "
              f"{'yes' if covers else 'NO'} / fixed {'yes' if fixed_covers else 'no'}")
    if args.json:
        print(json.dumps({"customers": args.customers, "sample": args.sample, "days": args.days,
                          "ways": {k: {x: v for x, v in w.items() if x != "values"} for k, w in ways.items()}},
                         default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
