"""Calibration from the KPIs a business knows, when there is no transaction log.

Simulated method of moments with the engine itself: find BG/NBD population
parameters (r, alpha, a, b; weeks) and the Gamma-Gamma spend scale whose
simulated no-programme KPIs — yearly retention (CRR), average check, purchases
per active customer per year, repeat purchase rate, loyal share, as defined in
sim/metrics.py — match the targets.

Why a plain optimiser fails here, and what is done instead:

* Three KPIs (retention, frequency, loyal share) and four parameters leave a
  flat direction, and the loyal share barely moves along the others: with
  retention 60% and 2 purchases a year held, the share of active customers with
  4+ orders goes only from about 22% (very uneven buyers, r = 0.4) to 25-27%
  (even buyers, r = 100), whatever the dropout spread a. A sum of squares over four
  parameters is a long, nearly flat valley, and Nelder-Mead on it stalls.
* One seed's simulated KPIs are deterministic (common random numbers) but
  rough: a smooth trend plus steps where single customers cross the window or
  the 4-order line, ~0.1-0.3% between neighbouring points and up to ~1% over
  moves of a few percent. Noise of that size in a Jacobian whose loyal-share
  column is itself small (~3% per unit of log r) sends Newton steps anywhere.

So the fit works in the quantities the KPIs respond to and solves them in an
order: retention and frequency are solved by Newton's method in the mean
dropout probability per repeat order a / (a + b) and the mean purchase rate
r / alpha (well identified, wide-step derivatives, warm-started), inside a
bracketing root-find on the purchase-rate spread r for the loyal share (or
the repeat purchase rate), which cannot be fooled by a noisy slope; a stays at
the CDNOW value unless both shape KPIs are targets or the loyal share is out
of reach without it. The average check is the spend scale alone.

Contradictions are said plainly: by necessary conditions before simulating
(``necessary_conflicts``), and after the fit, naming the range the other
targets allow when a shape KPI is out of reach (e.g. 3+ orders for "loyal" at
60% retention and 2 purchases a year gives at least about a third loyal).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.smm import root1d, solve
from calibration.files import read_yaml
from sim.errors import DataError

KPIS = ("retention_rate", "average_check", "purchase_frequency", "repeat_purchase_rate", "loyal_share")
# upper limits as the scenario schema has them (sim/scenario.py)
SETTING_MAX = {"customers": 50_000_000, "history_days": 3650, "loyal_min_orders": 1000, "activity_window_days": 3650}
ALIASES = {"purchases_per_year": "purchase_frequency", "retention": "retention_rate", "avg_check": "average_check"}
# Gamma-Gamma shapes kept at the CDNOW fit (Fader, Hardie & Lee 2005b); only the scale is fitted to the check.
SPEND_P, SPEND_Q = 6.25, 3.74


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
    check: dict = field(default_factory=dict)   # KPI -> mean, sd, values at other seeds
    check_customers: int = 0
    check_seeds: int = 0
    fit_customers: int = 0
    loyal_min_orders: int = 3
    activity_window_days: int = 365

    def block(self, customers: int, history_days: int) -> dict:
        """The scenario population block (the same contract as a log calibration writes)."""
        return {"customers": {
            "initial": int(customers), "start": "mature", "history_days": int(history_days), "time_unit": "week",
            "purchase": {"model": "bgnbd", **{k: float(round(v, 6)) for k, v in self.params.items()}},
            "spend": {k: float(round(v, 6)) for k, v in self.spend.items()},
        }}


def read_targets(path) -> KpiTargets:
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of KPI: value (allowed: {', '.join(KPIS)}, customers)")
    named = {}
    for k, v in raw.items():
        name = ALIASES.get(str(k), str(k))
        if name in named:
            raise DataError(f"{path}: {name}: given twice (as {name} and an alias of it); keep one")
        named[name] = v
    raw = named
    settings = {"customers": 10000, "history_days": 1095, "loyal_min_orders": 3, "activity_window_days": 365}
    targets = {}
    for k, v in raw.items():
        if k in settings:
            top = SETTING_MAX[k]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
                raise DataError(f"{path}: {k}: got {v!r}; allowed: a whole number from 1 to {top:,}")
            settings[k] = v
            continue
        if k not in KPIS:
            import difflib
            hint = difflib.get_close_matches(k, list(KPIS) + list(settings), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise DataError(f"{path}: {k}: unknown KPI{extra} (allowed: {', '.join(KPIS)}, {', '.join(settings)})")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise DataError(f"{path}: {k}: got {v!r}; allowed: a positive number")
        if k in ("retention_rate", "repeat_purchase_rate", "loyal_share") and v >= 1:
            raise DataError(f"{path}: {k}: got {v!r}; allowed: a share between 0 and 1 (e.g. 0.6 for 60%)")
        targets[k] = float(v)
    if not targets:
        raise DataError(f"{path}: no KPI given (allowed: {', '.join(KPIS)})")
    return KpiTargets(targets=targets, file=str(path), **settings)


def necessary_conflicts(t: KpiTargets) -> list[str]:
    """Contradictions visible before any simulation.

    The fitted year has no newcomers (the calibration base is simulated without
    acquisition), so its active count does not grow (lapsed customers who come
    back are fewer than those who lapse): the mean active count over the year is
    at most the S active at launch, and the E active at the end are
    retention x S. Loyal customers alone then place at least
    k x loyal share x E orders, so purchases per active customer are at least
    k x loyal share x retention (k = loyal_min_orders).
    """
    out = []
    g = t.targets
    k = t.loyal_min_orders
    if "loyal_share" in g and "purchase_frequency" in g:
        ret = g.get("retention_rate")
        need = g["loyal_share"] * k * (ret if ret is not None else 0.0)
        if need > g["purchase_frequency"]:
            out.append(f"loyal_share {g['loyal_share']:.0%} with retention_rate {ret:.0%} means at least {need:.2f} "
                       f"purchases per active customer a year from the loyal customers alone ({k}+ orders each), "
                       f"more than purchase_frequency {g['purchase_frequency']:g}")
    if ("repeat_purchase_rate" in g and "loyal_share" in g and k >= 2 and t.activity_window_days == 365
            and g["loyal_share"] > g["repeat_purchase_rate"]):
        # over a one-year horizon with a one-year window, the active customers are the year's buyers
        out.append(f"loyal_share {g['loyal_share']:.0%} cannot exceed repeat_purchase_rate "
                   f"{g['repeat_purchase_rate']:.0%} (every loyal customer, {k}+ orders, is a repeat buyer)")
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
    from sim.runner import run_arms
    sc = _scenario(params, spend, t, customers or t.customers, seed)
    metrics = run_arms(sc, {}, 1, backend="serial").records("baseline")[0].metrics
    return {k: v for k, v in metrics.items() if k in KPIS}


# The fitted parameters, in the units the solver moves in (log or logit), with bounds and
# forward-difference steps (wide: the simulated KPIs are rough at the base's granularity,
# see calibration.smm).
#   m     mean purchase rate per week while alive (r / alpha), log;
#   pbar  mean dropout probability per repeat order (a / (a + b)), logit;
#   r     shape of the purchase-rate spread (small: very uneven buyers), log;
#   a     shape of the dropout spread, log (b follows from pbar).
BOUNDS = {"m": (math.log(1e-4), math.log(10.0)), "pbar": (-7.0, 5.0),
          "r": (math.log(0.05), math.log(100.0)), "a": (math.log(0.05), math.log(50.0))}
STEPS = {"m": 0.15, "pbar": 0.2, "r": 0.5, "a": 0.5}
# Frequency and retention are well identified, by the mean rate and the mean dropout:
# they are solved together by Newton's method (the inner solve).
INNER = {"retention_rate": "pbar", "purchase_frequency": "m"}
# Loyal share and repeat purchase rate are shapes of the order-count distribution: with
# frequency and retention held, both rise as purchase rates get more even (larger r),
# slowly (for the typical base, loyal share 22% at r = 0.4 to 25.5% at r = 100). Their own
# derivatives are small and noisy, so they are matched by an outer bracketing search on
# r around the inner solve; with both as targets, r and a move together.
SHAPES = ("loyal_share", "repeat_purchase_rate")
# The base the fit starts from and keeps where the targets say nothing:
# r = 1 (purchase rates spread exponentially; seed assumption, between the CDNOW fit's 0.24
# and even bases; at r = 0.24 no base reaches 60% retention with 2 purchases a year),
# a = 0.79 (dropout spread of the CDNOW BG/NBD fit, Fader, Hardie & Lee 2005a).
REFERENCE = {"r": 1.0, "a": 0.79}
PCT = ("retention_rate", "repeat_purchase_rate", "loyal_share")


class _OutOfSimulations(Exception):
    """The fit's simulation budget is spent (not caught by the solvers: it ends the fit)."""


