"""The unit of work: one replication of one scenario's arms, and what it returns.

A ``Unit`` is pure and picklable: the launch base of replication r of the
base scenario (its customers living their history), the no-programme arm,
and any number of programme arms run from that same launch base on the same
random numbers. Every backend (serial, process pool, Dask) ships exactly this
to a worker, so the same scenario and seed give the same numbers anywhere.

Each arm of each replication comes back as a ``Record``: its headline metrics,
its monthly series (plain arrays; a DataFrame on demand), its ledger totals and its mechanics' own
figures, identified by a content key (``record_key``): a hash of what the arm
computes (the baseline's identity, the programme's identity, the replication
seed, the loyalsim version). The result store files records under that key,
so a record is reused by any later run that would compute the same thing: a
rerun, more replications, a sweep point or a comparison.

Within one worker process, launch bases and baseline arms are kept in a small
cache keyed by the baseline's identity, so units that share a customer base
(sweep points, uncertainty draws, calibration trials) pay for the history and
the baseline once.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from sim import scaling
from sim.version import __version__
from sim.engine import LoyaltyModel, replication_seed
from sim.metrics import arm_metrics, member_outcomes, monthly_series
from sim.plain import plain

BASELINE = "baseline"
RECORD_FORMAT = 1


# --------------------------------------------------------------------------- keys

_FINGERPRINT = None


def code_fingerprint() -> str:
    """A hash of the simulator's own source (every .py file under sim/), so that a record made
    by other code (an older checkout, a Dask worker with another install) has another key and
    is never reused: the version number alone does not change with every fix."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        from pathlib import Path
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _FINGERPRINT = h.hexdigest()[:16]
    return _FINGERPRINT


def record_key(base, replication: int, arm=None) -> str:
    """The content key of one arm of one replication: what it computes, not what it is called.

    ``base`` is the scenario whose customers (and baseline) the arm runs on; ``arm``
    the scenario whose programme runs (None for the no-programme arm).
    """
    doc = {
        "loyalsim": __version__,
        "code": code_fingerprint(),
        "format": RECORD_FORMAT,
        "baseline": base.baseline_identity(),
        "programme": None if arm is None else arm.programme_identity(),
        "replication_seed": replication_seed(base.cfg.seed, replication),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:40]


# --------------------------------------------------------------------------- records

@dataclass
class Record:
    """One arm of one replication, as plain data (what the store keeps)."""

    key: str
    replication: int
    metrics: dict
    series: dict  # monthly series: name -> one float64 array (calendar_month: one label a month)
    cost_lines: dict = field(default_factory=dict)
    income_lines: dict = field(default_factory=dict)
    revenue_lines: dict = field(default_factory=dict)
    mechanics: dict = field(default_factory=dict)
    members: dict | None = None  # members vs non-members, and the members' outcomes without the programme

    def meta(self) -> dict:
        months = len(next(iter(self.series.values()))) if self.series else 0
        return {"format": RECORD_FORMAT, "key": self.key, "replication": self.replication, "months": months,
                "metrics": self.metrics,
                "cost_lines": self.cost_lines, "income_lines": self.income_lines,
                "revenue_lines": self.revenue_lines, "mechanics": self.mechanics, "members": self.members}

    @property
    def monthly(self):
        """The monthly series as a pandas DataFrame, one row per month."""
        import pandas as pd
        return pd.DataFrame(self.series)

    @classmethod
    def from_meta(cls, meta: dict, series: dict) -> "Record":
        return cls(key=meta["key"], replication=int(meta["replication"]), metrics=meta["metrics"], series=series,
                   cost_lines=meta["cost_lines"], income_lines=meta["income_lines"],
                   revenue_lines=meta["revenue_lines"], mechanics=meta["mechanics"], members=meta["members"])

    def normalised(self) -> "Record":
        """The record exactly as it reads back from the store (plain floats, JSON round trip,
        float64 columns), so a fresh result and a stored one give the same bytes."""
        meta = json.loads(json.dumps(plain(self.meta(), keep_undefined=True)))
        series = {k: [str(x) for x in v] if k == "calendar_month" else np.array(v, dtype=np.float64)
                  for k, v in self.series.items()}
        return Record.from_meta(meta, series)


