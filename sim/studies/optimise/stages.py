"""The stages after the search: the finalists (or the Pareto front), the KN selection with its guarantee
(sim.studies.selection), the confirmation on fresh replications and the robustness to what we don't know."""
from __future__ import annotations

import math

import numpy as np

from sim.studies.optimise.problem import (
    CONFIRM_FROM, NO_PROGRAMME, ROBUST_FROM, ROBUST_SEEDS, SELECT_FROM, Problem, mean_of, resolve_indifference,
)
from sim.studies.optimise.evaluator import no_programme_measures
from sim.studies.optimise.result import OptimiseResult, design_key, design_label, unique_labels
from sim.studies.schemas import MEASURES


def finalists_of(problem: Problem, rows: list, k: int) -> list:
    """The k best distinct feasible designs by the search's mean of the (first) objective."""
    s = problem.sign()
    best: dict = {}
    for r in rows:
        if not r["feasible"]:
            continue
        v = r["means"].get(problem.objective, math.nan)
        if not math.isfinite(v):
            continue
        key = design_key(r["design"])
        if key not in best or s * v > s * best[key]["means"][problem.objective]:
            best[key] = r
    return sorted(best.values(), key=lambda r: (-s * r["means"][problem.objective], r["trial"]))[:k]


def pareto_rows(problem: Problem, rows: list) -> list:
    """Feasible trials no other feasible trial beats on both objectives (distinct designs)."""
    pts, seen = [], set()
    for r in rows:
        key = design_key(r["design"])
        if not r["feasible"] or key in seen:
            continue
        v = [problem.sign(o) * r["means"].get(o, math.nan) for o in problem.objectives]
        if all(math.isfinite(x) for x in v):
            seen.add(key)
            pts.append((v, r))
    front = []
    for v, r in pts:
        if not any(all(a >= b for a, b in zip(w, v)) and any(a > b for a, b in zip(w, v)) for w, _ in pts):
            front.append(r)
    return sorted(front, key=lambda r: -problem.sign() * r["means"][problem.objective])


def select(res: OptimiseResult, evaluator, progress=None):
    from sim.studies.selection import kn
    p = res.problem
    designs = [r["design"] for r in res.finalists]
    k = len(designs) + 1      # + no programme
    delta, basis = resolve_indifference(p, res.baseline_profit)
    res.indifference, res.indifference_basis = delta, basis
    obj = p.objective
    reps = list(range(SELECT_FROM, SELECT_FROM + p.max_replications))
    workers = max(1, int(getattr(evaluator, "workers", 1) or 1))

    def lookahead(alive):  # enough replications at a time to keep every worker busy (no programme costs nothing)
        return max(1, math.ceil(workers / max(1, alive - 1)))
    done = {"n": 0}

    def sample_many(ds, rs):
        real = [d for d in ds if d < len(designs)]
        got = evaluator.evaluate([designs[d] for d in real], rs) if real else {}
        out = {}
        for j, d in enumerate(real):
            for r in rs:
                ms = got[(j, r)]
                res.selection_measures[(d, r)] = ms
                out[(d, r)] = ms[obj]
        for d in ds:
            if d >= len(designs):
                for r in rs:
                    out[(d, r)] = 0.0
        done["n"] = max(done["n"], max(reps.index(r) for r in rs) + 1)
        if progress:
            progress(min(done["n"], p.max_replications), p.max_replications)
        return out

    res.selection = kn(k, sample_many=sample_many, delta=delta, alpha=1.0 - p.confidence, n0=p.initial,
                       max_replications=p.max_replications, replications=reps, lookahead=lookahead,
                       maximise=MEASURES[obj].direction == "maximize")
    if progress:
        progress(p.max_replications, p.max_replications)
    kept = {(d, r) for d in range(k) for r in res.selection.replications[:res.selection.n(d)]}
    res.selection_measures = {key: v for key, v in res.selection_measures.items() if key in kept}


def confirm(res: OptimiseResult, evaluator):
    """The chosen design (and the runner-up) on fresh replications neither the search nor the selection used."""
    p = res.problem
    if p.confirm <= 0 or res.selection is None:
        return
    kn = res.selection
    wanted = []
    for d in (kn.chosen, kn.runner_up, res.best_programme):
        if d is not None and d < len(res.finalists) and d not in wanted:
            wanted.append(d)
    reps = list(range(CONFIRM_FROM, CONFIRM_FROM + p.confirm))
    res.confirm_replications = reps
    if not wanted:
        return
    got = evaluator.evaluate([res.finalists[d]["design"] for d in wanted], reps)
    labels = res.labels()
    for j, d in enumerate(wanted):
        ms = [got[(j, r)] for r in reps]
        res.confirm[labels[d]] = {m: [x[m] for x in ms] for m in ms[0]}


