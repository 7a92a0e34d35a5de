"""Verdicts: the one place that decides what an answer says.

Every summary (a run's, a comparison's, each study's) carries a ``verdict``
made here, once, from the summary's own numbers: its ``kind``, a headline and a
sentence, and the notes that qualify it. The terminal, the JSON and the HTML
report render it and never decide it, so one run cannot get two verdicts.

Kinds (the same five for every summary of a programme):

* ``pays``: the 95% interval of the incremental profit lies above zero (a study:
  the choice it recommends is a programme, and it is the better choice in at
  least 90% of the plausible worlds);
* ``does_not_pay``: the interval lies below zero (a study: doing nothing is the
  better choice in at least 90% of them);
* ``no_effect``: the programme changes nothing and costs nothing (identical arms
  on common random numbers);
* ``cannot_tell``: the interval includes zero (a study: neither choice is the
  better one in 90% of the worlds);
* ``one_replication``: one replication gives a number but no interval.

The field results suite (``loyalsim evidence``) is not a decision about a programme:
its verdict is ``reproduced`` (every published figure inside its range) or
``partly_reproduced`` (some miss; each miss is listed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim.format import horizon, money, pct, probability

KINDS = ("pays", "does_not_pay", "no_effect", "cannot_tell", "one_replication", "reproduced", "partly_reproduced")
HEADLINES = {"pays": "PAYS", "does_not_pay": "DOES NOT PAY", "no_effect": "NO EFFECT",
             "cannot_tell": "CANNOT TELL YET", "one_replication": "ONE REPLICATION: CANNOT TELL YET",
             "reproduced": "REPRODUCED", "partly_reproduced": "PARTLY REPRODUCED"}
# a backtest (loyalsim backtest) is not a programme's answer: its verdict says whether the simulated world
# matches the customers' own holdout
BACKTEST_KINDS = ("matches", "does_not_match")
HEADLINES.update({"matches": "MATCHES THE LOG", "does_not_match": "DOES NOT MATCH THE LOG"})
SURE = 0.90          # a study's choice is clear when it is the better one in this share of plausible worlds
NOISE_ONLY = ("The interval covers simulation noise only, at the assumptions as written; how sure the answer is "
              "over what we don't know: loyalsim psa.")


@dataclass(frozen=True)
class Verdict:
    kind: str
    sentence: str
    headline: str = ""
    notes: tuple = ()
    recommendation: str | None = None      # the option a comparison or study recommends
    rests_on: tuple = field(default=())    # parameters graded direction/assumption that the decision hinges on

    def as_dict(self) -> dict:
        if self.kind not in KINDS + BACKTEST_KINDS:
            raise ValueError(f"verdict kind {self.kind!r} is not one of {KINDS}")
        out = {"kind": self.kind, "headline": self.headline or HEADLINES[self.kind], "sentence": self.sentence,
               "notes": list(self.notes)}
        if self.recommendation is not None:
            out["recommendation"] = self.recommendation
        if self.rests_on:
            out["rests_on"] = [dict(r) for r in self.rests_on]
        return out


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d


def _zero(x) -> bool:
    return x is not None and x == 0


def interval_kind(iv: dict, replications: int) -> str:
    """pays / does_not_pay / cannot_tell / one_replication from an incremental profit's interval."""
    mean, lo, hi = (iv or {}).get("mean"), (iv or {}).get("ci_low"), (iv or {}).get("ci_high")
    if mean is None:
        return "cannot_tell"
    if replications < 2 or lo is None:
        return "one_replication"
    if lo > 0:
        return "pays"
    if hi < 0:
        return "does_not_pay"
    return "cannot_tell"


def _interval(iv, cur, lost=False) -> str:
    """'; 95% interval 260.3k to 296.0k EUR lost' (nothing without an interval)."""
    lo, hi = iv.get("ci_low"), iv.get("ci_high")
    if lo is None:
        return ""
    if lost:
        return f"; 95% interval {money(-hi)} to {money(-lo, cur)} lost"
    return f"; 95% interval {money(lo, signed=True)} to {money(hi, cur, signed=True)}"


