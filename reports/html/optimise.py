"""The optimisation report: the search, the selection with its guarantee, and robustness."""
from __future__ import annotations

from reports import figures as F
from reports.html.common import LEVEL, bound_lines, chart, plural, value_text
from reports.html.inputs import StudyInputs
from reports.html.page import Cell, Page, Section, Source, Table, Tile, Verdict, render_page
from sim import format as fmt
from sim.format import count, probability

_OPT_KIND = {"money": "money", "ratio": "share", "points": "pts"}


def _opt_value(kind, x, cur="", signed=True) -> str:
    return fmt.value(_OPT_KIND.get(kind, "money"), x, cur, signed)


def _opt_interval(kind, est: dict, cur) -> str:
    if not est or est.get("ci_low") is None:
        return ""
    return f" ({LEVEL} interval {_opt_value(kind, est['ci_low'])} to {_opt_value(kind, est['ci_high'], cur)})"


def optimise_sections(inp: StudyInputs) -> list:
    """Sections for an optimisation: the search (each design's observed value by trial and against each varied
    field, or the Pareto front for two objectives), the selection (the finalists on fresh replications, the
    choice, how sure, the runner-up) and, when asked for, robustness to the uncertain assumptions. ``inp.doc`` is
    the optimisation's summary; ``inp.table`` its trials (one row per trial: state, one column per varied field,
    the mean of each measure, feasible)."""
    doc = inp.doc
    df = inp.table
    cur = doc.get("currency", "")
    obj = doc["objective"]
    kind = doc.get("objective_kind", "money")
    fk = _OPT_KIND.get(kind, "money")
    what = obj.replace("_", " ")
    varied = list(doc.get("varied") or [])
    t = doc["trials"]
    reps = len(doc.get("search_replications") or [])
    secs = []
    sec = Section("search", "The search: designs tried within the bounds")
    bounds = "; ".join(f"{b['field']} " + (", ".join(value_text(v) for v in b["values"]) if b.get("values") is not None
                                           else f"{value_text(b['low'])} to {value_text(b['high'])}")
                       for b in doc.get("bounds") or [])
    sec.paragraphs.append(
        f"{plural(t['told'], 'design')} tried by {doc.get('sampler', 'the optimiser')} (seed {doc.get('seed')}), each "
        f"on {plural(reps, 'replication')} against no programme on the same customers and chance events, so "
        f"differences between designs are the settings' effect. Bounds: {bounds}."
        + (f" Constraints: {', '.join(doc['constraints'])}; {plural(t['infeasible'], 'design')} broke them and "
           "can never be chosen." if doc.get("constraints") else ""))
    done = df[df["state"] == "complete"] if not df.empty else df
    ch = doc.get("chosen") or {}
    chosen_trial = None
    for f in doc.get("finalists") or []:
        if ch and f["label"] == ch.get("label"):
            chosen_trial = f.get("trial")
    if len(doc.get("objectives") or []) > 1 and not done.empty:
        o1, o2 = doc["objectives"]
        kinds = [_OPT_KIND.get(k, "money") for k in doc.get("objective_kinds") or ["money", "money"]]
        feas = done[done["feasible"]]
        front = set(r["trial"] for r in doc.get("pareto_front") or [])
        sec.charts.append(chart(F.pareto_chart(
            feas[o1].tolist(), feas[o2].tolist(), [tr in front for tr in feas["trial"]],
            title=f"The trade-off: {o1.replace('_', ' ')} against {o2.replace('_', ' ')}",
            subtitle="Each feasible design's mean over the search's replications; joined: the Pareto front",
            xtitle=o1.replace("_", " "), ytitle=o2.replace("_", " "), xkind=kinds[0], ykind=kinds[1], cur=cur,
            labels=[f"trial {tr}" for tr in feas["trial"]]), wide=True))
        rows = [[r["label"], _opt_value(doc["objective_kinds"][0], r[o1], cur), _opt_value(doc["objective_kinds"][1], r[o2], cur)]
                for r in doc.get("pareto_front") or []]
        sec.tables.append(Table(["Design", o1.replace("_", " "), o2.replace("_", " ")], rows, numeric=(1, 2),
                                caption="The Pareto front: no other design tried is better on both"))
        secs.append(sec)
        return secs
    if not done.empty and obj in done.columns:
        ys = done[obj].tolist()
        feas = done["feasible"].tolist()
        labels = [f"trial {tr}" for tr in done["trial"]]
        chosen_point = None
        if chosen_trial is not None and chosen_trial in set(done["trial"]):
            row = done[done["trial"] == chosen_trial].iloc[0]
            chosen_point = (int(row["trial"]), float(row[obj]))
        sec.charts.append(chart(F.trials_chart(
            done["trial"].tolist(), ys, feas, title=f"{what.capitalize()} of each design, in the order tried",
            subtitle=f"Mean over the search's {plural(reps, 'replication')} ({cur if fk == 'money' else what}); "
                     "line: the best observed so far", xtitle="trial", kind=fk, cur=cur, what=what,
            chosen=chosen_point, best_so_far=doc["directions"][0] == "maximize", labels=labels), wide=len(varied) != 1))
        for v in varied[:4]:
            if v not in done.columns:
                continue
            xs = done[v].tolist()
            cp = None
            if chosen_point is not None:
                cp = (done[done["trial"] == chosen_trial].iloc[0][v], chosen_point[1])
            sec.charts.append(chart(F.trials_chart(
                xs, ys, feas, title=f"{what.capitalize()} against {v.split('.')[-1]}",
                subtitle=f"{v}: each design's mean over the search's replications", xtitle=v, kind=fk, cur=cur,
                what=what, chosen=cp, labels=labels)))
    sec.notes += bound_lines(doc, "the best programme design" if ch.get("no_programme") else "the chosen design")
    sb = doc.get("search_best")
    if sb:
        sec.notes.append(f"The best observation of the search ({_opt_value(kind, sb['observed'], cur)}, trial "
                         f"{sb['trial']}) is the luckiest of {plural(t['told'], 'noisy trial')} as well as the best: "
                         "it is not the reported figure (the winner's curse). The designs below are re-run on fresh "
                         "replications.")
    secs.append(sec)
    sel = doc.get("selection")
    if sel:
        secs.append(_selection_section(doc, kind, cur))
    if doc.get("robust"):
        secs.append(_robust_section(doc["robust"], kind, cur))
    return secs


