"""Plain data: the one converter from what the simulator holds to what JSON, YAML and Parquet take.

A result carries numpy scalars and arrays, validated scenario sections (read-only
mappings and tuples), dates and undefined numbers (NaN, infinity). ``plain`` turns
any of these into plain Python: dicts with text keys, lists, bools, ints, floats,
text. Undefined numbers become None (JSON's null) unless ``keep_undefined`` is set:
the records of the result store keep NaN, because the studies subtract them.

A leaf module on purpose (numpy and the standard library only): the reports use it
without importing the simulation engine.
"""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np


def plain(x, *, keep_undefined: bool = False):
    """``x`` as plain Python data (JSON-ready: NaN and infinity as None unless ``keep_undefined``)."""
    if isinstance(x, dict):
        return {str(k): plain(v, keep_undefined=keep_undefined) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [plain(v, keep_undefined=keep_undefined) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if keep_undefined or math.isfinite(x) else None
    if isinstance(x, _dt.datetime) and x.tzinfo is None and x.time() == _dt.time(0):
        return x.date().isoformat()   # a day (a log's dates, pandas Timestamps): the date alone
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat()
    return x
