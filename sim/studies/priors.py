"""What we don't know, as distributions: the ``uncertainty:`` block and the evidence's default priors.

A scenario's ``uncertainty:`` block gives a distribution to any numeric field:

    uncertainty:
      draws: 200                 # how many parameter sets the PSA draws
      replications: 4            # replication seeds the draws cycle over (simulation noise stays in)
      defaults: true             # add every behavioural default's evidence range (below)
      parameters:
        programme.enrolment.share: {dist: triangular, low: 0.3, mode: 0.5, high: 0.7}
        response.value_half: {dist: lognormal, median: 0.1, sigma: 0.5}
        customers.purchase.r: {dist: truncnormal, mean: 0.9, sd: 0.05, low: 0.01}
      groups:                    # named sets, for the value of information
        who joins: [programme.enrolment.share, programme.enrolment.selection]
      correlation:               # Gaussian copula between any two parameters
        - [customers.purchase.r, customers.purchase.alpha, 0.8]

Distributions: uniform (low, high), triangular (low, mode, high), normal (mean,
sd), truncnormal (mean, sd, low and/or high), lognormal (median, sigma), beta (a,
b, optional low/high to rescale from 0..1), draws (values: a fixed list, e.g. a
bootstrap; drawn as its empirical distribution) and fixed (value).

Default priors: every behavioural default of the mechanics in force, and the
value curve (``response.value_half``, ``response.delay_half_days``), carries a
plausible range from the evidence (``loyalsim validate --explain``); with
``defaults: true`` (also when there is no block at all) each becomes a prior
over that range: triangular, from its low end through the value in force to its
high end, for a size a study measured (grade ``measured``); uniform over the
range, a wider prior, for a size only the sign of which is known (``direction``)
or that no study has sized (``assumption``).
So ``loyalsim psa`` works on any library scenario without writing a block.
Default groups are the scenario's parts: each mechanic's responses, the value
curve, the customer base.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ScenarioError


DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b"),
    "draws": ("values",),
    "fixed": ("value",),
}
OPTIONAL = {"truncnormal": ("low", "high"), "beta": ("low", "high")}
NOT_PRIORS = ("response.intensity", "response.basket", "response.dropout", "response.referrals",
              "response.campaigns")  # calibration knobs: their range would double count the effects'

@dataclass
class Prior:
    field: str
    dist: str
    args: dict
    group: str
    source: str = ""
    integer: bool = False  # a whole-number field: draws are rounded
    grade: str | None = None  # a default prior: how well the default's size is known (sim.schema.GRADES); a prior
    #                           the scenario writes has none (its evidence is the scenario's own)

    def quantile(self, u):
        """The prior's inverse CDF at u (0 < u < 1)."""
        a = self.args
        u = np.asarray(u, dtype=np.float64)
        d = self.dist
        if d == "fixed":
            return np.full(u.shape, float(a["value"]))
        if d == "uniform":
            return a["low"] + u * (a["high"] - a["low"])
        if d == "triangular":
            lo, mode, hi = a["low"], a["mode"], a["high"]
            if hi == lo:
                return np.full(u.shape, float(lo))
            c = (mode - lo) / (hi - lo)
            return np.where(u < c, lo + np.sqrt(u * (hi - lo) * (mode - lo)),
                            hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode)))
        if d == "normal":
            from scipy.special import ndtri
            return a["mean"] + a["sd"] * ndtri(u)
        if d == "truncnormal":
            from scipy.special import ndtr, ndtri
            lo = -math.inf if a.get("low") is None else (a["low"] - a["mean"]) / a["sd"]
            hi = math.inf if a.get("high") is None else (a["high"] - a["mean"]) / a["sd"]
            if lo > 0:  # all of it in the upper tail: work on the mirrored lower tail, where ndtr keeps its digits
                p = ndtr(-hi) + (1 - u) * (ndtr(-lo) - ndtr(-hi))
                z = -ndtri(np.clip(p, 1e-300, 1 - 1e-16))
            else:
                p = ndtr(lo) + u * (ndtr(hi) - ndtr(lo))
                z = ndtri(np.clip(p, 1e-300, 1 - 1e-16))
            return np.clip(a["mean"] + a["sd"] * z, a["mean"] + a["sd"] * lo, a["mean"] + a["sd"] * hi)
        if d == "lognormal":
            from scipy.special import ndtri
            return a["median"] * np.exp(a["sigma"] * ndtri(u))
        if d == "beta":
            from scipy.special import betaincinv
            x = betaincinv(a["a"], a["b"], u)
            return a.get("low", 0.0) + x * (a.get("high", 1.0) - a.get("low", 0.0))
        if d == "draws":
            values = np.sort(np.asarray(a["values"], dtype=np.float64))
            return values[np.minimum((u * values.size).astype(int), values.size - 1)]
        raise ValueError(d)

    def support(self):
        """(lowest, highest) value the prior can take."""
        q = self.quantile(np.array([1e-12, 1 - 1e-12]))
        return float(q[0]), float(q[1])

    @property
    def width(self) -> float:
        lo, hi = self.support()
        return hi - lo


