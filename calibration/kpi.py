"""Calibration from the KPIs a business knows, when there is no transaction log.

Simulated method of moments with the engine itself: find BG/NBD population
parameters (r, alpha, a, b) and the Gamma-Gamma spend scale whose simulated
KPIs — yearly retention (CRR), average check, purchases per active customer per
year, repeat purchase rate, loyal share — match the targets. The simulation
uses one fixed seed (common random numbers), so the objective is a smooth
function of the parameters up to the base's granularity, and Nelder-Mead finds
it in a few dozen runs of a few thousand customers.

Targets that cannot hold together are said plainly: first by necessary
conditions (e.g. a loyal share of customers with k+ orders a year needs at
least k x that share purchases per active customer), then by the fit: a KPI
still off by more than the tolerance after the best fit is reported as in
conflict with the others.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from sim.errors import DataError

KPIS = ("retention_rate", "average_check", "purchase_frequency", "repeat_purchase_rate", "loyal_share")
ALIASES = {"purchases_per_year": "purchase_frequency", "retention": "retention_rate", "avg_check": "average_check"}
# Gamma-Gamma shapes kept at the CDNOW fit (Fader, Hardie & Lee 2005b); only the scale is fitted to the check.
SPEND_P, SPEND_Q = 6.25, 3.74
# Dropout heterogeneity a is fixed unless the repeat purchase rate is a target (it is what identifies it);
# 1.5 is a middle value between the CDNOW fit (0.79) and flatter retail bases.
DEFAULT_A = 1.5


@dataclass
class KpiTargets:
    targets: dict
    customers: int = 10000
    history_days: int = 1095
    loyal_min_orders: int = 3
    activity_window_days: int = 365
    file: str = "<targets>"


@dataclass
class KpiFit:
    params: dict
    spend: dict
    achieved: dict
    targets: dict
    errors: dict
    within_tolerance: bool
    conflicts: list = field(default_factory=list)
    evaluations: int = 0
    tolerance: float = 0.02

    def block(self, customers: int, history_days: int) -> dict:
        """The scenario population block (the same contract as a log calibration writes)."""
        return {"customers": {
            "initial": int(customers), "start": "mature", "history_days": int(history_days), "time_unit": "week",
            "purchase": {"model": "bgnbd", **{k: float(round(v, 6)) for k, v in self.params.items()}},
            "spend": {k: float(round(v, 6)) for k, v in self.spend.items()},
        }}


def read_targets(path) -> KpiTargets:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of KPI: value (allowed: {', '.join(KPIS)}, customers)")
    raw = {ALIASES.get(k, k): v for k, v in raw.items()}
    settings = {"customers": 10000, "history_days": 1095, "loyal_min_orders": 3, "activity_window_days": 365}
    targets = {}
    for k, v in raw.items():
        if k in settings:
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise DataError(f"{path}: {k}: got {v!r}; allowed: a whole number >= 1")
            settings[k] = v
            continue
        if k not in KPIS:
            import difflib
            hint = difflib.get_close_matches(k, list(KPIS) + list(settings), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise DataError(f"{path}: {k}: unknown KPI{extra} (allowed: {', '.join(KPIS)}, customers, history_days)")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise DataError(f"{path}: {k}: got {v!r}; allowed: a positive number")
        if k in ("retention_rate", "repeat_purchase_rate", "loyal_share") and v >= 1:
            raise DataError(f"{path}: {k}: got {v!r}; allowed: a share between 0 and 1 (e.g. 0.6 for 60%)")
        targets[k] = float(v)
    if not targets:
        raise DataError(f"{path}: no KPI given (allowed: {', '.join(KPIS)})")
    return KpiTargets(targets=targets, file=str(path), **settings)


def necessary_conflicts(t: KpiTargets) -> list[str]:
    """Contradictions visible before any simulation."""
    out = []
    g = t.targets
    if "loyal_share" in g and "purchase_frequency" in g:
        need = g["loyal_share"] * t.loyal_min_orders
        if need > g["purchase_frequency"]:
            out.append(f"loyal_share {g['loyal_share']:.0%} means at least {need:.2f} purchases per active customer "
                       f"a year ({t.loyal_min_orders}+ orders each), more than purchase_frequency {g['purchase_frequency']:g}")
    if "repeat_purchase_rate" in g and "loyal_share" in g and g["loyal_share"] > g["repeat_purchase_rate"]:
        out.append(f"loyal_share {g['loyal_share']:.0%} cannot exceed repeat_purchase_rate {g['repeat_purchase_rate']:.0%} "
                   "(every loyal customer is a repeat buyer)")
    if "purchase_frequency" in g and g["purchase_frequency"] < 1.0:
        out.append(f"purchase_frequency {g['purchase_frequency']:g} is below 1: every active customer bought at least once "
                   "in the year")
    return out


def _scenario(params, spend, t: KpiTargets, customers, seed):
    from sim.scenario import validate
    raw = {
        "name": "kpi calibration", "horizon_days": 365, "replications": 1, "seed": seed,
        "customers": {"initial": customers, "start": "mature", "history_days": t.history_days, "time_unit": "week",
                      "purchase": {"model": "bgnbd", **params}, "spend": spend},
        "metrics": {"loyal_min_orders": t.loyal_min_orders, "activity_window_days": t.activity_window_days},
    }
    return validate(raw, file=t.file)


def simulate_kpis(params, spend, t: KpiTargets, customers=None, seed=20240601) -> dict:
    """The no-programme KPIs of a base with these parameters (one replication, fixed seed)."""
    from sim.engine import LoyaltyModel
    from sim.metrics import arm_metrics
    from sim.runner import launch_base
    sc = _scenario(params, spend, t, customers or t.customers, seed)
    base = launch_base(sc, seed)
    m = LoyaltyModel(sc, seed, programme=None, customers=base).run()
    return {k: v for k, v in arm_metrics(m).items() if k in KPIS}


def _unpack(x, a_free):
    r = math.exp(x[0])
    lam = math.exp(x[1])           # mean purchase rate per week while alive
    pbar = 1.0 / (1.0 + math.exp(-x[2]))  # mean dropout probability per repeat order
    a = math.exp(x[3]) if a_free else DEFAULT_A
    return {"r": r, "alpha": r / lam, "a": a, "b": a * (1.0 - pbar) / pbar}


def fit_kpis(t: KpiTargets, fit_customers=None, tolerance=0.02, maxiter=150, seed=20240601) -> KpiFit:
    """Fit on a simulated base of ``fit_customers`` (default: the target base size, at most 20,000).

    Achieved KPIs are those of the fitted simulation itself (the same seed), so
    they are free of sampling noise; a base of N customers simulated at another
    seed scatters around them by the usual binomial error (about 1/sqrt(N)).
    """
    fit_customers = fit_customers or min(t.customers, 20000)
    g = t.targets
    spend = {"p": SPEND_P, "q": SPEND_Q, "gamma": g.get("average_check", 35.2) * (SPEND_Q - 1) / SPEND_P}
    a_free = True  # the dropout heterogeneity shapes loyal share and retention together
    freq = g.get("purchase_frequency", 2.0)
    ret = g.get("retention_rate", 0.6)
    # start: a rate that gives the frequency, a dropout that gives roughly the retention
    x0 = [math.log(1.0), math.log(freq / 52.0), math.log(max(1 - ret, 0.05) / max(ret, 0.05) * 0.3)]
    if a_free:
        x0.append(math.log(DEFAULT_A))
    fitted = {k: v for k, v in g.items() if k != "average_check"}
    evals = 0

    keys = list(fitted)

    def residuals(x):
        nonlocal evals
        evals += 1
        params = _unpack(x, a_free)
        if not (1e-3 < params["r"] < 100 and params["b"] > 1e-3 and params["alpha"] < 1e6):
            return np.full(len(keys), 10.0)
        sim = simulate_kpis(params, spend, t, fit_customers, seed)
        return np.array([(sim[k] - fitted[k]) / fitted[k] if sim[k] == sim[k] else 10.0 for k in keys])

    # a small space-filling design around the start, then Levenberg-Marquardt from the best point
    from scipy.stats import qmc
    design = qmc.Sobol(d=len(x0), scramble=True, seed=seed).random(16)
    spans = np.array([2.0, 0.8, 1.6, 1.2][: len(x0)])
    points = np.asarray(x0) + (design - 0.5) * spans
    scored = []
    for pt in points:
        f = residuals(pt)
        scored.append((float(f @ f), pt))
    scored.sort(key=lambda s: s[0])
    # Nelder-Mead copes with the small steps a finite base puts in the objective
    from scipy.optimize import minimize
    res = minimize(lambda x: float(np.sum(residuals(x) ** 2)), scored[0][1], method="Nelder-Mead",
                   options={"maxfev": maxiter, "xatol": 1e-3, "fatol": 1e-6,
                            "initial_simplex": _simplex(scored[0][1])})
    best = (res.fun, res.x)
    params = _unpack(best[1], a_free)
    # the check is driven by the spend scale alone: rescale it to the simulated order mix
    achieved = simulate_kpis(params, spend, t, fit_customers, seed)
    if "average_check" in g and achieved["average_check"]:
        spend["gamma"] *= g["average_check"] / achieved["average_check"]
        achieved = simulate_kpis(params, spend, t, fit_customers, seed)
    errors = {k: (achieved[k] - v) / v for k, v in g.items()}
    ok = all(abs(e) <= tolerance for e in errors.values())
    conflicts = necessary_conflicts(t)
    if not ok:
        bad = [k for k, e in errors.items() if abs(e) > tolerance]
        conflicts.append("after the best fit these KPIs are still more than "
                         f"{tolerance:.0%} off target: {', '.join(bad)}; with the others as given they cannot all hold "
                         "in a buy-till-you-die base (check the definitions, or drop one)")
    return KpiFit(params=params, spend=spend, achieved=achieved, targets=dict(g), errors=errors,
                  within_tolerance=ok, conflicts=conflicts, evaluations=evals, tolerance=tolerance)


def _simplex(x0):
    x0 = np.asarray(x0, float)
    steps = [0.4, 0.15, 0.3, 0.4][: len(x0)]
    return np.vstack([x0] + [x0 + np.eye(len(x0))[i] * steps[i] for i in range(len(x0))])


def render(fit: KpiFit) -> str:
    names = {"retention_rate": "Retention (yearly, bought in the last year)", "average_check": "Average check",
             "purchase_frequency": "Purchases per active customer per year",
             "repeat_purchase_rate": "Repeat purchase rate", "loyal_share": "Loyal share"}
    out = ["KPI calibration (simulated method of moments with the engine)", ""]
    out.append(f"{'KPI':45} {'target':>10} {'achieved':>10} {'error':>8}")
    for k, v in fit.targets.items():
        pct = k in ("retention_rate", "repeat_purchase_rate", "loyal_share")
        f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:,.2f}")
        out.append(f"{names[k]:45} {f(v):>10} {f(fit.achieved[k]):>10} {100 * fit.errors[k]:>+7.1f}%")
    p = fit.params
    out += ["", f"BG/NBD (weeks): r {p['r']:.4g}, alpha {p['alpha']:.4g}, a {p['a']:.4g}, b {p['b']:.4g}; "
            f"Gamma-Gamma: p {fit.spend['p']:.4g}, q {fit.spend['q']:.4g}, gamma {fit.spend['gamma']:.4g}"]
    out.append(f"{fit.evaluations} simulations. " + ("Every KPI within "
               f"{fit.tolerance:.0%} of its target." if fit.within_tolerance else "NOT every KPI could be met."))
    for c in fit.conflicts:
        out.append(f"Conflict: {c}")
    return "\n".join(out)