# --------------------------------------------------------------------------- a run

def of_run(doc: dict) -> Verdict:
    """The verdict of one programme against no programme (a run's summary, sim.results.summarise)."""
    cur = doc.get("currency", "")
    eco = doc.get("economics") or {}
    ip = eco.get("incremental_profit") or {}
    n = int(doc.get("replications") or 0)
    span = f"over {horizon(doc.get('horizon_days'))}"
    mean = ip.get("mean")
    orders = _get(doc, "lift", "orders", "absolute", "mean")
    cost = _get(doc, "programme", "programme_cost")
    if _zero(mean) and _zero(ip.get("ci_low") if n > 1 else 0) and _zero(ip.get("ci_high") if n > 1 else 0) \
            and _zero(orders or 0) and _zero(cost or 0):
        return Verdict("no_effect", "the programme changes nothing and costs nothing (same customers, same chance "
                                    "events).")
    kind = interval_kind(ip, n)
    notes = []
    if kind == "one_replication":
        sentence = (f"one replication gives {money(mean, cur, True)} of incremental profit {span}, with no interval "
                    "to say how sure that is: run 2 or more (-r 10).")
    elif kind == "pays":
        sentence = f"the programme adds {money(mean, cur)} of profit {span}{_interval(ip, cur)}, which excludes zero."
    elif kind == "does_not_pay":
        sentence = f"the programme loses {money(-mean, cur)} {span}{_interval(ip, cur, lost=True)}, which excludes zero."
    else:
        sentence = (f"incremental profit is {money(mean, cur, True)} {span}, but its 95% interval "
                    f"({money(ip.get('ci_low'), signed=True)} to {money(ip.get('ci_high'), cur, True)}) includes "
                    f"zero: add replications (-r {max(4 * n, 20)}).")
    if kind != "one_replication":
        notes.append(NOISE_ONLY)
    margin = doc.get("gross_margin")
    base_revenue = _get(doc, "baseline", "revenue")
    if mean is not None and mean < 0 and margin and base_revenue:
        need = -mean / margin  # extra sales at the gross margin that would cover the shortfall
        notes.append(f"To break even it would need about {money(need, cur)} more sales {span} "
                     f"({100 * need / base_revenue:+.1f}% of sales, at a {100 * margin:.0f}% gross margin).")
    return Verdict(kind, sentence, notes=tuple(notes))


# --------------------------------------------------------------------------- a comparison

def of_comparison(doc: dict) -> Verdict:
    """Which strategy to launch, if any (a comparison's summary: ranking of strategies against no programme)."""
    cur = doc.get("currency", "")
    n = int(doc.get("replications") or 0)
    ranking = [r for r in doc.get("ranking") or [] if not r.get("no_programme")]
    span = f"over {horizon(doc.get('horizon_days'))}"
    if not ranking:
        return Verdict("cannot_tell", "no strategy finished.")
    kinds = {r["strategy"]: (r.get("verdict") or {}).get("kind") for r in ranking}
    if all(k == "no_effect" for k in kinds.values()):
        return Verdict("no_effect", f"none of the {len(ranking)} strategies changes anything or costs anything.",
                       recommendation="no programme")
    best = ranking[0]
    name, ip = best["strategy"], best.get("incremental_profit") or {}
    kind = interval_kind(ip, n)
    bn = best.get("beats_next") or {}
    p = bn.get("probability")
    vs = ""
    if p is not None and bn.get("strategy") and kind == "pays":
        vs = (f"; it beats the runner-up, {bn['strategy']}, with probability {probability(p)}"
              + ("" if p >= 0.95 else ": not yet a clear winner"))
    if kind == "one_replication":
        return Verdict(kind, f"{name} comes first with {money(ip.get('mean'), cur, True)} of incremental profit "
                             f"{span}, but one replication gives no interval: run 2 or more (-r 10).",
                       recommendation=name)
    if kind == "pays":
        return Verdict(kind, f"launch {name}: it adds {money(ip['mean'], cur)} of profit {span}{_interval(ip, cur)}"
                             f"{vs}.", notes=(NOISE_ONLY,), recommendation=name)
    if all(((r.get("incremental_profit") or {}).get("ci_high") or 0) < 0 for r in ranking):
        return Verdict("does_not_pay", f"none of the {len(ranking)} strategies pays: the least costly, {name}, loses "
                                       f"{money(-ip['mean'], cur)} {span}{_interval(ip, cur, lost=True)}; no programme "
                                       "is the better choice.", notes=(NOISE_ONLY,), recommendation="no programme")
    return Verdict("cannot_tell", f"{name} comes first with {money(ip.get('mean'), cur, True)} of incremental profit "
                                  f"{span}, but its 95% interval ({money(ip.get('ci_low'), signed=True)} to "
                                  f"{money(ip.get('ci_high'), cur, True)}) includes zero: cannot tell yet whether it "
                                  f"pays (add replications: -r {max(4 * n, 20)}).", notes=(NOISE_ONLY,),
                   recommendation=name if (ip.get("mean") or 0) > 0 else "no programme")