def _start(t: KpiTargets) -> dict:
    """A rough start: a live customer buys ~1.7x the frequency per active customer
    (actives include the recently lapsed), and dropout scales with 1 - retention
    (both read off fits of the typical base at the reference shapes)."""
    g = t.targets
    freq = g.get("purchase_frequency", 2.0)
    ret = g.get("retention_rate", 0.6)
    pbar = min(max(0.8 * (1.0 - ret), 0.01), 0.95)
    return {"m": math.log(1.7 * freq / 52.0), "pbar": math.log(pbar / (1.0 - pbar)),
            "r": math.log(REFERENCE["r"]), "a": math.log(REFERENCE["a"])}


def _params(z: dict) -> dict:
    """BG/NBD (r, alpha, a, b) per week from the solver's coordinates."""
    r, m, a = math.exp(z["r"]), math.exp(z["m"]), math.exp(z["a"])
    pbar = 1.0 / (1.0 + math.exp(-z["pbar"]))
    return {"r": r, "alpha": r / m, "a": a, "b": a * (1.0 - pbar) / pbar}


def fit_kpis(t: KpiTargets, fit_customers=20000, tolerance=0.02, max_evals=60, seed=20240601,
             check_seeds=4, check_customers=None) -> KpiFit:
    """Fit the base to the targets; report the achieved KPIs and their sampling error.

    The fit runs on one simulated base of ``fit_customers`` at ``seed`` (common
    random numbers: the KPIs are a deterministic function of the parameters):

    1. inner solve: retention and frequency by Newton's method in the mean dropout
       and the mean purchase rate (wide-step derivatives, warm-started with the
       last Jacobian, so later solves take one or two simulations);
    2. outer search: loyal share (or repeat purchase rate) by bracketing the
       purchase-rate spread r, each trial value of r running the inner solve; with
       both as targets r and the dropout spread a are solved for together. If the
       loyal share cannot be reached even with the most even purchase rates, the
       dropout spread a is searched as well (more uneven dropout: more loyal);
    3. the average check is the spend scale alone (an order's value is
       proportional to gamma), matched by rescaling once at the end.

    ``achieved`` are the KPIs of the fitted simulation itself (same seed); ``check``
    holds the same KPIs re-simulated at ``check_seeds`` other seeds on bases of
    ``check_customers`` (default: the target base size), whose spread is the
    sampling error a base of that size carries. ``max_evals`` bounds the number
    of simulations of the fit (not counting the final one and the checks).
    """
    g = t.targets
    inner_kpis = [k for k in INNER if k in g]
    shape_kpis = [k for k in SHAPES if k in g]
    fitted = inner_kpis + shape_kpis
    spend = {"p": SPEND_P, "q": SPEND_Q, "gamma": g.get("average_check", 35.2) * (SPEND_Q - 1) / SPEND_P}
    conflicts = necessary_conflicts(t)
    if conflicts:
        # no base can meet these targets: a short search for a compromise to show
        max_evals = min(max_evals, 20)
    runs = []  # (z, simulated KPIs) of every simulation of the fit
    cache = {}

    def simulate(zz):
        key = tuple(round(float(zz[n]), 12) for n in BOUNDS)
        if key not in cache:
            if len(runs) >= max_evals:
                raise _OutOfSimulations
            cache[key] = simulate_kpis(_params(zz), spend, t, fit_customers, seed)
            runs.append((dict(zz), cache[key]))
        return cache[key]

    def rel(sim, k):
        v = sim[k]
        return (v - g[k]) / g[k] if v == v else 1.0  # an undefined KPI (no active customers) is fully off

    def score(run):
        """Best is smallest largest error; but a compromise keeps retention and frequency
        (what the shape KPIs are measured against) rather than trading them away."""
        sim = run[1]
        inner_excess = max([abs(rel(sim, k)) - tolerance for k in inner_kpis] + [0.0])
        return inner_excess, max(abs(rel(sim, k)) for k in fitted)

    names = [INNER[k] for k in inner_kpis]
    lo = np.array([BOUNDS[n][0] for n in names])
    hi = np.array([BOUNDS[n][1] for n in names])
    warm = {"solutions": [], "J": None}  # inner solutions by r and a, and the last Jacobian

    def inner(shape: dict) -> tuple[dict, dict]:
        """Retention and frequency solved at these spreads; returns the point and its KPIs."""
        base = dict(z0)
        base.update(shape)
        if not names:
            return base, simulate(base)
        if warm["solutions"]:
            # start from the solutions found at the nearest spreads: the nearest one, moved along
            # the line through the two nearest when they differ (the solution drifts smoothly with r)
            def dist(s):
                return sum(abs(s[0][n] - base[n]) for n in ("r", "a"))
            near = sorted(warm["solutions"], key=dist)
            base.update({n: near[0][0][n] for n in names})
            if len(near) > 1 and shape.keys() == {"r"} and abs(near[0][0]["r"] - near[1][0]["r"]) > 0.1 \
                    and near[0][0]["a"] == near[1][0]["a"] == base["a"]:
                (p0, _), (p1, _) = near[0], near[1]
                w = (base["r"] - p0["r"]) / (p0["r"] - p1["r"])
                w = min(max(w, -1.0), 1.0)  # no further than one known interval beyond the nearest
                base.update({n: p0[n] + w * (p0[n] - p1[n]) for n in names})

        def residuals(x):
            zz = dict(base)
            zz.update(zip(names, (float(v) for v in x)))
            sim = simulate(zz)
            return np.array([rel(sim, k) for k in inner_kpis])

        x, f, _, J = solve(residuals, [base[n] for n in names], lo, hi, [STEPS[n] for n in names],
                           tol=tolerance / 6.0, max_evals=10, accept=tolerance / 4.0, J0=warm["J"],
                           min_broyden_step=0.02)
        if J is not None:
            warm["J"] = J
        zz = dict(base)
        zz.update(zip(names, (float(v) for v in x)))
        warm["solutions"].append((zz, f))
        return zz, simulate(zz)

    z0 = _start(t)
    notes = []
    try:
        if len(shape_kpis) == 0:
            inner({})
        elif len(shape_kpis) == 1:
            kpi = shape_kpis[0]
            lo_r, hi_r = BOUNDS["r"]

            def shape_error(shape):
                # NaN where retention and frequency cannot both hold: the search stops there
                _, sim = inner(shape)
                held = all(abs(rel(sim, k)) <= tolerance for k in inner_kpis)
                return rel(sim, kpi) if held else float("nan")

            r, v, _, reached = root1d(lambda lr: shape_error({"r": lr}), z0["r"], lo_r, hi_r,
                                      step=1.0, tol=tolerance / 4.0, max_evals=12, increasing=True)
            if not reached and v < 0 and r >= hi_r - 1e-9:
                # above what the most even purchase rates give at the reference dropout spread:
                # more uneven dropout (smaller a) raises it a little further
                root1d(lambda la: shape_error({"r": hi_r, "a": la}), z0["a"], *BOUNDS["a"],
                       step=1.0, tol=tolerance / 4.0, max_evals=6, increasing=False)
            _, best = min(runs, key=score)
            if max(abs(rel(best, k)) for k in fitted) > tolerance and not reached and v == v:
                notes.append(_range_message(t, kpi, runs, inner_kpis, tolerance, upper=v < 0))
        else:
            def outer(x):
                _, sim = inner({"r": float(x[0]), "a": float(x[1])})
                return np.array([rel(sim, k) for k in shape_kpis])
            solve(outer, [z0["r"], z0["a"]], np.array([BOUNDS["r"][0], BOUNDS["a"][0]]),
                  np.array([BOUNDS["r"][1], BOUNDS["a"][1]]), [0.5, 0.5], tol=tolerance / 4.0,
                  max_evals=12, accept=tolerance / 1.5)
    except _OutOfSimulations:
        pass
    evals = len(runs)
    if runs and fitted:
        z, sim = min(runs, key=score)
    else:
        z, sim = dict(z0), None
    params = _params(z)
    # the check is the spend scale alone: rescale it to the simulated order mix, then
    # simulate the fitted base once more (these are the achieved KPIs, same seed)
    if sim is None:
        sim = simulate_kpis(params, spend, t, fit_customers, seed)
        evals += 1
    check0 = sim["average_check"]
    if "average_check" in g and check0 == check0 and check0 > 0:
        spend["gamma"] *= g["average_check"] / check0
    achieved = simulate_kpis(params, spend, t, fit_customers, seed)
    evals += 1
    errors = {k: (achieved[k] - v) / v for k, v in g.items()}
    ok = all(abs(e) <= tolerance for e in errors.values())
    if not ok:
        conflicts += notes or [_misfit_message(t, achieved, errors, tolerance)]
    # sampling error: the fitted base re-simulated at other seeds
    n_check = check_customers or t.customers
    others = [simulate_kpis(params, spend, t, n_check, seed + 1 + i) for i in range(check_seeds)]
    check = {}
    for k in g:
        vals = np.array([o[k] for o in others], float)
        check[k] = {"mean": float(vals.mean()) if vals.size else float("nan"),
                    "sd": float(vals.std(ddof=1)) if vals.size > 1 else float("nan"),
                    "values": vals.tolist()}
    return KpiFit(params=params, spend=spend, achieved=achieved, targets=dict(g), errors=errors,
                  within_tolerance=ok, conflicts=conflicts, evaluations=evals, tolerance=tolerance,
                  check=check, check_customers=n_check, check_seeds=check_seeds, fit_customers=fit_customers,
                  loyal_min_orders=t.loyal_min_orders, activity_window_days=t.activity_window_days)


