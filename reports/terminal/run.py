"""A run on the terminal: what changed, by how much, how sure, what it costs, whether it pays."""
from __future__ import annotations

from reports.terminal.common import verdict_lines
from sim import format as fmt
from sim.format import horizon, money, pct
from sim.metrics import CATALOGUE, change_rows

def render(doc) -> str:
    cur = doc["currency"]
    n = doc["replications"]
    out = []
    out.append(f"{doc['scenario']}  ({doc['customers_at_launch']:,} customers at launch, "
               f"{horizon(doc['horizon_days'])}, {n} replication{'s' if n != 1 else ''}, seed {doc['seed']})")
    if doc.get("scaling"):
        out.append(f"  Totals {doc['scaling']['note']}")
    out.append("")
    head = f"{'':46} {'no programme':>14} {'programme':>14} {'change':>12} {'':>8}  95% interval of the change"
    out.append(head)
    out.append("-" * len(head))
    for key in change_rows(doc):
        m = CATALOGUE[key]
        lift = doc["lift"][key]
        out.append(f"{m.label:46} {fmt.level(key, doc['baseline'].get(key)):>14} "
                   f"{fmt.level(key, doc['programme'].get(key)):>14} {fmt.change(key, lift['absolute']['mean']):>12} "
                   f"{fmt.relative(lift) if m.unit != 'share' else '':>8}  {fmt.interval(key, lift['absolute'])}")
    eco = doc["economics"]
    out.append("")
    out += verdict_lines(doc)
    no_effect = doc["verdict"]["kind"] == "no_effect"
    inc = eco["incremental_profit"]
    if not no_effect:
        rng = "" if inc["ci_low"] is None else f" (95%: {money(inc['ci_low'], cur)} .. {money(inc['ci_high'], cur)})"
        out.append(f"  Incremental profit over the horizon: {money(inc['mean'], cur)}{rng}")
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
    labels = doc.get("ledger_labels") or {}
    lines = {k: v for k, v in eco["programme_lines"].items() if v}
    if lines:
        out.append("  Programme cost by line (mean over replications):")
        for k, v in sorted(lines.items(), key=lambda kv: -abs(kv[1])):
            out.append(f"    {labels.get(k, k):52} {money(v, cur):>16}")
    income = {k: v for k, v in eco.get("programme_income_lines", {}).items() if v}
    if income:
        out.append("  Programme income by line:")
        for k, v in sorted(income.items(), key=lambda kv: -abs(kv[1])):
            out.append(f"    {labels.get(k, k):52} {money(v, cur):>16}")
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
            out.append(f"    {name:20} orders {fmt.change('orders', o['absolute']['mean']):>10} {fmt.relative(o):>8}   "
                       f"revenue {fmt.change('revenue', r['absolute']['mean']):>10}   "
                       f"retained {fmt.change('retention_rate', ret['absolute']['mean'])}")
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
        if sub.get("value_per_member_year") is not None:
            got, fee = sub["value_per_member_year"], sub["fee_per_member_year"]
            out.append(f"    per paying member a year: fee {money(fee, cur)}, value received {money(got, cur)} "
                       f"(savings, free deliveries, extra points and perks at their stated worth: "
                       f"{got / fee:.1f}x the fee)")
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
