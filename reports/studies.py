"""Studies on the terminal: sweeps, the uncertainty analysis (PSA) and pilots, for a marketing lead."""
from __future__ import annotations

from reports.table import money, pct


def _signed(x, cur=""):
    if x is None:
        return "n/a"
    return ("+" if x >= 0 else "") + money(x, cur)


def _value(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_sweep(doc) -> str:
    cur = doc["currency"]
    out = [f"Sweep of {doc['scenario']}: {doc['points']} points ({doc['design']}), {doc['replications']} replication"
           f"{'s' if doc['replications'] != 1 else ''} each, every point against no programme on the same customers",
           f"  varied: {', '.join(doc['varied'])}", ""]
    share = doc.get("pays_at_share_of_points")
    if share is not None:
        out.append(f"The programme pays at {pct(share)} of the points swept.")
    out.append("Best points by incremental profit (95% interval over replications):")
    for r in doc["best"]:
        ip = r["incremental_profit"]
        ci = "" if ip["ci_low"] is None else f"  [{money(ip['ci_low'])} .. {money(ip['ci_high'])}]"
        where = ", ".join(f"{f.split('.')[-1] if len(doc['varied']) > 1 else f} = {_value(r[f])}" for f in doc["varied"])
        out.append(f"  {where:50} {money(ip['mean'], cur):>14}{ci}  ROI {pct(r['roi'])}, revenue {pct(r['revenue_lift'], 1)}")
    w = doc.get("worst")
    if w:
        out.append(f"Worst point: {', '.join(f'{f} = {_value(w[f])}' for f in doc['varied'])}: "
                   f"{money(w['incremental_profit']['mean'], cur)}")
    out.append("")
    out.append("Shape of the response (incremental profit):")
    for f, s in doc["shape"].items():
        line = f"  {f}: "
        if "by_value" in s and len(s["by_value"]) <= 12:
            line += ", ".join(f"{k} -> {money(v)}" for k, v in s["by_value"].items())
        if s.get("rank_correlation") is not None:
            line += ("; " if "by_value" in s and len(s["by_value"]) <= 12 else "") + \
                    f"rank correlation {s['rank_correlation']:+.2f}"
        out.append(line)
    idx = doc.get("indices")
    if idx:
        out.append("")
        first = next(iter(idx.values()))
        if "first_order" in first:
            out.append("Sobol indices of incremental profit (share of its variance; 95% bootstrap interval):")
            for f, v in idx.items():
                out.append(f"  {f:55} first order {v['first_order']:+.2f} (+/-{v['first_order_ci']:.2f})   "
                           f"total {v['total_order']:+.2f} (+/-{v['total_order_ci']:.2f})")
        else:
            out.append("Morris screening of incremental profit (mean absolute elementary effect, currency):")
            for f, v in sorted(idx.items(), key=lambda kv: -kv[1]["mu_star"]):
                out.append(f"  {f:55} mu* {money(v['mu_star'], cur)} (+/-{money(v['mu_star_ci'])}), sigma {money(v['sigma'])}")
    if doc.get("noise_share_of_differences") is not None:
        out.append(f"Simulation noise is {pct(doc['noise_share_of_differences'])} of the differences between points "
                   "(on common random numbers; the level of every point shares the replications' noise).")
    return "\n".join(out)


def render_psa(doc) -> str:
    cur = doc["currency"]
    out = []
    n_params = len(doc["parameters"])
    for name, s in doc["strategies"].items():
        ip = s["incremental_profit"]
        p = s["probability_pays"]
        out += [f"{name}: how likely it pays, given what we don't know",
                f"  {doc['draws']} draws of {n_params} uncertain assumptions (their plausible ranges from the evidence), "
                f"each run against no programme on the same customers, over {doc['replications']} replication seeds.",
                f"  Incremental profit over the horizon: expected {_signed(ip['mean'], cur)}; 90% of outcomes between "
                f"{_signed(ip['p5'])} and {_signed(ip['p95'], cur)} (median {_signed(ip['p50'])}).",
                f"  Probability it pays: {pct(p)}."]
        out.append(f"  If you launch, the expected shortfall (when it does not pay) is "
                   f"{money(s['expected_loss_if_launched'], cur)}; if you don't, the expected gain forgone (when it "
                   f"would have paid) is {money(s['expected_loss_if_not_launched'], cur)}.")
        acc = s["probability_paid_back_by_month"]
        marks = [m for m in (6, 12, 18, 24, 36, 48, 60) if m <= len(acc)] or [len(acc)]
        out.append("  Probability of having paid back by month " +
                   ", ".join(f"{m}: {pct(acc[m - 1])}" for m in marks) + ".")
        if s.get("noise_share_of_variance") is not None:
            out.append(f"  Simulation noise is {pct(s['noise_share_of_variance'])} of that spread; the rest is the "
                       "assumptions. (A plain run's interval shows only the noise.)")
        out.append("")
    dec = doc["decision"]
    if len(dec["options"]) > 2:
        out.append("Probability each choice is best: " + ", ".join(
            f"{o} {pct(dec['probability_best'][o])}" for o in dec["options"]))
    best = dec["best_on_expectation"]
    p_best = dec["probability_best"][best]
    verdict = ("launch" if best != "no programme" else "do not launch") + (
        f" ({best})" if best != "no programme" and len(dec["options"]) > 2 else "")
    if p_best >= 0.9:
        out.append(f"Verdict: {verdict}: it is the better choice in {pct(p_best)} of the plausible worlds.")
    else:
        out.append(f"Verdict: on current evidence, {verdict}, but it is the better choice in only {pct(p_best)} "
                   "of the plausible worlds: cannot tell yet.")
    out.append("")
    out.append(f"What is worth learning before deciding (expected value of information, {cur}):")
    out.append(f"  {'everything we do not know (EVPI)':45} {money(doc['evpi']):>12}")
    for g, v in doc["evppi"].items():
        out.append(f"  {g:45} {money(v['evppi']):>12}   ({len(v['parameters'])} parameter"
                   f"{'s' if len(v['parameters']) != 1 else ''})")
    if doc.get("largest_evppi_group") and doc["evpi"] > 0:
        out.append(f"  -> {doc['largest_evppi_group']} decides most: learn about it first (a pilot measures it; "
                   "see loyalsim pilot).")
    elif doc["evpi"] == 0:
        out.append("  -> nothing we could learn would change the decision: the same choice wins in every draw.")
    tor = doc.get("tornado")
    if tor:
        out.append("")
        out.append("One assumption at a time, from its 5th to its 95th percentile (others as written):")
        for r in tor[:8]:
            out.append(f"  {r['field']:55} {_signed(r['low_incremental_profit'])} .. "
                       f"{_signed(r['high_incremental_profit'], cur)}")
    sens = doc.get("sensitivity")
    if sens:
        out.append("")
        out.append(render_sweep_indices(sens, cur))
    return "\n".join(out)


def render_pilot(doc) -> str:
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
                f"  It costs {money(doc['pilot_cost'], cur)} to run, and deciding {doc['months']} months later forgoes "
                f"{money(doc['cost_of_waiting'], cur)} in expectation: net {_signed(doc['net_value'], cur)}.",
                "  By size (treated / control): " + "; ".join(
                    f"{s['members']:,}/{s['control']:,}: EVSI {money(s['evsi'])}, net {_signed(s['net_value'])}"
                    for s in doc["sizes"])]
        b = doc["best_size"]
        if doc["worth_running"]:
            out.append(f"Verdict: run the pilot before deciding (the best of these sizes is {b['members']:,} / "
                       f"{b['control']:,}).")
        elif b["net_value"] > 0:
            out.append(f"Verdict: not at this size; a pilot of {b['members']:,} / {b['control']:,} would be worth "
                       "running.")
        else:
            out.append("Verdict: decide now: no pilot of these sizes is worth its cost and delay "
                       f"(probability it pays on current evidence: {pct(doc['probability_pays_now'])}).")
    return "\n".join(out)


