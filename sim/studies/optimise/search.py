"""The search: Optuna asks for designs in batches and is told their measures (TPE for one objective,
NSGA-II for two), resumable from its SQLite storage."""
from __future__ import annotations

import hashlib
import math

from sim.plain import plain
from sim.studies.optimise.problem import SEARCH_FROM, Problem, mean_of


# --------------------------------------------------------------------------- the search

def _constraints_func(frozen):
    """Optuna 4's way to pass constraints (5 and later: Trial.set_constraint)."""
    return frozen.user_attrs.get("violations") or [0.0]


def _set_constraints(trial, problem, violations):
    """Each constraint's violation (> 0: broken) on the trial, before it is told."""
    if hasattr(trial, "set_constraint"):
        for c, v in zip(problem.constraints, violations):
            trial.set_constraint(c.text(), v)
    trial.set_user_attr("violations", violations)


def _trial_seed(seed: int, number: int) -> int:
    return int.from_bytes(hashlib.sha256(f"optimise:{seed}:{number}".encode()).digest()[:4], "little")


# The Optuna versions this module is written against (pyproject.toml pins the same range, and
# tests/test_optimise_package.py checks both the range and the one private access below).
OPTUNA_VERSIONS = (">=4", "<6")


def _sampler(problem: Problem, number: int):
    """A fresh sampler for trial ``number``, seeded by it: proposals are a function of the seed, the
    trial's number and the trials told before it, never of how many proposals this process made."""
    import optuna
    from optuna.trial import Trial
    cons = _constraints_func if problem.constraints and not hasattr(Trial, "set_constraint") else None
    seed = _trial_seed(problem.seed, number)
    if problem.multi:
        pop = max(4, min(50, problem.budget // 4))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=pop, constraints_func=cons)
    startup = max(3, min(10, problem.budget // 4))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True,
                                      constraints_func=cons)


def per_trial_sampler(problem: Problem):
    """One sampler for the study that hands each trial to a fresh sampler seeded by the trial's number.

    Optuna's public way to change how proposals are made is a sampler (BaseSampler); this one keeps
    the study's sampler fixed and delegates every call about a trial to ``_sampler(problem, number)``,
    made afresh when a call names another trial than the last. So a proposal does not depend on how
    many proposals this process made before it (a resumed run makes the same ones)."""
    from optuna.samplers import BaseSampler

    class PerTrialSampler(BaseSampler):
        def __init__(self):
            self._number, self._current = None, None

        def _for(self, trial):
            if trial.number != self._number:
                self._number, self._current = trial.number, _sampler(problem, trial.number)
            return self._current

        def infer_relative_search_space(self, study, trial):
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

        def before_trial(self, study, trial):
            self._for(trial).before_trial(study, trial)

        def after_trial(self, study, trial, state, values):
            self._for(trial).after_trial(study, trial, state, values)

        def reseed_rng(self):
            """Nothing to reseed: every trial's sampler is seeded by the trial's number."""

    return PerTrialSampler()


def running_trial(study, frozen):
    """A trial still running (asked, not told) as a Trial to set attributes on before it is told.

    The one place that touches Optuna's private attributes: a run killed mid-batch leaves its trials
    running in the storage, and Optuna's public API gives back only their frozen copies; ``Trial``
    takes the storage's trial id, which a frozen trial keeps in ``_trial_id``. Every trial of a batch
    goes through here, so a change in Optuna shows at once (and in the version test)."""
    from optuna.trial import Trial
    return Trial(study, frozen._trial_id)


def open_study(problem: Problem, storage=None):
    """The study of this problem in ``storage`` (created, or loaded to resume); a storage that is torn
    or holds something else is a UserError naming the file (sim.studies.optimise.files.check_storage)."""
    import warnings

    import optuna

    from sim.studies.optimise.files import check_storage, storage_error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    name = problem.study_name()
    if storage is not None:
        check_storage(storage, name)
    try:
        return optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                   directions=problem.directions, sampler=per_trial_sampler(problem))
    except Exception as e:  # noqa: BLE001 - a storage Optuna cannot open, of any kind: one line naming the file
        if storage is None:
            raise
        raise storage_error(storage, e) from None


def search(problem: Problem, evaluator, storage=None, progress=None):
    """Run (or continue) the search until ``budget`` trials are told; returns the Optuna study. A storage that
    fails mid-search (a full disk, a file torn or locked by another process) is a UserError naming the file;
    what was told before it stays in the database and in the result store."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    from sim.studies.optimise.files import storage_error
    study = open_study(problem, storage)
    try:
        return _search(problem, evaluator, study, progress)
    except (SQLAlchemyError, StorageInternalError) as e:   # Optuna wraps a failed commit in StorageInternalError
        if storage is None:
            raise
        raise storage_error(storage, e, "read or write") from None


def _search(problem: Problem, evaluator, study, progress):
    from optuna.trial import TrialState
    dists = problem.distributions()
    reps = list(range(SEARCH_FROM, SEARCH_FROM + problem.replications))
    while True:
        trials = study.get_trials(deepcopy=False)
        running = sorted((t for t in trials if t.state == TrialState.RUNNING), key=lambda t: t.number)
        told = sum(1 for t in trials if t.state != TrialState.RUNNING)
        if progress:
            progress(min(told, problem.budget), problem.budget)
        if not running and len(trials) >= problem.budget:
            break
        # the batch: the trials a killed run left running, completed up to the batch size
        start = running[0].number if running else len(trials)
        stop = max(min(start + problem.batch, problem.budget), len(trials))
        while len(study.get_trials(deepcopy=False)) < stop:
            study.ask(dists)
        batch = sorted((t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING),
                       key=lambda t: t.number)
        if any(set(dists) - set(t.params) for t in batch):
            # a run killed inside ``ask`` leaves a trial created before all its parameters were written:
            # draw the missing ones now, by the trial's own sampler (seeded by its number, on the same
            # trials told and running), so it proposes what the uninterrupted run did
            for t in batch:
                _complete_params(running_trial(study, t), dists, t.params)
            batch = sorted((t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING),
                           key=lambda t: t.number)
        designs = [problem.design_of(t.params) for t in batch]
        errors = [evaluator.check(d) for d in designs]
        ok = [i for i, e in enumerate(errors) if e is None]
        got = evaluator.evaluate([designs[i] for i in ok], reps) if ok else {}
        for j, i in enumerate(ok):
            vals = {m: [got[(j, r)][m] for r in reps] for m in got[(j, reps[0])]}
            means = {m: mean_of(v) for m, v in vals.items()}
            trial = running_trial(study, batch[i])
            trial.set_user_attr("design", designs[i])
            trial.set_user_attr("replications", reps)
            trial.set_user_attr("values", {m: [None if x is None else plain(float(x)) for x in v]
                                           for m, v in vals.items()})
            if problem.constraints:
                _set_constraints(trial, problem, [_finite_violation(c.violation(means[c.measure]))
                                                  for c in problem.constraints])
            objs = [means[o] for o in problem.objectives]
            if all(math.isfinite(x) for x in objs):
                study.tell(batch[i].number, objs if problem.multi else objs[0])
            else:
                trial.set_user_attr("error", f"{', '.join(problem.objectives)} is not defined for this design")
                study.tell(batch[i].number, state=TrialState.FAIL)
        for i, e in enumerate(errors):
            if e is not None:
                trial = running_trial(study, batch[i])
                trial.set_user_attr("design", designs[i])
                trial.set_user_attr("error", e)
                study.tell(batch[i].number, state=TrialState.FAIL)
    return study


def _complete_params(trial, dists, have):
    """Suggest, on a running trial, every parameter of ``dists`` it does not hold yet (Optuna's public
    suggest calls, chosen by the distribution's kind)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    for name, d in dists.items():
        if name in have:
            continue
        if isinstance(d, FloatDistribution):
            trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, IntDistribution):
            trial.suggest_int(name, d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, CategoricalDistribution):
            trial.suggest_categorical(name, d.choices)
        else:  # the problem makes only these three kinds (Problem.distributions)
            raise TypeError(f"no suggest call for a {type(d).__name__}")


def _finite_violation(v: float) -> float:
    return 1e300 if v == math.inf else -1e300 if v == -math.inf else float(v)


def trial_rows(problem: Problem, study) -> list:
    """One row per trial: its design, the mean of every measure over its replications, feasibility."""
    from optuna.trial import TrialState
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.number >= problem.budget and t.state == TrialState.RUNNING:
            continue
        design = t.user_attrs.get("design") or (problem.design_of(t.params) if t.params else {})
        vals = t.user_attrs.get("values") or {}
        means = {m: mean_of([math.nan if x is None else x for x in v]) for m, v in vals.items()}
        state = {TrialState.COMPLETE: "complete", TrialState.FAIL: "failed", TrialState.RUNNING: "running"}.get(
            t.state, t.state.name.lower())
        viol = [c.violation(means.get(c.measure, math.nan)) for c in problem.constraints] if means else []
        feasible = state == "complete" and all(v <= 0 for v in viol)
        rows.append({"trial": t.number, "state": state, "design": design, "means": means, "values": vals,
                     "replications": t.user_attrs.get("replications") or [], "feasible": feasible,
                     "violated": [c.text() for c, v in zip(problem.constraints, viol) if v > 0],
                     "error": t.user_attrs.get("error")})
    return rows
