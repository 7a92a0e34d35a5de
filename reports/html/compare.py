"""The comparison report: strategies side by side on the same customers, with no programme among them."""
from __future__ import annotations

import numpy as np

from reports import figures as F
from reports.html.common import (
    LEVEL, assumptions_section, chart, get, how_sure, interval_text, line_label, months_of, payback_text, plural,
)
from reports.html.inputs import CompareInputs, compare_inputs
from reports.html.page import Cell, Page, Section, Source, Table, Tile, Verdict, render_page
from sim import format as fmt
from sim.format import horizon, money, month_name, pct, probability


def compare_tiles(doc: dict, months: list) -> list:
    """The figures beside the verdict: the first-ranked strategy, its profit, how clearly it leads."""
    cur = doc.get("currency", "")
    ranking = [r for r in doc.get("ranking") or [] if not r.get("no_programme")]
    if not ranking:
        return []
    best = ranking[0]
    ip = best.get("incremental_profit") or {}
    bn = best.get("beats_next") or {}
    p = bn.get("probability")
    roi = best.get("roi") or {}
    pb = best.get("payback_month")
    return [Tile("Ranked first", best["strategy"], f"of {plural(len(ranking), 'strategy', 'strategies')}, by "
                                                   "incremental profit"),
            Tile("Its incremental profit", money(ip.get("mean"), cur, True), f"{LEVEL}: {interval_text(ip, cur=cur)}"),
            Tile("Beats the next", probability(p) if p is not None else "n/a",
                 f"probability that it beats {bn['strategy']}, on the same customers" if p is not None
                 else "nothing ranked below it"),
            Tile("Return on its cost", pct(roi.get("mean")) if roi.get("mean") is not None else "n/a",
                 f"{LEVEL}: {interval_text(roi, 'share')}" if roi.get("mean") is not None else ""),
            Tile("Payback", f"Month {pb}" if pb else "Not within the horizon",
                 month_name(months[pb - 1]) if pb and months and pb <= len(months) else "")]


