"""The result of an optimisation: the trials, the finalists, the selection and the confirmation, and the
summary every output renders (stamped, with its verdict from sim.verdict)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from sim.studies.optimise.problem import NO_PROGRAMME, SEARCH_FROM, Problem, factor_doc, mean_of
from sim.studies.schemas import MEASURES
from sim.studies.sweep import at_bound


def design_key(design: dict) -> str:
    return json.dumps(design, sort_keys=True, default=str)


# --------------------------------------------------------------------------- the result

@dataclass
class OptimiseResult:
    problem: Problem
    rows: list                         # trial rows (trial_rows)
    finalists: list                    # trial rows of the finalists (selection order: index = KN design)
    selection: object = None           # KNResult (designs: finalists..., then no programme)
    indifference: float | None = None
    indifference_basis: str = ""
    confirm: dict = field(default_factory=dict)        # label -> {measure: [values]} on the confirm replications
    confirm_replications: list = field(default_factory=list)
    selection_measures: dict = field(default_factory=dict)   # (design, replication) -> measures
    robust: dict | None = None
    pareto: list = field(default_factory=list)
    pareto_confirmed: list = field(default_factory=list)
    baseline_profit: float | None = None
    scenario_name: str = ""
    scenario_file: str = ""
    currency: str = ""
    interrupted: int | None = None

    # ---------------------------------------------------------------- who won
    def labels(self) -> list:
        return unique_labels(self.finalists) + [NO_PROGRAMME]

    def design(self, d) -> dict | None:
        return None if d is None or d >= len(self.finalists) else self.finalists[d]["design"]

    @property
    def chosen(self) -> int | None:
        if self.selection is None:
            return None
        return self.selection.chosen

    @property
    def chosen_design(self) -> dict | None:
        return self.design(self.chosen)

    @property
    def best_programme(self) -> int | None:
        """The chosen design, or when no programme wins, the best programme design in the selection."""
        if self.selection is None:
            return 0 if self.finalists else None
        for d in self.selection.order():
            if d < len(self.finalists):
                return d
        return None

    def bounded_design(self) -> dict | None:
        """The design whose place in the ranges the summary reports (at_bound): the chosen one, or when no
        programme wins, the best programme design of the selection (where a wider range may find one that
        pays); none for a trade-off (a front has no one design)."""
        if self.problem.multi or self.selection is None:
            return None
        return self.chosen_design if self.chosen_design is not None else self.design(self.best_programme)

    def estimate(self, d=None) -> dict:
        """The objective of design d (default: the chosen one) on the confirmation replications, which neither
        the search nor the selection saw; without them, on the selection's replications (said so)."""
        p = self.problem
        d = self.chosen if d is None else d
        from sim.metrics import interval
        if d is None:
            return {}
        if d == len(self.finalists):     # no programme: exactly zero on common random numbers
            reps = self.confirm_replications or (self.selection.replications if self.selection else [])
            return {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": len(reps), "replications": list(reps),
                    "source": "no programme: zero by construction"}
        label = self.labels()[d]
        if label in self.confirm and self.confirm[label].get(p.objective):
            vals = self.confirm[label][p.objective]
            return {**interval(vals), "n": len(vals), "replications": list(self.confirm_replications),
                    "source": "fresh replications after the selection"}
        if self.selection is not None:
            vals = list(self.selection.values[d])
            return {**interval(vals), "n": len(vals), "replications": list(self.selection.replications[:len(vals)]),
                    "source": "the selection's replications (fresh to the search; no confirmation asked)"}
        return {}

    # ---------------------------------------------------------------- the answer
    def summary(self) -> dict:
        p = self.problem
        obj = p.objective
        kind = MEASURES[obj].kind
        complete = [r for r in self.rows if r["state"] == "complete"]
        feasible = [r for r in complete if r["feasible"]]
        s = p.sign()
        best_obs = max(feasible, key=lambda r: s * r["means"][obj]) if feasible else None
        doc = {
            "scenario": self.scenario_name, "file": self.scenario_file, "currency": self.currency,
            "objective": obj, "objectives": p.objectives, "directions": p.directions,
            "objective_kind": kind, "objective_kinds": [MEASURES[o].kind for o in p.objectives],
            "constraints": [c.text() for c in p.constraints],
            "varied": [f.field for f in p.factors], "bounds": [factor_doc(f) for f in p.factors],
            "sampler": "NSGA-II" if p.multi else "TPE", "seed": p.seed, "budget": p.budget,
            "batch": p.batch,
            "trials": {"told": len([r for r in self.rows if r["state"] != "running"]), "complete": len(complete),
                       "feasible": len(feasible), "infeasible": len(complete) - len(feasible),
                       "failed": len([r for r in self.rows if r["state"] == "failed"])},
            "search_replications": list(range(SEARCH_FROM, SEARCH_FROM + p.replications)),
            "baseline_profit": self.baseline_profit,
        }
        if best_obs is not None:
            doc["search_best"] = {"trial": best_obs["trial"], "design": best_obs["design"],
                                  "observed": best_obs["means"][obj], "replications": best_obs["replications"],
                                  "note": "the best of many noisy trials: flattered by having been picked "
                                          "(the winner's curse); not the reported estimate"}
        if p.multi:
            doc["pareto_front"] = [{"trial": r["trial"], "label": design_label(r["design"]), "design": r["design"],
                                    **{o: r["means"][o] for o in p.objectives}} for r in self.pareto]
            if self.pareto_confirmed:
                doc["pareto_front_confirmed"] = self.pareto_confirmed
                doc["confirm_replications"] = self.confirm_replications
        if self.selection is not None:
            doc.update(self._selection_doc(best_obs))
        doc["at_bound"] = at_bound(p.factors, self.bounded_design())
        if self.robust:
            doc["robust"] = self.robust
        if self.interrupted:
            doc["interrupted"] = True
        from sim import verdict
        from sim.documents import stamp
        from sim.metrics import clean
        doc = stamp("optimise", doc)
        doc["verdict"] = verdict.of_optimise(clean(doc)).as_dict()
        return doc

    def _selection_doc(self, best_obs) -> dict:
        p, kn = self.problem, self.selection
        obj = p.objective
        labels = self.labels()
        chosen = kn.chosen
        runner = kn.runner_up
        fin = []
        for d, label in enumerate(labels):
            iv = kn.interval(d)
            row = {"label": label, "design": self.design(d), "search_observed":
                   self.finalists[d]["means"][obj] if d < len(self.finalists) else 0.0,
                   "trial": self.finalists[d]["trial"] if d < len(self.finalists) else None,
                   "selection_mean": iv["mean"], "ci_low": iv["ci_low"], "ci_high": iv["ci_high"],
                   "replications": kn.n(d), "eliminated_after": kn.eliminated.get(d)}
            fin.append(row)
        est = self.estimate(chosen)
        out = {
            "finalists": fin,
            "selection": {
                "procedure": "KN (Kim & Nelson 2001): fully sequential, indifference zone, common random numbers",
                "designs": len(labels), "indifference": self.indifference, "indifference_basis": self.indifference_basis,
                "confidence": kn.confidence, "first_stage": kn.n0, "max_replications": p.max_replications,
                "replications_used": kn.total_replications(), "stages": kn.stages(),
                "replication_seeds": [kn.replications[0], kn.replications[-1]] if kn.replications else [],
                "stopped": kn.stopped, "survivors": [labels[d] for d in kn.survivors],
                "guarantee": kn.guarantee,
                # KN's guarantee: the best is picked with at least this probability when it
                # leads every other finalist by the indifference zone or more
                "probability_correct_selection": {
                    "guaranteed_at_least": kn.confidence if kn.guarantee else None,
                    "when_the_best_leads_by": self.indifference,
                },
                # on the replications run: paired comparisons of the choice with every other
                "probability_within_indifference": {
                    "empirical_lower_bound": kn.probability_within_delta(),
                },
            },
            "chosen": {
                "label": labels[chosen], "design": self.design(chosen), "no_programme": chosen == len(self.finalists),
                "estimate": est, "measures": self._confirm_means(labels[chosen]),
                "search_observed": self.finalists[chosen]["means"][obj] if chosen < len(self.finalists) else None,
            },
        }
        if chosen < len(self.finalists) and est.get("mean") is not None:
            out["chosen"]["winners_curse"] = self.finalists[chosen]["means"][obj] - est["mean"]
            cm = out["chosen"]["measures"]
            if cm and p.constraints:
                out["chosen"]["constraints_on_fresh_replications"] = {
                    c.text(): c.violation(cm.get(c.measure, math.nan)) <= 0 for c in p.constraints}
        if best_obs is not None:
            d0 = next((d for d, r in enumerate(self.finalists) if r["trial"] == best_obs["trial"]), None)
            if d0 is not None:
                out["search_best_fresh"] = {"label": labels[d0], "observed": best_obs["means"][obj],
                                            "fresh": kn.mean(d0), "fresh_replications": kn.n(d0),
                                            "overstated_by": best_obs["means"][obj] - kn.mean(d0)}
        if runner is not None:
            r_est = self.estimate(runner)
            pair = self._paired_confirm(labels[chosen], labels[runner])
            out["runner_up"] = {"label": labels[runner], "design": self.design(runner),
                                "no_programme": runner == len(self.finalists), "estimate": r_est,
                                "chosen_minus_runner_up": pair or kn.paired(chosen, runner)}
        bp = self.best_programme
        if chosen == len(self.finalists) and bp is not None:
            out["best_programme"] = {"label": labels[bp], "design": self.design(bp), "estimate": self.estimate(bp)}
        return out

    def _confirm_means(self, label) -> dict:
        vals = self.confirm.get(label)
        if not vals:
            return {}
        return {m: mean_of(v) for m, v in vals.items()}

    def _paired_confirm(self, a, b) -> dict | None:
        from sim.metrics import interval
        obj = self.problem.objective
        va = self.confirm.get(a, {}).get(obj) if a != NO_PROGRAMME else [0.0] * len(self.confirm_replications)
        vb = self.confirm.get(b, {}).get(obj) if b != NO_PROGRAMME else [0.0] * len(self.confirm_replications)
        if not va or not vb or len(va) != len(vb):
            return None
        return {**interval((np.asarray(va) - np.asarray(vb)).tolist()), "n": len(va),
                "replications": "the confirmation replications"}

    # ---------------------------------------------------------------- tables
    def trials_table(self):
        """One row per trial: the design, the mean of each measure over its replications, feasibility."""
        import pandas as pd
        p = self.problem
        fin = {r["trial"] for r in self.finalists}
        front = {r["trial"] for r in self.pareto}
        rows = []
        for r in self.rows:
            row = {"trial": r["trial"], "state": r["state"],
                   **{f.field: table_cell(r["design"].get(f.field)) for f in p.factors},
                   "replications": len(r["replications"]),
                   **{m: r["means"].get(m) for m in MEASURES}, "members": r["means"].get("members"),
                   "feasible": r["feasible"], "violated": "; ".join(r["violated"]) or None,
                   "finalist": r["trial"] in fin, "error": r["error"]}
            if p.multi:
                row["pareto_front"] = r["trial"] in front
            rows.append(row)
        return pd.DataFrame(rows)

    def evaluations_table(self):
        """One row per design x replication of every stage (search, selection, confirm, robust): tidy."""
        import pandas as pd
        rows = []
        for r in self.rows:
            for j, rep in enumerate(r["replications"]):
                rows.append({"stage": "search", "trial": r["trial"], "design": design_label(r["design"]),
                             "replication": rep, "draw": None,
                             **{m: (v[j] if j < len(v) else None) for m, v in r["values"].items()}})
        labels = self.labels()
        for (d, rep), ms in sorted(self.selection_measures.items()):
            rows.append({"stage": "selection", "trial": self.finalists[d]["trial"] if d < len(self.finalists) else None,
                         "design": labels[d], "replication": rep, "draw": None, **ms})
        for label, vals in self.confirm.items():
            for j, rep in enumerate(self.confirm_replications):
                rows.append({"stage": "confirm", "trial": None, "design": label, "replication": rep, "draw": None,
                             **{m: v[j] for m, v in vals.items()}})
        if self.robust:
            for row in self.robust.get("draws", []):
                rows.append({"stage": "robust", "trial": None, **row})
        df = pd.DataFrame(rows)
        keep = ["stage", "trial", "design", "replication", "draw", *MEASURES, "members", "revenue_lift",
                "baseline_profit"]
        return df[[c for c in keep if c in df.columns]] if not df.empty else df

    def report_input(self) -> dict:
        """What reports.html.optimise_sections reads."""
        return {"summary": self.summary(), "trials": self.trials_table()}


def table_cell(v):
    """A design value as a table cell: lists and mappings as their JSON text."""
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def unique_labels(rows: list) -> list:
    """Each trial row's design label, with its trial number where two labels would read the same."""
    labels = [design_label(r["design"]) for r in rows]
    return [f"{lab} (trial {r['trial']})" if labels.count(lab) > 1 else lab for lab, r in zip(labels, rows)]


def design_label(design: dict | None) -> str:
    if design is None:
        return NO_PROGRAMME
    parts = []
    for k, v in design.items():
        name = k.split(".")[-1] if not k.split(".")[-1].isdigit() else ".".join(k.split(".")[-2:])
        if ".levels." in k:
            name = "levels." + ".".join(k.split(".levels.")[1:])
        parts.append(f"{name}={_short(v)}")
    return ", ".join(parts)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, dict)):
        text = json.dumps(v)
        return text if len(text) <= 40 else text[:37] + "..."
    return str(v)
