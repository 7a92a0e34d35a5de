"""The twin: the real customers of a log, as they stand at the end of its calibration period.

``loyalsim calibrate LOG --out population.yaml`` writes, beside the block, a Parquet
file with one row per customer of the calibration cohort (the block names it,
``twin: population.twin.parquet``), and a scenario starts from it with
``customers: {start: twin}``. Each row holds the customer's own history and the
parameters of their own posterior under the fitted models; ``sim.twin`` draws
each agent's traits from it (keyed by the customer's hash, so every arm and every
backend sees the same people).

What a row holds:

* ``customer_hash``: the log's customer id as a keyed hash (BLAKE2b, 64 bits, with
  a salt made at calibration time and written to ``<twin>.salt`` beside the file;
  see :func:`hash_ids`). Nothing else of the log's identity is kept: no names,
  dates of birth, addresses or free text are read from a log in the first place.
* history, in days: ``x`` (repeat purchases), ``t_x_days`` (first to last purchase),
  ``T_days`` (first purchase to the calibration end), ``days_since_last``,
  ``monetary_value`` (mean repeat order) and ``mean_order_value`` (all orders);
* ``segment``: the RFM segment (calibration.segments' rules);
* ``window_spend`` / ``window_orders``: spend and orders over the qualification
  window (``WINDOW_DAYS`` before the calibration end), and the same by month in
  ``spend_m1 .. spend_m12`` / ``orders_m1 .. orders_m12`` (m1: the 30.44 days
  ending on the calibration end), which fill the engine's trailing-year ring so a
  tier programme sees each customer's own spend at launch;
* the posterior, per day: ``p_alive`` = P(alive | x, t_x, T); the purchase rate
  lambda ~ Gamma(``rate_shape`` = r + x, rate ``rate_rate`` = (alpha + T) per day);
  the dropout given alive, BG/NBD p ~ Beta(``drop_a`` = a, ``drop_b`` = b + x),
  Pareto/NBD mu ~ Gamma(``drop_a`` = s, rate ``drop_b`` = beta + T per day); the
  spend, nu ~ Gamma(``nu_shape`` = q + p x, rate ``nu_rate`` = gamma + x zbar) with
  orders Gamma(``spend_shape`` = p, nu) (Fader, Hardie & Lee 2005b).

Given alive at T, the BG/NBD and Pareto/NBD posteriors of (lambda, dropout) are
exactly these independent Gamma / Beta / Gamma laws (the likelihood of an alive
customer is lambda^x e^(-lambda T) times (1-p)^x or e^(-mu T)). A customer drawn
dead keeps the same rate law (it only matters if a campaign wins them back). The
purchase clock is conditioned on the time since the last purchase through
P(alive) and the rate's posterior; given both, a Poisson purchaser's wait to the
next order is a fresh exponential (memoryless), which is what the engine draws.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.segments import rfm_scores
from sim.errors import DataError
from sim.version import __version__

FORMAT = 1
WINDOW_DAYS = 365          # the tiers' default qualification window: a year
MONTHS = 12
MONTH_DAYS = 365.25 / 12.0
SALT_BYTES = 16


def hash_ids(ids, salt: bytes) -> np.ndarray:
    """64-bit keyed BLAKE2b hashes of the customer ids (as text).

    Salted, because ids are often sequential numbers or e-mail addresses: an
    unsalted hash of those is undone by hashing every candidate. With the salt kept
    apart (the ``.salt`` file, which the analyst keeps and need not share), the
    twin alone cannot be linked back to people; with it, the analyst can hash the
    CRM's ids the same way to find a customer the outputs list."""
    out = np.empty(len(ids), dtype=np.uint64)
    for i, value in enumerate(ids):
        digest = hashlib.blake2b(str(value).encode("utf-8"), digest_size=8, key=salt).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


