"""``loyalsim validate FILE --explain``: every field in force, its value, default, plausible range, source and
evidence grade (how well the default's size is known: sim.schema.GRADES)."""
from __future__ import annotations

import datetime as _dt
import textwrap


def rows(scenario) -> list:
    """One row per value field of the resolved scenario (programme sections not in force are left out)."""
    from sim.scenario import scenario_schema
    from sim.schema import REQUIRED, ListOf, Section
    resolved = scenario.resolved()
    out = []

    def walk(spec, value, path):
        if isinstance(spec, Section):
            if value is None:
                return
            if spec.open_keys and not spec.fields:
                for k, v in (value or {}).items():
                    out.append({"field": f"{path}.{k}", "value": v, "default": None, "low": None, "high": None,
                                "source": "", "grade": None, "doc": spec.doc})
                return
            for k, sub in spec.fields.items():
                if path == "programme" and (value.get(k) is None or value[k].get("enabled", True) is False) \
                        and k != "enrolment":
                    continue
                walk(sub, value.get(k), f"{path}.{k}" if path else k)
        elif isinstance(spec, ListOf):
            for i, item in enumerate(value or []):
                walk(spec.item, item, f"{path}[{i}]")
        else:
            d = getattr(spec, "default", None)
            if isinstance(d, _dt.date):  # as the resolved value reads (ISO text), so that --json can carry it
                d = d.isoformat()
            rng = getattr(spec, "range", None)
            out.append({"field": path, "value": value, "default": None if d is REQUIRED else d,
                        "low": rng[0] if rng else None, "high": rng[1] if rng else None,
                        "source": getattr(spec, "source", "") or "", "grade": getattr(spec, "grade", None),
                        "doc": spec.doc})

    walk(scenario_schema(), resolved, "")
    from sim.scenario import felt, unfelt
    cannot_feel = unfelt(scenario.cfg)  # enrolment with nothing to join, reach with no message sent, ...
    return [r for r in out if felt(r["field"], cannot_feel)]


def _text(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (_dt.date,)):
        return v.isoformat()
    return str(v)


def render(scenario, width=120) -> str:
    from sim.schema import GRADES
    out = textwrap.wrap(f"{scenario.file}: every field in force, its value, its default, the plausible range the "
                        "evidence gives (the prior of loyalsim psa), how well the default's size is known (grade) "
                        "and where the default comes from.", width) + [""]
    head = f"{'field':52} {'value':>12} {'default':>12}  {'range':>15}  {'grade':<10}"
    out += [head.rstrip(), "-" * len(head)]
    for r in rows(scenario):
        rng = "" if r["low"] is None else f"{_text(r['low'])} .. {_text(r['high'])}"
        value, default = _text(r["value"]), _text(r["default"])
        grade = r.get("grade") or ""
        mark = " *" if r["default"] is not None and value != default else "  "
        if len(value) > 12 or len(default) > 10:  # words (a name, a description): on a line of their own
            out.append(f"{r['field']:52} {'(below)':>12}{mark}{'':>10}  {rng:>15}  {grade}".rstrip())
            text = f"= {value}" + (f"   (default: {default})" if mark == " *" and default != "" else "")
            out += [f"      {line}" for line in textwrap.wrap(text, width - 6)]
        else:
            out.append(f"{r['field']:52} {value:>12}{mark}{default:>10}  {rng:>15}  {grade}".rstrip())
        note = r["source"] or ""
        if r["doc"] and r["doc"] not in note:
            note = f"{r['doc']}" + (f". Source: {note}" if note else "")
        elif note:
            note = f"Source: {note}"
        for line in textwrap.wrap(note, width - 6):
            out.append(f"      {line}")
    out += ["", "* the file sets a value other than the default.", "grade: how well the default's size is known:"]
    out += [f"  {name:<10}  {meaning}" for name, meaning in GRADES.items()]
    return "\n".join(out)
