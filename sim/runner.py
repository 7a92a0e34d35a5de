"""Replications: each runs the history once, then every arm from the same launch
base on the same random numbers. Replications are independent, so they run in
a process pool by default; results are combined in replication order, so the
numbers do not depend on the number of workers. With an output folder, each
replication is written as it finishes and a rerun picks up where it stopped.
"""
from __future__ import annotations

import concurrent.futures as cf
import gc
import json
import math
import os
import signal
from pathlib import Path

import numpy as np

from sim.engine import LoyaltyModel, replication_seed
from sim.errors import UserError
from sim.metrics import HEADLINE, arm_metrics, interval, monthly_frame, paired_lift, payback_month

BASELINE = "baseline"


def launch_base(scenario, seed):
    """The customer base on launch day: a mature base lives through its history first."""
    cfg = scenario.cfg.customers
    first = 0 if cfg.start == "fresh" else -cfg.history_days
    history = LoyaltyModel(scenario, seed, programme=None, first_day=first, last_day=0)
    history.run()
    history.mark_launch()
    return history.customers


def run_arms(scenario, replication: int, programmes: dict, keep_models=False, frames=False) -> dict:
    """One replication: the baseline and each named programme from one launch base.

    ``programmes`` maps arm name -> programme block, or -> a whole Scenario whose
    programme, programme costs and response run on this scenario's customers
    (how ``compare`` runs strategies). Returns per-arm metrics, monthly profit,
    mechanic summaries (and monthly frames / models on request).
    """
    from sim.scenario import Scenario
    seed = replication_seed(scenario.cfg.seed, replication)
    base = launch_base(scenario, seed)
    out = {"replication": replication, "arms": {}}
    arms = [(BASELINE, None)] + list(programmes.items())
    for name, programme in arms:
        # every arm starts from the same launch base: the model takes its own copy
        arm_scenario = scenario
        if isinstance(programme, Scenario):
            arm_scenario, programme = programme, programme.cfg.programme
        model = LoyaltyModel(arm_scenario, seed, programme=programme, customers=base, first_day=0)
        model.run()
        arm = {
            "metrics": arm_metrics(model),
            "monthly_profit": model.ledger.profit().tolist(),
            "cost_lines": {f"{k[0]}.{k[1]}": float(v.sum()) for k, v in model.ledger.lines.items()
                           if model.ledger.kinds[k] == "cost"},
            "income_lines": {f"{k[0]}.{k[1]}": float(v.sum()) for k, v in model.ledger.lines.items()
                             if model.ledger.kinds[k] == "income"},
            "mechanics": {m.name: m.summary() for m in model.mechanics},
        }
        if frames:
            arm["frame"] = monthly_frame(model, name, replication).to_dict(orient="list")
        if keep_models:
            arm["model"] = model
        out["arms"][name] = arm
        # free this arm's customer arrays before the next arm runs: a mesa.Model sits in a
        # reference cycle (mesa keeps a bound step method on it), so only the collector frees it
        del model
        gc.collect()
    return out


def _run_one(args):
    scenario, rep, programmes, frames = args
    return run_arms(scenario, rep, programmes, frames=frames)


def _init_worker():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and keeps what is done


def default_workers():
    return max(1, os.cpu_count() or 1)


def run_replications(scenario, programmes: dict, replications: int, workers: int | None = None,
                     out_dir: Path | None = None, frames=False, progress=None) -> tuple[list, bool]:
    """Run replications 0..R-1; returns (results in replication order, completed?).

    With ``out_dir`` each finished replication is saved at once, and saved ones
    from an earlier interrupted run of the same resolved scenario are reused.
    """
    digest = scenario.digest()
    done: dict[int, dict] = {}
    rep_dir = None
    if out_dir is not None:
        rep_dir = Path(out_dir) / "replications"
        rep_dir.mkdir(parents=True, exist_ok=True)
        for r in range(replications):
            f = rep_dir / f"rep_{r:05d}.json"
            if f.exists():
                try:
                    saved = json.loads(f.read_text())
                    if saved.get("digest") == digest and set(saved["result"]["arms"]) == {BASELINE, *programmes}:
                        done[r] = saved["result"]
                except (ValueError, KeyError):
                    pass  # a torn file from a crash: run it again
    todo = [r for r in range(replications) if r not in done]
    workers = workers or default_workers()
    workers = max(1, min(workers, len(todo) or 1))

    def keep(res):
        done[res["replication"]] = res
        if rep_dir is not None:
            tmp = rep_dir / f".rep_{res['replication']:05d}.tmp"
            tmp.write_text(json.dumps({"digest": digest, "result": res}))
            tmp.replace(rep_dir / f"rep_{res['replication']:05d}.json")
        if progress:
            progress(len(done), replications)

    completed = True
    try:
        if workers == 1 or len(todo) <= 1:
            for r in todo:
                keep(run_arms(scenario, r, programmes, frames=frames))
        else:
            with cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
                futs = [pool.submit(_run_one, (scenario, r, programmes, frames)) for r in todo]
                kept = set()
                try:
                    for f in cf.as_completed(futs):
                        keep(f.result())
                        kept.add(f)
                except KeyboardInterrupt:
                    # stop what has not started; what is running finishes and is kept (a second
                    # Ctrl-C abandons it)
                    for f in futs:
                        f.cancel()
                    for f in futs:
                        if f not in kept and not f.cancelled():
                            keep(f.result())
                    raise
    except KeyboardInterrupt:
        completed = False
    return [done[r] for r in sorted(done)], completed


