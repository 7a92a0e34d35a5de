"""What a run returns: tidy tables over replications, and the summary a report reads.

``Result`` holds the records of one scenario's baseline and programme arm(s),
one per replication, and shows them as pandas DataFrames:

* ``metrics``: one row per arm x replication x metric (columns arm,
  replication, metric, value), long and tidy; ``metrics_wide()`` pivots it to one
  column per metric;
* ``monthly``: one row per arm x replication x month, one column per monthly
  series (orders, revenue, active customers, each ledger line, each
  mechanic's series);
* ``cost_lines``: one row per arm x replication x ledger line over the horizon
  (mechanic, line, kind, amount);
* ``segments``: one row per arm x replication x segment x metric;
* ``lifts``: one row per replication, one column per metric: programme minus
  baseline on the same customers and random numbers;
* ``lift(metric)``: its mean with a 95% interval, absolute and relative.

``summary()`` is exactly the JSON document ``loyalsim run --json`` prints.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from sim import scaling, verdict
from sim.documents import stamp
from sim.errors import UserError
from sim.metrics import HEADLINE, SEGMENT_METRICS, clean, interval, paired_lift, payback_month, prob_greater
from sim.ledger import line_labels
from sim.work import BASELINE

if TYPE_CHECKING:
    import pandas as pd

PROGRAMME = "programme"
NO_PROGRAMME = "no programme"


class Result:
    """The baseline and programme arm(s) of one scenario over its replications."""

    def __init__(self, scenario, arms: dict, baseline: dict, records: dict, interrupted=False, backend=None,
                 requested=None):
        self.scenario = scenario
        self.arms = dict(arms)              # arm name -> the scenario whose programme it runs
        self._baseline = baseline           # replication -> Record
        self._records = records             # arm name -> {replication -> Record}
        self.interrupted = interrupted
        self.backend = backend
        self.requested = requested
        reps = set(baseline)
        for recs in records.values():
            reps &= set(recs)
        self.replications = sorted(reps)   # replications finished for every arm

    def __repr__(self):
        return (f"Result({self.scenario.name!r}, arms={list(self.arms)}, replications={len(self.replications)}"
                f"{', interrupted' if self.interrupted else ''})")

    # ------------------------------------------------------------------ access
    def records(self, arm=BASELINE) -> list:
        src = self._baseline if arm == BASELINE else self._records[arm]
        return [src[r] for r in self.replications]

    def _arm_names(self):
        return [BASELINE, *self.arms]

    def _default_arm(self, arm):
        if arm is not None:
            if arm not in self.arms:
                raise KeyError(f"no arm {arm!r}; arms: {', '.join(self.arms)}")
            return arm
        return PROGRAMME if PROGRAMME in self.arms else next(iter(self.arms))

    # ------------------------------------------------------------------ tidy tables
    @property
    def metrics(self) -> pd.DataFrame:
        import pandas as pd
        rows = [(arm, rec.replication, k, rec.metrics[k]) for arm in self._arm_names()
                for rec in self.records(arm) for k in HEADLINE]
        return pd.DataFrame(rows, columns=["arm", "replication", "metric", "value"])

    def metrics_wide(self) -> pd.DataFrame:
        return self.metrics.pivot_table(index=["arm", "replication"], columns="metric", values="value",
                                        sort=False).reset_index()

    @property
    def monthly(self) -> pd.DataFrame:
        import pandas as pd
        frames = []
        for arm in self._arm_names():
            for rec in self.records(arm):
                f = rec.monthly.copy()
                f.insert(0, "replication", rec.replication)
                f.insert(0, "arm", arm)
                frames.append(f)
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True, sort=False)
        num = df.select_dtypes("number").columns
        df[num] = df[num].fillna(0.0)  # a mechanic's series is zero in arms without it
        return df

    @property
    def cost_lines(self) -> pd.DataFrame:
        import pandas as pd
        rows = []
        for arm in self._arm_names():
            for rec in self.records(arm):
                for kind, lines in (("cost", rec.cost_lines), ("income", rec.income_lines),
                                    ("revenue", rec.revenue_lines)):
                    for name, amount in lines.items():
                        mech, _, line = name.partition(".")
                        rows.append((arm, rec.replication, mech, line, kind, amount))
        return pd.DataFrame(rows, columns=["arm", "replication", "mechanic", "line", "kind", "amount"])

    @property
    def segments(self) -> pd.DataFrame:
        import pandas as pd
        rows = [(arm, rec.replication, seg, k, v) for arm in self._arm_names() for rec in self.records(arm)
                for seg, m in (rec.metrics.get("segments") or {}).items() for k, v in m.items()]
        return pd.DataFrame(rows, columns=["arm", "replication", "segment", "metric", "value"])

    @property
    def lifts(self) -> pd.DataFrame:
        import pandas as pd
        arm = self._default_arm(None)
        base, prog = self.records(BASELINE), self.records(arm)
        rows = [{"replication": b.replication, **{k: _diff(p.metrics[k], b.metrics[k]) for k in HEADLINE}}
                for b, p in zip(base, prog)]
        return pd.DataFrame(rows)

    def lift(self, metric, arm=None) -> dict:
        """Programme minus baseline: {'absolute': {mean, ci_low, ci_high}, 'relative': {...}}."""
        arm = self._default_arm(arm)
        if metric not in HEADLINE:
            raise KeyError(f"no metric {metric!r}; metrics: {', '.join(HEADLINE)}")
        return clean(paired_lift([r.metrics[metric] for r in self.records(BASELINE)],
                                 [r.metrics[metric] for r in self.records(arm)]))

    def incremental_profit(self, arm=None) -> np.ndarray:
        """Per replication: the arm's profit minus the baseline's."""
        arm = self._default_arm(arm)
        return np.array([p.metrics["profit"] - b.metrics["profit"]
                         for b, p in zip(self.records(BASELINE), self.records(arm))])

    # ------------------------------------------------------------------ the summary
    def summary(self, arm=None) -> dict:
        """The run's answer as one JSON-ready document (what ``loyalsim run --json`` prints)."""
        arm = self._default_arm(arm)
        if not self.replications:
            raise UserError("no replication finished; nothing to report")
        doc = summarise(self.scenario, self.arms[arm], self.records(BASELINE), self.records(arm))
        if self.interrupted:
            doc["interrupted"] = True
        return clean(doc)