def twin_table(result, salt: bytes) -> pd.DataFrame:
    """One row per customer of the calibration cohort: history, segment, window spend, posterior."""
    summary, log = result.summary, result.log
    fit, spend = result.purchase_fit, result.spend_fit
    unit = summary.days_per_unit
    c = summary.customers
    x = c["frequency"].to_numpy(float)
    t_x, T = summary.t_x, summary.T
    zbar = c["monetary_value"].to_numpy(float)
    table = pd.DataFrame({
        "customer_hash": hash_ids(c.index, salt),
        "x": x.astype(np.int32),
        "t_x_days": (t_x * unit).astype(np.float32),
        "T_days": (T * unit).astype(np.float32),
        "days_since_last": ((T - t_x) * unit).astype(np.float32),
        "monetary_value": zbar.astype(np.float32),
        "mean_order_value": c["mean_order_value"].to_numpy(np.float32),
        "segment": rfm_scores(summary)["segment"].to_numpy(str),
    })
    _window(table, summary, log)
    pr = fit.params
    table["p_alive"] = np.clip(fit.probability_alive(x, t_x, T), 0.0, 1.0)
    table["rate_shape"] = pr["r"] + x
    table["rate_rate"] = (pr["alpha"] + T) * unit       # per day
    if fit.model == "bgnbd":
        table["drop_a"] = np.full(x.size, pr["a"])
        table["drop_b"] = pr["b"] + x
    else:
        table["drop_a"] = np.full(x.size, pr["s"])
        table["drop_b"] = (pr["beta"] + T) * unit       # per day
    sp = spend.params
    table["spend_shape"] = np.full(x.size, sp["p"])
    table["nu_shape"] = sp["q"] + sp["p"] * x
    table["nu_rate"] = sp["gamma"] + x * zbar
    for name in ("p_alive", "rate_shape", "rate_rate", "drop_a", "drop_b", "spend_shape", "nu_shape", "nu_rate"):
        table[name] = table[name].astype(np.float32)   # 7 digits: more than a posterior's parameters carry
    # a stable order, independent of the log's row order: by hash
    return table.sort_values("customer_hash", kind="stable").reset_index(drop=True)


def _window(table, summary, log):
    """Spend and orders over the qualification window before the calibration end, in all and by month."""
    end = summary.calibration_end
    orders = log.orders
    recent = orders[(orders["date"] <= end) & (orders["date"] > end - pd.Timedelta(days=WINDOW_DAYS))]
    recent = recent[recent["customer"].isin(summary.customers.index)]
    pos = summary.customers.index.get_indexer(recent["customer"])
    ago = (end - recent["date"]).dt.days.to_numpy()
    month = np.minimum((ago / MONTH_DAYS).astype(int), MONTHS - 1)
    n = len(table)
    amount = recent["amount"].to_numpy(float)
    for k in range(MONTHS):
        m = month == k
        table[f"spend_m{k + 1}"] = np.bincount(pos[m], weights=amount[m], minlength=n).astype(np.float32)
        table[f"orders_m{k + 1}"] = np.bincount(pos[m], minlength=n).astype(np.int32)
    table["window_spend"] = np.bincount(pos, weights=amount, minlength=n)
    table["window_orders"] = np.bincount(pos, minlength=n).astype(np.int32)


def twin_path(block_path) -> Path:
    """Where the twin of a population block is written: beside it, named after it."""
    p = Path(block_path)
    return p.with_name(p.stem + ".twin.parquet")


def write_twin(path, table: pd.DataFrame, result) -> Path:
    """Write the twin as Parquet, with what it is in the file's metadata; returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    fit = result.purchase_fit
    meta = {
        "loyalsim.kind": "twin", "loyalsim.format": str(FORMAT), "loyalsim.version": __version__,
        "model": fit.model, "calibration_end": result.summary.calibration_end.date().isoformat(),
        "customers": str(len(table)), "twin_id": uuid.uuid4().hex, "window_days": str(WINDOW_DAYS),
        "source": str(result.log.source),
    }
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **{k: str(v) for k, v in meta.items()}})
    path = Path(path)
    try:
        pq.write_table(arrow, path)
    except OSError as e:
        raise DataError(f"{path}: cannot write the twin ({e.strerror or e})") from None
    return path


def new_salt(path) -> bytes:
    """A fresh salt, written to ``<twin>.salt`` (hex) with owner-only permissions."""
    salt = os.urandom(SALT_BYTES)
    salt_file = Path(str(path) + ".salt")
    salt_file.write_text(salt.hex() + "\n")
    try:
        salt_file.chmod(0o600)
    except OSError:
        pass
    return salt


def read_salt(value: str) -> bytes:
    """A salt given as hex, or as a file holding it (to keep hashes the same across calibrations)."""
    text = value
    p = Path(value)
    if p.is_file():
        text = p.read_text().strip()
    try:
        salt = bytes.fromhex(text)
    except ValueError:
        raise DataError(f"--twin-salt: '{value}' is neither hex nor a file holding hex") from None
    if not 4 <= len(salt) <= 64:
        raise DataError(f"--twin-salt: {len(salt)} bytes; allowed: 4 to 64 bytes of hex")
    return salt
