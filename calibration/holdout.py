"""Holdout validation: how well a fitted purchase model predicts what happened next.

Given a calibration end date, the log is split into a calibration period (the
models are fitted on it) and a holdout period that the models never saw. For each
purchase model we report:

``predicted_repeat_purchases``
    the cohort forecast of repeat purchases in the holdout: for every customer,
    E[X(t)] at the holdout end minus E[X(t)] at the calibration end, t measured
    from that customer's own first purchase. This is the figure Fader, Hardie &
    Lee (2005) publish (CDNOW: 1,667 BG/NBD, 1,745 Pareto/NBD, against 1,882).
``conditional_expected_repeat_purchases``
    the sum over customers of E[Y(t) | x, t_x, T], the per-customer forecast that
    uses each customer's own history (CDNOW: about 1,653 and 1,666).
``tracking``
    actual vs predicted cumulative repeat transactions at the end of every period
    (week by default) across calibration and holdout; ``tracking_error`` is the mean
    absolute percentage error of the cumulative curve over the holdout periods.
``by_frequency``
    mean actual vs conditional expected holdout purchases by calibration frequency
    0, 1, ..., 6, 7+.
``correlation`` and ``rmse``
    per customer, between conditional expectation and actual holdout purchases.
``revenue``
    holdout revenue: conditional expected transactions times the Gamma-Gamma
    conditional expected spend per transaction, summed over customers, vs actual.

:func:`compare` turns two validations into a plain-words verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calibration.models.base import ModelFit
from calibration.summary import CustomerSummary
from calibration.transactions import TransactionLog

FREQUENCY_BUCKETS = 7          # 0..6 and "7+"


@dataclass
class HoldoutValidation:
    model: str
    holdout_length: float
    actual_repeat_purchases: int
    predicted_repeat_purchases: float
    conditional_expected_repeat_purchases: float
    correlation: float
    rmse: float
    tracking: pd.DataFrame
    tracking_error: float
    by_frequency: pd.DataFrame
    actual_revenue: float | None = None
    predicted_revenue: float | None = None

    @property
    def error(self) -> float:
        """Relative error of the aggregate holdout forecast (predicted / actual - 1; nan without actual purchases)."""
        if self.actual_repeat_purchases == 0:
            return float("nan")
        return self.predicted_repeat_purchases / self.actual_repeat_purchases - 1.0

    def as_dict(self) -> dict:
        return {
            "holdout_length": self.holdout_length,
            "actual_repeat_purchases": self.actual_repeat_purchases,
            "predicted_repeat_purchases": self.predicted_repeat_purchases,
            "error": self.error,
            "conditional_expected_repeat_purchases": self.conditional_expected_repeat_purchases,
            "correlation": self.correlation,
            "rmse": self.rmse,
            "tracking_error": self.tracking_error,
            "cumulative_at_end": {
                "actual": float(self.tracking["actual_cumulative"].iloc[-1]),
                "predicted": float(self.tracking["predicted_cumulative"].iloc[-1]),
            },
            "actual_revenue": self.actual_revenue,
            "predicted_revenue": self.predicted_revenue,
            "by_frequency": self.by_frequency.to_dict(orient="records"),
            "tracking": self.tracking.assign(
                period_end=self.tracking["period_end"].dt.strftime("%Y-%m-%d")).to_dict(orient="records"),
        }


def validate(summary: CustomerSummary, log: TransactionLog, purchase: ModelFit,
             spend: ModelFit | None = None) -> HoldoutValidation:
    """Compare ``purchase``'s forecasts with the holdout in ``summary`` (needs a calibration end)."""
    if not summary.has_holdout:
        raise ValueError("holdout validation needs a summary built with a calibration end")
    customers = summary.customers
    x, t_x, T = summary.x, summary.t_x, summary.T
    actual = customers["holdout_frequency"].to_numpy(float)
    horizon = summary.holdout_length

    conditional = _per_customer(lambda xs, txs, Ts: purchase.conditional_expected_purchases(horizon, xs, txs, Ts), x, t_x, T)
    tracking, cohort_forecast = _tracking(summary, log, purchase)

    by_frequency = _by_frequency(customers["frequency"].to_numpy(), actual, conditional)
    correlation = float(np.corrcoef(conditional, actual)[0, 1]) if actual.std() > 0 else float("nan")
    rmse = float(np.sqrt(np.mean((conditional - actual) ** 2)))
    holdout_rows = tracking["period_end"] > summary.calibration_end
    tracking_error = _mape(tracking.loc[holdout_rows, "actual_cumulative"], tracking.loc[holdout_rows, "predicted_cumulative"])

    validation = HoldoutValidation(
        model=purchase.model,
        holdout_length=horizon,
        actual_repeat_purchases=int(actual.sum()),
        predicted_repeat_purchases=float(cohort_forecast),
        conditional_expected_repeat_purchases=float(conditional.sum()),
        correlation=correlation,
        rmse=rmse,
        tracking=tracking,
        tracking_error=tracking_error,
        by_frequency=by_frequency,
    )
    if spend is not None:
        per_order = spend.conditional_expected_spend(x, customers["monetary_value"].to_numpy(float))
        validation.actual_revenue = float(customers["holdout_value"].sum())
        validation.predicted_revenue = float(np.sum(conditional * per_order))
    return validation


