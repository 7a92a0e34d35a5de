"""Evaluating designs: each design ({field: value} overrides of one scenario) run on replication seeds
through the run layer, and the measures of one replication (programme arm vs its baseline)."""
from __future__ import annotations

import json
import math

import numpy as np

from sim.errors import Interrupted, ScenarioError
from sim.studies.optimise.problem import ROBUST_FROM, ROBUST_SEEDS, SELECT_FROM


# --------------------------------------------------------------------------- measures of one replication

def measures_of(outcome, discount_rate: float) -> dict:
    """Every measure of one design in one replication (programme arm vs its baseline)."""
    p, b = outcome.programme, outcome.baseline
    lift = float(p.metrics["profit"] - b.metrics["profit"])
    monthly = np.asarray(outcome.monthly_incremental_profit(), dtype=float)
    rate_m = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
    npv = float((monthly * (1.0 + rate_m) ** -np.arange(1, monthly.size + 1)).sum())
    cost = float(p.metrics["programme_cost"])
    mech = p.mechanics or {}
    members = (mech.get("enrolment") or {}).get("members_end")
    if members is None:
        members = p.metrics.get("active_customers_end")
    members = float(members or 0.0)
    liability = float((mech.get("points") or {}).get("liability_end") or 0.0)
    return {
        "incremental_profit": lift,
        "npv": npv,
        "roi": lift / cost if cost else math.nan,
        "retention_lift": float(p.metrics["retention_rate"] - b.metrics["retention_rate"]),
        "liability_end": liability,
        "programme_cost": cost,
        "programme_cost_per_member": cost / members if members else math.inf,
        "members": members,
        "revenue_lift": float(p.metrics["revenue"] - b.metrics["revenue"]),
        "baseline_profit": float(b.metrics["profit"]),
    }


def no_programme_measures(baseline_profit=math.nan) -> dict:
    return {"incremental_profit": 0.0, "npv": 0.0, "roi": 0.0, "retention_lift": 0.0, "liability_end": 0.0,
            "programme_cost": 0.0, "programme_cost_per_member": 0.0, "members": 0.0, "revenue_lift": 0.0,
            "baseline_profit": baseline_profit}


# --------------------------------------------------------------------------- evaluators

class SimulationEvaluator:
    """Designs ({field: value} overrides of one scenario) run on replication seeds, through run_variants."""

    def __init__(self, scenario, *, workers=None, backend=None, scheduler=None, store=None):
        from sim.runner import as_store
        from sim.executors import default_workers
        self.scenario = scenario
        self.workers = workers or default_workers()
        self.backend, self.scheduler = backend, scheduler
        self.store = as_store(store)
        self.discount_rate = float(scenario.cfg.economics.discount_rate)
        self._variants: dict = {}
        self._warm: set = set()

    def variant(self, design: dict):
        key = json.dumps(design, sort_keys=True, default=str)
        if key not in self._variants:
            self._variants[key] = self.scenario.with_overrides(design)
        return self._variants[key]

    def check(self, design: dict) -> str | None:
        """None if the design is a valid scenario, else why not (one line)."""
        try:
            self.variant(design)
        except ScenarioError as e:
            return f"{e.field}: {e.problem}"
        return None

    def evaluate(self, designs: list, replications) -> dict:
        """{(design index, replication): measures}; Interrupted if stopped (what finished is in the store)."""
        reps = list(replications)
        return self.run([self.variant(d) for d in designs], [reps] * len(designs))

    def run(self, variants: list, reps_per_variant: list) -> dict:
        from sim.studies.plan import run_variants
        if not variants:
            return {}
        self._warm_bases(variants, reps_per_variant)
        outcomes, interrupted = run_variants(variants, reps_per_variant, workers=self.workers,
                                             backend=self.backend, scheduler=self.scheduler, store=self.store)
        if interrupted:
            raise Interrupted(interrupted)
        return {k: measures_of(o, self.discount_rate) for k, o in outcomes.items()}

    def evaluate_draws(self, designs: list, draws: int, seed: int) -> tuple[dict, list]:
        """Each design on each of ``draws`` draws of the uncertain assumptions; ({(design, draw): measures}, fields)."""
        from sim.studies.priors import draw_scenarios
        scenarios, values, priors = draw_scenarios(self.scenario, draws, seed)
        variants, reps, where = [], [], []
        for d, sc in enumerate(scenarios):
            for i, design in enumerate(designs):
                try:
                    variants.append(sc.with_overrides(design))
                except ScenarioError:
                    continue  # a draw that makes this design invalid: left out of its row
                reps.append([ROBUST_FROM + d % ROBUST_SEEDS])
                where.append((i, d))
        got = self.run(variants, reps)
        out = {}
        for v, (i, d) in enumerate(where):
            m = got.get((v, ROBUST_FROM + d % ROBUST_SEEDS))
            if m is not None:
                out[(i, d)] = m
        return out, priors.fields

    def _warm_bases(self, variants, reps_per_variant):
        """Compute each replication's launch base and baseline once, here, before the pool forks.

        A process pool starts afresh for every batch, and its workers would each rebuild the
        customers' history of the replications they meet; forked workers inherit this process's
        cache of launch bases (sim.work), so the history is computed once per replication for the
        whole search. Only the search's replications, which every batch reuses (the selection's
        fresh ones are used in one call each, where the workers build them in parallel); only for
        the local process pool (a Dask worker does not share memory); and only when some record
        of the batch is not in the store yet.
        """
        if self.backend not in (None, "process") or self.scheduler or self.workers <= 1:
            return
        from sim.work import Unit, record_key, simulate
        base = self.scenario
        ident = base.baseline_identity()
        need = set()
        for v, reps in zip(variants, reps_per_variant):
            if v.baseline_identity() != ident or v.cfg.seed != base.cfg.seed:
                continue
            for r in reps:
                if r in self._warm or r >= SELECT_FROM:
                    continue
                if self.store is None or not self.store.path(record_key(base, r, v)).exists() \
                        or not self.store.path(record_key(base, r)).exists():
                    need.add(r)
        if len(need) < 1:
            return
        for r in sorted(need):
            simulate(Unit(base, r, (), baseline=True, share=True))
            self._warm.add(r)
