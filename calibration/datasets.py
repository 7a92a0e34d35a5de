"""Data sets shipped with loyalsim.

CDNOW: the 1/10 sample of the CDNOW cohort (first purchase in Q1 1997, followed to
the end of June 1998), the standard test log of the "buy till you die" literature.
See ``calibration/data/README.md`` for the file format and the published fits.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CDNOW_FILE = "CDNOW_sample.txt"


def cdnow_path() -> Path:
    """Path of the shipped CDNOW transaction log (whitespace text, no header)."""
    path = resources.files("calibration") / "data" / CDNOW_FILE
    return Path(str(path))