def confirm_front(res: OptimiseResult, evaluator):
    """Two objectives: the front's designs on fresh replications, and the front they make there."""
    p = res.problem
    n = p.confirm or p.initial
    reps = list(range(CONFIRM_FROM, CONFIRM_FROM + n))
    res.confirm_replications = reps
    designs = [r["design"] for r in res.finalists]
    got = evaluator.evaluate(designs, reps)
    labels = unique_labels(res.finalists)
    rows = []
    for j, d in enumerate(designs):
        ms = [got[(j, r)] for r in reps]
        vals = {m: [x[m] for x in ms] for m in ms[0]}
        res.confirm[labels[j]] = vals
        means = {m: mean_of(v) for m, v in vals.items()}
        viol = [c.violation(means.get(c.measure, math.nan)) for c in p.constraints]
        rows.append({"trial": res.finalists[j]["trial"], "design": d, "means": means, "values": {},
                     "replications": reps, "feasible": all(v <= 0 for v in viol), "violated": [], "error": None,
                     "state": "complete"})
    front = pareto_rows(p, rows)
    res.pareto_confirmed = [{"trial": r["trial"], "label": design_label(r["design"]), "design": r["design"],
                             **{o: r["means"][o] for o in p.objectives}} for r in front]


def cvar(values, share=0.10, maximise=True) -> float:
    """The mean of the worst ``share`` of values (at least one)."""
    x = np.sort(np.asarray(values, dtype=float))
    if not maximise:
        x = x[::-1]
    n = max(1, int(math.ceil(share * x.size)))
    return float(x[:n].mean())


def robust_stage(res: OptimiseResult, evaluator, progress=None):
    p = res.problem
    if not hasattr(evaluator, "evaluate_draws"):
        return
    rows = res.finalists[:p.finalists] if p.multi else res.finalists
    designs = [r["design"] for r in rows]
    if progress:
        progress(0, 1)
    got, fields = evaluator.evaluate_draws(designs, p.robust_draws, p.seed)
    if progress:
        progress(1, 1)
    obj = p.objective
    maximise = MEASURES[obj].direction == "maximize"
    s = 1.0 if maximise else -1.0
    labels = unique_labels(rows) + [NO_PROGRAMME]
    draws = sorted({d for (_, d) in got})
    complete = [d for d in draws if all((i, d) in got for i in range(len(designs)))]
    if not complete:
        return
    mat = np.array([[got[(i, d)][obj] for i in range(len(designs))] + [0.0] for d in complete])  # draws x designs
    best_each = np.argmax(s * mat, axis=1)
    rows = []
    for i, label in enumerate(labels):
        col = mat[:, i]
        rows.append({"label": label, "design": designs[i] if i < len(designs) else None,
                     "expected": float(col.mean()), "cvar10": cvar(col, 0.10, maximise),
                     "p5": float(np.percentile(col, 5)), "p95": float(np.percentile(col, 95)),
                     "probability_best": float((best_each == i).mean()),
                     "probability_pays": float((col > 0).mean()) if i < len(designs) else None})
    by_exp = max(range(len(rows)), key=lambda i: s * rows[i]["expected"])
    by_cvar = max(range(len(rows)), key=lambda i: s * rows[i]["cvar10"])
    for i, r in enumerate(rows):
        r["rank_expected"] = 1 + sorted(range(len(rows)), key=lambda j: -s * rows[j]["expected"]).index(i)
        r["rank_cvar10"] = 1 + sorted(range(len(rows)), key=lambda j: -s * rows[j]["cvar10"]).index(i)
    flags = []
    if by_exp != by_cvar:
        flags.append({"label": labels[by_exp], "flag": "optimistic",
                      "text": f"best in expectation but not in the worst 10% of plausible worlds, where "
                              f"{labels[by_cvar]} does better: it wins only under optimistic assumptions"})
    for r in rows[:-1]:
        if maximise and MEASURES[obj].kind == "money" and r["cvar10"] < 0:
            flags.append({"label": r["label"], "flag": "loses in the downside",
                          "text": "loses money on average in the worst 10% of plausible worlds"})
    chosen_label = res.labels()[res.chosen] if res.selection is not None else None
    res.robust = {
        "draws": [{"design": labels[i], "draw": int(d), "replication": ROBUST_FROM + int(d) % ROBUST_SEEDS,
                   **({m: v for m, v in got[(i, d)].items()} if i < len(designs) else no_programme_measures())}
                  for j, d in enumerate(complete) for i in range(len(labels))],
        "rows": rows, "n_draws": len(complete), "parameters": list(fields),
        "best_in_expectation": labels[by_exp], "best_in_cvar10": labels[by_cvar], "flags": flags,
        "chosen": chosen_label,
        "chosen_is_robust": chosen_label is not None and chosen_label == labels[by_cvar],
        "what_the_spread_includes": "the uncertain assumptions (each draw sets every one from its prior) and "
                                    f"simulation noise ({ROBUST_SEEDS} replication seeds, from {ROBUST_FROM})",
    }
