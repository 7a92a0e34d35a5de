"""Benchmark: ``loyalsim calibrate LOG --out`` end to end on a synthetic log of a grocery-like base.

The log comes from calibration.synthetic (an existing base observed from a date plus
newcomers, Pareto/NBD purchasing, Gamma-Gamma spend; a year of calibration and a
half-year holdout), written as Parquet. Timed through what calibrate does: read and
merge, summary, the BG/NBD, Pareto/NBD and Gamma-Gamma fits, the holdout check, the
acquisition estimate, and writing the twin. Prints rows a second and peak memory
(the process's maximum resident set, which includes making the log).

    python benchmarks/bench_calibrate.py [--customers 100000] [--seed 1]

Not a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.synthetic import make_log  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000, help="existing customers at the log's left edge")
    ap.add_argument("--per-day", type=float, default=None, help="newcomers a day (default: customers / 2000)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    per_day = args.customers / 2000 if args.per_day is None else args.per_day

    t0 = time.perf_counter()
    # weekly-ish grocery shoppers: mean rate r / alpha = 0.9 / 9 = 0.1 a day
    log, _ = make_log(existing=args.customers, acquisition_per_day=per_day, days=547, seed=args.seed,
                      r=0.9, alpha=9.0, s=0.6, beta=600.0)
    rows = len(log)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.parquet"
        log.to_parquet(path, index=False)
        del log
        made = time.perf_counter() - t0
        print(f"synthetic log: {rows:,} rows, {args.customers:,} existing customers + {per_day:g} a day "
              f"({made:.1f} s to make; peak so far {peak_mb():,.0f} MB)")

        from calibration.pipeline import calibrate
        from calibration.transactions import read_transactions
        from calibration.twin import new_salt, twin_path, twin_table, write_twin
        stages = {}
        t = time.perf_counter()
        tlog = read_transactions(path)
        stages["read"] = time.perf_counter() - t
        t = time.perf_counter()
        result = calibrate(tlog, calibration_end="2024-12-30")
        stages["calibrate (summary, fits, holdout, acquisition)"] = time.perf_counter() - t
        for name, fit in result.fits.items():
            stages[f"  of which {name} fit"] = fit.seconds
        t = time.perf_counter()
        out = twin_path(Path(tmp) / "pop.yaml")
        write_twin(out, twin_table(result, new_salt(out)), result)
        stages["twin"] = time.perf_counter() - t
    total = sum(v for k, v in stages.items() if not k.startswith("  "))
    for name, seconds in stages.items():
        print(f"  {name:52} {seconds:8.2f} s")
    print(f"  {'total':52} {total:8.2f} s")
    print(f"rows a second: {rows / total:,.0f}; peak memory {peak_mb():,.0f} MB; customers {result.summary.n_customers:,}; "
          f"acquisition {result.acquisition_per_day:.3g} a day (true {per_day:g}); model {result.purchase_model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
