"""The uncertainty report: how likely each choice pays, given what we do not know, and what is worth learning.

It reads an uncertainty analysis' summary (sim.studies.psa.PSAResult.summary) and its
table of draws (one row per draw x strategy). With several strategies the page names
every one of them: the probability each is the best choice, the decision the terminal
gives (the summary's verdict) and each strategy's own spread and one-at-a-time swings.
"""
from __future__ import annotations

import numpy as np

from reports import figures as F
from reports.html.common import GRADES, chart, plural, value_text
from reports.html.inputs import StudyInputs
from reports.html.page import Cell, Page, Section, Source, Table, Tile, Verdict, render_page
from sim.format import money, probability

NO_PROGRAMME = "no programme"


def _draws(inp: StudyInputs, name: str) -> np.ndarray:
    t = inp.table
    if t is None or t.empty:
        return np.zeros(0)
    d = t[t["strategy"] == name].sort_values("draw")["incremental_profit"].to_numpy(dtype=float)
    return d[np.isfinite(d)]


def psa_tiles(doc: dict) -> list:
    cur = doc.get("currency", "")
    dec = doc.get("decision") or {}
    best = dec.get("best_on_expectation")
    strategies = doc.get("strategies") or {}
    tiles = []
    if len(strategies) > 1:
        tiles.append(Tile("Recommended", best or "n/a", "best on expectation"))
        tiles.append(Tile("Probability it is best", probability((dec.get("probability_best") or {}).get(best)),
                          f"over {plural(int(doc.get('draws') or 0), 'draw')} of the assumptions"))
    else:
        name = next(iter(strategies), None)
        s = strategies.get(name) or {}
        tiles.append(Tile("Probability it pays", probability(s.get("probability_pays")),
                          f"over {plural(int(doc.get('draws') or 0), 'draw')} of the assumptions"))
        tiles.append(Tile("Expected incremental profit", money((s.get("incremental_profit") or {}).get("mean"), cur, True),
                          "mean over the draws"))
    if doc.get("evpi") is not None:
        tiles.append(Tile("Value of perfect information", money(doc["evpi"], cur), "EVPI: what resolving every "
                                                                                    "uncertainty would be worth"))
    return tiles


def decision_section(doc: dict) -> Section:
    """Every option, no programme included: what it expects, how it spreads, how often it is best."""
    cur = doc.get("currency", "")
    dec = doc.get("decision") or {}
    strategies = doc.get("strategies") or {}
    sec = Section("decision", "The choices" if len(strategies) > 1 else "The choice")
    sec.paragraphs.append(
        f"Each of {plural(int(doc.get('draws') or 0), 'draw')} sets every uncertain assumption from its plausible range "
        "and runs every strategy against no programme on the same customers, so the options are compared world by "
        "world. The probability an option is best is the share of worlds in which it makes the most; its expected "
        "loss is what choosing it gives up, on average, against the best choice in each world.")
    rows = [[Cell(NO_PROGRAMME, "the baseline: zero incremental profit in every world"), money(0.0, cur), "0 to 0",
             "", probability((dec.get("probability_best") or {}).get(NO_PROGRAMME)),
             money((dec.get("expected_loss") or {}).get(NO_PROGRAMME), cur)]]
    for name, s in strategies.items():
        ip = s.get("incremental_profit") or {}
        rows.append([Cell(name, "recommended" if name == dec.get("best_on_expectation") else "",
                          "strong" if name == dec.get("best_on_expectation") else ""),
                     money(ip.get("mean"), cur, True), f"{money(ip.get('p5'), signed=True)} to {money(ip.get('p95'), cur, True)}",
                     probability(s.get("probability_pays")), probability(s.get("probability_best")),
                     money((dec.get("expected_loss") or {}).get(name), cur)])
    sec.tables.append(Table(["Option", "Expected incremental profit", "90% of worlds", "Probability it pays",
                             "Probability it is best", "Expected loss if chosen"], rows, numeric=(1, 2, 3, 4, 5)))
    names = [NO_PROGRAMME, *strategies]
    p_best = [(dec.get("probability_best") or {}).get(n) for n in names]
    sec.charts.append(chart(F.interval_bars(
        names, p_best, [None] * len(names), [None] * len(names), title="Probability each choice is best",
        subtitle="Share of the plausible worlds in which it makes the most", kind="share", what="probability best",
        colours=[F.BASELINE] + [F.COLOURS[i % len(F.COLOURS)] for i in range(len(strategies))]), wide=True))
    return sec