def _diff(p, b):
    if p is None or b is None:
        return float("nan")
    return p - b


def summarise(scenario, arm_scenario, base: list, prog: list) -> dict:
    """The JSON result of one programme arm against the baseline, over replications (records in order)."""
    cfg = scenario.cfg
    bm = [r.metrics for r in base]
    pm = [r.metrics for r in prog]
    doc = {
        "scenario": arm_scenario.cfg.name,
        "description": arm_scenario.cfg.description,
        "file": str(arm_scenario.file),
        "seed": cfg.seed,
        "replications": len(prog),
        "replications_asked": arm_scenario.cfg.replications,
        "horizon_days": cfg.horizon_days,
        "start_date": str(cfg.start_date),
        "months": list(prog[0].series.get("calendar_month", [])) if prog else [],
        "month_shares": month_shares(cfg.start_date, cfg.horizon_days),
        "customers_at_launch": cfg.customers.scale_to or cfg.customers.initial,
        "currency": cfg.economics.currency,
        "gross_margin": cfg.economics.gross_margin,
        "baseline": {k: _mean([m[k] for m in bm]) for k in HEADLINE},
        "programme": {k: _mean([m[k] for m in pm]) for k in HEADLINE},
        "lift": {k: paired_lift([m[k] for m in bm], [m[k] for m in pm]) for k in HEADLINE},
    }
    scaled = scaling.describe(cfg)
    if scaled is not None:  # totals are for scale_to customers: the records were scaled where they were made
        doc["scaling"] = {**scaled, "note": scaling.note(scaled)}
    if bm[0].get("segments"):
        doc["segments"] = {
            name: {k: {"baseline": _mean([m["segments"][name][k] for m in bm]),
                       "programme": _mean([m["segments"][name][k] for m in pm]),
                       "lift": paired_lift([m["segments"][name][k] for m in bm],
                                           [m["segments"][name][k] for m in pm])}
                   for k in SEGMENT_METRICS}
            for name in bm[0]["segments"]}
    incr = [p["profit"] - b["profit"] for b, p in zip(bm, pm)]
    roi = [(p["profit"] - b["profit"]) / p["programme_cost"] if p["programme_cost"] else None for b, p in zip(bm, pm)]
    monthly_incr = np.mean([r.series["profit"] - b.series["profit"]
                            for b, r in zip(base, prog)], axis=0)
    lines, income = {}, {}
    for r in prog:
        for k, v in r.cost_lines.items():
            if not k.startswith("base."):
                lines.setdefault(k, []).append(v)
        for k, v in r.income_lines.items():
            if not k.startswith("base."):
                income.setdefault(k, []).append(v)
    doc["economics"] = {
        "incremental_profit": interval(incr),
        "roi": interval([x for x in roi if x is not None]) if any(x is not None for x in roi)
        else {"mean": None, "ci_low": None, "ci_high": None},
        "payback_month": payback_month(monthly_incr),
        # nothing to recover: the cumulative incremental profit is never below zero
        "payback_immediate": bool(monthly_incr.size and (np.cumsum(monthly_incr) >= 0).all() and monthly_incr.sum() > 0),
        "incremental_revenue": interval([p["revenue"] - b["revenue"] for b, p in zip(bm, pm)]),
        "programme_lines": {k: _mean(v) for k, v in sorted(lines.items())},
        "programme_income_lines": {k: _mean(v) for k, v in sorted(income.items())},
        "monthly_incremental_profit": monthly_incr.tolist(),
    }
    gap = naive_member_gap([r.members for r in prog])
    if gap is not None:
        doc["naive_member_gap"] = gap
    mech = {}
    for r in prog:
        for name, summ in r.mechanics.items():
            for k, v in summ.items():
                mech.setdefault(name, {}).setdefault(k, []).append(v)
    doc["mechanics"] = {name: {k: _mean_any(v) for k, v in d.items()} for name, d in mech.items()}
    labels = line_labels()
    doc["ledger_labels"] = {k: labels[k] for k in (*lines, *income, *_revenue_lines(prog)) if k in labels}
    doc["mechanic_labels"] = mechanic_labels()
    doc = stamp("run", doc)
    doc["verdict"] = verdict.of_run(clean(doc)).as_dict()
    return doc