@dataclass
class Priors:
    priors: list
    groups: dict                     # name -> [field]
    correlation: np.ndarray | None = None
    draws: int = 200
    replications: int = 4
    notes: list = field(default_factory=list)

    @property
    def fields(self):
        return [p.field for p in self.priors]

    def sample(self, n, seed) -> np.ndarray:
        """n draws (rows) of every parameter (columns): Latin hypercube uniforms, through the
        Gaussian copula when parameters are correlated, then each prior's quantile function."""
        k = len(self.priors)
        if k == 0:
            return np.zeros((n, 0))
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5053]))  # "PS": the PSA's own stream
        u = (rng.permuted(np.tile(np.arange(n), (k, 1)), axis=1).T + rng.random((n, k))) / n
        if self.correlation is not None:
            from scipy.special import ndtr, ndtri
            z = ndtri(u) @ np.linalg.cholesky(self.correlation).T
            u = ndtr(z)
        u = np.clip(u, 1e-12, 1 - 1e-12)
        return np.column_stack([p.quantile(u[:, j]) for j, p in enumerate(self.priors)])

    def at(self, values) -> dict:
        """The overrides that set each parameter to its drawn value."""
        return {p.field: int(round(float(v))) if p.integer else float(v) for p, v in zip(self.priors, values)}


