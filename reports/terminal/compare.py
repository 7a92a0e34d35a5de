"""Strategies side by side on the terminal, no programme among them (the comparison itself is sim.studies.compare)."""
from __future__ import annotations

from reports.terminal.common import verdict_lines
from sim.format import horizon, money


def render(doc) -> str:
    cur = doc["currency"]
    ranking = doc["ranking"]
    strategies = [r for r in ranking if not r.get("no_programme")]
    out = [f"{len(strategies)} strategies and no programme on the same customers, {horizon(doc['horizon_days'])}, "
           f"{doc['replications']} replications (seed {doc['seed']}), ranked by incremental profit", ""]
    scaled = next((d["scaling"] for d in (doc.get("strategies") or {}).values() if d.get("scaling")), None)
    if scaled:
        out.insert(1, f"Totals {scaled['note']}")
    w = max([len("strategy")] + [len(r["strategy"]) for r in ranking])  # whole names, never cut
    head = (f"{'#':>2}  {'strategy':{w}} {'incremental profit':>18}  {'95% interval':>26}  {'ROI':>6}  {'payback':>8}  "
            f"{'retention':>9}  beats next")
    out += [head, "-" * len(head)]
    for r in ranking:
        ip = r["incremental_profit"]
        bn = r.get("beats_next")
        bn = "" if not bn else f"{100 * bn['probability']:.0f}% vs #{r['rank'] + 1}" if bn["probability"] is not None else ""
        if r.get("no_programme"):
            out.append(f"{r['rank']:>2}  {r['strategy']:{w}} {money(0.0, cur):>18}  {'(the baseline)':>26}  {'':>6}  "
                       f"{'':>8}  {'':>9}  {bn}")
            continue
        ci = "n/a" if ip["ci_low"] is None else f"{money(ip['ci_low'])} .. {money(ip['ci_high'])}"
        roi = "n/a" if r["roi"]["mean"] is None else f"{100 * r['roi']['mean']:.0f}%"
        pb = f"m{r['payback_month']}" if r["payback_month"] else "never"
        ret = r["retention_lift"]["mean"]
        ret = "n/a" if ret is None else f"{100 * ret:+.1f}pt"
        out.append(f"{r['rank']:>2}  {r['strategy']:{w}} {money(ip['mean'], cur):>18}  {ci:>26}  {roi:>6}  {pb:>8}  "
                   f"{ret:>9}  {bn}")
    out.append("")
    out += verdict_lines(doc)
    return "\n".join(out)
