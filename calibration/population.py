"""The ``customers:`` population block that scenarios include.

This is the contract with the engine. Layout (values from CDNOW)::

    # written by loyalsim calibrate from <file> on <date>; <n> customers, <m> transactions
    customers:
      initial: 2357            # the log's customers: the base at launch
      time_unit: week          # the unit of alpha (and beta): day, week, month or year
      purchase:
        model: bgnbd           # or paretonbd
        r: 0.243
        alpha: 4.414
        a: 0.793               # bgnbd: a, b; paretonbd: s, beta
        b: 2.426
      spend:                   # Gamma-Gamma, currency per order
        p: 6.25
        q: 3.74
        gamma: 15.44
      acquisition:
        per_day: 4.317         # new customers a day observed over the calibration period
      segments:                # only with --segments; shares sum to 1
        - name: champions
          share: 0.12
          purchase: {model: bgnbd, r: ..., alpha: ..., a: ..., b: ...}
          spend: {p: ..., q: ..., gamma: ...}

Parameters are written with 6 significant digits. Each segment is preceded by a
comment saying whether its parameters were fitted on the segment or are the
population's (and why).
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import yaml

from calibration.models import PURCHASE_MODELS, gammagamma
from calibration.models.base import ModelFit
from calibration.summary import DAYS_PER_UNIT
from sim.errors import UserError

SIGNIFICANT_DIGITS = 6


def population_block(purchase: ModelFit, spend: ModelFit, *, time_unit: str = "week", segments=None,
                     initial: int | None = None, acquisition_per_day: float | None = None) -> dict:
    """The population block as a dict: ``{"customers": {...}}``.

    ``purchase`` is a BG/NBD or Pareto/NBD fit (or any object with ``model`` and
    ``params``), ``spend`` a Gamma-Gamma fit, ``segments`` a list of
    :class:`calibration.segments.Segment` (optional). ``initial`` (the log's
    customers) and ``acquisition_per_day`` (new customers a day over the
    calibration period) size the base, so a scenario built on the block simulates
    the log's business rather than the schema's default 10,000 customers.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise UserError(f"time_unit: '{time_unit}' is not allowed; use one of {', '.join(DAYS_PER_UNIT)}")
    customers = {}
    if initial is not None:
        customers["initial"] = int(initial)
    customers.update({
        "time_unit": time_unit,
        "purchase": _purchase(purchase.model, purchase.params),
        "spend": _spend(spend.params),
    })
    if acquisition_per_day is not None:
        customers["acquisition"] = {"per_day": float(f"{float(acquisition_per_day):.4g}")}
    if segments:
        shares = _shares_summing_to_one([seg.share for seg in segments])
        customers["segments"] = [
            {
                "name": seg.name,
                "share": share,
                "purchase": _purchase(purchase.model, seg.purchase),
                "spend": _spend(seg.spend),
            }
            for seg, share in zip(segments, shares)
        ]
    return {"customers": customers}


def format_population_block(block: dict, *, source: str, n_customers: int, n_transactions: int,
                            segments=None, date: _dt.date | None = None, calibration_end=None) -> str:
    """YAML text of ``block`` with the provenance comment line (and a comment per segment)."""
    date = date or _dt.date.today()
    header = (f"# written by loyalsim calibrate from {source} on {date.isoformat()}; "
              f"{n_customers} customers, {n_transactions} transactions\n")
    if calibration_end is not None:
        header += f"# calibration end: {calibration_end}\n"
    customers = block["customers"]
    if "initial" in customers or "acquisition" in customers:
        header += ("# initial: the calibration cohort, the customers the fit counts (the base at launch); "
                   "acquisition.per_day:\n# genuinely new customers a day, the log's left edge taken out "
                   "(loyalsim calibrate prints how)\n")
    if "twin" in customers:
        header += ("# twin: the real customers at the calibration end (relative to this file); start a scenario "
                   "from them\n# with customers: {include: THIS_FILE, start: twin}\n")
    body = {k: v for k, v in customers.items() if k != "segments"}
    text = yaml.safe_dump({"customers": body}, sort_keys=False, default_flow_style=False)
    if "segments" in customers:
        lines = ["  segments:"]
        by_name = {seg.name: seg for seg in (segments or [])}
        for entry in customers["segments"]:
            seg = by_name.get(entry["name"])
            if seg is not None:
                lines.append(f"    # {seg.name} ({seg.rule}): {seg.customers} customers; purchase: "
                             f"{seg.purchase_source}; spend: {seg.spend_source}")
            lines.append(f"    - name: {entry['name']}")
            lines.append(f"      share: {entry['share']!r}")
            lines.append(f"      purchase: {_flow(entry['purchase'])}")
            lines.append(f"      spend: {_flow(entry['spend'])}")
        text += "\n".join(lines) + "\n"
    return header + text