def render_sweep_indices(sens, cur):
    lines = []
    if sens.get("sobol"):
        lines.append("Sobol indices of incremental profit over the uncertain parameters (95% bootstrap interval):")
        for f, v in sorted(sens["sobol"].items(), key=lambda kv: -kv[1]["total_order"]):
            lines.append(f"  {f:55} first {v['first_order']:+.2f} (+/-{v['first_order_ci']:.2f})  total "
                         f"{v['total_order']:+.2f} (+/-{v['total_order_ci']:.2f})")
    if sens.get("morris"):
        lines.append("Morris screening (mean absolute elementary effect on incremental profit):")
        for f, v in sorted(sens["morris"].items(), key=lambda kv: -kv[1]["mu_star"]):
            lines.append(f"  {f:55} mu* {money(v['mu_star'], cur)} (+/-{money(v['mu_star_ci'])})")
    if sens.get("noise_share_of_variance") is not None:
        lines.append(f"  Simulation noise: {pct(sens['noise_share_of_variance'])} of the variance.")
    if sens.get("note"):
        lines.append(f"  Note: {sens['note']}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- optimisation

SIGNED_MEASURES = ("incremental_profit", "npv", "roi", "retention_lift")   # changes; the rest are levels


def _chance(p):
    if p is None:
        return "n/a"
    return "over 99%" if p > 0.995 else "under 1%" if p < 0.005 else f"{100 * p:.0f}%"


def _kind_value(kind, x, cur="", signed=True):
    if x is None:
        return "n/a"
    if kind == "ratio":
        return ("+" if signed and x >= 0 else "") + f"{100 * x:.0f}%"
    if kind == "points":
        return f"{100 * x:+.1f} pt" if signed else f"{100 * x:.1f} pt"
    return _signed(x, cur) if signed else money(x, cur)


def _interval_text(kind, est, cur):
    if not est or est.get("ci_low") is None:
        return ""
    return f" (95% interval {_kind_value(kind, est['ci_low'])} to {_kind_value(kind, est['ci_high'], cur)})"


def _bounds_text(b):
    if b.get("values") is not None:
        return "{" + ", ".join(_value(v) for v in b["values"]) + "}"
    return f"{_value(b['low'])}..{_value(b['high'])}"


def render_optimise(doc) -> str:
    """The answer of loyalsim optimise, for a marketing lead: the design, its profit, how sure, the runner-up."""
    cur = doc["currency"]
    kind = doc.get("objective_kind", "money")
    obj = doc["objective"].replace("_", " ")
    t = doc["trials"]
    reps = len(doc.get("search_replications") or [])
    out = [f"Best design for {doc['scenario']}: {t['told']} designs tried ({doc['sampler']} search, seed {doc['seed']}), "
           f"each on {reps} replication{'s' if reps != 1 else ''} against no programme, on the same customers and "
           "chance events",
           "  varied: " + ", ".join(f"{b['field']} {_bounds_text(b)}" for b in doc["bounds"])]
    if doc.get("constraints"):
        out.append(f"  constraints: {', '.join(doc['constraints'])} ({t['infeasible']} design"
                   f"{'s' if t['infeasible'] != 1 else ''} tried broke them; a design that does is never chosen)")
    if t.get("failed"):
        out.append(f"  {t['failed']} design{'s' if t['failed'] != 1 else ''} could not run (settings that do not "
                   "make a valid scenario; see the trials table)")
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
    delta_text = _kind_value(kind, delta, cur, signed=False)
    n_fin = sel.get("designs", 1) - 1
    if ch["no_programme"]:
        bp = doc.get("best_programme") or {}
        be = bp.get("estimate") or {}
        out.append("Choice: no programme. None of the designs tried beats doing nothing on " + obj + ".")
        if bp:
            out.append(f"  The best programme design in the selection, {bp['label']}, makes "
                       f"{_kind_value(kind, be.get('mean'), cur)}{_interval_text(kind, be, cur)} on "
                       f"{be.get('n', 0)} fresh replications neither the search nor the selection used.")
    else:
        out.append(f"Choice: {ch['label']}")
        out.append(f"  {obj.capitalize()}: {_kind_value(kind, est.get('mean'), cur)}{_interval_text(kind, est, cur)}, "
                   f"on {est.get('n', 0)} " + ("fresh replications the search and the selection never saw."
                                               if "after" in (est.get("source") or "") else
                                               "replications the search never saw."))
        if ch.get("search_observed") is not None and est.get("mean") is not None:
            gap = (ch["search_observed"] - est["mean"]) * (1 if doc["directions"][0] == "maximize" else -1)
            seen = _kind_value(kind, ch["search_observed"], cur)
            if gap > 0:
                out.append(f"  The search saw {seen} for it, {_kind_value(kind, abs(gap), cur, signed=False)} better: "
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
        out.append(f"  The search's best observation, {sb['label']} at {_kind_value(kind, sb['observed'], cur)}, made "
                   f"{_kind_value(kind, sb['fresh'], cur)} on the selection's {sb['fresh_replications']} fresh "
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
            line += f", {_kind_value(kind, re_.get('mean'), cur)}{_interval_text(kind, re_, cur)}"
        if diff.get("mean") is not None:
            line += (f"; the choice gives {_kind_value(kind, diff['mean'], cur)} more"
                     + (f" (95% interval {_kind_value(kind, diff['ci_low'])} to {_kind_value(kind, diff['ci_high'], cur)})"
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
        out.append(f"  {r['label'][:50]:50} {_kind_value(kind, r['expected'], cur):>14} "
                   f"{_kind_value(kind, r['cvar10'], cur):>14} {pct(r['probability_best']):>8}")
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
        out.append(f"  {r['label'][:50]:50} {_kind_value(kinds[0], r[objs[0]], cur, objs[0] in SIGNED_MEASURES):>20} "
                   f"{_kind_value(kinds[1], r[objs[1]], cur, objs[1] in SIGNED_MEASURES):>20}")
    conf = doc.get("pareto_front_confirmed")
    if conf is not None:
        out.append(f"On {len(doc.get('confirm_replications') or [])} fresh replications, {len(conf)} of them stay on "
                   "the front (the figures above are the search's, flattered by selection).")
    return out
