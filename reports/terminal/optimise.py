"""An optimisation on the terminal: the design, its profit on fresh replications, how sure, the runner-up."""
from __future__ import annotations

from reports.terminal.common import bound_marks, short, verdict_lines
from reports.terminal.common import signed as signed_money
from sim.format import money, pct



SIGNED_MEASURES = ("incremental_profit", "npv", "roi", "retention_lift")   # changes; the rest are levels


def _chance(p):
    if p is None:
        return "n/a"
    return "over 99%" if p > 0.995 else "under 1%" if p < 0.005 else f"{100 * p:.0f}%"


def _kindshort(kind, x, cur="", signed=True):
    if x is None:
        return "n/a"
    if kind == "ratio":
        return ("+" if signed and x >= 0 else "") + f"{100 * x:.0f}%"
    if kind == "points":
        return f"{100 * x:+.1f} pt" if signed else f"{100 * x:.1f} pt"
    return signed_money(x, cur) if signed else money(x, cur)


def _interval_text(kind, est, cur):
    if not est or est.get("ci_low") is None:
        return ""
    return f" (95% interval {_kindshort(kind, est['ci_low'])} to {_kindshort(kind, est['ci_high'], cur)})"


def _bounds_text(b):
    if b.get("values") is not None:
        return "{" + ", ".join(short(v) for v in b["values"]) + "}"
    return f"{short(b['low'])}..{short(b['high'])}"


def render(doc) -> str:
    """The answer of loyalsim optimise, for a marketing lead: the design, its profit, how sure, the runner-up."""
    cur = doc["currency"]
    kind = doc.get("objective_kind", "money")
    obj = doc["objective"].replace("_", " ")
    t = doc["trials"]
    reps = len(doc.get("search_replications") or [])
    marks = bound_marks(doc, "best programme design" if (doc.get("chosen") or {}).get("no_programme") else "chosen")
    out = [f"Best design for {doc['scenario']}: {t['told']} designs tried ({doc['sampler']} search, seed {doc['seed']}), "
           f"each on {reps} replication{'s' if reps != 1 else ''} against no programme, on the same customers and "
           "chance events",
           "  varied: " + ", ".join(f"{b['field']} {_bounds_text(b)}{marks.get(b['field'], '')}" for b in doc["bounds"])]
    if doc.get("constraints"):
        out.append(f"  constraints: {', '.join(doc['constraints'])} ({t['infeasible']} design"
                   f"{'s' if t['infeasible'] != 1 else ''} tried broke them; a design that does is never chosen)")
    if t.get("failed"):
        out.append(f"  {t['failed']} design{'s' if t['failed'] != 1 else ''} could not run (settings that do not "
                   "make a valid scenario; see the trials table)")
    out.append("")
    out += verdict_lines(doc)
    out.append("")
    if t["feasible"] == 0:
        out.append("No design tried meets the constraints: relax them or widen the bounds.")
        return "\n".join(out)
    if len(doc.get("objectives", [])) > 1:
        return "\n".join(out + _render_front(doc, cur))
    ch = doc.get("chosen")
    sel = doc.get("selection") or {}
    if not ch:
        return "\n".join(out)
    est = ch.get("estimate") or {}
    delta = sel.get("indifference")
    delta_text = _kindshort(kind, delta, cur, signed=False)
    n_fin = sel.get("designs", 1) - 1
    if ch["no_programme"]:
        bp = doc.get("best_programme") or {}
        be = bp.get("estimate") or {}
        out.append("Choice: no programme. None of the designs tried beats doing nothing on " + obj + ".")
        if bp:
            out.append(f"  The best programme design in the selection, {bp['label']}, makes "
                       f"{_kindshort(kind, be.get('mean'), cur)}{_interval_text(kind, be, cur)} on "
                       f"{be.get('n', 0)} fresh replications neither the search nor the selection used.")
    else:
        out.append(f"Choice: {ch['label']}")
        out.append(f"  {obj.capitalize()}: {_kindshort(kind, est.get('mean'), cur)}{_interval_text(kind, est, cur)}, "
                   f"on {est.get('n', 0)} " + ("fresh replications the search and the selection never saw."
                                               if "after" in (est.get("source") or "") else
                                               "replications the search never saw."))
        if ch.get("search_observed") is not None and est.get("mean") is not None:
            gap = (ch["search_observed"] - est["mean"]) * (1 if doc["directions"][0] == "maximize" else -1)
            seen = _kindshort(kind, ch["search_observed"], cur)
            if gap > 0:
                out.append(f"  The search saw {seen} for it, {_kindshort(kind, abs(gap), cur, signed=False)} better: "
                           "the best of many noisy trials is also the luckiest (the winner's curse), so the figure "
                           "above comes from fresh replications instead.")
            else:
                out.append(f"  The search saw {seen} for it; the figure above comes from fresh replications, not from "
                           "the search (whose best observations are flattered by having been picked).")
        cons = ch.get("constraints_on_fresh_replications")
        if cons:
            broken = [c for c, ok in cons.items() if not ok]
            out.append("  Constraints on the fresh replications: " +
                       ("all hold." if not broken else f"{', '.join(broken)} do not hold there: treat with care."))
    sb = doc.get("search_best_fresh")
    if sb and (ch["no_programme"] or sb["label"] != ch["label"]):
        out.append(f"  The search's best observation, {sb['label']} at {_kindshort(kind, sb['observed'], cur)}, made "
                   f"{_kindshort(kind, sb['fresh'], cur)} on the selection's {sb['fresh_replications']} fresh "
                   "replications.")
    prob = sel.get("probability_within_indifference") or {}
    pcs = sel.get("probability_correct_selection") or {}
    who = "it" if not ch["no_programme"] else "doing nothing"
    if sel.get("guarantee"):
        out.append(f"  How sure: KN selection among the {n_fin} best design{'s' if n_fin != 1 else ''} and no programme, "
                   f"on {sel['replications_used']} fresh replications (up to {sel['stages']} each), picks the best "
                   f"with probability at least {pct(pcs.get('guaranteed_at_least'))} whenever it leads the others by "
                   f"{delta_text} or more (the procedure's guarantee; the indifference zone is "
                   f"{sel.get('indifference_basis')}; closer designs count as equally good).")
    else:
        out.append(f"  How sure: not guaranteed. The selection stopped at its cap of {sel.get('max_replications')} "
                   f"replications with {', '.join(sel.get('survivors') or [])} still within {delta_text} of each other; "
                   f"{who} had the best mean. Raise --max-replications or the --indifference zone.")
    if prob.get("empirical_lower_bound") is not None:
        out.append(f"  On the replications run, the probability that {who} is within {delta_text} of every other "
                   f"design is {'' if prob['empirical_lower_bound'] > 0.995 else 'at least '}"
                   f"{_chance(prob['empirical_lower_bound'])} (paired comparisons).")
    ru = doc.get("runner_up")
    if ru:
        re_ = ru.get("estimate") or {}
        diff = ru.get("chosen_minus_runner_up") or {}
        line = f"  Runner-up: {ru['label']}"
        if not ru["no_programme"]:
            line += f", {_kindshort(kind, re_.get('mean'), cur)}{_interval_text(kind, re_, cur)}"
        if diff.get("mean") is not None:
            line += (f"; the choice gives {_kindshort(kind, diff['mean'], cur)} more"
                     + (f" (95% interval {_kindshort(kind, diff['ci_low'])} to {_kindshort(kind, diff['ci_high'], cur)})"
                        if diff.get("ci_low") is not None else ""))
        out.append(line + ".")
    rob = doc.get("robust")
    if rob:
        out += [""] + _render_robust(rob, kind, cur)
    return "\n".join(out)


