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
    ("revenue_recognised", "Revenue recognised (IFRS 15)"),
    ("programme_cost", "Programme cost"),
    ("profit", "Profit (IFRS 15)"),
    ("profit_cash", "Profit (cash view)"),
    ("lifetime_value", "Lifetime value per customer (discounted)"),
)
CHECKS = {"average_check", "average_check_net", "lifetime_value"}  # shown to significant figures


def money(x, cur=""):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "n/a"
    a = abs(x)
    s = f"{a / 1e9:.2f}bn" if a >= 1e9 else f"{a / 1e6:.2f}m" if a >= 1e6 else f"{a / 1e3:.1f}k" if a >= 1e4 else f"{a:,.0f}"
    return ("-" if x < 0 else "") + s + (f" {cur}" if cur else "")


def sig(x, digits=4):
    """A small amount to significant figures (a 4.62 coffee, a 1,509 basket), thousands separated."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "n/a"
    if x == 0:
        return "0"
    places = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    return f"{x:,.{places}f}"


def fmt(key, x, cur=""):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if key in PCT:
        return f"{100 * x:.1f}%"
    if key in ("purchase_frequency",):
        return f"{x:.2f}"
    if key in ("orders", "active_customers_end"):
        return f"{x:,.0f}"
    if key in CHECKS:
        return sig(x) if abs(x) < 1e5 else money(x)
    return money(x, cur)


def fmt_diff(key, d, cur="", scale=None):
    if d is None:
        return "n/a"
    if key in PCT:
        if abs(d) >= 0.0005 or d == 0:
            return f"{100 * d:+.1f} pts"
        return f"{100 * d:+.2f} pts" if abs(d) >= 0.00005 else "0.0 pts"
    if key == "purchase_frequency":
        return f"{d:+.2f}" if abs(d) >= 0.005 or d == 0 else f"{d:+.3f}"
    if key in ("orders",):
        return f"{d:+,.0f}"
    if key in CHECKS:
        # as many decimals as the level needs: +0.12 on a 4.62 coffee, +17 on a 1,509 basket
        return ("+" if d >= 0 else "-") + sig(abs(d), 3) if abs(d) < 1e5 else ("+" if d >= 0 else "") + money(d)
    return ("+" if d >= 0 else "") + money(d)


def ci_text(key, lift):
    a = lift["absolute"]
    if a["ci_low"] is None:
        return "(one replication: no interval)"
    return f"[{fmt_diff(key, a['ci_low'])} .. {fmt_diff(key, a['ci_high'])}]"


def rel_text(lift):
    r = lift["relative"]["mean"]
    return "" if r is None else f"{100 * r:+.1f}%"


def verdict_lines(doc) -> list:
    """The verdict: pays / does not pay / no effect / cannot tell, and how sure (simulation noise only)."""
    cur = doc["currency"]
    eco = doc["economics"]
    inc = eco["incremental_profit"]
    n = doc["replications"]
    mean = inc["mean"]
    no_effect = mean == 0 and (doc["lift"]["orders"]["absolute"]["mean"] or 0) == 0 \
        and (doc["programme"]["programme_cost"] or 0) == 0
    if no_effect:
        return ["Verdict: NO EFFECT: the programme changes nothing and costs nothing (same customers, same chance events)."]
    pays = mean is not None and mean > 0
    word = "PAYS" if pays else "DOES NOT PAY"
    if inc["ci_low"] is None:
        head = (f"Verdict: on one replication the programme {'would pay' if pays else 'would not pay'}, but one "
                "replication cannot say how sure that is: run 2 or more (-r 10).")
    elif inc["ci_low"] > 0 or inc["ci_high"] < 0:
        head = f"Verdict: the programme {word}: the 95% interval of its incremental profit excludes zero."
    else:
        head = (f"Verdict: CANNOT TELL YET: the 95% interval of the incremental profit includes zero "
                f"(add replications: -r {max(4 * n, 20)}).")
    out = [head, "  The interval covers simulation noise only, at the assumptions as written;",
           "  how sure the answer is over what we don't know: loyalsim psa."]
    rng = "" if inc["ci_low"] is None else f" (95%: {money(inc['ci_low'], cur)} .. {money(inc['ci_high'], cur)})"
    out.append(f"  Incremental profit over the horizon: {money(mean, cur)}{rng}")
    margin = doc.get("gross_margin")
    base_revenue = doc["baseline"].get("revenue")
    if not pays and mean is not None and margin and base_revenue:
        need = -mean / margin  # extra sales at the gross margin that would cover the shortfall
        out.append(f"  To break even it would need about {money(need, cur)} more sales over the horizon "
                   f"({100 * need / base_revenue:+.1f}% of sales, at a {100 * margin:.0f}% gross margin).")
    return out


def render(doc) -> str:
    cur = doc["currency"]
    years = doc["horizon_days"] / 365
    n = doc["replications"]
    out = []
    out.append(f"{doc['scenario']}  ({doc['customers_at_launch']:,} customers at launch, "
               f"{doc['horizon_days']} days = {years:.1f} years, {n} replication{'s' if n != 1 else ''}, "
               f"seed {doc['seed']})")
    out.append("")
    head = f"{'':46} {'no programme':>14} {'programme':>14} {'change':>12} {'':>8}  95% interval of the change"
    out.append(head)
    out.append("-" * len(head))
    for key, label in ROWS:
        b, p = doc["baseline"].get(key), doc["programme"].get(key)
        lift = doc["lift"].get(key)
        if lift is None:
            continue
        if key == "profit_cash" and doc["programme"].get("revenue_recognised") == doc["programme"].get("revenue") \
                and b == doc["baseline"].get("profit") and p == doc["programme"].get("profit"):
            continue  # no points: the cash view is the same
        if key == "revenue_recognised" and "points" not in doc.get("mechanics", {}):
            continue
        out.append(f"{label:46} {fmt(key, b, cur if key == 'lifetime_value' else ''):>14} {fmt(key, p):>14} "
                   f"{fmt_diff(key, lift['absolute']['mean']):>12} {rel_text(lift) if key not in PCT else '':>8}  "
                   f"{ci_text(key, lift)}")
    eco = doc["economics"]
    out.append("")
    out += verdict_lines(doc)
    no_effect = out[-1].startswith("Verdict: NO EFFECT")
    roi = eco["roi"] if not no_effect else {"mean": None}
    if roi["mean"] is not None:
        rr = "" if roi["ci_low"] is None else f" (95%: {100 * roi['ci_low']:.0f}% .. {100 * roi['ci_high']:.0f}%)"
        out.append(f"  Return on programme cost: {100 * roi['mean']:.0f}%{rr}")
    pb = eco["payback_month"]
    if no_effect:
        pass
    elif eco.get("payback_immediate"):
        out.append("  Payback: immediately (no up-front cost to recover: ahead from the first month)")
    else:
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
                   f"{100 * pts['breakage_realised']:.0f}% expired; revenue deferred for them "
                   f"{money(pts.get('revenue_deferred'), cur)}, released {money(pts.get('revenue_released'), cur)}, "
                   f"still owed at the end (contract liability) {money(pts['liability_end'], cur)}")
    gap = doc.get("naive_member_gap")
    if gap:
        out += member_gap_lines(gap)
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
    out.append("Retention: of the customers who bought in the year before launch, the share who bought in the last")
    out.append("year ('alive' is the simulator's latent state). Changes are programme minus no-programme on the same")
    out.append("customers and the same chance events (common random numbers), with 95% intervals over replications.")
    return "\n".join(out)


def member_gap_lines(gap) -> list:
    """Members vs non-members, as a CRM dashboard will show it, against what the programme did."""
    s = gap["spend"]
    naive, causal, sel = s["naive_gap"], s["causal_effect_on_members"], s["selection_share"]
    if naive is None or causal is None:
        return []
    more = f"{100 * naive:.0f}% more" if naive >= 0 else f"{100 * -naive:.0f}% less"
    out = [f"  Members ({100 * gap['member_share']:.0f}% of the customers who shopped) spend {more} than non-members; "
           f"the programme itself changed what those members would have spent by {100 * causal:+.1f}%."]
    if sel is not None and naive > 0:
        out.append(f"    So {100 * min(max(sel, 0), 1):.0f}% of the member vs non-member gap a CRM dashboard shows is who "
                   "joined (heavier buyers join), not what the programme did.")
    return out


def pct(x, digits=0):
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _new_mechanic_lines(mech, cur):
    """One or two lines each for the paid membership, referrals and the service desk."""
    out = []
    sub = mech.get("subscription")
    if sub:
        out.append(f"  Membership: {sub['members_end']:,.0f} members at the end, fees {money(sub['fee_income'], cur)}; "
                   f"renewals {pct(sub['trial_conversion_rate'])} after the trial (CIRP 73%), "
                   f"{pct(sub['first_year_renewal_rate'])} after year one (CIRP 91%)")
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
        out.append(f"  Service desk: {svc['contacts']:,.0f} contacts, {pct(svc['service_level'])} answered within target, "
                   f"mean wait {'n/a' if wait is None else f'{wait:.1f} min'}, {pct(svc['abandoned_share'])} abandoned; "
                   f"staff {money(svc['staff_cost'], cur)}")
    return out
