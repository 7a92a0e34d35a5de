"""Find the best programme: a search, a selection with a guarantee, and robustness to what we don't know.

    loyalsim optimise scenarios/points_and_tiers.yaml --budget 40 --out opt/ \\
        --vary programme.points.earn_per_currency=0.05:1 \\
        --vary programme.tiers.levels.1.threshold=2000:5000 \\
        --vary programme.tiers.downgrade=none,one_step \\
        --constraint "liability_end<=300000"

or in the scenario:

    optimise:
      budget: 40
      objective: incremental_profit          # or npv, roi, retention_lift; two names: a trade-off (Pareto front)
      constraints: ["programme_cost_per_member<=40", "retention_lift>=0.01"]
      replications: 2
      vary:
        programme.points.earn_per_currency: "0.05:1"
        programme.tiers.downgrade: [none, one_step]
      select: {finalists: 5, indifference: 50000, confidence: 0.95}

Three steps, each on common random numbers (every design meets the same
customers and chance events, replication by replication):

1. **Search.** Optuna proposes designs within the bounds: TPE for one objective,
   NSGA-II for two (a Pareto front). Each design (a *trial*) runs programme vs no
   programme on ``replications`` replication seeds (0, 1, ...), the same for every
   trial, so the customers' history and the no-programme arm are computed once
   per replication and every trial costs one programme arm per replication
   (sim.studies.plan). Trials are asked and told in batches, so a process pool
   stays busy. Constraints (``name<=value``, ``name>=value`` on the means) mark
   a trial infeasible: the sampler steers away from it and it is never selected.
2. **Selection with a guarantee.** The best few feasible designs (``finalists``)
   and *no programme* (incremental profit exactly 0 on common random numbers)
   go through Kim & Nelson's KN procedure (sim.studies.selection) on fresh
   replications (seeds from 1000 on, never seen by the search): it keeps adding
   replications to the designs still in contention until one is left, and
   guarantees (Kim & Nelson 2001) that if the best finalist leads every other
   by at least the indifference zone, it is the one picked with probability at
   least the confidence; designs closer than that count as equally good. The
   guarantee covers the finalists, not designs the search never tried. The chosen design's profit is
   then re-estimated on further fresh replications (from 2000 on), so the
   number reported is neither the search's best observation nor the selection's
   (both are flattered by having been picked: the winner's curse).
3. **Robustness** (``--robust``): the finalists across draws of the uncertain
   assumptions (sim.studies.priors: the scenario's uncertainty block and every
   behavioural default's evidence range), each finalist's settings applied on
   top of each draw; ranked by expected profit and by the mean of the worst 10%
   of draws (CVaR), so a design that wins only under optimistic assumptions is
   flagged.

Resumable: with ``--out DIR``, Optuna keeps its trials in SQLite (``DIR/optuna.db``)
and every replication is in the result store (``DIR/store``). A killed run,
started again with the same command, completes the batch it was in (its
records are found in the store) and continues; because every proposal is
seeded by the trial's number and the trials told before it, and every
evaluation is a pure function of the design and the replication seed, it ends
with the same trials and the same choice as a run never interrupted. The batch
size is a setting of its own (``--batch``, default 4), not the worker count, so
the trials do not depend on the machine either. A database that is torn, of another tool or of
another problem is refused in one line naming it (files.check_storage), before Optuna touches it.

Where it stopped: when the chosen design (or, if no programme wins, the best programme design) lies
within 2% of either end of a varied field's range, the summary's ``at_bound`` names the field and the
bound (sim.studies.sweep.at_bound, the same rule as a sweep's best point), and the verdict suggests
widening it.

Backends: each batch and each selection stage is one call of run_variants. On the
local process pool (the default) the search's launch bases are built once, in
this process, and inherited by every batch's forked workers. ``--backend dask``
starts a local cluster per call, which is slow for many small batches: use the
process pool, or an existing cluster (``dask://HOST:PORT``).

The package, by concern: ``problem`` (the ``optimise:`` block and the command line made a
Problem), ``evaluator`` (designs on replications through the run layer), ``search`` (the Optuna
loop, and the one place that touches Optuna's private attributes), ``stages`` (finalists,
selection, confirmation, robustness), ``study`` (the three steps in order), ``result``
(OptimiseResult and its summary) and ``files`` (what ``--out DIR`` holds).
"""
from __future__ import annotations

from sim.studies.optimise.evaluator import SimulationEvaluator, measures_of, no_programme_measures
from sim.studies.optimise.files import best_yaml, check_storage, stated_yaml, storage_url, write_outputs
from sim.studies.optimise.problem import (
    CONFIRM_FROM, DEFAULT_INDIFFERENCE, DEFAULT_OBJECTIVE, NO_PROGRAMME, OBJECTIVES, ROBUST_FROM, ROBUST_SEEDS,
    SEARCH_FROM, SELECT_FROM, Constraint, Problem, check_factor, nice_step, parse_constraint, problem_block, problem_of,
    resolve_indifference, tidy,
)
from sim.studies.optimise.result import OptimiseResult, design_key, design_label, unique_labels
from sim.studies.optimise.search import OPTUNA_VERSIONS, open_study, running_trial, search, trial_rows
from sim.studies.optimise.stages import cvar, finalists_of, pareto_rows
from sim.studies.optimise.study import run_optimise

__all__ = [
    "CONFIRM_FROM", "DEFAULT_INDIFFERENCE", "DEFAULT_OBJECTIVE", "NO_PROGRAMME", "OBJECTIVES", "OPTUNA_VERSIONS",
    "ROBUST_FROM", "ROBUST_SEEDS", "SEARCH_FROM", "SELECT_FROM", "Constraint", "OptimiseResult", "Problem",
    "SimulationEvaluator", "best_yaml", "check_factor", "check_storage", "cvar", "design_key", "design_label",
    "finalists_of", "measures_of", "nice_step", "no_programme_measures", "open_study", "pareto_rows",
    "parse_constraint", "problem_block", "problem_of", "resolve_indifference", "run_optimise", "running_trial",
    "search", "stated_yaml", "storage_url", "tidy", "trial_rows", "unique_labels", "write_outputs",
]
