"""Per-customer summary of a transaction log: frequency, recency, age, spend.

This is RFM in the "buy till you die" sense, measured from each customer's first
purchase (the cohort convention of Fader, Hardie & Lee 2005):

``frequency`` (x)
    repeat transactions in the calibration period (transactions after the first).
``recency`` (t_x)
    time from the first purchase to the last calibration-period purchase (0 if x = 0).
``T``
    time from the first purchase to the end of the calibration period.
``monetary_value`` (zbar)
    mean value of the repeat transactions (0 if x = 0); the first purchase is left
    out, as in the Gamma-Gamma literature and the CDNOW summary files.
``mean_order_value``
    mean value of all calibration-period transactions, first included (used by RFM
    segmentation).
``holdout_frequency`` / ``holdout_value``
    transactions and revenue after the calibration end, up to the holdout end
    (only when a calibration end is given).

Times are in ``time_unit``: day, week (days / 7, the default and the CDNOW
convention), month (days / 30.4375) or year (days / 365.25). Customers whose
first purchase falls after the calibration end are not part of the calibration
cohort and are left out (counted in ``customers_after_calibration_end``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.transactions import TransactionLog
from sim.errors import DataError

DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12.0, "year": 365.25}

# A fit with four parameters needs a base, and repeat buyers to learn from.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 3


@dataclass
class CustomerSummary:
    """One row per customer of the calibration cohort (index: customer id)."""

    customers: pd.DataFrame
    time_unit: str
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp | None
    source: str
    customers_after_calibration_end: int = 0

    @property
    def days_per_unit(self) -> float:
        return DAYS_PER_UNIT[self.time_unit]

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def x(self) -> np.ndarray:
        return self.customers["frequency"].to_numpy(dtype=float)

    @property
    def t_x(self) -> np.ndarray:
        return self.customers["recency"].to_numpy(dtype=float)

    @property
    def T(self) -> np.ndarray:
        return self.customers["T"].to_numpy(dtype=float)

    @property
    def repeat_transactions(self) -> int:
        return int(self.customers["frequency"].sum())

    @property
    def has_holdout(self) -> bool:
        return self.holdout_end is not None

    @property
    def holdout_length(self) -> float:
        """Length of the holdout period in ``time_unit`` (0 without a holdout)."""
        if self.holdout_end is None:
            return 0.0
        return (self.holdout_end - self.calibration_end).days / self.days_per_unit

    def subset(self, mask) -> "CustomerSummary":
        """The summary of some of the customers (e.g. one segment)."""
        return CustomerSummary(self.customers[np.asarray(mask)], self.time_unit, self.calibration_end,
                               self.holdout_end, self.source)


def summarise(
    log: TransactionLog,
    *,
    calibration_end=None,
    holdout_end=None,
    time_unit: str = "week",
) -> CustomerSummary:
    """Build the per-customer summary of ``log``.

    ``calibration_end`` (a date, inclusive) splits the log into a calibration period
    and a holdout running to ``holdout_end`` (default: the last date in the log).
    Without it, the whole log is the calibration period and there is no holdout.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise DataError(f"--time-unit: '{time_unit}' is not a time unit; allowed: {', '.join(DAYS_PER_UNIT)}")
    orders = log.orders
    first_day, last_day = log.first_date, log.last_date

    end = _as_day(calibration_end, "--calibration-end") if calibration_end is not None else last_day
    holdout = None
    if calibration_end is not None:
        holdout = _as_day(holdout_end, "holdout end") if holdout_end is not None else last_day
        if end < first_day or end >= last_day:
            raise DataError(
                f"--calibration-end: {end.date()} is outside the log {log.source}, which runs from "
                f"{first_day.date()} to {last_day.date()}; pick a date in between so that both a calibration "
                "period and a holdout remain"
            )
        if holdout <= end:
            raise DataError(f"holdout end {holdout.date()} must be after --calibration-end {end.date()}")

    first = orders.groupby("customer", sort=True, observed=True)["date"].min()
    first = first[first <= end]
    unit = DAYS_PER_UNIT[time_unit]

    # Position every order relative to its customer's first purchase.
    cohort = orders[orders["customer"].isin(first.index)]
    first_of_row = cohort["customer"].map(first)
    in_calibration = cohort["date"] <= end
    repeat = in_calibration & (cohort["date"] > first_of_row)
    calibration = cohort[in_calibration]
    repeats = cohort[repeat]

    frequency = repeats.groupby("customer", observed=True).size().reindex(first.index, fill_value=0)
    last = calibration.groupby("customer", observed=True)["date"].max().reindex(first.index)
    zbar = repeats.groupby("customer", observed=True)["amount"].mean().reindex(first.index, fill_value=0.0)
    mean_order = calibration.groupby("customer", observed=True)["amount"].mean().reindex(first.index)

    table = pd.DataFrame(
        {
            "first_purchase": first,
            "frequency": frequency.astype(np.int64),
            "recency": (last - first).dt.days / unit,
            "T": (end - first).dt.days / unit,
            "monetary_value": zbar.astype(float),
            "mean_order_value": mean_order.astype(float),
        }
    )
    if holdout is not None:
        later = cohort[(cohort["date"] > end) & (cohort["date"] <= holdout)]
        table["holdout_frequency"] = later.groupby("customer", observed=True).size().reindex(first.index, fill_value=0)
        table["holdout_value"] = later.groupby("customer", observed=True)["amount"].sum().reindex(first.index, fill_value=0.0)
    table.index.name = "customer"
    return CustomerSummary(
        customers=table,
        time_unit=time_unit,
        calibration_end=end,
        holdout_end=holdout,
        source=log.source,
        customers_after_calibration_end=int(log.n_customers - len(first)),
    )


def check_fittable(summary: CustomerSummary) -> None:
    """Raise :class:`DataError` when the log is too small or too short to fit the models."""
    where = summary.source
    if summary.n_customers < MIN_CUSTOMERS:
        raise DataError(
            f"{where}: only {summary.n_customers} customers bought before the calibration end; "
            f"fitting needs at least {MIN_CUSTOMERS} customers"
        )
    customers = summary.customers
    repeaters = int((customers["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise DataError(
            f"{where}: only {repeaters} customers bought more than once in the calibration period "
            f"(to {summary.calibration_end.date()}); fitting needs repeat purchases from at least "
            f"{MIN_REPEAT_CUSTOMERS} customers - use a longer log or a later --calibration-end"
        )
    spenders = int(((customers["frequency"] > 0) & (customers["monetary_value"] > 0)).sum())
    if spenders < MIN_REPEAT_CUSTOMERS:
        raise DataError(
            f"{where}: only {spenders} repeat buyers have repeat purchases worth more than 0; the spend model "
            f"needs at least {MIN_REPEAT_CUSTOMERS} (check the amount column and --returns)"
        )


def _as_day(value, field: str) -> pd.Timestamp:
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"{field}: '{value}' is not a date; use YYYY-MM-DD") from None
    if pd.isna(day):
        raise DataError(f"{field}: '{value}' is not a date; use YYYY-MM-DD")
    return day.normalize()
