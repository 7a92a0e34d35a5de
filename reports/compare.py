"""Strategies side by side on the terminal (the comparison itself is ``sim.studies.compare``)."""
from __future__ import annotations


def render_compare(doc) -> str:
    from reports.table import money
    cur = doc["currency"]
    out = [f"{len(doc['ranking'])} strategies on the same customers, {doc['horizon_days']} days, "
           f"{doc['replications']} replications (seed {doc['seed']}), ranked by incremental profit", ""]
    w = max([len("strategy")] + [len(r["strategy"]) for r in doc["ranking"]])  # whole names, never cut
    head = (f"{'#':>2}  {'strategy':{w}} {'incremental profit':>18}  {'95% interval':>26}  {'ROI':>6}  "
            f"{'payback':>8}  {'retention':>9}  beats next")
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
        out.append(f"{r['rank']:>2}  {r['strategy']:{w}} {money(ip['mean'], cur):>18}  {ci:>26}  "
                   f"{roi:>6}  {pb:>8}  {ret:>9}  {bn}")
    return "\n".join(out)