def _selection_section(doc, kind, cur) -> Section:
    sel, ch = doc["selection"], doc["chosen"]
    fk = _OPT_KIND.get(kind, "money")
    what = doc["objective"].replace("_", " ")
    est = ch.get("estimate") or {}
    delta = _opt_value(kind, sel.get("indifference"), cur, signed=False)
    prob = sel.get("probability_within_indifference") or {}
    pcs = sel.get("probability_correct_selection") or {}
    sec = Section("selection", "The selection: which design, and how sure")
    n_fin = sel["designs"] - 1
    if ch.get("no_programme"):
        bp = doc.get("best_programme") or {}
        text = (f"No programme is the choice: none of the {plural(n_fin, 'best design')} beats doing nothing on "
                f"{what}.")
        if bp:
            text += (f" The best of them, {bp['label']}, makes {_opt_value(kind, (bp.get('estimate') or {}).get('mean'), cur)}"
                     f"{_opt_interval(kind, bp.get('estimate') or {}, cur)} on fresh replications.")
    else:
        text = (f"The choice is {ch['label']}: {what} {_opt_value(kind, est.get('mean'), cur)}"
                f"{_opt_interval(kind, est, cur)}, re-estimated on {plural(est.get('n', 0), 'fresh replication')} "
                "that neither the search nor the selection used.")
    sec.paragraphs.append(text)
    if sel.get("guarantee"):
        sec.paragraphs.append(
            f"How sure: the {plural(n_fin, 'best design')} and no programme ran on the same fresh replications "
            f"(Kim and Nelson's KN procedure, {plural(sel['replications_used'], 'replication')} in all, more where the "
            f"decision was close). It picks the best with probability at least "
            f"{probability(pcs.get('guaranteed_at_least'))} whenever the best leads the others by {delta} or more "
            f"(the indifference zone, {sel.get('indifference_basis')}; closer designs count as equally good). "
            f"On the replications "
            f"run, the probability that the choice is within {delta} of every other is "
            f"{'' if (prob.get('empirical_lower_bound') or 0) > 0.995 else 'at least '}"
            f"{probability(prob.get('empirical_lower_bound'))}.")
    else:
        sec.paragraphs.append(
            f"How sure: not guaranteed. The selection stopped at its cap of {sel.get('max_replications')} replications "
            f"with {', '.join(sel.get('survivors') or [])} still within {delta} of each other; the choice had the best "
            "mean among them.")
    ru = doc.get("runner_up")
    if ru:
        diff = ru.get("chosen_minus_runner_up") or {}
        sec.paragraphs.append(
            f"Runner-up: {ru['label']}" + ("" if ru.get("no_programme") else
                                           f", {_opt_value(kind, (ru.get('estimate') or {}).get('mean'), cur)}")
            + (f"; the choice gives {_opt_value(kind, diff['mean'], cur)} more"
               + (f" ({LEVEL} interval {_opt_value(kind, diff['ci_low'])} to {_opt_value(kind, diff['ci_high'], cur)})"
                  if diff.get("ci_low") is not None else "") if diff.get("mean") is not None else "") + ".")
    fin = doc.get("finalists") or []
    if fin:
        sec.charts.append(chart(F.interval_bars(
            [f["label"] for f in fin], [f["selection_mean"] for f in fin], [f["ci_low"] for f in fin],
            [f["ci_high"] for f in fin], title=f"The finalists on fresh replications: {what}",
            subtitle=f"Mean over each design's selection replications with its {LEVEL} interval; the search's own "
                     "figures are in the table", kind=fk, cur=cur, what=what), wide=True))
        rows = []
        for f in fin:
            chosen = f["label"] == ch.get("label")
            rows.append([Cell(f["label"], cls="strong" if chosen else ""),
                         _opt_value(kind, f["search_observed"], cur),
                         _opt_value(kind, f["selection_mean"], cur),
                         "no interval" if f["ci_low"] is None else
                         f"{_opt_value(kind, f['ci_low'])} to {_opt_value(kind, f['ci_high'], cur)}",
                         count(f["replications"]),
                         "chosen" if chosen else ("still in" if f["eliminated_after"] is None
                                                  else f"out after {f['eliminated_after']}")])
        sec.tables.append(Table(["Design", "In the search", "On fresh replications", f"{LEVEL} interval",
                                 "Replications", "Outcome"], rows, numeric=(1, 2, 3, 4),
                                caption="The search's figure is flattered by the search (the winner's curse); the "
                                        "fresh one is not"))
    return sec