def _record(model, key, replication, baseline_outcomes=None) -> Record:
    led = model.ledger
    lines = {"cost": {}, "income": {}, "revenue": {}}
    for k, v in led.lines.items():
        lines[led.kinds[k]][f"{k[0]}.{k[1]}"] = float(v.sum())
    members = None
    if baseline_outcomes is not None:
        members = member_outcomes(model, baseline_outcomes)
    rec = Record(
        key=key, replication=replication, metrics=arm_metrics(model), series=monthly_series(model),
        cost_lines=lines["cost"], income_lines=lines["income"], revenue_lines=lines["revenue"],
        mechanics={m.name: m.summary() for m in model.mechanics}, members=members,
    )
    f = scaling.factor(model.scenario.cfg)
    if f is not None and f != 1.0:  # a sample standing for the whole base: its totals scaled, the one place
        rec = scaling.scale_record(rec, model, f)
    return rec.normalised()


# --------------------------------------------------------------------------- the unit

@dataclass(frozen=True)
class Unit:
    """One replication of ``base``: its baseline (if ``baseline``) and each programme arm in ``arms``.

    ``arms`` is a tuple of (record key, scenario) pairs; each scenario's programme,
    programme costs and response run on ``base``'s customers. ``share`` keeps the
    launch base and the baseline in this process's cache for later units on the
    same customers (sweeps, uncertainty draws, calibration).
    """

    base: object
    replication: int
    arms: tuple = ()
    baseline: bool = True
    share: bool = False

    @property
    def baseline_key(self) -> str:
        return record_key(self.base, self.replication)

    def size(self) -> int:
        return len(self.arms) + int(self.baseline)


class _Shared:
    """Launch bases and baseline arms of recent units, by baseline key (bounded by size)."""

    MAX_BYTES = 256 * 2**20  # a 20,000-customer base is ~6 MB; a million-customer base is never kept

    def __init__(self):
        self.entries: OrderedDict = OrderedDict()

    @staticmethod
    def _bytes(customers) -> int:
        return sum(getattr(customers, c).nbytes for c in customers.columns())

    def get(self, key):
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, key, value, customers):
        size = self._bytes(customers)
        if size > self.MAX_BYTES:
            return
        self.entries[key] = (value, size)
        while sum(s for _, s in self.entries.values()) > self.MAX_BYTES:
            self.entries.popitem(last=False)

    def clear(self):
        self.entries.clear()


SHARED = _Shared()


def launch_base(scenario, seed):
    """The customer base on launch day: a mature base lives through its history first."""
    cfg = scenario.cfg.customers
    first = -cfg.history_days if cfg.start == "mature" else 0  # a fresh cohort and a twin start on launch day
    history = LoyaltyModel(scenario, seed, programme=None, first_day=first, last_day=0)
    history.run()
    history.mark_launch()
    customers = history.customers
    history.close()  # its arrays go now, before the arms allocate theirs
    return customers


def _baseline(unit: Unit, seed: int):
    """(launch base, baseline record, baseline per-customer outcomes) of the unit's replication."""
    key = unit.baseline_key
    hit = SHARED.get(key) if unit.share else None
    if hit is not None:
        return hit[0]
    base = launch_base(unit.base, seed)
    model = LoyaltyModel(unit.base, seed, programme=None, customers=base, first_day=0).run()
    outcomes = model.customer_outcomes()
    rec = _record(model, key, unit.replication)
    model.close()
    value = (base, rec, outcomes)
    if unit.share:
        SHARED.put(key, value, base)
    return value


def simulate(unit: Unit) -> list[Record]:
    """Run one unit; returns its records (the baseline first if asked for, then each arm)."""
    seed = replication_seed(unit.base.cfg.seed, unit.replication)
    base, baseline, outcomes = _baseline(unit, seed)
    out = [baseline] if unit.baseline else []
    for key, arm in unit.arms:
        model = LoyaltyModel(arm, seed, programme=arm.cfg.programme, customers=base, first_day=0).run()
        out.append(_record(model, key, unit.replication, baseline_outcomes=outcomes))
        model.close()
    return out


def finite_or_none(x):
    return None if isinstance(x, float) and (math.isnan(x) or math.isinf(x)) else x


def run_models(base, arms: dict, replication: int = 0) -> dict:
    """Finished models of one replication: "baseline" and each named arm, for inspecting customers.

    Each arm is a scenario whose programme runs on ``base``'s customers, or just a
    programme block (a mapping), which then replaces ``base``'s programme.
    """
    seed = replication_seed(base.cfg.seed, replication)
    customers = launch_base(base, seed)
    models = {BASELINE: LoyaltyModel(base, seed, programme=None, customers=customers, first_day=0).run()}
    for name, arm in arms.items():
        if not hasattr(arm, "cfg"):
            arm = base.with_overrides({"programme": _plain_block(arm)})
        models[name] = LoyaltyModel(arm, seed, programme=arm.cfg.programme, customers=customers, first_day=0).run()
    return models


def _plain_block(block):
    return plain(block, keep_undefined=True)
