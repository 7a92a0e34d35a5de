"""Read a transaction log and merge it into one transaction per customer per day.

A transaction log is a table with one row per purchase (or per order line): who
bought, when, and for how much. loyalsim reads

- CSV (comma, semicolon, tab or pipe separated, with a header row),
- Parquet,
- whitespace-separated text without a header, such as the CDNOW sample
  (``master_id sample_id date(YYYYMMDD) number_of_cds dollar_value``; the customer
  is the second column, ``sample_id``), or three columns ``customer date amount``.

Columns are chosen with ``customer_col``/``date_col``/``amount_col``; when one is
``None`` it is guessed from the column names (see ``_GUESSES``). Dates follow the
policy in :mod:`calibration.dates`.

Several purchases by one customer on one day are one transaction: their values
are summed. The models count purchase occasions, and the published CDNOW fits only
come out with this merge.

Returns and zero-value rows (``returns=``):

``"net"`` (default)
    Negative rows (returns, refunds) are netted into the same customer's
    transaction that day. A day whose net value is < 0, or is 0 because returns
    cancelled its purchases, is dropped. A day of zero-value rows only (a free
    order: a promotion, a redeemed reward) is kept as a purchase occasion worth 0.
    Why keep free orders: they are visits, and the published CDNOW fits count
    them (8 CDNOW customers' only purchase was a $0.00 CD; the 2,357-customer
    figures include them).
``"net-drop-zero"``
    As ``"net"``, but rows with amount 0 are dropped first, so free orders do not
    count as transactions.
``"ignore"``
    Negative rows are dropped; purchases (including free ones) are kept whole.
``"error"``
    Any negative amount is a :class:`DataError` (use when the log should have none).

Customers whose repeat purchases are all worth 0 have no spend to fit and are
left out of the Gamma-Gamma fit (see :mod:`calibration.models.gammagamma`).

A log whose amounts are all <= 0 is an error under every policy. Every problem a
user's file can cause raises :class:`sim.errors.DataError` naming the file, the
column and what is allowed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.dates import parse_dates
from sim.errors import DataError

RETURNS_POLICIES = ("net", "net-drop-zero", "ignore", "error")

# Name fragments that identify a column, most specific first.
_GUESSES = {
    "customer": ("customer", "cust", "client", "user", "member", "account", "buyer", "shopper", "sample_id", "id"),
    "date": ("date", "day", "time", "timestamp", "when"),
    "amount": ("amount", "value", "revenue", "sales", "spend", "total", "price", "monetary", "dollar", "sum"),
}
_FLAG = {"customer": "--customer-col", "date": "--date-col", "amount": "--amount-col"}

# Header-less layouts, by number of fields: column names and the default roles.
_CDNOW_COLUMNS = ["master_id", "sample_id", "date", "number_of_cds", "dollar_value"]
_HEADERLESS = {
    5: (_CDNOW_COLUMNS, {"customer": "sample_id", "date": "date", "amount": "dollar_value"}),
    3: (["customer", "date", "amount"], {"customer": "customer", "date": "date", "amount": "amount"}),
}
_NUMBER = re.compile(r"^[-+]?\d+(\.\d*)?$")


@dataclass
class TransactionLog:
    """Transactions after merging: one row per customer per purchase day.

    ``orders`` has columns ``customer``, ``date`` (datetime64, midnight) and
    ``amount`` (float), sorted by customer and date.
    """

    orders: pd.DataFrame
    source: str
    columns: dict[str, str]
    rows_read: int
    zero_rows_dropped: int = 0
    return_rows: int = 0
    nonpositive_days_dropped: int = 0
    rows_merged: int = 0
    returns_policy: str = "net"

    @property
    def n_transactions(self) -> int:
        return len(self.orders)

    @property
    def n_customers(self) -> int:
        return int(self.orders["customer"].nunique())

    @property
    def first_date(self) -> pd.Timestamp:
        return self.orders["date"].min()

    @property
    def last_date(self) -> pd.Timestamp:
        return self.orders["date"].max()

    def describe(self) -> dict:
        """Counts of what reading did to the raw rows, for reports."""
        return {
            "file": self.source,
            "columns": dict(self.columns),
            "rows_read": self.rows_read,
            "zero_rows_dropped": self.zero_rows_dropped,
            "return_rows": self.return_rows,
            "returns_policy": self.returns_policy,
            "nonpositive_days_dropped": self.nonpositive_days_dropped,
            "rows_merged_into_same_day": self.rows_merged,
            "transactions": self.n_transactions,
            "customers": self.n_customers,
            "first_date": self.first_date.date().isoformat(),
            "last_date": self.last_date.date().isoformat(),
        }


def read_transactions(
    path,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    date_format: str | None = None,
    returns: str = "net",
) -> TransactionLog:
    """Read ``path`` and return its transactions, merged per customer and day.

    See the module docstring for formats, column guessing and the ``returns``
    policies. Raises :class:`DataError` for any problem with the file.
    """
    if returns not in RETURNS_POLICIES:
        raise DataError(f"--returns: '{returns}' is not a returns policy; allowed: {', '.join(RETURNS_POLICIES)}")
    path = Path(path)
    table, defaults = _load_table(path)
    file = str(path)
    if table.empty:
        raise DataError(f"{file}: has a header but no transactions")

    columns = _choose_columns(table, file, defaults, customer=customer_col, date=date_col, amount=amount_col)
    customers = table[columns["customer"]]
    if customers.isna().any():
        _bad_row(file, columns["customer"], customers.isna(), customers, "is empty; every row needs a customer id")
    dates = parse_dates(table[columns["date"]], column=columns["date"], file=file, date_format=date_format)
    amounts = _parse_amounts(table[columns["amount"]], file, columns["amount"])

    raw = pd.DataFrame({"customer": customers.to_numpy(), "date": dates.to_numpy(), "amount": amounts.to_numpy()})
    return _merge_days(raw, file, columns, returns)


def _merge_days(raw: pd.DataFrame, file: str, columns: dict, returns: str) -> TransactionLog:
    amount_col = columns["amount"]
    negative = raw["amount"] < 0
    if not (raw["amount"] > 0).any():
        raise DataError(
            f"{file}: column '{amount_col}' has no positive amount; amounts must be order values > 0 "
            "(negative values are returns, netted or dropped by --returns)"
        )
    if returns == "error" and negative.any():
        _bad_row(file, amount_col, negative, raw["amount"], "is negative, which --returns error does not allow; use --returns net or ignore")

    zero = raw["amount"] == 0
    kept = raw
    if returns == "net-drop-zero":
        kept = kept[~zero]
    elif returns == "ignore":
        kept = kept[~negative]

    grouped = kept.assign(is_return=kept["amount"] < 0).groupby(["customer", "date"], sort=True, observed=True)
    days = grouped.agg(amount=("amount", "sum"), has_return=("is_return", "any")).reset_index()
    dropped = (days["amount"] < 0) | ((days["amount"] <= 0) & days["has_return"])
    orders = days.loc[~dropped, ["customer", "date", "amount"]].reset_index(drop=True)
    if orders.empty:
        raise DataError(f"{file}: no purchase day has a positive net value in column '{amount_col}'")

    return TransactionLog(
        orders=orders,
        source=file,
        columns=columns,
        rows_read=len(raw),
        zero_rows_dropped=int(zero.sum()) if returns == "net-drop-zero" else 0,
        return_rows=int(negative.sum()),
        nonpositive_days_dropped=int(dropped.sum()),
        rows_merged=len(kept) - len(days),
        returns_policy=returns,
    )


# ----------------------------------------------------------------------------- reading


def _load_table(path: Path) -> tuple[pd.DataFrame, dict]:
    """Read the file into a DataFrame; also return default column roles (header-less files)."""
    file = str(path)
    if not path.exists():
        raise DataError(f"{file}: file not found; give the path of a transaction log (CSV, Parquet or whitespace text)")
    if path.is_dir():
        raise DataError(f"{file}: is a directory; give the path of a transaction log file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path), {}
        return _read_text(path)
    except DataError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError, ImportError) as exc:
        kind = "Parquet" if suffix in (".parquet", ".pq") else "a CSV or whitespace-separated text table"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{file}: cannot be read as {kind}: {reason}") from None


def _read_text(path: Path) -> tuple[pd.DataFrame, dict]:
    file = str(path)
    with open(path, "r", encoding="utf-8-sig") as handle:
        head = [line for line in (handle.readline() for _ in range(50)) if line.strip()]
    if not head:
        raise DataError(f"{file}: is empty; a transaction log needs rows of customer, date and amount")
    if "\x00" in head[0]:
        raise DataError(f"{file}: looks like a binary file, not a CSV or text table")

    delimiter = _sniff_delimiter(head)
    first = head[0].strip()
    fields = first.split() if delimiter is None else [f.strip().strip('"') for f in first.split(delimiter)]
    has_header = not all(_NUMBER.match(f) for f in fields)

    if has_header:
        table = pd.read_csv(path, sep=delimiter if delimiter else r"\s+", encoding="utf-8-sig")
        return table, {}

    layout = _HEADERLESS.get(len(fields))
    if layout is None:
        raise DataError(
            f"{file}: has no header row and {len(fields)} fields per line; loyalsim reads header-less files with "
            "3 fields (customer date amount) or 5 (CDNOW: master_id sample_id date number_of_cds dollar_value); "
            "add a header row naming the columns"
        )
    names, roles = layout
    table = pd.read_csv(
        path, sep=delimiter if delimiter else r"\s+", header=None, names=names,
        dtype={names[0]: str} if len(names) == 3 else None, encoding="utf-8-sig",
    )
    return table, dict(roles)


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter of a text table, or None for runs of whitespace."""
    sample = "".join(lines[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return None


def _choose_columns(table: pd.DataFrame, file: str, defaults: dict, **given) -> dict[str, str]:
    names = [str(c) for c in table.columns]
    table.columns = names
    chosen: dict[str, str] = {}
    for role in ("customer", "date", "amount"):
        name = given[role]
        if name is not None:
            if name not in names:
                raise DataError(
                    f"{file}: column '{name}' ({_FLAG[role]}) not found; the columns are: {', '.join(names)}"
                )
            chosen[role] = name
    for role in ("customer", "date", "amount"):
        if role in chosen:
            continue
        taken = set(chosen.values())
        name = defaults.get(role) or _guess(names, role, taken)
        if name is None and role == "date":
            # No telling name: a column that already holds datetimes (Parquet) is the date.
            name = next((n for n in names if n not in taken and pd.api.types.is_datetime64_any_dtype(table[n])), None)
        if name is None or name in taken:
            raise DataError(
                f"{file}: no {role} column found among: {', '.join(names)}; name it with {_FLAG[role]}"
            )
        chosen[role] = name
    if len(set(chosen.values())) < 3:
        raise DataError(f"{file}: the customer, date and amount columns must be three different columns, got {chosen}")
    return chosen


def _guess(names: list[str], role: str, taken: set[str]) -> str | None:
    lowered = {n: n.lower().strip() for n in names if n not in taken}
    for fragment in _GUESSES[role]:
        for name, low in lowered.items():
            if fragment == "id":
                if low == "id" or low.endswith("_id") or low.endswith(" id"):
                    return name
            elif fragment in low:
                return name
    return None


def _parse_amounts(values: pd.Series, file: str, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"{file}: column '{column}' holds true/false values; amounts must be numbers (order values)")
    numbers = pd.to_numeric(values, errors="coerce")
    if not pd.api.types.is_numeric_dtype(values):
        # Tolerate currency symbols and thousands separators ("$1,234.50").
        cleaned = values.astype(str).str.strip().str.replace(r"[$€£¥\s]", "", regex=True).str.replace(",", "", regex=False)
        numbers = numbers.fillna(pd.to_numeric(cleaned, errors="coerce"))
    bad = numbers.isna() | ~np.isfinite(numbers.astype("float64"))
    if bad.any():
        _bad_row(file, column, bad, values, "is not a number; amounts must be order values such as 29.33")
    return numbers.astype("float64")


def _bad_row(file: str, column: str, bad: pd.Series, values: pd.Series, problem: str):
    mask = np.asarray(bad)
    position = int(np.flatnonzero(mask)[0])
    count = int(mask.sum())
    more = f" ({count} rows like it)" if count > 1 else ""
    raise DataError(f"{file}: column '{column}': data row {position + 1}, value '{values.iloc[position]}' {problem}{more}")
