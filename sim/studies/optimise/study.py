"""The whole study: the search, then the selection stages (or the Pareto front), then robustness."""
from __future__ import annotations

import numpy as np

from sim.studies.optimise.problem import Problem
from sim.studies.optimise.result import OptimiseResult
from sim.studies.optimise.search import search, trial_rows
from sim.studies.optimise.stages import confirm, confirm_front, finalists_of, pareto_rows, robust_stage, select


def run_optimise(problem: Problem, evaluator, *, storage=None, progress=None, scenario=None) -> OptimiseResult:
    """The search, the selection and (optionally) the robustness step. ``progress(label)`` may return an
    update(done, total) callable for each step."""
    def bar(label):
        return progress(label) if progress else None

    study = search(problem, evaluator, storage=storage, progress=bar("trials"))
    rows = trial_rows(problem, study)
    res = OptimiseResult(problem, rows, [])
    if scenario is not None:
        res.scenario_name, res.scenario_file = scenario.name, str(scenario.file)
        res.currency = scenario.cfg.economics.currency
    bps = [x for r in rows for x in (r["values"].get("baseline_profit") or []) if x is not None]
    res.baseline_profit = float(np.mean(bps)) if bps else None
    if not any(r["feasible"] for r in rows):
        return res
    if problem.multi:
        res.pareto = pareto_rows(problem, rows)
        res.finalists = res.pareto[:max(problem.finalists, 1) * 2]
        confirm_front(res, evaluator)
    else:
        res.finalists = finalists_of(problem, rows, problem.finalists)
        select(res, evaluator, bar("selection"))
        confirm(res, evaluator)
    if problem.robust_draws:
        robust_stage(res, evaluator, bar("robustness"))
    return res
