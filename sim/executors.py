"""Where units of work run: one interface, three backends.

``executor.map(fn, items)`` yields ``(index, result)`` as each item finishes,
in whatever order they finish; ``close(abort=True)`` stops everything still
running or queued. Backends:

* ``serial``: in this process, one item after another;
* ``process`` (the default): a local pool of worker processes, one per core;
  workers ignore Ctrl-C (the parent decides) and die with the parent, even if
  the parent is killed outright (Linux: PR_SET_PDEATHSIG);
* ``dask``: Dask distributed, on a ``LocalCluster`` started here, or on an
  existing cluster (``dask://HOST:PORT`` or a scheduler address), so runs that
  outgrow one machine go to a cluster. Workers there need loyalsim installed.
  A cluster that is lost mid-run is reported, not waited on: if the scheduler's
  connection drops, or it has no worker (or does not answer) for longer than the
  cluster timeout (``--cluster-timeout SECONDS`` or ``$LOYALSIM_CLUSTER_TIMEOUT``,
  default 30 s), ``map`` raises :class:`ClusterLost` (one line naming the
  address and what happened, exit code 2); what finished is already in the store.

The numbers never depend on the backend: each item is a pure function of its
inputs (``sim.work``), and callers put results back in replication order.
"""
from __future__ import annotations

import os
import signal
import sys

from sim.errors import UserError

BACKENDS = ("serial", "process", "dask")

CLUSTER_TIMEOUT = 30.0  # seconds a cluster may go without a worker, or without answering, before the run stops
CLUSTER_TIMEOUT_RANGE = (1.0, 86400.0)
_cluster_timeout = None  # set for one command by --cluster-timeout


class ClusterLost(UserError):
    """The Dask cluster went away mid-run (its scheduler, or every worker): finished work is kept."""


def _seconds(value, option):
    lo, hi = CLUSTER_TIMEOUT_RANGE
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = None
    if x is None or not lo <= x <= hi:  # also refuses nan and inf
        raise UserError(f"{option}: got {value!r}; allowed: seconds from {lo:g} to {hi:g}")
    return x


def set_cluster_timeout(value):
    """--cluster-timeout SECONDS for this command (None: $LOYALSIM_CLUSTER_TIMEOUT, else the default)."""
    global _cluster_timeout
    _cluster_timeout = None if value is None else _seconds(value, "--cluster-timeout")


def cluster_timeout() -> float:
    if _cluster_timeout is not None:
        return _cluster_timeout
    env = os.environ.get("LOYALSIM_CLUSTER_TIMEOUT")
    return _seconds(env, "LOYALSIM_CLUSTER_TIMEOUT") if env not in (None, "") else CLUSTER_TIMEOUT


