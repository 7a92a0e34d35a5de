"""A launch base made of the real customers of a log: ``customers: {start: twin}``.

The twin file (Parquet, written by ``loyalsim calibrate --out``; its columns are
described in ``calibration/twin.py``) holds each real customer's history and their
posterior under the fitted models. Here each row becomes one agent on launch day:

* alive or not: a uniform keyed by the customer's hash below ``p_alive``;
* purchase rate lambda ~ Gamma(rate_shape, rate_rate) per day; dropout given alive:
  BG/NBD p ~ Beta(drop_a, drop_b), Pareto/NBD mu ~ Gamma(drop_a, drop_b) per day;
* spend: nu ~ Gamma(nu_shape, nu_rate), orders Gamma(spend_shape, nu);
* the purchase clock and the dropout clock: fresh exponentials (both processes are
  memoryless given the posterior and being alive);
* history: first purchase day, last purchase day, lifetime orders, and the last
  eleven months of spend and orders in the trailing-year ring (the twelfth month of
  the ring is the launch month, which starts empty, as for a mature base).

Every draw is keyed by the customer's hash (the streams ``twin.*``), so it does not
depend on the row order, the sample or the arm. ``customers.sample`` keeps a share
(0 < s <= 1) or a count (> 1) of the twin: the customers with the smallest
seed-independent uniforms of their hash, so a smaller sample is part of a larger one.
With ``customers.scale_to`` the sample is drawn afresh each replication instead
(``scaled_sample``: stratified by RFM segment, a bootstrap when the twin is a panel of a
larger chain), and sim.scaling scales the totals (docs/twin.md#a-chain-from-a-panel).

Faults are reported on one line naming the file: missing, not Parquet, not a twin,
written by another twin format, or missing columns.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import DataError
from sim.random import Stream
from sim.traits import TRAIT_NAMES

FORMAT = "1"
MONTHS = 12
REQUIRED = ("customer_hash", "x", "t_x_days", "T_days", "days_since_last", "p_alive", "rate_shape", "rate_rate",
            "drop_a", "drop_b", "spend_shape", "nu_shape", "nu_rate", "window_spend", "segment") + tuple(
    f"{w}_m{k}" for w in ("spend", "orders") for k in range(1, MONTHS + 1))
MODELS = ("bgnbd", "paretonbd")
_SAMPLE_STREAM = Stream(0, "twin.sample")  # seed-independent: the same panel in every run


def _parquet(path):
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise DataError(f"{path}: reading a twin needs the pyarrow package (pip install pyarrow)") from None
    p = Path(path)
    if not p.is_file():
        raise DataError(f"customers.twin: {p} does not exist; write it with loyalsim calibrate LOG --out FILE.yaml")
    try:
        return pq.ParquetFile(p)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError, its IO errors OSErrors
        raise DataError(f"customers.twin: {p} is not a Parquet file ({type(e).__name__}); expected the twin "
                        "loyalsim calibrate writes") from None


def describe(path) -> dict:
    """The twin's metadata, checked: kind, format, model, customers."""
    f = _parquet(path)
    meta = {k.decode(): v.decode() for k, v in (f.schema_arrow.metadata or {}).items()}
    if meta.get("loyalsim.kind") != "twin":
        raise DataError(f"customers.twin: {path} is a Parquet file but not a loyalsim twin (no 'loyalsim.kind: twin' "
                        "in its metadata)")
    if meta.get("loyalsim.format") != FORMAT:
        raise DataError(f"customers.twin: {path} is a twin of format {meta.get('loyalsim.format')!r} (loyalsim "
                        f"{meta.get('loyalsim.version', '?')}); this loyalsim reads format {FORMAT}: run loyalsim "
                        "calibrate again")
    if meta.get("model") not in MODELS:
        raise DataError(f"customers.twin: {path}: model {meta.get('model')!r}; allowed: {', '.join(MODELS)}")
    missing = [c for c in REQUIRED if c not in f.schema_arrow.names]
    if missing:
        raise DataError(f"customers.twin: {path} lacks the columns {', '.join(missing)}; run loyalsim calibrate again")
    return {**meta, "rows": f.metadata.num_rows}


def sample_rows(hashes: np.ndarray, sample) -> np.ndarray:
    """Sorted row positions of the sample: all rows (None), a share (<= 1) or a count (> 1)."""
    n = hashes.size
    if sample is None:
        return np.arange(n)
    k = int(round(sample * n)) if sample <= 1 else int(sample)
    k = max(1, min(k, n))
    if k == n:
        return np.arange(n)
    u = _SAMPLE_STREAM.uniform(hashes, 0)
    return np.sort(np.argpartition(u, k - 1)[:k])


