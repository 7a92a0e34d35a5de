"""The run report: one programme against no programme, verdict first.

Then the lift month by month, when it pays back, where the money goes, points and
tiers, the other mechanics, who responds, the assumptions in force, and the
resolved scenario with its seed, replications and loyalsim version, so the report
reproduces itself. It reads a run's summary (sim.results.summarise), its monthly
series and ledger lines; the verdict is the summary's own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from reports import figures as F
from reports.html.common import (
    BASELINE_ARM, LEVEL, PROGRAMME_ARM, assumptions_section, chart, flatten, generic_value, get, how_sure,
    interval_text, line_label, mechanic_label, months_of, payback_text, plural,
)
from reports.html.inputs import RunInputs, load_saved_run, run_inputs
from reports.html.page import Cell, Page, Section, Source, Table, Tile, Verdict, render_page
from sim import format as fmt
from sim.format import count, horizon, money, month_name, pct
from sim.metrics import CATALOGUE, change_rows


def run_tiles(doc: dict, months: list) -> list:
    """The figures beside the verdict: incremental profit, return, payback, extra revenue, cost."""
    cur = doc.get("currency", "")
    eco = doc.get("economics") or {}
    ip = eco.get("incremental_profit") or {}
    roi = eco.get("roi") or {}
    pb = eco.get("payback_month")
    tiles = [Tile("Incremental profit", money(ip.get("mean"), cur, True), f"{LEVEL}: {interval_text(ip, cur=cur)}")]
    if roi.get("mean") is not None:
        tiles.append(Tile("Return on programme cost", pct(roi["mean"]), f"{LEVEL}: {interval_text(roi, 'share')}"))
    else:
        tiles.append(Tile("Return on programme cost", "n/a", "the programme costs nothing"))
    if eco.get("payback_immediate"):
        tiles.append(Tile("Payback", "Immediately", "ahead from the first month: no up-front cost to recover"))
    else:
        tiles.append(Tile("Payback", f"Month {pb}" if pb else "Not within the horizon",
                          month_name(months[pb - 1]) if pb and months and pb <= len(months) else
                          ("cumulative incremental profit ends below zero" if not pb else "")))
    rev = eco.get("incremental_revenue") or {}
    rel = get(doc, "lift", "revenue", "relative", "mean")
    tiles.append(Tile("Extra revenue", money(rev.get("mean"), cur, True),
                      f"{pct(rel, True)} against no programme" if rel is not None else ""))
    cost = get(doc, "programme", "programme_cost")
    income = get(doc, "programme", "programme_income")
    tiles.append(Tile("Programme cost", money(cost, cur),
                      f"over {horizon(doc.get('horizon_days'))}" + (f"; income {money(income, cur)}" if income else "")))
    return tiles


def changes_section(doc: dict) -> Section:
    cur = doc.get("currency", "")
    sec = Section("changes", "What the programme changes")
    sec.paragraphs.append(
        f"Each figure over the {horizon(doc.get('horizon_days'))} simulated, with the programme and without it, on the "
        "same customers and the same chance events, so the change is the programme's effect and nothing else. "
        "Retention counts customers who bought within the activity window, as a CRM measures it.")
    rows = []
    for key in change_rows(doc):
        lift = doc["lift"][key]
        m = CATALOGUE[key]
        a, r = lift.get("absolute") or {}, lift.get("relative") or {}
        unit = fmt.change_unit(key)
        rows.append([m.label, fmt.level(key, get(doc, "baseline", key), cur), fmt.level(key, get(doc, "programme", key)),
                     Cell(fmt.change(key, a.get("mean")), cls=fmt.good_or_bad(key, a)),
                     pct(r.get("mean"), True) if m.unit != "share" and r.get("mean") is not None else "",
                     interval_text(a, unit, cur)])
    sec.tables.append(Table(["", "No programme", "Programme", "Change", "Relative", f"{LEVEL} interval of the change"],
                            rows, numeric=(1, 2, 3, 4, 5)))
    return sec


LIFT_SERIES = (
    # column, title, what (hover), kind, subtitle
    ("active_end", "Extra active customers", "extra active customers", "count",
     "Customers who bought within the activity window, at each month end"),
    ("orders", "Extra orders per month", "extra orders", "count", "Orders placed in the month"),
    ("average_check", "Change in the average check", "change in average check", "money",
     "Revenue per order at list price, {cur}"),
    ("revenue", "Extra revenue per month", "extra revenue", "money", "Sales at list price in the month, {cur}"),
)


def lift_section(inp: RunInputs, months: list) -> Section | None:
    m = inp.monthly
    if m is None or m.empty:
        return None
    cur = inp.doc.get("currency", "")
    n = int(inp.doc.get("replications") or 0)
    sec = Section("lift", "Month by month: the lift builds up")
    sec.paragraphs.append("Each chart shows the programme minus no programme in the same month, on the same customers. "
                          "Hover over a point for the month's figure and its interval.")
    partial = partial_months(inp.doc, months)
    for col, title, what, kind, sub in LIFT_SERIES:
        diff = F.paired_difference(m, PROGRAMME_ARM, col)
        if diff.empty:
            continue
        base = F.per_replication(m, BASELINE_ARM, col)
        mean, lo, hi = F.t_band(diff.to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            bmean = np.nanmean(base[diff.columns].to_numpy(), axis=1) if not base.empty else np.full(len(mean), np.nan)
            relative = np.where(np.abs(bmean) > 0, mean / np.abs(bmean), np.nan)
        if col in FLOWS and partial:
            # a month the horizon covers in part holds fewer days of orders: left out, not drawn as a fall
            for i in partial:
                mean[i] = lo[i] = hi[i] = relative[i] = np.nan
        fig = F.band_chart(months, mean, lo, hi, title=title, subtitle=sub.format(cur=cur), kind=kind, cur=cur,
                           what=what, relative=relative)
        sec.charts.append(chart(fig))
    band = (f"Line: mean over {plural(n, 'replication')}. Shaded: its {LEVEL} Student-t interval over replications "
            "(simulation noise only)." if n >= 2 else "One replication: no interval to shade.")
    sec.notes.append(band)
    if partial:
        shares = inp.doc.get("month_shares") or []
        sec.notes.append("The horizon covers " + " and ".join(
            f"{month_name(months[i])} in part ({pct(shares[i])} of its days)" for i in partial)
            + ": the monthly orders and revenue leave those months out rather than draw their fewer days as a fall.")
    return sec


FLOWS = ("orders", "revenue")  # per-month flows (the others are month-end levels or ratios)


def partial_months(doc: dict, months: list) -> list:
    """Indexes of the months the horizon covers only in part (its first and last, when it starts or ends mid-month)."""
    shares = doc.get("month_shares") or []
    return [i for i, share in enumerate(shares[:len(months)]) if share < 1.0]


def payback_section(inp: RunInputs, months: list) -> Section | None:
    m = inp.monthly
    cur = inp.doc.get("currency", "")
    eco = inp.doc.get("economics") or {}
    pb = eco.get("payback_month")
    sec = Section("payback", "When it pays back")
    diff = F.paired_difference(m, PROGRAMME_ARM, "profit") if m is not None and not m.empty else pd.DataFrame()
    if diff.empty:
        return None
    mean, lo, hi = F.t_band(np.cumsum(diff.to_numpy(), axis=0))
    end = mean[-1] if len(mean) else None
    if pb:
        sec.paragraphs.append(f"The running total of profit with the programme minus profit without it. It pays back in "
                              f"{payback_text(pb, months)}: from then on the total stays above zero, and it ends at "
                              f"{money(end, cur, True)}.")
        marker = (months[pb - 1], f"pays back: month {pb}") if pb <= len(months) else None
    else:
        sec.paragraphs.append(f"The running total of profit with the programme minus profit without it. It does not pay "
                              f"back within the {horizon(inp.doc.get('horizon_days'))} simulated: the total ends at "
                              f"{money(end, cur, True)}.")
        marker = None
    fig = F.band_chart(months, mean, lo, hi, title="Cumulative incremental profit",
                       subtitle=f"Profit with the programme minus without it, added up month by month, {cur}",
                       kind="money", cur=cur, what="cumulative incremental profit", marker=marker)
    sec.charts.append(chart(fig, wide=True))
    sec.notes.append(f"Shaded: {LEVEL} interval over replications (simulation noise only). Payback is the first month "
                     "from which the mean running total stays at or above zero.")
    return sec


def money_section(inp: RunInputs) -> Section | None:
    doc = inp.doc
    cur = doc.get("currency", "")
    eco = doc.get("economics") or {}
    gp = get(doc, "lift", "gross_profit", "absolute", "mean")
    ip = get(eco, "incremental_profit", "mean")
    if gp is None or ip is None:
        return None
    costs = {k: v for k, v in (eco.get("programme_lines") or {}).items() if v}
    income = {k: v for k, v in (eco.get("programme_income_lines") or {}).items() if v}
    steps = [("Extra gross profit from extra sales", gp, "absolute")]
    for k, v in sorted(costs.items(), key=lambda kv: -abs(kv[1])):
        steps.append((line_label(doc, k), -v, "relative"))
    for k, v in sorted(income.items(), key=lambda kv: -abs(kv[1])):
        steps.append((line_label(doc, k) + " (income)", v, "relative"))
    explained = gp - sum(costs.values()) + sum(income.values())
    changes = _ledger_line_changes(doc, inp.cost_lines)
    if changes is None:  # no ledger lines saved: the IFRS 15 points deferral is profit minus its cash view
        deferral = get(doc, "lift", "profit", "absolute", "mean")
        cash = get(doc, "lift", "profit_cash", "absolute", "mean")
        changes = [("Points revenue deferred, net (IFRS 15)", deferral - cash)] \
            if deferral is not None and cash is not None and deferral != cash else []
    for label, amount in changes:
        steps.append((label, amount, "relative"))
        explained += amount
    rest = ip - explained
    if abs(rest) > max(1.0, 1e-6 * abs(ip)):
        steps.append(("Other changes in base costs", rest, "relative"))
    steps.append(("Incremental profit", ip, "total"))
    sec = Section("money", "Where the money goes")
    margin = doc.get("gross_margin")
    rev = get(eco, "incremental_revenue", "mean")
    intro = f"Extra sales of {money(rev, cur)}"
    if margin is not None:
        intro += f" at a gross margin of {pct(margin)}"
    deferred = any("deferred" in label.lower() for label, _ in changes)
    moved_by = "The programme's costs" + (", its income" if income else "") + \
        (" and the points revenue deferred under IFRS 15 (recognised when points are redeemed or expire)"
         if deferred else "")
    intro += (f" leave {money(gp, cur)} of extra gross profit. {moved_by} take it to an incremental profit of "
              f"{money(ip, cur, True)}.")
    sec.paragraphs.append(intro)
    fig = F.waterfall_chart(steps, title="From extra gross profit to incremental profit",
                            subtitle=f"Mean over replications, {cur}; red lowers profit, green raises it, blue: totals",
                            cur=cur)
    sec.charts.append(chart(fig, wide=True))
    total_cost = sum(costs.values())
    rows = [[line_label(doc, k), money(v, cur), pct(v / total_cost) if total_cost else ""]
            for k, v in sorted(costs.items(), key=lambda kv: -abs(kv[1]))]
    rows.append([Cell("Programme cost", cls="strong"), Cell(money(total_cost, cur), cls="strong"), ""])
    sec.tables.append(Table(["Cost line", "Amount", "Share of programme cost"], rows, numeric=(1, 2),
                            caption="Programme cost by ledger line (mean over replications)"))
    if income:
        sec.tables.append(Table(["Programme income", "Amount"],
                                [[line_label(doc, k), money(v, cur)]
                                 for k, v in sorted(income.items(), key=lambda kv: -kv[1])],
                                numeric=(1,)))
    else:
        sec.notes.append("Programme income: none (the programme charges no fees).")
    basis = []
    for key, label in (("profit", "Incremental profit, IFRS 15 basis (points revenue deferred until redeemed or expired)"),
                       ("profit_cash", "Incremental profit, cash basis (revenue when the customer pays)"),
                       ("revenue_recognised", "Extra revenue recognised, IFRS 15 basis (after discounts and rewards)")):
        a = get(doc, "lift", key, "absolute")
        if a is not None and "points" in (doc.get("mechanics") or {}):  # the two bases differ only with points
            basis.append([label, money(a.get("mean"), cur, True), interval_text(a, cur=cur)])
    if basis:
        sec.tables.append(Table(["Accounting basis", "Amount", f"{LEVEL} interval"], basis, numeric=(1, 2),
                                caption="Under IFRS 15 points are a separate performance obligation: part of each "
                                        "sale is deferred as a liability and recognised when points are redeemed or "
                                        "expire. The verdict uses the IFRS 15 basis."))
    return sec


def _ledger_line_changes(doc: dict, cost_lines: pd.DataFrame | None) -> list | None:
    """The ledger lines between extra gross profit and incremental profit that the summary does not
    list: the programme's revenue lines (the IFRS 15 points deferral and its release) and changes in
    the base's own lines other than sales and cost of goods (paid acquisition). Programme minus
    baseline, mean over replications, signed as they move profit. None without saved ledger lines."""
    if cost_lines is None or cost_lines.empty:
        return None
    in_summary = (cost_lines["mechanic"] != "base") & cost_lines["kind"].isin(["cost", "income"])
    in_gross = (cost_lines["mechanic"] == "base") & cost_lines["line"].isin(["sales", "cost_of_goods"])
    rest = cost_lines[~in_summary & ~in_gross]
    reps = cost_lines.groupby("arm")["replication"].nunique()
    out = []
    for (mech, line, kind), d in rest.groupby(["mechanic", "line", "kind"], sort=False):
        total = d.groupby("arm")["amount"].sum()
        delta = float(total.get(PROGRAMME_ARM, 0.0) / max(reps.get(PROGRAMME_ARM, 1), 1)
                      - total.get(BASELINE_ARM, 0.0) / max(reps.get(BASELINE_ARM, 1), 1))
        if abs(delta) > 1e-6:
            label = line_label(doc, f"{mech}.{line}") + (" (change)" if mech == "base" else "")
            out.append((label, -delta if kind == "cost" else delta))
    return out


def points_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    pts = get(doc, "mechanics", "points")
    cols = [c for c in (m.columns if m is not None else []) if c.startswith("points.")]
    if not pts and not cols:
        return None
    sec = Section("points", "Points")
    if pts:
        issued = pts.get("points_issued")
        sec.paragraphs.append(
            f"Of {count(issued)} points issued, {pct(pts.get('redemption_rate'))} were redeemed and "
            f"{pct(pts.get('breakage_realised'))} expired unused (breakage). {count(pts.get('points_outstanding_end'))} "
            f"points are still outstanding at the end: a liability of {money(pts.get('liability_end'), cur)} "
            "on the balance sheet.")
    prog = m[m["arm"] == PROGRAMME_ARM] if m is not None and not m.empty else None
    if prog is not None and cols:
        flows = {label: F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
                 for c, label in (("points.points_issued", "issued"), ("points.points_redeemed", "redeemed"),
                                  ("points.points_expired", "expired")) if c in cols}
        if flows:
            sec.charts.append(chart(F.lines_chart(months, flows, title="Points issued, redeemed and expired",
                                                   subtitle="Points per month, mean over replications", kind="count",
                                                   what="points per month", bars=True,
                                                   colours=[F.PROGRAMME, F.GOOD, F.BAD])))
        has_rollforward = any(c.startswith("points.revenue_") for c in cols)
        if "points.liability" in cols and not has_rollforward:
            mean, lo, hi = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.liability").to_numpy())
            sec.charts.append(chart(F.band_chart(
                months, mean, lo, hi, title="Outstanding points liability",
                subtitle=f"Value of points earned and not yet redeemed or expired, at month end, {cur}",
                kind="money", cur=cur, name="liability", what="liability")))
        elif "points.points_outstanding" in cols and not has_rollforward:
            mean, lo, hi = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.points_outstanding").to_numpy())
            sec.charts.append(chart(F.band_chart(months, mean, lo, hi, title="Points outstanding",
                                                  subtitle="Points held by customers at month end", kind="count",
                                                  name="points outstanding", what="points outstanding")))
        movements = {}
        for c in cols:
            name = c.removeprefix("points.")
            if name.startswith("revenue_deferred"):
                movements["deferred: points earned"] = F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
            elif name.startswith("revenue_released"):
                how = name.removeprefix("revenue_released").strip("_").replace("_", " ") or "released"
                movements[f"released: points {how}"] = -F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
        if movements and "points.liability" in cols:
            closing = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "points.liability").to_numpy())[0]
            sec.charts.append(chart(F.rollforward_chart(
                months, movements, closing, title="Points liability roll-forward (IFRS 15)",
                subtitle=f"Deferred as points are earned (up), released (down), liability (line), {cur}", cur=cur)))
    return sec


def tiers_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    tiers = get(doc, "mechanics", "tiers")
    cols = [c for c in (m.columns if m is not None else []) if c.startswith("tiers.tier_")]
    if not tiers and not cols:
        return None
    sec = Section("tiers", "Tiers")
    if tiers:
        ends = tiers.get("members_by_tier_end") or {}
        at_end = ", ".join(f"{k} {count(v)}" for k, v in ends.items())
        sec.paragraphs.append(f"{count(tiers.get('upgrades'))} upgrades and {count(tiers.get('downgrades'))} downgrades "
                              f"over the horizon. Members by level at the end: {at_end}.")
    prog = m[m["arm"] == PROGRAMME_ARM] if m is not None and not m.empty else None
    if prog is not None and cols:
        levels = {c.removeprefix("tiers.tier_"): F.t_band(F.per_replication(prog, PROGRAMME_ARM, c).to_numpy())[0]
                  for c in cols}
        sec.charts.append(chart(F.lines_chart(months, levels, title="Members by tier level",
                                               subtitle="Members in each level at month end, mean over replications",
                                               kind="count", what="members", stacked=True)))
        moves = {}
        if "tiers.upgrades" in prog.columns:
            moves["upgrades"] = F.t_band(F.per_replication(prog, PROGRAMME_ARM, "tiers.upgrades").to_numpy())[0]
        if "tiers.downgrades" in prog.columns:
            moves["downgrades"] = -F.t_band(F.per_replication(prog, PROGRAMME_ARM, "tiers.downgrades").to_numpy())[0]
        if moves:
            sec.charts.append(chart(F.lines_chart(months, moves, title="Movements between levels",
                                                   subtitle="Upgrades (up) and downgrades (down) per month",
                                                   kind="count", what="members moving", bars=True,
                                                   relative_to_zero=True, colours=[F.GOOD, F.BAD])))
    return sec


def other_mechanics_section(inp: RunInputs, months: list) -> Section | None:
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    mech = {k: v for k, v in (doc.get("mechanics") or {}).items() if k not in ("points", "tiers") and isinstance(v, dict)}
    if not mech:
        return None
    sec = Section("mechanics", "Enrolment and other parts of the programme" if "enrolment" in mech
                  else "Other parts of the programme")
    if m is not None and not m.empty and "enrolment.members" in m.columns:
        mean, lo, hi = F.t_band(F.per_replication(m, PROGRAMME_ARM, "enrolment.members").to_numpy())
        sec.charts.append(chart(F.band_chart(months, mean, lo, hi, title="Members enrolled",
                                              subtitle="Customers who have joined the programme, at month end",
                                              kind="count", name="members", what="members"), wide=True))
    for name, figures in mech.items():
        rows = [[label.capitalize(), generic_value(label, v, cur)] for label, v in flatten(figures)]
        if rows:
            sec.tables.append(Table([mechanic_label(doc, name), "Over the horizon"], rows,
                                    numeric=(1,)))
    return sec if sec.tables or sec.charts else None


def segments_section(doc: dict) -> Section | None:
    segs = doc.get("segments")
    gap = doc.get("naive_member_gap")
    if not segs and not gap:
        return None
    cur = doc.get("currency", "")
    sec = Section("segments", "Who responds")
    if segs:
        names = list(segs)
        sec.paragraphs.append("The change against no programme in each customer segment, so a targeted programme is "
                              "read where it was aimed.")
        series = {}
        for metric, label in (("orders", "orders"), ("revenue", "revenue")):
            vals = []
            for s in names:
                r = get(segs, s, metric, "lift", "relative") or {}
                vals.append((r.get("mean"), r.get("ci_low"), r.get("ci_high")))
            series[label] = vals
        sec.charts.append(chart(F.grouped_interval_bars(names, series, title="Lift by customer segment",
                                                         subtitle=f"Relative change against no programme, "
                                                                  f"with {LEVEL} intervals",
                                                         kind="share", what="change against no programme")))
        rows = []
        for s in names:
            o, r, ret = (get(segs, s, k, "lift", "absolute") or {} for k in ("orders", "revenue", "retention_rate"))
            rows.append([s, count(o.get("mean"), True), pct(get(segs, s, "orders", "lift", "relative", "mean"), True),
                         money(r.get("mean"), cur, True), pct(get(segs, s, "revenue", "lift", "relative", "mean"), True),
                         fmt.points(ret.get("mean"))])
        sec.tables.append(Table(["Segment", "Orders", "relative", "Revenue", "relative", "Retention"], rows,
                                numeric=(1, 2, 3, 4, 5), caption="Change against no programme over the horizon"))
    if gap:
        _naive_gap(sec, gap, cur)
    return sec


NAIVE_ROWS = (("per_member", "Per member, with the programme", "amount"),
              ("per_non_member", "Per non-member", "amount"),
              ("per_member_without_programme", "Per member, had there been no programme", "amount"),
              ("naive_gap", "Naive gap: members against non-members", "signed"),
              ("causal_effect_on_members", "Causal effect on members: with against without the programme", "signed"),
              ("selection_share", "Share of the gap that is who joined (selection)", "share"))


def _naive_gap(sec: Section, gap: dict, cur: str):
    """Members against non-members (what a CRM dashboard shows) beside what the programme did."""
    measures = [k for k, v in gap.items() if isinstance(v, dict)]
    spend = gap.get("spend") if isinstance(gap.get("spend"), dict) else None
    text = ("What a CRM dashboard shows after launch, members against non-members, beside what the programme did to "
            "the same members (the programme against no programme, on the same customers). Members are partly the "
            "customers who would have bought more anyway, so the naive gap overstates the effect.")
    if spend and spend.get("naive_gap") is not None and spend.get("causal_effect_on_members") is not None:
        naive = spend["naive_gap"]
        text += (f" Here members spend {pct(abs(naive))} {'more' if naive >= 0 else 'less'} than non-members, but the "
                 f"programme changed their spend by {pct(spend['causal_effect_on_members'], True)}")
        text += (f": {pct(spend['selection_share'])} of the gap is who joined, not what the programme did."
                 if spend.get("selection_share") is not None else ".")
    if gap.get("member_share") is not None:
        text += f" Members: {pct(gap['member_share'])} of the customers active at launch."
    sec.paragraphs.append(text)
    pairs = _naive_pairs(gap)
    if pairs:
        sec.charts.append(chart(F.grouped_interval_bars(
            [p[0] for p in pairs], {"members vs non-members (naive)": [(p[1], None, None) for p in pairs],
                                    "with vs without the programme (causal)": [(p[2], None, None) for p in pairs]},
            title="Naive member gap against the causal effect",
            subtitle="Naive: members against non-members. Causal: against themselves without it",
            kind="share", what="difference")))
    if measures:
        rows = []
        for key, label, how in NAIVE_ROWS:
            if not any(key in gap[m] for m in measures):
                continue
            cells = []
            for m in measures:
                v = gap[m].get(key)
                if how == "amount":
                    cells.append(money(v, cur if m == "spend" else "") if m == "spend" else fmt.value("ratio", v))
                elif how == "signed":
                    cells.append(pct(v, True))
                else:
                    cells.append(pct(v))
            rows.append([label, *cells])
        if rows:
            sec.tables.append(Table(["Customers active at launch", *[m.replace("_", " ") for m in measures]], rows,
                                    numeric=tuple(range(1, 1 + len(measures))),
                                    caption="Over the horizon, per customer; members are those who joined"))


def _naive_pairs(gap: dict) -> list:
    """(metric, naive, causal) where the gap gives both for a metric as relative numbers."""
    out = []
    for metric, v in gap.items():
        if not isinstance(v, dict):
            continue
        naive = v.get("naive_gap", next((v[k] for k in v if "naive" in k or "gap" in k), None))
        causal = v.get("causal_effect_on_members", next((v[k] for k in v if "causal" in k or k == "lift"), None))
        naive = naive.get("mean") if isinstance(naive, dict) else naive
        causal = causal.get("mean") if isinstance(causal, dict) else causal
        if isinstance(naive, (int, float)) and isinstance(causal, (int, float)):
            out.append((metric.replace("_", " "), naive, causal))
    return out


def run_page(inp: RunInputs) -> Page:
    doc = inp.doc
    months = months_of(inp.monthly)
    cur = doc.get("currency", "")
    n = int(doc.get("replications") or 0)
    start = doc.get("start_date")
    facts = [f"{count(doc.get('customers_at_launch'))} customers at launch",
             f"{horizon(doc.get('horizon_days'))} from {_day(start)}" if start else horizon(doc.get("horizon_days")),
             plural(n, "replication") + f", seed {doc.get('seed')}", f"amounts in {cur}"]
    if doc.get("scaling"):
        facts.append(f"totals {doc['scaling']['note']}")
    sections = [changes_section(doc), lift_section(inp, months), payback_section(inp, months),
                money_section(inp), points_section(inp, months), tiers_section(inp, months),
                other_mechanics_section(inp, months), segments_section(doc), assumptions_section(inp.assumptions)]
    warnings = []
    asked = doc.get("replications_asked")
    if doc.get("interrupted"):
        warnings.append(f"Interrupted: this report covers the {plural(n, 'replication')} that finished, of the "
                        f"{asked if asked is not None else '?'} asked for.")
    return Page(kind="run", title=doc.get("scenario") or "loyalsim report", subtitle=doc.get("description") or "",
                facts=facts, verdict=Verdict.of(doc.get("verdict"), run_tiles(doc, months), how_sure(n)),
                sections=[s for s in sections if s is not None],
                sources=[Source("Resolved scenario", "scenario.yaml", inp.scenario_yaml)],
                command="loyalsim run scenario.yaml", version=inp.version, seed=doc.get("seed"),
                replications=asked if asked is not None else n, embedded_id="loyalsim-scenario",
                embedded=_parsed(inp.scenario_yaml), warnings=warnings)


def _day(iso) -> str:
    """'2027-01-01' -> '1 Jan 2027'."""
    import datetime as _dt
    try:
        d = _dt.date.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    return f"{d.day} {d.strftime('%b %Y')}"


def _parsed(text):
    """The resolved scenario as data, embedded in the page for whoever reproduces it (never read for values)."""
    import yaml
    return yaml.safe_load(text) if text else None


def render_run(source) -> str:
    """The run report as HTML text. ``source``: a ``sim.Result``, a saved ``--out`` folder (path), or ``RunInputs``."""
    from pathlib import Path
    if isinstance(source, RunInputs):
        inp = source
    elif isinstance(source, (str, Path)):
        inp = load_saved_run(source)
    else:
        inp = run_inputs(source)
    return render_page(run_page(inp))
