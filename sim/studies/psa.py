"""Probabilistic sensitivity analysis: how likely the programme pays, given what we don't know.

Each draw sets every uncertain parameter (sim.studies.priors) and runs the
programme against no programme on the same customers and random numbers; the
draws cycle over a few replication seeds, so the spread of incremental profit
holds the assumptions and the simulation noise both (the noise share is
measured separately, from replications of the plain scenario). With several
strategies, every strategy sees the same parameter draws (those of its own
mechanics) and the same customers.

What comes out (``PSAResult.summary()``): the distribution of incremental
profit, the probability of paying, the expected loss of launching and of not
launching, the probability of having paid back by each month and staying paid
back (an acceptability curve over the horizon), the probability each strategy is
best, EVPI and EVPPI
per group of parameters (sim.studies.voi), a one-way tornado, and on request
Morris and Sobol indices (sim.studies.sensitivity).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim import verdict
from sim.documents import stamp
from sim.errors import UserError
from sim.metrics import clean
from sim.studies import voi
from sim.studies.plan import run_variants
from sim.studies.priors import Priors, priors_of

LIFTS = ("revenue", "orders", "retention_rate", "average_check", "purchase_frequency", "programme_cost")


def _applies(path: str, scenario) -> bool:
    """Does a prior's field exist in this strategy (its mechanic runs)? The value curve always does."""
    parts = path.split(".")
    if parts[0] != "programme":
        return True
    from sim.mechanics import MECHANICS
    cls = MECHANICS.get(parts[1])
    return cls is not None and cls.active(scenario.cfg.programme)


