"""What ``loyalsim calibrate`` prints: one JSON document, or a short text report."""

from __future__ import annotations

from sim.plain import plain

import math

import pandas as pd

from calibration.models import PURCHASE_MODELS, gammagamma
from calibration.pipeline import LABELS, Calibration, expected_purchases_table


def report_dict(result: Calibration) -> dict:
    """Everything about a calibration as plain JSON-able data."""
    summary, log = result.summary, result.log
    unit_days = summary.days_per_unit
    models = {}
    for name in PURCHASE_MODELS:
        fit = result.fits[name]
        entry = _fit_dict(fit)
        entry["expected_purchases"] = expected_purchases_table(fit, unit_days)
        if name in result.validations:
            holdout = result.validations[name].as_dict()
            holdout.pop("tracking")
            holdout.pop("by_frequency")
            entry["holdout"] = holdout
        models[name] = entry
    spend = result.spend_fit
    spend_entry = _fit_dict(spend)
    spend_entry["mean_spend"] = gammagamma.mean_spend(spend.params)
    if result.validations:
        spend_entry["holdout"] = {
            "actual_revenue": next(iter(result.validations.values())).actual_revenue,
            "predicted_revenue": {n: v.predicted_revenue for n, v in result.validations.items()},
        }
    models[gammagamma.NAME] = spend_entry

    problems = result.problems()
    document = {
        "file": log.source,
        "customers": summary.n_customers,
        "transactions": log.n_transactions,
        "repeat_transactions": summary.repeat_transactions,
        "time_unit": summary.time_unit,
        "calibration_end": summary.calibration_end.date().isoformat(),
        "holdout_end": summary.holdout_end.date().isoformat() if summary.has_holdout else None,
        "input": {**log.describe(), "customers_after_calibration_end": summary.customers_after_calibration_end},
        "models": models,
        "comparison": result.comparison.as_dict(),
        "selected_model": result.purchase_model,
        "converged": not problems,
        "problems": problems,
        "holdout": _holdout_tables(result) if result.validations else None,
        "segments": [seg.as_dict() for seg in result.segments] if result.segments else None,
        "population": result.population_block() if not problems else None,
        "initial": summary.n_customers,
        "acquisition": _acquisition_dict(result),
    }
    return _jsonable(document)


def report_text(result: Calibration) -> str:
    """A short human-readable report."""
    summary, log = result.summary, result.log
    out = []
    out.append(f"loyalsim calibrate: {log.source}")
    out.append(f"  {log.rows_read:,} rows read -> {log.n_transactions:,} transactions "
               f"({log.rows_merged:,} same-day rows merged; returns policy '{log.returns_policy}')")
    period = f"calibration to {summary.calibration_end.date()} ({summary.repeat_transactions:,} repeat transactions)"
    if summary.has_holdout:
        period += f"; holdout to {summary.holdout_end.date()} ({summary.holdout_length:.4g} {summary.time_unit}s)"
    out.append(f"  {summary.n_customers:,} customers; {period}")
    out.append("")
    out.append(f"Purchase models (time unit: {summary.time_unit})")
    for name in PURCHASE_MODELS:
        out.append("  " + _fit_line(result.fits[name]))
    horizon = "  E[X(t)], new customer at 39 weeks / 1 year / 78 weeks:"
    for name in PURCHASE_MODELS:
        table = expected_purchases_table(result.fits[name], summary.days_per_unit)
        horizon += f"  {LABELS[name]} " + " / ".join(f"{table[k]:.3f}" for k in ("39_weeks", "1_year", "78_weeks"))
    out.append(horizon)
    spend = result.spend_fit
    out.append(f"Spend per order (Gamma-Gamma, {spend.n_customers:,} customers with a repeat purchase)")
    out.append("  " + _fit_line(spend) + f"  mean {gammagamma.mean_spend(spend.params):,.2f}")

    if result.validations:
        v = result.validations
        names = list(PURCHASE_MODELS)
        out.append("")
        out.append(f"Holdout ({(summary.calibration_end + pd.Timedelta(days=1)).date()} to {summary.holdout_end.date()})")
        out.append(f"  {'':30}{'actual':>10}" + "".join(f"{LABELS[n]:>12}" for n in names))
        first = v[names[0]]
        out.append(f"  {'repeat purchases':30}{first.actual_repeat_purchases:>10,}"
                   + "".join(f"{v[n].predicted_repeat_purchases:>12,.0f}" for n in names))
        out.append(f"  {'error':30}{'':>10}" + "".join(f"{v[n].error:>12.1%}" for n in names))
        out.append(f"  {'sum of conditional E[Y]':30}{'':>10}"
                   + "".join(f"{v[n].conditional_expected_repeat_purchases:>12,.0f}" for n in names))
        out.append(f"  {'correlation per customer':30}{'':>10}" + "".join(f"{v[n].correlation:>12.3f}" for n in names))
        out.append(f"  {'tracking error (cumulative)':30}{'':>10}" + "".join(f"{v[n].tracking_error:>12.1%}" for n in names))
        if first.actual_revenue is not None:
            out.append(f"  {'revenue':30}{first.actual_revenue:>10,.0f}"
                       + "".join(f"{v[n].predicted_revenue:>12,.0f}" for n in names))
        out.append("  mean holdout purchases by calibration frequency:")
        table = _holdout_tables(result)["by_frequency"]
        out.append(f"    {'x':>4}{'customers':>11}{'actual':>9}" + "".join(f"{LABELS[n]:>12}" for n in names))
        for row in table:
            out.append(f"    {row['frequency']:>4}{row['customers']:>11,}{row['actual_mean']:>9.2f}"
                       + "".join(f"{row[n]:>12.2f}" for n in names))
    out.extend(_acquisition_lines(result))
    out.append("")
    out.append("Comparison: " + result.comparison.text)
    problems = result.problems()
    if problems:
        out.append("Not written: " + "; ".join(problems) + ".")
    else:
        out.append(f"Purchase model for the population block: {LABELS[result.purchase_model]}"
                   + (" (best fit)" if result.requested_model == "best" else " (--model)"))
    if result.segments:
        out.append("")
        out.append("Segments (RFM)")
        for seg in result.segments:
            purchase = "fitted" if seg.purchase_source.startswith("fitted") else "population"
            spend_src = "fitted" if seg.spend_source.startswith("fitted") else "population"
            out.append(f"  {seg.name:<12} {seg.share:>6.1%}  {seg.customers:>7,} customers  mean order "
                       f"{seg.mean_order_value:>8.2f}  purchase: {purchase}, spend: {spend_src}")
            for source in (seg.purchase_source, seg.spend_source):
                if not source.startswith("fitted"):
                    out.append(f"      {source}")
    return "\n".join(out)


