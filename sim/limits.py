"""Runs that cannot fit are refused before any work, with the estimate and the limit.

Every run, comparison and study goes through ``sim.runner.execute``, which calls
:func:`check_memory` with its units of work before it starts a worker. The
estimate is deliberately simple and errs high:

* rows: the customers at launch plus the paid acquisitions expected over the
  horizon (``acquisition.per_day x horizon_days``), plus the 5% reserve the
  engine keeps for referred customers;
* bytes per row: the customer columns of :mod:`sim.customers` (traits, state,
  the twelve-month rings), held about three times at once (the launch base,
  the arm running on a copy of it, and the arrays a day's step and the
  per-customer outcomes use), plus, when a programme runs, the per-customer
  columns its mechanics declare (``Mechanic.COLUMNS`` and ``FACTORS``, in the
  programme's configuration: the points lots, the tier ring, the campaign
  frequency ring) held one and a half times (the columns, and the passes over
  every customer at a month end and the copy a column makes as it grows).
  Measured peaks, 100,000 customers over a year: 381 B a row without a
  programme (estimate 570), 757 with points and tiers (estimate 969), 975 with
  every mechanic (estimate 1,207): a programme adds 1.41-1.44 times its
  columns;
* times the replications that run at once (the workers), plus a fixed
  allowance for the interpreter and its libraries.

The limit is the memory the machine has available now (``MemAvailable`` in
/proc/meminfo, or the container's cgroup limit if lower; 4 GB when neither can
be read). ``--max-memory GB`` on the command line, ``LOYALSIM_MAX_MEMORY`` (GB)
in the environment, or :func:`set_max_memory` in Python replaces it; 0 turns
the check off.
"""
from __future__ import annotations

import os

from sim.errors import UserError

GB = 2**30
FALLBACK_LIMIT = 4 * GB     # when the machine's available memory cannot be read
PROCESS_OVERHEAD = 200 * 2**20  # the interpreter, numpy, pandas: measured ~150 MB
ENV = "LOYALSIM_MAX_MEMORY"

_max_memory_gb: float | None = None  # set by --max-memory; None: the environment or the machine


def set_max_memory(gb: float | None):
    """The memory limit for runs in this process, in GB (None: the default; 0: no check)."""
    global _max_memory_gb
    if gb is not None:
        gb = parse_gb(gb, "--max-memory")
    _max_memory_gb = gb


def parse_gb(value, where) -> float:
    try:
        gb = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: got {value!r}; allowed: a number of GB >= 0 (0 turns the memory check off)") from None
    if gb != gb or gb < 0 or gb > 1e6:
        raise UserError(f"{where}: got {value!r}; allowed: a number of GB from 0 to 1,000,000 "
                        "(0 turns the memory check off)")
    return gb


def row_bytes() -> int:
    """Bytes of one customer row in :class:`sim.customers.Customers`."""
    from sim.customers import Customers
    return Customers.row_bytes()


PROGRAMME_COPIES = 1.5  # a programme's columns and their month-end temporaries: measured 1.41-1.44 (see above)


def programme_row_bytes(programme) -> int:
    """Extra bytes per customer row while a programme runs: the columns its mechanics declare."""
    if not programme:
        return 0
    from sim.mechanics import MECHANICS
    return int(PROGRAMME_COPIES * MECHANICS.row_bytes(programme))


def expected_rows(scenario) -> int:
    c = scenario.cfg.customers
    rows = c.initial + c.acquisition.per_day * scenario.cfg.horizon_days
    return int(rows * 1.05) + 64


def unit_bytes(unit) -> int:
    """Estimated peak bytes of one unit of work (one replication: its baseline and arms, one at a time)."""
    arms = [arm for _, arm in unit.arms]
    extra = max((programme_row_bytes(a.cfg.programme) for a in arms), default=0)
    return int(expected_rows(unit.base) * (3 * row_bytes() + extra))


