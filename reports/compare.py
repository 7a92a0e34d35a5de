"""Strategies side by side: one customer base, one set of random numbers, one baseline.

Every strategy's programme arm runs from the same launch base as the shared
baseline inside each replication, so differences between strategies are paired
too. Ranking is by mean incremental profit; "beats next" is the probability,
on the paired replications, that a strategy's incremental profit exceeds the
next one's (Student-t on the paired differences).
"""
from __future__ import annotations

from sim.errors import ScenarioError
from sim.metrics import prob_greater
from sim.runner import BASELINE, run_replications, summarise

SHARED = ("customers", "horizon_days", "start_date", "metrics")
# economics a baseline depends on; programme costs and the delivery fee given up belong to each strategy
SHARED_ECONOMICS = ("currency", "gross_margin", "discount_rate")


def compare(scenarios, workers=None, progress=None) -> dict:
    first = scenarios[0]
    ref = first.resolved()
    names = []
    for sc in scenarios[1:]:
        other = sc.resolved()
        for key in SHARED:
            if other[key] != ref[key]:
                raise ScenarioError(sc.file, key, f"differs from {first.file}; strategies are compared on the same "
                                                  f"{key.replace('_', ' ')} (move the difference into the programme, or run them separately)")
        for key in SHARED_ECONOMICS:
            if other["economics"][key] != ref["economics"][key]:
                raise ScenarioError(sc.file, f"economics.{key}", f"differs from {first.file}; the no-programme baseline "
                                    "depends on it, so strategies must share it")
    programmes = {}
    for i, sc in enumerate(scenarios):
        name = sc.name
        if name in programmes or name == BASELINE:
            name = f"{name} ({i + 1})"
        names.append(name)
        programmes[name] = sc  # its programme, programme costs and response, on the first file's customers
    results, complete = run_replications(first, programmes, first.cfg.replications, workers=workers, progress=progress)
    docs = {name: summarise(sc, results, name) for name, sc in zip(names, scenarios)}
    incr = {name: [r["arms"][name]["metrics"]["profit"] - r["arms"][BASELINE]["metrics"]["profit"] for r in results]
            for name in names}
    order = sorted(names, key=lambda n: -docs[n]["economics"]["incremental_profit"]["mean"])
    ranking = []
    for pos, name in enumerate(order):
        d = docs[name]
        nxt = order[pos + 1] if pos + 1 < len(order) else None
        ranking.append({
            "rank": pos + 1,
            "strategy": name,
            "file": d["file"],
            "incremental_profit": d["economics"]["incremental_profit"],
            "roi": d["economics"]["roi"],
            "payback_month": d["economics"]["payback_month"],
            "retention_lift": d["lift"]["retention_rate"]["absolute"],
            "average_check_lift": d["lift"]["average_check"]["relative"],
            "purchase_frequency_lift": d["lift"]["purchase_frequency"]["relative"],
            "programme_cost": d["programme"]["programme_cost"],
            "beats_next": {"strategy": nxt, "probability": prob_greater(incr[name], incr[nxt])} if nxt else None,
        })
    return {
        "seed": first.cfg.seed,
        "replications": len(results),
        "horizon_days": first.cfg.horizon_days,
        "currency": first.cfg.economics.currency,
        "baseline": docs[names[0]]["baseline"],
        "ranking": ranking,
        "strategies": docs,
        **({"interrupted": True} if not complete else {}),
    }


def render_compare(doc) -> str:
    from reports.table import money
    cur = doc["currency"]
    out = [f"{len(doc['ranking'])} strategies on the same customers, {doc['horizon_days']} days, "
           f"{doc['replications']} replications (seed {doc['seed']}), ranked by incremental profit", ""]
    head = f"{'#':>2}  {'strategy':34} {'incremental profit':>18}  {'95% interval':>26}  {'ROI':>6}  {'payback':>8}  {'retention':>9}  beats next"
    out += [head, "-" * len(head)]
    for r in doc["ranking"]:
        ip = r["incremental_profit"]
        ci = "n/a" if ip["ci_low"] is None else f"{money(ip['ci_low'])} .. {money(ip['ci_high'])}"
        roi = "n/a" if r["roi"]["mean"] is None else f"{100 * r['roi']['mean']:.0f}%"
        pb = f"m{r['payback_month']}" if r["payback_month"] else "never"
        ret = r["retention_lift"]["mean"]
        ret = "n/a" if ret is None else f"{100 * ret:+.1f}pt"
        bn = r["beats_next"]
        bn = "" if not bn else f"{100 * bn['probability']:.0f}% vs #{r['rank'] + 1}" if bn["probability"] is not None else ""
        out.append(f"{r['rank']:>2}  {r['strategy'][:34]:34} {money(ip['mean'], cur):>18}  {ci:>26}  {roi:>6}  {pb:>8}  {ret:>9}  {bn}")
    return "\n".join(out)
