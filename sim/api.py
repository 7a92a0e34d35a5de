"""The Python API: load a scenario, run it anywhere, get tidy results.

    import sim
    sc = sim.load("scenarios/points_and_tiers.yaml", {"programme.points.earn_per_currency": 0.2})
    result = sim.run(sc, replications=4, seed=3)          # process pool by default
    result.summary()          # exactly what `loyalsim run --json` prints
    result.metrics            # tidy: arm x replication x metric
    result.lift("revenue")    # mean and 95% interval, absolute and relative

Every command of the CLI is a thin shell over these functions. This module is a
facade: ``execute`` and ``run_arms`` live in ``sim.runner``, which the studies
(compare, sweep, uncertainty, optimisation, calibration's fits) import directly,
so nothing inside the project imports the API back. There units of work
(``sim.work.Unit``) go to an executor (``sim.executors``), each record is
written to the result store (``sim.store``) as it arrives, and records already
in the store are not computed again.
"""
from __future__ import annotations

from sim.results import PROGRAMME, Comparison, Result
from sim.runner import as_store, execute, run_arms
from sim.scenario import Scenario
from sim.store import ResultStore

__all__ = ["load", "run", "compare", "execute", "run_arms", "as_store", "Scenario", "Result", "Comparison",
           "ResultStore"]


def load(path, overrides=None) -> Scenario:
    """A validated, immutable scenario from a YAML file; ``overrides`` as {"field.path": value}."""
    from sim import scenario as _scenario
    return _scenario.load(path, overrides or ())


def as_scenario(scenario_or_path, overrides=None, replications=None, seed=None) -> Scenario:
    sc = scenario_or_path if isinstance(scenario_or_path, Scenario) else load(scenario_or_path)
    extra = dict(overrides or {})
    if replications is not None:
        extra["replications"] = replications
    if seed is not None:
        extra["seed"] = seed
    return sc.with_overrides(extra) if extra else sc


def run(scenario_or_path, *, replications=None, seed=None, workers=None, backend=None, store=None,
        scheduler=None, overrides=None, progress=None) -> Result:
    """Run a scenario's programme against no programme, ``replications`` times (default: the scenario's).

    ``backend``: "process" (default, every core), "serial", "dask" (a local Dask
    cluster) or "dask://HOST:PORT"; ``store``: a folder where each finished
    replication is kept (a rerun or more replications compute only what is missing).
    """
    sc = as_scenario(scenario_or_path, overrides, replications, seed)
    return run_arms(sc, {PROGRAMME: sc}, sc.cfg.replications, workers=workers, backend=backend,
                    scheduler=scheduler, store=store, progress=progress)


def compare(scenarios, *, replications=None, seed=None, workers=None, backend=None, store=None,
            scheduler=None, progress=None) -> Comparison:
    """Strategies side by side on the first one's customers and random numbers (see sim.studies.compare)."""
    from sim.studies.compare import compare as _compare
    scs = [as_scenario(s, None, replications, seed) for s in scenarios]
    return _compare(scs, workers=workers, backend=backend, scheduler=scheduler, store=store, progress=progress)
