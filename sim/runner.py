"""Running units of work: the code the API and the studies share.

``execute`` sends units of work (``sim.work.Unit``) to an executor (``sim.executors``),
writes each record to the result store (``sim.store``) as it arrives, and does not
compute again what the store already holds; ``run_arms`` runs a baseline and any
number of programme arms on it, replication by replication, and returns a ``Result``.
The API (``sim.api``) is a facade over these; the studies import them from here, so
nothing inside the project imports the API back.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import Interrupted
from sim.executors import ClusterLost, make_executor
from sim.limits import check_memory
from sim.results import Result
from sim.store import ResultStore
from sim.work import Unit, record_key, simulate

if TYPE_CHECKING:
    from sim.scenario import Scenario


def as_store(store):
    if store is None or isinstance(store, ResultStore):
        return store
    return ResultStore(Path(store))


def execute(units, *, workers=None, backend=None, scheduler=None, store=None, progress=None, memory=None):
    """Run units of work; returns ({record key: Record}, interrupted).

    Records found in ``store`` are not recomputed; each new one is written there as
    its unit finishes. Ctrl-C or SIGTERM stops the workers at once (queued units
    never start) and returns what finished, with ``interrupted`` set to the signal.
    """
    store = as_store(store)
    found, todo = {}, []
    for u in units:
        keys = ([u.baseline_key] if u.baseline else []) + [k for k, _ in u.arms]
        have = {k: store.get(k) for k in keys} if store is not None else {}
        have = {k: v for k, v in have.items() if v is not None}
        found.update(have)
        arms = tuple((k, a) for k, a in u.arms if k not in have)
        need_base = u.baseline and u.baseline_key not in have
        if arms or need_base:
            todo.append(Unit(u.base, u.replication, arms, need_base, u.share))
    total = len(units)
    done = total - len(todo)
    check_memory(todo, workers=workers, backend=backend)  # a run that cannot fit is refused before any work
    if progress:
        progress(done, total)
    interrupted = None
    if todo:
        executor = None
        try:
            executor = make_executor(backend, workers, scheduler, items=len(todo))
            for _, records in executor.map(simulate, todo):
                for rec in records:
                    if store is not None:
                        store.put(rec)
                    found[rec.key] = rec
                done += 1
                if progress:
                    progress(done, total)
            executor.close()
        except KeyboardInterrupt as e:
            interrupted = e.signum if isinstance(e, Interrupted) else 2
            if executor is not None:
                executor.close(abort=True)
        except ClusterLost as e:  # what finished is in the store already: say where, and how to resume
            if executor is not None:
                executor.close(abort=True)
            kept = (f"; what finished is kept in {store.root}: run the same command again (on a live cluster) to "
                    "resume" if store is not None else "; nothing was kept (--store DIR keeps finished work)")
            raise ClusterLost(f"{e}{kept}") from None
        except BaseException:
            if executor is not None:
                executor.close(abort=True)
            raise
    return found, interrupted


def _collect(found, base, replications, arms: dict):
    """Records by arm and replication, from what ``execute`` returned."""
    baseline, records = {}, {name: {} for name in arms}
    for r in range(replications):
        b = found.get(record_key(base, r))
        if b is not None:
            baseline[r] = b
        for name, arm in arms.items():
            rec = found.get(record_key(base, r, arm))
            if rec is not None:
                records[name][r] = rec
    return baseline, records


def run_arms(base: Scenario, arms: dict, replications: int, *, workers=None, backend=None, scheduler=None,
             store=None, progress=None, share=False) -> Result:
    """The baseline and each named arm (a scenario whose programme runs on ``base``'s customers)."""
    keyed = {name: (record_key(base, 0, arm), arm) for name, arm in arms.items()}  # validates early
    del keyed
    units = [Unit(base, r, tuple((record_key(base, r, a), a) for a in arms.values()), True, share)
             for r in range(replications)]
    found, interrupted = execute(units, workers=workers, backend=backend, scheduler=scheduler, store=store,
                                 progress=progress)
    baseline, records = _collect(found, base, replications, arms)
    res = Result(base, arms, baseline, records, interrupted=bool(interrupted), backend=backend,
                 requested=replications)
    res.signal = interrupted
    return res