def strategy_section(inp: StudyInputs, name: str, k: int) -> Section:
    doc = inp.doc
    cur = doc.get("currency", "")
    s = doc["strategies"][name]
    several = len(doc["strategies"]) > 1
    draws = _draws(inp, name)
    sec = Section(f"strategy-{k + 1}", f"{name}: how sure" if several else "How sure, given what we do not know")
    ip = s.get("incremental_profit") or {}
    text = (f"Incremental profit over the plausible worlds: mean {money(ip.get('mean'), cur, True)}, median "
            f"{money(ip.get('p50'), cur, True)}, 90% of worlds between {money(ip.get('p5'), signed=True)} and "
            f"{money(ip.get('p95'), cur, True)}. Probability it pays: {probability(s.get('probability_pays'))}. "
            f"Expected loss if launched: {money(s.get('expected_loss_if_launched'), cur)}; if not launched: "
            f"{money(s.get('expected_loss_if_not_launched'), cur)}.")
    if s.get("noise_share_of_variance") is not None:
        text += (f" Simulation noise is {probability(s['noise_share_of_variance'])} of the spread; the rest is the "
                 "assumptions.")
    sec.paragraphs.append(text)
    if draws.size:
        p5, p95 = np.percentile(draws, [5, 95])
        sec.charts.append(chart(F.histogram(
            draws, title="Incremental profit over the assumptions' plausible ranges",
            subtitle=f"One bar per range of incremental profit, {cur}; dashed: zero, mean, 5th and 95th percentiles",
            cur=cur, marks=[(0.0, "zero", F.BAD), (float(draws.mean()), "mean", F.PROGRAMME),
                            (float(p5), "5th pct", F.MUTED), (float(p95), "95th pct", F.MUTED)])))
    acc = s.get("probability_paid_back_by_month") or []
    if acc:
        months = doc.get("months") or list(range(1, len(acc) + 1))
        sec.charts.append(chart(F.probability_curve(
            [str(v) for v in months], acc, title="Probability of having paid back, by month",
            subtitle="Share of worlds in which the running total of incremental profit is above zero by that month "
                     "and stays above it to the end", what="probability of having paid back",
            dates=bool(doc.get("months")))))
    rows = [r for r in doc.get("tornado") or [] if r.get("strategy_name", name) == name]
    if rows:
        trows = [{"parameter": r["field"], "label": r["field"], "low": r["low_value"], "high": r["high_value"],
                  "at_low": r["low_incremental_profit"], "at_high": r["high_incremental_profit"]}
                 for r in sorted(rows, key=lambda r: -r.get("swing", 0))]
        sec.charts.append(chart(F.tornado(
            trows, float(s.get("plain_run_incremental_profit") or 0.0),
            title="One at a time: incremental profit over each assumption's range",
            subtitle=f"Bars from the central estimate to each end of the range, {cur}; widest first", cur=cur),
            wide=True))
    return sec