def _group_of(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "programme" and len(parts) > 1:
        return {"enrolment": "who joins (enrolment)"}.get(parts[1], f"{parts[1]} response")
    if parts[0] == "response":
        return "value curve"
    if parts[:2] == ["customers", "contact"]:
        return "who can be reached"
    if parts[0] == "customers":
        return "customer base"
    if parts[0] == "economics":
        return "economics"
    return parts[0]


def default_priors(scenario) -> list:
    """A triangular prior for every behavioural default in force: low end, value in force, high end."""
    from sim.scenario import assumptions
    out = []
    for row in assumptions(scenario):
        path = row["field"]
        if path in NOT_PRIORS or not path.startswith(("programme.", "response.", "customers.contact.")):
            continue
        lo, hi, v = row["low"], row["high"], float(row["value"])
        lo, hi = min(lo, v), max(hi, v)
        if hi <= lo:
            continue
        if row["grade"] == "measured":  # a study sized it: most weight near the value in force
            prior = Prior(path, "triangular", {"low": lo, "mode": v, "high": hi}, _group_of(path), row["source"],
                          grade=row["grade"])
        else:  # only the sign, or nothing, is known: every value in the range as likely (a wider prior)
            prior = Prior(path, "uniform", {"low": lo, "high": hi}, _group_of(path), row["source"], grade=row["grade"])
        out.append(prior)
    return out


def priors_of(scenario, defaults=None, draws=None) -> Priors:
    """The scenario's uncertainty: its block's priors, groups and correlation, plus the default priors."""
    block = scenario.cfg.get("uncertainty") or {}
    file = scenario.file
    use_defaults = block.get("defaults", True) if defaults is None else defaults
    explicit = []
    for path, spec in (block.get("parameters") or {}).items():
        explicit.append(_parse_prior(scenario, str(path), spec, file))
    given = {p.field for p in explicit}
    priors = ([p for p in default_priors(scenario) if p.field not in given] if use_defaults else []) + explicit
    fields = [p.field for p in priors]
    groups = {}
    for name, members in (block.get("groups") or {}).items():
        if not isinstance(members, (list, tuple)) or not members:
            raise ScenarioError(file, f"uncertainty.groups.{name}", "expected a list of field paths with priors")
        for f in members:
            if f not in fields:
                raise ScenarioError(file, f"uncertainty.groups.{name}",
                                    f"{f!r} has no prior; allowed: fields given under uncertainty.parameters"
                                    + (" or a behavioural default in force" if use_defaults else ""))
        groups[str(name)] = list(members)
    grouped = {f for m in groups.values() for f in m}
    for p in priors:  # every parameter not in a named group falls in its part of the scenario's group
        if p.field not in grouped:
            groups.setdefault(p.group, []).append(p.field)
    corr = _correlation(block.get("correlation"), fields, file)
    return Priors(priors, groups, corr, draws or block.get("draws", 200), block.get("replications", 4))


def _parse_prior(scenario, path, spec, file) -> Prior:
    where = f"uncertainty.parameters.{path}"
    from sim.schema import Num, leaves
    from sim.scenario import scenario_schema
    specs = {p: s for p, s in leaves(scenario_schema())}
    num = specs.get(path)
    if num is None or not isinstance(num, Num):
        raise ScenarioError(file, where, "not a numeric field of the scenario (see loyalsim validate --explain)")
    if not isinstance(spec, dict) or "dist" not in spec:
        raise ScenarioError(file, where, "expected {dist: NAME, ...}; allowed: " + ", ".join(DISTRIBUTIONS))
    dist = spec["dist"]
    if dist not in DISTRIBUTIONS:
        raise ScenarioError(file, f"{where}.dist", f"got {dist!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    need = DISTRIBUTIONS[dist]
    allowed = set(need) | set(OPTIONAL.get(dist, ())) | {"dist"}
    for k in spec:
        if k not in allowed:
            raise ScenarioError(file, f"{where}.{k}", f"unknown key; allowed for {dist}: {', '.join(sorted(allowed - {'dist'}))}")
    args = {}
    for k in need + OPTIONAL.get(dist, ()):
        if k not in spec:
            if k in need:
                raise ScenarioError(file, f"{where}.{k}", f"is required for {dist}")
            continue
        v = spec[k]
        if k == "values":
            if not isinstance(v, (list, tuple)) or not v or not all(_finite(x) for x in v):
                raise ScenarioError(file, f"{where}.values", "expected a non-empty list of numbers")
            args[k] = [float(x) for x in v]
        elif not _finite(v):
            raise ScenarioError(file, f"{where}.{k}", f"got {v!r}; allowed: a finite number")
        else:
            args[k] = float(v)
    checks = {"uniform": lambda a: a["low"] <= a["high"], "triangular": lambda a: a["low"] <= a["mode"] <= a["high"],
              "normal": lambda a: a["sd"] >= 0, "truncnormal": lambda a: a["sd"] > 0,
              "lognormal": lambda a: a["median"] > 0 and a["sigma"] >= 0, "beta": lambda a: a["a"] > 0 and a["b"] > 0}
    if dist in checks and not checks[dist](args):
        raise ScenarioError(file, where, {"uniform": "needs low <= high", "triangular": "needs low <= mode <= high",
                                          "normal": "needs sd >= 0", "truncnormal": "needs sd > 0",
                                          "lognormal": "needs median > 0 and sigma >= 0",
                                          "beta": "needs a > 0 and b > 0"}[dist])
    prior = Prior(path, dist, args, _group_of(path), integer=num.integer)
    lo, hi = prior.support()
    if (num.lo is not None and lo < num.lo) or (num.hi is not None and hi > num.hi):
        raise ScenarioError(file, where, f"the {dist} prior reaches {lo:g}..{hi:g}, outside what the field allows "
                                         f"({num.allowed()}); use a truncated or bounded distribution")
    return prior


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _correlation(pairs, fields, file):
    if not pairs:
        return None
    if not isinstance(pairs, (list, tuple)):
        raise ScenarioError(file, "uncertainty.correlation", "expected a list of [field, field, rho]")
    k = len(fields)
    r = np.eye(k)
    for i, item in enumerate(pairs):
        where = f"uncertainty.correlation[{i}]"
        if not isinstance(item, (list, tuple)) or len(item) != 3 or not _finite(item[2]) or not -1 < item[2] < 1:
            raise ScenarioError(file, where, "expected [field, field, rho] with -1 < rho < 1")
        a, b, rho = item
        for f in (a, b):
            if f not in fields:
                raise ScenarioError(file, where, f"{f!r} has no prior")
        r[fields.index(a), fields.index(b)] = r[fields.index(b), fields.index(a)] = float(rho)
    if np.linalg.eigvalsh(r).min() <= 0:
        raise ScenarioError(file, "uncertainty.correlation", "the correlations do not form a valid correlation matrix")
    return r


def draw_scenarios(scenario, n=None, seed=None, priors=None) -> tuple[list, np.ndarray, Priors]:
    """n scenarios with their uncertain parameters drawn; returns (scenarios, values (n x k), priors)."""
    pr = priors or priors_of(scenario, draws=n)
    n = n or pr.draws
    values = pr.sample(n, scenario.cfg.seed if seed is None else seed)
    return [scenario.with_overrides(pr.at(row)) for row in values], values, pr