# --------------------------------------------------------------------------- an uncertainty analysis

UNMEASURED = ("direction", "assumption")


def _rests_on(doc: dict, option: str) -> tuple:
    """The parameters graded direction/assumption that top the tornado or carry most of the EVPPI."""
    grades = {p["field"]: p.get("grade") for p in doc.get("parameters") or []}
    out = []
    evppi = doc.get("evppi") or {}
    tornado = [r for r in doc.get("tornado") or [] if r.get("strategy_name", option) == option]
    swing = {r["field"]: r.get("swing") or 0 for r in tornado}
    if evppi and (doc.get("evpi") or 0) > 0:
        group, entry = max(evppi.items(), key=lambda kv: kv[1].get("evppi") or 0)
        if (entry.get("evppi") or 0) > 0.5 * doc["evpi"]:
            # the group's unmeasured members that swing the answer most (at most three: a list of
            # a dozen names says nothing)
            members = sorted((f for f in entry.get("parameters") or [] if grades.get(f) in UNMEASURED),
                             key=lambda f: -swing.get(f, 0))
            for f in members[:3]:
                out.append({"field": f, "grade": grades[f], "why": f"most of the value of information ({group})"})
    if tornado:
        top = max(tornado, key=lambda r: r.get("swing") or 0)
        if grades.get(top["field"]) in UNMEASURED and not any(o["field"] == top["field"] for o in out):
            out.append({"field": top["field"], "grade": grades[top["field"]], "why": "the widest swing of the tornado"})
    return tuple(out)


def rests_on_sentence(rests_on) -> str:
    if not rests_on:
        return ""
    names = ", ".join(r["field"] for r in rests_on)
    one = len(rests_on) == 1
    return (f"This rests on {names}, whose size no study has measured "
            f"({'its' if one else 'their'} evidence grade: {', '.join(sorted({r['grade'] for r in rests_on}))}); "
            "treat the answer as a hypothesis to test, e.g. with a pilot.")