def _robust_section(rob, kind, cur) -> Section:
    sec = Section("robust", "Robust to what we do not know")
    sec.paragraphs.append(
        f"The finalists across {plural(rob['n_draws'], 'draw')} of {plural(len(rob['parameters']), 'uncertain assumption')} "
        "(their plausible ranges from the evidence), each design's settings on top of each draw, ranked by the "
        "expected value and by the mean of the worst 10% of draws (CVaR): a design that wins only when the "
        "assumptions are kind is flagged.")
    rows = []
    for r in sorted(rob["rows"], key=lambda r: r["rank_expected"]):
        rows.append([r["label"], _opt_value(kind, r["expected"], cur), _opt_value(kind, r["cvar10"], cur),
                     probability(r["probability_best"]), str(r["rank_cvar10"])])
    sec.tables.append(Table(["Design", "Expected", "Worst 10% (CVaR)", "Probability best", "Rank by CVaR"], rows,
                            numeric=(1, 2, 3, 4), caption="Over the draws of the uncertain assumptions"))
    flags: dict = {}
    for f in rob.get("flags") or []:
        flags.setdefault(f["label"], []).append(f["text"])
    for label, texts in flags.items():
        sec.notes.append(f"{label}: {'; and '.join(texts)}.")
    if not rob.get("flags"):
        sec.notes.append(f"{rob['best_in_expectation']} is best both in expectation and in the worst 10% of draws.")
    return sec


def optimise_tiles(doc: dict) -> list:
    cur = doc.get("currency", "")
    kind = doc.get("objective_kind", "money")
    what = doc["objective"].replace("_", " ")
    if len(doc.get("objectives") or []) > 1:
        return [Tile("Designs on the front", count(len(doc.get("pareto_front") or [])), "")]
    ch = doc.get("chosen")
    if not ch:
        return []
    sel = doc.get("selection") or {}
    pcs = sel.get("probability_correct_selection") or {}
    sure = f"at least {probability(pcs.get('guaranteed_at_least'))}" if sel.get("guarantee") else "not guaranteed"
    delta = _opt_value(kind, sel.get("indifference"), cur, signed=False)
    if ch.get("no_programme"):
        bp = (doc.get("best_programme") or {}).get("estimate") or {}
        return [Tile("Best design's " + what, _opt_value(kind, bp.get("mean"), cur), "on fresh replications"),
                Tile("Chance the selection picks the best", sure, f"KN, when the best leads by {delta} or more")]
    est = ch.get("estimate") or {}
    return [Tile(what.capitalize(), _opt_value(kind, est.get("mean"), cur), "on fresh replications"),
            Tile("Chance the selection picks the best", sure, f"KN, when the best leads by {delta} or more"),
            Tile("Runner-up", (doc.get("runner_up") or {}).get("label", "none"), "")]


def optimise_page(inp: StudyInputs) -> Page:
    import yaml
    doc = inp.doc
    cur = doc.get("currency", "")
    sources = [Source(label, "scenario.yaml", text) for label, text in inp.sources]
    return Page(kind="optimise", title=f"Optimisation: {doc.get('scenario')}",
                subtitle=", ".join(doc.get("varied") or []),
                facts=[plural(int((doc.get("trials") or {}).get("told") or 0), "design") + " tried",
                       f"amounts in {cur}"],
                verdict=Verdict.of(doc.get("verdict"), optimise_tiles(doc), ""),
                sections=optimise_sections(inp), sources=sources, command="loyalsim optimise scenario.yaml",
                version=inp.version, seed=doc.get("seed"), replications=len(doc.get("search_replications") or []),
                embedded_id="loyalsim-scenario", embedded=yaml.safe_load(sources[0].yaml) if sources else None)


def render_optimise(inp: StudyInputs) -> str:
    """A page for an optimisation (the optimise command's --html, and loyalsim report DIR)."""
    return render_page(optimise_page(inp))