def available_bytes() -> tuple[int, str]:
    """(bytes, where from) the machine can give a run now."""
    limit, source = None, None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limit, source = int(line.split()[1]) * 1024, "available memory"
                    break
    except (OSError, ValueError, IndexError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (limit or 2**62):
            limit, source = int(text), "the container's memory limit"
        break
    if limit is None:
        return FALLBACK_LIMIT, "default limit"
    return limit, source


def limit_bytes() -> tuple[int | None, str]:
    """(bytes, description) of the limit in force; bytes None when the check is off."""
    gb = _max_memory_gb
    source = "--max-memory"
    if gb is None and os.environ.get(ENV, "").strip():
        gb, source = parse_gb(os.environ[ENV].strip(), ENV), ENV
    if gb is not None:
        return (None, source) if gb == 0 else (int(gb * GB), source)
    return available_bytes()


def parallel(workers, backend, n_units) -> int:
    """Replications held in memory at once on this machine."""
    from sim.executors import default_workers
    if n_units <= 0:
        return 0
    if backend == "serial":
        return 1
    return max(1, min(workers or default_workers(), n_units))


def _gb(n) -> str:
    return f"{n / GB:,.1f} GB" if n >= GB / 10 else f"{n / 2**20:.0f} MB"


def check_memory(units, *, workers=None, backend=None):
    """Refuse (UserError) a run whose estimated memory exceeds the limit; returns the estimate in bytes."""
    units = list(units)
    if not units:
        return 0
    if isinstance(backend, str) and backend.startswith("dask://"):
        return 0  # a remote cluster: its workers' memory is not ours to know
    at_once = parallel(workers, backend, len(units))
    per_unit = max(unit_bytes(u) for u in units)
    estimate = per_unit * at_once + PROCESS_OVERHEAD
    limit, source = limit_bytes()
    if limit is None or estimate <= limit:
        return estimate
    biggest = max(units, key=unit_bytes).base
    c = biggest.cfg.customers
    acquired = c.acquisition.per_day * biggest.cfg.horizon_days
    who = f"{c.initial:,} customers at launch"
    if acquired:
        who += f" + {acquired:,.0f} expected acquisitions"
    field = "customers.acquisition.per_day" if acquired > c.initial else "customers.initial"
    times = f" x {at_once} replications at once" if at_once > 1 else ""
    hint = "fewer customers (customers.initial), fewer acquisitions (customers.acquisition.per_day) or a shorter horizon"
    if at_once > 1:
        hint += ", fewer workers (-j)"
    raise UserError(
        f"{biggest.file}: {field}: this run needs about {_gb(estimate)} of memory ({who}, "
        f"{_gb(per_unit)} per replication{times}), more than the limit of {_gb(limit)} ({source}); "
        f"use {hint}, or raise the limit with --max-memory GB (0: no check)")


def check_finite(result):
    """Refuse (UserError) a result holding an infinite number: printed, it would read "infbn".

    The schema bounds every input, so this is a safety net: it names the arm and
    the figure rather than print a number that is not one.
    """
    import math
    from sim.work import BASELINE
    for arm in [BASELINE, *result.arms]:
        for rec in result.records(arm):
            figures = {**{k: v for k, v in rec.metrics.items() if not isinstance(v, dict)},
                       **rec.cost_lines, **rec.income_lines, **rec.revenue_lines}
            for name, value in figures.items():
                if isinstance(value, float) and math.isinf(value):
                    raise UserError(
                        f"{result.scenario.file}: the {arm} arm's {name} came out infinite (replication "
                        f"{rec.replication}): the scenario's numbers are too large to compute with; "
                        "check its money, rate and effect fields")


def check_run(scenario, *, workers=None, backend=None):
    """The check of :func:`check_memory` for a whole run of ``scenario`` (its replications, baseline and
    programme), before anything is written: the CLI calls it before it creates --out."""
    from sim.work import Unit
    reps = scenario.cfg.replications
    unit = Unit(scenario, 0, (("", scenario),), True)
    return check_memory([unit] * reps, workers=workers, backend=backend)