def information_section(doc: dict) -> Section | None:
    """What is worth learning before deciding: EVPI, and EVPPI per group (never above EVPI; flagged when unreliable)."""
    cur = doc.get("currency", "")
    evppi = doc.get("evppi") or {}
    if doc.get("evpi") is None:
        return None
    sec = Section("information", "What is worth learning before deciding")
    evpi = doc["evpi"]
    sec.paragraphs.append(
        f"Knowing everything we do not would be worth {money(evpi, cur)} to this decision (EVPI, an upper bound). "
        "Each group's EVPPI is what learning that group alone would be worth, estimated by regression on the draws "
        "(Strong, Oakley & Brennan 2014); it can never exceed EVPI."
        + (" The same choice wins in every draw: nothing we could learn would change it." if evpi == 0 else ""))
    if evppi:
        rows = []
        for g, v in evppi.items():
            rows.append([Cell(g, ", ".join(v.get("parameters") or [])), money(v.get("evppi"), cur),
                         Cell("yes" if v.get("reliable", True) else "no", v.get("note") or "",
                              "" if v.get("reliable", True) else "bad")])
        sec.tables.append(Table(["Group of assumptions", "EVPPI", "Reliable at these draws"], rows, numeric=(1,)))
        groups = list(evppi)
        sec.charts.append(chart(F.interval_bars(
            groups, [evppi[g].get("evppi") for g in groups], [None] * len(groups), [None] * len(groups),
            title="Which assumption decides it: value of knowing it (EVPPI)",
            subtitle=f"Expected gain from knowing each group before deciding, {cur}; all (EVPI): {money(evpi)}",
            kind="money", cur=cur, what="EVPPI", colours=[F.PROGRAMME] * len(groups),
            extra_hover=["<br>" + ", ".join(evppi[g].get("parameters") or []) for g in groups])))
    return sec


def parameters_section(doc: dict) -> Section | None:
    params = doc.get("parameters") or []
    if not params:
        return None
    sec = Section("parameters", "The uncertain assumptions drawn")
    rows = []
    for p in params:
        lo, hi = p.get("low"), p.get("high")
        rng = f"{value_text(lo)} to {value_text(hi)}" if lo is not None and hi is not None else p.get("dist", "")
        rows.append([p["field"], p.get("dist", ""), rng, GRADES.get(p.get("grade") or "", "not graded"),
                     p.get("source") or "not stated"])
    sec.tables.append(Table(["Parameter", "Distribution", "Range", "How well its size is known", "Source"], rows))
    return sec


def psa_page(inp: StudyInputs) -> Page:
    doc = inp.doc
    cur = doc.get("currency", "")
    strategies = list(doc.get("strategies") or {})
    several = len(strategies) > 1
    sections = ([decision_section(doc)] if several else []) + \
        [strategy_section(inp, name, k) for k, name in enumerate(strategies)] + \
        [information_section(doc), parameters_section(doc)]
    sources = [Source(label, f"strategy_{i + 1}.yaml" if several else "scenario.yaml", text)
               for i, (label, text) in enumerate(inp.sources)]
    sure = (f"How sure: every figure here is over {plural(int(doc.get('draws') or 0), 'draw')} of the uncertain "
            "assumptions, each run against no programme on the same customers: they include the assumptions and "
            "simulation noise.")
    import yaml
    embedded = [yaml.safe_load(s.yaml) for s in sources] if several else (
        yaml.safe_load(sources[0].yaml) if sources else None)
    return Page(kind="psa", title=("Uncertainty analysis: " + (f"{len(strategies)} strategies" if several
                                                                else (strategies[0] if strategies else ""))),
                subtitle=", ".join(strategies) if several else "",
                facts=[plural(int(doc.get("draws") or 0), "draw") + " of the assumptions",
                       plural(int(doc.get("replications") or 0), "replication seed"), f"amounts in {cur}"],
                verdict=Verdict.of(doc.get("verdict"), psa_tiles(doc), sure),
                sections=[s for s in sections if s is not None], sources=sources,
                command="loyalsim psa " + " ".join(s.file_name for s in sources), version=inp.version,
                seed=doc.get("seed"), replications=doc.get("replications"),
                embedded_id="loyalsim-scenarios" if several else "loyalsim-scenario", embedded=embedded,
                warnings=["Interrupted: this report covers the draws that finished."] if doc.get("interrupted") else [])


def render_psa(inp: StudyInputs) -> str:
    """A page for an uncertainty analysis (the psa command's --html, and loyalsim report DIR)."""
    return render_page(psa_page(inp))