def month_shares(start_date, horizon_days) -> list:
    """Per calendar month of the horizon, the share of its days inside the horizon (1 for a whole month):
    a partial first or last month holds fewer days of orders, and charts of monthly flows say so."""
    from sim.calendar import Calendar
    cal = Calendar(start_date, 0, horizon_days)
    return [round(cal.month_share(m), 6) for m in range(cal.n_months)]


def _revenue_lines(records) -> list:
    return sorted({k for r in records for k in r.revenue_lines if not k.startswith("base.")})


def mechanic_labels() -> dict:
    """Each mechanic's name as a reader knows it ("subscription" -> "Paid membership")."""
    from sim.mechanics import MECHANICS
    return {"programme": "Programme", "base": "Business as usual",
            **{name: cls.LABEL or name.capitalize() for name, cls in MECHANICS.items()}}


def naive_member_gap(members: list) -> dict | None:
    """What a CRM dashboard shows after launch (members against non-members in the programme
    arm) beside what the programme did to the members (the same customers without it).

    Among customers active at launch, spend and orders per customer over the horizon.
    naive gap = members / non-members - 1; causal effect on members = members with the
    programme / the same members without it - 1; selection share = the part of the
    naive difference that is who joined, not what the programme did.
    """
    if not members or any(m is None for m in members):
        return None
    tot = {k: float(sum(m[k] for m in members)) for k in members[0]}
    if not tot["members"] or not tot["non_members"]:
        return None
    out = {"members": tot["members"] / len(members), "non_members": tot["non_members"] / len(members),
           "member_share": tot["members"] / (tot["members"] + tot["non_members"])}
    for key in ("spend", "orders"):
        m_with = tot[f"{key}_members"] / tot["members"]
        m_without = tot[f"{key}_members_without_programme"] / tot["members"]
        others = tot[f"{key}_non_members"] / tot["non_members"]
        naive = m_with - others
        causal = m_with - m_without
        out[key] = {
            "per_member": m_with, "per_non_member": others, "per_member_without_programme": m_without,
            "naive_gap": m_with / others - 1.0 if others else None,
            "causal_effect_on_members": m_with / m_without - 1.0 if m_without else None,
            "naive_to_causal_ratio": naive / causal if causal else None,
            "selection_share": 1.0 - causal / naive if naive else None,
        }
    return out


