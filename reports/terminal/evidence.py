"""The field results suite on the terminal: one row per published study, what it measured, what loyalsim
predicts, whether that is inside the published range, and whether the check is in or out of sample."""
from __future__ import annotations

import textwrap

from reports.terminal.common import verdict_lines
from sim.format import figure, figure_interval, published_range

COLUMNS = (("study", 34), ("measured (range)", 36), ("predicted [95% interval]", 34), ("in range", 9),
           ("sample", 7))


def row_cells(r) -> list:
    m, unit = r["measured"], r["unit"]
    return [r["study"], f"{figure(unit, m['value'])} ({published_range(unit, m['low'], m['high'])})",
            figure_interval(unit, r["predicted"]), "yes" if r["within"] else "MISS",
            "in" if r["in_sample"] else "out"]


def table(doc) -> list:
    """The table as the README shows it: study, measured, predicted, in range, in or out of sample."""
    out = ["  ".join(f"{name:{w}}" for name, w in COLUMNS).rstrip(), "-" * (sum(w for _, w in COLUMNS) + 8)]
    for r in doc["rows"]:
        out.append("  ".join(f"{c:{w}}" for c, (_, w) in zip(row_cells(r), COLUMNS)).rstrip())
    return out


def render(doc) -> str:
    rows = doc["rows"]
    n_out = sum(1 for r in rows if not r["in_sample"])
    reps = sorted({r["predicted"]["replications"] for r in rows})
    out = [f"Published field results replicated  ({len(rows)} rows, {n_out} out of sample; "
           f"{'/'.join(str(n) for n in reps)} replications an experiment{', quick' if doc.get('quick') else ''})",
           ""]
    out += table(doc)
    out.append("")
    for r in rows:
        text = f"{r['study']}: {r['citation']}; {r['setting']}. Measured: {r['measured']['text']}. Shows {r['shows']}."
        if r.get("note"):
            text += f" Note: {r['note']}."
        if not r["within"] and r.get("miss"):
            text += f" Why it misses: {r['miss']}."
        out += textwrap.wrap(text, 118, subsequent_indent="    ")
    out.append("")
    out += verdict_lines(doc)
    return "\n".join(out)