@dataclass
class PSAResult:
    strategies: list                 # names
    scenarios: list
    priors: Priors
    values: np.ndarray               # draws x parameters
    replication_of_draw: np.ndarray
    incremental: np.ndarray          # draws x strategies: incremental profit over the horizon
    cumulative: np.ndarray           # draws x strategies x months: cumulative incremental profit
    lifts: dict                      # metric -> draws x strategies
    base_incremental: np.ndarray     # replications x strategies: the plain scenario (noise)
    tornado: list = field(default_factory=list)
    sensitivity: dict = field(default_factory=dict)
    interrupted: int | None = None
    currency: str = ""
    months: list = field(default_factory=list)
    cumulative_revenue: np.ndarray | None = None  # draws x strategies x months: cumulative revenue lift

    # ------------------------------------------------------------------ tables
    def table(self):
        """One row per draw x strategy: the drawn parameters, incremental profit and lifts."""
        import pandas as pd
        rows = []
        for d in range(self.values.shape[0]):
            params = dict(zip(self.priors.fields, self.values[d]))
            for k, name in enumerate(self.strategies):
                rows.append({"draw": d, "replication": int(self.replication_of_draw[d]), "strategy": name, **params,
                             "incremental_profit": self.incremental[d, k],
                             **{f"lift_{m}": self.lifts[m][d, k] for m in LIFTS}})
        return pd.DataFrame(rows)

    def net_benefits(self) -> np.ndarray:
        """draws x (no programme, strategy 1, ...): incremental profit, 0 for doing nothing."""
        return np.column_stack([np.zeros(self.incremental.shape[0]), self.incremental])

    def noise_variance(self, k=0) -> float | None:
        """Variance of strategy k's incremental profit over the plain run's replications: simulation noise."""
        return float(np.var(self.base_incremental[:, k], ddof=1)) if self.base_incremental.shape[0] > 1 else None

    # ------------------------------------------------------------------ the answer
    def summary(self) -> dict:
        nb = self.net_benefits()
        dec = voi.decision(nb)
        options = ["no programme", *self.strategies]
        strategies = {}
        for k, name in enumerate(self.strategies):
            x = self.incremental[:, k]
            noise_var = self.noise_variance(k)
            total_var = float(np.var(x, ddof=1)) if x.size > 1 else 0.0
            strategies[name] = {
                "incremental_profit": {"mean": float(x.mean()), "p5": float(np.percentile(x, 5)),
                                       "p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95))},
                "probability_pays": float((x > 0).mean()),
                "expected_loss_if_launched": float(np.maximum(-x, 0).mean()),
                "expected_loss_if_not_launched": float(np.maximum(x, 0).mean()),
                "probability_paid_back_by_month": paid_back_by_month(self.cumulative[:, k, :]).tolist(),
                "lifts": {m: {"mean": float(self.lifts[m][:, k].mean()), "p5": float(np.percentile(self.lifts[m][:, k], 5)),
                              "p95": float(np.percentile(self.lifts[m][:, k], 95))} for m in LIFTS},
                "noise_share_of_variance": (min(noise_var / total_var, 1.0) if noise_var is not None and total_var > 0
                                            else None),
                "plain_run_incremental_profit": float(self.base_incremental[:, k].mean()),
            }
        evpi = dec["evpi"]
        groups = {}
        for gname, members in self.priors.groups.items():
            cols = [self.priors.fields.index(f) for f in members]
            groups[gname] = {"parameters": members, **voi.evppi_of_group(nb, self.values[:, cols], evpi)}
        ranked = sorted(groups, key=lambda g: -groups[g]["evppi"])
        best = int(np.argmax(dec["expected"]))
        doc = {
            "strategies": strategies,
            "seed": int(self.scenarios[0].cfg.seed) if self.scenarios else None,
            "draws": int(self.values.shape[0]),
            "replications": int(self.base_incremental.shape[0]),
            "parameters": [{"field": p.field, "dist": p.dist, **p.args, "group": p.group, "source": p.source,
                            "grade": p.grade} for p in self.priors.priors],
            "what_the_spread_includes": "the assumptions (each draw sets every uncertain parameter from its prior) "
                                        "and simulation noise (draws cycle over replication seeds)",
            "decision": {
                "options": options,
                "expected_incremental_profit": dict(zip(options, dec["expected"])),
                "probability_best": dict(zip(options, dec["probability_best"])),
                "expected_loss": dict(zip(options, dec["expected_loss"])),
                "best_on_expectation": options[best],
            },
            "evpi": evpi,
            "evppi": {g: groups[g] for g in ranked},
            "largest_evppi_group": ranked[0] if ranked else None,
            "currency": self.currency,
            "months": self.months,
        }
        for name in self.strategies:
            strategies[name]["probability_best"] = doc["decision"]["probability_best"][name]
        if self.tornado:
            doc["tornado"] = [{**r, "strategy_name": self.strategies[r["strategy"]]} for r in self.tornado]
        if self.sensitivity:
            doc["sensitivity"] = self.sensitivity
        if self.interrupted:
            doc["interrupted"] = True
        doc = stamp("psa", doc)
        doc["verdict"] = verdict.of_psa(clean(doc)).as_dict()
        return doc


def paid_back_by_month(cumulative: np.ndarray) -> np.ndarray:
    """Per month: the share of draws (rows of ``cumulative``, the cumulative incremental profit by month)
    in which the programme has paid back by that month and stays paid back to the end of the horizon
    (the running total is above zero from that month on). Never falls from one month to the next."""
    if cumulative.size == 0:
        return np.zeros(cumulative.shape[-1] if cumulative.ndim else 0)
    above = cumulative > 0
    # stays above zero from month m on: a reversed running "and" over the months
    stays = np.flip(np.logical_and.accumulate(np.flip(above, axis=1), axis=1), axis=1)
    return stays.mean(axis=0)


def variants_for(scenarios, priors, values):
    """Every strategy with every draw's parameters (those its mechanics have)."""
    out = []
    for row in values:
        for sc in scenarios:
            over = {f: v for f, v in priors.at(row).items() if _applies(f, sc)}
            out.append(sc.with_overrides(over))
    return out


def run_psa(scenarios, draws=None, replications=None, *, tornado=True, seed=None, workers=None, backend=None,
            scheduler=None, store=None, progress=None) -> PSAResult:
    """The PSA of one or more strategies (scenarios on the same customer base)."""
    from sim.studies.compare import check_comparable, strategy_names
    if len(scenarios) > 1:
        check_comparable(scenarios)
    first = scenarios[0]
    merged = _union_priors(scenarios)
    n = draws or merged.draws
    reps = replications or merged.replications
    values = merged.sample(n, first.cfg.seed if seed is None else seed)
    k = len(scenarios)
    rep_of_draw = np.arange(n) % reps
    variants = variants_for(scenarios, merged, values)
    variant_reps = [[int(rep_of_draw[i // k])] for i in range(len(variants))]
    # the plain scenarios, every replication: how much of the spread is simulation noise
    plain = list(scenarios)
    variants_all = variants + plain
    reps_all = variant_reps + [list(range(reps))] * k
    tornado_rows = []
    if tornado:
        ends = tornado_variants(scenarios, merged)
        variants_all += [v for _, _, _, v in ends]
        reps_all += [[0]] * len(ends)  # one replication: both ends are paired on the same random numbers
    outcomes, interrupted = run_variants(variants_all, reps_all, workers=workers, backend=backend,
                                         scheduler=scheduler, store=store, progress=progress)
    n_done = n
    if interrupted:  # keep whole draws only
        n_done = 0
        while n_done < n and all((n_done * k + j, int(rep_of_draw[n_done])) in outcomes for j in range(k)):
            n_done += 1
    incremental = np.zeros((n_done, k))
    months = None
    cumulative = None
    lifts = {m: np.zeros((n_done, k)) for m in LIFTS}
    for d in range(n_done):
        for j in range(k):
            o = outcomes[(d * k + j, int(rep_of_draw[d]))]
            incremental[d, j] = o.lift("profit")
            for m in LIFTS:
                lifts[m][d, j] = o.lift(m)
            cum = np.cumsum(o.monthly_incremental_profit())
            if cumulative is None:
                months = len(cum)
                cumulative = np.zeros((n_done, k, months))
                cum_revenue = np.zeros((n_done, k, months))
            cumulative[d, j] = cum
            cum_revenue[d, j] = np.cumsum(o.programme.series["revenue"] - o.baseline.series["revenue"])
    if cumulative is None:
        cumulative = cum_revenue = np.zeros((0, k, 0))
    base = np.array([[outcomes[(len(variants) + j, r)].lift("profit") if (len(variants) + j, r) in outcomes else np.nan
                      for j in range(k)] for r in range(reps)])
    base = base[~np.isnan(base).any(axis=1)] if base.size else base
    if tornado:
        tornado_rows = _tornado_rows(ends, outcomes, len(variants) + k, scenarios, 1)
    names = strategy_names(scenarios)
    cal = first.cfg.start_date
    labels = [f"{(cal.year * 12 + cal.month - 1 + m) // 12}-{(cal.month - 1 + m) % 12 + 1:02d}" for m in range(months or 0)]
    return PSAResult(names, scenarios, merged, values[:n_done], rep_of_draw[:n_done], incremental, cumulative, lifts,
                     base, tornado_rows, {}, interrupted, first.cfg.economics.currency, labels, cum_revenue)


def _union_priors(scenarios) -> Priors:
    """One set of priors over every strategy's uncertain parameters (the first one's block settles ties)."""
    all_priors = [priors_of(sc) for sc in scenarios]
    seen, priors, groups = set(), [], {}
    for pr in all_priors:
        for p in pr.priors:
            if p.field not in seen:
                seen.add(p.field)
                priors.append(p)
        for g, members in pr.groups.items():
            groups.setdefault(g, [])
            groups[g] += [f for f in members if f not in groups[g]]
    return Priors(priors, groups, _merged_correlation(all_priors, [p.field for p in priors], scenarios),
                  all_priors[0].draws, all_priors[0].replications)


def _merged_correlation(all_priors, fields, scenarios):
    """Each strategy's copula correlations placed on the union of the strategies' parameters (the
    same parameter is one draw for every strategy); a pair two strategies correlate differently is
    refused."""
    if all(pr.correlation is None for pr in all_priors):
        return None
    r = np.eye(len(fields))
    for pr, sc in zip(all_priors, scenarios):
        if pr.correlation is None:
            continue
        own = [fields.index(p.field) for p in pr.priors]
        for a, i in enumerate(own):
            for b, j in enumerate(own):
                rho = pr.correlation[a, b]
                if i != j and rho != 0:
                    if r[i, j] not in (0.0, rho):
                        raise UserError(f"{sc.file}: uncertainty.correlation: {fields[i]} and {fields[j]} are "
                                        f"correlated {rho} here and {r[i, j]} in another strategy; allowed: the same "
                                        "correlation in every strategy that gives one")
                    r[i, j] = rho
    if np.linalg.eigvalsh(r).min() <= 0:
        raise UserError(f"{scenarios[0].file}: uncertainty.correlation: the strategies' correlations together do not "
                        "form a valid correlation matrix")
    return r


# --------------------------------------------------------------------------- one at a time

TORNADO_ENDS = {"low": 0.05, "high": 0.95}  # each parameter's 5th and 95th percentile


def _tornado_value(p, end) -> float:
    v = float(p.quantile(np.array([TORNADO_ENDS[end]]))[0])
    return int(round(v)) if p.integer else v


def tornado_variants(scenarios, priors):
    """(strategy, prior, end, scenario) for each parameter at its 5th and 95th percentile, others as written."""
    out = []
    for k, sc in enumerate(scenarios):
        for p in priors.priors:
            if not _applies(p.field, sc) or p.width == 0:
                continue
            for end in TORNADO_ENDS:
                v = _tornado_value(p, end)
                out.append((k, p, end, sc.with_overrides({p.field: v})))
    return out


def _tornado_rows(ends, outcomes, offset, scenarios, reps):
    rows = {}
    for i, (k, p, end, _) in enumerate(ends):
        vals = [outcomes[(offset + i, r)].lift("profit") for r in range(reps) if (offset + i, r) in outcomes]
        if not vals:
            continue
        row = rows.setdefault((k, p.field), {"strategy": k, "field": p.field, "group": p.group, "source": p.source,
                                             "grade": p.grade})
        row[f"{end}_value"] = _tornado_value(p, end)
        row[f"{end}_incremental_profit"] = float(np.mean(vals))
    out = [r for r in rows.values() if "low_incremental_profit" in r and "high_incremental_profit" in r]
    for r in out:
        r["swing"] = abs(r["high_incremental_profit"] - r["low_incremental_profit"])
    return sorted(out, key=lambda r: -r["swing"])