def _tracking(summary: CustomerSummary, log: TransactionLog, purchase: ModelFit):
    """Cumulative repeat transactions per period, actual and predicted, and the cohort holdout forecast."""
    customers = summary.customers
    unit = summary.days_per_unit
    start = customers["first_purchase"].min()
    end = summary.holdout_end
    first_day = (customers["first_purchase"] - start).dt.days.to_numpy()
    horizon_days = int((end - start).days)

    # E[X] on a grid of whole days, then a convolution with the number of customers
    # who first bought on each day gives the cohort's expected cumulative repeats.
    ex_by_day = np.asarray(purchase.expected_purchases(np.arange(horizon_days + 1) / unit), float)
    newcomers = np.bincount(first_day, minlength=horizon_days + 1).astype(float)
    expected_cumulative = np.convolve(newcomers, ex_by_day)[: horizon_days + 1]

    n_periods = int(np.ceil((horizon_days + 1) / unit))
    period_end = np.minimum(np.round(np.arange(1, n_periods + 1) * unit).astype(int) - 1, horizon_days)

    orders = log.orders
    in_cohort = orders[orders["customer"].isin(customers.index)]
    first_of_row = in_cohort["customer"].map(customers["first_purchase"])
    repeats = in_cohort[(in_cohort["date"] > first_of_row) & (in_cohort["date"] <= end)]
    repeat_day = (repeats["date"] - start).dt.days.to_numpy()
    actual_cumulative = np.cumsum(np.bincount(repeat_day, minlength=horizon_days + 1))

    calibration_day = int((summary.calibration_end - start).days)
    cohort_forecast = expected_cumulative[horizon_days] - expected_cumulative[calibration_day]
    tracking = pd.DataFrame(
        {
            "period": np.arange(1, n_periods + 1),
            "period_end": start + pd.to_timedelta(period_end, unit="D"),
            "actual_cumulative": actual_cumulative[period_end].astype(int),
            "predicted_cumulative": expected_cumulative[period_end],
        }
    )
    return tracking, cohort_forecast


def _per_customer(function, x, t_x, T):
    """Evaluate ``function(x, t_x, T)`` once per distinct (x, t_x, T) and spread it back."""
    frame = pd.DataFrame({"x": x, "t_x": t_x, "T": T})
    group = frame.groupby(["x", "t_x", "T"], sort=False).ngroup().to_numpy()
    first = np.unique(group, return_index=True)[1]
    values = np.asarray(function(x[first], t_x[first], T[first]), float)
    return values[group]


def _by_frequency(frequency, actual, conditional) -> pd.DataFrame:
    bucket = np.minimum(frequency, FREQUENCY_BUCKETS)
    table = pd.DataFrame({"bucket": bucket, "actual": actual, "predicted": conditional})
    grouped = table.groupby("bucket").agg(customers=("actual", "size"), actual_mean=("actual", "mean"),
                                          predicted_mean=("predicted", "mean")).reset_index()
    grouped["frequency"] = [str(b) if b < FREQUENCY_BUCKETS else f"{FREQUENCY_BUCKETS}+" for b in grouped["bucket"]]
    return grouped[["frequency", "customers", "actual_mean", "predicted_mean"]]


