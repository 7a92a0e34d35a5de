"""Saved outputs that say what they are: every summary carries its ``kind`` and a ``format`` version.

``loyalsim report DIR`` reads DIR/summary.json, checks both and renders the page of that
kind; a document of an unknown kind, without one, or of a newer format is refused with
one line saying which file and what to do, never half-rendered.
"""
from __future__ import annotations

from sim.errors import UserError

FORMAT = 1
KINDS = {
    "run": "a run (loyalsim run)",
    "comparison": "a comparison of strategies (loyalsim compare)",
    "sweep": "a sweep (loyalsim sweep)",
    "psa": "an uncertainty analysis (loyalsim psa)",
    "pilot": "a pilot's value (loyalsim pilot)",
    "optimise": "an optimisation (loyalsim optimise)",
    "evidence": "the field results suite (loyalsim evidence)",
    "backtest": "a backtest against a transaction log (loyalsim backtest)",
    "calibration": "a calibration from a transaction log (loyalsim calibrate)",
}


def stamp(kind: str, doc: dict) -> dict:
    """``doc`` with its kind and format first."""
    if kind not in KINDS:
        raise ValueError(f"unknown summary kind {kind!r}")
    from sim.version import __version__
    return {"kind": kind, "format": FORMAT, "loyalsim_version": __version__,
            **{k: v for k, v in doc.items() if k not in ("kind", "format", "loyalsim_version")}}


def kind_of(doc, where) -> str:
    """The kind of a saved summary, checked; ``where`` names the file in the message."""
    if not isinstance(doc, dict):
        raise UserError(f"{where}: not a loyalsim summary (expected a JSON object)")
    kind, fmt = doc.get("kind"), doc.get("format")
    if kind is None or fmt is None:
        raise UserError(f"{where}: no 'kind' and 'format': saved by a loyalsim older than this one; run the command "
                        "again to save it in this version's format")
    if kind not in KINDS:
        raise UserError(f"{where}: kind {kind!r} is not one loyalsim writes; allowed: {', '.join(KINDS)}")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > FORMAT or fmt < 1:
        raise UserError(f"{where}: format {fmt!r}; this loyalsim reads format {FORMAT}: run the command again "
                        "with this version, or use the loyalsim that wrote it")
    return kind
