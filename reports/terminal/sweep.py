"""A sweep on the terminal: where the programme pays, the best points, the shape of the response."""
from __future__ import annotations

from reports.terminal.common import bound_marks, short, verdict_lines
from sim.format import money, pct

def render(doc) -> str:
    cur = doc["currency"]
    out = [f"Sweep of {doc['scenario']}: {doc['points']} points ({doc['design']}), {doc['replications']} replication"
           f"{'s' if doc['replications'] != 1 else ''} each, every point against no programme on the same customers",
           f"  varied: {', '.join(f + bound_marks(doc, 'best point').get(f, '') for f in doc['varied'])}", ""]
    out += verdict_lines(doc)
    out.append("")
    out.append("Best points by incremental profit (95% interval over replications):")
    for r in doc["best"]:
        ip = r["incremental_profit"]
        ci = "" if ip["ci_low"] is None else f"  [{money(ip['ci_low'])} .. {money(ip['ci_high'])}]"
        where = ", ".join(f"{f.split('.')[-1] if len(doc['varied']) > 1 else f} = {short(r[f])}" for f in doc["varied"])
        out.append(f"  {where:50} {money(ip['mean'], cur):>14}{ci}  ROI {pct(r['roi'])}, revenue {pct(r['revenue_lift'], 1)}")
    w = doc.get("worst")
    if w:
        out.append(f"Worst point: {', '.join(f'{f} = {short(w[f])}' for f in doc['varied'])}: "
                   f"{money(w['incremental_profit']['mean'], cur)}")
    out.append("")
    out.append("Shape of the response (incremental profit):")
    for f, s in doc["shape"].items():
        line = f"  {f}: "
        if "by_value" in s and len(s["by_value"]) <= 12:
            line += ", ".join(f"{k} -> {money(v)}" for k, v in s["by_value"].items())
        if s.get("rank_correlation") is not None:
            line += ("; " if "by_value" in s and len(s["by_value"]) <= 12 else "") + \
                    f"rank correlation {s['rank_correlation']:+.2f}"
        out.append(line)
    idx = doc.get("indices")
    if idx:
        out.append("")
        first = next(iter(idx.values()))
        if "first_order" in first:
            out.append("Sobol indices of incremental profit (share of its variance; 95% bootstrap interval):")
            for f, v in idx.items():
                out.append(f"  {f:55} first order {v['first_order']:+.2f} (+/-{v['first_order_ci']:.2f})   "
                           f"total {v['total_order']:+.2f} (+/-{v['total_order_ci']:.2f})")
        else:
            out.append("Morris screening of incremental profit (mean absolute elementary effect, currency):")
            for f, v in sorted(idx.items(), key=lambda kv: -kv[1]["mu_star"]):
                out.append(f"  {f:55} mu* {money(v['mu_star'], cur)} (+/-{money(v['mu_star_ci'])}), sigma {money(v['sigma'])}")
    if doc.get("noise_share_of_differences") is not None:
        out.append(f"Simulation noise is {pct(doc['noise_share_of_differences'])} of the differences between points "
                   "(on common random numbers; the level of every point shares the replications' noise).")
    return "\n".join(out)


def render_sweep_indices(sens, cur):
    lines = []
    if sens.get("sobol"):
        lines.append("Sobol indices of incremental profit over the uncertain parameters (95% bootstrap interval):")
        for f, v in sorted(sens["sobol"].items(), key=lambda kv: -kv[1]["total_order"]):
            lines.append(f"  {f:55} first {v['first_order']:+.2f} (+/-{v['first_order_ci']:.2f})  total "
                         f"{v['total_order']:+.2f} (+/-{v['total_order_ci']:.2f})")
    if sens.get("morris"):
        lines.append("Morris screening (mean absolute elementary effect on incremental profit):")
        for f, v in sorted(sens["morris"].items(), key=lambda kv: -kv[1]["mu_star"]):
            lines.append(f"  {f:55} mu* {money(v['mu_star'], cur)} (+/-{money(v['mu_star_ci'])})")
    if sens.get("noise_share_of_variance") is not None:
        lines.append(f"  Simulation noise: {pct(sens['noise_share_of_variance'])} of the variance.")
    if sens.get("note"):
        lines.append(f"  Note: {sens['note']}.")
    return "\n".join(lines)


