"""Pieces every HTML report shares: intervals and what they include, the assumptions in force, labels."""
from __future__ import annotations

import pandas as pd

from reports import figures as F
from reports.html.page import Cell, Chart, Section, Table
from sim import format as fmt
from sim.format import month_name

BASELINE_ARM = "baseline"
PROGRAMME_ARM = "programme"
LEVEL = "95%"


def plural(n, word, many=None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def line_label(doc: dict, name: str) -> str:
    """A ledger line ('points.rewards') as the summary labels it (each mechanic declares its lines)."""
    labels = doc.get("ledger_labels") or {}
    if name in labels:
        return labels[name]
    mech, _, line = name.partition(".")
    return f"{mechanic_label(doc, mech)}: {line.replace('_', ' ')}"


def mechanic_label(doc: dict, name: str) -> str:
    return (doc.get("mechanic_labels") or {}).get(name) or name.replace("_", " ").capitalize()


def months_of(monthly: pd.DataFrame) -> list:
    return F.calendar(monthly) if monthly is not None and not monthly.empty else []


def payback_text(pb, months) -> str:
    if not pb:
        return ""
    when = f" ({month_name(months[pb - 1])})" if months and 0 < pb <= len(months) else ""
    return f"month {pb}{when}"


def interval_text(iv: dict, kind="money", cur="", signed=True) -> str:
    """'+2.35m to +2.87m EUR': the unit once, at the end."""
    if not iv or iv.get("ci_low") is None:
        return "no interval (one replication)"
    lo, hi = iv["ci_low"], iv["ci_high"]
    if kind == "pts":
        return f"{fmt.points(lo).removesuffix(' pts')} to {fmt.points(hi)}"
    if kind == "check":
        return f"{fmt.value(kind, lo, '', signed)} to {fmt.value(kind, hi, cur, signed)}"
    return f"{fmt.value(kind, lo, '', signed)} to {fmt.value(kind, hi, cur, signed)}"


def get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def how_sure(n: int, psa=None, listed=True) -> str:
    """What the intervals include, said once, beside the verdict."""
    which = "the behavioural assumptions listed at the end" if listed else "the behavioural assumptions"
    if psa is not None:
        draws = int(psa.get("draws") or len(psa.get("incremental_profit") or []))
        text = (f"How sure: the probability of paying and its spread come from {plural(draws, 'draw')} of the "
                "uncertain assumptions, each run against no programme on the same customers: they include simulation "
                "noise and the assumptions.")
        if n >= 2:
            text += (f" The other intervals in this report are {LEVEL} Student-t intervals over "
                     f"{plural(n, 'replication')} at the central assumptions: simulation noise only.")
        return text
    if n < 2:
        return ("How sure: one replication gives no interval. Run more replications (for example -r 10) to see how "
                f"much of this answer is chance; even then the interval covers simulation noise only, not {which}.")
    return (f"How sure: every interval in this report is a {LEVEL} Student-t interval over {plural(n, 'replication')} "
            "on the same customers and chance events (common random numbers). It includes simulation noise only, "
            f"not uncertainty about {which}; an uncertainty analysis (loyalsim psa) adds those.")


def assumptions_section(rows: list, per_strategy: dict | None = None) -> Section:
    """Every behavioural parameter in force: value, default, range, source (one value column per strategy)."""
    sec = Section("assumptions", "Assumptions in force")
    if per_strategy:
        names = list(per_strategy)
        by_field = {}
        for name in names:
            for r in per_strategy[name]:
                by_field.setdefault(r["field"], {"row": r, "values": {}})["values"][name] = r.get("value")
        rows_out = []
        for fld, entry in by_field.items():
            r = entry["row"]
            rows_out.append([Cell(fld, r.get("doc") or ""),
                             *[value_text(entry["values"].get(n)) if n in entry["values"] else "not used" for n in names],
                             range_text(r), evidence_cell(r), r.get("source") or "not stated"])
        columns = ["Parameter", *names, "Plausible range", "How well its size is known", "Source"]
        numeric = tuple(range(1, 1 + len(names))) + (1 + len(names),)
    else:
        rows_out = []
        for r in rows or []:
            changed = r.get("default") is not None and r.get("value") != r.get("default")
            rows_out.append([Cell(r["field"], r.get("doc") or ""),
                             Cell(value_text(r.get("value")), "default " + value_text(r.get("default")) if changed else "",
                                  "strong" if changed else ""),
                             range_text(r), evidence_cell(r), r.get("source") or "not stated"])
        columns = ["Parameter", "Value", "Plausible range", "How well its size is known", "Source"]
        numeric = (1, 2)
    if rows is None and not per_strategy:
        sec.paragraphs.append("The assumptions could not be read back from this folder (it was saved by a loyalsim "
                              "whose scenario schema differs). The resolved scenario below holds every parameter in force.")
        return sec
    if not rows_out:
        sec.paragraphs.append("This version of loyalsim lists no behavioural parameter with an evidence range for "
                              "this scenario. The resolved scenario below holds every parameter in force.")
        return sec
    sec.paragraphs.append("The behavioural parameters in force: how strongly customers respond to the programme. "
                          "Each has a default drawn from published evidence, a plausible range, its source and how "
                          "well its size is known (measured: a study measured it; direction: a study shows its sign, "
                          "its size is an assumption; assumption: no study)"
                          + ("" if per_strategy else "; a value in bold differs from its default")
                          + ". The answer above depends on them, and the intervals above do not include their "
                          "uncertainty.")
    sec.tables.append(Table(columns, rows_out, numeric=numeric))
    return sec


GRADES = {"measured": "measured", "direction": "direction only", "assumption": "assumption"}


def evidence_cell(r) -> Cell:
    """A parameter's evidence grade, and the field results (loyalsim evidence) that test it."""
    from sim.studies.evidence import tested_by
    grade = GRADES.get(r.get("grade") or "", "not graded")
    tests = r.get("tested_by") or (tested_by(r["field"]) if r.get("field") else [])
    return Cell(grade, ("tested by: " + "; ".join(tests)) if tests else "",
                "strong" if r.get("grade") in ("direction", "assumption") else "")


def bound_lines(doc: dict, what: str) -> list:
    """One line per varied field the summary lists in at_bound: where the value sits in its range."""
    out = []
    for b in doc.get("at_bound") or []:
        side = "top" if b["bound"] == "high" else "bottom"
        out.append(f"At a bound: {what}'s {b['field']} is {value_text(b['value'])}, at the {side} of its range "
                   f"({value_text(b['low'])} to {value_text(b['high'])}); the best setting may lie beyond it, so "
                   "widen the range and run again.")
    return out


def value_text(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def range_text(r) -> str:
    lo, hi = r.get("low"), r.get("high")
    if lo is None and hi is None:
        return "not stated"
    return f"{value_text(lo)} to {value_text(hi)}"


FIGURE_LABELS = {"members_end": "members at the end", "member_share_end": "members' share of customers at the end",
                 "joins": "customers who joined", "fee_income": "membership fees", "staff_cost": "staff cost",
                 "fee_per_member_year": "fee per paying member a year",
                 "value_per_member_year": "value a paying member got back a year (money)"}


def flatten(d, prefix="") -> list:
    """(label, value) for every number or text inside nested dicts; lists are skipped."""
    out = []
    for k, v in d.items():
        name = FIGURE_LABELS.get(str(k))
        if name is None:
            name = str(k).replace("_", " ")
            name = name.removesuffix(" end") + " at the end" if name.endswith(" end") else name
        label = f"{prefix}{name}"
        if isinstance(v, dict):
            if set(v) >= {"mean", "ci_low", "ci_high"}:
                out.append((label, v))
            else:
                out += flatten(v, label + " · ")
        elif isinstance(v, (int, float, str)) or v is None:
            out.append((label, v))
    return out


def guess_kind(label: str) -> str:
    low = label.lower()
    if any(w in low for w in ("rate", "share", "level", "ratio", "breakage")):
        return "share"
    if any(w in low for w in ("cost", "fee", "income", "revenue", "profit", "liability", "saved", "value", "spend",
                              "price", "amount", "deferred", "released", "discount")):
        return "money"
    return "count"


def generic_value(label, v, cur) -> str:
    if isinstance(v, dict):
        kind = guess_kind(label)
        txt = fmt.value(kind, v.get("mean"), cur)
        if v.get("ci_low") is not None:
            txt += f" ({LEVEL}: {fmt.value(kind, v['ci_low'], cur)} to {fmt.value(kind, v['ci_high'], cur)})"
        return txt
    if isinstance(v, str):
        return v
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    kind = guess_kind(label)
    if kind == "share" and not (0 <= v <= 1.5):
        kind = "count"
    return fmt.value(kind, v, cur)


def chart(fig, caption="", wide=False) -> Chart:
    return Chart(fig, caption, wide)


