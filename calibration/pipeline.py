"""Calibrate a customer base from a transaction log, end to end.

``calibrate(path)`` reads the log, summarises the customers, fits BG/NBD,
Pareto/NBD and Gamma-Gamma, validates them on the holdout when a calibration end
is given, picks the purchase model, and optionally segments the base. The result
carries everything the CLI reports and the population block scenarios include.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calibration.acquisition import Acquisition
from calibration.acquisition import estimate as estimate_acquisition
from calibration.holdout import Comparison, HoldoutValidation, compare, validate
from calibration.models import PURCHASE_MODELS, bgnbd, gammagamma, paretonbd
from calibration.models.base import ModelFit
from calibration.population import population_block
from calibration.segments import Segment, segment_base
from calibration.summary import CustomerSummary, check_fittable, summarise
from calibration.transactions import TransactionLog, read_transactions
from sim.errors import UserError

MODEL_CHOICES = ("bgnbd", "paretonbd", "best")
LABELS = {bgnbd.NAME: bgnbd.LABEL, paretonbd.NAME: paretonbd.LABEL, gammagamma.NAME: gammagamma.LABEL}
# E[X(t)] horizons reported for a new customer, in days. The published CDNOW
# "52 weeks" figures (1.446 BG/NBD, 1.473 Pareto/NBD) are one year, 365 days.
FORECAST_HORIZONS = {"39_weeks": 273.0, "52_weeks": 364.0, "1_year": 365.0, "78_weeks": 546.0}


@dataclass
class Calibration:
    log: TransactionLog
    summary: CustomerSummary
    fits: dict[str, ModelFit]                       # bgnbd, paretonbd, gammagamma
    comparison: Comparison
    requested_model: str
    validations: dict[str, HoldoutValidation] = field(default_factory=dict)
    segments: list[Segment] | None = None
    acquisition: Acquisition | None = None

    # a launch base that this acquisition rate would more than double within this many days is listed
    # under problems (two years: the horizon of the library's scenarios and of the grocery log)
    DOUBLING_DAYS = 730

    @property
    def purchase_model(self) -> str | None:
        """The purchase model to write: the one asked for, or the better converged one."""
        if self.requested_model != "best":
            return self.requested_model
        return self.comparison.better

    @property
    def purchase_fit(self) -> ModelFit | None:
        return self.fits.get(self.purchase_model) if self.purchase_model else None

    @property
    def spend_fit(self) -> ModelFit:
        return self.fits[gammagamma.NAME]

    def problems(self) -> list[str]:
        """Why parameters cannot be written (empty when they can)."""
        problems = []
        chosen = self.purchase_fit
        if chosen is None:
            problems.append("neither the BG/NBD nor the Pareto/NBD fit converged")
        elif not chosen.converged:
            problems.append(f"the {LABELS[chosen.model]} fit did not converge: {chosen.message}")
        if self.acquisition is not None and self.acquisition.method != "given":
            added = self.acquisition.per_day * self.DOUBLING_DAYS
            if added > self.summary.n_customers:
                problems.append(
                    f"the acquisition estimate, {self.acquisition.per_day:.4g} new customers a day, would add "
                    f"{added:,.0f} customers in two years to a base of {self.summary.n_customers:,} (more than double it); "
                    "if that is right, confirm it with --acquisition-per-day, or say from when first purchases are "
                    "new customers with --acquisition-from DATE")
        if not self.spend_fit.converged:
            problems.append(f"the Gamma-Gamma fit did not converge on the amounts in column "
                            f"'{self.log.columns.get('amount', 'amount')}' of {self.log.source}: {self.spend_fit.message}")
        return problems

    def population_block(self) -> dict:
        """The ``customers:`` block; raises UserError when a needed fit did not converge."""
        problems = self.problems()
        if problems:
            raise UserError("calibrate: " + "; ".join(problems) + "; no parameters written")
        return population_block(self.purchase_fit, self.spend_fit, time_unit=self.summary.time_unit,
                                segments=self.segments, initial=self.summary.n_customers,
                                acquisition_per_day=self.acquisition_per_day)

    @property
    def acquisition_per_day(self) -> float:
        """Genuinely new customers a day (calibration.acquisition: the log's left edge taken out)."""
        return self.acquisition.per_day if self.acquisition is not None else 0.0


def calibrate(
    source,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    date_format: str | None = None,
    returns: str = "net",
    duplicates: str = "keep",
    calibration_end=None,
    holdout_end=None,
    time_unit: str = "week",
    model: str = "best",
    segments: bool = False,
    maxiter: int = 500,
    acquisition_per_day: float | None = None,
    acquisition_from=None,
) -> Calibration:
    """Run the whole calibration on ``source`` (a path, or a :class:`TransactionLog`).

    Raises :class:`sim.errors.DataError` for problems with the data. A fit that
    does not converge is not an exception: it is reported (``converged`` False) and
    :meth:`Calibration.population_block` refuses to produce parameters from it.
    """
    if model not in MODEL_CHOICES:
        raise UserError(f"--model: '{model}' is not a model; allowed: {', '.join(MODEL_CHOICES)}")
    log = source if isinstance(source, TransactionLog) else read_transactions(
        source, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        date_format=date_format, returns=returns, duplicates=duplicates)
    summary = summarise(log, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit)
    check_fittable(summary)

    x, t_x, T = summary.x, summary.t_x, summary.T
    bg = bgnbd.fit(x, t_x, T, maxiter=maxiter)
    # Pareto/NBD starts from the BG/NBD purchase-rate estimates when those are sound.
    start = None
    if bg.converged:
        start = paretonbd.start_values(_compressed(summary), purchase_start=(bg.params["r"], bg.params["alpha"]))
    pnbd = paretonbd.fit(x, t_x, T, start=start, maxiter=maxiter)
    customers = summary.customers
    spend = gammagamma.fit(customers["frequency"].to_numpy(float), customers["monetary_value"].to_numpy(float), maxiter=maxiter)
    fits = {bgnbd.NAME: bg, paretonbd.NAME: pnbd, gammagamma.NAME: spend}

    validations = {}
    if summary.has_holdout:
        for name in PURCHASE_MODELS:
            validations[name] = validate(summary, log, fits[name], spend if spend.converged else None)
    comparison = compare({n: fits[n] for n in PURCHASE_MODELS}, validations or None, LABELS)

    result = Calibration(log=log, summary=summary, fits=fits, comparison=comparison,
                         requested_model=model, validations=validations)
    chosen = result.purchase_fit
    if chosen is not None:
        result.acquisition = estimate_acquisition(summary, log.first_date, chosen, per_day=acquisition_per_day,
                                                  from_date=acquisition_from)
    if segments and not result.problems():
        result.segments = segment_base(summary, result.purchase_fit, spend, maxiter=maxiter)
    return result


def expected_purchases_table(fit: ModelFit, time_unit_days: float) -> dict[str, float]:
    """E[X(t)] for a new customer at the ``FORECAST_HORIZONS``."""
    days = np.array(list(FORECAST_HORIZONS.values()))
    values = fit.expected_purchases(days / time_unit_days)
    return {name: float(v) for name, v in zip(FORECAST_HORIZONS, values)}


def _compressed(summary: CustomerSummary):
    from calibration.models.base import compress
    return compress(summary.x, summary.t_x, summary.T)
