"""Parameter sweeps: how the answer moves with the programme's settings (or any field).

    loyalsim sweep FILE --vary programme.points.earn_per_currency=0.05:0.3:6 \\
                        --vary programme.tiers.levels.1.threshold=2000,3000,4000

A varied field is a range ``low:high:n`` (n evenly spaced values for a grid;
``low:high`` for the sampled designs) or a list ``a,b,c`` (a list of numbers,
or of words for a field such as a downgrade policy). Designs: ``grid`` (every
combination), ``lhs`` (Latin hypercube), ``sobol`` (Saltelli's sample, with
first- and total-order Sobol indices) and ``morris`` (elementary effects);
the samplers and analysers are SALib's. The same can be written in the
scenario:

    sweep:
      design: grid
      replications: 2
      vary:
        programme.points.earn_per_currency: "0.05:0.3:6"
        programme.tiers.downgrade: [none, one_step]

Every point runs programme vs baseline on common random numbers: the same
customers and chance events at every point, so differences between points are
the parameters' effect. A point that changes only the programme (or its
response or costs) costs one programme arm: per replication the customers'
history and the baseline arm are computed once for every point
(sim.studies.plan). Records go to the result store, so a killed sweep resumes.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from sim import verdict
from sim.documents import stamp
from sim.errors import ScenarioError, UserError
from sim.metrics import clean
from sim.plain import plain
from sim.studies.schemas import DESIGNS
from sim.studies.plan import run_variants

METRICS = ("revenue", "orders", "retention_rate", "average_check", "purchase_frequency", "programme_cost",
           "profit", "lifetime_value")

@dataclass
class Factor:
    field: str
    low: float | None = None
    high: float | None = None
    n: int | None = None
    values: list | None = None
    integer: bool = False

    @property
    def numeric(self) -> bool:
        return self.values is None or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)

    def grid(self) -> list:
        if self.values is not None:
            return list(self.values)
        n = self.n or 5
        vals = np.linspace(self.low, self.high, n) if n > 1 else np.array([self.low])
        return [int(round(v)) for v in vals] if self.integer else [float(v) for v in vals]

    def bounds(self) -> tuple:
        if self.values is not None:
            return (0.0, float(len(self.values)))  # an index into the list
        return (float(self.low), float(self.high))

    def at(self, x: float):
        """The factor's value at a sampled coordinate x (within bounds)."""
        if self.values is not None:
            return self.values[min(int(x), len(self.values) - 1)]
        return int(round(x)) if self.integer else float(x)


def parse_factor(text: str, source="--vary", scenario=None) -> Factor:
    """``field=low:high:n``, ``field=low:high`` or ``field=a,b,c``."""
    if "=" not in text:
        raise UserError(f"{source} {text!r}: expected FIELD=LOW:HIGH:N, FIELD=LOW:HIGH or FIELD=A,B,C")
    path, _, spec = text.partition("=")
    return factor(path.strip(), spec.strip(), source, scenario)


def factor(path, spec, source="--vary", scenario=None) -> Factor:
    where = f"{source} {path}"
    integer = _is_integer_field(path, scenario)
    if isinstance(spec, (list, tuple)):
        values = list(spec)
    elif isinstance(spec, dict):
        try:
            return Factor(path, float(spec["low"]), float(spec["high"]), int(spec["n"]) if "n" in spec else None,
                          integer=integer)
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{where}: expected {{low: L, high: H, n: N}}") from None
    elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
        values = [spec]
    else:
        spec = str(spec)
        if ":" in spec:
            parts = spec.split(":")
            try:
                low, high = float(parts[0]), float(parts[1])
                n = int(parts[2]) if len(parts) > 2 and parts[2] != "" else None
            except (ValueError, IndexError):
                raise UserError(f"{where}: {spec!r} is not LOW:HIGH or LOW:HIGH:N with numbers") from None
            if len(parts) > 3 or not (math.isfinite(low) and math.isfinite(high)) or high < low:
                raise UserError(f"{where}: {spec!r}: allowed LOW:HIGH[:N] with finite LOW <= HIGH")
            if n is not None and not 1 <= n <= 10000:
                raise UserError(f"{where}: N = {n}; allowed 1 to 10,000 points")
            return Factor(path, low, high, n, integer=integer)
        import yaml
        values = []
        for item in spec.split(","):
            try:
                values.append(yaml.safe_load(item.strip()))
            except yaml.YAMLError:
                values.append(item.strip())
    if not values:
        raise UserError(f"{where}: no values")
    return Factor(path, values=values, integer=integer)


def _is_integer_field(path, scenario) -> bool:
    from sim.schema import Num, leaves
    from sim.scenario import scenario_schema
    norm = ".".join("[]" if p.isdigit() else p for p in path.split("."))
    for p, spec in leaves(scenario_schema()):
        if p.replace(".[]", "[]") == norm.replace(".[]", "[]"):
            return isinstance(spec, Num) and spec.integer
    return False