def sample_size(rows: int, sample) -> int:
    """How many customers of a twin of ``rows`` customers a scenario with this sample starts from."""
    if sample is None:
        return rows
    return max(1, min(int(round(sample * rows)) if sample <= 1 else int(sample), rows))


def scaled_sample(cols: dict, n: int, seed: int, with_replacement: bool) -> dict:
    """One replication's sample of the twin for ``customers.scale_to``: ``n`` rows, stratified by RFM segment.

    Proportional allocation (largest remainders), so each segment keeps its share of the twin and
    the segments' differences drop out of the sampling error. ``with_replacement`` False (the twin
    is the whole base the run stands for): in each segment, the customers with the smallest
    uniforms of their hash in the replication's stream ``twin.scale``; True (the twin is itself a
    sample or panel of a larger chain): a bootstrap resample, each draw a uniform of the draw's
    number, and a customer drawn k > 1 times becomes k agents whose draws are keyed by their hash
    mixed with the copy number (the same history, independent behaviour). Keyed by the
    replication's seed and the hashes, never by row order or process: both arms of a replication
    start from the same customers, and every backend draws the same sample.

    Returns the sampled columns with ``draw_key`` (the key of each agent's draws) added.
    """
    h = cols["customer_hash"].astype(np.uint64)
    seg = np.asarray(cols["segment"])
    if seg.dtype.kind != "U":
        seg = seg.astype(str)
    names, code = np.unique(seg, return_inverse=True)
    sizes = np.bincount(code, minlength=names.size)
    quota = n * sizes / sizes.sum()
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:  # largest remainders; ties to the larger segment, then the name order
        order = np.lexsort((np.arange(names.size), -sizes, -(quota - take)))
        take[order[:short]] += 1
    stream = Stream(seed, "twin.scale")
    parts, copies = [], []
    for g in range(names.size):
        rows = np.flatnonzero(code == g)
        rows = rows[np.argsort(h[rows], kind="stable")]  # the row order of the file does not matter
        k = int(take[g])
        if k == 0:
            continue
        if with_replacement:
            u = stream.uniform(np.arange(k, dtype=np.uint64), g + 1)
            pick = rows[np.minimum((u * rows.size).astype(np.int64), rows.size - 1)]
            # the copy number of each draw: how many earlier draws picked the same customer
            first = np.argsort(pick, kind="stable")
            sp = pick[first]
            start = np.r_[0, np.flatnonzero(sp[1:] != sp[:-1]) + 1]
            run = np.repeat(start, np.diff(np.r_[start, sp.size]))
            copy = np.empty(k, dtype=np.uint64)
            copy[first] = (np.arange(k) - run).astype(np.uint64)
        else:
            u = stream.uniform(h[rows], 0)
            pick = rows[np.sort(np.argpartition(u, k - 1)[:k])] if k < rows.size else rows
            copy = np.zeros(pick.size, dtype=np.uint64)
        parts.append(pick)
        copies.append(copy)
    pick = np.concatenate(parts)
    copy = np.concatenate(copies)
    out = {k: v[pick] for k, v in cols.items()}
    out["draw_key"] = draw_keys(h[pick], copy)
    return out


def draw_keys(hashes: np.ndarray, copy: np.ndarray) -> np.ndarray:
    """The key of a twin agent's draws: the hash itself for the first copy (so a customer drawn once
    has the draws of an unscaled run), the hash mixed with the copy number for the others."""
    from sim.random import _GOLDEN, _mix
    hashes = np.asarray(hashes, dtype=np.uint64)
    copy = np.asarray(copy, dtype=np.uint64)
    return np.where(copy == 0, hashes, _mix(hashes ^ (copy * _GOLDEN)))


def read(path, sample=None) -> tuple[dict, dict]:
    """(metadata, columns as numpy arrays) of the twin's sampled rows."""
    meta = describe(path)
    f = _parquet(path)
    # one column at a time, each copied out of Arrow's memory, so a million customers' file is never in
    # memory twice; float64 columns become float32 (half the memory of the columns the launch base reads)
    cols = {name: _column(f.read(columns=[name]).column(0)) for name in REQUIRED}
    _release_arrow_memory()
    rows = sample_rows(cols["customer_hash"].astype(np.uint64), sample)
    if rows.size < cols["x"].size:
        cols = {k: v[rows] for k, v in cols.items()}
    bad = ~(np.isfinite(cols["rate_rate"]) & (cols["rate_rate"] > 0) & (cols["rate_shape"] > 0)
            & (cols["nu_rate"] > 0) & (cols["p_alive"] >= 0) & (cols["p_alive"] <= 1))
    if bad.any():
        raise DataError(f"customers.twin: {path}: {int(bad.sum())} rows with a posterior outside its range "
                        "(rates and shapes > 0, p_alive in [0, 1]); run loyalsim calibrate again")
    return meta, cols