def compare_page(inp: CompareInputs) -> Page:
    import yaml
    doc, m = inp.doc, inp.monthly
    cur = doc.get("currency", "")
    months = months_of(m)
    ranking = doc.get("ranking") or []          # every strategy and no programme, best first
    names = [r["strategy"] for r in ranking if not r.get("no_programme")]
    n = int(doc.get("replications") or 0)
    sections = []

    sec = Section("strategies", "Strategies side by side")
    sec.paragraphs.append("Every strategy runs on the same customers and the same chance events as one shared "
                          "no-programme baseline, so the differences between them are the strategies' and nothing else. "
                          "Ranked by incremental profit, with no programme among them (zero by construction: a strategy "
                          "ranked below it loses money); 'beats the next' is the probability that an option's "
                          "incremental profit exceeds the next one's, on paired replications.")
    ips = [r.get("incremental_profit") or {} for r in ranking]
    extra = ["" if r.get("no_programme") else f"<br>return on cost {pct(get(r, 'roi', 'mean'))}" for r in ranking]
    sec.charts.append(chart(F.interval_bars(
        [r["strategy"] for r in ranking], [i.get("mean") for i in ips], [i.get("ci_low") for i in ips],
        [i.get("ci_high") for i in ips],
        title="Incremental profit by strategy",
        subtitle=f"Over the horizon against no programme, {cur}, with {LEVEL} intervals",
        kind="money", cur=cur, what="incremental profit", extra_hover=extra), wide=True))
    rows = []
    for r in ranking:
        ip = r.get("incremental_profit") or {}
        bn = r.get("beats_next") or {}
        cls = "good" if (ip.get("ci_low") or 0) > 0 else "bad" if (ip.get("ci_high") or 0) < 0 else ""
        if r.get("no_programme"):
            rows.append([str(r["rank"]), Cell("no programme", "the baseline every strategy is measured against"),
                         Cell(money(0.0, cur)), "zero by construction", "", "", "", money(0.0, cur),
                         f"{probability(bn['probability'])} vs #{r['rank'] + 1}" if bn.get("probability") is not None
                         else ""])
            continue
        rows.append([str(r["rank"]), Cell(r["strategy"], r.get("file") or ""),
                     Cell(money(ip.get("mean"), cur, True), cls=cls),
                     interval_text(ip, cur=cur), pct(get(r, "roi", "mean")),
                     payback_text(r.get("payback_month"), months) or "not within the horizon",
                     fmt.points(get(r, "retention_lift", "mean")), money(r.get("programme_cost"), cur),
                     f"{probability(bn['probability'])} vs #{r['rank'] + 1}" if bn.get("probability") is not None else ""])
    sec.tables.append(Table(["#", "Strategy", "Incremental profit", f"{LEVEL} interval", "Return on cost", "Payback",
                             "Retention", "Programme cost", "Beats the next"], rows, numeric=(2, 3, 4, 6, 7, 8)))
    sections.append(sec)

    if m is not None and not m.empty:
        sec = Section("payback", "Month by month: cumulative incremental profit")
        sec.paragraphs.append("The running total of each strategy's profit minus the no-programme profit. Where a line "
                              "crosses zero for good, that strategy has paid back.")
        items = []
        for name in names:
            diff = F.paired_difference(m, name, "profit")
            if diff.empty:
                continue
            items.append((name, *F.t_band(np.cumsum(diff.to_numpy(), axis=0))))
        if items:
            sec.charts.append(chart(F.multi_band_chart(
                months, items, title="Cumulative incremental profit by strategy",
                subtitle=f"Added up month by month, {cur}; shaded: {LEVEL} intervals", cur=cur), wide=True))
        sections.append(sec)

    sec = Section("changes", "What each strategy changes")
    series = {}
    for metric, label in (("revenue", "revenue"), ("orders", "orders"), ("average_check", "average check"),
                          ("purchase_frequency", "purchases per customer")):
        vals = []
        for name in names:
            rel = get(doc, "strategies", name, "lift", metric, "relative") or {}
            vals.append((rel.get("mean"), rel.get("ci_low"), rel.get("ci_high")))
        series[label] = vals
    sec.charts.append(chart(F.grouped_interval_bars(names, series, title="Lift against no programme",
                                                     subtitle=f"Relative change over the horizon, with {LEVEL} intervals",
                                                     kind="share", what="change against no programme"), wide=True))
    sections.append(sec)

    lines = {}
    for name in names:
        for k, v in (get(doc, "strategies", name, "economics", "programme_lines") or {}).items():
            lines.setdefault(k, {})[name] = v
    if lines:
        sec = Section("money", "Where the money goes")
        sec.paragraphs.append("Each strategy's programme cost, by ledger line (mean over replications).")
        order = sorted(lines, key=lambda k: -sum(abs(v) for v in lines[k].values()))
        sec.charts.append(chart(F.stacked_bars(names, {line_label(doc, k): [lines[k].get(n, 0.0) for n in names]
                                                       for k in order},
                                                title="Programme cost by strategy and ledger line",
                                                subtitle=f"Over the horizon, {cur}", cur=cur), wide=True))
        income_rows = []
        for name in names:
            for k, v in (get(doc, "strategies", name, "economics", "programme_income_lines") or {}).items():
                if v:
                    income_rows.append([name, line_label(doc, k), money(v, cur)])
        if income_rows:
            sec.tables.append(Table(["Strategy", "Programme income", "Amount"], income_rows, numeric=(2,)))
        sections.append(sec)

    sections.append(assumptions_section([], per_strategy=inp.assumptions))
    sources, embedded = [], []
    for i, (name, file, text) in enumerate(inp.sources):
        fname = f"strategy_{i + 1}.yaml"
        sources.append(Source(f"{name} ({file})", fname, text))
        embedded.append({"strategy": name, "file": file, "scenario": yaml.safe_load(text)})
    first_doc = (get(doc, "strategies", names[0]) or {}) if names else {}
    asked = first_doc.get("replications_asked")
    facts = [plural(len(names), "strategy", "strategies") + " and no programme",
             f"{horizon(doc.get('horizon_days'))} from {month_name(months[0])}" if months
             else horizon(doc.get("horizon_days")),
             plural(n, "replication") + f", seed {doc.get('seed')}", f"amounts in {cur}"]
    if first_doc.get("scaling"):
        facts.append(f"totals {first_doc['scaling']['note']}")
    warnings = []
    if doc.get("interrupted"):
        warnings.append(f"Interrupted: this report covers the {plural(n, 'replication')} that finished.")
    return Page(kind="compare", title="Strategies compared", subtitle=", ".join(names), facts=facts,
                verdict=Verdict.of(doc.get("verdict"), compare_tiles(doc, months), how_sure(n)), sections=sections,
                sources=sources, command="loyalsim compare " + " ".join(s.file_name for s in sources),
                version=inp.version, seed=doc.get("seed"), replications=asked if asked is not None else n,
                embedded_id="loyalsim-scenarios",
                embedded=embedded, warnings=warnings)


def render_compare(source) -> str:
    """The compare report as HTML text; ``source``: a ``sim.Comparison`` or ``CompareInputs``."""
    inp = source if isinstance(source, CompareInputs) else compare_inputs(source)
    return render_page(compare_page(inp))