def factors_of(scenario, vary_args=()) -> list:
    """Command-line --vary wins over the scenario's sweep block."""
    if vary_args:
        return [parse_factor(v, "--vary", scenario) for v in vary_args]
    block = scenario.cfg.get("sweep") or {}
    out = [factor(str(k), v, f"{scenario.file}: sweep.vary.", scenario) for k, v in (block.get("vary") or {}).items()]
    if not out:
        raise UserError(f"{scenario.file}: nothing to vary: give --vary FIELD=LOW:HIGH:N or a sweep: vary: block")
    return out


AT_BOUND_SHARE = 0.02   # a value this close to an end of its field's range (a share of the range) is at that bound


def at_bound(factors, point: dict | None) -> list:
    """The varied fields whose value in ``point`` lies on a bound of their range, where the best setting may lie
    beyond it: within 2% of the range's width of its low or high end.

    Used for the best point of a sweep and the chosen design of an optimisation alike. A range is a field's
    LOW:HIGH (LOW:HIGH:N), or the lowest and highest of a list of three or more numbers; a list of words, or
    of two numbers (a choice between two settings), has no bound. Each entry is
    ``{field, bound: "low"|"high", value, low, high}``."""
    out = []
    for f in factors if point else ():
        value = point.get(f.field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not f.numeric:
            continue
        if f.values is None:
            low, high = f.low, f.high
        elif len(set(f.values)) >= 3:
            low, high = min(f.values), max(f.values)
        else:
            continue
        width = float(high) - float(low)
        if not width > 0:
            continue
        margin = AT_BOUND_SHARE * width
        bound = "high" if value >= float(high) - margin else "low" if value <= float(low) + margin else None
        if bound is not None:
            out.append({"field": f.field, "bound": bound, "value": plain(value), "low": plain(low), "high": plain(high)})
    return out


# --------------------------------------------------------------------------- designs

def design_points(factors, design="grid", samples=32, seed=1):
    """The points (a list of {field: value}) and, for sobol/morris, the SALib problem and sample."""
    if design == "grid":
        grids = [f.grid() for f in factors]
        return [dict(zip([f.field for f in factors], combo)) for combo in itertools.product(*grids)], None, None
    for f in factors:
        if f.values is None and f.high == f.low:
            raise UserError(f"--vary {f.field}: a zero-width range cannot be sampled; use the grid design or a list")
    problem = {"num_vars": len(factors), "names": [f.field for f in factors], "bounds": [list(f.bounds()) for f in factors]}
    if design == "lhs":
        from SALib.sample import latin
        x = latin.sample(problem, samples, seed=seed)
    elif design == "sobol":
        from SALib.sample import sobol
        x = sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    elif design == "morris":
        from SALib.sample import morris
        x = morris.sample(problem, samples, num_levels=4, seed=seed)
    else:
        raise UserError(f"--design {design!r}: allowed {', '.join(DESIGNS)}")
    points = [{f.field: f.at(v) for f, v in zip(factors, row)} for row in x]
    return points, problem, x


# --------------------------------------------------------------------------- running

@dataclass
class SweepResult:
    scenario: object
    factors: list
    design: str
    points: list
    table: object                 # pandas DataFrame: one row per point x replication
    problem: dict | None = None
    sample: np.ndarray | None = None
    interrupted: int | None = None
    indices: dict = field(default_factory=dict)

    def point_means(self, metric="incremental_profit"):
        return self.table.groupby("point")[metric].mean()

    def summary(self, top=5) -> dict:
        from sim.metrics import interval
        df = self.table
        cur = self.scenario.cfg.economics.currency
        by_point = []
        for p, d in df.groupby("point", sort=True):
            ip = interval(d["incremental_profit"].tolist())
            by_point.append({"point": int(p), **{f.field: plain(self.points[p][f.field]) for f in self.factors},
                             "incremental_profit": ip,
                             "roi": _mean(d["roi"]), "revenue_lift": _mean(d["lift_revenue_relative"]),
                             "retention_lift": _mean(d["lift_retention_rate"])})
        ranked = sorted(by_point, key=lambda r: -(r["incremental_profit"]["mean"] or -math.inf))
        shape = {}
        means = self.point_means()
        for f in self.factors:
            col = [self.points[p][f.field] for p in means.index]
            if self.design == "grid":
                levels = {}
                for v, m in zip(col, means.to_numpy()):
                    levels.setdefault(f"{v:.4g}" if isinstance(v, float) else str(plain(v)), []).append(m)
                shape[f.field] = {"by_value": {k: float(np.mean(v)) for k, v in levels.items()}}
            if f.numeric and len(set(col)) > 1:
                from scipy.stats import spearmanr
                rho = spearmanr(col, means.to_numpy()).statistic
                shape[f.field] = {**shape.get(f.field, {}), "rank_correlation": None if rho != rho else float(rho)}
        noise = _noise_share(df)
        doc = {
            "scenario": self.scenario.name,
            "file": str(self.scenario.file),
            "seed": self.scenario.cfg.seed,
            "design": self.design,
            "varied": [f.field for f in self.factors],
            "points": len(self.points),
            "replications": int(df.replication.nunique()),
            "currency": cur,
            "best": ranked[:top],
            "at_bound": at_bound(self.factors, self.points[ranked[0]["point"]] if ranked else None),
            "worst": ranked[-1] if ranked else None,
            "pays_at_share_of_points": float((means > 0).mean()) if len(means) else None,
            "shape": shape,
            "noise_share_of_differences": noise,
        }
        if self.indices:
            doc["indices"] = self.indices
        if self.interrupted:
            doc["interrupted"] = True
        if len(df) and (df["incremental_profit"] == 0).all():
            doc["no_effect"] = True   # every point, every replication: the same profit as no programme
        doc = stamp("sweep", doc)
        doc["verdict"] = verdict.of_sweep(clean(doc)).as_dict()
        return doc

    def report_table(self):
        """What the sweep's report draws: one row per point x replication, the varied fields and the lifts."""
        cols = ["point", "replication", *[f.field for f in self.factors], "incremental_profit", "roi",
                "lift_revenue_relative", "lift_retention_rate"]
        return self.table[[c for c in cols if c in self.table.columns]]


def _noise_share(df, metric="incremental_profit"):
    """How much of the differences between points is simulation noise. On common random numbers a
    replication moves every point together, which cancels between points; what remains is the
    point x replication residual of a two-way layout, against the spread of the points' means."""
    wide = df.pivot_table(index="point", columns="replication", values=metric)
    wide = wide.dropna()
    if wide.shape[0] < 2 or wide.shape[1] < 2:
        return None
    y = wide.to_numpy()
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    noise = float((resid ** 2).sum() / ((y.shape[0] - 1) * (y.shape[1] - 1))) / y.shape[1]  # of a point's mean
    signal = float(np.var(y.mean(axis=1), ddof=1))
    return min(noise / signal, 1.0) if signal > 0 else 1.0


def _mean(s):
    s = s.dropna()
    return float(s.mean()) if len(s) else None


def run_sweep(scenario, factors, design="grid", samples=32, replications=None, *, workers=None, backend=None,
              scheduler=None, store=None, progress=None) -> SweepResult:
    import pandas as pd
    points, problem, sample = design_points(factors, design, samples, seed=scenario.cfg.seed)
    if len(points) > 100000:
        raise UserError(f"the sweep has {len(points):,} points; allowed at most 100,000 (fewer values per field)")
    variants = []
    for i, pt in enumerate(points):
        try:
            variants.append(scenario.with_overrides(pt))
        except ScenarioError as e:
            raise ScenarioError(e.file, e.field, f"{e.problem} (at sweep point {i}: "
                                + ", ".join(f"{k}={v}" for k, v in pt.items()) + ")") from None
    reps = replications or (scenario.cfg.get("sweep") or {}).get("replications") or scenario.cfg.replications
    outcomes, interrupted = run_variants(variants, reps, workers=workers, backend=backend, scheduler=scheduler,
                                         store=store, progress=progress)
    rows = []
    for (i, r), o in sorted(outcomes.items()):
        b, p = o.baseline.metrics, o.programme.metrics
        row = {"point": i, "replication": r, **{k: plain(v) for k, v in points[i].items()},
               "incremental_profit": p["profit"] - b["profit"],
               "roi": (p["profit"] - b["profit"]) / p["programme_cost"] if p["programme_cost"] else None}
        for m in METRICS:
            row[m] = p[m]
            row[f"lift_{m}"] = p[m] - b[m]
            row[f"lift_{m}_relative"] = (p[m] - b[m]) / abs(b[m]) if b[m] else None
        rows.append(row)
    table = pd.DataFrame(rows)
    res = SweepResult(scenario, factors, design, points, table, problem, sample, interrupted)
    if design in ("sobol", "morris") and not interrupted and len(table):
        res.indices = indices(res)
    return res


def indices(res: SweepResult, metric="incremental_profit") -> dict:
    """Sobol first/total-order or Morris indices of the metric (mean over replications) per varied field."""
    y = res.point_means(metric).reindex(range(len(res.points))).to_numpy()
    if np.isnan(y).any():
        return {}
    names = res.problem["names"]
    if res.design == "sobol":
        from SALib.analyze import sobol
        si = sobol.analyze(res.problem, y, calc_second_order=False, num_resamples=200, conf_level=0.95,
                           seed=res.scenario.cfg.seed)
        return {n: {"first_order": float(si["S1"][i]), "first_order_ci": float(si["S1_conf"][i]),
                    "total_order": float(si["ST"][i]), "total_order_ci": float(si["ST_conf"][i])}
                for i, n in enumerate(names)}
    from SALib.analyze import morris
    si = morris.analyze(res.problem, res.sample, y, num_levels=4, num_resamples=200, conf_level=0.95,
                        seed=res.scenario.cfg.seed)
    return {n: {"mu_star": float(si["mu_star"][i]), "mu_star_ci": float(si["mu_star_conf"][i]),
                "sigma": float(si["sigma"][i])} for i, n in enumerate(names)}
