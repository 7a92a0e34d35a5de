"""``loyalsim backtest``: the twin's no-programme world against what its customers actually did.

Calibrate on the log up to ``--calibration-end``, make the twin of the customers
at that date, run the engine's no-programme arm from it through the holdout
(``replications`` worlds, no acquisition: the actual figures are those customers'
own), and set it against the log's holdout:

* totals: repeat transactions, revenue and active customers (customers with a
  holdout purchase): the simulated mean, the range of the middle 95% of the
  simulated worlds (where one world, the actual one, should land), the actual,
  and the relative error of the mean;
* the monthly series of the same three (buyers in the month for active);
* the holdout by calibration frequency, simulated beside actual and the closed
  form's conditional expectation;
* the per-customer correlation of the simulated mean holdout transactions with
  the actual ones, beside the closed form's (the BTYD yardstick: a simulation of
  the same model cannot beat its conditional expectation by much, and should not
  fall far below it).

Refused with the reason: a holdout shorter than four weeks, a calibration period
with fewer than 100 repeat customers.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError

MIN_HOLDOUT_DAYS = 28
MIN_REPEAT_CUSTOMERS = 100
MAX_FREQUENCY_ROW = 7     # the by-frequency table's last row is "7+", as calibrate's


def backtest(source, *, calibration_end, holdout_end=None, replications: int = 20, seed: int = 1,
             time_unit: str = "week", model: str = "best", maxiter: int = 500, **read_options) -> dict:
    """The backtest as plain data (see the module docstring); raises DataError for a log it cannot judge."""
    from calibration.pipeline import calibrate
    if calibration_end is None:
        raise DataError("backtest: --calibration-end is required: the last day of the calibration period")
    result = calibrate(source, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
                       model=model, maxiter=maxiter, **read_options)
    summary = result.summary
    days = int((summary.holdout_end - summary.calibration_end).days)
    if days < MIN_HOLDOUT_DAYS:
        raise DataError(f"backtest: the holdout of {result.log.source} runs {days} days ({summary.calibration_end.date()} "
                        f"to {summary.holdout_end.date()}); a backtest needs at least {MIN_HOLDOUT_DAYS} (four weeks)")
    repeaters = int((summary.customers["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise DataError(f"backtest: {result.log.source} has {repeaters} customers with a repeat purchase in the "
                        f"calibration period; a backtest needs at least {MIN_REPEAT_CUSTOMERS} (a later "
                        "--calibration-end, or a longer log)")
    return simulate_holdout(result, replications=replications, seed=seed)


def simulate_holdout(result, *, replications: int = 20, seed: int = 1) -> dict:
    """The backtest of a calibration that has a holdout (what calibrate's own report ends with, too)."""
    from calibration.twin import hash_ids, twin_table, write_twin
    summary = result.summary
    days = int((summary.holdout_end - summary.calibration_end).days)
    problems = [p for p in result.problems() if "acquisition" not in p]  # acquisition is not simulated here
    if problems:
        raise DataError("backtest: " + "; ".join(problems))
    salt = np.random.default_rng().bytes(16)  # this run's only: the hashes link nothing outside it
    with tempfile.TemporaryDirectory() as tmp:
        path = write_twin(Path(tmp) / "backtest.twin.parquet", twin_table(result, salt), result)
        sim_doc = _simulate(result, path, days, replications, seed)
    hashes = hash_ids(summary.customers.index, salt)
    actual = summary.customers["holdout_frequency"].to_numpy(float)
    per_customer = _align(sim_doc.pop("per_customer"), sim_doc.pop("hashes"), hashes)
    return _document(result, sim_doc, actual, per_customer, days, replications, seed)


def _simulate(result, twin_path, days, replications, seed) -> dict:
    from sim.engine import LoyaltyModel, replication_seed
    from sim.scenario import validate
    from sim.twin import load as load_twin
    from sim.work import launch_base
    block = result.population_block()["customers"]
    start = (result.summary.calibration_end + pd.Timedelta(days=1)).date()
    raw = {"name": "backtest", "horizon_days": days, "start_date": start, "replications": replications,
           "seed": seed, "customers": {**block, "start": "twin", "twin": str(twin_path),
                                       "acquisition": {"per_day": 0.0}}}
    scenario = validate(raw, file="backtest")
    _, cols = load_twin(twin_path)
    hashes = cols["customer_hash"][np.argsort(-cols["T_days"], kind="stable")]  # the engine's row order
    orders, revenue, buyers, totals, per_customer = [], [], [], [], []
    for r in range(replications):
        s = replication_seed(seed, r)
        base = launch_base(scenario, s)
        model = LoyaltyModel(scenario, s, programme=None, customers=base, first_day=0).run()
        out = model.customer_outcomes()
        n = hashes.size
        per_customer.append(out["orders"][:n])
        totals.append((out["orders"][:n].sum(), out["spend"][:n].sum(), (out["orders"][:n] > 0).sum()))
        orders.append(model.monthly["repeat_orders"].copy())
        revenue.append(model.monthly["revenue"].copy())
        buyers.append(model.monthly["buyers"].copy())
        model.close()
    return {"totals": np.array(totals, float), "orders": np.array(orders), "revenue": np.array(revenue),
            "buyers": np.array(buyers), "per_customer": np.array(per_customer), "hashes": hashes,
            "scenario_start": start}


def _align(per_customer, sim_hashes, hashes):
    """Replications x customers, columns in the summary's customer order."""
    order = np.argsort(sim_hashes)
    pos = order[np.searchsorted(sim_hashes[order], hashes)]
    return per_customer[:, pos]


def _stats(values, actual) -> dict:
    mean = float(np.mean(values))
    lo, hi = (float(v) for v in np.percentile(values, [2.5, 97.5]))
    return {"mean": mean, "ci_low": lo, "ci_high": hi, "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "error": (mean - actual) / actual if actual else None, "covers_actual": bool(lo <= actual <= hi)}


def _document(result, sim, actual, per_customer, days, replications, seed) -> dict:
    summary, log = result.summary, result.log
    c = summary.customers
    fit = result.purchase_fit
    validation = result.validations[fit.model]
    actual_tx = float(actual.sum())
    actual_rev = float(c["holdout_value"].sum())
    actual_active = float((actual > 0).sum())
    totals = sim["totals"]
    simulated = {"transactions": _stats(totals[:, 0], actual_tx), "revenue": _stats(totals[:, 1], actual_rev),
                 "active_customers": _stats(totals[:, 2], actual_active)}
    sim_mean = per_customer.mean(axis=0)
    conditional = fit.conditional_expected_purchases(summary.holdout_length, summary.x, summary.t_x, summary.T)
    corr = _corr(sim_mean, actual)
    closed = float(validation.correlation)
    monthly = _monthly(summary, log, sim)
    x = c["frequency"].to_numpy()
    by_freq = []
    for k in range(MAX_FREQUENCY_ROW + 1):
        m = x >= k if k == MAX_FREQUENCY_ROW else x == k
        if m.any():
            by_freq.append({"frequency": f"{k}+" if k == MAX_FREQUENCY_ROW else str(k), "customers": int(m.sum()),
                            "actual_mean": float(actual[m].mean()), "simulated_mean": float(sim_mean[m].mean()),
                            "closed_form_mean": float(conditional[m].mean())})
    return {
        "file": log.source,
        "calibration_end": summary.calibration_end.date().isoformat(),
        "holdout_end": summary.holdout_end.date().isoformat(),
        "holdout_days": days,
        "customers": summary.n_customers,
        "model": fit.model,
        "replications": replications,
        "seed": seed,
        "acquisition_per_day": result.acquisition_per_day,
        "acquisition": result.acquisition.as_dict() if result.acquisition else None,
        "tolerance": TOLERANCE,
        "holdout": {
            "actual": {"transactions": actual_tx, "revenue": actual_rev, "active_customers": actual_active},
            "simulated": simulated,
            "error": {k: v["error"] for k, v in simulated.items()},
            "closed_form": {"transactions": float(conditional.sum()),
                            "error": (float(conditional.sum()) - actual_tx) / actual_tx if actual_tx else None},
        },
        "per_customer_correlation": corr,
        "closed_form_correlation": closed,
        "monthly": monthly,
        "by_frequency": by_freq,
    }


# the simulated world matches the log when its mean is within this of the actual (relative), on repeat
# transactions, revenue and active customers: the closed forms' own holdout error on CDNOW is 7-11% on
# transactions (Fader, Hardie & Lee 2005), so a simulated world within 10% is as good as they are
TOLERANCE = {"transactions": 0.10, "revenue": 0.15, "active_customers": 0.10, "correlation": 0.05}


def _corr(a, b) -> float | None:
    if np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _monthly(summary, log, sim) -> list[dict]:
    """Per calendar month of the holdout: actual and simulated repeat transactions, revenue, buyers."""
    end, hold = summary.calibration_end, summary.holdout_end
    orders = log.orders
    later = orders[(orders["date"] > end) & (orders["date"] <= hold) & orders["customer"].isin(summary.customers.index)]
    month = later["date"].dt.to_period("M")
    actual = later.groupby(month).agg(transactions=("amount", "size"), revenue=("amount", "sum"),
                                      buyers=("customer", "nunique"))
    start = pd.Period(sim["scenario_start"], "M")
    rows = []
    n = sim["orders"].shape[1]
    for i in range(n):
        period = start + i
        if period > hold.to_period("M"):
            break
        a = actual.loc[period] if period in actual.index else None
        rows.append({
            "month": str(period),
            "actual_transactions": float(a["transactions"]) if a is not None else 0.0,
            "simulated_transactions": float(sim["orders"][:, i].mean()),
            "simulated_transactions_low": float(np.percentile(sim["orders"][:, i], 2.5)),
            "simulated_transactions_high": float(np.percentile(sim["orders"][:, i], 97.5)),
            "actual_revenue": float(a["revenue"]) if a is not None else 0.0,
            "simulated_revenue": float(sim["revenue"][:, i].mean()),
            "actual_buyers": float(a["buyers"]) if a is not None else 0.0,
            "simulated_buyers": float(sim["buyers"][:, i].mean()),
        })
    return rows