def uncertainty_block(purchase_fit, spend_fit) -> dict:
    """The fitted parameters' estimation error as a scenario ``uncertainty:`` block.

    Maximum likelihood is fitted on log parameters, so their asymptotic
    distribution is normal on that scale: each parameter a lognormal (median the
    estimate, sigma its log standard error), joined by a Gaussian copula with the
    log-scale correlations of the inverse Hessian. ``loyalsim psa`` then carries
    the customer base's estimation error into the answer.
    """
    params, pairs, groups = {}, [], {}
    for fit, prefix, label in ((purchase_fit, "customers.purchase", "customer base: purchasing"),
                               (spend_fit, "customers.spend", "customer base: spend")):
        if fit is None or fit.log_covariance is None:
            continue
        names = list(fit.params)
        cov = [[float(x) for x in row] for row in fit.log_covariance]
        sd = [math.sqrt(max(cov[i][i], 0.0)) for i in range(len(names))]
        fields = [f"{prefix}.{n}" for n in names]
        for f, n, s in zip(fields, names, sd):
            params[f] = {"dist": "lognormal", "median": _round(fit.params[n]), "sigma": _round(s)}
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if sd[i] > 0 and sd[j] > 0:
                    rho = cov[i][j] / (sd[i] * sd[j])
                    pairs.append([fields[i], fields[j], _round(max(min(rho, 0.999), -0.999))])
        groups[label] = fields
    return {"uncertainty": {"defaults": True, "parameters": params, "correlation": pairs, "groups": groups}}


def write_uncertainty_block(path, block: dict, source=None) -> Path:
    """Write the uncertainty block (include it in a scenario as ``uncertainty: {include: FILE}``)."""
    import yaml
    path = Path(path)
    header = ("# written by loyalsim calibrate" + (f" from {source}" if source else "") + ": the fitted parameters'\n"
              "# estimation error (lognormal, correlated as the likelihood says). In a scenario built on this base:\n"
              f"#   uncertainty: {{include: {path.name}}}\n# and loyalsim psa draws the customer base with the "
              "behavioural assumptions.\n")
    try:
        path.write_text(header + yaml.safe_dump(block, sort_keys=False), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {path}: cannot write the uncertainty block: {exc.strerror or exc}") from None
    return path


def write_population_block(path, block: dict, **provenance) -> Path:
    """Write the block to ``path`` (YAML); see :func:`format_population_block` for ``provenance``."""
    path = Path(path)
    text = format_population_block(block, **provenance)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {path}: cannot write the population block: {exc.strerror or exc}") from None
    return path


def _purchase(model: str, params: dict) -> dict:
    names = PURCHASE_MODELS[model].PARAMS
    return {"model": model, **{name: _round(params[name]) for name in names}}


def _spend(params: dict) -> dict:
    return {name: _round(params[name]) for name in gammagamma.PARAMS}


def _round(value: float) -> float:
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" if not isinstance(v, str) else f"{k}: {v}" for k, v in mapping.items()) + "}"


def _shares_summing_to_one(shares: list[float]) -> list[float]:
    """Round shares to 6 decimals and put the rounding residue on the largest, so they sum to 1."""
    rounded = [round(s, 6) for s in shares]
    largest = max(range(len(rounded)), key=lambda i: rounded[i])
    rounded[largest] = round(1.0 - math.fsum(r for i, r in enumerate(rounded) if i != largest), 6)
    return rounded