def of_psa(doc: dict) -> Verdict:
    """The launch decision over the plausible worlds (an uncertainty analysis' summary)."""
    cur = doc.get("currency", "")
    dec = doc.get("decision") or {}
    options = dec.get("options") or []
    if not options:
        return Verdict("cannot_tell", "the uncertainty analysis has no results.")
    best = dec["best_on_expectation"]
    p_best = dec["probability_best"][best]
    strategies = doc.get("strategies") or {}
    several = len(options) > 2
    expected = dec["expected_incremental_profit"][best]
    if best == "no programme":
        top = max(strategies, key=lambda s: strategies[s]["incremental_profit"]["mean"]) if strategies else None
        what = (f"do not launch: no programme is the better choice in {probability(p_best)} of the plausible worlds"
                + (f"; the best strategy, {top}, expects {money(strategies[top]['incremental_profit']['mean'], cur, True)}"
                   if top and several else
                   f"; the programme expects {money(strategies[top]['incremental_profit']['mean'], cur, True)}"
                   if top else "")
                + (f" and pays in {probability(strategies[top]['probability_pays'])} of them" if top else ""))
        kind = "does_not_pay" if p_best >= SURE else "cannot_tell"
    else:
        s = strategies.get(best) or {}
        what = (f"launch{f' {best}' if several else ''}: it is the better choice in {probability(p_best)} of the "
                f"plausible worlds, expects {money(expected, cur, True)} of incremental profit and pays in "
                f"{probability(s.get('probability_pays'))} of them")
        kind = "pays" if p_best >= SURE else "cannot_tell"
    if kind == "cannot_tell":
        what = "on current evidence, " + what + ": cannot tell yet"
    rests = _rests_on(doc, best if best != "no programme" else next(iter(strategies), ""))
    notes = []
    if doc.get("evpi") is not None:
        notes.append(f"Knowing everything we don't would be worth {money(doc['evpi'], cur)} (EVPI)"
                     + (f"; {doc['largest_evppi_group']} is worth learning first."
                        if doc.get("largest_evppi_group") and doc["evpi"] > 0 else
                        ": the same choice wins in every draw." if doc["evpi"] == 0 else "."))
    if rests:
        notes.append(rests_on_sentence(rests))
    return Verdict(kind, what + ".", notes=tuple(notes), recommendation=best, rests_on=rests)


# --------------------------------------------------------------------------- a sweep

def of_sweep(doc: dict) -> Verdict:
    cur = doc.get("currency", "")
    best = (doc.get("best") or [None])[0]
    share = doc.get("pays_at_share_of_points")
    n = int(doc.get("replications") or 0)
    if best is None:
        return Verdict("cannot_tell", "the sweep has no results.")
    ip = best["incremental_profit"]
    where = ", ".join(f"{f} = {_short(best[f])}" for f in doc.get("varied") or [] if f in best)
    kind = interval_kind(ip, n)
    if kind == "cannot_tell" and share == 0:
        kind = "does_not_pay" if (ip.get("ci_high") or 0) < 0 else "cannot_tell"
    if doc.get("no_effect"):
        kind = "no_effect"
        sentence = "no point of the sweep changes anything or costs anything."
    else:
        sentence = (f"the programme pays at {pct(share)} of the {doc.get('points')} points swept; the best, {where}, "
                    f"gives {money(ip['mean'], cur, True)} of incremental profit{_interval(ip, cur)}.")
    notes = [bound_note(b, "best point") for b in doc.get("at_bound") or []]
    return Verdict(kind, sentence, notes=tuple(notes))


def bound_note(b: dict, what: str) -> str:
    """One line for a varied field whose chosen value sits on a bound of its range."""
    side = "top" if b["bound"] == "high" else "bottom"
    limit = b.get("limit", b.get("high") if b["bound"] == "high" else b.get("low"))
    return (f"The {what}'s {b['field']}, {_short(b['value'])}, is at the {side} of its range (the bound is "
            f"{_short(limit)}): the best setting may lie beyond it; widen --vary {b['field']}.")


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# --------------------------------------------------------------------------- a pilot

def of_pilot(doc: dict) -> Verdict:
    cur = doc.get("currency", "")
    if "evsi" not in doc:
        power = doc.get("power_at_scenario_lift")
        return Verdict("cannot_tell", f"a pilot of this size finds the scenario's own lift {probability(power)} of the "
                                      "time (no value of information asked: --no-evsi).")
    b = doc["best_size"]
    if doc["worth_running"]:
        return Verdict("pays", f"run the pilot before deciding: what it is worth ({money(doc['evsi'], cur)}) exceeds "
                               f"its net cost and the cost of waiting (net {money(doc['net_value'], cur, True)}); the best "
                               f"of the sizes tried is {b['members']:,} / {b['control']:,}.",
                       recommendation="run the pilot")
    if b["net_value"] > 0:
        return Verdict("cannot_tell", f"not at this size (net {money(doc['net_value'], cur, True)}); a pilot of "
                                      f"{b['members']:,} / {b['control']:,} would be worth running "
                                      f"(net {money(b['net_value'], cur, True)}).",
                       recommendation=f"a pilot of {b['members']:,} / {b['control']:,}")
    return Verdict("does_not_pay", "decide now: no pilot of these sizes is worth its cost and delay (probability the "
                                   f"programme pays on current evidence: {probability(doc.get('probability_pays_now'))}).",
                   recommendation="decide now")