def _column(chunked) -> np.ndarray:
    """A twin column as a numpy array of its own (no view of Arrow's buffers). Text (the RFM segment)
    becomes a fixed-width str array through a dictionary of its few distinct values: a million
    Python string objects would cost more memory than the float columns and seconds to compare."""
    import pyarrow as pa
    import pyarrow.compute as pc
    arr = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    if (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) and not arr.null_count:
        enc = pc.dictionary_encode(arr)
        names = np.asarray(enc.dictionary.to_pylist(), dtype=str)
        return names[enc.indices.to_numpy()]
    values = arr.to_numpy(zero_copy_only=False)
    if values.dtype == np.float64:
        return values.astype(np.float32)
    return values.copy() if values.base is not None else values


def _release_arrow_memory():
    """Hand Arrow's freed reading buffers back to the system (its allocator keeps them otherwise, and a
    million customers' file is some hundred MB the run would carry as resident memory)."""
    import pyarrow as pa
    pa.default_memory_pool().release_unused()


def load(path, sample=None) -> tuple[dict, dict]:
    """``read``, once per launch base (not kept: a million customers' columns are 160 MB a run would carry)."""
    return read(path, sample)


def fill(c, idx, scenario, streams, meta, t, launch_month: int):
    """Set the twin's traits and history on rows ``idx`` of the base ``c`` (uids already set)."""
    cfg = scenario.cfg.customers
    h = (t["draw_key"] if "draw_key" in t else t["customer_hash"]).astype(np.uint64)
    seg_names = [s.name for s in cfg.segments]
    names = np.asarray(t["segment"])
    if names.dtype.kind != "U":  # read gives a str array already (a copy of a million names is 44 MB)
        names = names.astype(str)
    seg = np.zeros(idx.size, dtype=np.int16)
    for i, name in enumerate(seg_names):
        seg[names == name] = i  # the twin's RFM segments map onto scenario segments of the same name
    c.segment[idx] = seg
    c.segment_names = seg_names
    c.responsiveness[idx] = 1.0
    x = t["x"].astype(np.int64)
    first = np.rint(t["T_days"]).astype(np.int32)
    last = np.rint(t["days_since_last"]).astype(np.int32)
    c.born_day[idx] = -1 - first            # the calibration end is day -1, launch day 0
    c.last_order_day[idx] = -1 - last
    c.orders[idx] = (x + 1).astype(np.int32)
    alive = streams["twin.alive"].uniform(h, 0) < t["p_alive"]
    c.lam[idx] = streams["twin.rate"].gamma(t["rate_shape"], h, 0) / t["rate_rate"]
    if meta["model"] == "bgnbd":
        c.p_drop[idx] = streams["twin.dropout"].beta(t["drop_a"], t["drop_b"], h, 0)
        c.mu[idx] = 0.0
    else:
        c.mu[idx] = streams["twin.dropout"].gamma(t["drop_a"], h, 0) / t["drop_b"]
        c.p_drop[idx] = 0.0
    c.spend_shape[idx] = t["spend_shape"]
    c.spend_rate[idx] = streams["twin.spend"].gamma(t["nu_shape"], h, 0) / t["nu_rate"]
    for s_i, seg_cfg in enumerate(cfg.segments):
        m = seg == s_i
        for name in TRAIT_NAMES:
            tc = seg_cfg.traits[name]
            getattr(c, name)[idx[m]] = streams[f"trait.{name}"].beta(tc.a, tc.b, h[m], 0)
    c.present[idx] = True
    c.alive[idx] = alive
    # fresh clocks for the living (memoryless); none for the dead
    c.purchase_budget[idx] = np.where(alive, streams["twin.purchase"].exponential(h, 0), np.inf)
    c.dropout_budget[idx] = np.where(alive, streams["twin.life"].exponential(h, 0), np.inf)
    c.rate[idx] = c.lam[idx] * alive
    c.hazard[idx] = c.mu[idx] * alive
    # the ring: months 1..11 before launch; the launch month's bucket starts empty
    for k in range(1, MONTHS):
        slot = (launch_month - k) % MONTHS
        c.month_orders[slot, idx] = t[f"orders_m{k}"].astype(np.uint16)
        c.month_spend[slot, idx] = t[f"spend_m{k}"].astype(np.float32)
    c.year_orders[idx] = c.month_orders[:, idx].sum(axis=0).astype(np.uint16)
    c.ring_month = launch_month
