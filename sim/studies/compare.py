"""Strategies side by side: one customer base, one set of random numbers, one baseline.

Every strategy's programme arm runs from the same launch base as the shared
baseline inside each replication, so differences between strategies are paired
too. Ranking is by mean incremental profit; "beats next" is the probability,
on the paired replications, that a strategy's incremental profit exceeds the
next one's (Student-t on the paired differences).
"""
from __future__ import annotations

from sim.errors import ScenarioError
from sim.results import Comparison
from sim.work import BASELINE

def check_comparable(scenarios):
    """Strategies share one baseline: each must agree with the first on every field the baseline depends on
    (sim.scenario.BASELINE, the list that also keys the baseline's records); the first that differs is named."""
    first = scenarios[0]
    for sc in scenarios[1:]:
        key = sc.baseline_difference(first)
        if key is None:
            continue
        if key.startswith("economics."):
            # programme costs and the delivery fee given up belong to each strategy; these the baseline books
            raise ScenarioError(sc.file, key, f"differs from {first.file}; the no-programme baseline "
                                "depends on it, so strategies must share it")
        raise ScenarioError(sc.file, key, f"differs from {first.file}; strategies are compared on the same "
                                          f"{key.replace('_', ' ')} (move the difference into the programme, "
                                          "or run them separately)")


def strategy_names(scenarios) -> list:
    """Each strategy's name; repeated names get their position appended."""
    names = []
    for i, sc in enumerate(scenarios):
        name = sc.name
        if name in names or name == BASELINE:
            name = f"{name} ({i + 1})"
        names.append(name)
    return names


def compare(scenarios, *, workers=None, backend=None, scheduler=None, store=None, progress=None) -> Comparison:
    from sim.runner import run_arms
    check_comparable(scenarios)
    first = scenarios[0]
    arms = dict(zip(strategy_names(scenarios), scenarios))
    result = run_arms(first, arms, first.cfg.replications, workers=workers, backend=backend, scheduler=scheduler,
                      store=store, progress=progress)
    return Comparison(result, {name: str(sc.file) for name, sc in arms.items()})