def _show(k, v) -> str:
    return f"{v:.1%}" if k in PCT else f"{v:,.3g}"


def _range_message(t, kpi, runs, inner_kpis, tolerance, upper) -> str:
    """The plain statement when one shape KPI is out of reach of every spread tried."""
    g = t.targets
    # among the runs where the other KPIs hold, the highest (or lowest) value of this one
    held = [s for _, s in runs if all(abs((s[k] - g[k]) / g[k]) <= tolerance for k in inner_kpis)]
    vals = [s[kpi] for s in (held or [s for _, s in runs]) if s[kpi] == s[kpi]]
    edge = max(vals) if upper else min(vals)
    given = " and ".join(f"{k.replace('_', ' ')} {_show(k, g[k])}" for k in inner_kpis) or "these settings"
    most = "at most" if upper else "at least"
    if kpi == "loyal_share":
        what = f"{most} {_show(kpi, edge)} loyal ({t.loyal_min_orders}+ orders in the trailing year)"
        fix = ("lower the target or loyal_min_orders (fewer orders make more customers loyal)" if upper else
               "raise the target or loyal_min_orders (more orders make fewer customers loyal)")
    else:
        what = f"a repeat purchase rate of {most} {_show(kpi, edge)}"
        fix = "lower the target" if upper else "raise the target"
    return (f"{kpi} {_show(kpi, g[kpi])} contradicts the other targets: bases with {given} have {what}, "
            f"from very uneven to even buyers; {fix}")


