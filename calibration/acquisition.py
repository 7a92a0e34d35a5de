"""How many genuinely new customers a day: an estimate that knows the log's left edge.

A log starts on some date, but the business did not: most customers first seen
near the start are existing customers making their first purchase *in the log*.
Counting every first appearance as an acquisition (the log's customers over its
days) overstates acquisition many times over on a panel observed from a date.

Method (the model's own appearance curve). An existing customer who is alive
with purchase rate lambda first appears after an Exp(lambda) wait from the left
edge; over the base, lambda ~ Gamma(r, alpha) (the fitted purchase model), so the
share of existing customers seen by time t is g(t) = 1 - (alpha / (alpha + t))^r.
A genuinely new customer appears on the day they arrive. So the weekly counts of
first appearances are, in expectation,

    n_w = N0 [g(t_w+1) - g(t_w)] + a * days_w

with N0 the existing (alive) base and a the new customers a day; both enter
linearly and are fitted by non-negative least squares on the weekly counts. Why
this rather than the late part of the period alone: a late window still holds the
slow buyers of the existing base appearing for the first time (with r < 1 the
tail of g is long), which the late-period rate counts as new; the curve takes
them out. The late-third rate is reported beside it as a check.

A log whose first appearances stop well before the calibration end (CDNOW: a
closed cohort, all first purchases in its first twelve weeks) is reported as a
closed cohort with a rate of 0.

Users who know better set the rate (``--acquisition-per-day``) or say from which
date first purchases are new customers (``--acquisition-from DATE``: first
appearances per day from that date to the calibration end).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import DataError

BIN_DAYS = 7
CLOSED_SHARE = 0.25  # no first purchase in the last quarter of the period: a closed cohort


@dataclass
class Acquisition:
    per_day: float
    method: str                 # "appearance-curve", "closed-cohort", "from-date", "given"
    explanation: str
    existing_base: float | None = None   # N0: the existing base the curve sees
    late_rate: float | None = None       # first appearances a day in the last third of the period
    naive_rate: float | None = None      # the log's customers over its days (what counting all would give)
    days: int = 0

    def as_dict(self) -> dict:
        return {"per_day": self.per_day, "method": self.method, "explanation": self.explanation,
                "existing_base": self.existing_base, "late_third_rate": self.late_rate,
                "all_first_appearances_rate": self.naive_rate, "period_days": self.days}


def first_appearances(summary, log_first_date) -> np.ndarray:
    """Days from the log's first date to each cohort customer's first purchase."""
    return (summary.customers["first_purchase"] - log_first_date).dt.days.to_numpy()


def estimate(summary, log_first_date, fit, *, per_day=None, from_date=None) -> Acquisition:
    """The acquisition rate of new customers a day over the calibration period (see the module docstring)."""
    days = int((summary.calibration_end - log_first_date).days) + 1
    first = first_appearances(summary, log_first_date)
    naive = summary.n_customers / max(days, 1)
    late_start = days - days // 3
    late = float((first >= late_start).sum()) / max(days - late_start, 1)
    common = {"late_rate": late, "naive_rate": naive, "days": days}
    if per_day is not None:
        if not np.isfinite(per_day) or per_day < 0:
            raise DataError(f"--acquisition-per-day: {per_day:g}; allowed: a number of customers a day >= 0")
        return Acquisition(float(per_day), "given", "set with --acquisition-per-day", **common)
    if from_date is not None:
        start = pd.Timestamp(from_date).normalize()
        if not (log_first_date < start <= summary.calibration_end):
            raise DataError(f"--acquisition-from: {start.date()} is not inside the calibration period (after "
                            f"{log_first_date.date()}, up to {summary.calibration_end.date()})")
        offset = (start - log_first_date).days
        rate = float((first >= offset).sum()) / (days - offset)
        return Acquisition(rate, "from-date", f"first purchases a day from {start.date()} (--acquisition-from)",
                           **common)
    if first.size == 0 or first.max() < days * (1 - CLOSED_SHARE):
        last = int(first.max()) if first.size else 0
        return Acquisition(0.0, "closed-cohort", f"a closed cohort: no customer first buys after day {last + 1} of "
                           f"{days} (the last {CLOSED_SHARE:.0%} of the period has none), so no acquisition", **common)
    return _curve(first, days, fit, summary.days_per_unit, common)


def _curve(first, days, fit, unit_days, common) -> Acquisition:
    from scipy.optimize import nnls
    r, alpha = fit.params["r"], fit.params["alpha"]
    edges = np.arange(0, days + BIN_DAYS, BIN_DAYS, dtype=float)
    edges[-1] = min(edges[-1], days)
    edges = np.unique(edges)
    counts = np.histogram(first, bins=edges)[0].astype(float)
    g = 1.0 - (alpha / (alpha + edges / unit_days)) ** r
    design = np.column_stack([np.diff(g), np.diff(edges)])
    # weight each week by 1/sqrt(expected count) (Poisson counts: the big early weeks would otherwise decide alone)
    coef, _ = nnls(design, counts)
    for _ in range(3):
        w = 1.0 / np.sqrt(np.maximum(design @ coef, 1.0))
        coef, _ = nnls(design * w[:, None], counts * w)
    n0, rate = float(coef[0]), float(coef[1])
    text = (f"first appearances less the fitted model's appearance curve of an existing base of {n0:,.0f} "
            f"(share seen by t: 1 - (alpha/(alpha+t))^r); the late-third rate, {common['late_rate']:.3g} a day, "
            "still counts the existing base's slow buyers")
    return Acquisition(rate, "appearance-curve", text, existing_base=n0, **common)