# --------------------------------------------------------------------------- an optimisation

def _objective_value(kind, x, cur="") -> str:
    if x is None:
        return "n/a"
    if kind == "ratio":
        return f"{100 * x:+.0f}%"
    if kind == "points":
        return f"{100 * x:+.1f} pts"
    return money(x, cur, True)


def of_optimise(doc: dict) -> Verdict:
    """The choice an optimisation makes, how sure the selection is, and where the search stopped."""
    cur = doc.get("currency", "")
    kind = doc.get("objective_kind", "money")
    what = str(doc.get("objective", "incremental_profit")).replace("_", " ")
    what_is_bounded = "best programme design" if (doc.get("chosen") or {}).get("no_programme") else "chosen design"
    notes = [bound_note(b, what_is_bounded) for b in doc.get("at_bound") or []]
    if len(doc.get("objectives") or []) > 1:
        n = len(doc.get("pareto_front") or [])
        return Verdict("cannot_tell", f"{n} design{'s' if n != 1 else ''} on the Pareto front of "
                                      f"{' and '.join(o.replace('_', ' ') for o in doc['objectives'])}: each is the best "
                                      "available for its balance of the two; choose on the front.",
                       headline="A TRADE-OFF", notes=tuple(notes))
    ch = doc.get("chosen")
    if not ch:
        complete = (doc.get("trials") or {}).get("complete")
        return Verdict("cannot_tell", "no design tried meets the constraints." if complete else
                       "the optimisation has no results.", headline="NO CHOICE", notes=tuple(notes))
    sel = doc.get("selection") or {}
    est = ch.get("estimate") or {}
    pcs = sel.get("probability_correct_selection") or {}
    sure = (f"at least {probability(pcs.get('guaranteed_at_least'))}" if sel.get("guarantee") else "not guaranteed")
    delta = _objective_value(kind, sel.get("indifference"), cur).lstrip("+")
    how = (f"the selection picks the best of the finalists with probability {sure} whenever it leads the others by "
           f"{delta} or more")
    if ch.get("no_programme"):
        bp = (doc.get("best_programme") or {}).get("estimate") or {}
        return Verdict("does_not_pay", f"do not launch: doing nothing beats every design tried; the best of them makes "
                                       f"{_objective_value(kind, bp.get('mean'), cur)} of {what} on fresh "
                                       f"replications ({how}).", recommendation="no programme", notes=tuple(notes))
    iv_kind = interval_kind(est, int(est.get("n") or 0)) if kind == "money" else (
        "pays" if (est.get("ci_low") or 0) > 0 else "cannot_tell")
    if not sel.get("guarantee") and iv_kind == "pays":
        iv_kind = "cannot_tell"
    interval = ""
    if est.get("ci_low") is not None:
        interval = (f" (95% interval {_objective_value(kind, est['ci_low'])} to "
                    f"{_objective_value(kind, est['ci_high'], cur)})")
    figure = f"{what} {_objective_value(kind, est.get('mean'), cur)}{interval} on {est.get('n', 0)} fresh replications"
    if iv_kind == "pays":
        sentence = f"launch {ch['label']}: {figure}; {how}."
    elif iv_kind == "does_not_pay":
        sentence = f"the chosen design, {ch['label']}, loses on fresh replications: {figure}; do not launch it."
    else:
        sentence = (f"{ch['label']} comes first: {figure}; cannot tell yet whether it pays ("
                    + ("the selection is not guaranteed" if not sel.get("guarantee") else how) + ").")
    return Verdict(iv_kind, sentence, recommendation=ch["label"], notes=tuple(notes))