# --------------------------------------------------------------------------- summaries

def summarise(scenario, results: list, arm: str) -> dict:
    """The JSON result of one programme arm against the baseline, over replications."""
    cfg = scenario.cfg
    if not results:
        raise UserError("no replication finished; nothing to report")
    base = [r["arms"][BASELINE]["metrics"] for r in results]
    prog = [r["arms"][arm]["metrics"] for r in results]
    doc = {
        "scenario": cfg.name,
        "file": str(scenario.file),
        "seed": cfg.seed,
        "replications": len(results),
        "horizon_days": cfg.horizon_days,
        "customers_at_launch": cfg.customers.initial,
        "currency": cfg.economics.currency,
        "baseline": {k: _mean([m[k] for m in base]) for k in HEADLINE},
        "programme": {k: _mean([m[k] for m in prog]) for k in HEADLINE},
        "lift": {k: paired_lift([m[k] for m in base], [m[k] for m in prog]) for k in HEADLINE},
    }
    if "segments" in base[0]:
        from sim.metrics import SEGMENT_METRICS
        doc["segments"] = {
            name: {k: {"baseline": _mean([m["segments"][name][k] for m in base]),
                       "programme": _mean([m["segments"][name][k] for m in prog]),
                       "lift": paired_lift([m["segments"][name][k] for m in base],
                                           [m["segments"][name][k] for m in prog])}
                   for k in SEGMENT_METRICS}
            for name in base[0]["segments"]}
    incr = [p["profit"] - b["profit"] for b, p in zip(base, prog)]
    roi = [(p["profit"] - b["profit"]) / p["programme_cost"] if p["programme_cost"] else None
           for b, p in zip(base, prog)]
    monthly_incr = np.mean([np.asarray(r["arms"][arm]["monthly_profit"]) - np.asarray(r["arms"][BASELINE]["monthly_profit"])
                            for r in results], axis=0)
    lines, income = {}, {}
    for r in results:
        for k, v in r["arms"][arm]["cost_lines"].items():
            if not k.startswith("base."):
                lines.setdefault(k, []).append(v)
        for k, v in r["arms"][arm].get("income_lines", {}).items():
            if not k.startswith("base."):
                income.setdefault(k, []).append(v)
    doc["economics"] = {
        "incremental_profit": interval(incr),
        "roi": interval([x for x in roi if x is not None]) if any(x is not None for x in roi)
        else {"mean": None, "ci_low": None, "ci_high": None},
        "payback_month": payback_month(monthly_incr),
        "incremental_revenue": interval([p["revenue"] - b["revenue"] for b, p in zip(base, prog)]),
        "programme_lines": {k: _mean(v) for k, v in sorted(lines.items())},
        "programme_income_lines": {k: _mean(v) for k, v in sorted(income.items())},
        "monthly_incremental_profit": monthly_incr.tolist(),
    }
    mech = {}
    for r in results:
        for name, summ in r["arms"][arm]["mechanics"].items():
            for k, v in summ.items():
                mech.setdefault(name, {}).setdefault(k, []).append(v)
    doc["mechanics"] = {name: {k: _mean_any(v) for k, v in d.items()} for name, d in mech.items()}
    return doc


def _mean(values):
    x = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(x)) if x else None


def _mean_any(values):
    if all(isinstance(v, (int, float)) for v in values):
        return _mean(values)
    if all(isinstance(v, list) for v in values):
        import warnings
        arr = np.array(values, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN positions stay NaN -> null
            m = np.nanmean(arr, axis=0) if arr.size else arr
        return [None if (isinstance(x, float) and math.isnan(x)) else float(x) for x in np.atleast_1d(m)]
    if all(isinstance(v, dict) for v in values):
        keys = values[0].keys()
        return {k: _mean_any([v[k] for v in values]) for k in keys}
    return values[0]
