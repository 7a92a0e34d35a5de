"""The terminal report: what changed, by how much, how sure, what it costs, whether it pays."""
from __future__ import annotations

import math

PCT = {"retention_rate", "churn_rate", "latent_survival", "repeat_purchase_rate", "loyal_share"}
ROWS = (
    ("retention_rate", "Customers retained (bought in the last year)"),
    ("latent_survival", "Customers still alive (latent)"),
    ("purchase_frequency", "Purchases per active customer per year"),
    ("average_check", "Average check (list price)"),
    ("average_check_net", "Average check paid (after discounts, rewards)"),
    ("repeat_purchase_rate", "Repeat purchase rate"),
    ("loyal_share", "Loyal share of active customers"),
    ("orders", "Orders"),
    ("revenue", "Revenue (list price)"),
    ("programme_cost", "Programme cost"),
    ("profit", "Profit"),
)


def money(x, cur=""):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x)
    s = f"{a / 1e9:.2f}bn" if a >= 1e9 else f"{a / 1e6:.2f}m" if a >= 1e6 else f"{a / 1e3:.1f}k" if a >= 1e4 else f"{a:,.0f}"
    return ("-" if x < 0 else "") + s + (f" {cur}" if cur else "")


def fmt(key, x, cur=""):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if key in PCT:
        return f"{100 * x:.1f}%"
    if key in ("purchase_frequency",):
        return f"{x:.2f}"
    if key in ("orders", "active_customers_end"):
        return f"{x:,.0f}"
    return money(x, cur if key not in ("average_check", "average_check_net") else "")


def fmt_diff(key, d, cur=""):
    if d is None:
        return "n/a"
    if key in PCT:
        return f"{100 * d:+.1f} pts"
    if key == "purchase_frequency":
        return f"{d:+.2f}"
    if key in ("orders",):
        return f"{d:+,.0f}"
    return ("+" if d >= 0 else "") + money(d)


def ci_text(key, lift):
    a = lift["absolute"]
    if a["ci_low"] is None:
        return "(one replication: no interval)"
    return f"[{fmt_diff(key, a['ci_low'])} .. {fmt_diff(key, a['ci_high'])}]"


def rel_text(lift):
    r = lift["relative"]["mean"]
    return "" if r is None else f"{100 * r:+.1f}%"


