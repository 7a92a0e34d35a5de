"""A run of a sample scaled to the whole base: ``customers.scale_to`` (docs/twin.md#a-chain-from-a-panel).

A twin run with ``scale_to: N`` simulates n customers (a fresh stratified sample of the twin
each replication, or a bootstrap resample of a panel: ``sim.twin.scaled_sample``) and reports
totals for N. This is the one place the totals are scaled: ``scale_record`` turns the record
of a finished arm into the record of N customers, in the worker, before the record is stored,
so every output (the summary, the tidy tables, verdicts, comparisons, studies) reads scaled
totals and none scales again. What is scaled, by f = N / n:

* the headline metrics the catalogue marks ``extensive`` (sim.metrics.CATALOGUE: money,
  orders, customer counts); ratios, rates, shares and per-customer figures are not;
* every ledger line and the monthly series of the engine and of the ledger, but the
  programme's fixed costs (set-up and running cost, ``FIXED``), which are the business's
  whatever its size: profit, the programme's cost and the cash view are scaled without them
  and the fixed costs taken off once; the lifetime value per customer likewise;
* the segments' totals (orders, revenue, active customers), the members' counts and totals;
* each mechanic's summary and series except the keys it declares ``INTENSIVE``.

The replications' spread then carries both the customers' chance behaviour and the sampling
error of the scaling (the sample is drawn afresh per replication), so the usual t-intervals
over replications hold the sampling error.
"""
from __future__ import annotations

import dataclasses

import numpy as np

FIXED = (("programme", "setup"), ("programme", "fixed_running"))  # the business's, not per customer
FIXED_NAMES = tuple(f"{m}.{line}" for m, line in FIXED)
# monthly series of sim.metrics.monthly_series that are not totals
INTENSIVE_SERIES = frozenset({"month", "calendar_month", "retention_rate", "churn_rate", "latent_survival",
                              "average_check", "average_check_net", "purchase_frequency", "loyal_share"})
EXTENSIVE_SEGMENT = frozenset({"orders", "revenue", "active_customers_end"})


def factor(cfg) -> float | None:
    """N / n for a scaled twin run (``customers.scale_to`` over the customers simulated), else None."""
    c = cfg.customers
    if c.start != "twin" or c.scale_to is None:
        return None
    return c.scale_to / c.initial


def describe(cfg) -> dict | None:
    """What the summary says about the scaling (None when the run is not scaled)."""
    f = factor(cfg)
    if f is None or f == 1.0:  # the whole twin is the whole base: nothing is scaled
        return None
    c = cfg.customers
    return {"sampled": c.initial, "to": c.scale_to, "factor": f}


def note(scaled: dict) -> str:
    """The line every report prints: "scaled from n sampled customers to N"."""
    return (f"scaled from {scaled['sampled']:,} sampled customers to {scaled['to']:,} (money, orders and customer "
            f"counts x {scaled['factor']:.4g}; the intervals include the sampling error)")


def _scale_tree(value, f, intensive, key=None):
    if key is not None and key in intensive:
        return value
    if isinstance(value, dict):
        return {k: _scale_tree(v, f, intensive, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scale_tree(v, f, intensive) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return value * f
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value * f
    return value


def scale_record(rec, model, f: float):
    """The record of a finished arm, for the whole base: totals times ``f``, fixed costs once."""
    from sim.metrics import CATALOGUE
    led = model.ledger
    fixed_m = np.zeros(led.n_months)
    for key in FIXED:
        if key in led.lines:
            fixed_m = fixed_m + led.lines[key]
    fixed = float(fixed_m.sum())
    cfg = model.scenario.cfg
    m = dict(rec.metrics)
    for k, metric in CATALOGUE.items():
        if metric.extensive and m.get(k) is not None:
            m[k] = m[k] * f
    # fixed costs are in profit and the programme's cost once, not f times
    for k in ("profit", "profit_cash"):
        m[k] = rec.metrics[k] * f + fixed * (f - 1.0)
    m["programme_cost"] = rec.metrics["programme_cost"] * f - fixed * (f - 1.0)
    ltv = rec.metrics.get("lifetime_value")
    if ltv is not None and not np.isnan(ltv):
        rate_m = (1.0 + cfg.economics.discount_rate) ** (1.0 / 12.0) - 1.0
        disc = (1.0 + rate_m) ** -np.arange(1, led.n_months + 1)
        c = model.customers
        base = float(c.active_at_launch[: c.n].sum()) + float(model.monthly["new_customers"].sum())
        if base:
            m["lifetime_value"] = ltv + float((fixed_m * disc).sum()) / base * (1.0 - 1.0 / f)
    if m.get("segments"):
        m["segments"] = {name: {k: v * f if k in EXTENSIVE_SEGMENT and v is not None else v for k, v in seg.items()}
                         for name, seg in m["segments"].items()}
    series = {}
    for k, v in rec.series.items():
        series[k] = v if k in INTENSIVE_SERIES or k.partition(":")[2] in FIXED_NAMES else v * f
    for k in ("profit", "profit_cash"):
        series[k] = rec.series[k] * f + fixed_m * (f - 1.0)
    series["programme_cost"] = rec.series["programme_cost"] * f - fixed_m * (f - 1.0)
    intensive = {mech.name: mech.INTENSIVE for mech in model.mechanics}
    for k in list(series):
        name, dot, rest = k.partition(".")
        if dot and name in intensive and rest.rpartition(".")[2] in intensive[name]:
            series[k] = rec.series[k]

    def lines(d):
        return {k: v if k in FIXED_NAMES else v * f for k, v in d.items()}

    mechanics = {name: _scale_tree(s, f, intensive.get(name, frozenset())) for name, s in rec.mechanics.items()}
    members = _scale_tree(rec.members, f, frozenset()) if rec.members is not None else None
    return dataclasses.replace(rec, metrics=m, series=series, cost_lines=lines(rec.cost_lines),
                               income_lines=lines(rec.income_lines), revenue_lines=lines(rec.revenue_lines),
                               mechanics=mechanics, members=members)