def _mape(actual, predicted) -> float:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    keep = actual > 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs(predicted[keep] - actual[keep]) / actual[keep]))


# ----------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Which purchase model fits better, and why, in plain words."""

    better: str | None
    criterion: str
    reasons: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"better": self.better, "criterion": self.criterion, "reasons": list(self.reasons),
                "scores": self.scores, "summary": self.text}

    @property
    def text(self) -> str:
        return " ".join(self.reasons)


def compare(fits: dict[str, ModelFit], validations: dict[str, HoldoutValidation] | None = None,
            labels: dict[str, str] | None = None) -> Comparison:
    """Decide which purchase model fits better.

    Rule: a model that did not converge cannot win. Without a holdout, the higher
    log-likelihood wins (both models have four parameters, so this is also the
    AIC and BIC choice). With a holdout, out-of-sample accuracy decides: each model
    is scored on (1) the error of its aggregate holdout forecast, (2) the tracking
    error of the cumulative curve over the holdout, (3) the per-customer RMSE of
    its conditional expectations; the model that wins at least two of the three
    is the better one.
    """
    labels = labels or {name: name for name in fits}
    usable = [name for name, fit in fits.items() if fit.converged]
    names = list(fits)
    if not usable:
        return Comparison(None, "none converged", ["Neither purchase model converged, so neither can be used."])
    if len(usable) == 1:
        winner = usable[0]
        loser = next(n for n in names if n != winner)
        return Comparison(winner, "only converged model",
                          [f"{labels[winner]} is used because the {labels[loser]} fit did not converge ({fits[loser].message})."])

    a, b = names[0], names[1]
    ll = {n: fits[n].log_likelihood for n in names}
    in_sample = a if ll[a] >= ll[b] else b
    other = b if in_sample == a else a
    ll_sentence = (
        f"In the calibration period {labels[in_sample]} has the higher log-likelihood "
        f"({ll[in_sample]:.2f} vs {ll[other]:.2f}; both have four parameters, so AIC and BIC agree)."
    )
    if not validations:
        return Comparison(in_sample, "log-likelihood", [f"{labels[in_sample]} fits better.", ll_sentence],
                          {"log_likelihood": ll})

    v = validations
    actual = v[a].actual_repeat_purchases
    measures = {
        "holdout error": {n: abs(v[n].error) for n in names},
        "tracking error": {n: v[n].tracking_error for n in names},
        "per-customer RMSE": {n: v[n].rmse for n in names},
    }
    wins = {n: 0 for n in names}
    for values in measures.values():
        if all(np.isfinite(values[n]) for n in names):
            wins[min(names, key=lambda n: values[n])] += 1
    if not any(wins.values()):
        return Comparison(in_sample, "log-likelihood",
                          [f"{labels[in_sample]} fits better.", ll_sentence,
                           "The holdout has no repeat purchases to compare the forecasts with."],
                          {"log_likelihood": ll})
    winner = max(names, key=lambda n: (wins[n], ll[n]))
    loser = b if winner == a else a
    scored = sum(wins.values())
    reasons = [
        f"{labels[winner]} fits better out of sample (best on {wins[winner]} of {scored} holdout measures).",
        f"Holdout repeat purchases: {actual:,} actual; {labels[winner]} predicts {v[winner].predicted_repeat_purchases:,.0f} "
        f"({v[winner].error:+.1%}), {labels[loser]} {v[loser].predicted_repeat_purchases:,.0f} ({v[loser].error:+.1%}).",
        f"Cumulative tracking error over the holdout: {v[winner].tracking_error:.1%} vs {v[loser].tracking_error:.1%}.",
        f"Per customer: RMSE {v[winner].rmse:.3f} vs {v[loser].rmse:.3f}, "
        f"correlation {v[winner].correlation:.3f} vs {v[loser].correlation:.3f}.",
        ll_sentence,
    ]
    if in_sample != winner:
        reasons.append("The holdout decides, because it shows how the models forecast data they have not seen.")
    scores = {"log_likelihood": ll, **{k: dict(val) for k, val in measures.items()}, "wins": wins}
    return Comparison(winner, "holdout accuracy", reasons, scores)