def render(doc) -> str:
    cur = doc["currency"]
    years = doc["horizon_days"] / 365
    out = []
    out.append(f"{doc['scenario']}  ({doc['customers_at_launch']:,} customers at launch, "
               f"{doc['horizon_days']} days = {years:.1f} years, {doc['replications']} replications, seed {doc['seed']})")
    out.append("")
    head = f"{'':46} {'no programme':>14} {'programme':>14} {'change':>12} {'':>8}  95% interval of the change"
    out.append(head)
    out.append("-" * len(head))
    for key, label in ROWS:
        b, p = doc["baseline"][key], doc["programme"][key]
        lift = doc["lift"][key]
        out.append(f"{label:46} {fmt(key, b):>14} {fmt(key, p):>14} {fmt_diff(key, lift['absolute']['mean']):>12} "
                   f"{rel_text(lift) if key not in PCT else '':>8}  {ci_text(key, lift)}")
    eco = doc["economics"]
    out.append("")
    inc = eco["incremental_profit"]
    roi = eco["roi"]
    pays = inc["mean"] is not None and inc["mean"] > 0
    sure = inc["ci_low"] is not None and (inc["ci_low"] > 0 or inc["ci_high"] < 0)
    verdict = ("PAYS" if pays else "DOES NOT PAY") + (" (the 95% interval excludes zero)" if sure else " (not yet sure: the 95% interval includes zero)" if inc["ci_low"] is not None else "")
    out.append(f"Verdict: the programme {verdict}.")
    rng = "" if inc["ci_low"] is None else f" (95%: {money(inc['ci_low'], cur)} .. {money(inc['ci_high'], cur)})"
    out.append(f"  Incremental profit over the horizon: {money(inc['mean'], cur)}{rng}")
    if roi["mean"] is not None:
        rr = "" if roi["ci_low"] is None else f" (95%: {100 * roi['ci_low']:.0f}% .. {100 * roi['ci_high']:.0f}%)"
        out.append(f"  Return on programme cost: {100 * roi['mean']:.0f}%{rr}")
    pb = eco["payback_month"]
    out.append(f"  Payback: {'month ' + str(pb) if pb else 'not within the horizon'}")
    lines = {k: v for k, v in eco["programme_lines"].items() if v}
    if lines:
        out.append("  Programme cost by line (mean over replications):")
        for k, v in sorted(lines.items(), key=lambda kv: -abs(kv[1])):
            out.append(f"    {k:40} {money(v, cur):>16}")
    income = {k: v for k, v in eco.get("programme_income_lines", {}).items() if v}
    if income:
        out.append("  Programme income by line:")
        for k, v in sorted(income.items(), key=lambda kv: -abs(kv[1])):
            out.append(f"    {k:40} {money(v, cur):>16}")
    pts = doc.get("mechanics", {}).get("points")
    if pts:
        out.append(f"  Points: {pts['points_issued']:,.0f} issued, {100 * pts['redemption_rate']:.0f}% redeemed, "
                   f"{100 * pts['breakage_realised']:.0f}% expired; liability at the end {money(pts['liability_end'], cur)}")
    out += _new_mechanic_lines(doc.get("mechanics", {}), cur)
    segs = doc.get("segments")
    if segs:
        out.append("  By segment (change against no programme):")
        for name, m in segs.items():
            o, r, ret = m["orders"]["lift"], m["revenue"]["lift"], m["retention_rate"]["lift"]
            out.append(f"    {name:20} orders {fmt_diff('orders', o['absolute']['mean']):>10} {rel_text(o):>8}   "
                       f"revenue {fmt_diff('revenue', r['absolute']['mean']):>10}   "
                       f"retained {fmt_diff('retention_rate', ret['absolute']['mean'])}")
    out.append("")
    out.append("Retention counts customers who bought within the activity window (CRM view); 'alive' is the")
    out.append("simulator's latent state. Changes are programme minus no-programme on the same customers and")
    out.append("the same chance events (common random numbers), with 95% intervals over replications.")
    return "\n".join(out)


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _new_mechanic_lines(mech, cur):
    """One or two lines each for the paid membership, referrals and the service desk."""
    out = []
    sub = mech.get("subscription")
    if sub:
        out.append(f"  Membership: {sub['members_end']:,.0f} members at the end, fees {money(sub['fee_income'], cur)}; "
                   f"renewals {_pct(sub['trial_conversion_rate'])} after the trial (CIRP 73%), "
                   f"{_pct(sub['first_year_renewal_rate'])} after year one (CIRP 91%)")
        if sub.get("orders_per_member_year") is not None and sub.get("orders_per_other_active_year"):
            out.append(f"    members order {sub['orders_per_member_year']:.1f} times a year vs "
                       f"{sub['orders_per_other_active_year']:.1f} for other active customers")
    ref = mech.get("referrals")
    if ref:
        tree = ref["brought_in_by"]
        out.append(f"  Referrals: {ref['referred_customers']:,.0f} referred customers ({ref['fake_referrals']:,.0f} fake); "
                   f"launch base brought {tree['launch_base']['total']:,.0f}, new customers {tree['acquired']['total']:,.0f}; "
                   f"paid acquisition saved {money(ref['acquisition_cost_saved'], cur)} (not booked)")
    svc = mech.get("service")
    if svc:
        wait = svc.get("mean_wait_minutes")
        out.append(f"  Service desk: {svc['contacts']:,.0f} contacts, {_pct(svc['service_level'])} answered within target, "
                   f"mean wait {'n/a' if wait is None else f'{wait:.1f} min'}, {_pct(svc['abandoned_share'])} abandoned; "
                   f"staff {money(svc['staff_cost'], cur)}")
    return out