def _misfit_message(t, achieved, errors, tolerance) -> str:
    g = t.targets
    bad = [k for k, e in errors.items() if abs(e) > tolerance]
    held = [k for k in g if k not in bad]
    parts = [f"{k} {_show(k, achieved[k])} against {_show(k, g[k])} ({100 * errors[k]:+.0f}%)" for k in bad]
    msg = (f"the targets contradict each other: the closest base a buy-till-you-die model allows still misses "
           f"by more than {tolerance:.0%}: " + "; ".join(parts))
    if held:
        msg += f" (with {', '.join(held)} met)"
    return msg + ". Check the definitions (sim/metrics.py), or drop one target"


def render(fit: KpiFit) -> str:
    names = {"retention_rate": "Retention (yearly, bought in the last year)", "average_check": "Average check",
             "purchase_frequency": "Purchases per active customer per year",
             "repeat_purchase_rate": "Repeat purchase rate",
             "loyal_share": f"Loyal share ({fit.loyal_min_orders}+ orders a year)"}
    out = ["KPI calibration (simulated method of moments with the engine)", ""]
    other = "other seeds (sd)" if fit.check_seeds else ""
    out.append(f"{'KPI':45} {'target':>10} {'achieved':>10} {'error':>8}   {other}")
    for k, v in fit.targets.items():
        pct = k in ("retention_rate", "repeat_purchase_rate", "loyal_share")
        f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:,.2f}")
        line = f"{names[k]:45} {f(v):>10} {f(fit.achieved[k]):>10} {100 * fit.errors[k]:>+7.1f}%"
        c = fit.check.get(k)
        if c and c["values"]:
            sd = c["sd"]
            spread = (f"{100 * sd:.1f} pts" if pct else f"{sd:,.2f}") if sd == sd else "n/a"
            line += f"   {f(c['mean'])} ({spread}, {100 * sd / v:.1f}%)" if sd == sd else f"   {f(c['mean'])}"
        out.append(line)
    out.append("")
    out.append(f"Achieved: the fitted simulation itself ({fit.fit_customers:,} customers, the fit's seed).")
    if fit.check_seeds:
        out.append(f"Other seeds: the fitted base re-simulated at {fit.check_seeds} other seeds with "
                   f"{fit.check_customers:,} customers; the sd is the sampling error of one such base.")
    p = fit.params
    out += ["", f"BG/NBD (weeks): r {p['r']:.4g}, alpha {p['alpha']:.4g}, a {p['a']:.4g}, b {p['b']:.4g}; "
            f"Gamma-Gamma: p {fit.spend['p']:.4g}, q {fit.spend['q']:.4g}, gamma {fit.spend['gamma']:.4g}",
            f"(scenarios using this base should set metrics.loyal_min_orders: {fit.loyal_min_orders} and "
            f"metrics.activity_window_days: {fit.activity_window_days}, the definitions fitted)"]
    if fit.within_tolerance and any(k in fit.targets for k in SHAPES):
        # honest about what the KPIs pin down: the loyal share moves only a few percent
        # over the whole range of r, so one base's sampling error moves the fitted r a lot
        out.append("The loyal share / repeat rate pin the purchase-rate spread r only loosely: a base at another "
                   "seed may fit r two or three times larger or smaller with the same KPIs.")
    out.append(f"{fit.evaluations} simulations. " + ("Every KPI within "
               f"{fit.tolerance:.0%} of its target." if fit.within_tolerance else "NOT every KPI could be met."))
    for c in fit.conflicts:
        out.append(f"Conflict: {c}")
    return "\n".join(out)
