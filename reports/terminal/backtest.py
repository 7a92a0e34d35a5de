"""A backtest on the terminal: the twin's no-programme world against what its customers did over the holdout."""
from __future__ import annotations

from reports.terminal.common import verdict_lines
from sim.format import pct


def _num(x, money=False):
    return "n/a" if x is None else (f"{x:,.0f}" if money or abs(x) >= 100 else f"{x:,.1f}")


def render(doc) -> str:
    h = doc["holdout"]
    out = [f"loyalsim backtest: {doc['file']}",
           f"  {doc['customers']:,} customers calibrated to {doc['calibration_end']} ({doc['model']}); the twin's "
           f"no-programme world over the holdout to {doc['holdout_end']} ({doc['holdout_days']} days, "
           f"{doc['replications']} simulated worlds, no acquisition: the actual figures are these customers' own)",
           "",
           f"  {'':26}{'actual':>12}{'simulated':>12}{'95% of worlds':>24}{'error':>9}{'tolerance':>11}"]
    labels = {"transactions": "repeat transactions", "revenue": "revenue", "active_customers": "active customers"}
    for key, label in labels.items():
        s = h["simulated"][key]
        band = f"{_num(s['ci_low'])} .. {_num(s['ci_high'])}"
        out.append(f"  {label:26}{_num(h['actual'][key]):>12}{_num(s['mean']):>12}{band:>24}"
                   f"{pct(s['error'], signed=True, digits=1):>9}{pct(doc['tolerance'][key]):>11}")
    cf = h["closed_form"]
    out.append(f"  {'closed form, E[Y] summed':26}{'':>12}{_num(cf['transactions']):>12}{'':>24}"
               f"{pct(cf['error'], signed=True, digits=1):>9}")
    corr, closed = doc.get("per_customer_correlation"), doc.get("closed_form_correlation")
    out.append(f"  per-customer correlation with the actual holdout: simulated {corr:.3f}, closed form {closed:.3f}"
               if corr is not None and closed is not None else "  per-customer correlation: n/a")
    out += ["", "  by month:", f"    {'month':9}{'actual':>9}{'simulated':>11}{'buyers':>9}{'simulated':>11}"
            f"{'revenue':>12}{'simulated':>12}"]
    for m in doc["monthly"]:
        out.append(f"    {m['month']:9}{m['actual_transactions']:>9,.0f}{m['simulated_transactions']:>11,.0f}"
                   f"{m['actual_buyers']:>9,.0f}{m['simulated_buyers']:>11,.0f}{m['actual_revenue']:>12,.0f}"
                   f"{m['simulated_revenue']:>12,.0f}")
    out += ["", "  mean holdout transactions by calibration frequency:",
            f"    {'x':>4}{'customers':>11}{'actual':>9}{'simulated':>11}{'closed form':>13}"]
    for r in doc["by_frequency"]:
        out.append(f"    {r['frequency']:>4}{r['customers']:>11,}{r['actual_mean']:>9.2f}{r['simulated_mean']:>11.2f}"
                   f"{r['closed_form_mean']:>13.2f}")
    acq = doc.get("acquisition") or {}
    if acq:
        out += ["", f"  acquisition (not simulated here): {acq['per_day']:.4g} new customers a day ({acq['method']})"]
    out.append("")
    out += verdict_lines(doc)
    return "\n".join(out)