def _render_robust(rob, kind, cur) -> list:
    n_par = len(rob["parameters"])
    out = [f"Robust to what we don't know: {rob['n_draws']} draws of {n_par} uncertain assumption"
           f"{'s' if n_par != 1 else ''} (their plausible ranges), each finalist's settings on top of each draw:",
           f"  {'design':50} {'expected':>14} {'worst 10%':>14} {'P(best)':>8}"]
    for r in sorted(rob["rows"], key=lambda r: r["rank_expected"]):
        out.append(f"  {r['label'][:50]:50} {_kindshort(kind, r['expected'], cur):>14} "
                   f"{_kindshort(kind, r['cvar10'], cur):>14} {pct(r['probability_best']):>8}")
    flags: dict = {}
    for f in rob.get("flags") or []:
        flags.setdefault(f["label"], []).append(f["text"])
    for label, texts in flags.items():
        out.append(f"  ! {label}: {'; and '.join(texts)}.")
    if not rob.get("flags"):
        out.append(f"  {rob['best_in_expectation']} is best both in expectation and in the worst 10% of draws.")
    return out


def _render_front(doc, cur) -> list:
    objs = doc["objectives"]
    kinds = doc.get("objective_kinds") or ["money"] * len(objs)
    front = doc.get("pareto_front") or []
    better = {"maximize": "higher is better", "minimize": "lower is better"}
    out = [f"Trade-off between {objs[0].replace('_', ' ')} ({better[doc['directions'][0]]}) and "
           f"{objs[1].replace('_', ' ')} ({better[doc['directions'][1]]}): {len(front)} design"
           f"{'s' if len(front) != 1 else ''} on the front (no other design tried is better on both):",
           f"  {'design':50} {objs[0]:>20} {objs[1]:>20}"]
    for r in front[:15]:
        out.append(f"  {r['label'][:50]:50} {_kindshort(kinds[0], r[objs[0]], cur, objs[0] in SIGNED_MEASURES):>20} "
                   f"{_kindshort(kinds[1], r[objs[1]], cur, objs[1] in SIGNED_MEASURES):>20}")
    conf = doc.get("pareto_front_confirmed")
    if conf is not None:
        out.append(f"On {len(doc.get('confirm_replications') or [])} fresh replications, {len(conf)} of them stay on "
                   "the front (the figures above are the search's, flattered by selection).")
    return out
