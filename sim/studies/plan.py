"""Many variants of one scenario, each against the same baseline: the work plan of every study.

A sweep point, an uncertainty draw, a tornado end or an optimisation trial is a
scenario that differs from a base scenario in a few fields. Each runs
programme vs baseline on common random numbers, replication by replication.
Variants that leave the baseline's identity alone (only the programme, its
costs or the response differ) share it: per replication, the customers'
history and the baseline arm are computed once, in one unit of work, and every
variant in that unit costs one programme arm. Variants that change the
customers (a customer-base parameter drawn from its uncertainty) get their own
baseline. Records go to the result store under their content keys, so an
interrupted study resumes, and a variant run once (in a sweep, a PSA, a
comparison) is never computed again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.work import Unit, record_key

MAX_CHUNK = 25  # variants per unit: enough to share the history, few enough to lose little when killed


@dataclass
class Outcome:
    """One variant in one replication: its record and its baseline's."""

    variant: int
    replication: int
    baseline: object
    programme: object

    def lift(self, metric) -> float:
        return self.programme.metrics[metric] - self.baseline.metrics[metric]

    def monthly_incremental_profit(self) -> np.ndarray:
        return self.programme.series["profit"] - self.baseline.series["profit"]


def plan(variants: list, replications, workers: int = 2) -> tuple[list, dict]:
    """Units for ``variants`` (scenarios) over ``replications`` (a count, or one list of
    replication indices per variant); returns (units, {(variant, replication): (baseline key, arm key)})."""
    reps = [list(range(replications))] * len(variants) if isinstance(replications, int) else replications
    groups: dict = {}
    for i, sc in enumerate(variants):
        ident = (repr(sorted(_flat(sc.baseline_identity()))), sc.cfg.seed)
        groups.setdefault(ident, []).append(i)
    keys = {}
    units = []
    for members in groups.values():
        base = variants[members[0]]
        by_rep: dict = {}
        for i in members:
            for r in reps[i]:
                by_rep.setdefault(r, []).append(i)
        total = sum(len(v) for v in by_rep.values())
        target = max(4 * workers, len(by_rep))
        chunk = max(1, min(MAX_CHUNK, math.ceil(total / target)))
        for r, idx in sorted(by_rep.items()):
            bkey = record_key(base, r)
            for start in range(0, len(idx), chunk):
                part = idx[start:start + chunk]
                arms = tuple((record_key(base, r, variants[i]), variants[i]) for i in part)
                for i, (akey, _) in zip(part, arms):
                    keys[(i, r)] = (bkey, akey)
                units.append(Unit(base, r, arms, baseline=start == 0, share=True))
    return units, keys


def run_variants(variants: list, replications, *, workers=None, backend=None, scheduler=None, store=None,
                 progress=None):
    """Run every variant against its baseline; returns ({(variant, replication): Outcome}, interrupted)."""
    from sim.runner import execute
    from sim.executors import default_workers
    units, keys = plan(variants, replications, workers or default_workers())
    found, interrupted = execute(units, workers=workers, backend=backend, scheduler=scheduler, store=store,
                                 progress=progress)
    out = {}
    for (i, r), (bkey, akey) in keys.items():
        if bkey in found and akey in found:
            out[(i, r)] = Outcome(i, r, found[bkey], found[akey])
    return out, interrupted


def _flat(doc, prefix=""):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _flat(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _flat(v, f"{prefix}[{i}]")
    else:
        yield (prefix, repr(doc))
