"""A pilot on the terminal: its power, the smallest lift it can see, and what it is worth against its cost."""
from __future__ import annotations

from reports.terminal.common import signed, verdict_lines
from sim.format import money, pct



def render(doc) -> str:
    cur = doc["currency"]
    out = [f"A pilot of {doc['members']:,} customers offered the programme and {doc['control']:,} held out, for "
           f"{doc['months']} months ({doc['replications']} simulated pilots)",
           f"  Measured: {doc['outcome']}; control customers spend {money(doc['control_spend_per_customer'], cur)} "
           "each over the pilot.",
           f"  Smallest lift it can detect (5% significance, 80% power): {money(doc['minimum_detectable_lift'], cur)} "
           f"per customer ({pct(doc['minimum_detectable_lift_relative'], 1)}).",
           f"  The scenario's own lift over those months: {money(doc['scenario_lift'], cur)} per customer "
           f"({pct(doc['scenario_lift_relative'], 1)}); a pilot this size finds it "
           f"{pct(doc['power_at_scenario_lift'])} of the time (normal approximation "
           f"{pct(doc['power_normal_approximation'])})."]
    if "evsi" in doc:
        out += ["",
                f"What the pilot is worth (expected value of sample information): {money(doc['evsi'], cur)}, of "
                f"{money(doc['evpi'], cur)} that perfect information would be worth.",
                f"  It costs {money(doc['pilot_cost'], cur)} to run, net of its own income, and deciding {doc['months']} "
                f"months later forgoes {money(doc['cost_of_waiting'], cur)} in expectation: net "
                f"{signed(doc['net_value'], cur)}."]
        lines = doc.get("pilot_cost_lines") or {}
        labels = {"setup": "set-up", "running": f"running cost for {doc['months']} months",
                  "rewards_and_benefits": "rewards and benefits for the treated customers",
                  "fees_from_pilot_members": "less: fees the treated customers pay",
                  "gross_profit_on_extra_sales": "less: gross profit on their extra sales"}
        for k, v in lines.items():
            if v:
                out.append(f"    {labels.get(k, k.replace('_', ' ')):52} {signed(v, cur):>16}")
        out.append("  By size (treated / control): " + "; ".join(
            f"{s['members']:,}/{s['control']:,}: EVSI {money(s['evsi'])}, net {signed(s['net_value'])}"
            for s in doc["sizes"]))
    out.append("")
    out += verdict_lines(doc)
    return "\n".join(out)