# --------------------------------------------------------------------------- the field results suite

def of_evidence(doc: dict) -> Verdict:
    """N of M published field results reproduced (the prediction's mean inside the published range), and
    how many of each kind: out of sample (the test) and in sample (a default sized from that study)."""
    rows = doc.get("rows") or []
    hit = [r for r in rows if r.get("within")]
    out = [r for r in rows if not r.get("in_sample")]
    out_hit = [r for r in out if r.get("within")]
    kind = "reproduced" if rows and len(hit) == len(rows) else "partly_reproduced"
    sentence = (f"{len(hit)} of {len(rows)} published field results reproduced; out of sample (no default sized "
                f"from the study) {len(out_hit)} of {len(out)}.")
    notes = [f"Misses: {', '.join(r['study'] for r in rows if not r.get('within'))}."] if len(hit) < len(rows) else []
    if doc.get("quick"):
        notes.append("Quick run (fewer replications, half the customers): the intervals are wider than the full "
                     "suite's.")
    return Verdict(kind, sentence, headline=f"{len(hit)} OF {len(rows)} REPRODUCED", notes=tuple(notes))


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


# --------------------------------------------------------------------------- a backtest

# the simulation reproduces its own model when its mean is within this of the closed form's conditional
# expectation (20 replications of a 2,000-customer base: a standard error of about 1%)
MODEL_AGREEMENT = 0.03
CORRELATION_WORLDS = 20


def of_backtest(doc: dict) -> Verdict:
    """Matches when repeat transactions, revenue and active customers are each within the stated tolerance of
    the actual and the per-customer correlation within its tolerance of the closed form's."""
    tol = doc["tolerance"]
    err = doc["holdout"]["error"]
    misses = [f"{k.replace('_', ' ')} {pct(v, signed=True, digits=1)} (tolerance {pct(tol[k])})"
              for k, v in err.items() if v is not None and abs(v) > tol[k]]
    corr, closed = doc.get("per_customer_correlation"), doc.get("closed_form_correlation")
    # the mean of a few worlds per customer is too noisy to set against an expectation: judged from 20 worlds
    judged = (doc.get("replications") or 0) >= CORRELATION_WORLDS
    if judged and corr is not None and closed is not None and closed - corr > tol["correlation"]:
        misses.append(f"per-customer correlation {corr:.3f} against the closed form's {closed:.3f} "
                      f"(tolerance {tol['correlation']:.2f})")
    notes = []
    cf = doc["holdout"]["closed_form"]
    sim_tx = doc["holdout"]["simulated"]["transactions"]["mean"]
    if cf["transactions"]:
        gap = sim_tx / cf["transactions"] - 1.0
        if abs(gap) <= MODEL_AGREEMENT:
            notes.append(f"The simulation reproduces the fitted model ({pct(gap, signed=True, digits=1)} against its closed "
                         f"form given each customer's own history); that per-customer forecast's own holdout error is "
                         f"{pct(cf['error'], signed=True, digits=1)} (the cohort forecast calibrate compares models on is "
                         f"another figure).")
        else:
            notes.append(f"The simulation is {pct(gap, signed=True, digits=1)} from the fitted model's closed form.")
    if not judged:
        notes.append(f"The per-customer correlation is not judged from {doc.get('replications')} worlds (it needs "
                     f"{CORRELATION_WORLDS}: the mean of fewer is too noisy per customer).")
    if not misses:
        return Verdict("matches", f"the no-programme world of the twin matches what these customers did over the "
                                  f"holdout (repeat transactions {pct(err['transactions'], signed=True, digits=1)}, revenue "
                                  f"{pct(err['revenue'], signed=True, digits=1)}).", notes=tuple(notes))
    return Verdict("does_not_match", "the no-programme world of the twin misses the holdout: " + "; ".join(misses)
                   + ".", notes=tuple(notes))
