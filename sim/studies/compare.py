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

SHARED = ("customers", "horizon_days", "start_date", "metrics", "seed")
# economics a baseline depends on; programme costs and the delivery fee given up belong to each strategy
SHARED_ECONOMICS = ("currency", "gross_margin", "discount_rate")


def check_comparable(scenarios):
    first = scenarios[0]
    ref = first.resolved()
    for sc in scenarios[1:]:
        other = sc.resolved()
        for key in SHARED:
            if other[key] != ref[key]:
                raise ScenarioError(sc.file, key, f"differs from {first.file}; strategies are compared on the same "
                                                  f"{key.replace('_', ' ')} (move the difference into the programme, "
                                                  "or run them separately)")
        for key in SHARED_ECONOMICS:
            if other["economics"][key] != ref["economics"][key]:
                raise ScenarioError(sc.file, f"economics.{key}", f"differs from {first.file}; the no-programme baseline "
                                    "depends on it, so strategies must share it")


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
    from sim.api import run_arms
    check_comparable(scenarios)
    first = scenarios[0]
    arms = dict(zip(strategy_names(scenarios), scenarios))
    result = run_arms(first, arms, first.cfg.replications, workers=workers, backend=backend, scheduler=scheduler,
                      store=store, progress=progress)
    return Comparison(result, {name: str(sc.file) for name, sc in arms.items()})
