"""An uncertainty analysis on the terminal: how likely each choice pays, and what is worth learning."""
from __future__ import annotations

from reports.terminal.common import signed, verdict_lines
from reports.terminal.sweep import render_sweep_indices
from sim.format import money, pct



def render(doc) -> str:
    cur = doc["currency"]
    out = []
    n_params = len(doc["parameters"])
    for name, s in doc["strategies"].items():
        ip = s["incremental_profit"]
        p = s["probability_pays"]
        out += [f"{name}: how likely it pays, given what we don't know",
                f"  {doc['draws']} draws of {n_params} uncertain assumptions (their plausible ranges from the evidence), "
                f"each run against no programme on the same customers, over {doc['replications']} replication seeds.",
                f"  Incremental profit over the horizon: expected {signed(ip['mean'], cur)}; 90% of outcomes between "
                f"{signed(ip['p5'])} and {signed(ip['p95'], cur)} (median {signed(ip['p50'])}).",
                f"  Probability it pays: {pct(p)}."]
        out.append(f"  If you launch, the expected shortfall (when it does not pay) is "
                   f"{money(s['expected_loss_if_launched'], cur)}; if you don't, the expected gain forgone (when it "
                   f"would have paid) is {money(s['expected_loss_if_not_launched'], cur)}.")
        acc = s["probability_paid_back_by_month"]
        marks = [m for m in (6, 12, 18, 24, 36, 48, 60) if m <= len(acc)] or [len(acc)]
        out.append("  Probability of having paid back by month " +
                   ", ".join(f"{m}: {pct(acc[m - 1])}" for m in marks) + " (and staying paid back to the end).")
        if s.get("noise_share_of_variance") is not None:
            out.append(f"  Simulation noise is {pct(s['noise_share_of_variance'])} of that spread; the rest is the "
                       "assumptions. (A plain run's interval shows only the noise.)")
        out.append("")
    dec = doc["decision"]
    if len(dec["options"]) > 2:
        out.append("Probability each choice is best: " + ", ".join(
            f"{o} {pct(dec['probability_best'][o])}" for o in dec["options"]))
    out += verdict_lines(doc)
    out.append("")
    out.append(f"What is worth learning before deciding (expected value of information, {cur}):")
    out.append(f"  {'everything we do not know (EVPI)':45} {money(doc['evpi']):>12}")
    unreliable = []
    for g, v in doc["evppi"].items():
        flag = "" if v.get("reliable", True) else "  (too few draws: see below)"
        out.append(f"  {g:45} {money(v['evppi']):>12}   ({len(v['parameters'])} parameter"
                   f"{'s' if len(v['parameters']) != 1 else ''}){flag}")
        if v.get("note"):
            unreliable.append(f"  {g}: {v['note']}.")
    out += unreliable
    tor = doc.get("tornado")
    if tor:
        out.append("")
        out.append("One assumption at a time, from its 5th to its 95th percentile (others as written):")
        several = len(doc["strategies"]) > 1
        for name in doc["strategies"]:
            rows = [r for r in tor if r.get("strategy_name", name) == name][:8 if not several else 5]
            if several and rows:
                out.append(f"  {name}:")
            for r in rows:
                out.append(f"  {'  ' if several else ''}{r['field']:55} {signed(r['low_incremental_profit'])} .. "
                           f"{signed(r['high_incremental_profit'], cur)}")
    sens = doc.get("sensitivity")
    if sens:
        out.append("")
        out.append(render_sweep_indices(sens, cur))
    return "\n".join(out)


