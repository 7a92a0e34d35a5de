"""Turn a column of purchase dates into calendar days.

Policy, in order:

1. ``date_format`` given (strftime codes, e.g. ``%d/%m/%Y``): every value must match it.
2. Already datetimes (Parquet, or a CSV column pandas parsed): used as they are.
3. Eight-digit numbers or strings (``19970101``): year, month, day (``%Y%m%d``).
4. ISO 8601 (``1997-01-01``, ``1997-01-01T10:22:00``, ``1997/01/01``): year first.
5. Day and month separated by ``/``, ``.`` or ``-`` with the year last
   (``02/01/1997``): the order is taken from the data. If some first field is
   above 12 the log is day-first; if some second field is above 12 it is
   month-first; if both happen the column is inconsistent; if neither happens
   (every value is ambiguous) we refuse to guess and ask for ``--date-format``.

Times of day are dropped: loyalsim counts at most one transaction per customer
per day. Anything else is a :class:`sim.errors.DataError` naming the file, the
column, the first bad value and its row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sim.errors import DataError

_ISO = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T].*)?$")
_ISO_DAY = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_YYYYMMDD = re.compile(r"^\d{8}(\.0+)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})([ T].*)?$")

ACCEPTED = "YYYYMMDD, ISO 8601 (YYYY-MM-DD), or DD/MM/YYYY and MM/DD/YYYY (use --date-format for anything else, e.g. '%d.%m.%Y')"


def parse_dates(values: pd.Series, *, column: str, file: str, date_format: str | None = None) -> pd.Series:
    """Parse ``values`` into ``datetime64[ns]`` at midnight (one value per row)."""
    where = f"{file}: column '{column}'"
    if date_format is not None:
        return _strict(values.astype(str).str.strip(), date_format, where, hint=f"--date-format '{date_format}'")

    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        if dates.isna().any():
            _fail_at(values, dates.isna(), where, "is empty or not a date")
        return dates.dt.normalize()

    if pd.api.types.is_numeric_dtype(values):
        text = values.astype("float64").map(lambda v: "" if np.isnan(v) else f"{v:.0f}")
    else:
        text = values.astype(str).str.strip()
    text = text.where(values.notna(), "")
    if (text == "").any():
        _fail_at(values, text == "", where, "is empty; every row needs a purchase date")

    sample = text.iloc[: min(len(text), 1000)]
    if sample.str.match(_YYYYMMDD).all():
        return _strict(text.str.replace(r"\.0+$", "", regex=True), "%Y%m%d", where, hint="YYYYMMDD")
    if sample.str.match(_ISO).all():
        # The day as written: a time of day and any time zone after it ('T10:22:00+02:00', 'Z',
        # ' UTC', offsets that differ from row to row) are dropped, so a purchase keeps the
        # local calendar day it was recorded on.
        parts = text.str.extract(_ISO_DAY)
        iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
        parsed = pd.to_datetime(iso.where(parts[0].notna(), ""), format="%Y-%m-%d", errors="coerce")
        rest_ok = text.str.match(_ISO)
        return _checked(values, parsed.where(rest_ok), where, "is not an ISO 8601 date (YYYY-MM-DD)")
    if sample.str.match(_DAY_MONTH).all():
        return _day_month(text, values, where)
    bad = ~text.str.match(_YYYYMMDD) & ~text.str.match(_ISO) & ~text.str.match(_DAY_MONTH)
    _fail_at(values, bad if bad.any() else text == text, where, f"is not a date loyalsim recognises; accepted: {ACCEPTED}")


def _day_month(text: pd.Series, original: pd.Series, where: str) -> pd.Series:
    parts = text.str.extract(_DAY_MONTH)
    if parts[0].isna().any():
        _fail_at(original, parts[0].isna(), where, f"does not match the other dates; accepted: {ACCEPTED}")
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        raise DataError(
            f"{where}: mixes day-first and month-first dates (e.g. '{text[first > 12].iloc[0]}' and "
            f"'{text[second > 12].iloc[0]}'); give the format with --date-format, e.g. '%d/%m/%Y'"
        )
    if not day_first and not month_first:
        raise DataError(
            f"{where}: dates such as '{text.iloc[0]}' could be day/month or month/day and no value settles it; "
            "give the order with --date-format '%d/%m/%Y' or '%m/%d/%Y'"
        )
    year = parts[2].str.zfill(4).where(parts[2].str.len() == 4, "20" + parts[2])
    day, month = (first, second) if day_first else (second, first)
    iso = year + "-" + month.astype(str).str.zfill(2) + "-" + day.astype(str).str.zfill(2)
    order = "day/month/year" if day_first else "month/day/year"
    return _checked(original, pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce"), where, f"is not a valid {order} date")


def _strict(text: pd.Series, fmt: str, where: str, hint: str) -> pd.Series:
    if "%" not in fmt:
        raise DataError(f"--date-format '{fmt}': has no strftime code; use codes such as %Y (year), %m (month), "
                        "%d (day), e.g. '%d/%m/%Y' or '%Y-%m-%d %H:%M'")
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, TypeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"--date-format '{fmt}': not a valid strftime format ({reason}); use codes such as %Y "
                        "(year), %m (month), %d (day), e.g. '%d/%m/%Y' (write %% for a literal %)") from None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)  # %z: the day as written, not as in UTC
    return _checked(text, parsed, where, f"does not match the date format {hint}")


def _checked(original: pd.Series, parsed: pd.Series, where: str, problem: str) -> pd.Series:
    if parsed.isna().any():
        _fail_at(original, parsed.isna(), where, problem)
    return parsed.dt.normalize()


def _fail_at(values: pd.Series, bad: pd.Series, where: str, problem: str):
    position = int(np.flatnonzero(np.asarray(bad))[0])
    count = int(np.asarray(bad).sum())
    more = f" ({count} rows like it)" if count > 1 else ""
    raise DataError(f"{where}: data row {position + 1}, value '{values.iloc[position]}' {problem}{more}")
