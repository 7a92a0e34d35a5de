"""What every terminal answer shares: the verdict as the summary states it, signed amounts, short values."""
from __future__ import annotations

import textwrap

from sim.format import money


def signed(x, cur=""):
    if x is None:
        return "n/a"
    return ("+" if x >= 0 else "") + money(x, cur)


def short(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def verdict_lines(doc: dict, width: int = 118) -> list:
    """'Verdict: HEADLINE: sentence', then its notes, indented: the summary's verdict as it stands."""
    v = doc.get("verdict") or {}
    out = textwrap.wrap(f"Verdict: {v.get('headline', '')}: {v.get('sentence', '')}", width,
                        subsequent_indent="  ")
    for note in v.get("notes") or []:
        out += textwrap.wrap(note, width, initial_indent="  ", subsequent_indent="  ")
    return out


def bound_marks(doc: dict, what: str) -> dict:
    """{field: ' (WHAT at the top of its range: widen it)'} for the summary's at_bound fields."""
    return {b["field"]: f" ({what} at the {'top' if b['bound'] == 'high' else 'bottom'} of its range: widen it)"
            for b in doc.get("at_bound") or []}
