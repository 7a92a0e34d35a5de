"""RFM segmentation of the calibration base into scenario segments.

Scores. Each customer gets a score from 1 to 5 on

- R, recency: time since their last purchase, T - t_x (more recent scores higher);
- F, frequency: repeat purchases x;
- M, monetary: mean order value in the calibration period (first purchase included).

A score is 1 + the number of whole fifths of the base that rank strictly below the
customer (capped at 5). Quintiles with ties: customers with equal values share a
score, and the least active tie group scores 1. (On CDNOW, where 60% never repeat,
all one-time buyers get F = 1 and a single repeat already scores F = 4.)

Segments, first matching rule wins (every customer matches exactly one):

============  ===========================  =======================================
segment       rule                         meaning
============  ===========================  =======================================
champions     R >= 4 and F >= 4            buy often and recently
loyal         R >= 3 and F >= 3            buy often, still active
at_risk       R <= 2 and F >= 3            used to buy often, have gone quiet
new           x = 0 and R >= 4             one purchase, and a recent one
promising     R >= 3 and F <= 2            recent, not yet frequent
hibernating   R <= 2 and F <= 2            bought little, long ago
============  ===========================  =======================================

M does not decide the segment (spend enters through each segment's own
Gamma-Gamma fit); it is reported as the segment's mean order value and mean M.

Per segment we fit the chosen purchase model and Gamma-Gamma on the segment's
customers. A segment with fewer than ``MIN_SEGMENT_CUSTOMERS`` customers or
``MIN_SEGMENT_REPEATERS`` repeat buyers, or whose fit does not converge, gets the
population's parameters instead, and says so (``purchase_source`` /
``spend_source``). Note that segments are defined on calibration behaviour, so a
segment's fitted parameters describe "customers who looked like this", not a
random draw of the base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.models import PURCHASE_MODELS, gammagamma
from calibration.models.base import ModelFit
from calibration.summary import CustomerSummary

MIN_SEGMENT_CUSTOMERS = 100
MIN_SEGMENT_REPEATERS = 20
MIN_SEGMENT_SPENDERS = 20

SEGMENT_RULES = (
    ("champions", "R >= 4 and F >= 4", lambda R, F, x: (R >= 4) & (F >= 4)),
    ("loyal", "R >= 3 and F >= 3", lambda R, F, x: (R >= 3) & (F >= 3)),
    ("at_risk", "R <= 2 and F >= 3", lambda R, F, x: (R <= 2) & (F >= 3)),
    ("new", "x = 0 and R >= 4", lambda R, F, x: (x == 0) & (R >= 4)),
    ("promising", "R >= 3 and F <= 2", lambda R, F, x: (R >= 3) & (F <= 2)),
    ("hibernating", "R <= 2 and F <= 2", lambda R, F, x: (R <= 2) & (F <= 2)),
)


@dataclass
class Segment:
    name: str
    rule: str
    customers: int
    share: float
    purchase: dict
    purchase_source: str          # "fitted on the segment" or why the population's parameters are used
    spend: dict
    spend_source: str
    mean_order_value: float
    mean_scores: dict

    def as_dict(self) -> dict:
        return dict(vars(self))


def quintile_score(values) -> np.ndarray:
    """1 + whole fifths of the base strictly below each value (higher value, higher score)."""
    values = np.asarray(values, float)
    ordered = np.sort(values)
    below = np.searchsorted(ordered, values, side="left")
    return np.minimum(1 + (5 * below) // len(values), 5).astype(int)


def rfm_scores(summary: CustomerSummary) -> pd.DataFrame:
    """R, F, M scores and the segment name of every customer."""
    c = summary.customers
    R = quintile_score(-(c["T"] - c["recency"]).to_numpy())
    F = quintile_score(c["frequency"].to_numpy())
    M = quintile_score(c["mean_order_value"].to_numpy())
    x = c["frequency"].to_numpy()
    segment = np.full(len(c), "", dtype=object)
    for name, _, rule in SEGMENT_RULES:
        pick = (segment == "") & rule(R, F, x)
        segment[pick] = name
    return pd.DataFrame({"R": R, "F": F, "M": M, "segment": segment}, index=c.index)


def segment_base(summary: CustomerSummary, purchase: ModelFit, spend: ModelFit, *, maxiter: int = 500) -> list[Segment]:
    """Split the base into RFM segments with their own (or the population's) parameters.

    Shares are the segments' fractions of the base; they sum to 1.
    """
    scores = rfm_scores(summary)
    model = PURCHASE_MODELS[purchase.model]
    n = summary.n_customers
    segments = []
    for name, rule, _ in SEGMENT_RULES:
        mask = (scores["segment"] == name).to_numpy()
        count = int(mask.sum())
        if count == 0:
            continue
        part = summary.subset(mask)
        c = part.customers
        purchase_params, purchase_source = _segment_purchase(model, part, purchase, maxiter)
        spend_params, spend_source = _segment_spend(c, spend, maxiter)
        segments.append(
            Segment(
                name=name,
                rule=rule,
                customers=count,
                share=count / n,
                purchase=purchase_params,
                purchase_source=purchase_source,
                spend=spend_params,
                spend_source=spend_source,
                mean_order_value=float(c["mean_order_value"].mean()),
                mean_scores={k: float(scores.loc[mask, k].mean()) for k in ("R", "F", "M")},
            )
        )
    return segments


def _segment_purchase(model, part: CustomerSummary, population: ModelFit, maxiter: int):
    repeaters = int((part.customers["frequency"] > 0).sum())
    if part.n_customers < MIN_SEGMENT_CUSTOMERS:
        return dict(population.params), (f"population parameters: only {part.n_customers} customers "
                                         f"(fitting needs {MIN_SEGMENT_CUSTOMERS})")
    if repeaters < MIN_SEGMENT_REPEATERS:
        return dict(population.params), (f"population parameters: only {repeaters} repeat buyers "
                                         f"(fitting needs {MIN_SEGMENT_REPEATERS})")
    fit = model.fit(part.x, part.t_x, part.T, start=population.params, maxiter=maxiter)
    if not fit.converged:
        return dict(population.params), f"population parameters: the segment fit did not converge ({fit.message})"
    return dict(fit.params), "fitted on the segment"


def _segment_spend(customers: pd.DataFrame, population: ModelFit, maxiter: int):
    x = customers["frequency"].to_numpy(float)
    zbar = customers["monetary_value"].to_numpy(float)
    spenders = int(gammagamma.spenders(x, zbar).sum())
    if spenders < MIN_SEGMENT_SPENDERS:
        return dict(population.params), (f"population parameters: only {spenders} repeat buyers with spend "
                                         f"(fitting needs {MIN_SEGMENT_SPENDERS})")
    fit = gammagamma.fit(x, zbar, start=population.params, maxiter=maxiter)
    if not fit.converged:
        return dict(population.params), f"population parameters: the segment fit did not converge ({fit.message})"
    return dict(fit.params), "fitted on the segment"
