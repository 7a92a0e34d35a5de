"""Small YAML inputs of calibration (KPI targets, lift evidence): read safely, fail clearly.

They are read as scenarios are (:mod:`sim.yamlio`): safe types only, a key given
twice is an error, aliases cannot expand without bound, and the file must be a
regular file of at most a few MB, checked before it is read.
"""
from __future__ import annotations

from pathlib import Path

from sim.errors import DataError


def read_yaml(path: Path):
    """The parsed YAML of a file, or a DataError naming the file and what went wrong."""
    from sim.yamlio import YamlProblem, read_file
    try:
        return read_file(Path(path), what="YAML")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except YamlProblem as e:
        raise DataError(f"{path}: {e}") from None