def _acquisition_dict(result: Calibration) -> dict | None:
    acq = result.acquisition
    if acq is None:
        return None
    n = result.summary.n_customers
    return {**acq.as_dict(), "initial": n, "log_customers": result.log.n_customers,
            "per_year": acq.per_day * 365.0, "per_year_share_of_base": acq.per_day * 365.0 / n if n else None,
            "initial_note": _initial_note(result)}


def _initial_note(result: Calibration) -> str:
    later = result.summary.customers_after_calibration_end
    text = f"initial {result.summary.n_customers:,}: the customers the fit counts (first purchase by the calibration end)"
    if later:
        text += f"; the log's {later:,} customers first seen after the calibration end are not in it"
    return text


def _acquisition_lines(result: Calibration) -> list[str]:
    acq = result.acquisition
    if acq is None:
        return []
    n = result.summary.n_customers
    year = acq.per_day * 365.0
    out = ["", "Base and acquisition",
           f"  launch base (initial): {n:,} customers; " + _initial_note(result).split(": ", 1)[1],
           f"  new customers: {acq.per_day:.4g} a day ({acq.method}: {acq.explanation})",
           f"  sanity: {year:,.0f} new customers a year = {year / n:.1%} of the launch base"
           if n else "  sanity: no base"]
    if acq.naive_rate is not None and acq.method != "given":
        out.append(f"  (counting every first purchase in the log as new would say {acq.naive_rate:.4g} a day)")
    return out


def _holdout_tables(result: Calibration) -> dict:
    names = list(result.validations)
    first = result.validations[names[0]]
    tracking = first.tracking[["period", "period_end", "actual_cumulative"]].copy()
    tracking["period_end"] = tracking["period_end"].dt.strftime("%Y-%m-%d")
    by_frequency = first.by_frequency[["frequency", "customers", "actual_mean"]].copy()
    for name in names:
        tracking[name] = result.validations[name].tracking["predicted_cumulative"].to_numpy()
        by_frequency[name] = result.validations[name].by_frequency["predicted_mean"].to_numpy()
    return {
        "actual_repeat_purchases": first.actual_repeat_purchases,
        "by_frequency": by_frequency.to_dict(orient="records"),
        "tracking": tracking.to_dict(orient="records"),
    }


def _fit_dict(fit) -> dict:
    return {
        "params": dict(fit.params),
        "standard_errors": dict(fit.standard_errors),
        "log_likelihood": fit.log_likelihood,
        "converged": fit.converged,
        "message": fit.message,
        "n_customers": fit.n_customers,
        "iterations": fit.iterations,
        "seconds": fit.seconds,
    }


def _fit_line(fit) -> str:
    parts = []
    for name, value in fit.params.items():
        se = fit.standard_errors.get(name, float("nan"))
        parts.append(f"{name} {_num(value)} ± {_num(se)}")
    status = "converged" if fit.converged else f"NOT CONVERGED ({fit.message})"
    return f"{LABELS[fit.model]:<11} " + ", ".join(parts) + f"   LL {fit.log_likelihood:,.2f}   {status}"


def _num(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _jsonable(value):
    """JSON-ready (sim.plain): dates as text, undefined numbers as null."""
    return plain(value)

