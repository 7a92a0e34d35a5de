"""Read a transaction log and merge it into one transaction per customer per day.

A transaction log is a table with one row per purchase (or per order line): who
bought, when, and for how much. loyalsim reads

- CSV (comma, semicolon, tab or pipe separated, with a header row),
- Parquet,
- whitespace-separated text without a header, such as the CDNOW sample
  (``master_id sample_id date(YYYYMMDD) number_of_cds dollar_value``; the customer
  is the second column, ``sample_id``), or three columns ``customer date amount``,
- any of these text files compressed with gzip, bzip2, xz or zip (one file inside),
- Excel workbooks (.xlsx: the first sheet) when the ``openpyxl`` package is
  installed; otherwise the message says how to save the sheet as CSV.

Text may be UTF-8 (with or without a byte-order mark), UTF-16 (with a byte-order
mark), or, failing UTF-8, Windows-1252/Latin-1 (read with a warning). Line ends may
be LF or CRLF. Amounts may use a decimal point (``1,234.50``) or a decimal comma
(``1.234,50``, as European spreadsheets export with a ``;`` separator): the mark is
told apart from the column's values, and a column that mixes both is refused.

Checks that keep a log from being read wrong without a word:

- a row with more fields than the header (decimal commas in a comma-separated
  file) is refused;
- amounts must be finite and below ``MAX_AMOUNT`` (a row such as 1e306 is
  refused, naming the file, column and row);
- purchases dated after today (plus a day for time zones) are refused: they
  cannot have happened, and usually mean a wrong date format;
- exact duplicate rows (every column equal) are reported on stderr as a warning
  and kept (``duplicates="keep"``, the default: an order-line log can hold two
  identical lines), or dropped (``"drop"``) or refused (``"error"``);
- a file that is not a regular file (a device, a pipe) or that would not fit in
  memory (about 10 bytes of memory per byte of text, against the limit of
  :mod:`sim.limits`) is refused before it is read.

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
import datetime as _dt
import io
import os
import re
import stat
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.dates import parse_dates
from sim.errors import DataError

RETURNS_POLICIES = ("net", "net-drop-zero", "ignore", "error")
DUPLICATES_POLICIES = ("keep", "drop", "error")
MAX_AMOUNT = 1e12  # one order's value, in currency: anything larger is a broken export (or the wrong column)
MEMORY_PER_TEXT_BYTE = 10  # pandas needs about this many bytes of memory per byte of CSV text

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
_NUMBER = re.compile(r"^[-+]?\d+([.,]\d*)?$")


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
    duplicate_rows: int = 0
    warnings: list = field(default_factory=list)

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
            "duplicate_rows": self.duplicate_rows,
            "warnings": list(self.warnings),
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
    duplicates: str = "keep",
) -> TransactionLog:
    """Read ``path`` and return its transactions, merged per customer and day.

    See the module docstring for formats, column guessing, the ``returns`` and
    ``duplicates`` policies. Raises :class:`DataError` for any problem with the
    file; warnings (a guessed encoding, duplicate rows) go to stderr and to
    ``TransactionLog.warnings``.
    """
    if returns not in RETURNS_POLICIES:
        raise DataError(f"--returns: '{returns}' is not a returns policy; allowed: {', '.join(RETURNS_POLICIES)}")
    if duplicates not in DUPLICATES_POLICIES:
        raise DataError(f"--duplicates: '{duplicates}' is not allowed; allowed: {', '.join(DUPLICATES_POLICIES)}")
    path = Path(path)
    notes: list[str] = []
    table, defaults = _load_table(path, notes)
    file = str(path)
    if table.empty:
        raise DataError(f"{file}: has a header but no transactions")
    table, n_duplicates = _duplicates(table, file, duplicates, notes)

    columns = _choose_columns(table, file, defaults, customer=customer_col, date=date_col, amount=amount_col)
    customers = table[columns["customer"]]
    if customers.isna().any():
        _bad_row(file, columns["customer"], customers.isna(), customers, "is empty; every row needs a customer id")
    dates = parse_dates(table[columns["date"]], column=columns["date"], file=file, date_format=date_format)
    _check_not_future(dates, table[columns["date"]], file, columns["date"], date_format)
    amounts = _parse_amounts(table[columns["amount"]], file, columns["amount"])

    raw = pd.DataFrame({"customer": customers.to_numpy(), "date": dates.to_numpy(), "amount": amounts.to_numpy()})
    log = _merge_days(raw, file, columns, returns)
    log.duplicate_rows = n_duplicates
    log.warnings = notes
    return log


def _warn(notes: list, message: str):
    """A warning about the log: printed on stderr at once and kept for the report."""
    notes.append(message)
    print(f"loyalsim: warning: {message}", file=sys.stderr)


def _duplicates(table: pd.DataFrame, file: str, policy: str, notes: list):
    """Exact duplicate rows (every column equal to an earlier row's): warn and keep, drop, or refuse."""
    dup = table.duplicated(keep="first")
    n = int(dup.sum())
    if n == 0:
        return table, 0
    first = int(np.flatnonzero(dup.to_numpy())[0]) + 1
    # every row twice or more needs at least half the rows to be copies: only then look (a second full pass)
    every = 2 * n >= len(table) and bool(table.duplicated(keep=False).all())
    what = (f"{file}: every row appears at least twice ({n} exact copies; was the log exported twice?)" if every
            else f"{file}: {n} row{'s are' if n > 1 else ' is an'} exact cop{'ies' if n > 1 else 'y'} of an earlier "
                 f"row (the first: data row {first})")
    if policy == "error":
        raise DataError(f"{what}; --duplicates error refuses them: remove the copies, or use --duplicates keep "
                        "(identical order lines) or drop")
    if policy == "drop":
        _warn(notes, f"{what}; dropped them (--duplicates drop), keeping each row once")
        return table[~dup].reset_index(drop=True), n
    _warn(notes, f"{what}; kept them, so their amounts count again (same-day rows are summed); use "
                 "--duplicates drop if they are copies, not repeated order lines")
    return table, n


def _check_not_future(dates: pd.Series, values: pd.Series, file: str, column: str, date_format):
    """Purchases after today cannot have happened: refuse (a wrong date format is the usual cause)."""
    limit = pd.Timestamp(_dt.date.today()) + pd.Timedelta(days=1)  # a day's grace for time zones
    future = (dates > limit).to_numpy()
    if future.any():
        position = int(np.flatnonzero(future)[0])
        count = int(future.sum())
        more = f" ({count} rows like it)" if count > 1 else ""
        hint = "check --date-format" if date_format else "give the date order with --date-format"
        raw = str(values.iloc[position])
        day = dates.iloc[position].date().isoformat()
        shown = f"'{raw}'" if raw.strip() == day else f"'{raw}' ({day})"
        raise DataError(
            f"{file}: column '{column}': data row {position + 1}, value {shown} is after today "
            f"({_dt.date.today()}){more}; refused: a log records purchases "
            f"that happened ({hint}, or remove the rows). Purchases after --calibration-end are fine: they are the "
            "holdout"
        )


def _merge_days(raw: pd.DataFrame, file: str, columns: dict, returns: str) -> TransactionLog:
    amount_col = columns["amount"]
    negative = raw["amount"] < 0
    if not (raw["amount"] > 0).any():
        raise DataError(
            f"{file}: column '{amount_col}' has no positive amount; amounts must be order values > 0 "
            "(negative values are returns, netted or dropped by --returns)"
        )
    if returns == "error" and negative.any():
        _bad_row(file, amount_col, negative, raw["amount"],
                 "is negative, which --returns error does not allow; use --returns net or ignore")

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


def _load_table(path: Path, notes: list | None = None) -> tuple[pd.DataFrame, dict]:
    """Read the file into a DataFrame; also return default column roles (header-less files)."""
    notes = notes if notes is not None else []
    file = str(path)
    if not path.exists():
        raise DataError(f"{file}: file not found; give the path of a transaction log (CSV, Parquet or whitespace text)")
    if path.is_dir():
        raise DataError(f"{file}: is a directory; give the path of a transaction log file")
    try:
        st = os.stat(path)
    except OSError as e:
        raise DataError(f"{file}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{file}: is not a regular file (a device, pipe or socket); give the path of a transaction log file")
    with open(path, "rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    kind = _format_of(path, magic, suffix)
    _check_fits(path, st.st_size, kind)
    try:
        if kind == "parquet":
            return pd.read_parquet(path), {}
        if kind in ("xlsx", "xls"):
            return _read_excel(path, kind, notes), {}
        return _read_text(path, kind, notes)
    except DataError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError, ImportError, EOFError,
            KeyError, IndexError) as exc:
        what = {"parquet": "Parquet", "xlsx": "an Excel workbook", "xls": "an Excel workbook"}.get(
            kind, "a CSV or whitespace-separated text table")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{file}: cannot be read as {what}: {reason}") from None


def _format_of(path: Path, magic: bytes, suffix: str) -> str:
    """parquet, xlsx, xls, gzip, bz2, xz, zip or text: from the first bytes (the suffix only breaks ties)."""
    if magic.startswith(b"PAR1") or (suffix in (".parquet", ".pq") and not magic.startswith(b"\x1f\x8b")):
        return "parquet"
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if magic.startswith(b"PK\x03\x04"):
        import zipfile
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            raise DataError(f"{path}: looks like a zip file but cannot be opened as one") from None
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        files = [n for n in names if not n.endswith("/")]
        if len(files) != 1:
            raise DataError(f"{path}: is a zip archive of {len(files)} files; loyalsim reads a zip holding one "
                            "CSV or text file: extract the log and give its path")
        return "zip"
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if magic.startswith(b"BZh"):
        return "bz2"
    if magic.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if magic.startswith(b"%PDF"):
        raise DataError(f"{path}: is a PDF document, not a transaction log; export the data as CSV")
    return "text"


def _check_fits(path: Path, size: int, kind: str):
    """Refuse a file whose table would not fit in memory (before reading it)."""
    from sim.limits import limit_bytes
    limit, source = limit_bytes()
    if limit is None:
        return
    factor = MEMORY_PER_TEXT_BYTE * (5 if kind in ("gzip", "bz2", "xz", "zip", "xlsx", "parquet") else 1)
    need = size * factor
    if need > limit:
        raise DataError(f"{path}: a {size / 2**20:,.0f} MB {kind} file needs about {need / 2**30:,.1f} GB of memory "
                        f"to read, more than the limit of {limit / 2**30:,.1f} GB ({source}); use a shorter log "
                        "(fewer years, or a sample of customers), or set LOYALSIM_MAX_MEMORY (GB, 0: no check)")


def _read_excel(path: Path, kind: str, notes: list) -> pd.DataFrame:
    engine = "openpyxl" if kind == "xlsx" else "xlrd"
    try:
        __import__(engine)
    except ImportError:
        raise DataError(
            f"{path}: is an Excel workbook ({'.xlsx' if kind == 'xlsx' else '.xls'}); reading it needs the {engine} "
            f"package (pip install {engine}), or save the sheet as CSV (Excel: File > Save As > CSV UTF-8) and "
            "give that file") from None
    sheets = pd.read_excel(path, sheet_name=None, engine=engine)
    if not sheets:
        raise DataError(f"{path}: the workbook has no sheets")
    name, table = next(iter(sheets.items()))
    if len(sheets) > 1:
        _warn(notes, f"{path}: read the first sheet '{name}' of {len(sheets)}; save the log's sheet as CSV to use another")
    return table


def _open_binary(path: Path, kind: str):
    import bz2
    import gzip
    import lzma
    import zipfile
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "zip":
        zf = zipfile.ZipFile(path)
        return zf.open([n for n in zf.namelist() if not n.endswith("/")][0])
    return open(path, "rb")


def _encoding_of(path: Path, head: bytes, notes: list) -> str:
    """utf-16 (by its byte-order mark), utf-8-sig, or cp1252/latin-1 with a warning."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head:
        raise DataError(f"{path}: looks like a binary file, not a CSV or text table (loyalsim reads CSV, Parquet, "
                        "whitespace-separated text, gzip or zip of those, and Excel with openpyxl; UTF-16 text "
                        "needs its byte-order mark, or save it as UTF-8)")
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 3 and len(head) >= 65536:  # a character cut by the sample's end
            return "utf-8-sig"
        return _legacy_encoding(path, head, e.start, notes)


def _legacy_encoding(path: Path, data: bytes, position: int, notes: list) -> str:
    try:
        data.decode("cp1252")
        encoding, name = "cp1252", "Windows-1252"
    except UnicodeDecodeError:
        encoding, name = "latin-1", "Latin-1 (ISO-8859-1)"
    _warn(notes, f"{path}: is not UTF-8 text (a byte 0x{data[position]:02x}); read it as {name}: check names "
                 "with accents, or save the file as UTF-8")
    return encoding


def _read_text(path: Path, kind: str = "text", notes: list | None = None) -> tuple[pd.DataFrame, dict]:
    file = str(path)
    notes = notes if notes is not None else []
    with _open_binary(path, kind) as handle:
        head_bytes = handle.read(65536)
    if not head_bytes.strip():
        raise DataError(f"{file}: is empty; a transaction log needs rows of customer, date and amount")
    encoding = _encoding_of(path, head_bytes, notes)
    try:
        head_text = head_bytes.decode(encoding if encoding != "utf-8-sig" else "utf-8-sig", errors="ignore")
    except LookupError:  # pragma: no cover
        head_text = head_bytes.decode("latin-1")
    head = [line for line in io.StringIO(head_text, newline=None).read().splitlines()[:50] if line.strip()]
    head = [line + "\n" for line in head]
    if not head:
        raise DataError(f"{file}: is empty; a transaction log needs rows of customer, date and amount")
    if "\x00" in head[0]:
        raise DataError(f"{file}: looks like a binary file, not a CSV or text table")

    delimiter = _sniff_delimiter(head)
    if delimiter is None:
        # rows that disagree on their number of fields defeat the sniffer: take the mark that
        # splits the header, so the field-count check below can say which row is wrong
        counts = {d: head[0].count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        if counts[best] >= 1:
            delimiter = best
    first = head[0].strip()
    fields = first.split() if delimiter is None else [f.strip().strip('"') for f in first.split(delimiter)]
    has_header = not all(_NUMBER.match(f) for f in fields)
    compression = None if kind == "text" else kind
    if delimiter is not None:
        _check_field_counts(file, head, delimiter, len(fields))

    def read(enc, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                return pd.read_csv(path, sep=delimiter if delimiter else r"\s+", encoding=enc,
                                   compression=compression, **kw)
            except pd.errors.ParserWarning as w:
                raise DataError(f"{file}: rows do not have as many fields as the header ({w}); if amounts use "
                                "decimal commas, separate the fields with ';' or quote the amounts") from None

    def read_any(**kw):
        try:
            return read(encoding, **kw)
        except UnicodeDecodeError as e:  # a non-UTF-8 byte past the sampled head
            if encoding != "utf-8-sig" or not isinstance(e.object, bytes) or e.start >= len(e.object):
                raise
            return read(_legacy_encoding(path, e.object, e.start, notes), **kw)

    if has_header:
        table = read_any(index_col=False if delimiter else None)
        return table, {}

    layout = _HEADERLESS.get(len(fields))
    if layout is None:
        raise DataError(
            f"{file}: has no header row and {len(fields)} fields per line; loyalsim reads header-less files with "
            "3 fields (customer date amount) or 5 (CDNOW: master_id sample_id date number_of_cds dollar_value); "
            "add a header row naming the columns"
        )
    names, roles = layout
    table = read_any(header=None, names=names, dtype={names[0]: str} if len(names) == 3 else None)
    return table, dict(roles)


def _check_field_counts(file: str, head: list[str], delimiter: str, expected: int):
    """A sampled row with more fields than the first: the classic decimal comma in a comma-separated file."""
    try:
        rows = list(csv.reader(head, delimiter=delimiter))
    except csv.Error:
        return
    for i, row in enumerate(rows[1:], start=1):
        if len(row) > expected:
            hint = (" (decimal commas in a comma-separated file? separate the fields with ';' or quote the amounts)"
                    if delimiter == "," else "")
            raise DataError(f"{file}: line {i + 1} has {len(row)} fields but the first line {expected}{hint}; "
                            "every row needs the same fields as the header")


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter of a text table, or None for runs of whitespace."""
    sample = "".join(lines[:20])
    try:
        found = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return None
    if found == ",":
        # "1;2024-01-01;12,50": both marks split every line evenly; the semicolon is the
        # separator (a European export) when it does, and the commas sit between digits.
        try:
            counts = {len(row) for row in csv.reader(lines[:20], delimiter=";")}
        except csv.Error:
            return found
        if len(counts) == 1 and counts.pop() >= 2 and re.search(r"\d,\d", sample) \
                and not re.search(r"[^\d\s],|,[^\d\s]", sample.replace(";", "")):
            return ";"
    return found


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


_THOUSANDS_COMMA = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")   # 1,234 or 1,234.50
_THOUSANDS_DOT = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")     # 1.234 or 1.234,50
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$")                      # 12,50 (or 1,234: ambiguous)
_DECIMAL_DOT = re.compile(r"^[-+]?\d*\.\d+$")                       # 12.50 (or 1.234: ambiguous)


def _decimal_mark(text: pd.Series, file: str, column: str) -> str:
    """'.' or ',': which mark separates decimals in this column, from its values."""
    three = text.str.match(r"^[-+]?\d{1,3}[.,]\d{3}$")  # 1,234 / 1.234 say nothing on their own
    comma = text.str.match(_DECIMAL_COMMA) & ~three | text.str.match(r"^[-+]?\d{1,3}(\.\d{3})+,\d+$")
    dot = text.str.match(_DECIMAL_DOT) & ~three | text.str.match(r"^[-+]?\d{1,3}(,\d{3})+\.\d+$")
    if comma.any() and dot.any():
        i, j = int(np.flatnonzero(comma.to_numpy())[0]), int(np.flatnonzero(dot.to_numpy())[0])
        raise DataError(f"{file}: column '{column}' mixes decimal marks (data row {i + 1}, '{text.iloc[i]}', has a "
                        f"decimal comma; data row {j + 1}, '{text.iloc[j]}', a decimal point); use one throughout")
    if comma.any():
        return ","
    if dot.any():
        return "."
    # only ambiguous values (1,234 and 1.234) or whole numbers: grouping marks, as a spreadsheet writes them
    if text.str.match(_THOUSANDS_DOT).any() and not text.str.match(_THOUSANDS_COMMA).any():
        return ","
    return "."


def _parse_amounts(values: pd.Series, file: str, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"{file}: column '{column}' holds true/false values; amounts must be numbers (order values)")
    numbers = pd.to_numeric(values, errors="coerce") if pd.api.types.is_numeric_dtype(values) else None
    if numbers is None:
        # Text: currency symbols, spaces, and the column's own decimal and grouping marks
        # ("$1,234.50", "1.234,50 €", "12,50").
        text = values.astype(str).str.strip().str.replace(r"[$€£¥\s\u00a0']", "", regex=True)
        text = text.where(values.notna(), "")
        mark = _decimal_mark(text, file, column)
        if mark == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            text = text.str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    numbers = numbers.astype("float64")
    bad = numbers.isna()
    if bad.any():
        _bad_row(file, column, bad, values, "is not a number; amounts must be order values such as 29.33")
    huge = ~np.isfinite(numbers) | (numbers.abs() > MAX_AMOUNT)
    if huge.any():
        _bad_row(file, column, huge, values, f"is not a plausible order value (allowed: a finite amount of at most "
                                             f"{MAX_AMOUNT:g} in absolute value); is this the amount column?")
    return numbers


def _bad_row(file: str, column: str, bad: pd.Series, values: pd.Series, problem: str):
    mask = np.asarray(bad)
    position = int(np.flatnonzero(mask)[0])
    count = int(mask.sum())
    more = f" ({count} rows like it)" if count > 1 else ""
    raise DataError(f"{file}: column '{column}': data row {position + 1}, value '{values.iloc[position]}' {problem}{more}")