def _mean(values):
    x = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(x)) if x else None


def _mean_any(values):
    if all(isinstance(v, (int, float)) or v is None for v in values):
        return _mean(values)
    if all(isinstance(v, list) for v in values):
        arr = np.array([[np.nan if x is None else x for x in v] for v in values], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN positions stay NaN -> null
            m = np.nanmean(arr, axis=0) if arr.size else arr
        return [None if math.isnan(x) else float(x) for x in np.atleast_1d(m)]
    if all(isinstance(v, dict) for v in values):
        return {k: _mean_any([v[k] for v in values]) for k in values[0]}
    return values[0]


# --------------------------------------------------------------------------- comparisons

class Comparison:
    """Strategies on the same customers and random numbers: one baseline, one arm each."""

    def __init__(self, result: Result, files: dict):
        self.result = result      # one Result whose arms are the strategies
        self.files = files        # strategy name -> file

    @property
    def strategies(self) -> list:
        return list(self.result.arms)

    def __getitem__(self, name) -> Result:
        r = self.result
        return Result(r.scenario, {name: r.arms[name]}, r._baseline, {name: r._records[name]}, r.interrupted)

    @property
    def interrupted(self):
        return self.result.interrupted

    def incremental_profit(self) -> pd.DataFrame:
        """One row per replication, one column per strategy."""
        import pandas as pd
        r = self.result
        return pd.DataFrame({"replication": r.replications,
                             **{name: r.incremental_profit(name) for name in self.strategies}})

    def summary(self) -> dict:
        """Every strategy against no programme, ranked by mean incremental profit with "no programme"
        among them (its incremental profit is zero by construction), and the one verdict."""
        r = self.result
        if not r.replications:
            raise UserError("no replication finished; nothing to report")
        first = r.scenario
        docs = {name: r.summary(name) for name in self.strategies}
        incr = {name: r.incremental_profit(name).tolist() for name in self.strategies}
        zero = [0.0] * len(r.replications)
        options = [*self.strategies, NO_PROGRAMME]
        means = {name: docs[name]["economics"]["incremental_profit"]["mean"] for name in self.strategies}
        means[NO_PROGRAMME] = 0.0
        order = sorted(options, key=lambda n: -means[n] if means[n] is not None else float("inf"))
        ranking = []
        for pos, name in enumerate(order):
            nxt = order[pos + 1] if pos + 1 < len(order) else None
            beats = {"strategy": nxt, "probability": prob_greater(incr.get(name, zero), incr.get(nxt, zero))} \
                if nxt else None
            if name == NO_PROGRAMME:
                ranking.append({"rank": pos + 1, "strategy": name, "no_programme": True,
                                "incremental_profit": {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0},
                                "programme_cost": 0.0, "beats_next": beats})
                continue
            d = docs[name]
            ranking.append({
                "rank": pos + 1,
                "strategy": name,
                "file": d["file"],
                "verdict": d["verdict"],
                "incremental_profit": d["economics"]["incremental_profit"],
                "roi": d["economics"]["roi"],
                "payback_month": d["economics"]["payback_month"],
                "retention_lift": d["lift"]["retention_rate"]["absolute"],
                "average_check_lift": d["lift"]["average_check"]["relative"],
                "purchase_frequency_lift": d["lift"]["purchase_frequency"]["relative"],
                "programme_cost": d["programme"]["programme_cost"],
                "beats_next": beats,
            })
        doc = {
            "seed": first.cfg.seed,
            "replications": len(r.replications),
            "horizon_days": first.cfg.horizon_days,
            "currency": first.cfg.economics.currency,
            "months": docs[self.strategies[0]].get("months", []),
            "baseline": docs[self.strategies[0]]["baseline"],
            "ranking": ranking,
            "strategies": docs,
        }
        if r.interrupted:
            doc["interrupted"] = True
        doc = stamp("comparison", doc)
        doc["verdict"] = verdict.of_comparison(clean(doc)).as_dict()
        return clean(doc)