def dask_worker_settings() -> dict:
    """The Dask settings in sim/dask_workers.yaml, as dotted keys: applied to a LocalCluster started
    here; an existing cluster's owner puts the same file in the workers' Dask configuration."""
    from pathlib import Path

    import yaml

    def flat(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", v
    return dict(flat(yaml.safe_load((Path(__file__).with_name("dask_workers.yaml")).read_text())))


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    name = "serial"

    def __init__(self, workers=1):
        self.workers = 1

    def map(self, fn, items):
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self, abort=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(abort=exc[0] is not None)


def _die_with_parent():
    """Worker set-up: leave Ctrl-C to the parent, and die if the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl took effect
                os._exit(1)
        except OSError:  # pragma: no cover - no libc
            pass


_SETTLED = False


def _call(payload):
    """Run one item in a worker. The first time, freeze what the worker process holds already (its
    framework: Dask's, or what a forked pool inherited) so the collector's automatic passes walk
    only the simulation's own objects."""
    global _SETTLED
    if not _SETTLED:
        import gc
        gc.freeze()
        _SETTLED = True
    fn, i, item = payload
    return i, fn(item)


class ProcessExecutor:
    name = "process"

    def __init__(self, workers=None):
        import gc
        import multiprocessing as mp
        self.workers = workers or default_workers()
        # the workers fork from this process: freeze its objects first, so the collector's passes in
        # each worker neither walk them nor copy their pages (Python docs, gc.freeze)
        gc.freeze()
        self._frozen = True
        self._pool = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn").Pool(
            self.workers, initializer=_die_with_parent)

    def map(self, fn, items):
        yield from self._pool.imap_unordered(_call, [(fn, i, it) for i, it in enumerate(items)])

    def close(self, abort=False):
        if self._pool is None:
            return
        if abort:
            self._pool.terminate()  # running and queued items are dropped at once
        else:
            self._pool.close()
        self._pool.join()
        self._pool = None
        if self._frozen:
            import gc
            gc.unfreeze()
            self._frozen = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(abort=exc[0] is not None)


class DaskExecutor:
    name = "dask"

    def __init__(self, workers=None, address=None):
        try:
            import logging

            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a dependency
            raise UserError("--backend dask: Dask distributed is not installed (pip install 'dask[distributed]')") from None
        self.cluster = None
        self.client = None
        self._lost = False
        self.address = address or "a local cluster"
        try:
            if address:
                # the client's own log (reconnection attempts, tracebacks) is not for the user: a lost
                # scheduler is reported in one line by map()
                for name in ["distributed", *logging.root.manager.loggerDict]:
                    if name.startswith("distributed"):
                        logging.getLogger(name).setLevel(logging.CRITICAL)
                # nor asyncio's "Task exception was never retrieved" for the client's own gather task
                # when every worker is gone (distributed.client.AllExit)
                logging.getLogger("asyncio").setLevel(logging.CRITICAL)
                self.client = Client(address, timeout="10s")
                self._same_code(address)
            else:
                import dask
                n = workers or default_workers()
                # the profiler off, a slower tick, glibc's own mmap threshold: sim/dask_workers.yaml says why
                with dask.config.set(dask_worker_settings()):
                    self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR,
                                                preload=["sim.dask_preload"])
                self.client = Client(self.cluster)
        except OSError as e:
            self.close()
            raise UserError(f"--backend dask: cannot reach the Dask scheduler at {address}: {e}") from None
        except BaseException:  # a signal (or anything) while the cluster starts: leave nothing running
            self.close()
            raise
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self._futures = []

    def _same_code(self, address):
        """Records are keyed by a fingerprint of this process's code (sim.work.code_fingerprint):
        every worker must run the same code, or the store would file its results under keys they
        do not match."""
        from sim.work import code_fingerprint
        try:
            theirs = self.client.run(code_fingerprint)
        except Exception as e:  # noqa: BLE001 - e.g. the workers cannot import sim
            raise UserError(f"--backend dask: the workers at {address} cannot run loyalsim ({type(e).__name__}: "
                            f"{e}); install this loyalsim on them") from None
        other = sorted(w for w, fp in theirs.items() if fp != code_fingerprint())
        if other:
            raise UserError(f"--backend dask: {len(other)} worker(s) at {address} run other loyalsim code than this "
                            f"one (e.g. {other[0]}); install the same version on every worker")

    def map(self, fn, items):
        """Results as they finish; a scheduler that goes away, or a cluster without a worker (or not
        answering) for longer than cluster_timeout(), raises ClusterLost instead of waiting for ever."""
        import time
        from concurrent.futures import CancelledError

        from distributed import wait
        bound = cluster_timeout()
        futures = [self.client.submit(_call, (fn, i, it), pure=False) for i, it in enumerate(items)]
        self._futures = futures
        pending = set(futures)
        self._progress = {"yielded": 0, "total": len(futures), "healthy": time.monotonic()}
        while pending:
            try:
                done, pending = wait(pending, timeout=min(1.0, bound), return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except CancelledError:  # the client lost the scheduler: it cancels every future at once
                self._gone()
            for fut in done:
                yield self._result(fut, bound)
                self._progress["yielded"] += 1
                self._progress["healthy"] = time.monotonic()
            if not done:
                self._check(bound)

    def _result(self, fut, bound):
        """A finished item's result. Its data lives on the worker that computed it: if that worker is
        gone, the scheduler computes the item again, which needs a worker, so this waits as map does."""
        from concurrent.futures import CancelledError
        while True:
            if fut.status == "cancelled" or self.client.status not in ("running", "newly-created"):
                self._gone()
            try:
                return fut.result(timeout=min(1.0, bound))
            except TimeoutError:
                self._check(bound)
            except CancelledError:
                self._gone()

    def _gone(self):
        self._lost = True
        p = self._progress
        raise ClusterLost(f"the Dask scheduler at {self.address} went away mid-run (the connection was lost; "
                          f"{p['total'] - p['yielded']} of {p['total']} items unfinished)")

    def _check(self, bound):
        """Nothing arrived for a while: the cluster must still have a worker, and answer; for longer than
        ``bound`` seconds without either, ClusterLost."""
        import time
        p = self._progress
        workers = self._workers(bound)
        if workers:
            p["healthy"] = time.monotonic()
        elif time.monotonic() - p["healthy"] > bound:
            self._lost = True
            what = "does not answer" if workers is None else "has no worker left"
            raise ClusterLost(f"the Dask scheduler at {self.address} {what} for {bound:g} s mid-run "
                              f"({p['total'] - p['yielded']} of {p['total']} items unfinished; --cluster-timeout or "
                              "LOYALSIM_CLUSTER_TIMEOUT sets the wait)")

    def _workers(self, bound):
        """The number of workers the scheduler has now, or None if it does not answer in time."""
        try:
            return len(self.client.sync(self.client.scheduler.ncores, callback_timeout=min(5.0, bound)))
        except Exception:  # noqa: BLE001 - a closed comm, a timeout: the scheduler did not answer
            return None

    def close(self, abort=False):
        try:
            if self.client is not None:
                lost = getattr(self, "_lost", False)
                if abort and getattr(self, "_futures", None) and not lost:
                    self.client.cancel(self._futures)
                if lost:  # a lost scheduler is not waited on: the client gives up within 2 s
                    try:
                        self.client.close(timeout=2)
                    except Exception:  # noqa: BLE001 - the scheduler is gone; nothing is left to close
                        pass
                else:
                    self.client.close()
                self.client = None
        finally:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(abort=exc[0] is not None)


def make_executor(backend=None, workers=None, scheduler=None, items=None):
    """The executor for a backend name: serial, process (default), dask, or dask://HOST:PORT."""
    if workers is not None and workers < 1:
        raise UserError(f"--workers: got {workers}; allowed: a whole number >= 1")
    backend = backend or ("dask" if scheduler else "process")
    address = scheduler
    if isinstance(backend, str) and backend.startswith("dask://"):
        address = "tcp://" + backend[len("dask://"):]
        backend = "dask"
    if backend not in BACKENDS:
        raise UserError(f"--backend: got {backend!r}; allowed: serial, process, dask or dask://HOST:PORT")
    if backend == "dask":
        cluster_timeout()  # a bad --cluster-timeout or $LOYALSIM_CLUSTER_TIMEOUT is refused before connecting
        return DaskExecutor(workers, address)
    n = workers or default_workers()
    if backend == "serial" or n == 1 or (items is not None and items <= 1):
        return SerialExecutor()
    return ProcessExecutor(min(n, items) if items else n)
